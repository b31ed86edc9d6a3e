/* test_store_ops.c -- unit tests of CancelPipeline's writer request (server/store_ops.c): each
 * state, kedro-graphql's pipelines, and a claim racing with it in one transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"
#include "store.h"
#include "store_internal.h"

/* ---- helpers */

static int store_setup(void **state)
{
    ke_store *s = NULL;
    ke_error err;

    ke_error_clear(&err);
    if (ke_store_open(NULL, &s, &err) != KE_OK)
        return -1;
    *state = s;
    return 0;
}

static int store_teardown(void **state)
{
    ke_store_close(*state);
    return 0;
}

/* What a cancel answered. */
typedef struct answer {
    pthread_mutex_t lock; /* guards done */
    pthread_cond_t cond;  /* done was set */
    int done;             /* the callback ran */
    int calls;            /* how many times it ran */
    int rc;               /* its rc */
    int running;          /* its running flag */
    ke_error err;         /* its error */
    ke_pipeline p;        /* a copy of its record */
} answer;

static void answer_init(answer *a)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
}

static void answer_release(answer *a)
{
    ke_pipeline_release(&a->p);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
}

static void on_cancel(void *ctx, int rc, const ke_error *err, ke_pipeline *p, int running)
{
    answer *a = ctx;

    pthread_mutex_lock(&a->lock);
    a->calls++;
    a->rc = rc;
    a->running = running;
    a->err = *err;
    if (p != NULL)
        assert_int_equal(ke_pipeline_copy(&a->p, p), KE_OK);
    else
        assert_int_not_equal(rc, KE_OK);
    a->done = 1;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

static void wait_answer(answer *a)
{
    pthread_mutex_lock(&a->lock);
    while (!a->done)
        pthread_cond_wait(&a->cond, &a->lock);
    pthread_mutex_unlock(&a->lock);
    assert_int_equal(a->calls, 1);
}

/* Cancels id and waits for the answer. */
static void cancel(ke_store *s, const char *id, answer *a)
{
    answer_init(a);
    ke_store_cancel_async(s, id, on_cancel, a);
    wait_answer(a);
}

static void insert_ready(ke_store *s, char id[KE_ID_LEN + 1])
{
    ke_pipeline p;
    ke_error err;

    assert_int_equal(ke_pipeline_init(&p, "event00", KE_STATE_READY), KE_OK);
    ke_error_clear(&err);
    assert_int_equal(ke_store_insert(s, &p, &err), KE_OK);
    memcpy(id, p.id, KE_ID_LEN + 1);
    ke_pipeline_release(&p);
}

static ke_state state_of(ke_store *s, const char *id, size_t *n_status)
{
    ke_pipeline p;
    ke_error err;
    ke_state st;

    ke_error_clear(&err);
    assert_int_equal(ke_store_get(s, id, &p, &err), KE_OK);
    st = ke_pipeline_state(&p);
    *n_status = p.n_status;
    ke_pipeline_release(&p);
    return st;
}

/* ---- tests */

static void cancel_ready_records_aborted_cancelled_at_once(void **state)
{
    ke_store *s = *state;
    char id[KE_ID_LEN + 1];
    const ke_status *last;
    size_t n;
    answer a;

    insert_ready(s, id);
    cancel(s, id, &a);
    assert_int_equal(a.rc, KE_OK);
    assert_int_equal(a.running, 0);
    assert_string_equal(a.p.id, id);
    last = &a.p.status[a.p.n_status - 1];
    assert_int_equal(last->state, KE_STATE_ABORTED);
    assert_string_equal(last->error, KE_CANCEL_ERROR);
    assert_true(last->finished_at != 0);
    assert_int_equal(state_of(s, id, &n), KE_STATE_ABORTED);
    assert_int_equal(n, 2);
    answer_release(&a);
}

static void cancel_started_says_running_and_writes_nothing(void **state)
{
    ke_store *s = *state;
    char id[KE_ID_LEN + 1];
    ke_pipeline claimed;
    ke_error err;
    int found;
    size_t n;
    answer a;

    insert_ready(s, id);
    ke_error_clear(&err);
    assert_int_equal(ke_store_claim(s, "local", &claimed, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    ke_pipeline_release(&claimed);
    cancel(s, id, &a);
    assert_int_equal(a.rc, KE_OK);
    assert_int_equal(a.running, 1);
    assert_int_equal(ke_pipeline_state(&a.p), KE_STATE_STARTED);
    assert_int_equal(state_of(s, id, &n), KE_STATE_STARTED);
    assert_int_equal(n, 2);
    answer_release(&a);
}

static void cancel_ended_unknown_and_forwarded_are_refused(void **state)
{
    ke_store *s = *state;
    char id[KE_ID_LEN + 1], msg[128];
    ke_forward_item *items = NULL;
    ke_remote_update u;
    ke_status st = {0};
    ke_error err;
    size_t n;
    answer a;

    insert_ready(s, id); /* ended */
    st.state = KE_STATE_SUCCESS;
    ke_error_clear(&err);
    assert_int_equal(ke_store_finish(s, id, &st, &err), KE_OK);
    cancel(s, id, &a);
    assert_int_equal(a.rc, KE_ESTATE);
    snprintf(msg, sizeof msg, "pipeline %s has already ended (SUCCESS)", id);
    assert_string_equal(a.err.msg, msg);
    answer_release(&a);

    cancel(s, "00000000-0000-4000-8000-000000000000", &a); /* unknown */
    assert_int_equal(a.rc, KE_ENOTFOUND);
    answer_release(&a);

    insert_ready(s, id); /* taken by the kedro-graphql forwarder: forward = 1 */
    assert_int_equal(ke_store_take_forward(s, 0, 10, &items, &n, &err), KE_OK);
    assert_int_equal(n, 1);
    ke_forward_items_free(items, n);
    cancel(s, id, &a);
    assert_int_equal(a.rc, KE_ESTATE);
    assert_non_null(strstr(a.err.msg, "is being handed to kedro-graphql"));
    answer_release(&a);

    memset(&u, 0, sizeof u); /* forwarded: forward = 2 */
    u.id = id;
    u.remote_id = "kg-0042";
    u.st.state = KE_STATE_READY;
    assert_int_equal(ke_store_apply_remote(s, &u, 1, NULL, &err), KE_OK);
    cancel(s, id, &a);
    assert_int_equal(a.rc, KE_ESTATE);
    assert_non_null(strstr(a.err.msg, "handed to kedro-graphql as kg-0042: cancel it there"));
    answer_release(&a);
    assert_int_equal(state_of(s, id, &n), KE_STATE_READY);
}

/* A claim run on its own thread (ke_store_claim blocks until its commit). */
typedef struct claimer {
    ke_store *s;      /* the store */
    int found;        /* what it claimed */
    ke_pipeline p;    /* ... */
    int rc;           /* its result */
    pthread_t thread; /* it */
} claimer;

static void *claim_main(void *arg)
{
    claimer *c = arg;
    ke_error err;

    ke_error_clear(&err);
    c->rc = ke_store_claim(c->s, "local", &c->p, &c->found, &err);
    return NULL;
}

/* How many requests wait in the writer's queue. */
static int queued(ke_store *s)
{
    ke_req *r;
    int n = 0;

    pthread_mutex_lock(&s->qlock);
    for (r = s->head; r != NULL; r = r->next)
        n++;
    pthread_mutex_unlock(&s->qlock);
    return n;
}

/* A claim and a cancel of the only READY pipeline in one transaction, in the order asked:
 * whichever comes first wins, and the other sees it. */
static void race(ke_store *s, int claim_first)
{
    char id[KE_ID_LEN + 1];
    claimer c = {0};
    size_t n;
    answer a;

    insert_ready(s, id);
    answer_init(&a);
    c.s = s;
    ke_store_hold(s, 1);
    if (!claim_first)
        ke_store_cancel_async(s, id, on_cancel, &a);
    assert_int_equal(pthread_create(&c.thread, NULL, claim_main, &c), 0);
    while (queued(s) < (claim_first ? 1 : 2))
        usleep(1000);
    if (claim_first)
        ke_store_cancel_async(s, id, on_cancel, &a);
    ke_store_hold(s, 0);
    wait_answer(&a);
    pthread_join(c.thread, NULL);
    assert_int_equal(c.rc, KE_OK);
    assert_int_equal(a.rc, KE_OK);
    if (claim_first) {
        assert_int_equal(c.found, 1);
        assert_int_equal(a.running, 1);
        assert_int_equal(state_of(s, id, &n), KE_STATE_STARTED);
    } else {
        assert_int_equal(c.found, 0);
        assert_int_equal(a.running, 0);
        assert_int_equal(state_of(s, id, &n), KE_STATE_ABORTED);
    }
    assert_int_equal(n, 2);
    ke_pipeline_release(&c.p);
    answer_release(&a);
}

static void claim_then_cancel_in_one_transaction_finds_it_started(void **state)
{
    race(*state, 1);
}

static void cancel_then_claim_in_one_transaction_leaves_nothing_to_claim(void **state)
{
    race(*state, 0);
}

#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, store_setup, store_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(cancel_ready_records_aborted_cancelled_at_once),
        STORE_TEST(cancel_started_says_running_and_writes_nothing),
        STORE_TEST(cancel_ended_unknown_and_forwarded_are_refused),
        STORE_TEST(claim_then_cancel_in_one_transaction_finds_it_started),
        STORE_TEST(cancel_then_claim_in_one_transaction_leaves_nothing_to_claim),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
