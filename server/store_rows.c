/* store_rows.c -- pipeline records to and from the store's rows: JSON columns for parameters
 * and tags, the status history, and SQLite error messages. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kec_json_out.h"
#include "kec_text.h" /* kec_json_parse */
#include "store_internal.h"

/* ---- errors */

/* The OS error behind db's last error, when SQLite keeps one for it (I/O and open errors). */
static int os_errno(sqlite3 *db)
{
    int prim = sqlite3_errcode(db);

    return prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN ? sqlite3_system_errno(db) : 0;
}

int ke_store_db_code(sqlite3 *db)
{
    int ext = sqlite3_extended_errcode(db);

    if (ext == SQLITE_IOERR_NOMEM)
        return KE_ENOMEM;
    switch (ext & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
        return KE_EUNAVAIL;
    case SQLITE_NOMEM:
        return KE_ENOMEM;
    default:
        return KE_ESTORE;
    }
}

/* A full disk shows as SQLITE_FULL, or as an I/O error (a failed fsync, a grown SHM) whose
 * OS error is ENOSPC or EDQUOT. */
static int is_full(sqlite3 *db)
{
    int sys = os_errno(db);

    return sqlite3_errcode(db) == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT;
}

int ke_store_db_error(ke_error *err, sqlite3 *db, const char *path, const char *what)
{
    int code = ke_store_db_code(db), sys = os_errno(db);
    char os[128] = "";

    if (sys != 0)
        snprintf(os, sizeof os, " (%s)", strerror(sys));
    if (code == KE_EUNAVAIL && is_full(db))
        return ke_error_set(err, code, "store: disk full writing %s: %s: %s%s; retry later", path,
                            what, sqlite3_errmsg(db), os);
    if (code == KE_EUNAVAIL)
        return ke_error_set(err, code, "store: cannot use %s: %s: %s%s; retry later", path, what,
                            sqlite3_errmsg(db), os);
    return ke_error_set(err, code, "store \"%s\": %s: %s%s", path, what, sqlite3_errmsg(db), os);
}

/* ---- encoding records */

char *ke_store_lists_json(const ke_pipeline *p, int tags)
{
    size_t n = tags ? p->n_tags : p->n_params, i;
    kec_json_out o = {0};

    KEC_JSON_OUT_LIT(&o, "[");
    for (i = 0; i < n; i++) {
        if (i > 0)
            KEC_JSON_OUT_LIT(&o, ",");
        KEC_JSON_OUT_LIT(&o, "[");
        if (tags) {
            kec_json_out_string(&o, p->tags[i].key);
            KEC_JSON_OUT_LIT(&o, ",");
            kec_json_out_string(&o, p->tags[i].value);
        } else {
            kec_json_out_string(&o, p->params[i].name);
            KEC_JSON_OUT_LIT(&o, ",");
            kec_json_out_string(&o, p->params[i].value);
            KEC_JSON_OUT_LIT(&o, ",");
            kec_json_out_string(&o, p->params[i].type ? p->params[i].type : "");
        }
        KEC_JSON_OUT_LIT(&o, "]");
    }
    KEC_JSON_OUT_LIT(&o, "]");
    return kec_json_out_take(&o, NULL);
}

/* The string at a[i] of a JSON row, or "" when absent. */
static const char *row_str(const cJSON *row, int i)
{
    const cJSON *v = cJSON_GetArrayItem(row, i);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Fills p's parameters and tags from their JSON columns. */
static int decode_lists(ke_pipeline *p, const char *params, const char *tags)
{
    cJSON *a = NULL, *b = NULL;
    const cJSON *row;
    int rc = KE_ESTORE;

    if (params != NULL && tags != NULL &&
        kec_json_parse(params, strlen(params), KEC_JSON_MAX_DEPTH, 0, &a, NULL) == KEC_JSON_OK &&
        kec_json_parse(tags, strlen(tags), KEC_JSON_MAX_DEPTH, 0, &b, NULL) == KEC_JSON_OK)
        rc = KE_OK;

    for (row = a ? a->child : NULL; rc == KE_OK && row != NULL; row = row->next)
        rc = ke_pipeline_add_param(p, row_str(row, 0), row_str(row, 1), row_str(row, 2));
    for (row = b ? b->child : NULL; rc == KE_OK && row != NULL; row = row->next)
        rc = ke_pipeline_add_tag(p, row_str(row, 0), row_str(row, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    return rc;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t == NULL ? NULL : strdup((const char *)t);
}

/* Reads one pipeline row (PIPE_COLS) and its status history (with hs) into *p. */
static int load_row(sqlite3_stmt *hs, sqlite3_stmt *st, ke_pipeline *p)
{
    sqlite3_int64 seq = sqlite3_column_int64(st, 0);
    int rc = KE_OK, step;
    ke_status *grown;

    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", (const char *)sqlite3_column_text(st, 1));
    p->name = col_dup(st, 2);
    p->parent = col_dup(st, 3);
    p->created_at = sqlite3_column_int64(st, 6);
    p->remote_id = col_dup(st, 7);
    p->remote_json = col_dup(st, 8);
    if (p->name == NULL || (p->remote_id == NULL && sqlite3_column_type(st, 7) != SQLITE_NULL) ||
        (p->remote_json == NULL && sqlite3_column_type(st, 8) != SQLITE_NULL) ||
        decode_lists(p, (const char *)sqlite3_column_text(st, 4),
                     (const char *)sqlite3_column_text(st, 5)) != KE_OK)
        rc = KE_ENOMEM;
    if (rc == KE_OK)
        sqlite3_bind_int64(hs, 1, seq);
    while (rc == KE_OK && (step = sqlite3_step(hs)) == SQLITE_ROW) {
        ke_status *s;

        grown = realloc(p->status, (p->n_status + 1) * sizeof *grown);
        if (grown == NULL) {
            rc = KE_ENOMEM;
            break;
        }
        p->status = grown;
        s = &p->status[p->n_status++];
        memset(s, 0, sizeof *s);
        s->state = (ke_state)sqlite3_column_int(hs, 0);
        s->changed_at = sqlite3_column_int64(hs, 1);
        s->started_at = sqlite3_column_int64(hs, 2);
        s->finished_at = sqlite3_column_int64(hs, 3);
        s->runner = col_dup(hs, 4);
        s->has_exit_code = sqlite3_column_type(hs, 5) != SQLITE_NULL;
        s->exit_code = sqlite3_column_int(hs, 5);
        s->signal = sqlite3_column_int(hs, 6);
        s->error = col_dup(hs, 7);
        s->log_path = col_dup(hs, 8);
        s->remote_json = col_dup(hs, 9);
    }
    if (rc == KE_OK && step != SQLITE_DONE)
        rc = KE_ESTORE;
    sqlite3_reset(hs);
    if (rc != KE_OK)
        ke_pipeline_release(p);
    return rc;
}

/* Runs a prepared pipeline query, loading up to max rows into a new array. */
int ke_store_load_rows(sqlite3_stmt *history, sqlite3_stmt *st, size_t max, ke_pipeline **out,
                       size_t *n, sqlite3_int64 *last_seq)
{
    ke_pipeline *ps = calloc(max ? max : 1, sizeof *ps);
    int rc = ps != NULL ? KE_OK : KE_ENOMEM, step = SQLITE_DONE;

    *n = 0;
    while (rc == KE_OK && *n < max && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (last_seq != NULL)
            *last_seq = sqlite3_column_int64(st, 0);
        rc = load_row(history, st, &ps[*n]);
        if (rc == KE_OK)
            ++*n;
    }
    if (rc == KE_OK && *n < max && step != SQLITE_DONE)
        rc = KE_ESTORE;
    if (rc != KE_OK) {
        ke_pipelines_free(ps, *n);
        *n = 0;
        return rc;
    }
    *out = ps;
    return KE_OK;
}

int ke_store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s == NULL ? sqlite3_bind_null(st, i) : sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}
