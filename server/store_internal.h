/* store_internal.h -- what the store's files share: the store itself, its queued requests, the
 * writer's entry points, the data directory's guard and row helpers. */
#ifndef KE_STORE_INTERNAL_H
#define KE_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store.h"

/* The columns every pipeline query selects, in this order. */
#define PIPE_COLS "seq, id, name, parent, params, tags, created_at, remote_id, remote_json"

/* An event key's range of pipelines (source, id), and the pipelines of a range [first, end):
 * the writer's duplicate check and the read side's (store_lookup.c) run the same queries. */
#define KE_STORE_FIND_EVENT_SQL "SELECT first_seq, count FROM events WHERE source = ? AND id = ?"
#define KE_STORE_RANGE_SQL                                                                         \
    "SELECT " PIPE_COLS " FROM pipelines WHERE seq >= ? AND seq < ? ORDER BY seq"

#define KE_STORE_DB_FILE "kedro-events.db"     /* the database, in the data dir */
#define KE_STORE_LOCK_FILE "kedro-events.lock" /* held (flock) by the server using the dir */
#define KE_STORE_FILE_MODE 0600                /* database, WAL, SHM and lock files */
#define KE_STORE_DIR_MODE 0700                 /* the data dir */
#define KE_STORE_RETRY_MIN_MS 50   /* first pause before a failed final status is tried again */
#define KE_STORE_RETRY_MAX_MS 2000 /* the pause doubles up to this */

typedef enum ke_req_kind {
    KE_REQ_ACCEPT,
    KE_REQ_INSERT,
    KE_REQ_CLAIM,
    KE_REQ_FINISH,
    KE_REQ_RECOVER,
    KE_REQ_TAKE,   /* the forwarder's take (store_remote.c) */
    KE_REQ_APPLY,  /* changes learned from kedro-graphql (store_remote.c) */
    KE_REQ_CANCEL, /* CancelPipeline's check-and-abort (store_ops.c) */
    KE_REQ_PRUNE   /* retention: removing old ended pipelines (store_prune.c) */
} ke_req_kind;

/* What a ke_store_finish caller waits on (its stack): the first attempt's outcome. */
typedef struct ke_req_waiter {
    int done;     /* the first attempt is over */
    int rc;       /* its result; KE_OK also when the store kept the status to retry */
    int kept;     /* the status did not commit yet: the writer retries it */
    ke_error err; /* first error */
} ke_req_waiter;

/* One queued write. Sync requests (no callback) are waited for by their caller; a FINISH is
 * the writer's own (heap, owned copies) and reports to its waiter. */
typedef struct ke_req {
    ke_req_kind kind;            /* what to do */
    char *source;                /* ACCEPT: event source */
    char *event_id;              /* ACCEPT: event id */
    ke_pipeline *ps;             /* ACCEPT: pipelines (owned); INSERT: one; CLAIM: result */
    size_t n;                    /* ACCEPT: number of ps */
    char *id;                    /* FINISH: pipeline id (owned) */
    ke_status st;                /* FINISH: status to append (owned strings) */
    const char *runner;          /* CLAIM: runner name (caller's) */
    int requeue;                 /* RECOVER: back to READY instead of FAILURE */
    size_t count;                /* RECOVER: rows changed; CLAIM: 1 when found */
    int duplicate;               /* ACCEPT: the key was seen before */
    ke_pipeline *spare;          /* ACCEPT duplicate: the new pipelines ps held (owned), kept
                                    until the request completes in case the batch runs again */
    size_t n_spare;              /* ACCEPT: number of spare */
    int added_ready;             /* the request stored READY pipelines */
    ke_store_accept_cb acb;      /* ACCEPT: completion, or NULL when sync */
    ke_store_insert_cb icb;      /* INSERT: completion, or NULL when sync */
    ke_store_cancel_cb ccb;      /* CANCEL: completion (always async) */
    void *ctx;                   /* for the callback */
    ke_req_waiter *waiter;       /* FINISH: the caller waiting on the first attempt, or NULL */
    long long after_seq;         /* TAKE: rows past this seq */
    size_t max;                  /* TAKE: rows at most */
    ke_forward_item *items;      /* TAKE: the rows taken (count of them) */
    const ke_remote_update *upd; /* APPLY: the caller's updates (n of them); count: applied */
    struct ke_prune_req *prune;  /* PRUNE: what to remove, and what was (store_prune.c) */
    int64_t retry_at_ms;         /* FINISH kept after a failure: monotonic ms of the next try */
    int64_t backoff_ms;          /* FINISH kept: the pause after the next failure */
    int done;                    /* sync: the writer finished it */
    int rc;                      /* result */
    ke_error err;                /* first error */
    struct ke_req *next;         /* queue link */
} ke_req;

struct ke_store {
    sqlite3 *wdb;            /* the writer's connection */
    sqlite3 *rdb;            /* readers' connection */
    pthread_mutex_t rlock;   /* guards rdb */
    pthread_mutex_t qlock;   /* guards the queue, the hold, stopping and done flags */
    pthread_cond_t qcond;    /* the queue got work, the hold ended, or stopping */
    pthread_cond_t donecond; /* a sync request finished */
    ke_req *head, *tail;     /* queued requests */
    ke_req *retry;           /* final statuses that failed to commit (writer only) */
    int held;                /* tests: the writer takes no new work while set */
    int stopping;            /* close() asked the writer to finish */
    pthread_t writer;        /* the writer thread */
    int writer_started;      /* writer is running */
    pthread_mutex_t alock;   /* guards the answer queue and answer_stopping */
    pthread_cond_t acond;    /* the answer queue got work, or answer_stopping */
    ke_req *ahead, *atail;   /* committed (or failed) requests whose callbacks are due */
    int answer_stopping;     /* the writer is gone: answer what is queued, then end */
    int answering;           /* the answerer runs callbacks it took off the queue */
    int cap_deferred;        /* the writer's savepoint-free run: accepts skip the size cap check,
                                which runs once before COMMIT */
    pthread_t answerer;      /* the thread that runs the callbacks, off the writer */
    int answerer_started;    /* answerer is running */
    ke_store_change_fn subs[KE_STORE_MAX_SUBSCRIBERS]; /* change subscribers (under qlock) */
    void *subs_ctx[KE_STORE_MAX_SUBSCRIBERS];          /* for subs */
    atomic_int n_subs;                                 /* subscribed (written under qlock) */
    struct ke_change_log *changes;                     /* this transaction's changes (writer) */
    void (*on_ready)(void *);                          /* commit added READY pipelines */
    void *on_ready_ctx;                                /* for on_ready */
    ke_store_commit_fn observer; /* after each commit, under qlock (ke_store_on_commit) */
    void *observer_ctx;          /* for observer */
    atomic_int has_observer;     /* observer set: the writer takes qlock to call it */
    char *path;                  /* database path, for messages */
    char *tmpdir;                /* data_dir NULL: a temporary directory removed at close */
    char *vfs;                   /* tests: the SQLite VFS to open the database with, or NULL */
    int lock_fd;                 /* the data dir's lock file (flock held), or -1 */
    atomic_llong max_bytes;      /* accepts and inserts stop past it; 0 = no cap */
    long long page_size;         /* the database's page size, for the cap */
    sqlite3_stmt *st_page_count; /* PRAGMA page_count (writer) */
    sqlite3_stmt *st_find_event, *st_ins_pipe, *st_ins_status, *st_ins_event, *st_next_ready,
        *st_set_state, *st_seq_of, *st_status_count, *st_range, *st_by_seq, *st_history_w,
        *st_ident; /* the writer's prepared statements */
    sqlite3_stmt *st_begin, *st_commit, *st_savepoint, *st_release,
        *st_rollback_to;                 /* the writer's transaction control, prepared */
    sqlite3_stmt *st_get, *st_history_r; /* the readers' (under rlock) */

    /* The read side's duplicate checks (store_lookup.c): their connections, made at first use. */
    _Atomic(struct ke_store_lookups *) lookups;
};

/* Options of ke_store_open_with; zero members mean ke_store_open's behaviour. */
typedef struct ke_store_options {
    const char *vfs;        /* tests: a registered SQLite VFS name, or NULL for the default */
    int wal_autocheckpoint; /* tests: PRAGMA wal_autocheckpoint pages; 0 = SQLite's default */
    int cache_pages;        /* tests: PRAGMA cache_size (pages: small spills mid-transaction) */
} ke_store_options;

/* ke_store_open with options (o may be NULL). */
int ke_store_open_with(const char *data_dir, const ke_store_options *o, ke_store **out,
                       ke_error *err);

/* ---- the data directory (store_dir.c) */

/* Creates data_dir KE_STORE_DIR_MODE (tightening an existing one we own and that holds our
 * files), takes its lock file (flock, exclusive, close-on-exec, our pid written in it) into
 * s->lock_fd, and creates the database file KE_STORE_FILE_MODE if missing. Returns KE_OK, or
 * KE_EUNAVAIL naming the dir and the holder's pid when another process holds the lock, or
 * KE_ESTORE naming the path. */
int ke_store_dir_open(ke_store *s, const char *data_dir, ke_error *err);

/* Sets KE_STORE_FILE_MODE on the database's WAL and SHM files when they exist (SQLite creates
 * them with the database's mode; this catches files left by an older server). */
void ke_store_dir_tighten(const ke_store *s);

/* Releases the lock (the file stays: unlinking it would race with a starting server). */
void ke_store_dir_close(ke_store *s);

/* ---- the read side's duplicate check (store_lookup.c) */

/* Closes the lookups' connections (ke_store_close; no lookup may be running). */
void ke_store_lookups_close(ke_store *s);

/* ---- the writer (store_writer.c) */

/* Starts the writer thread. Returns KE_OK or KE_ESTORE. */
int ke_store_writer_start(ke_store *s, ke_error *err);

/* Stops the writer once the queued requests (and kept final statuses: one last try) are done. */
void ke_store_writer_stop(ke_store *s);

/* Tests: while hold is set, the writer takes no new work, so requests queued meanwhile share
 * one transaction once it is cleared. */
void ke_store_hold(ke_store *s, int hold);

/* Runs request r's SQL inside the writer's transaction (store.c). Returns KE_OK or a KE_E*
 * code; r->err may name a request-level error (KE_ENOTFOUND). */
int ke_store_exec_req(ke_store *s, ke_req *r);

/* 1 when the database, with what the transaction wrote so far, is past --max-store-bytes (or
 * its size cannot be read); 0 under the cap or without one. */
int ke_store_past_cap(ke_store *s);

/* Queues r (sync: no callback) and waits until the writer finished it. Returns r->rc, with err
 * set from r->err when it is not KE_OK. */
int ke_store_run_sync(ke_store *s, ke_req *r, ke_error *err);

/* Appends st to the pipeline at seq as its newest status and sets its state (store.c). Returns
 * KE_OK or KE_ESTORE. */
int ke_store_append_status(ke_store *s, sqlite3_int64 seq, const ke_status *st);

/* ---- the change feed (store_changes.c) */

/* Notes that pipeline p (stored at seq) was created in the current transaction; a no-op
 * without subscribers. Returns KE_OK or KE_ENOMEM. */
int ke_store_note_new(ke_store *s, long long seq, const ke_pipeline *p);

/* Notes that the pipeline at seq enters state; reads its id, name, parent and current state
 * (st_ident) before the caller updates it. A no-op without subscribers. Returns KE_OK,
 * KE_ENOMEM or KE_ESTORE. */
int ke_store_note_state(ke_store *s, long long seq, ke_state state);

/* How many changes the current transaction noted (a savepoint's mark). */
size_t ke_store_changes_mark(const ke_store *s);

/* Forgets the changes noted after mark (a savepoint rolled back; 0: the transaction). */
void ke_store_changes_rewind(ke_store *s, size_t mark);

/* After a commit: hands the noted changes to every subscriber, then forgets them. */
void ke_store_changes_deliver(ke_store *s);

/* Frees the change log (ke_store_close). */
void ke_store_changes_free(ke_store *s);

/* ---- the forwarder's requests (store_remote.c), inside the writer's transaction */

/* TAKE: loads the rows to forward into r->items / r->count and marks the new ones attempted. */
int ke_store_do_take(ke_store *s, ke_req *r);

/* APPLY: applies r->upd[0 .. r->n) ; r->count receives how many named a stored pipeline. */
int ke_store_do_apply(ke_store *s, ke_req *r);

/* CANCEL (store_ops.c): r->id READY -> ABORTED "cancelled" (r->ps: the record after), or
 * STARTED -> r->count = 1 and r->ps the record, nothing written; else KE_ENOTFOUND / KE_ESTATE
 * with r->err saying why. */
int ke_store_do_cancel(ke_store *s, ke_req *r);
/* ---- retention (store_prune.c), inside the writer's transaction */

/* PRUNE: removes r->prune's pipelines that are still removable, their keys, and old keys that
 * started nothing. */
int ke_store_do_prune(ke_store *s, ke_req *r);

/* Runs sql (statements without result rows) on db. Returns KE_OK or KE_ESTORE; the
 * connection's error (ke_store_db_error) says what failed. */
int ke_store_exec(sqlite3 *db, const char *sql);

/* Steps a prepared statement that returns no rows (BEGIN, COMMIT, SAVEPOINT ...) once and
 * resets it: KE_OK when it ran, KE_ESTORE otherwise (sqlite3_errmsg of its connection says
 * why). */
int ke_store_step_once(sqlite3_stmt *st);

/* ---- errors and rows (store_rows.c) */

/* Records an error naming the database, what failed and SQLite's message (with the OS error
 * when there is one) and returns its code: KE_EUNAVAIL for a full disk ("disk full writing
 * PATH ...; retry later"), an I/O error, a busy or locked database; KE_ENOMEM when SQLite ran
 * out of memory; KE_ESTORE otherwise. */
int ke_store_db_error(ke_error *err, sqlite3 *db, const char *path, const char *what);

/* The code ke_store_db_error would record for db's last error. */
int ke_store_db_code(sqlite3 *db);

/* p's parameters ([[name, value, type], ...]) or tags ([[key, value], ...])
 * as JSON text the caller frees; NULL when out of memory. */
char *ke_store_lists_json(const ke_pipeline *p, int tags);

/* The status history query load_rows runs per row (KE_STORE_HISTORY_SQL, one parameter: the
 * pipeline's seq), prepared once per connection. */
#define KE_STORE_HISTORY_SQL                                                                       \
    "SELECT state, changed_at, started_at, finished_at, runner, exit_code, signal, error,"         \
    " log_path, remote_json FROM status WHERE pipeline = ? ORDER BY n"

/* Steps a prepared PIPE_COLS query, loading up to max rows (with their status history, read
 * with history, a KE_STORE_HISTORY_SQL statement of the same connection) into a new array *out
 * of *n; *last_seq (optional) gets the seq of the last row loaded. Resets history, not st.
 * Returns KE_OK, KE_ENOMEM or KE_ESTORE. */
int ke_store_load_rows(sqlite3_stmt *history, sqlite3_stmt *st, size_t max, ke_pipeline **out,
                       size_t *n, sqlite3_int64 *last_seq);

/* The local runner's claim: the oldest READY row not forwarded, from pipelines_to_forward. */
#define KE_STORE_CLAIM_SQL                                                                         \
    "SELECT seq FROM pipelines INDEXED BY pipelines_to_forward"                                    \
    " WHERE state = 2 AND forward < 2 ORDER BY seq LIMIT 1"

/* The rows to forward, oldest first, from the partial index pipelines_to_forward: INDEXED BY,
 * because the planner otherwise picks pipelines_state (state, seq) and steps over every READY
 * row already forwarded (a backlog queued in kedro-graphql). The WHERE repeats the index's terms
 * as written, or SQLite could not use it. ?1 after this seq, ?2 rows at most. */
#define KE_STORE_TAKE_SQL                                                                          \
    "SELECT seq, forward, (SELECT pp.remote_id FROM pipelines AS pp"                               \
    " WHERE pp.id = pipelines.parent) FROM pipelines INDEXED BY pipelines_to_forward"              \
    " WHERE state = 2 AND forward < 2 AND seq > ?1 ORDER BY seq LIMIT ?2"

/* The forwarded rows to mirror, oldest first, from the partial index pipelines_forwarded (else
 * the planner may take pipelines_state and sort). */
#define KE_STORE_LIST_REMOTE_SQL                                                                   \
    "SELECT seq, id, remote_id, state FROM pipelines INDEXED BY pipelines_forwarded"               \
    " WHERE forward = 2 AND state IN (2, 3) AND seq > ?1 ORDER BY seq LIMIT ?2"

/* Binds s, or NULL when s is NULL, as parameter i (not copied). Returns SQLite's result. */
int ke_store_bind_text(sqlite3_stmt *st, int i, const char *s);

#endif
