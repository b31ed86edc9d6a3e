/* store_prune.c -- the store's side of retention: selecting ended pipelines older than a
 * cut-off (readers' connection) and removing their records and event keys (a writer request). */
#include "store_prune.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* Final statuses older than ?1 past the cursor (?2, ?3), oldest first, from the partial index
 * status_ended (CROSS JOIN keeps status the outer loop, so the index gives the order). The
 * last column says whether the pipeline may go as far as this row can tell: its state is
 * final, this status is its last, and it is not the newest record. */
#define SELECT_SQL                                                                                 \
    "SELECT s.changed_at, s.pipeline, p.id, s.log_path,"                                           \
    " p.state IN (4, 5, 6) AND s.pipeline < (SELECT max(seq) FROM pipelines)"                      \
    " AND NOT EXISTS (SELECT 1 FROM status AS l WHERE l.pipeline = s.pipeline AND l.n > s.n)"      \
    " FROM status AS s INDEXED BY status_ended CROSS JOIN pipelines AS p ON p.seq = s.pipeline"    \
    " WHERE s.state IN (4, 5, 6) AND s.changed_at < ?1 AND (s.changed_at, s.pipeline) > (?2, ?3)"  \
    " ORDER BY s.changed_at, s.pipeline LIMIT ?4"

/* The children of pipeline ?1 (index pipelines_parent). */
#define CHILDREN_SQL "SELECT id FROM pipelines WHERE parent = ?1"

/* The parent with id ?1, its last status's log path, and whether it may go (final state, its
 * last status before ?2, not the newest record). */
#define PARENT_SQL                                                                                 \
    "SELECT p.seq, p.id, l.log_path, p.state IN (4, 5, 6) AND l.changed_at < ?2"                   \
    " AND p.seq < (SELECT max(seq) FROM pipelines)"                                                \
    " FROM pipelines AS p JOIN status AS l ON l.pipeline = p.seq WHERE p.id = ?1"                  \
    " ORDER BY l.n DESC LIMIT 1"

/* The parent's id of pipeline ?1, or NULL. */
#define PARENT_OF_SQL "SELECT parent FROM pipelines WHERE seq = ?1"

/* The writer's check: the row at ?1 still has id ?3, a final state, no children, a last status
 * before ?2, and is not the newest record. */
#define CHECK_SQL                                                                                  \
    "SELECT p.id = ?3 AND p.state IN (4, 5, 6) AND p.seq < (SELECT max(seq) FROM pipelines)"       \
    " AND NOT EXISTS (SELECT 1 FROM pipelines AS c WHERE c.parent = p.id)"                         \
    " AND (SELECT changed_at FROM status WHERE pipeline = p.seq ORDER BY n DESC LIMIT 1) < ?2"     \
    " FROM pipelines AS p WHERE p.seq = ?1"

/* The key whose range of pipelines may hold seq ?1 (the nearest first_seq at or below it). */
#define FIND_KEY_SQL                                                                               \
    "SELECT source, id, first_seq, count FROM events INDEXED BY events_first"                      \
    " WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1"

#define ANY_LEFT_SQL "SELECT 1 FROM pipelines WHERE seq >= ?1 AND seq < ?2 LIMIT 1"

/* Up to ?2 keys that started nothing, received before ?1, oldest first (events_unmatched). */
#define DEL_UNMATCHED_SQL                                                                          \
    "DELETE FROM events WHERE (source, id) IN (SELECT source, id FROM events"                      \
    " INDEXED BY events_unmatched WHERE count = 0 AND received_at < ?1"                            \
    " ORDER BY received_at LIMIT ?2)"

/* A prune request's input and result. */
typedef struct ke_prune_req {
    int64_t cutoff_us;          /* removable only when last changed before this */
    const ke_prune_item *items; /* the caller's selection, children first */
    size_t n;                   /* how many */
    size_t max_events;          /* unmatched keys to remove at most */
    ke_prune_counts counts;     /* what was removed */
} ke_prune_req;

void ke_prune_items_free(ke_prune_item *items, size_t n)
{
    size_t i;

    for (i = 0; items != NULL && i < n; i++)
        free(items[i].log_path);
    free(items);
}

/* ---- selection (readers' connection, under rlock) */

/* The selection being built. */
typedef struct pick {
    ke_prune_item *items; /* selected so far, children first */
    size_t n;             /* how many */
    size_t max;           /* at most */
} pick;

static int picked_seq(const pick *k, long long seq)
{
    size_t i;

    for (i = 0; i < k->n; i++)
        if (k->items[i].seq == seq)
            return 1;
    return 0;
}

static int picked_id(const pick *k, const char *id)
{
    size_t i;

    for (i = 0; i < k->n; i++)
        if (strcmp(k->items[i].id, id) == 0)
            return 1;
    return 0;
}

/* Adds (seq, id, log_path) to the selection. */
static int add(pick *k, long long seq, const unsigned char *id, const unsigned char *log_path)
{
    ke_prune_item *it = &k->items[k->n];

    if (id == NULL || strlen((const char *)id) > KE_ID_LEN)
        return KE_OK; /* not one of ours: leave it alone */
    memset(it, 0, sizeof *it);
    it->seq = seq;
    strcpy(it->id, (const char *)id);
    if (log_path != NULL && (it->log_path = strdup((const char *)log_path)) == NULL)
        return KE_ENOMEM;
    k->n++;
    return KE_OK;
}

/* *ok = 1 when every child of pipeline id is selected already (or it has none). */
static int children_picked(sqlite3_stmt *q, const pick *k, const char *id, int *ok)
{
    int step;

    *ok = 1;
    ke_store_bind_text(q, 1, id);
    while ((step = sqlite3_step(q)) == SQLITE_ROW)
        if (!picked_id(k, (const char *)sqlite3_column_text(q, 0)))
            *ok = 0;
    sqlite3_reset(q);
    return step == SQLITE_DONE ? KE_OK : KE_ESTORE;
}

/* The selection's statements (readers' connection). */
typedef struct sel_stmts {
    sqlite3_stmt *scan, *kids, *parent_of, *parent;
} sel_stmts;

/* After pipeline seq was selected: selects its parent, and its parent's, as long as each may go
 * and all its children are selected. */
static int walk_up(sel_stmts *q, pick *k, long long seq, int64_t cutoff_us)
{
    char parent[KE_ID_LEN + 1];
    const unsigned char *t;
    int rc = KE_OK, ok, step;

    while (rc == KE_OK && k->n < k->max) {
        sqlite3_bind_int64(q->parent_of, 1, seq);
        step = sqlite3_step(q->parent_of);
        t = step == SQLITE_ROW ? sqlite3_column_text(q->parent_of, 0) : NULL;
        ok = t != NULL && strlen((const char *)t) <= KE_ID_LEN;
        if (ok)
            strcpy(parent, (const char *)t);
        sqlite3_reset(q->parent_of);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            return KE_ESTORE;
        if (!ok)
            break;
        ke_store_bind_text(q->parent, 1, parent);
        sqlite3_bind_int64(q->parent, 2, cutoff_us);
        step = sqlite3_step(q->parent);
        if (step == SQLITE_ROW && sqlite3_column_int(q->parent, 3) &&
            !picked_seq(k, sqlite3_column_int64(q->parent, 0))) {
            rc = children_picked(q->kids, k, parent, &ok);
            seq = sqlite3_column_int64(q->parent, 0);
            if (rc == KE_OK && ok)
                rc = add(k, seq, sqlite3_column_text(q->parent, 1),
                         sqlite3_column_text(q->parent, 2));
        } else {
            ok = 0;
            if (step != SQLITE_ROW && step != SQLITE_DONE)
                rc = KE_ESTORE;
        }
        sqlite3_reset(q->parent);
        if (!ok)
            break;
    }
    return rc;
}

/* One step of the cursor over status_ended: looks at up to limit final statuses. */
static int scan(sel_stmts *sq, pick *k, int64_t cutoff_us, ke_prune_cursor *cur, size_t limit)
{
    sqlite3_stmt *q = sq->scan;
    size_t seen = 0;
    long long seq;
    int rc = KE_OK, step = SQLITE_DONE, ok;

    sqlite3_bind_int64(q, 1, cutoff_us);
    sqlite3_bind_int64(q, 2, cur->changed_at);
    sqlite3_bind_int64(q, 3, cur->seq);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)limit);
    while (rc == KE_OK && k->n < k->max && (step = sqlite3_step(q)) == SQLITE_ROW) {
        seen++;
        cur->changed_at = sqlite3_column_int64(q, 0);
        cur->seq = seq = sqlite3_column_int64(q, 1);
        if (!sqlite3_column_int(q, 4) || picked_seq(k, seq))
            continue;
        rc = children_picked(sq->kids, k, (const char *)sqlite3_column_text(q, 2), &ok);
        if (rc == KE_OK && ok)
            rc = add(k, seq, sqlite3_column_text(q, 2), sqlite3_column_text(q, 3));
        if (rc == KE_OK && ok)
            rc = walk_up(sq, k, seq, cutoff_us);
    }
    if (rc == KE_OK && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = KE_ESTORE;
    if (rc == KE_OK && step == SQLITE_DONE && seen < limit)
        cur->done = 1;
    sqlite3_reset(q);
    return rc;
}

/* Prepares the selection's statements and scans, in one read transaction (the rows the
 * walk-up reads agree with the scan's). */
static int select_locked(sqlite3 *db, pick *k, int64_t cutoff_us, ke_prune_cursor *cur)
{
    sel_stmts q = {NULL, NULL, NULL, NULL};
    int rc = KE_ESTORE;

    if (sqlite3_prepare_v2(db, SELECT_SQL, -1, &q.scan, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, CHILDREN_SQL, -1, &q.kids, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, PARENT_OF_SQL, -1, &q.parent_of, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, PARENT_SQL, -1, &q.parent, NULL) == SQLITE_OK &&
        ke_store_exec(db, "BEGIN") == KE_OK)
        rc = scan(&q, k, cutoff_us, cur, KE_PRUNE_SCAN_FACTOR * k->max);
    sqlite3_finalize(q.scan);
    sqlite3_finalize(q.kids);
    sqlite3_finalize(q.parent_of);
    sqlite3_finalize(q.parent);
    return rc;
}

int ke_store_prune_select(ke_store *s, int64_t cutoff_us, ke_prune_cursor *cur, size_t max,
                          ke_prune_item **out, size_t *n, ke_error *err)
{
    pick k = {NULL, 0, max};
    int rc;

    *out = NULL;
    *n = 0;
    if (max == 0 || max > KE_PRUNE_MAX_BATCH)
        return ke_error_set(err, KE_EINVAL, "prune: batch of %zu: must be 1 to %d", max,
                            KE_PRUNE_MAX_BATCH);
    if (cur->done)
        return KE_OK;
    k.items = calloc(max, sizeof *k.items);
    if (k.items == NULL)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    pthread_mutex_lock(&s->rlock);
    rc = select_locked(s->rdb, &k, cutoff_us, cur);
    if (rc == KE_ESTORE)
        ke_store_db_error(err, s->rdb, s->path, "selecting old pipelines");
    else if (rc == KE_ENOMEM)
        ke_error_set(err, KE_ENOMEM, "store: out of memory");
    if (!sqlite3_get_autocommit(s->rdb))
        ke_store_exec(s->rdb, "COMMIT");
    pthread_mutex_unlock(&s->rlock);
    if (rc != KE_OK || k.n == 0) {
        ke_prune_items_free(k.items, k.n);
        return rc;
    }
    *out = k.items;
    *n = k.n;
    return KE_OK;
}

/* ---- removal (writer) */

/* The writer's statements of one request. */
typedef struct prune_stmts {
    sqlite3_stmt *check, *del_status, *del_pipe, *find_key, *any_left, *del_key, *del_unmatched;
} prune_stmts;

static int prepare_stmts(sqlite3 *db, prune_stmts *p)
{
    static const char *const sql[] = {CHECK_SQL,
                                      "DELETE FROM status WHERE pipeline = ?1",
                                      "DELETE FROM pipelines WHERE seq = ?1",
                                      FIND_KEY_SQL,
                                      ANY_LEFT_SQL,
                                      "DELETE FROM events WHERE source = ?1 AND id = ?2",
                                      DEL_UNMATCHED_SQL};
    sqlite3_stmt **at[] = {&p->check,    &p->del_status, &p->del_pipe,     &p->find_key,
                           &p->any_left, &p->del_key,    &p->del_unmatched};
    size_t i;

    memset(p, 0, sizeof *p);
    for (i = 0; i < sizeof sql / sizeof sql[0]; i++)
        if (sqlite3_prepare_v2(db, sql[i], -1, at[i], NULL) != SQLITE_OK)
            return KE_ESTORE;
    return KE_OK;
}

static void finalize_stmts(prune_stmts *p)
{
    sqlite3_finalize(p->check);
    sqlite3_finalize(p->del_status);
    sqlite3_finalize(p->del_pipe);
    sqlite3_finalize(p->find_key);
    sqlite3_finalize(p->any_left);
    sqlite3_finalize(p->del_key);
    sqlite3_finalize(p->del_unmatched);
}

static int step_reset(sqlite3_stmt *q)
{
    int step = sqlite3_step(q);

    sqlite3_reset(q);
    return step == SQLITE_DONE || step == SQLITE_ROW ? KE_OK : KE_ESTORE;
}

/* After the pipeline at seq is gone: removes the key that started it once none of its
 * pipelines is left; *removed is set to 1 when it did. */
static int drop_key(prune_stmts *p, long long seq, int *removed)
{
    sqlite3_stmt *q = p->find_key;
    long long first, count;
    int step, rc = KE_OK;

    *removed = 0;
    sqlite3_bind_int64(q, 1, seq);
    step = sqlite3_step(q);
    if (step != SQLITE_ROW) {
        sqlite3_reset(q);
        return step == SQLITE_DONE ? KE_OK : KE_ESTORE;
    }
    first = sqlite3_column_int64(q, 2);
    count = sqlite3_column_int64(q, 3);
    if (seq >= first + count) { /* a CreatePipeline record: no key started it */
        sqlite3_reset(q);
        return KE_OK;
    }
    sqlite3_bind_int64(p->any_left, 1, first);
    sqlite3_bind_int64(p->any_left, 2, first + count);
    step = sqlite3_step(p->any_left);
    sqlite3_reset(p->any_left);
    if (step == SQLITE_DONE) {
        sqlite3_bind_value(p->del_key, 1, sqlite3_column_value(q, 0));
        sqlite3_bind_value(p->del_key, 2, sqlite3_column_value(q, 1));
        rc = step_reset(p->del_key);
        *removed = rc == KE_OK;
    } else if (step != SQLITE_ROW) {
        rc = KE_ESTORE;
    }
    sqlite3_reset(q);
    return rc;
}

/* Removes one selected pipeline when it may still go; counts it. */
static int prune_one(prune_stmts *p, const ke_prune_req *pr, const ke_prune_item *it,
                     ke_prune_counts *c)
{
    int step, removed;

    sqlite3_bind_int64(p->check, 1, it->seq);
    sqlite3_bind_int64(p->check, 2, pr->cutoff_us);
    ke_store_bind_text(p->check, 3, it->id);
    step = sqlite3_step(p->check);
    removed = step == SQLITE_ROW && sqlite3_column_int(p->check, 0);
    sqlite3_reset(p->check);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return KE_ESTORE;
    if (!removed)
        return KE_OK;
    sqlite3_bind_int64(p->del_status, 1, it->seq);
    sqlite3_bind_int64(p->del_pipe, 1, it->seq);
    if (step_reset(p->del_status) != KE_OK || step_reset(p->del_pipe) != KE_OK)
        return KE_ESTORE;
    c->pipelines++;
    if (drop_key(p, it->seq, &removed) != KE_OK)
        return KE_ESTORE;
    c->events += (size_t)removed;
    return KE_OK;
}

int ke_store_do_prune(ke_store *s, ke_req *r)
{
    ke_prune_req *pr = r->prune;
    ke_prune_counts c = {0, 0, 0};
    prune_stmts p;
    size_t i;
    int rc = prepare_stmts(s->wdb, &p);

    for (i = 0; rc == KE_OK && i < pr->n; i++)
        rc = prune_one(&p, pr, &pr->items[i], &c);
    if (rc == KE_OK && pr->max_events > 0) {
        sqlite3_bind_int64(p.del_unmatched, 1, pr->cutoff_us);
        sqlite3_bind_int64(p.del_unmatched, 2, (sqlite3_int64)pr->max_events);
        rc = step_reset(p.del_unmatched);
        if (rc == KE_OK)
            c.unmatched = (size_t)sqlite3_changes(s->wdb);
        c.events += c.unmatched;
    }
    finalize_stmts(&p);
    pr->counts = rc == KE_OK ? c : (ke_prune_counts){0, 0, 0};
    return rc;
}

int ke_store_prune(ke_store *s, int64_t cutoff_us, const ke_prune_item *items, size_t n,
                   size_t max_events, ke_prune_counts *counts, ke_error *err)
{
    ke_prune_req pr;
    ke_req r;
    int rc;

    memset(counts, 0, sizeof *counts);
    if (n > KE_PRUNE_MAX_BATCH || max_events > KE_PRUNE_MAX_BATCH)
        return ke_error_set(err, KE_EINVAL, "prune: %zu pipelines and %zu keys: at most %d each", n,
                            max_events, KE_PRUNE_MAX_BATCH);
    if (n == 0 && max_events == 0)
        return KE_OK;
    memset(&pr, 0, sizeof pr);
    pr.cutoff_us = cutoff_us;
    pr.items = items;
    pr.n = n;
    pr.max_events = max_events;
    memset(&r, 0, sizeof r);
    r.kind = KE_REQ_PRUNE;
    r.prune = &pr;
    rc = ke_store_run_sync(s, &r, err);
    if (rc == KE_OK)
        *counts = pr.counts;
    return rc;
}
