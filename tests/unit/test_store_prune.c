/* test_store_prune.c -- unit tests of the store's side of retention (server/store_prune.c):
 * which pipelines and event keys a sweep removes, chains child first, the cap on each request,
 * schema version 3 and the plan of the selection. Times are written into the test database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "store.h"
#include "store_internal.h"

/* The statics (the selection's SQL) are what the plan test checks. */
#include "../../server/store_prune.c"

#include "store_dirs.h"

#define DAY_US 86400000000LL

/* A store on a fresh dir, and a second connection to its database to write times. */
typedef struct fixture {
    char dir[64]; /* the data dir */
    ke_store *s;  /* the store */
    sqlite3 *db;  /* the test's own connection */
    int64_t now;  /* microseconds, at setup */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char path[128];

    make_dir(f->dir);
    f->s = open_dir(f->dir);
    snprintf(path, sizeof path, "%s/kedro-events.db", f->dir);
    assert_int_equal(sqlite3_open(path, &f->db), SQLITE_OK);
    sqlite3_busy_timeout(f->db, 10000);
    f->now = ke_now_us();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    sqlite3_close(f->db);
    ke_store_close(f->s);
    remove_dir(f->dir);
    free(f);
    return 0;
}

static void exec(fixture *f, const char *sql)
{
    assert_int_equal(sqlite3_exec(f->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

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

/* Stores a pipeline in state st (child of parent, may be NULL) whose statuses all changed
 * age_days ago; its id into id. */
static void add_p(fixture *f, ke_state st, const char *parent, double age_days,
                  char id[KE_ID_LEN + 1])
{
    char sql[256];
    ke_pipeline p;
    ke_error err;

    assert_int_equal(ke_pipeline_init(&p, "p", st), KE_OK);
    if (parent != NULL)
        assert_non_null(p.parent = strdup(parent));
    ke_error_clear(&err);
    assert_int_equal(ke_store_insert(f->s, &p, &err), KE_OK);
    memcpy(id, p.id, KE_ID_LEN + 1);
    ke_pipeline_release(&p);
    snprintf(sql, sizeof sql,
             "UPDATE status SET changed_at = %lld WHERE pipeline = "
             "(SELECT seq FROM pipelines WHERE id = '%s')",
             (long long)(f->now - (int64_t)(age_days * DAY_US)), id);
    exec(f, sql);
}

/* Marks id ended (state st) age_days ago, as a runner's final status would. */
static void end(fixture *f, const char *id, ke_state st, double age_days)
{
    ke_status s = {0};
    char sql[256];
    ke_error err;

    s.state = st;
    s.runner = "local";
    ke_error_clear(&err);
    assert_int_equal(ke_store_finish(f->s, id, &s, &err), KE_OK);
    snprintf(sql, sizeof sql,
             "UPDATE status SET changed_at = %lld WHERE pipeline = "
             "(SELECT seq FROM pipelines WHERE id = '%s')",
             (long long)(f->now - (int64_t)(age_days * DAY_US)), id);
    exec(f, sql);
}

static int exists(fixture *f, const char *id)
{
    ke_pipeline p;
    ke_error err;
    int rc;

    ke_error_clear(&err);
    rc = ke_store_get(f->s, id, &p, &err);
    if (rc == KE_OK)
        ke_pipeline_release(&p);
    else
        assert_int_equal(rc, KE_ENOTFOUND);
    return rc == KE_OK;
}

/* A whole sweep with cut-off days ago, max pipelines a batch; returns what it removed and
 * counts the batches in *batches (may be NULL). */
static ke_prune_counts sweep(fixture *f, double days, size_t max, size_t *batches)
{
    ke_prune_cursor cur = {0, 0, 0};
    ke_prune_counts total = {0, 0, 0}, c;
    int64_t cutoff = f->now - (int64_t)(days * DAY_US);
    ke_prune_item *items;
    size_t n, b = 0;
    int events_left = 1;
    ke_error err;

    while (!cur.done || events_left) {
        ke_error_clear(&err);
        assert_int_equal(ke_store_prune_select(f->s, cutoff, &cur, max, &items, &n, &err), KE_OK);
        assert_true(n <= max);
        assert_int_equal(ke_store_prune(f->s, cutoff, items, n, events_left ? max : 0, &c, &err),
                         KE_OK);
        ke_prune_items_free(items, n);
        assert_true(c.pipelines <= max);
        assert_true(c.unmatched <= max);
        events_left = events_left && c.unmatched == max;
        total.pipelines += c.pipelines;
        total.events += c.events;
        total.unmatched += c.unmatched;
        b++;
        assert_true(b < 100000);
    }
    if (batches != NULL)
        *batches = b;
    return total;
}

/* ---- which pipelines go */

static void sweep_removes_old_ended_pipelines_and_keeps_recent_and_live_ones(void **state)
{
    fixture *f = *state;
    char ok[37], fail[37], abort_[37], recent[37], ready[37], started[37], newest[37];
    ke_prune_counts c;

    add_p(f, KE_STATE_SUCCESS, NULL, 10, ok);
    add_p(f, KE_STATE_FAILURE, NULL, 10, fail);
    add_p(f, KE_STATE_ABORTED, NULL, 10, abort_);
    add_p(f, KE_STATE_SUCCESS, NULL, 0.5, recent);
    add_p(f, KE_STATE_READY, NULL, 10, ready);     /* old, but not ended */
    add_p(f, KE_STATE_STARTED, NULL, 10, started); /* old, but not ended */
    add_p(f, KE_STATE_READY, NULL, 0, newest);

    c = sweep(f, 1, KE_PRUNE_MAX_BATCH, NULL);
    assert_int_equal(c.pipelines, 3);
    assert_false(exists(f, ok));
    assert_false(exists(f, fail));
    assert_false(exists(f, abort_));
    assert_true(exists(f, recent));
    assert_true(exists(f, ready));
    assert_true(exists(f, started));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM status WHERE pipeline NOT IN"
                                      " (SELECT seq FROM pipelines)"),
                     0);
    /* A second sweep finds nothing more. */
    c = sweep(f, 1, KE_PRUNE_MAX_BATCH, NULL);
    assert_int_equal(c.pipelines, 0);
}

static void age_counts_from_the_last_status_not_the_creation(void **state)
{
    fixture *f = *state;
    char id[37], newest[37];

    add_p(f, KE_STATE_READY, NULL, 10, id);
    end(f, id, KE_STATE_SUCCESS, 0.1); /* created long ago, ended just now */
    /* the created status stays old: only the last one's time counts */
    exec(f, "UPDATE status SET changed_at = 0 WHERE n = 0");
    add_p(f, KE_STATE_READY, NULL, 0, newest);
    assert_int_equal(sweep(f, 1, KE_PRUNE_MAX_BATCH, NULL).pipelines, 0);
    assert_true(exists(f, id));
    assert_int_equal(sweep(f, 0.01, KE_PRUNE_MAX_BATCH, NULL).pipelines, 1);
    assert_false(exists(f, id));
}

static void the_newest_record_is_kept_so_positions_are_never_reused(void **state)
{
    fixture *f = *state;
    char a[37], b[37], c[37];

    add_p(f, KE_STATE_SUCCESS, NULL, 10, a);
    add_p(f, KE_STATE_SUCCESS, NULL, 10, b);
    assert_int_equal(sweep(f, 1, KE_PRUNE_MAX_BATCH, NULL).pipelines, 1);
    assert_false(exists(f, a));
    assert_true(exists(f, b));
    add_p(f, KE_STATE_READY, NULL, 0, c);
    assert_int_equal(query_int(f->db, "SELECT max(seq) FROM pipelines"), 3);
}

/* ---- chains */

static void a_parent_stays_while_its_child_lives(void **state)
{
    fixture *f = *state;
    char parent[37], child[37], grandchild[37], newest[37];

    add_p(f, KE_STATE_SUCCESS, NULL, 10, parent);
    add_p(f, KE_STATE_READY, parent, 10, child);
    add_p(f, KE_STATE_FAILURE, child, 10, grandchild);
    add_p(f, KE_STATE_READY, NULL, 0, newest);
    assert_int_equal(sweep(f, 1, KE_PRUNE_MAX_BATCH, NULL).pipelines, 1);
    assert_true(exists(f, parent));
    assert_true(exists(f, child));
    assert_false(exists(f, grandchild));

    /* Once the child ended long ago, both go, child first, in one sweep. */
    end(f, child, KE_STATE_SUCCESS, 5);
    assert_int_equal(sweep(f, 1, KE_PRUNE_MAX_BATCH, NULL).pipelines, 2);
    assert_false(exists(f, parent));
    assert_false(exists(f, child));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pipelines WHERE parent IS NOT NULL"
                                      " AND parent NOT IN (SELECT id FROM pipelines)"),
                     0);
}

/* A parent that ended before its children (the cursor meets it first) and one that ended after
 * them: either way a whole old chain goes in one sweep, and in one batch. */
static void a_sweep_removes_whole_chains_in_either_time_order(void **state)
{
    fixture *f = *state;
    char p1[37], c1a[37], c1b[37], g1[37], p2[37], c2[37], newest[37];
    ke_prune_cursor cur = {0, 0, 0};
    ke_prune_item *items;
    size_t n, i, j;
    ke_error err;

    add_p(f, KE_STATE_SUCCESS, NULL, 20, p1);
    add_p(f, KE_STATE_SUCCESS, p1, 15, c1a);
    add_p(f, KE_STATE_FAILURE, p1, 12, c1b);
    add_p(f, KE_STATE_SUCCESS, c1b, 11, g1);
    add_p(f, KE_STATE_SUCCESS, NULL, 3, p2);
    add_p(f, KE_STATE_ABORTED, p2, 4, c2);
    add_p(f, KE_STATE_READY, NULL, 0, newest);

    ke_error_clear(&err);
    assert_int_equal(
        ke_store_prune_select(f->s, f->now - DAY_US, &cur, KE_PRUNE_MAX_BATCH, &items, &n, &err),
        KE_OK);
    assert_int_equal(n, 6);
    /* Every child comes before its parent. */
    for (i = 0; i < n; i++)
        for (j = i + 1; j < n; j++) {
            char sql[200];

            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM pipelines WHERE id = '%s' AND parent"
                     " = '%s'",
                     items[j].id, items[i].id);
            assert_int_equal(query_int(f->db, sql), 0);
        }
    ke_prune_items_free(items, n);
    assert_int_equal(sweep(f, 1, KE_PRUNE_MAX_BATCH, NULL).pipelines, 6);
    assert_true(exists(f, newest));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pipelines"), 1);
}

/* A child created under an ended parent after the selection: the writer's check keeps the
 * parent. */
static void the_writer_checks_again_and_keeps_a_parent_that_gained_a_child(void **state)
{
    fixture *f = *state;
    char parent[37], child[37], newest[37];
    ke_prune_cursor cur = {0, 0, 0};
    ke_prune_counts c;
    ke_prune_item *items;
    size_t n;
    ke_error err;

    add_p(f, KE_STATE_SUCCESS, NULL, 10, parent);
    add_p(f, KE_STATE_READY, NULL, 0, newest);
    ke_error_clear(&err);
    assert_int_equal(
        ke_store_prune_select(f->s, f->now - DAY_US, &cur, KE_PRUNE_MAX_BATCH, &items, &n, &err),
        KE_OK);
    assert_int_equal(n, 1);
    add_p(f, KE_STATE_READY, parent, 0, child);
    assert_int_equal(ke_store_prune(f->s, f->now - DAY_US, items, n, 0, &c, &err), KE_OK);
    ke_prune_items_free(items, n);
    assert_int_equal(c.pipelines, 0);
    assert_true(exists(f, parent));
}

/* ---- event keys */

static int accept(fixture *f, const char *event_id, size_t n, char ids[][37])
{
    ke_pipeline ps[4], *orig = NULL;
    size_t n_orig = 0, i;
    int dup = 0;
    ke_error err;

    for (i = 0; i < n; i++)
        assert_int_equal(ke_pipeline_init(&ps[i], "p", KE_STATE_READY), KE_OK);
    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(f->s, "src", event_id, ps, n, &orig, &n_orig, &dup, &err),
                     KE_OK);
    for (i = 0; i < n_orig && ids != NULL; i++)
        memcpy(ids[i], orig[i].id, 37);
    for (i = 0; i < n; i++)
        ke_pipeline_release(&ps[i]);
    ke_pipelines_free(orig, n_orig);
    return dup;
}

static void a_key_goes_once_every_pipeline_it_started_is_gone(void **state)
{
    fixture *f = *state;
    char ids[2][37], newest[37];
    ke_prune_counts c;

    assert_false(accept(f, "e1", 2, ids));
    end(f, ids[0], KE_STATE_SUCCESS, 10);
    add_p(f, KE_STATE_READY, NULL, 0, newest);
    c = sweep(f, 1, KE_PRUNE_MAX_BATCH, NULL);
    assert_int_equal(c.pipelines, 1);
    assert_int_equal(c.events, 0);
    /* Still a duplicate: one of its pipelines is left. */
    assert_true(accept(f, "e1", 2, NULL));
    end(f, ids[1], KE_STATE_FAILURE, 10);
    c = sweep(f, 1, KE_PRUNE_MAX_BATCH, NULL);
    assert_int_equal(c.pipelines, 1);
    assert_int_equal(c.events, 1);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM events"), 0);
    /* Sent again after its key went, the event starts new runs. */
    assert_false(accept(f, "e1", 2, NULL));
}

static void keys_that_started_nothing_go_after_the_retention_time(void **state)
{
    fixture *f = *state;
    char sql[160];
    ke_prune_counts c;

    assert_false(accept(f, "old", 0, NULL));
    assert_false(accept(f, "recent", 0, NULL));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM events WHERE received_at IS NULL"), 0);
    snprintf(sql, sizeof sql, "UPDATE events SET received_at = %lld WHERE id = 'old'",
             (long long)(f->now - 10 * DAY_US));
    exec(f, sql);
    c = sweep(f, 1, KE_PRUNE_MAX_BATCH, NULL);
    assert_int_equal(c.events, 1);
    assert_int_equal(c.unmatched, 1);
    assert_false(accept(f, "old", 0, NULL));
    assert_true(accept(f, "recent", 0, NULL));
}

/* ---- the cap on each request */

static void each_request_removes_at_most_its_batch(void **state)
{
    fixture *f = *state;
    char id[37], sql[200];
    ke_prune_counts c;
    ke_prune_item *items = NULL;
    size_t batches, i;
    ke_error err;

    exec(f, "BEGIN");
    for (i = 0; i < 600; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO events (source, id, first_seq, count, received_at)"
                 " VALUES ('s', 'u%zu', NULL, 0, 1)",
                 i);
        exec(f, sql);
    }
    exec(f, "COMMIT");
    for (i = 0; i < 600; i++)
        add_p(f, KE_STATE_SUCCESS, NULL, 10, id);
    add_p(f, KE_STATE_READY, NULL, 0, id);
    c = sweep(f, 1, 100, &batches);
    assert_int_equal(c.pipelines, 600);
    assert_int_equal(c.unmatched, 600);
    assert_true(batches >= 6);
    /* Past the cap: refused, nothing removed. */
    items = calloc(KE_PRUNE_MAX_BATCH + 1, sizeof *items);
    ke_error_clear(&err);
    assert_int_equal(ke_store_prune(f->s, f->now, items, KE_PRUNE_MAX_BATCH + 1, 0, &c, &err),
                     KE_EINVAL);
    assert_non_null(strstr(err.msg, "at most 256"));
    free(items);
    ke_error_clear(&err);
    {
        ke_prune_cursor cur = {0, 0, 0};
        size_t n;

        assert_int_equal(
            ke_store_prune_select(f->s, f->now, &cur, KE_PRUNE_MAX_BATCH + 1, &items, &n, &err),
            KE_EINVAL);
    }
}

/* ---- schema and plan */

/* No statement of a batch scans a table: each seeks an index, whatever the number of rows. */
static void the_sweep_statements_seek_indexes(void **state)
{
    fixture *f = *state;
    static const char *const sqls[] = {SELECT_SQL, CHILDREN_SQL, PARENT_SQL,   PARENT_OF_SQL,
                                       CHECK_SQL,  FIND_KEY_SQL, ANY_LEFT_SQL, DEL_UNMATCHED_SQL};
    char plan[2048];
    size_t i;

    exec(f, "ANALYZE");
    for (i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        plan_of(f->db, sqls[i], plan, sizeof plan);
        print_message("plan %zu: %s\n", i, plan);
        assert_null(strstr(plan, "SCAN s "));
        assert_null(strstr(plan, "SCAN status"));
        assert_null(strstr(plan, "SCAN pipelines"));
        assert_null(strstr(plan, "SCAN p "));
        assert_null(strstr(plan, "SCAN events"));
        assert_null(strstr(plan, "USE TEMP B-TREE FOR ORDER BY"));
    }
    plan_of(f->db, SELECT_SQL, plan, sizeof plan);
    assert_non_null(strstr(plan, "status_ended"));
}

static const char v2_sql[] =
    "CREATE TABLE pipelines (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    " parent TEXT, params TEXT NOT NULL, tags TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " state INTEGER NOT NULL, forward INTEGER NOT NULL DEFAULT 0, remote_id TEXT,"
    " remote_json TEXT);"
    "CREATE INDEX pipelines_state ON pipelines(state, seq);"
    "CREATE INDEX pipelines_name ON pipelines(name, seq);"
    "CREATE INDEX pipelines_parent ON pipelines(parent, seq);"
    "CREATE TABLE status (pipeline INTEGER NOT NULL, n INTEGER NOT NULL,"
    " state INTEGER NOT NULL, changed_at INTEGER NOT NULL, started_at INTEGER,"
    " finished_at INTEGER, runner TEXT, exit_code INTEGER, signal INTEGER, error TEXT,"
    " log_path TEXT, remote_json TEXT, PRIMARY KEY (pipeline, n)) WITHOUT ROWID;"
    "CREATE TABLE events (source TEXT NOT NULL, id TEXT NOT NULL, first_seq INTEGER,"
    " count INTEGER NOT NULL, PRIMARY KEY (source, id)) WITHOUT ROWID;"
    "CREATE INDEX pipelines_to_forward ON pipelines(seq) WHERE state = 2 AND forward < 2;"
    "CREATE INDEX pipelines_forwarded ON pipelines(seq) WHERE forward = 2 AND state IN (2, 3);"
    "INSERT INTO events VALUES ('s', 'nothing', NULL, 0);"
    "PRAGMA user_version = 2;";

static void open_migrates_v2_keys_as_received_at_the_migration(void **state)
{
    char dir[64], path[128], sql[160];
    int64_t before = ke_now_us() - 1000000;
    sqlite3 *db = NULL;
    ke_store *s;

    (void)state;
    make_dir(dir);
    snprintf(path, sizeof path, "%s/kedro-events.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v2_sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    s = open_dir(dir);
    ke_store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(query_int(db, "PRAGMA user_version"), 3);
    snprintf(sql, sizeof sql, "SELECT received_at >= %lld AND received_at <= %lld FROM events",
             (long long)before, (long long)(ke_now_us() + 1000000));
    assert_int_equal(query_int(db, sql), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND"
                                   " name IN ('status_ended', 'events_first', 'events_unmatched')"),
                     3);
    sqlite3_close(db);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            sweep_removes_old_ended_pipelines_and_keeps_recent_and_live_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(age_counts_from_the_last_status_not_the_creation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_newest_record_is_kept_so_positions_are_never_reused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_parent_stays_while_its_child_lives, setup, teardown),
        cmocka_unit_test_setup_teardown(a_sweep_removes_whole_chains_in_either_time_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            the_writer_checks_again_and_keeps_a_parent_that_gained_a_child, setup, teardown),
        cmocka_unit_test_setup_teardown(a_key_goes_once_every_pipeline_it_started_is_gone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(keys_that_started_nothing_go_after_the_retention_time,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(each_request_removes_at_most_its_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(the_sweep_statements_seek_indexes, setup, teardown),
        cmocka_unit_test(open_migrates_v2_keys_as_received_at_the_migration),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
