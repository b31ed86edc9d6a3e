/* store_read.c -- the store's reads (Get, List, counts) on the reader connection, beside the
 * writer thanks to WAL. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int ke_store_get(ke_store *s, const char *id, ke_pipeline *out, ke_error *err)
{
    sqlite3_stmt *q = s->st_get;
    ke_pipeline *ps = NULL;
    size_t n = 0;
    int rc;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->rlock);
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    rc = ke_store_load_rows(s->st_history_r, q, 1, &ps, &n, NULL);
    if (rc == KE_ESTORE)
        ke_store_db_error(err, s->rdb, s->path, "read");
    else if (rc == KE_ENOMEM)
        ke_error_set(err, rc, "store: out of memory");
    else if (n == 0)
        rc = ke_error_set(err, KE_ENOTFOUND, "pipeline \"%.64s\" not found", id);
    else
        *out = ps[0];
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    pthread_mutex_unlock(&s->rlock);
    free(ps);
    return rc;
}

/* Page tokens are "m<seq>": list below that row. */
static int parse_token(const char *tok, sqlite3_int64 *below, ke_error *err)
{
    char *end;
    long long v;

    *below = LLONG_MAX;
    if (tok == NULL || tok[0] == '\0')
        return KE_OK;
    if (tok[0] != 'm' || tok[1] < '1' || tok[1] > '9')
        goto bad;
    errno = 0;
    v = strtoll(tok + 1, &end, 10);
    if (errno != 0 || *end != '\0')
        goto bad;
    *below = v;
    return KE_OK;
bad:
    return ke_error_set(err, KE_EINVAL, "page_token \"%.64s\" was not issued by this server", tok);
}

/* A page of ListPipelines stops once its rows hold this many bytes (estimated from what is
 * stored: parameters and tags as JSON, names, status texts; always at least one row), so an
 * answer stays a few MiB whatever the page size and the size of each run's event. */
#define KE_LIST_MAX_BYTES (4u << 20)

/* The filters every list query shares: ?1 below this seq, ?2 name, ?3 parent, ?4 state. */
#define LIST_WHERE                                                                                 \
    " FROM pipelines WHERE seq < ?1 AND (?2 IS NULL OR name = ?2)"                                 \
    " AND (?3 IS NULL OR parent = ?3) AND (?4 = 0 OR state = ?4)"

/* What a row weighs in an answer, from the stored bytes (without loading them): kedro-graphql's
 * keys of a forwarded run (remote_id, remote_json, each status's remote_json) included. */
#define ROW_BYTES_SQL                                                                              \
    "length(CAST(params AS BLOB)) + length(CAST(tags AS BLOB)) + length(CAST(name AS BLOB))"       \
    " + coalesce(length(CAST(parent AS BLOB)), 0)"                                                 \
    " + coalesce(length(CAST(pipelines.remote_id AS BLOB)), 0)"                                    \
    " + coalesce(length(CAST(pipelines.remote_json AS BLOB)), 0) + 64 + (SELECT coalesce(sum(64"   \
    " + coalesce(length(CAST(runner AS BLOB)), 0) + coalesce(length(CAST(error AS BLOB)), 0)"      \
    " + coalesce(length(CAST(log_path AS BLOB)), 0)"                                               \
    " + coalesce(length(CAST(status.remote_json AS BLOB)), 0)), 0)"                                \
    " FROM status WHERE pipeline = seq)"

/* Binds the filters of q (and below) to ?1..?4 of st. */
static void bind_filters(sqlite3_stmt *st, const ke_list_query *q, sqlite3_int64 below)
{
    sqlite3_bind_int64(st, 1, below);
    ke_store_bind_text(st, 2, q->name != NULL && q->name[0] ? q->name : NULL);
    ke_store_bind_text(st, 3, q->parent != NULL && q->parent[0] ? q->parent : NULL);
    sqlite3_bind_int(st, 4, (int)q->state);
}

/* Sizes the page: of the first limit rows below `below`, how many fit KE_LIST_MAX_BYTES
 * (*fit, at least one when there is a row), the seq of the first (*top) and of the last that
 * fits (*low), and whether rows remain after them (*more). Caller holds rlock. */
static int size_page(ke_store *s, const ke_list_query *q, sqlite3_int64 below, size_t limit,
                     size_t *fit, sqlite3_int64 *top, sqlite3_int64 *low, int *more)
{
    sqlite3_stmt *st = NULL;
    sqlite3_int64 total = 0, bytes;
    int step = SQLITE_DONE;

    *fit = 0;
    *more = 0;
    if (sqlite3_prepare_v2(s->rdb,
                           "SELECT seq, " ROW_BYTES_SQL LIST_WHERE " ORDER BY seq DESC LIMIT ?5",
                           -1, &st, NULL) != SQLITE_OK)
        return KE_ESTORE;
    bind_filters(st, q, below);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)limit + 1); /* one more tells a next page exists */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        bytes = sqlite3_column_int64(st, 1);
        if (*fit == limit || (*fit > 0 && total + bytes > (sqlite3_int64)KE_LIST_MAX_BYTES)) {
            *more = 1;
            break;
        }
        if (*fit == 0)
            *top = sqlite3_column_int64(st, 0);
        *low = sqlite3_column_int64(st, 0);
        total += bytes;
        ++*fit;
    }
    sqlite3_finalize(st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? KE_OK : KE_ESTORE;
}

int ke_store_list(ke_store *s, const ke_list_query *q, ke_pipeline **out, size_t *n, char **next,
                  ke_error *err)
{
    size_t limit = q->limit, fit = 0;
    sqlite3_stmt *st = NULL;
    sqlite3_int64 below, top = 0, low = 0;
    int rc, more = 0, in_txn = 0;

    *out = NULL;
    *n = 0;
    *next = NULL;
    if (limit == 0)
        limit = KE_LIST_DEFAULT_LIMIT;
    if (limit > KE_LIST_MAX_LIMIT)
        limit = KE_LIST_MAX_LIMIT;
    if (parse_token(q->page_token, &below, err) != KE_OK)
        return KE_EINVAL;
    pthread_mutex_lock(&s->rlock);
    /* One read transaction, so sizing and loading see one snapshot: a row whose state changed
     * between them could otherwise join the page and push the last sized row out of it, and
     * the next page's token (below that row) would skip it. */
    if (ke_store_exec(s->rdb, "BEGIN") != KE_OK) {
        rc = KE_ESTORE;
        goto out;
    }
    in_txn = 1;
    rc = size_page(s, q, below, limit, &fit, &top, &low, &more);
    if (rc != KE_OK || fit == 0)
        goto out;
    /* Only the rows sized above (rows added since lie above top). */
    if (sqlite3_prepare_v2(
            s->rdb, "SELECT " PIPE_COLS LIST_WHERE " AND seq >= ?5 ORDER BY seq DESC LIMIT ?6", -1,
            &st, NULL) != SQLITE_OK) {
        rc = KE_ESTORE;
        goto out;
    }
    bind_filters(st, q, top + 1);
    sqlite3_bind_int64(st, 5, low);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)fit);
    rc = ke_store_load_rows(s->st_history_r, st, fit, out, n, NULL);
    if (rc == KE_OK && more && asprintf(next, "m%lld", (long long)low) < 0) {
        *next = NULL;
        rc = KE_ENOMEM;
    }
out:
    if (rc == KE_ESTORE)
        ke_store_db_error(err, s->rdb, s->path, "list");
    else if (rc == KE_ENOMEM)
        ke_error_set(err, rc, "store: out of memory");
    sqlite3_finalize(st);
    if (in_txn && ke_store_exec(s->rdb, "COMMIT") != KE_OK)
        ke_store_exec(s->rdb, "ROLLBACK"); /* a read: nothing to lose */
    pthread_mutex_unlock(&s->rlock);
    if (rc != KE_OK) {
        ke_pipelines_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int ke_store_count(ke_store *s, ke_state state, size_t *n, ke_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = KE_OK;

    *n = 0;
    pthread_mutex_lock(&s->rlock);
    if (sqlite3_prepare_v2(s->rdb, "SELECT count(*) FROM pipelines WHERE state = ?", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = ke_store_db_error(err, s->rdb, s->path, "count");
        goto out;
    }
    sqlite3_bind_int(st, 1, (int)state);
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = (size_t)sqlite3_column_int64(st, 0);
    else
        rc = ke_store_db_error(err, s->rdb, s->path, "count");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rlock);
    return rc;
}
