/* test_store_remote.c -- unit tests of the store's side of forwarding to kedro-graphql: take,
 * apply, list of forwarded runs, the local runner beside them, schema version 2 and its indexes
 * (server/store_remote.c, server/store.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"
#include "store.h"
#include "store_internal.h"

#define KG "kedro-graphql" /* the runner name of forwarded statuses */
#define MAX_POINTS 2000    /* injection points tried per mode at most (the loop ends well before) */

#include "faulty_vfs.h"
#include "store_dirs.h"

/* ---- helpers */

/* Inserts a pipeline named name (child of parent, may be NULL) in state st; its id into id. */
static void insert(ke_store *s, const char *name, const char *parent, ke_state st,
                   char id[KE_ID_LEN + 1])
{
    ke_pipeline p;
    ke_error err;

    assert_int_equal(ke_pipeline_init(&p, name, st), KE_OK);
    if (parent != NULL)
        assert_non_null(p.parent = strdup(parent));
    assert_int_equal(ke_pipeline_add_param(&p, "level", "3", "int"), KE_OK);
    assert_int_equal(ke_pipeline_add_tag(&p, "team", "data"), KE_OK);
    ke_error_clear(&err);
    assert_int_equal(ke_store_insert(s, &p, &err), KE_OK);
    memcpy(id, p.id, KE_ID_LEN + 1);
    ke_pipeline_release(&p);
}

/* Takes up to max rows after after_seq; the count is returned, the items in *out. */
static size_t take(ke_store *s, long long after_seq, size_t max, ke_forward_item **out)
{
    size_t n = 99;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_store_take_forward(s, after_seq, max, out, &n, &err), KE_OK);
    assert_true(n <= max);
    if (n == 0)
        assert_null(*out);
    return n;
}

/* Applies one update (state st, remote_id / json members may be NULL); returns applied. */
static size_t apply1(ke_store *s, const char *id, const char *remote_id, const char *json,
                     ke_state st, const char *st_json)
{
    ke_remote_update u;
    size_t applied = 99;
    ke_error err;

    memset(&u, 0, sizeof u);
    u.id = id;
    u.remote_id = remote_id;
    u.remote_json = json;
    u.st.state = st;
    u.st.runner = KG;
    u.st.remote_json = (char *)st_json;
    if (st == KE_STATE_STARTED)
        u.st.started_at = 1700000000000000LL;
    if (st >= KE_STATE_SUCCESS) {
        u.st.started_at = 1700000000000000LL;
        u.st.finished_at = 1700000060000000LL;
    }
    if (st == KE_STATE_FAILURE)
        u.st.error = "boom";
    ke_error_clear(&err);
    assert_int_equal(ke_store_apply_remote(s, &u, 1, &applied, &err), KE_OK);
    return applied;
}

/* Forwards id: the hand-over under remote_id. */
static void hand_over(ke_store *s, const char *id, const char *remote_id)
{
    assert_int_equal(apply1(s, id, remote_id, "{\"nodes\":[]}", KE_STATE_READY, NULL), 1);
}

static void get(ke_store *s, const char *id, ke_pipeline *p)
{
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_store_get(s, id, p, &err), KE_OK);
}

static ke_state state_of(ke_store *s, const char *id)
{
    ke_pipeline p;
    ke_state st;

    get(s, id, &p);
    st = ke_pipeline_state(&p);
    ke_pipeline_release(&p);
    return st;
}

static size_t history_len(ke_store *s, const char *id)
{
    ke_pipeline p;
    size_t n;

    get(s, id, &p);
    n = p.n_status;
    ke_pipeline_release(&p);
    return n;
}

/* How many tags key=value p has. */
static size_t tags_with(const ke_pipeline *p, const char *key, const char *value)
{
    size_t i, n = 0;

    for (i = 0; i < p->n_tags; i++)
        n += strcmp(p->tags[i].key, key) == 0 && strcmp(p->tags[i].value, value) == 0;
    return n;
}

/* ---- take */

static void take_marks_attempted_and_survives_a_restart(void **state)
{
    char dir[64], a[KE_ID_LEN + 1], b[KE_ID_LEN + 1], c[KE_ID_LEN + 1], st[KE_ID_LEN + 1];
    ke_forward_item *it = NULL;
    long long after;
    ke_store *s;
    size_t n, i;

    (void)state;
    make_dir(dir);
    s = open_dir(dir);
    insert(s, "a", NULL, KE_STATE_READY, a);
    insert(s, "staged", NULL, KE_STATE_STAGED, st);
    insert(s, "b", NULL, KE_STATE_READY, b);
    insert(s, "c", NULL, KE_STATE_READY, c);

    n = take(s, 0, 10, &it);
    assert_int_equal(n, 3); /* READY only, oldest first */
    assert_string_equal(it[0].p.id, a);
    assert_string_equal(it[1].p.id, b);
    assert_string_equal(it[2].p.id, c);
    for (i = 0; i < n; i++) {
        assert_int_equal(it[i].attempted, 0);
        assert_null(it[i].parent_remote_id);
        assert_int_equal(it[i].p.n_params, 1);
        assert_string_equal(it[i].p.params[0].value, "3");
        assert_int_equal(ke_pipeline_state(&it[i].p), KE_STATE_READY);
        if (i > 0)
            assert_true(it[i].seq > it[i - 1].seq);
    }
    ke_forward_items_free(it, n);
    n = take(s, 0, 10, &it);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++)
        assert_int_equal(it[i].attempted, 1); /* a second take sees the first attempt */
    after = it[0].seq;
    ke_forward_items_free(it, n);
    /* The cursor skips what was taken; max bounds the answer. */
    n = take(s, after, 10, &it);
    assert_int_equal(n, 2);
    assert_string_equal(it[0].p.id, b);
    ke_forward_items_free(it, n);
    n = take(s, 0, 2, &it);
    assert_int_equal(n, 2);
    ke_forward_items_free(it, n);
    assert_int_equal(take(s, 0, 0, &it), 0);
    ke_store_close(s);

    /* A crash after the take: the restarted server looks them up instead of creating them. */
    s = open_dir(dir);
    n = take(s, 0, 10, &it);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++)
        assert_int_equal(it[i].attempted, 1);
    ke_forward_items_free(it, n);
    /* Forwarded rows are not taken again. */
    hand_over(s, b, "kg-b");
    n = take(s, 0, 10, &it);
    assert_int_equal(n, 2);
    assert_string_equal(it[0].p.id, a);
    assert_string_equal(it[1].p.id, c);
    ke_forward_items_free(it, n);
    ke_store_close(s);
    remove_dir(dir);
}

static void take_names_the_remote_id_of_a_forwarded_parent(void **state)
{
    ke_store *s = *state;
    char parent[KE_ID_LEN + 1], local[KE_ID_LEN + 1], child[KE_ID_LEN + 1], orphan[KE_ID_LEN + 1];
    ke_forward_item *it = NULL;
    size_t n;

    insert(s, "parent", NULL, KE_STATE_READY, parent);
    insert(s, "local", NULL, KE_STATE_STAGED, local);
    hand_over(s, parent, "kg-parent");
    insert(s, "child", parent, KE_STATE_READY, child);
    insert(s, "orphan", local, KE_STATE_READY, orphan);
    n = take(s, 0, 10, &it);
    assert_int_equal(n, 2);
    assert_string_equal(it[0].p.id, child);
    assert_string_equal(it[0].p.parent, parent);
    assert_non_null(it[0].parent_remote_id);
    assert_string_equal(it[0].parent_remote_id, "kg-parent");
    assert_string_equal(it[1].p.id, orphan);
    assert_null(it[1].parent_remote_id); /* its parent was not forwarded */
    ke_forward_items_free(it, n);
}

/* ---- apply */

static void count_wakeup(void *ctx)
{
    ++*(int *)ctx;
}

static void apply_records_the_hand_over_then_started_then_success(void **state)
{
    ke_store *s = *state;
    char id[KE_ID_LEN + 1];
    ke_pipeline p;
    int wakeups = 0;

    insert(s, "a", NULL, KE_STATE_READY, id);
    ke_store_on_ready(s, count_wakeup, &wakeups);
    assert_int_equal(apply1(s, id, "kg-1", "{\"nodes\":[]}", KE_STATE_READY, "{\"task_id\":null}"),
                     1);
    get(s, id, &p);
    assert_string_equal(p.remote_id, "kg-1");
    assert_string_equal(p.remote_json, "{\"nodes\":[]}");
    assert_int_equal(tags_with(&p, "team", "data"), 1);
    assert_int_equal(tags_with(&p, "kedro_graphql_id", "kg-1"), 1);
    assert_int_equal(p.n_status, 2);
    assert_int_equal(p.status[1].state, KE_STATE_READY); /* the hand-over */
    assert_string_equal(p.status[1].runner, KG);
    assert_string_equal(p.status[1].remote_json, "{\"task_id\":null}");
    assert_true(p.status[1].changed_at > 0);
    assert_null(p.status[0].remote_json);
    ke_pipeline_release(&p);

    assert_int_equal(apply1(s, id, NULL, NULL, KE_STATE_STARTED, "{\"task_id\":\"t1\"}"), 1);
    assert_int_equal(apply1(s, id, NULL, "{\"nodes\":[\"n1\"]}", KE_STATE_SUCCESS, NULL), 1);
    get(s, id, &p);
    assert_int_equal(p.n_status, 4);
    assert_int_equal(p.status[2].state, KE_STATE_STARTED);
    assert_int_equal(p.status[2].started_at, 1700000000000000LL);
    assert_string_equal(p.status[2].remote_json, "{\"task_id\":\"t1\"}");
    assert_int_equal(p.status[3].state, KE_STATE_SUCCESS);
    assert_int_equal(p.status[3].finished_at, 1700000060000000LL);
    assert_string_equal(p.remote_json, "{\"nodes\":[\"n1\"]}");
    assert_string_equal(p.remote_id, "kg-1");
    ke_pipeline_release(&p);
    assert_int_equal(wakeups, 0); /* no READY work for the local runner */
    ke_store_on_ready(s, NULL, NULL);
}

static void apply_repeated_changes_nothing(void **state)
{
    ke_store *s = *state;
    char id[KE_ID_LEN + 1];
    ke_pipeline p;

    insert(s, "a", NULL, KE_STATE_READY, id);
    hand_over(s, id, "kg-1");
    hand_over(s, id, "kg-1");
    assert_int_equal(history_len(s, id), 2);
    assert_int_equal(apply1(s, id, "kg-other", NULL, KE_STATE_READY, NULL), 1);
    assert_int_equal(apply1(s, id, NULL, NULL, KE_STATE_STARTED, NULL), 1);
    assert_int_equal(apply1(s, id, NULL, NULL, KE_STATE_STARTED, NULL), 1);
    /* A stale READY (a poll older than the last) does not move it back. */
    assert_int_equal(apply1(s, id, NULL, NULL, KE_STATE_READY, NULL), 1);
    get(s, id, &p);
    assert_int_equal(p.n_status, 3);
    assert_int_equal(ke_pipeline_state(&p), KE_STATE_STARTED);
    assert_string_equal(p.remote_id, "kg-1"); /* the first id stays */
    assert_int_equal(tags_with(&p, "kedro_graphql_id", "kg-1"), 1);
    assert_int_equal(p.n_tags, 2);
    ke_pipeline_release(&p);
}

static void apply_to_an_ended_pipeline_drops_the_status(void **state)
{
    ke_store *s = *state;
    char id[KE_ID_LEN + 1];
    ke_pipeline p;

    insert(s, "a", NULL, KE_STATE_READY, id);
    hand_over(s, id, "kg-1");
    assert_int_equal(apply1(s, id, NULL, NULL, KE_STATE_FAILURE, NULL), 1);
    assert_int_equal(apply1(s, id, NULL, NULL, KE_STATE_SUCCESS, NULL), 1);
    assert_int_equal(apply1(s, id, NULL, NULL, KE_STATE_STARTED, NULL), 1);
    assert_int_equal(apply1(s, id, NULL, NULL, KE_STATE_FAILURE, NULL), 1);
    get(s, id, &p);
    assert_int_equal(p.n_status, 3);
    assert_int_equal(ke_pipeline_state(&p), KE_STATE_FAILURE);
    assert_string_equal(p.status[2].error, "boom");
    ke_pipeline_release(&p);
}

static void apply_skips_unknown_ids_and_applies_the_rest(void **state)
{
    ke_store *s = *state;
    char a[KE_ID_LEN + 1], b[KE_ID_LEN + 1];
    ke_remote_update u[3];
    size_t applied = 99;
    ke_error err;

    insert(s, "a", NULL, KE_STATE_READY, a);
    insert(s, "b", NULL, KE_STATE_READY, b);
    memset(u, 0, sizeof u);
    u[0].id = a;
    u[0].remote_id = "kg-a";
    u[0].st.state = KE_STATE_READY;
    u[1].id = "00000000-0000-0000-0000-000000000000";
    u[1].remote_id = "kg-x";
    u[1].st.state = KE_STATE_READY;
    u[2].id = b;
    u[2].remote_id = "kg-b";
    u[2].st.state = KE_STATE_READY;
    ke_error_clear(&err);
    assert_int_equal(ke_store_apply_remote(s, u, 3, &applied, &err), KE_OK);
    assert_int_equal(applied, 2);
    assert_int_equal(history_len(s, a), 2);
    assert_int_equal(history_len(s, b), 2);
    assert_int_equal(ke_store_apply_remote(s, u, 3, NULL, &err), KE_OK); /* applied may be NULL */
    assert_int_equal(ke_store_apply_remote(s, u, 0, &applied, &err), KE_OK);
    assert_int_equal(applied, 0);
}

/* ---- list_remote */

static void list_remote_pages_and_drops_ended_ones(void **state)
{
    ke_store *s = *state;
    char id[6][KE_ID_LEN + 1], rid[16];
    ke_remote_ref *refs = NULL;
    size_t n = 99, seen = 0, i;
    long long after = 0;
    ke_error err;
    int k;

    for (k = 0; k < 6; k++) {
        insert(s, "p", NULL, KE_STATE_READY, id[k]);
        snprintf(rid, sizeof rid, "kg-%d", k);
        if (k != 4) /* 4 is not forwarded */
            hand_over(s, id[k], rid);
    }
    apply1(s, id[1], NULL, NULL, KE_STATE_STARTED, NULL);
    apply1(s, id[2], NULL, NULL, KE_STATE_SUCCESS, NULL);
    /* 0 READY, 1 STARTED, 3 READY, 5 READY: pages of two. */
    for (;;) {
        ke_error_clear(&err);
        assert_int_equal(ke_store_list_remote(s, after, 2, &refs, &n, &err), KE_OK);
        assert_true(n <= 2);
        if (n == 0) {
            assert_null(refs);
            break;
        }
        for (i = 0; i < n; i++, seen++) {
            static const int want[] = {0, 1, 3, 5};

            assert_true(seen < 4);
            assert_true(refs[i].seq > after);
            after = refs[i].seq;
            assert_string_equal(refs[i].id, id[want[seen]]);
            snprintf(rid, sizeof rid, "kg-%d", want[seen]);
            assert_string_equal(refs[i].remote_id, rid);
            assert_int_equal(refs[i].state, want[seen] == 1 ? KE_STATE_STARTED : KE_STATE_READY);
        }
        ke_remote_refs_free(refs, n);
    }
    assert_int_equal(seen, 4);
    assert_int_equal(ke_store_list_remote(s, 0, 0, &refs, &n, &err), KE_OK);
    assert_int_equal(n, 0);
}

/* ---- the local runner beside forwarded rows */

static void claim_skips_forwarded_rows(void **state)
{
    ke_store *s = *state;
    char fwd[KE_ID_LEN + 1], loc[KE_ID_LEN + 1];
    ke_pipeline p;
    int found = -1;
    ke_error err;

    insert(s, "fwd", NULL, KE_STATE_READY, fwd);
    insert(s, "loc", NULL, KE_STATE_READY, loc);
    hand_over(s, fwd, "kg-1");
    ke_error_clear(&err);
    assert_int_equal(ke_store_claim(s, "local", &p, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    assert_string_equal(p.id, loc);
    ke_pipeline_release(&p);
    assert_int_equal(ke_store_claim(s, "local", &p, &found, &err), KE_OK);
    assert_int_equal(found, 0);
    assert_int_equal(state_of(s, fwd), KE_STATE_READY);
}

static void recover_leaves_forwarded_started_rows(void **state)
{
    ke_store *s = *state;
    char fwd[KE_ID_LEN + 1], loc[KE_ID_LEN + 1];
    ke_pipeline p;
    size_t n = 99;
    int found = -1;
    ke_error err;

    insert(s, "fwd", NULL, KE_STATE_READY, fwd);
    insert(s, "loc", NULL, KE_STATE_READY, loc);
    hand_over(s, fwd, "kg-1");
    apply1(s, fwd, NULL, NULL, KE_STATE_STARTED, NULL);
    ke_error_clear(&err);
    assert_int_equal(ke_store_claim(s, "local", &p, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    ke_pipeline_release(&p);
    assert_int_equal(ke_store_recover(s, 1, &n, &err), KE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(state_of(s, loc), KE_STATE_READY);
    assert_int_equal(ke_store_recover(s, 0, &n, &err), KE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(state_of(s, fwd), KE_STATE_STARTED);
    assert_int_equal(history_len(s, fwd), 3);
}

/* ---- answers carry the remote keys, and ListPipelines' byte budget counts them */

#define BIG_JSON (1536 * 1024) /* a remote_json of 1.5 MiB: two fit a page's 4 MiB, not three */

static char *big_json(void)
{
    char *j = malloc(BIG_JSON + 1);

    assert_non_null(j);
    memset(j, 'x', BIG_JSON);
    memcpy(j, "{\"d\":\"", 6);
    memcpy(j + BIG_JSON - 2, "\"}", 3);
    return j;
}

static size_t first_page(ke_store *s, const char *name, int *more)
{
    ke_list_query q = {0};
    ke_pipeline *ps = NULL;
    char *next = NULL;
    size_t n = 0, i;
    ke_error err;

    q.name = name;
    q.limit = 10;
    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, &q, &ps, &n, &next, &err), KE_OK);
    for (i = 0; i < n; i++)
        assert_non_null(ps[i].remote_id); /* the list answers carry them */
    *more = next != NULL;
    free(next);
    ke_pipelines_free(ps, n);
    return n;
}

static void list_page_budget_counts_remote_json(void **state)
{
    ke_store *s = *state;
    char id[KE_ID_LEN + 1], rid[16];
    char *j = big_json();
    int k, more = 0;

    for (k = 0; k < 4; k++) {
        insert(s, "pj", NULL, KE_STATE_READY, id);
        snprintf(rid, sizeof rid, "kg-p%d", k);
        assert_int_equal(apply1(s, id, rid, j, KE_STATE_READY, NULL), 1);
        insert(s, "sj", NULL, KE_STATE_READY, id);
        snprintf(rid, sizeof rid, "kg-s%d", k);
        assert_int_equal(apply1(s, id, rid, NULL, KE_STATE_READY, j), 1);
    }
    free(j);
    assert_int_equal(first_page(s, "pj", &more), 2);
    assert_true(more);
    assert_int_equal(first_page(s, "sj", &more), 2);
    assert_true(more);
}

/* ---- schema version 2 */

/* Schema version 1, as the previous server made it. */
static const char v1_sql[] =
    "CREATE TABLE pipelines (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    " parent TEXT, params TEXT NOT NULL, tags TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " state INTEGER NOT NULL);"
    "CREATE INDEX pipelines_state ON pipelines(state, seq);"
    "CREATE INDEX pipelines_name ON pipelines(name, seq);"
    "CREATE INDEX pipelines_parent ON pipelines(parent, seq);"
    "CREATE TABLE status (pipeline INTEGER NOT NULL, n INTEGER NOT NULL,"
    " state INTEGER NOT NULL, changed_at INTEGER NOT NULL, started_at INTEGER,"
    " finished_at INTEGER, runner TEXT, exit_code INTEGER, signal INTEGER, error TEXT,"
    " log_path TEXT, PRIMARY KEY (pipeline, n)) WITHOUT ROWID;"
    "CREATE TABLE events (source TEXT NOT NULL, id TEXT NOT NULL, first_seq INTEGER,"
    " count INTEGER NOT NULL, PRIMARY KEY (source, id)) WITHOUT ROWID;"
    "INSERT INTO pipelines VALUES (1, '11111111-1111-1111-1111-111111111111', 'old',"
    " NULL, '[[\"level\",\"3\",\"int\"]]', '[[\"team\",\"data\"]]', 5, 2);"
    "INSERT INTO pipelines VALUES (2, '22222222-2222-2222-2222-222222222222', 'ran',"
    " NULL, '[]', '[]', 6, 4);"
    "INSERT INTO status VALUES (1, 0, 2, 5, NULL, NULL, NULL, NULL, 0, NULL, NULL);"
    "INSERT INTO status VALUES (2, 0, 2, 6, NULL, NULL, NULL, NULL, 0, NULL, NULL);"
    "INSERT INTO status VALUES (2, 1, 4, 7, 6, 7, 'local', 0, 0, NULL, '/l');"
    "INSERT INTO events VALUES ('example.com', 'e1', 1, 1);"
    "PRAGMA user_version = 1;";

static int query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void open_migrates_a_v1_database_and_keeps_its_rows(void **state)
{
    char dir[64], path[128];
    ke_pipeline p, fresh, *orig = NULL;
    ke_forward_item *it = NULL;
    size_t n_orig = 0;
    sqlite3 *db = NULL;
    int dup = 0;
    ke_store *s;
    ke_error err;

    (void)state;
    make_dir(dir);
    snprintf(path, sizeof path, "%s/kedro-events.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v1_sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    s = open_dir(dir);
    get(s, "22222222-2222-2222-2222-222222222222", &p);
    assert_int_equal(p.n_status, 2);
    assert_int_equal(p.status[1].state, KE_STATE_SUCCESS);
    assert_string_equal(p.status[1].log_path, "/l");
    assert_null(p.remote_id);
    assert_null(p.status[1].remote_json);
    ke_pipeline_release(&p);
    /* The READY row of version 1 is there to forward; the event key still dedupes. */
    assert_int_equal(take(s, 0, 10, &it), 1);
    assert_string_equal(it[0].p.id, "11111111-1111-1111-1111-111111111111");
    assert_string_equal(it[0].p.tags[0].value, "data");
    assert_int_equal(it[0].attempted, 0);
    ke_forward_items_free(it, 1);
    assert_int_equal(ke_pipeline_init(&fresh, "old", KE_STATE_READY), KE_OK);
    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(s, "example.com", "e1", &fresh, 1, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_true(dup);
    assert_string_equal(orig[0].id, "11111111-1111-1111-1111-111111111111");
    ke_pipelines_free(orig, n_orig);
    ke_pipeline_release(&fresh);
    ke_store_close(s);

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_true(query_int(db, "PRAGMA user_version") >= 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND"
                                   " name IN ('pipelines_to_forward', 'pipelines_forwarded')"),
                     2);
    assert_int_equal(query_int(db, "SELECT forward FROM pipelines WHERE seq = 2"), 0);
    sqlite3_close(db);
    remove_dir(dir);
}

/* The plan of sql, its rows' details joined by "; ". */
static void forwarding_queries_seek_their_partial_indexes(void **state)
{
    char dir[64], path[128], plan[1024], id[KE_ID_LEN + 1];
    sqlite3 *db = NULL;
    ke_store *s;
    int k;

    (void)state;
    make_dir(dir);
    snprintf(path, sizeof path, "%s/kedro-events.db", dir);
    s = open_dir(dir);
    for (k = 0; k < 20; k++) {
        insert(s, "p", NULL, KE_STATE_READY, id);
        if (k % 2)
            hand_over(s, id, "kg");
    }
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ANALYZE", NULL, NULL, NULL), SQLITE_OK);
    plan_of(db, KE_STORE_TAKE_SQL, plan, sizeof plan);
    print_message("take: %s\n", plan);
    assert_non_null(strstr(plan, "SEARCH pipelines USING INDEX pipelines_to_forward (seq>?)"));
    plan_of(db, KE_STORE_CLAIM_SQL, plan, sizeof plan);
    print_message("claim: %s\n", plan);
    assert_non_null(strstr(plan, "USING INDEX pipelines_to_forward"));
    assert_null(strstr(plan, "TEMP B-TREE"));
    plan_of(db, KE_STORE_LIST_REMOTE_SQL, plan, sizeof plan);
    print_message("list_remote: %s\n", plan);
    assert_non_null(strstr(plan, "SEARCH pipelines USING INDEX pipelines_forwarded (seq>?)"));
    assert_null(strstr(plan, "TEMP B-TREE"));
    sqlite3_close(db);
    ke_store_close(s);
    remove_dir(dir);
}

/* ---- a failing disk */

/* What the apply of the fault test did to its two pipelines: 1 all, 0 nothing (else fails). */
static int applied_all(ke_store *s, const char *a, const char *b)
{
    ke_pipeline p;
    int all;

    get(s, a, &p);
    all = p.remote_id != NULL;
    assert_int_equal(p.n_status, all ? 2 : 1);
    assert_int_equal(tags_with(&p, "kedro_graphql_id", "kg-a"), all);
    assert_true(all ? p.remote_json != NULL : p.remote_json == NULL);
    ke_pipeline_release(&p);
    assert_int_equal(state_of(s, b), all ? KE_STATE_STARTED : KE_STATE_READY);
    return all;
}

/* One injection point: the nth write-like operation of an apply (a hand-over and a STARTED)
 * fails; the answer is OK exactly when both updates are stored, live and after a restart, and
 * a failed apply stores nothing and can be applied again. Returns 1 when the fault was hit. */
static int apply_point(long nth, int persist, int os_errno)
{
    ke_store_options o = {"faulty", 4, 8};
    char dir[64] = "/dev/shm/ke-test-remote-XXXXXX", a[KE_ID_LEN + 1], b[KE_ID_LEN + 1];
    ke_remote_update u[2];
    size_t applied = 99;
    ke_store *s = NULL;
    ke_error err;
    int rc, hit;

    assert_non_null(mkdtemp(dir));
    ke_error_clear(&err);
    assert_int_equal(ke_store_open_with(dir, &o, &s, &err), KE_OK);
    insert(s, "a", NULL, KE_STATE_READY, a);
    insert(s, "b", NULL, KE_STATE_READY, b);
    hand_over(s, b, "kg-b");
    memset(u, 0, sizeof u);
    u[0].id = a;
    u[0].remote_id = "kg-a";
    u[0].remote_json = "{\"nodes\":[]}";
    u[0].st.state = KE_STATE_READY;
    u[0].st.runner = KG;
    u[1].id = b;
    u[1].st.state = KE_STATE_STARTED;
    u[1].st.remote_json = "{\"task_id\":\"t\"}";
    faults_arm(nth, persist, os_errno);
    rc = ke_store_apply_remote(s, u, 2, &applied, &err);
    hit = faults_hits() > 0;
    faults_disarm();
    if (rc == KE_OK) {
        assert_int_equal(applied, 2);
    } else {
        assert_int_equal(rc, KE_EUNAVAIL); /* retryable */
        assert_non_null(strstr(err.msg, dir));
    }
    assert_int_equal(applied_all(s, a, b), rc == KE_OK);
    ke_store_close(s);
    s = open_dir(dir);
    assert_int_equal(applied_all(s, a, b), rc == KE_OK);
    ke_error_clear(&err);
    assert_int_equal(ke_store_apply_remote(s, u, 2, &applied, &err), KE_OK); /* the retry */
    assert_int_equal(applied_all(s, a, b), 1);
    ke_store_close(s);
    remove_dir(dir);
    return hit;
}

static void every_apply_point(int persist, int os_errno)
{
    long nth;

    for (nth = 1; nth < MAX_POINTS; nth++)
        if (!apply_point(nth, persist, os_errno))
            break;
    assert_true(nth > 1 && nth < MAX_POINTS);
    print_message("%ld injection points\n", nth - 1);
}

static void apply_on_a_failing_disk_stores_all_or_nothing(void **state)
{
    (void)state;
    every_apply_point(ONCE, ENOSPC);
    every_apply_point(UNTIL_SPACE_RETURNS, ENOSPC);
    every_apply_point(ONCE, EIO);
    every_apply_point(UNTIL_SPACE_RETURNS, EIO);
}

#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, store_setup, store_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(take_marks_attempted_and_survives_a_restart),
        STORE_TEST(take_names_the_remote_id_of_a_forwarded_parent),
        STORE_TEST(apply_records_the_hand_over_then_started_then_success),
        STORE_TEST(apply_repeated_changes_nothing),
        STORE_TEST(apply_to_an_ended_pipeline_drops_the_status),
        STORE_TEST(apply_skips_unknown_ids_and_applies_the_rest),
        STORE_TEST(list_remote_pages_and_drops_ended_ones),
        STORE_TEST(claim_skips_forwarded_rows),
        STORE_TEST(recover_leaves_forwarded_started_rows),
        STORE_TEST(list_page_budget_counts_remote_json),
        cmocka_unit_test(open_migrates_a_v1_database_and_keeps_its_rows),
        cmocka_unit_test(forwarding_queries_seek_their_partial_indexes),
        cmocka_unit_test(apply_on_a_failing_disk_stores_all_or_nothing),
    };

    faulty_register();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
