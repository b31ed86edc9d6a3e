/* test_store_stats.c -- unit tests of GetStats's store read (server/store_stats.c): final
 * statuses counted in the bucket of their changed_at (microseconds), only inside the window,
 * the STAGED/READY/STARTED counts, and the plan (the partial index status_ended). Times are
 * written into the test database through a second connection. */
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

/* The statics (the SQL) are what the plan test checks. */
#include "../../server/store_stats.c"

#include "store_dirs.h"

#define S_US 1000000LL
#define T0 1800000000LL /* the first bucket's start, seconds */

typedef struct fixture {
    char dir[64]; /* the data dir */
    ke_store *s;  /* the store */
    sqlite3 *db;  /* the test's own connection */
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

/* Stores a pipeline in state st; its id into id. */
static void add_p(fixture *f, ke_state st, char id[KE_ID_LEN + 1])
{
    ke_pipeline p;
    ke_error err;

    assert_int_equal(ke_pipeline_init(&p, "p", st), KE_OK);
    ke_error_clear(&err);
    assert_int_equal(ke_store_insert(f->s, &p, &err), KE_OK);
    memcpy(id, p.id, KE_ID_LEN + 1);
    ke_pipeline_release(&p);
}

/* A run that ended in state st at at_us: READY, STARTED (claimed), then the final status. */
static void ended_at(fixture *f, ke_state st, int64_t at_us)
{
    char id[KE_ID_LEN + 1], sql[256];
    ke_status s = {0};
    ke_error err;

    add_p(f, KE_STATE_READY, id);
    s.state = st;
    s.runner = "local";
    ke_error_clear(&err);
    assert_int_equal(ke_store_finish(f->s, id, &s, &err), KE_OK);
    snprintf(sql, sizeof sql,
             "UPDATE status SET changed_at = %lld WHERE state = %d AND pipeline = "
             "(SELECT seq FROM pipelines WHERE id = '%s')",
             (long long)at_us, (int)st, id);
    exec(f, sql);
}

static void read_activity(fixture *f, int64_t from_s, int step_s, size_t n, ke_store_ended *ended,
                          ke_store_activity *a)
{
    ke_error err;

    memset(a, 0, sizeof *a);
    a->ended = ended;
    a->n = n;
    a->from_us = from_s * S_US;
    a->step_us = step_s * S_US;
    ke_error_clear(&err);
    assert_int_equal(ke_store_activity_read(f->s, a, &err), KE_OK);
}

static void ended_runs_count_in_the_bucket_of_their_final_status(void **state)
{
    fixture *f = *state;
    ke_store_ended e[3];
    ke_store_activity a;

    ended_at(f, KE_STATE_SUCCESS, T0 * S_US);                 /* first instant of bucket 0 */
    ended_at(f, KE_STATE_SUCCESS, (T0 + 59) * S_US + 999999); /* last of bucket 0 */
    ended_at(f, KE_STATE_FAILURE, (T0 + 60) * S_US);          /* bucket 1 */
    ended_at(f, KE_STATE_ABORTED, (T0 + 150) * S_US);         /* bucket 2 */
    ended_at(f, KE_STATE_FAILURE, (T0 + 179) * S_US);         /* bucket 2 */
    ended_at(f, KE_STATE_SUCCESS, T0 * S_US - 1);             /* before the window */
    ended_at(f, KE_STATE_SUCCESS, (T0 + 180) * S_US);         /* after it */
    read_activity(f, T0, 60, 3, e, &a);
    assert_int_equal(e[0].success, 2);
    assert_int_equal(e[0].failure, 0);
    assert_int_equal(e[1].failure, 1);
    assert_int_equal(e[1].success, 0);
    assert_int_equal(e[2].aborted, 1);
    assert_int_equal(e[2].failure, 1);
    assert_int_equal(e[2].success, 0);
    /* The same rows in 10-second buckets from T0 + 150. */
    read_activity(f, T0 + 150, 10, 3, e, &a);
    assert_int_equal(e[0].aborted, 1);
    assert_int_equal(e[1].failure, 0);
    assert_int_equal(e[2].failure, 1);
}

static void the_states_in_progress_are_counted_now(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    ke_store_ended e[1];
    ke_store_activity a;
    ke_pipeline p;
    int found = 0, i;
    ke_error err;

    for (i = 0; i < 3; i++)
        add_p(f, KE_STATE_READY, id);
    add_p(f, KE_STATE_STAGED, id);
    ke_error_clear(&err);
    assert_int_equal(ke_store_claim(f->s, "local", &p, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    ke_pipeline_release(&p);
    ended_at(f, KE_STATE_SUCCESS, T0 * S_US); /* neither READY nor STARTED any more */
    read_activity(f, T0, 60, 1, e, &a);
    assert_int_equal(a.staged, 1);
    assert_int_equal(a.ready, 2);
    assert_int_equal(a.started, 1);
    assert_int_equal(e[0].success, 1);
}

static void a_bad_width_is_refused(void **state)
{
    fixture *f = *state;
    ke_store_ended e[1];
    ke_store_activity a = {e, 1, T0 * S_US, 0, 0, 0, 0};
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_store_activity_read(f->s, &a, &err), KE_EINVAL);
}

/* Neither read scans a table: the ended runs are a range of status_ended, the counts a range
 * of pipelines_state, whatever the number of rows stored. */
static void the_reads_seek_their_indexes(void **state)
{
    fixture *f = *state;
    char plan[1024];
    int i;

    for (i = 0; i < 20; i++)
        ended_at(f, KE_STATE_SUCCESS, (T0 - 86400 * i) * S_US);
    exec(f, "ANALYZE");
    plan_of(f->db, ENDED_SQL, plan, sizeof plan);
    print_message("ended: %s\n", plan);
    assert_non_null(strstr(plan, "SEARCH status USING INDEX status_ended (changed_at>? AND "
                                 "changed_at<?)"));
    assert_null(strstr(plan, "SCAN status"));
    plan_of(f->db, NOW_SQL, plan, sizeof plan);
    print_message("now: %s\n", plan);
    assert_non_null(strstr(plan, "pipelines_state (state=?)"));
    assert_null(strstr(plan, "SCAN pipelines"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ended_runs_count_in_the_bucket_of_their_final_status, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_states_in_progress_are_counted_now, setup, teardown),
        cmocka_unit_test_setup_teardown(a_bad_width_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(the_reads_seek_their_indexes, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
