/* test_store_lookup.c -- unit tests of the read side's duplicate check
 * (server/store_lookup.c, ke_store_find_accepted): what it finds, what it leaves to the writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "store.h"
#include "store_dirs.h"
#include "store_internal.h"

#define N_THREADS 24 /* lookups at once: more than the pool's connections */
#define N_ROUNDS 200 /* lookups per thread */

/* A READY record named name with one parameter and one tag. */
static void make(ke_pipeline *p, const char *name)
{
    assert_int_equal(ke_pipeline_init(p, name, KE_STATE_READY), KE_OK);
    assert_int_equal(ke_pipeline_add_param(p, "event", "{\"a\": \"\\u00e9 \\\"q\\\"\"}", "string"),
                     KE_OK);
    assert_int_equal(ke_pipeline_add_tag(p, "team", "dat\xc3\xa9"), KE_OK);
}

/* Accepts n records for (source, id) and frees what the store answers. */
static void accept(ke_store *s, const char *source, const char *id, ke_pipeline *ps, size_t n)
{
    ke_pipeline *orig = NULL;
    size_t n_orig = 0;
    int dup = -1;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(s, source, id, ps, n, &orig, &n_orig, &dup, &err), KE_OK);
    assert_int_equal(dup, 0);
    ke_pipelines_free(orig, n_orig);
}

static void find_answers_a_committed_key_once_it_was_asked_about(void **state)
{
    ke_store *s = *state;
    ke_pipeline ps[2], *got = NULL, one;
    size_t n = 99, i;
    ke_error err;

    make(&ps[0], "a");
    make(&ps[1], "b");
    accept(s, "example.com", "e1", ps, 2);
    /* The first question about a key reads nothing: most keys are new. */
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e1", &got, &n), 0);
    assert_null(got);
    assert_int_equal(n, 0);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e1", &got, &n), 1);
    assert_int_equal(n, 2);
    for (i = 0; i < 2; i++) {
        assert_same_pipeline(&got[i], &ps[i]);
        ke_error_clear(&err);
        assert_int_equal(ke_store_get(s, ps[i].id, &one, &err), KE_OK);
        assert_same_pipeline(&got[i], &one);
        ke_pipeline_release(&one);
        ke_pipeline_release(&ps[i]);
    }
    ke_pipelines_free(got, n);
}

static void find_does_not_answer_an_unknown_key_nor_another_source(void **state)
{
    ke_store *s = *state;
    ke_pipeline p, *got = NULL;
    size_t n = 0;
    int k;

    make(&p, "a");
    accept(s, "example.com", "e1", &p, 1);
    ke_pipeline_release(&p);
    for (k = 0; k < 2; k++) {
        assert_int_equal(ke_store_find_accepted(s, "example.org", "e1", &got, &n), 0);
        assert_int_equal(ke_store_find_accepted(s, "example.com", "e2", &got, &n), 0);
        assert_int_equal(ke_store_find_accepted(s, "example.co", "me1", &got, &n), 0);
        assert_null(got);
        assert_int_equal(n, 0);
    }
}

static void find_answers_a_key_that_started_nothing(void **state)
{
    ke_store *s = *state;
    ke_pipeline *got = NULL;
    size_t n = 99;

    accept(s, "example.com", "e0", NULL, 0);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e0", &got, &n), 0);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e0", &got, &n), 1);
    assert_null(got);
    assert_int_equal(n, 0);
}

static void find_shows_the_current_state(void **state)
{
    ke_store *s = *state;
    ke_pipeline p, *got = NULL, claimed;
    ke_status fin = {0};
    size_t n = 0;
    int found = 0;
    ke_error err;

    make(&p, "a");
    accept(s, "example.com", "e1", &p, 1);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e1", &got, &n), 0);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e1", &got, &n), 1);
    assert_int_equal(got[0].n_status, 1);
    ke_pipelines_free(got, n);
    ke_error_clear(&err);
    assert_int_equal(ke_store_claim(s, "test", &claimed, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    ke_pipeline_release(&claimed);
    fin.state = KE_STATE_SUCCESS;
    fin.has_exit_code = 1;
    assert_int_equal(ke_store_finish(s, p.id, &fin, &err), KE_OK);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e1", &got, &n), 1);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].n_status, 3);
    assert_int_equal(got[0].status[1].state, KE_STATE_STARTED);
    assert_int_equal(got[0].status[2].state, KE_STATE_SUCCESS);
    assert_true(got[0].status[2].has_exit_code);
    ke_pipelines_free(got, n);
    ke_pipeline_release(&p);
}

/* Where an accept's callback reports. */
typedef struct accepted {
    pthread_mutex_t lock; /* guards done */
    int done;             /* the callback ran */
    int rc;               /* its result */
} accepted;

/* A key whose pipeline holds more than the 64 KiB a read connection keeps of its last range
 * (and a control byte, a quote, UTF-8 and a NUL-free 200 KiB value): every resend answers the
 * whole value, read again each time. */
static void find_answers_a_large_range_whole_every_time(void **state)
{
    size_t len = 200 << 10, n = 0, i;
    ke_store *s = *state;
    ke_pipeline p, *got = NULL;
    char *value = malloc(len + 1);

    assert_non_null(value);
    for (i = 0; i < len; i++)
        value[i] = "ab\"\x01\xc3\xa9{}"[i % 8];
    value[len - 1] = 'z';
    value[len] = '\0';
    assert_int_equal(ke_pipeline_init(&p, "big", KE_STATE_READY), KE_OK);
    assert_int_equal(ke_pipeline_add_param(&p, "event", value, "string"), KE_OK);
    accept(s, "example.com", "big", &p, 1);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "big", &got, &n), 0); /* noted */
    for (i = 0; i < 3; i++) {
        assert_int_equal(ke_store_find_accepted(s, "example.com", "big", &got, &n), 1);
        assert_int_equal(n, 1);
        assert_string_equal(got[0].id, p.id);
        assert_int_equal(strlen(got[0].params[0].value), len);
        assert_memory_equal(got[0].params[0].value, value, len);
        ke_pipelines_free(got, n);
        got = NULL;
    }
    ke_pipeline_release(&p);
    free(value);
}

static void on_accepted(void *ctx, int rc, const ke_error *err, ke_pipeline *ps, size_t n,
                        int duplicate)
{
    accepted *a = ctx;

    (void)err;
    (void)duplicate;
    ke_pipelines_free(ps, n);
    pthread_mutex_lock(&a->lock);
    a->rc = rc;
    a->done = 1;
    pthread_mutex_unlock(&a->lock);
}

static void find_leaves_a_key_not_committed_yet_to_the_writer(void **state)
{
    ke_store *s = *state;
    accepted a = {PTHREAD_MUTEX_INITIALIZER, 0, -1};
    ke_pipeline *ps = calloc(1, sizeof *ps), *got = NULL, sync;
    size_t n = 0;
    int done = 0;

    assert_non_null(ps);
    make(ps, "a");
    ke_store_hold(s, 1); /* queued, not committed */
    ke_store_accept_async(s, "example.com", "e1", ps, 1, on_accepted, &a);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e1", &got, &n), 0);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e1", &got, &n), 0);
    assert_null(got);
    ke_store_hold(s, 0);
    make(&sync, "sync");
    accept(s, "example.com", "e2", &sync, 1); /* queued after: done once e1 is */
    ke_pipeline_release(&sync);
    pthread_mutex_lock(&a.lock);
    done = a.done;
    pthread_mutex_unlock(&a.lock);
    assert_int_equal(done, 1);
    assert_int_equal(a.rc, KE_OK);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e1", &got, &n), 1);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].name, "a");
    ke_pipelines_free(got, n);
}

/* One thread of lookups_from_many_threads_answer_the_same_records. */
typedef struct looker {
    ke_store *s;      /* the store */
    const char *want; /* the id every answer must carry */
    int found;        /* lookups that answered */
    int wrong;        /* answers that were not the record */
} looker;

static void *look(void *arg)
{
    looker *l = arg;
    ke_pipeline *got;
    size_t n;
    int i;

    for (i = 0; i < N_ROUNDS; i++) {
        if (!ke_store_find_accepted(l->s, "example.com", "e1", &got, &n))
            continue; /* no idle connection: the writer's to answer */
        l->found++;
        if (n != 1 || strcmp(got[0].id, l->want) != 0)
            l->wrong++;
        ke_pipelines_free(got, n);
    }
    return NULL;
}

static void lookups_from_many_threads_answer_the_same_records(void **state)
{
    ke_store *s = *state;
    pthread_t t[N_THREADS];
    looker l[N_THREADS];
    ke_pipeline p, *got = NULL;
    size_t n = 0;
    int i, found = 0;

    make(&p, "a");
    accept(s, "example.com", "e1", &p, 1);
    assert_int_equal(ke_store_find_accepted(s, "example.com", "e1", &got, &n), 0);
    for (i = 0; i < N_THREADS; i++) {
        l[i] = (looker){s, p.id, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, look, &l[i]), 0);
    }
    for (i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(l[i].wrong, 0);
        found += l[i].found;
    }
    assert_true(found > 0);
    ke_pipeline_release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(find_answers_a_committed_key_once_it_was_asked_about,
                                        store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(find_does_not_answer_an_unknown_key_nor_another_source,
                                        store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(find_answers_a_key_that_started_nothing, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(find_shows_the_current_state, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(find_answers_a_large_range_whole_every_time, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(find_leaves_a_key_not_committed_yet_to_the_writer,
                                        store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(lookups_from_many_threads_answer_the_same_records,
                                        store_setup, store_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
