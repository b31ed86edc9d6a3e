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

int ke_store_list(ke_store *s, const ke_list_query *q, ke_pipeline **out, size_t *n, char **next,
                  ke_error *err)
{
    size_t limit = q->limit;
    sqlite3_stmt *st = NULL;
    sqlite3_int64 below, last = 0;
    int rc;

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
    if (sqlite3_prepare_v2(s->rdb,
                           "SELECT " PIPE_COLS " FROM pipelines WHERE seq < ?1"
                           " AND (?2 IS NULL OR name = ?2) AND (?3 IS NULL OR parent = ?3)"
                           " AND (?4 = 0 OR state = ?4) ORDER BY seq DESC LIMIT ?5",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = ke_store_db_error(err, s->rdb, s->path, "list");
        goto out;
    }
    sqlite3_bind_int64(st, 1, below);
    ke_store_bind_text(st, 2, q->name != NULL && q->name[0] ? q->name : NULL);
    ke_store_bind_text(st, 3, q->parent != NULL && q->parent[0] ? q->parent : NULL);
    sqlite3_bind_int(st, 4, (int)q->state);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)limit + 1); /* one more tells a next page exists */
    rc = ke_store_load_rows(s->st_history_r, st, limit, out, n, &last);
    if (rc == KE_OK && *n == limit && sqlite3_step(st) == SQLITE_ROW &&
        asprintf(next, "m%lld", (long long)last) < 0) {
        *next = NULL;
        rc = KE_ENOMEM;
    }
    if (rc == KE_ESTORE)
        ke_store_db_error(err, s->rdb, s->path, "list");
    else if (rc == KE_ENOMEM)
        ke_error_set(err, rc, "store: out of memory");
out:
    sqlite3_finalize(st);
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
