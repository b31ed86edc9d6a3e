/* store_internal.h -- what the store's files share: the store itself and row helpers. */
#ifndef KE_STORE_INTERNAL_H
#define KE_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store.h"

/* The columns every pipeline query selects, in this order. */
#define PIPE_COLS "seq, id, name, parent, params, tags, created_at"

struct ke_store {
    sqlite3 *wdb;             /* the writer's connection */
    sqlite3 *rdb;             /* readers' connection */
    pthread_mutex_t rlock;    /* guards rdb */
    pthread_mutex_t qlock;    /* guards the queue, stopping and done flags */
    pthread_cond_t qcond;     /* the queue got work, or stopping */
    pthread_cond_t donecond;  /* a sync request finished */
    struct req *head, *tail;  /* queued requests (store.c) */
    int stopping;             /* close() asked the writer to finish */
    pthread_t writer;         /* the writer thread */
    int writer_started;       /* writer is running */
    void (*on_ready)(void *); /* commit added READY pipelines */
    void *on_ready_ctx;       /* for on_ready */
    char *path;               /* database path, for messages */
    char *tmpdir;             /* data_dir NULL: a temporary directory removed at close */
    sqlite3_stmt *st_find_event, *st_ins_pipe, *st_ins_status, *st_ins_event, *st_next_ready,
        *st_set_state, *st_seq_of, *st_status_count, *st_range, *st_by_seq,
        *st_history_w;                   /* the writer's prepared statements */
    sqlite3_stmt *st_get, *st_history_r; /* the readers' (under rlock) */
};

/* Records a KE_ESTORE error naming the database, what failed and SQLite's
 * message; returns KE_ESTORE. */
int ke_store_db_error(ke_error *err, sqlite3 *db, const char *path, const char *what);

/* p's parameters ([[name, value, type], ...]) or tags ([[key, value], ...])
 * as JSON text the caller frees; NULL when out of memory. */
char *ke_store_lists_json(const ke_pipeline *p, int tags);

/* The status history query load_rows runs per row (KE_STORE_HISTORY_SQL, one parameter: the
 * pipeline's seq), prepared once per connection. */
#define KE_STORE_HISTORY_SQL                                                                       \
    "SELECT state, changed_at, started_at, finished_at, runner, exit_code, signal, error,"         \
    " log_path FROM status WHERE pipeline = ? ORDER BY n"

/* Steps a prepared PIPE_COLS query, loading up to max rows (with their status history, read
 * with history, a KE_STORE_HISTORY_SQL statement of the same connection) into a new array *out
 * of *n; *last_seq (optional) gets the seq of the last row loaded. Resets history, not st.
 * Returns KE_OK, KE_ENOMEM or KE_ESTORE. */
int ke_store_load_rows(sqlite3_stmt *history, sqlite3_stmt *st, size_t max, ke_pipeline **out,
                       size_t *n, sqlite3_int64 *last_seq);

/* Binds s, or NULL when s is NULL, as parameter i (not copied). */
void ke_store_bind_text(sqlite3_stmt *st, int i, const char *s);

#endif
