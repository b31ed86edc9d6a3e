/* store.c -- pipeline records in SQLite: the schema, the SQL of each write the writer thread
 * runs (store_writer.c), and opening and closing the database. */
#include "store.h"
#include "store_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_VERSION 3

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
    /* 2: forwarding to kedro-graphql (docs/kedro-graphql.md). The partial indexes keep the
     * forwarder's scans index seeks; a query uses one only when its WHERE repeats the index's
     * terms as written ("state = 2 AND forward < 2", "forward = 2 AND state IN (2, 3)"). */
    /* forward: 0 not tried, 1 a create may have been sent, 2 forwarded */
    "ALTER TABLE pipelines ADD COLUMN forward INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE pipelines ADD COLUMN remote_id TEXT;"   /* kedro-graphql's id */
    "ALTER TABLE pipelines ADD COLUMN remote_json TEXT;" /* its pipeline keys, a JSON object */
    "ALTER TABLE status ADD COLUMN remote_json TEXT;"    /* its status entry's keys */
    "CREATE INDEX pipelines_to_forward ON pipelines(seq) WHERE state = 2 AND forward < 2;"
    "CREATE INDEX pipelines_forwarded ON pipelines(seq) WHERE forward = 2 AND state IN (2, 3);",
    /* 3: retention (store_prune.c). Keys get the time they were received; keys stored before
     * this version count as received at the migration (those that started pipelines go with
     * their pipelines instead). status_ended finds old ended runs by time, events_first the
     * key that started a pipeline, events_unmatched old keys that started nothing. */
    "ALTER TABLE events ADD COLUMN received_at INTEGER;" /* microseconds since the epoch */
    "UPDATE events SET received_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000"
    " WHERE count = 0;"
    "CREATE INDEX status_ended ON status(changed_at, pipeline) WHERE state IN (4, 5, 6);"
    "CREATE INDEX events_first ON events(first_seq);"
    "CREATE INDEX events_unmatched ON events(received_at) WHERE count = 0;",
};

/* ---- the writer's steps (inside its transaction) */

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? KE_OK : KE_ESTORE;
}

static int bind_time_or_null(sqlite3_stmt *st, int i, int64_t us)
{
    return us == 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, us);
}

/* Steps st after its bindings: bad counts the bindings that failed (e.g. a value over
 * SQLite's length limit), which fail the step instead of storing NULL in their place. */
static int step_bound(sqlite3_stmt *st, int bad)
{
    if (bad == 0)
        return step_done(st);
    sqlite3_clear_bindings(st);
    return KE_ESTORE;
}

/* Appends status s as entry n of the pipeline at seq. */
static int put_status(ke_store *s, sqlite3_int64 seq, int n, const ke_status *st)
{
    sqlite3_stmt *q = s->st_ins_status;
    int bad = 0;

    bad += sqlite3_bind_int64(q, 1, seq) != SQLITE_OK;
    bad += sqlite3_bind_int(q, 2, n) != SQLITE_OK;
    bad += sqlite3_bind_int(q, 3, (int)st->state) != SQLITE_OK;
    bad += sqlite3_bind_int64(q, 4, st->changed_at) != SQLITE_OK;
    bad += bind_time_or_null(q, 5, st->started_at) != SQLITE_OK;
    bad += bind_time_or_null(q, 6, st->finished_at) != SQLITE_OK;
    bad += ke_store_bind_text(q, 7, st->runner) != SQLITE_OK;
    if (st->has_exit_code)
        bad += sqlite3_bind_int(q, 8, st->exit_code) != SQLITE_OK;
    else
        bad += sqlite3_bind_null(q, 8) != SQLITE_OK;
    bad += sqlite3_bind_int(q, 9, st->signal) != SQLITE_OK;
    bad += ke_store_bind_text(q, 10, st->error) != SQLITE_OK;
    bad += ke_store_bind_text(q, 11, st->log_path) != SQLITE_OK;
    bad += ke_store_bind_text(q, 12, st->remote_json) != SQLITE_OK;
    return step_bound(q, bad);
}

/* Inserts p and its history; *seq receives its row. A new record has not been forwarded: p's
 * remote_id and remote_json are not stored (ke_store_apply_remote records them). */
static int put_pipeline(ke_store *s, const ke_pipeline *p, sqlite3_int64 *seq)
{
    sqlite3_stmt *q = s->st_ins_pipe;
    char *params = ke_store_lists_json(p, 0), *tags = ke_store_lists_json(p, 1);
    int rc = params != NULL && tags != NULL ? KE_OK : KE_ENOMEM, bad = 0;
    size_t i;

    *seq = 0;
    if (rc == KE_OK) {
        bad += ke_store_bind_text(q, 1, p->id) != SQLITE_OK;
        bad += ke_store_bind_text(q, 2, p->name) != SQLITE_OK;
        bad += ke_store_bind_text(q, 3, p->parent != NULL && p->parent[0] ? p->parent : NULL) !=
               SQLITE_OK;
        bad += ke_store_bind_text(q, 4, params) != SQLITE_OK;
        bad += ke_store_bind_text(q, 5, tags) != SQLITE_OK;
        bad += sqlite3_bind_int64(q, 6, p->created_at) != SQLITE_OK;
        bad += sqlite3_bind_int(q, 7, (int)ke_pipeline_state(p)) != SQLITE_OK;
        rc = step_bound(q, bad);
        if (rc == KE_OK)
            *seq = sqlite3_last_insert_rowid(s->wdb);
        if (rc == KE_OK)
            rc = ke_store_note_new(s, *seq, p);
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

static int do_accept(ke_store *s, ke_req *r)
{
    sqlite3_stmt *q = s->st_find_event;
    sqlite3_int64 first = 0, seq;
    int rc, step, bad = 0;
    size_t i, count;

    if (ke_store_bind_text(q, 1, r->source) != SQLITE_OK ||
        ke_store_bind_text(q, 2, r->event_id) != SQLITE_OK) {
        sqlite3_clear_bindings(q);
        return KE_ESTORE;
    }
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        first = sqlite3_column_int64(q, 0);
        count = (size_t)sqlite3_column_int64(q, 1);
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
        r->spare = r->ps; /* freed when the request completes (store_writer.c) */
        r->n_spare = r->n;
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
    bad += ke_store_bind_text(q, 1, r->source) != SQLITE_OK;
    bad += ke_store_bind_text(q, 2, r->event_id) != SQLITE_OK;
    if (r->n > 0)
        bad += sqlite3_bind_int64(q, 3, first) != SQLITE_OK;
    else
        bad += sqlite3_bind_null(q, 3) != SQLITE_OK;
    bad += sqlite3_bind_int64(q, 4, (sqlite3_int64)r->n) != SQLITE_OK;
    bad += sqlite3_bind_int64(q, 5, ke_now_us()) != SQLITE_OK;
    return step_bound(q, bad);
}

/* *seq receives the row of the pipeline with this id, or 0 when there is none. Returns KE_OK
 * or KE_ESTORE (a failed read is not "not found"). */
static int seq_of(ke_store *s, const char *id, sqlite3_int64 *seq)
{
    sqlite3_stmt *q = s->st_seq_of;
    int step;

    *seq = 0;
    if (ke_store_bind_text(q, 1, id) != SQLITE_OK)
        return KE_ESTORE;
    step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        *seq = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return step == SQLITE_ROW || step == SQLITE_DONE ? KE_OK : KE_ESTORE;
}

static int do_insert(ke_store *s, ke_req *r)
{
    sqlite3_int64 seq;
    const char *parent = r->ps->parent;

    if (parent != NULL && parent[0] != '\0') {
        if (seq_of(s, parent, &seq) != KE_OK)
            return KE_ESTORE;
        if (seq == 0)
            return ke_error_set(&r->err, KE_ENOTFOUND, "parent pipeline \"%.64s\" not found",
                                parent);
    }
    if (ke_pipeline_state(r->ps) == KE_STATE_READY)
        r->added_ready = 1;
    return put_pipeline(s, r->ps, &seq);
}

int ke_store_append_status(ke_store *s, sqlite3_int64 seq, const ke_status *st)
{
    sqlite3_stmt *q = s->st_status_count;
    int n, rc;

    sqlite3_bind_int64(q, 1, seq);
    n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (n < 0)
        return KE_ESTORE;
    rc = ke_store_note_state(s, seq, st->state);
    if (rc == KE_OK)
        rc = put_status(s, seq, n, st);
    if (rc != KE_OK)
        return rc;
    q = s->st_set_state;
    sqlite3_bind_int(q, 1, (int)st->state);
    sqlite3_bind_int64(q, 2, seq);
    return step_done(q);
}

static int do_claim(ke_store *s, ke_req *r)
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
    rc = ke_store_append_status(s, seq, &st);
    if (rc == KE_OK) {
        sqlite3_bind_int64(row, 1, seq);
        rc = ke_store_load_rows(s->st_history_w, row, 1, &r->ps, &n, NULL);
        r->count = rc == KE_OK ? n : 0;
    }
    sqlite3_reset(row);
    return rc;
}

static int do_finish(ke_store *s, ke_req *r)
{
    sqlite3_int64 seq;
    ke_status st = r->st;

    if (seq_of(s, r->id, &seq) != KE_OK)
        return KE_ESTORE;
    if (seq == 0)
        return ke_error_set(&r->err, KE_ENOTFOUND, "pipeline \"%.64s\" not found", r->id);
    st.changed_at = ke_now_us();
    return ke_store_append_status(s, seq, &st);
}

/* Forwarded rows (forward = 2) are left alone: their run is kedro-graphql's, and the mirror
 * goes on polling it after the restart. */
static int do_recover(ke_store *s, ke_req *r)
{
    sqlite3_stmt *q = NULL;
    sqlite3_int64 *seqs = NULL, *grown;
    ke_status st = {0};
    size_t n = 0, i;
    int rc = KE_OK, step;

    if (sqlite3_prepare_v2(s->wdb,
                           "SELECT seq FROM pipelines WHERE state = 3 AND forward < 2 ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK)
        return KE_ESTORE;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        grown = realloc(seqs, (n + 1) * sizeof *seqs);
        if (grown == NULL) {
            rc = KE_ENOMEM;
            break;
        }
        seqs = grown;
        seqs[n++] = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    if (rc == KE_OK && step != SQLITE_DONE)
        rc = KE_ESTORE;
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
        rc = ke_store_append_status(s, seqs[i], &st);
    r->count = rc == KE_OK ? n : 0;
    free(seqs);
    return rc;
}

/* ---- the writer's entry points */

int ke_store_step_once(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KE_OK : KE_ESTORE;
}

int ke_store_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? KE_OK : KE_ESTORE;
}

/* KE_EFULL (r->err says why) when the database, with what the transaction wrote so far, is
 * past the cap; the caller's savepoint then takes back what the request wrote. */
static int check_cap(ke_store *s, ke_req *r)
{
    long long cap = atomic_load(&s->max_bytes), size;
    int step;

    if (cap <= 0)
        return KE_OK;
    step = sqlite3_step(s->st_page_count);
    if (step != SQLITE_ROW) {
        int rc = ke_store_db_error(&r->err, s->wdb, s->path, "reading the database's size");

        sqlite3_reset(s->st_page_count);
        return rc;
    }
    size = sqlite3_column_int64(s->st_page_count, 0) * s->page_size;
    sqlite3_reset(s->st_page_count);
    if (size <= cap)
        return KE_OK;
    return ke_error_set(&r->err, KE_EFULL,
                        "store full: %s would take %lld bytes, past --max-store-bytes %lld; "
                        "nothing of this request was stored (retry later, or raise the cap)",
                        s->path, size, cap);
}

int ke_store_past_cap(ke_store *s)
{
    ke_req r;

    memset(&r, 0, sizeof r);
    return check_cap(s, &r) != KE_OK;
}

int ke_store_exec_req(ke_store *s, ke_req *r)
{
    int rc;

    switch (r->kind) {
    case KE_REQ_ACCEPT:
        rc = do_accept(s, r);
        return rc == KE_OK && !r->duplicate && !s->cap_deferred ? check_cap(s, r) : rc;
    case KE_REQ_INSERT:
        rc = do_insert(s, r);
        return rc == KE_OK ? check_cap(s, r) : rc;
    case KE_REQ_CLAIM:
        return do_claim(s, r);
    case KE_REQ_FINISH:
        return do_finish(s, r);
    case KE_REQ_TAKE:
        return ke_store_do_take(s, r);
    case KE_REQ_APPLY:
        return ke_store_do_apply(s, r); /* statuses of stored runs: never refused for the cap */
    case KE_REQ_CANCEL:
        return ke_store_do_cancel(s, r); /* a status of a stored run, like APPLY */
    case KE_REQ_PRUNE:
        return ke_store_do_prune(s, r); /* removes rows: never refused for the cap */
    default:
        return do_recover(s, r);
    }
}

/* ---- opening and closing */

/* Brings the schema to SCHEMA_VERSION, one step per version, each in its
 * own transaction. */
static int migrate(ke_store *s, ke_error *err)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int version = 0, v, step = SQLITE_ERROR, rc = KE_OK;

    if (sqlite3_prepare_v2(s->wdb, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK)
        step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    else
        rc = ke_store_db_error(err, s->wdb, s->path, "reading the schema version");
    sqlite3_finalize(st);
    if (rc != KE_OK)
        return rc;
    if (version > SCHEMA_VERSION)
        return ke_error_set(err, KE_ESTORE,
                            "store \"%s\": schema version %d is newer than this server's %d",
                            s->path, version, SCHEMA_VERSION);
    for (v = version; v < SCHEMA_VERSION; v++) {
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (ke_store_exec(s->wdb, "BEGIN IMMEDIATE") != KE_OK ||
            ke_store_exec(s->wdb, migrations[v]) != KE_OK || ke_store_exec(s->wdb, sql) != KE_OK ||
            ke_store_exec(s->wdb, "COMMIT") != KE_OK) {
            v = ke_store_db_error(err, s->wdb, s->path, "migrating the schema");
            if (!sqlite3_get_autocommit(s->wdb))
                ke_store_exec(s->wdb, "ROLLBACK");
            return v;
        }
    }
    return KE_OK;
}

/* Prepares sql once, for the store's life, on connection db. */
static int prepare_on(ke_store *s, sqlite3 *db, sqlite3_stmt **st, const char *sql, ke_error *err)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return ke_store_db_error(err, db, s->path, "prepare");
    return KE_OK;
}

/* The writer's and the readers' statements. */
static int prepare_all(ke_store *s, ke_error *err)
{
    static const struct {
        size_t at;       /* offset of the statement pointer in ke_store */
        int reader;      /* on the readers' connection */
        const char *sql; /* the statement */
    } stmts[] = {
        {offsetof(ke_store, st_find_event), 0, KE_STORE_FIND_EVENT_SQL},
        {offsetof(ke_store, st_ins_pipe), 0,
         "INSERT INTO pipelines (id, name, parent, params, tags, created_at, state)"
         " VALUES (?, ?, ?, ?, ?, ?, ?)"},
        {offsetof(ke_store, st_ins_status), 0,
         "INSERT INTO status (pipeline, n, state, changed_at, started_at, finished_at,"
         " runner, exit_code, signal, error, log_path, remote_json)"
         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
        {offsetof(ke_store, st_ins_event), 0,
         "INSERT INTO events (source, id, first_seq, count, received_at) VALUES (?, ?, ?, ?, ?)"},
        {offsetof(ke_store, st_next_ready), 0, KE_STORE_CLAIM_SQL},
        {offsetof(ke_store, st_set_state), 0, "UPDATE pipelines SET state = ? WHERE seq = ?"},
        {offsetof(ke_store, st_seq_of), 0, "SELECT seq FROM pipelines WHERE id = ?"},
        {offsetof(ke_store, st_status_count), 0, "SELECT count(*) FROM status WHERE pipeline = ?"},
        {offsetof(ke_store, st_range), 0, KE_STORE_RANGE_SQL},
        {offsetof(ke_store, st_by_seq), 0, "SELECT " PIPE_COLS " FROM pipelines WHERE seq = ?"},
        {offsetof(ke_store, st_history_w), 0, KE_STORE_HISTORY_SQL},
        {offsetof(ke_store, st_page_count), 0, "PRAGMA page_count"},
        {offsetof(ke_store, st_ident), 0,
         "SELECT id, name, coalesce(parent, ''), state FROM pipelines WHERE seq = ?"},
        {offsetof(ke_store, st_begin), 0, "BEGIN IMMEDIATE"},
        {offsetof(ke_store, st_commit), 0, "COMMIT"},
        {offsetof(ke_store, st_savepoint), 0, "SAVEPOINT r"},
        {offsetof(ke_store, st_release), 0, "RELEASE r"},
        {offsetof(ke_store, st_rollback_to), 0, "ROLLBACK TO r"},
        {offsetof(ke_store, st_get), 1, "SELECT " PIPE_COLS " FROM pipelines WHERE id = ?"},
        {offsetof(ke_store, st_history_r), 1, KE_STORE_HISTORY_SQL},
    };
    size_t i;
    int rc = KE_OK;

    for (i = 0; rc == KE_OK && i < sizeof stmts / sizeof stmts[0]; i++)
        rc = prepare_on(s, stmts[i].reader ? s->rdb : s->wdb,
                        (sqlite3_stmt **)((char *)s + stmts[i].at), stmts[i].sql, err);
    return rc;
}

/* Runs a PRAGMA that answers one text row; out receives it (truncated to cap). */
static int pragma_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int step = SQLITE_ERROR;

    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK)
        step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return step == SQLITE_ROW ? KE_OK : KE_ESTORE;
}

static int open_db(ke_store *s, const ke_store_options *o, sqlite3 **db, ke_error *err)
{
    char mode[16], sql[64];

    if (sqlite3_open_v2(s->path, db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        s->vfs) != SQLITE_OK)
        return ke_store_db_error(err, *db, s->path, "cannot open");
    sqlite3_extended_result_codes(*db, 1);
    sqlite3_busy_timeout(*db, 10000);
    if (pragma_text(*db, "PRAGMA journal_mode = WAL", mode, sizeof mode) != KE_OK)
        return ke_store_db_error(err, *db, s->path, "cannot set WAL mode");
    if (strcmp(mode, "wal") != 0)
        return ke_error_set(err, KE_ESTORE, "store \"%s\": cannot set WAL mode (journal mode %s)",
                            s->path, mode);
    if (ke_store_exec(*db, "PRAGMA synchronous = FULL") != KE_OK)
        return ke_store_db_error(err, *db, s->path, "cannot set synchronous = FULL");
    /* A large transaction grows the WAL; cut it back after the checkpoint, or the disk keeps
     * the high-water mark next to the database (and its size cap) for good. */
    snprintf(sql, sizeof sql, "PRAGMA journal_size_limit = %d", KE_STORE_WAL_LIMIT);
    if (ke_store_exec(*db, sql) != KE_OK)
        return ke_store_db_error(err, *db, s->path, "journal_size_limit");
    if (pragma_text(*db, "PRAGMA page_size", mode, sizeof mode) != KE_OK)
        return ke_store_db_error(err, *db, s->path, "page_size");
    s->page_size = atoll(mode);
    if (o != NULL && o->wal_autocheckpoint > 0) {
        snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint = %d", o->wal_autocheckpoint);
        if (ke_store_exec(*db, sql) != KE_OK)
            return ke_store_db_error(err, *db, s->path, "wal_autocheckpoint");
    }
    if (o != NULL && o->cache_pages > 0) {
        snprintf(sql, sizeof sql, "PRAGMA cache_size = %d", o->cache_pages);
        if (ke_store_exec(*db, sql) != KE_OK)
            return ke_store_db_error(err, *db, s->path, "cache_size");
    }
    return KE_OK;
}

void ke_store_set_max_bytes(ke_store *s, long long max_bytes)
{
    atomic_store(&s->max_bytes, max_bytes > 0 ? max_bytes : 0);
}

int ke_store_open(const char *data_dir, ke_store **out, ke_error *err)
{
    return ke_store_open_with(data_dir, NULL, out, err);
}

int ke_store_open_with(const char *data_dir, const ke_store_options *o, ke_store **out,
                       ke_error *err)
{
    ke_store *s = calloc(1, sizeof *s);
    char tmpl[] = "/tmp/ke-store-XXXXXX";
    int rc = KE_OK;

    *out = NULL;
    if (s == NULL)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    s->lock_fd = -1;
    atomic_init(&s->max_bytes, 0);
    pthread_mutex_init(&s->rlock, NULL);
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    pthread_cond_init(&s->donecond, NULL);
    pthread_mutex_init(&s->alock, NULL);
    pthread_cond_init(&s->acond, NULL);
    if (o != NULL && o->vfs != NULL && (s->vfs = strdup(o->vfs)) == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "store: out of memory");
        goto out;
    }
    if (data_dir == NULL) {
        if (mkdtemp(tmpl) == NULL) {
            rc = ke_error_set(err, KE_ESTORE, "store: cannot make a temporary directory: %s",
                              strerror(errno));
            goto out;
        }
        s->tmpdir = strdup(tmpl);
        data_dir = tmpl;
    }
    if (asprintf(&s->path, "%s/%s", data_dir, KE_STORE_DB_FILE) < 0) {
        s->path = NULL;
        rc = ke_error_set(err, KE_ENOMEM, "store: out of memory");
        goto out;
    }
    rc = ke_store_dir_open(s, data_dir, err);
    if (rc == KE_OK)
        rc = open_db(s, o, &s->wdb, err);
    /* The writer's requests run in savepoints, which keep the pages they change in a statement
     * journal: in memory, not written to a temporary file (a request is at most a few MiB).
     * Readers keep the default: a large sort may still spill to a file. */
    if (rc == KE_OK && ke_store_exec(s->wdb, "PRAGMA temp_store = MEMORY") != KE_OK)
        rc = ke_store_db_error(err, s->wdb, s->path, "temp_store");
    if (rc == KE_OK)
        rc = migrate(s, err);
    if (rc == KE_OK)
        rc = open_db(s, o, &s->rdb, err);
    if (rc == KE_OK)
        ke_store_dir_tighten(s);
    if (rc == KE_OK)
        rc = prepare_all(s, err);
    if (rc == KE_OK)
        rc = ke_store_writer_start(s, err);
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
    static const char *const files[] = {KE_STORE_DB_FILE, KE_STORE_DB_FILE "-wal",
                                        KE_STORE_DB_FILE "-shm", KE_STORE_LOCK_FILE};
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
    ke_store_writer_stop(s);
    ke_store_lookups_close(s);
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
    sqlite3_finalize(s->st_page_count);
    sqlite3_finalize(s->st_ident);
    sqlite3_finalize(s->st_begin);
    sqlite3_finalize(s->st_commit);
    sqlite3_finalize(s->st_savepoint);
    sqlite3_finalize(s->st_release);
    sqlite3_finalize(s->st_rollback_to);
    ke_store_changes_free(s);
    sqlite3_finalize(s->st_get);
    sqlite3_finalize(s->st_history_r);
    sqlite3_close(s->rdb);
    sqlite3_close(s->wdb);
    ke_store_dir_close(s);
    if (s->tmpdir != NULL)
        remove_tmpdir(s->tmpdir);
    free(s->tmpdir);
    free(s->path);
    free(s->vfs);
    pthread_cond_destroy(&s->donecond);
    pthread_cond_destroy(&s->acond);
    pthread_mutex_destroy(&s->alock);
    pthread_cond_destroy(&s->qcond);
    pthread_mutex_destroy(&s->qlock);
    pthread_mutex_destroy(&s->rlock);
    free(s);
}
