/* store_remote.c -- the store's side of forwarding to kedro-graphql: taking READY rows to
 * forward, recording what kedro-graphql answered, and listing the forwarded runs to mirror
 * (docs/kedro-graphql.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define FIRST_ALLOC 64 /* entries a result array starts with; it doubles as rows come */

/* An update's target: the row, its state and its remote id. */
#define APPLY_FIND_SQL "SELECT seq, state, remote_id IS NOT NULL FROM pipelines WHERE id = ?"

/* The hand-over: kedro-graphql's id, forwarded, and the tag our answers show it by. */
#define APPLY_REMOTE_SQL                                                                           \
    "UPDATE pipelines SET forward = 2, remote_id = ?2,"                                            \
    " tags = json_insert(tags, '$[#]', json_array('kedro_graphql_id', ?2)) WHERE seq = ?1"

#define APPLY_JSON_SQL "UPDATE pipelines SET remote_json = ?2 WHERE seq = ?1"

/* Grows *arr (of *cap entries of size each) to hold one more than used, zeroing the new
 * entries. Returns KE_OK or KE_ENOMEM (*arr untouched). */
static int grow(void **arr, size_t *cap, size_t used, size_t size)
{
    size_t ncap = *cap == 0 ? FIRST_ALLOC : *cap * 2;
    char *p;

    if (used < *cap)
        return KE_OK;
    if (ncap > SIZE_MAX / size)
        return KE_ENOMEM;
    p = realloc(*arr, ncap * size);
    if (p == NULL)
        return KE_ENOMEM;
    memset(p + *cap * size, 0, (ncap - *cap) * size);
    *arr = p;
    *cap = ncap;
    return KE_OK;
}

static sqlite3_int64 limit_of(size_t max)
{
    return max > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)max;
}

/* ---- take (writer) */

/* Copies the row at seq (with its history) into *p. */
static int load_seq(ke_store *s, sqlite3_int64 seq, ke_pipeline *p)
{
    sqlite3_stmt *q = s->st_by_seq;
    ke_pipeline *ps = NULL;
    size_t n = 0;
    int rc;

    sqlite3_bind_int64(q, 1, seq);
    rc = ke_store_load_rows(s->st_history_w, q, 1, &ps, &n, NULL);
    sqlite3_reset(q);
    if (rc == KE_OK && n == 1)
        *p = ps[0];
    else if (rc == KE_OK)
        rc = KE_ESTORE; /* the row we just selected is gone: cannot be */
    free(ps);
    return rc;
}

/* Selects the rows to forward into r->items (seq, attempted, parent_remote_id). */
static int select_take(ke_store *s, ke_req *r, size_t *cap)
{
    sqlite3_stmt *q = NULL;
    ke_forward_item *it;
    const unsigned char *parent;
    int rc = KE_OK, step = SQLITE_DONE;

    if (sqlite3_prepare_v2(s->wdb, KE_STORE_TAKE_SQL, -1, &q, NULL) != SQLITE_OK)
        return KE_ESTORE;
    sqlite3_bind_int64(q, 1, r->after_seq);
    sqlite3_bind_int64(q, 2, limit_of(r->max));
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        rc = grow((void **)&r->items, cap, r->count, sizeof *r->items);
        if (rc != KE_OK)
            break;
        it = &r->items[r->count++];
        it->seq = sqlite3_column_int64(q, 0);
        it->attempted = sqlite3_column_int(q, 1) != 0;
        parent = sqlite3_column_text(q, 2);
        if (parent != NULL && (it->parent_remote_id = strdup((const char *)parent)) == NULL) {
            rc = KE_ENOMEM;
            break;
        }
    }
    sqlite3_finalize(q);
    if (rc == KE_OK && step != SQLITE_DONE)
        rc = KE_ESTORE;
    return rc;
}

int ke_store_do_take(ke_store *s, ke_req *r)
{
    sqlite3_stmt *mark = NULL;
    size_t cap = 0, i;
    int rc;

    rc = select_take(s, r, &cap);
    for (i = 0; rc == KE_OK && i < r->count; i++)
        rc = load_seq(s, r->items[i].seq, &r->items[i].p);
    if (rc == KE_OK && sqlite3_prepare_v2(s->wdb, "UPDATE pipelines SET forward = 1 WHERE seq = ?",
                                          -1, &mark, NULL) != SQLITE_OK)
        rc = KE_ESTORE;
    /* Marked before anything is sent: after a crash, the next take looks them up. */
    for (i = 0; rc == KE_OK && i < r->count; i++) {
        if (r->items[i].attempted)
            continue;
        sqlite3_bind_int64(mark, 1, r->items[i].seq);
        rc = sqlite3_step(mark) == SQLITE_DONE ? KE_OK : KE_ESTORE;
        sqlite3_reset(mark);
    }
    sqlite3_finalize(mark);
    return rc;
}

int ke_store_take_forward(ke_store *s, long long after_seq, size_t max, ke_forward_item **out,
                          size_t *n, ke_error *err)
{
    ke_req r;
    int rc;

    *out = NULL;
    *n = 0;
    if (max == 0)
        return KE_OK;
    memset(&r, 0, sizeof r);
    r.kind = KE_REQ_TAKE;
    r.after_seq = after_seq;
    r.max = max;
    rc = ke_store_run_sync(s, &r, err);
    if (rc != KE_OK) {
        ke_forward_items_free(r.items, r.count);
        return rc;
    }
    if (r.count == 0) {
        free(r.items);
        return KE_OK;
    }
    *out = r.items;
    *n = r.count;
    return KE_OK;
}

void ke_forward_items_free(ke_forward_item *items, size_t n)
{
    size_t i;

    if (items == NULL)
        return;
    for (i = 0; i < n; i++) {
        ke_pipeline_release(&items[i].p);
        free(items[i].parent_remote_id);
    }
    free(items);
}

/* ---- apply (writer) */

/* The statements one APPLY request uses, prepared for it. */
typedef struct apply_stmts {
    sqlite3_stmt *find;   /* APPLY_FIND_SQL */
    sqlite3_stmt *remote; /* APPLY_REMOTE_SQL */
    sqlite3_stmt *json;   /* APPLY_JSON_SQL */
} apply_stmts;

/* Steps q (bound: ?1 seq, ?2 text) once. */
static int step_seq_text(sqlite3_stmt *q, sqlite3_int64 seq, const char *text)
{
    int rc;

    if (sqlite3_bind_int64(q, 1, seq) != SQLITE_OK || ke_store_bind_text(q, 2, text) != SQLITE_OK)
        rc = KE_ESTORE; /* e.g. a value past SQLite's length limit: never stored as NULL */
    else
        rc = sqlite3_step(q) == SQLITE_DONE ? KE_OK : KE_ESTORE;
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

/* Applies one update; *found is set when its id names a stored pipeline. */
static int apply_one(ke_store *s, const apply_stmts *a, const ke_remote_update *u, int *found)
{
    sqlite3_int64 seq;
    ke_state cur;
    ke_status st;
    int step, had_remote, recorded = 0, rc = KE_OK;

    *found = 0;
    if (u->id == NULL || ke_store_bind_text(a->find, 1, u->id) != SQLITE_OK) {
        sqlite3_clear_bindings(a->find);
        return u->id == NULL ? KE_OK : KE_ESTORE;
    }
    step = sqlite3_step(a->find);
    seq = sqlite3_column_int64(a->find, 0);
    cur = (ke_state)sqlite3_column_int(a->find, 1);
    had_remote = sqlite3_column_int(a->find, 2);
    sqlite3_reset(a->find);
    sqlite3_clear_bindings(a->find);
    if (step != SQLITE_ROW)
        return step == SQLITE_DONE ? KE_OK : KE_ESTORE;
    *found = 1;
    if (u->remote_id != NULL && !had_remote) {
        rc = step_seq_text(a->remote, seq, u->remote_id);
        recorded = 1;
    }
    if (rc == KE_OK && u->remote_json != NULL)
        rc = step_seq_text(a->json, seq, u->remote_json);
    /* Never past an end, never back (a stale READY after STARTED), never the same state twice
     * -- but the hand-over's READY, which follows the READY the pipeline was stored with. */
    if (rc != KE_OK || u->st.state == KE_STATE_UNSPECIFIED || cur >= KE_STATE_SUCCESS ||
        u->st.state < cur || (u->st.state == cur && !recorded))
        return rc;
    st = u->st;
    if (st.changed_at == 0)
        st.changed_at = ke_now_us();
    return ke_store_append_status(s, seq, &st);
}

int ke_store_do_apply(ke_store *s, ke_req *r)
{
    apply_stmts a = {NULL, NULL, NULL};
    size_t i;
    int rc = KE_OK, found;

    r->count = 0;
    if (sqlite3_prepare_v2(s->wdb, APPLY_FIND_SQL, -1, &a.find, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->wdb, APPLY_REMOTE_SQL, -1, &a.remote, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->wdb, APPLY_JSON_SQL, -1, &a.json, NULL) != SQLITE_OK)
        rc = KE_ESTORE;
    for (i = 0; rc == KE_OK && i < r->n; i++) {
        rc = apply_one(s, &a, &r->upd[i], &found);
        r->count += rc == KE_OK && found;
    }
    sqlite3_finalize(a.json);
    sqlite3_finalize(a.remote);
    sqlite3_finalize(a.find);
    return rc;
}

int ke_store_apply_remote(ke_store *s, const ke_remote_update *u, size_t n, size_t *applied,
                          ke_error *err)
{
    ke_req r;
    int rc;

    if (applied != NULL)
        *applied = 0;
    if (n == 0)
        return KE_OK;
    memset(&r, 0, sizeof r);
    r.kind = KE_REQ_APPLY;
    r.upd = u;
    r.n = n;
    rc = ke_store_run_sync(s, &r, err);
    if (rc == KE_OK && applied != NULL)
        *applied = r.count;
    return rc;
}

/* ---- list (readers) */

int ke_store_list_remote(ke_store *s, long long after_seq, size_t max, ke_remote_ref **out,
                         size_t *n, ke_error *err)
{
    sqlite3_stmt *q = NULL;
    ke_remote_ref *refs = NULL, *ref;
    const unsigned char *t;
    size_t cap = 0, used = 0;
    int rc = KE_OK, step = SQLITE_DONE;

    *out = NULL;
    *n = 0;
    if (max == 0)
        return KE_OK;
    pthread_mutex_lock(&s->rlock);
    if (sqlite3_prepare_v2(s->rdb, KE_STORE_LIST_REMOTE_SQL, -1, &q, NULL) != SQLITE_OK) {
        rc = KE_ESTORE;
        goto out;
    }
    sqlite3_bind_int64(q, 1, after_seq);
    sqlite3_bind_int64(q, 2, limit_of(max));
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        rc = grow((void **)&refs, &cap, used, sizeof *refs);
        if (rc != KE_OK)
            break;
        ref = &refs[used++];
        ref->seq = sqlite3_column_int64(q, 0);
        t = sqlite3_column_text(q, 1);
        snprintf(ref->id, sizeof ref->id, "%s", t != NULL ? (const char *)t : "");
        t = sqlite3_column_text(q, 2);
        ref->state = (ke_state)sqlite3_column_int(q, 3);
        if (t == NULL) { /* apply records forward = 2 with the remote id: a damaged row */
            rc = ke_error_set(err, KE_ESTORE,
                              "store \"%s\": forwarded pipeline %s has no kedro-graphql id",
                              s->path, ref->id);
            break;
        }
        if ((ref->remote_id = strdup((const char *)t)) == NULL) {
            rc = KE_ENOMEM;
            break;
        }
    }
    if (rc == KE_OK && step != SQLITE_DONE)
        rc = KE_ESTORE;
out:
    if (rc == KE_ESTORE) /* after the damaged row's message, this one is not kept */
        ke_store_db_error(err, s->rdb, s->path, "listing forwarded pipelines");
    else if (rc == KE_ENOMEM)
        ke_error_set(err, rc, "store: out of memory");
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->rlock);
    if (rc != KE_OK) {
        ke_remote_refs_free(refs, used);
        return rc;
    }
    if (used == 0)
        free(refs);
    else
        *out = refs;
    *n = used;
    return KE_OK;
}

void ke_remote_refs_free(ke_remote_ref *refs, size_t n)
{
    size_t i;

    if (refs == NULL)
        return;
    for (i = 0; i < n; i++)
        free(refs[i].remote_id);
    free(refs);
}
