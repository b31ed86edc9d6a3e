/* store_prune.h -- the store's side of retention (--retain): finding ended pipelines older than
 * a cut-off and removing their records and event keys, a small batch at a time. */
#ifndef KE_STORE_PRUNE_H
#define KE_STORE_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define KE_PRUNE_MAX_BATCH 256 /* pipelines (and unmatched keys) one request removes at most */
#define KE_PRUNE_SCAN_FACTOR 4 /* a select looks at most this many rows per pipeline asked for */

/* A pipeline that may be removed, as selected. */
typedef struct ke_prune_item {
    long long seq;          /* its position */
    char id[KE_ID_LEN + 1]; /* its id (run file and log names) */
    char *log_path;         /* its last status's log path, or NULL */
} ke_prune_item;

/* Where a sweep's selection is: past (changed_at, seq) in the time order of final statuses.
 * Start a sweep with all members 0. */
typedef struct ke_prune_cursor {
    long long changed_at; /* the last final status looked at: its time ... */
    long long seq;        /* ... and its pipeline */
    int done;             /* no final status older than the cut-off is left past the cursor */
} ke_prune_cursor;

/* Selects, on the readers' connection (beside the writer), up to max (1..KE_PRUNE_MAX_BATCH)
 * pipelines that may be removed: ended (SUCCESS, FAILURE, ABORTED) with their last status
 * changed before cutoff_us (microseconds since the epoch), every child either gone or selected
 * before them (so children come first), and not the newest record (positions are never reused:
 * the forwarder's cursor and event keys rely on it). Walks the partial index status_ended from
 * *cur, looking at no more than KE_PRUNE_SCAN_FACTOR * max final statuses, and advances *cur;
 * a parent whose last child is selected follows it at once when it may be removed. *out
 * receives an array of *n (NULL and 0 when none; free with ke_prune_items_free); *n may be 0
 * while cur->done is still 0. Returns KE_OK, KE_EINVAL (max), KE_ENOMEM or KE_ESTORE. */
int ke_store_prune_select(ke_store *s, int64_t cutoff_us, ke_prune_cursor *cur, size_t max,
                          ke_prune_item **out, size_t *n, ke_error *err);

/* Releases n items and the array; NULL is fine. */
void ke_prune_items_free(ke_prune_item *items, size_t n);

/* What one prune request removed. */
typedef struct ke_prune_counts {
    size_t pipelines; /* pipeline records (with their status history) */
    size_t events;    /* event keys: those whose pipelines are all gone, and unmatched ones */
    size_t unmatched; /* of events: keys that started nothing, received before the cut-off */
} ke_prune_counts;

/* Removes, in one writer request (group-committed beside dispatches), the n (at most
 * KE_PRUNE_MAX_BATCH) selected pipelines that may still be removed, checked again in order
 * (one that gained a child or a status since, or is now the newest record, stays), with their
 * status rows; then the event key of each removed pipeline once none of the pipelines it
 * started is left; then up to max_events (at most KE_PRUNE_MAX_BATCH) keys that started nothing
 * and were received before cutoff_us. Remove the pipelines' files before (a crash in between
 * leaves records without files, never files without records). The change feed is not told.
 * Returns KE_OK with *counts set, or KE_EINVAL, KE_ENOMEM, KE_EUNAVAIL or KE_ESTORE with
 * nothing removed. */
int ke_store_prune(ke_store *s, int64_t cutoff_us, const ke_prune_item *items, size_t n,
                   size_t max_events, ke_prune_counts *counts, ke_error *err);

#endif
