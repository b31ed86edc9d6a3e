/* retention.h -- --retain DAYS: a background thread that removes ended pipelines older than
 * that (their run files, logs and records) and old event keys, without stalling Dispatch. */
#ifndef KE_RETENTION_H
#define KE_RETENTION_H

#include <stdint.h>

#include "errors.h"
#include "store.h"

#define KE_RETAIN_MAX_DAYS 36500             /* --retain's largest value (a hundred years) */
#define KE_RETENTION_MIN_INTERVAL_MS 1000    /* sweeps are at least this far apart ... */
#define KE_RETENTION_MAX_INTERVAL_MS 3600000 /* ... and at most this far (else DAYS/24) */
#define KE_RETENTION_PAUSE_MS 10             /* pause between two batches of one sweep */
/* Pipelines (and keys that started nothing) one batch removes: one writer request, so a
 * Dispatch queued behind it waits for at most this many removals (a few ms). */
#define KE_RETENTION_BATCH 32

typedef struct ke_retention ke_retention;

/* Starts the thread: a sweep at once, then one every DAYS/24 (at least
 * KE_RETENTION_MIN_INTERVAL_MS, at most KE_RETENTION_MAX_INTERVAL_MS apart). A sweep removes,
 * KE_RETENTION_BATCH pipelines a writer request with a KE_RETENTION_PAUSE_MS pause between
 * requests, every ended (SUCCESS, FAILURE, ABORTED) pipeline whose last status changed more
 * than days ago and whose children are gone (chains go child first), never a READY or STARTED
 * one: first its files in data_dir (runs/<id>.yml, logs/<id>.log, and its last status's log
 * path when that lies inside data_dir -- never a path outside it), then its records; then the
 * event keys none of whose pipelines is left, and keys that started nothing received more
 * than days ago. A sweep that removed something logs one line of counts on stderr. days: more
 * than 0, at most KE_RETAIN_MAX_DAYS. Returns KE_OK with *out set, or KE_EINVAL / KE_ENOMEM /
 * KE_EIO (data_dir cannot be resolved) with err saying why. */
int ke_retention_start(ke_store *store, const char *data_dir, double days, ke_retention **out,
                       ke_error *err);

/* Counts since the start, for metrics: pipelines and event keys removed, sweeps completed.
 * Callable from any thread; any pointer may be NULL. */
void ke_retention_stats(ke_retention *r, uint64_t *pipelines_removed, uint64_t *events_removed,
                        uint64_t *sweeps);

/* Stops the thread (a sweep in progress ends after its current batch) and frees r; NULL is
 * fine. Call before closing the store. */
void ke_retention_stop(ke_retention *r);

#endif
