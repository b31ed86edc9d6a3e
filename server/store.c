/* store.c -- pipeline records in SQLite: one writer thread commits queued requests together
 * (group commit), a reader connection serves Get/List beside it (WAL). */
#include "store.h"
#include "store_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_FILE "kedro-events.db"
#define SCHEMA_VERSION 1
#define BATCH_MAX 4096 /* requests one transaction takes at most */

/* The schema, version by version: migrate() runs the steps above user_version. */
static const char *const migrations[SCHEMA_VERSION] = {
    /* 1: pipelines, their status history, and accepted events */
    "CREATE TABLE pipelines ("
    " seq INTEGER PRIMARY KEY,"     /* insertion order */
    " id TEXT NOT NULL UNIQUE,"     /* UUID */
    " name TEXT NOT NULL,"          /* Kedro pipeline */
    " parent TEXT,"                 /* parent id */
    " params TEXT NOT NULL,"        /* JSON [[name, value, type], ...] */
    " tags TEXT NOT NULL,"          /* JSON [[key, value], ...] */
    " created_at INTEGER NOT NULL," /* microseconds since the epoch */
    " state INTEGER NOT NULL);"     /* current state: the last status */
    "CREATE INDEX pipelines_state ON pipelines(state, seq);"
    "CREATE INDEX pipelines_name ON pipelines(name, seq);"
    "CREATE INDEX pipelines_parent ON pipelines(parent, seq);"
    "CREATE TABLE status ("
    " pipeline INTEGER NOT NULL," /* pipelines.seq */
    " n INTEGER NOT NULL,"        /* 0, 1, ... oldest first */
    " state INTEGER NOT NULL, changed_at INTEGER NOT NULL, started_at INTEGER,"
    " finished_at INTEGER, runner TEXT, exit_code INTEGER, signal INTEGER, error TEXT,"
    " log_path TEXT, PRIMARY KEY (pipeline, n)) WITHOUT ROWID;"
    "CREATE TABLE events ("
    " source TEXT NOT NULL, id TEXT NOT NULL,"
    " first_seq INTEGER," /* the pipelines it started are first_seq .. first_seq+count-1 */
    " count INTEGER NOT NULL, PRIMARY KEY (source, id)) WITHOUT ROWID;",
};

typedef enum req_kind { REQ_ACCEPT, REQ_INSERT, REQ_CLAIM, REQ_FINISH, REQ_RECOVER } req_kind;

/* One queued write. Sync requests (cb NULL) are waited for by their caller. */
typedef struct req {
    req_kind kind;          /* what to do */
    char *source;           /* ACCEPT: event source */
    char *event_id;         /* ACCEPT: event id */
    ke_pipeline *ps;        /* ACCEPT: pipelines (owned); INSERT: one; CLAIM: result */
    size_t n;               /* ACCEPT: number of ps */
    const char *id;         /* FINISH: pipeline id (caller's) */
    const ke_status *st;    /* FINISH: status to append (caller's) */
    const char *runner;     /* CLAIM: runner name (caller's) */
    int requeue;            /* RECOVER: back to READY instead of FAILURE */
    size_t count;           /* RECOVER: rows changed; CLAIM: 1 when found */
    int duplicate;          /* ACCEPT: the key was seen before */
    int added_ready;        /* the request stored READY pipelines */
    ke_store_accept_cb acb; /* ACCEPT: completion, or NULL when sync */
    ke_store_insert_cb icb; /* INSERT: completion, or NULL when sync */
    void *ctx;              /* for the callback */
    int done;               /* sync: the writer finished it */
    int rc;                 /* result */
    ke_error err;           /* first error */
    struct req *next;       /* queue link */
} req;

/* ---- the writer's steps (inside its transaction) */

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? KE_OK : KE_ESTORE;
}

static void bind_time_or_null(sqlite3_stmt *st, int i, int64_t us)
{
    if (us == 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, us);
}

/* Appends status s as entry n of the pipeline at seq. */
static int put_status(ke_store *s, sqlite3_int64 seq, int n, const ke_status *st)
{
    sqlite3_stmt *q = s->st_ins_status;

    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_int(q, 2, n);
    sqlite3_bind_int(q, 3, (int)st->state);
    sqlite3_bind_int64(q, 4, st->changed_at);
    bind_time_or_null(q, 5, st->started_at);
    bind_time_or_null(q, 6, st->finished_at);
    ke_store_bind_text(q, 7, st->runner);
    if (st->has_exit_code)
        sqlite3_bind_int(q, 8, st->exit_code);
    else
        sqlite3_bind_null(q, 8);
    sqlite3_bind_int(q, 9, st->signal);
    ke_store_bind_text(q, 10, st->error);
    ke_store_bind_text(q, 11, st->log_path);
    return step_done(q);
}

/* Inserts p and its history; *seq receives its row. */
static int put_pipeline(ke_store *s, const ke_pipeline *p, sqlite3_int64 *seq)
{
    sqlite3_stmt *q = s->st_ins_pipe;
    char *params = ke_store_lists_json(p, 0), *tags = ke_store_lists_json(p, 1);
    int rc = params != NULL && tags != NULL ? KE_OK : KE_ENOMEM;
    size_t i;

    if (rc == KE_OK) {
        sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, p->name, -1, SQLITE_STATIC);
        ke_store_bind_text(q, 3, p->parent != NULL && p->parent[0] ? p->parent : NULL);
        sqlite3_bind_text(q, 4, params, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, tags, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 6, p->created_at);
        sqlite3_bind_int(q, 7, (int)ke_pipeline_state(p));
        rc = step_done(q);
        *seq = sqlite3_last_insert_rowid(s->wdb);
    }
    for (i = 0; rc == KE_OK && i < p->n_status; i++)
        rc = put_status(s, *seq, (int)i, &p->status[i]);
    free(params);
    free(tags);
    return rc;
}

/* Loads the pipelines with seq in [first, first + count) (rows of one event). */
static int load_range(ke_store *s, sqlite3_int64 first, size_t count, ke_pipeline **out, size_t *n)
{
    sqlite3_stmt *q = s->st_range;
    int rc;

    *out = NULL;
    *n = 0;
    if (count == 0)
        return KE_OK;
    sqlite3_bind_int64(q, 1, first);
    sqlite3_bind_int64(q, 2, first + (sqlite3_int64)count);
    rc = ke_store_load_rows(s->st_history_w, q, count, out, n, NULL);
    sqlite3_reset(q);
    return rc;
}

static int do_accept(ke_store *s, req *r)
{
    sqlite3_stmt *q = s->st_find_event;
    sqlite3_int64 first = 0, seq;
    int rc, step;
    size_t i, count;

    sqlite3_bind_text(q, 1, r->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->event_id, -1, SQLITE_STATIC);
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        first = sqlite3_column_int64(q, 0);
        count = (size_t)sqlite3_column_int64(q, 1);
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
        ke_pipelines_free(r->ps, r->n);
        r->ps = NULL;
        r->n = 0;
        r->duplicate = 1;
        return load_range(s, first, count, &r->ps, &r->n);
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (step != SQLITE_DONE)
        return KE_ESTORE;
    rc = KE_OK;
    for (i = 0; rc == KE_OK && i < r->n; i++) {
        rc = put_pipeline(s, &r->ps[i], &seq);
        if (i == 0)
            first = seq;
        if (ke_pipeline_state(&r->ps[i]) == KE_STATE_READY)
            r->added_ready = 1;
    }
    if (rc != KE_OK)
        return rc;
    q = s->st_ins_event;
    sqlite3_bind_text(q, 1, r->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->event_id, -1, SQLITE_STATIC);
    if (r->n > 0)
        sqlite3_bind_int64(q, 3, first);
    else
        sqlite3_bind_null(q, 3);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)r->n);
    return step_done(q);
}

/* The row of the pipeline with this id, or 0. */
static sqlite3_int64 seq_of(ke_store *s, const char *id)
{
    sqlite3_stmt *q = s->st_seq_of;
    sqlite3_int64 seq = 0;

    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        seq = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return seq;
}

static int do_insert(ke_store *s, req *r)
{
    sqlite3_int64 seq;
    const char *parent = r->ps->parent;

    if (parent != NULL && parent[0] != '\0' && seq_of(s, parent) == 0)
        return ke_error_set(&r->err, KE_ENOTFOUND, "parent pipeline \"%.64s\" not found", parent);
    if (ke_pipeline_state(r->ps) == KE_STATE_READY)
        r->added_ready = 1;
    return put_pipeline(s, r->ps, &seq);
}

/* Appends st to the pipeline at seq (as its newest status) and sets its state. */
static int append_status(ke_store *s, sqlite3_int64 seq, const ke_status *st)
{
    sqlite3_stmt *q = s->st_status_count;
    int n, rc;

    sqlite3_bind_int64(q, 1, seq);
    n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (n < 0)
        return KE_ESTORE;
    rc = put_status(s, seq, n, st);
    if (rc != KE_OK)
        return rc;
    q = s->st_set_state;
    sqlite3_bind_int(q, 1, (int)st->state);
    sqlite3_bind_int64(q, 2, seq);
    return step_done(q);
}

static int do_claim(ke_store *s, req *r)
{
    sqlite3_stmt *q = s->st_next_ready, *row = s->st_by_seq;
    sqlite3_int64 seq;
    ke_status st = {0};
    int step, rc;
    size_t n;

    step = sqlite3_step(q);
    seq = step == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    if (step != SQLITE_ROW)
        return step == SQLITE_DONE ? KE_OK : KE_ESTORE;
    st.state = KE_STATE_STARTED;
    st.changed_at = st.started_at = ke_now_us();
    st.runner = (char *)r->runner;
    rc = append_status(s, seq, &st);
    if (rc == KE_OK) {
        sqlite3_bind_int64(row, 1, seq);
        rc = ke_store_load_rows(s->st_history_w, row, 1, &r->ps, &n, NULL);
        r->count = rc == KE_OK ? n : 0;
    }
    sqlite3_reset(row);
    return rc;
}

static int do_finish(ke_store *s, req *r)
{
    sqlite3_int64 seq = seq_of(s, r->id);
    ke_status st = *r->st;

    if (seq == 0)
        return ke_error_set(&r->err, KE_ENOTFOUND, "pipeline \"%.64s\" not found", r->id);
    st.changed_at = ke_now_us();
    return append_status(s, seq, &st);
}

static int do_recover(ke_store *s, req *r)
{
    sqlite3_stmt *q = NULL;
    sqlite3_int64 *seqs = NULL, *grown;
    ke_status st = {0};
    size_t n = 0, i;
    int rc = KE_OK;

    if (sqlite3_prepare_v2(s->wdb, "SELECT seq FROM pipelines WHERE state = 3 ORDER BY seq", -1, &q,
                           NULL) != SQLITE_OK)
        return KE_ESTORE;
    while (sqlite3_step(q) == SQLITE_ROW) {
        grown = realloc(seqs, (n + 1) * sizeof *seqs);
        if (grown == NULL) {
            rc = KE_ENOMEM;
            break;
        }
        seqs = grown;
        seqs[n++] = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    st.changed_at = ke_now_us();
    if (r->requeue) {
        st.state = KE_STATE_READY;
        st.error = "requeued: the server stopped while it ran";
        r->added_ready = n > 0;
    } else {
        st.state = KE_STATE_FAILURE;
        st.finished_at = st.changed_at;
        st.error = "interrupted: the server stopped while it ran";
    }
    for (i = 0; rc == KE_OK && i < n; i++)
        rc = append_status(s, seqs[i], &st);
    r->count = rc == KE_OK ? n : 0;
    free(seqs);
    return rc;
}

/* ---- the writer thread */

static int exec_sql(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? KE_OK : KE_ESTORE;
}

/* Runs one request inside a savepoint, so a failed one leaves the others. */
static void run_req(ke_store *s, req *r)
{
    int rc;

    if (exec_sql(s->wdb, "SAVEPOINT r") != KE_OK) {
        r->rc = ke_store_db_error(&r->err, s->wdb, s->path, "savepoint");
        return;
    }
    switch (r->kind) {
    case REQ_ACCEPT:
        rc = do_accept(s, r);
        break;
    case REQ_INSERT:
        rc = do_insert(s, r);
        break;
    case REQ_CLAIM:
        rc = do_claim(s, r);
        break;
    case REQ_FINISH:
        rc = do_finish(s, r);
        break;
    default:
        rc = do_recover(s, r);
        break;
    }
    if (rc == KE_ESTORE)
        ke_store_db_error(&r->err, s->wdb, s->path, "write");
    else if (rc == KE_ENOMEM)
        ke_error_set(&r->err, KE_ENOMEM, "store: out of memory");
    r->rc = rc;
    if (rc != KE_OK) {
        r->added_ready = 0;
        exec_sql(s->wdb, "ROLLBACK TO r");
    }
    exec_sql(s->wdb, "RELEASE r");
}

/* Completes a request: callback (async) or wake its waiter (sync). */
static void complete(ke_store *s, req *r)
{
    if (r->acb != NULL) {
        r->acb(r->ctx, r->rc, &r->err, r->ps, r->n, r->duplicate);
        r->ps = NULL;
        free(r->source);
        free(r->event_id);
        free(r);
        return;
    }
    if (r->icb != NULL) {
        r->icb(r->ctx, r->rc, &r->err);
        if (r->ps != NULL)
            ke_pipeline_release(r->ps);
        free(r->ps);
        free(r);
        return;
    }
    pthread_mutex_lock(&s->qlock);
    r->done = 1;
    pthread_cond_broadcast(&s->donecond);
    pthread_mutex_unlock(&s->qlock);
}

static void *writer_main(void *arg)
{
    ke_store *s = arg;
    req *batch, *r, *next;
    int ready, n;

    for (;;) {
        pthread_mutex_lock(&s->qlock);
        while (s->head == NULL && !s->stopping)
            pthread_cond_wait(&s->qcond, &s->qlock);
        if (s->head == NULL) {
            pthread_mutex_unlock(&s->qlock);
            break;
        }
        /* Take up to BATCH_MAX queued requests: they share one commit. */
        batch = s->head;
        for (r = batch, n = 1; r->next != NULL && n < BATCH_MAX; r = r->next, n++)
            ;
        s->head = r->next;
        if (s->head == NULL)
            s->tail = NULL;
        r->next = NULL;
        pthread_mutex_unlock(&s->qlock);

        ready = 0;
        if (exec_sql(s->wdb, "BEGIN IMMEDIATE") != KE_OK) {
            for (r = batch; r != NULL; r = r->next)
                r->rc = ke_store_db_error(&r->err, s->wdb, s->path, "begin");
        } else {
            for (r = batch; r != NULL; r = r->next)
                run_req(s, r);
            if (exec_sql(s->wdb, "COMMIT") != KE_OK) {
                ke_error cerr;

                ke_error_clear(&cerr);
                ke_store_db_error(&cerr, s->wdb, s->path, "commit");
                exec_sql(s->wdb, "ROLLBACK");
                for (r = batch; r != NULL; r = r->next) {
                    r->rc = KE_ESTORE;
                    r->err = cerr;
                    r->added_ready = 0;
                }
            }
        }
        for (r = batch; r != NULL; r = r->next)
            ready |= r->rc == KE_OK && r->added_ready;
        /* Wake the runner before answering, and under the lock: once a
         * caller has its answer, the hook may be unset and its target freed. */
        if (ready) {
            pthread_mutex_lock(&s->qlock);
            if (s->on_ready != NULL)
                s->on_ready(s->on_ready_ctx);
            pthread_mutex_unlock(&s->qlock);
        }
        for (r = batch; r != NULL; r = next) {
            next = r->next;
            complete(s, r);
        }
    }
    return NULL;
}

static void enqueue(ke_store *s, req *r)
{
    pthread_mutex_lock(&s->qlock);
    if (s->tail != NULL)
        s->tail->next = r;
    else
        s->head = r;
    s->tail = r;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
}

/* Queues a sync request and waits for the writer to finish it. */
static int run_sync(ke_store *s, req *r, ke_error *err)
{
    enqueue(s, r);
    pthread_mutex_lock(&s->qlock);
    while (!r->done)
        pthread_cond_wait(&s->donecond, &s->qlock);
    pthread_mutex_unlock(&s->qlock);
    if (r->rc != KE_OK)
        ke_error_set(err, r->rc, "%s", r->err.msg);
    return r->rc;
}

/* ---- public: writes */

void ke_store_accept_async(ke_store *s, const char *source, const char *event_id, ke_pipeline *ps,
                           size_t n, ke_store_accept_cb cb, void *ctx)
{
    req *r = calloc(1, sizeof *r);
    ke_error err;

    if (r != NULL) {
        r->source = strdup(source);
        r->event_id = strdup(event_id);
    }
    if (r == NULL || r->source == NULL || r->event_id == NULL) {
        if (r != NULL) {
            free(r->source);
            free(r->event_id);
            free(r);
        }
        ke_error_clear(&err);
        ke_error_set(&err, KE_ENOMEM, "store: out of memory");
        ke_pipelines_free(ps, n);
        cb(ctx, KE_ENOMEM, &err, NULL, 0, 0);
        return;
    }
    r->kind = REQ_ACCEPT;
    r->ps = ps;
    r->n = n;
    r->acb = cb;
    r->ctx = ctx;
    enqueue(s, r);
}

void ke_store_insert_async(ke_store *s, ke_pipeline *p, ke_store_insert_cb cb, void *ctx)
{
    req *r = calloc(1, sizeof *r);
    ke_pipeline *moved = malloc(sizeof *moved);
    ke_error err;

    if (r == NULL || moved == NULL) {
        free(r);
        free(moved);
        ke_pipeline_release(p);
        ke_error_clear(&err);
        ke_error_set(&err, KE_ENOMEM, "store: out of memory");
        cb(ctx, KE_ENOMEM, &err);
        return;
    }
    *moved = *p;
    memset(p, 0, sizeof *p);
    r->kind = REQ_INSERT;
    r->ps = moved;
    r->icb = cb;
    r->ctx = ctx;
    enqueue(s, r);
}

int ke_store_accept(ke_store *s, const char *source, const char *event_id, const ke_pipeline *ps,
                    size_t n, ke_pipeline **orig, size_t *n_orig, int *duplicate, ke_error *err)
{
    req r;
    size_t i;
    int rc;

    *orig = NULL;
    *n_orig = 0;
    *duplicate = 0;
    memset(&r, 0, sizeof r);
    r.kind = REQ_ACCEPT;
    r.source = (char *)source;
    r.event_id = (char *)event_id;
    r.ps = calloc(n ? n : 1, sizeof *r.ps);
    if (r.ps == NULL)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    for (i = 0; i < n; i++) {
        if (ke_pipeline_copy(&r.ps[i], &ps[i]) != KE_OK) {
            ke_pipelines_free(r.ps, i);
            return ke_error_set(err, KE_ENOMEM, "store: out of memory");
        }
    }
    r.n = n;
    rc = run_sync(s, &r, err);
    if (rc != KE_OK) {
        ke_pipelines_free(r.ps, r.n);
        return rc;
    }
    *orig = r.ps;
    *n_orig = r.n;
    *duplicate = r.duplicate;
    return KE_OK;
}

int ke_store_insert(ke_store *s, const ke_pipeline *p, ke_error *err)
{
    ke_pipeline copy;
    req r;
    int rc;

    if (ke_pipeline_copy(&copy, p) != KE_OK)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    memset(&r, 0, sizeof r);
    r.kind = REQ_INSERT;
    r.ps = &copy;
    rc = run_sync(s, &r, err);
    ke_pipeline_release(&copy);
    return rc;
}

int ke_store_claim(ke_store *s, const char *runner, ke_pipeline *out, int *found, ke_error *err)
{
    req r;
    int rc;

    *found = 0;
    memset(&r, 0, sizeof r);
    r.kind = REQ_CLAIM;
    r.runner = runner;
    rc = run_sync(s, &r, err);
    if (rc == KE_OK && r.count == 1) {
        *out = r.ps[0];
        *found = 1;
        free(r.ps);
    } else {
        ke_pipelines_free(r.ps, r.count);
    }
    return rc;
}

int ke_store_finish(ke_store *s, const char *id, const ke_status *st, ke_error *err)
{
    req r;

    memset(&r, 0, sizeof r);
    r.kind = REQ_FINISH;
    r.id = id;
    r.st = st;
    return run_sync(s, &r, err);
}

int ke_store_recover(ke_store *s, int requeue, size_t *n, ke_error *err)
{
    req r;
    int rc;

    memset(&r, 0, sizeof r);
    r.kind = REQ_RECOVER;
    r.requeue = requeue;
    rc = run_sync(s, &r, err);
    *n = rc == KE_OK ? r.count : 0;
    return rc;
}

void ke_store_on_ready(ke_store *s, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&s->qlock);
    s->on_ready = fn;
    s->on_ready_ctx = ctx;
    pthread_mutex_unlock(&s->qlock);
}

/* ---- opening and closing */

/* Brings the schema to SCHEMA_VERSION, one step per version, each in its
 * own transaction. */
static int migrate(ke_store *s, ke_error *err)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int version = 0, v;

    if (sqlite3_prepare_v2(s->wdb, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > SCHEMA_VERSION)
        return ke_error_set(err, KE_ESTORE,
                            "store \"%s\": schema version %d is newer than this server's %d",
                            s->path, version, SCHEMA_VERSION);
    for (v = version; v < SCHEMA_VERSION; v++) {
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (exec_sql(s->wdb, "BEGIN IMMEDIATE") != KE_OK ||
            exec_sql(s->wdb, migrations[v]) != KE_OK || exec_sql(s->wdb, sql) != KE_OK ||
            exec_sql(s->wdb, "COMMIT") != KE_OK) {
            ke_store_db_error(err, s->wdb, s->path, "migrating the schema");
            exec_sql(s->wdb, "ROLLBACK");
            return KE_ESTORE;
        }
    }
    return KE_OK;
}

/* Prepares sql once, for the store's life, on the writer's connection (or db). */
static int prepare_on(ke_store *s, sqlite3 *db, sqlite3_stmt **st, const char *sql, ke_error *err)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return ke_store_db_error(err, db, s->path, "prepare");
    return KE_OK;
}

static int prepare(ke_store *s, sqlite3_stmt **st, const char *sql, ke_error *err)
{
    return prepare_on(s, s->wdb, st, sql, err);
}

static int open_db(ke_store *s, sqlite3 **db, ke_error *err)
{
    if (sqlite3_open_v2(s->path, db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        return ke_store_db_error(err, *db, s->path, "cannot open");
    sqlite3_busy_timeout(*db, 10000);
    if (exec_sql(*db, "PRAGMA journal_mode = WAL") != KE_OK ||
        exec_sql(*db, "PRAGMA synchronous = FULL") != KE_OK)
        return ke_store_db_error(err, *db, s->path, "cannot set WAL mode");
    return KE_OK;
}

int ke_store_open(const char *data_dir, ke_store **out, ke_error *err)
{
    ke_store *s = calloc(1, sizeof *s);
    char tmpl[] = "/tmp/ke-store-XXXXXX";
    int rc = KE_OK;

    *out = NULL;
    if (s == NULL)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    pthread_mutex_init(&s->rlock, NULL);
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    pthread_cond_init(&s->donecond, NULL);
    if (data_dir == NULL) {
        if (mkdtemp(tmpl) == NULL) {
            rc = ke_error_set(err, KE_ESTORE, "store: cannot make a temporary directory: %s",
                              strerror(errno));
            goto out;
        }
        s->tmpdir = strdup(tmpl);
        data_dir = tmpl;
    } else if (mkdir(data_dir, 0755) != 0 && errno != EEXIST) {
        rc = ke_error_set(err, KE_ESTORE, "store: cannot create data directory \"%s\": %s",
                          data_dir, strerror(errno));
        goto out;
    }
    if (asprintf(&s->path, "%s/%s", data_dir, DB_FILE) < 0) {
        s->path = NULL;
        rc = ke_error_set(err, KE_ENOMEM, "store: out of memory");
        goto out;
    }
    rc = open_db(s, &s->wdb, err);
    if (rc == KE_OK)
        rc = migrate(s, err);
    if (rc == KE_OK)
        rc = open_db(s, &s->rdb, err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_find_event,
                     "SELECT first_seq, count FROM events WHERE source = ? AND id = ?", err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_ins_pipe,
                     "INSERT INTO pipelines (id, name, parent, params, tags, created_at, state)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)",
                     err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_ins_status,
                     "INSERT INTO status (pipeline, n, state, changed_at, started_at, finished_at,"
                     " runner, exit_code, signal, error, log_path)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_ins_event,
                     "INSERT INTO events (source, id, first_seq, count) VALUES (?, ?, ?, ?)", err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_next_ready,
                     "SELECT seq FROM pipelines WHERE state = 2 ORDER BY seq LIMIT 1", err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_set_state, "UPDATE pipelines SET state = ? WHERE seq = ?", err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_seq_of, "SELECT seq FROM pipelines WHERE id = ?", err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_status_count, "SELECT count(*) FROM status WHERE pipeline = ?", err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_range,
                     "SELECT " PIPE_COLS " FROM pipelines WHERE seq >= ? AND seq < ? ORDER BY seq",
                     err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_by_seq, "SELECT " PIPE_COLS " FROM pipelines WHERE seq = ?", err);
    if (rc == KE_OK)
        rc = prepare(s, &s->st_history_w, KE_STORE_HISTORY_SQL, err);
    if (rc == KE_OK)
        rc = prepare_on(s, s->rdb, &s->st_get, "SELECT " PIPE_COLS " FROM pipelines WHERE id = ?",
                        err);
    if (rc == KE_OK)
        rc = prepare_on(s, s->rdb, &s->st_history_r, KE_STORE_HISTORY_SQL, err);
    if (rc == KE_OK && pthread_create(&s->writer, NULL, writer_main, s) != 0)
        rc = ke_error_set(err, KE_ESTORE, "store: cannot start the writer thread");
    if (rc == KE_OK)
        s->writer_started = 1;
out:
    if (rc != KE_OK) {
        ke_store_close(s);
        return rc;
    }
    *out = s;
    return KE_OK;
}

/* Removes the temporary directory of a data_dir-less store. */
static void remove_tmpdir(const char *dir)
{
    static const char *const files[] = {DB_FILE, DB_FILE "-wal", DB_FILE "-shm"};
    char path[PATH_MAX];
    size_t i;

    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

void ke_store_close(ke_store *s)
{
    if (s == NULL)
        return;
    if (s->writer_started) {
        pthread_mutex_lock(&s->qlock);
        s->stopping = 1;
        pthread_cond_signal(&s->qcond);
        pthread_mutex_unlock(&s->qlock);
        pthread_join(s->writer, NULL);
    }
    sqlite3_finalize(s->st_find_event);
    sqlite3_finalize(s->st_ins_pipe);
    sqlite3_finalize(s->st_ins_status);
    sqlite3_finalize(s->st_ins_event);
    sqlite3_finalize(s->st_next_ready);
    sqlite3_finalize(s->st_set_state);
    sqlite3_finalize(s->st_seq_of);
    sqlite3_finalize(s->st_status_count);
    sqlite3_finalize(s->st_range);
    sqlite3_finalize(s->st_by_seq);
    sqlite3_finalize(s->st_history_w);
    sqlite3_finalize(s->st_get);
    sqlite3_finalize(s->st_history_r);
    sqlite3_close(s->rdb);
    sqlite3_close(s->wdb);
    if (s->tmpdir != NULL)
        remove_tmpdir(s->tmpdir);
    free(s->tmpdir);
    free(s->path);
    pthread_cond_destroy(&s->donecond);
    pthread_cond_destroy(&s->qcond);
    pthread_mutex_destroy(&s->qlock);
    pthread_mutex_destroy(&s->rlock);
    free(s);
}
