/* store_stats.c -- what GetStats reads from the store: runs ended per bucket of time (the
 * partial index status_ended) and the pipelines STAGED, READY and STARTED now, in one snapshot
 * of the readers' connection. */
#include <string.h>

#include "store_internal.h"

/* Final statuses by bucket: ?1 the first bucket's start, ?2 the width, ?3 the end (all
 * microseconds, changed_at's unit). `state IN (4, 5, 6)` is status_ended's own condition,
 * which lets SQLite use that partial index for the changed_at range. */
#define ENDED_SQL                                                                                  \
    "SELECT (changed_at - ?1) / ?2, state, count(*) FROM status"                                   \
    " WHERE state IN (4, 5, 6) AND changed_at >= ?1 AND changed_at < ?3"                           \
    " GROUP BY 1, 2"

/* The pipelines that have not ended, by state: a range of the index pipelines_state per
 * state (the pipelines' current state is a column of their row). */
#define NOW_SQL "SELECT state, count(*) FROM pipelines WHERE state IN (1, 2, 3) GROUP BY state"

/* Adds the rows of ENDED_SQL to a->ended. Caller holds rlock. */
static int read_ended(ke_store *s, ke_store_activity *a)
{
    sqlite3_stmt *st = NULL;
    sqlite3_int64 b, count;
    int step, state;

    if (sqlite3_prepare_v2(s->rdb, ENDED_SQL, -1, &st, NULL) != SQLITE_OK)
        return KE_ESTORE;
    sqlite3_bind_int64(st, 1, a->from_us);
    sqlite3_bind_int64(st, 2, a->step_us);
    sqlite3_bind_int64(st, 3, a->from_us + (int64_t)a->n * a->step_us);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        b = sqlite3_column_int64(st, 0);
        state = sqlite3_column_int(st, 1);
        count = sqlite3_column_int64(st, 2);
        if (b < 0 || (size_t)b >= a->n) /* the range above keeps b inside */
            continue;
        if (state == KE_STATE_SUCCESS)
            a->ended[b].success += count;
        else if (state == KE_STATE_FAILURE)
            a->ended[b].failure += count;
        else
            a->ended[b].aborted += count;
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? KE_OK : KE_ESTORE;
}

/* Reads the STAGED, READY and STARTED counts into a. Caller holds rlock. */
static int read_now(ke_store *s, ke_store_activity *a)
{
    sqlite3_stmt *st = NULL;
    sqlite3_int64 count;
    int step, state;

    if (sqlite3_prepare_v2(s->rdb, NOW_SQL, -1, &st, NULL) != SQLITE_OK)
        return KE_ESTORE;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        state = sqlite3_column_int(st, 0);
        count = sqlite3_column_int64(st, 1);
        if (state == KE_STATE_STAGED)
            a->staged = count;
        else if (state == KE_STATE_READY)
            a->ready = count;
        else
            a->started = count;
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? KE_OK : KE_ESTORE;
}

int ke_store_activity_read(ke_store *s, ke_store_activity *a, ke_error *err)
{
    int rc;

    memset(a->ended, 0, a->n * sizeof *a->ended);
    a->staged = a->ready = a->started = 0;
    if (a->step_us <= 0)
        return ke_error_set(err, KE_EINVAL, "stats: the bucket width must be positive");
    pthread_mutex_lock(&s->rlock);
    /* One read transaction: a run that ends between the two reads is counted either STARTED
     * or ended, never both or neither. */
    rc = ke_store_exec(s->rdb, "BEGIN");
    if (rc == KE_OK)
        rc = read_ended(s, a);
    if (rc == KE_OK)
        rc = read_now(s, a);
    if (rc != KE_OK)
        rc = ke_store_db_error(err, s->rdb, s->path, "stats");
    if (sqlite3_get_autocommit(s->rdb) == 0 && ke_store_exec(s->rdb, "COMMIT") != KE_OK)
        ke_store_exec(s->rdb, "ROLLBACK"); /* a read: nothing to lose */
    pthread_mutex_unlock(&s->rlock);
    if (rc != KE_OK) {
        memset(a->ended, 0, a->n * sizeof *a->ended);
        a->staged = a->ready = a->started = 0;
    }
    return rc;
}
