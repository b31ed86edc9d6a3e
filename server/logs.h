/* logs.h -- reading a run's log for StreamLogs: the whole file or its last lines, and with
 * follow, what is written after, until the run has ended (docs/operating.md).
 *
 * One hub serves every reader: one thread, one inotify descriptor (the logs directory, for a
 * log that does not exist yet, and each followed file), and one subscription to the store's
 * change feed, which tells it a run has ended. A reader hands its bytes to a sink in chunks
 * of at most KE_LOGS_CHUNK bytes, in order, only while the sink says it has room. */
#ifndef KE_LOGS_H
#define KE_LOGS_H

#include <stddef.h>
#include <sys/types.h>

#include "errors.h"

struct ke_store;

#define KE_LOGS_CHUNK (64 * 1024)      /* most bytes one chunk carries */
#define KE_LOGS_MAX_TAIL_LINES 100000  /* largest tail_lines asked for */
#define KE_LOGS_DEFAULT_MAX_READERS 64 /* readers at once unless ke_logs_new is told */

/* Where the last `lines` lines of the file open at fd (of size bytes) begin: *start receives
 * the offset just after the newline that precedes them, or 0 when the file holds no more
 * lines than that. A final newline ends the last line (it does not start an empty one); a
 * last line without one counts as a line. lines 0: *start = 0. Reads backwards in
 * KE_LOGS_CHUNK blocks. Returns KE_OK, or KE_EIO with err naming path and the reason. */
int ke_logs_tail_offset(int fd, const char *path, off_t size, long lines, off_t *start,
                        ke_error *err);

/* Where a reader's bytes go. Every function is called on the hub's thread, never two at once
 * for one reader. */
typedef struct ke_log_sink {
    /* Has room for another chunk now? When it answers 0, the reader waits for ke_logs_wake. */
    int (*ready)(void *ctx);
    /* The next len bytes (len > 0; data valid only during the call). Non-zero: stop reading
     * (done follows with KE_EUNAVAIL "stopped"). */
    int (*chunk)(void *ctx, const char *data, size_t len);
    /* The end, exactly once, last: KE_OK when everything was sent (the end of the file, or
     * with follow, once the run ended and the rest was sent); else the error: KE_ENOTFOUND
     * (no such pipeline), KE_EIO (the log cannot be read), KE_EUNAVAIL (cancelled, stopped,
     * shutting down). */
    void (*done)(void *ctx, int rc, const ke_error *err);
    void *ctx; /* handed to each */
} ke_log_sink;

typedef struct ke_logs ke_logs;             /* the hub */
typedef struct ke_log_reader ke_log_reader; /* one reader */

/* Starts the hub: logs_dir is where runs' logs are (DATA_DIR/logs; a run's log is
 * <logs_dir>/<id>.log unless its final status names another path), store the pipelines' store
 * (subscribed to; it must outlive the hub), max_readers the readers at once (0: the default).
 * Returns KE_OK, KE_ENOMEM, KE_EIO (inotify, thread) or the store's subscribe error. */
int ke_logs_new(struct ke_store *store, const char *logs_dir, size_t max_readers, ke_logs **out,
                ke_error *err);

/* Ends every reader (done with KE_EUNAVAIL "shutting down"), leaves the change feed and joins
 * the thread. Readers' handles stay the owners' until they ke_logs_unref them. NULL is fine. */
void ke_logs_free(ke_logs *l);

/* Starts reading the log of pipeline id: from the start, or from its last tail_lines lines
 * (0 .. KE_LOGS_MAX_TAIL_LINES; 0 = from the start); with follow, waits for more (the file
 * may not exist yet) until the run has ended, then sends the rest. Without follow a missing
 * log is an empty one. The sink (copied) sees chunks then done, on the hub's thread; done
 * may come before this returns. On KE_OK *out is a handle the caller must release with
 * ke_logs_unref exactly once. Returns KE_EINVAL (tail_lines out of range, bad id), KE_EUNAVAIL
 * (max_readers readers already, or shutting down; the message names the limit) or KE_ENOMEM;
 * then the sink is never called. */
int ke_logs_open(ke_logs *l, const char *id, int follow, long tail_lines, const ke_log_sink *sink,
                 ke_log_reader **out, ke_error *err);

/* The sink has room again: the reader goes on (from any thread, until ke_logs_unref). */
void ke_logs_wake(ke_log_reader *r);

/* Stops the reader: done follows with KE_EUNAVAIL "cancelled" unless it came already (from
 * any thread, until ke_logs_unref). */
void ke_logs_cancel(ke_log_reader *r);

/* Releases the caller's handle; the reader is freed once done has returned too. NULL is
 * fine. */
void ke_logs_unref(ke_log_reader *r);

/* How many readers are open (done not yet called). */
size_t ke_logs_count(ke_logs *l);

#endif
