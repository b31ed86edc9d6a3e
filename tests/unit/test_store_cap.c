/* test_store_cap.c -- unit tests of the store's size cap (ke_store_set_max_bytes in
 * server/store.c): accepts and inserts stop with KE_EFULL "store full: ", nothing stored is
 * lost, duplicates and the statuses of accepted runs still commit, a raised cap accepts
 * again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "store.h"
#include "store_internal.h"

#define CAP (1 << 20)        /* the cap the tests fill */
#define VALUE (16 << 10)     /* bytes of each pipeline's parameter */
#define MAX_FILL 1000        /* accepts before the cap must have answered */
#define ERROR_TEXT (4 << 10) /* a final status's error text, as long as a log tail */

/* An open store capped at CAP, and what the fill accepted. */
typedef struct fixture {
    ke_store *s;                       /* the store */
    char ids[MAX_FILL][KE_ID_LEN + 1]; /* accepted pipelines */
    size_t n;                          /* how many */
    ke_error full;                     /* the refusal that ended the fill */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    ke_error err;

    ke_error_clear(&err);
    if (f == NULL || ke_store_open(NULL, &f->s, &err) != KE_OK)
        return -1;
    ke_store_set_max_bytes(f->s, CAP);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    ke_store_close(f->s);
    free(f);
    return 0;
}

/* A READY pipeline whose parameter holds len bytes. */
static void make_sized(ke_pipeline *p, size_t len)
{
    char *value = malloc(len + 1);

    assert_non_null(value);
    memset(value, 'v', len);
    value[len] = '\0';
    assert_int_equal(ke_pipeline_init(p, "event00", KE_STATE_READY), KE_OK);
    assert_int_equal(ke_pipeline_add_param(p, "event", value, "string"), KE_OK);
    free(value);
}

/* A READY pipeline whose parameter holds VALUE bytes. */
static void make(ke_pipeline *p)
{
    make_sized(p, VALUE);
}

/* Accepts one pipeline for event key i; returns the store's answer. */
static int accept_one(fixture *f, size_t i, ke_error *err)
{
    ke_pipeline p, *orig = NULL;
    size_t n_orig = 0;
    char key[32];
    int dup = 0, rc;

    make(&p);
    snprintf(key, sizeof key, "e%zu", i);
    ke_error_clear(err);
    rc = ke_store_accept(f->s, "example.com", key, &p, 1, &orig, &n_orig, &dup, err);
    if (rc == KE_OK) {
        assert_int_equal(n_orig, 1);
        memcpy(f->ids[f->n++], orig[0].id, KE_ID_LEN + 1);
    }
    ke_pipelines_free(orig, n_orig);
    ke_pipeline_release(&p);
    return rc;
}

/* Accepts until the cap answers; every answer before it is OK. */
static void fill(fixture *f)
{
    size_t i;
    int rc = KE_OK;

    for (i = 0; i < MAX_FILL && rc == KE_OK; i++)
        rc = accept_one(f, i, &f->full);
    assert_int_equal(rc, KE_EFULL);
    assert_true(f->n > 10);
}

static void accept_past_the_cap_is_store_full_and_stores_nothing(void **state)
{
    fixture *f = *state;
    ke_pipeline got;
    ke_error err;
    size_t n, i;

    fill(f);
    assert_int_equal(strncmp(f->full.msg, "store full: ", 12), 0);
    assert_non_null(strstr(f->full.msg, "--max-store-bytes 1048576"));
    assert_non_null(strstr(f->full.msg, "kedro-events.db"));
    assert_int_equal(ke_err_grpc_status(KE_EFULL), 8); /* RESOURCE_EXHAUSTED */
    ke_error_clear(&err);
    assert_int_equal(ke_store_count(f->s, KE_STATE_READY, &n, &err), KE_OK);
    assert_int_equal(n, f->n); /* the refused one left nothing */
    for (i = 0; i < f->n; i++) {
        assert_int_equal(ke_store_get(f->s, f->ids[i], &got, &err), KE_OK);
        assert_int_equal(strlen(got.params[0].value), VALUE);
        ke_pipeline_release(&got);
    }
}

static void duplicate_of_an_accepted_event_is_answered_when_full(void **state)
{
    fixture *f = *state;
    ke_pipeline p, *orig = NULL;
    size_t n_orig = 0;
    ke_error err;
    int dup = 0;

    fill(f);
    make(&p);
    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(f->s, "example.com", "e0", &p, 1, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(n_orig, 1);
    assert_string_equal(orig[0].id, f->ids[0]);
    ke_pipelines_free(orig, n_orig);
    /* An insert that would grow the database is refused like an accept. */
    assert_int_equal(ke_store_insert(f->s, &p, &err), KE_EFULL);
    ke_pipeline_release(&p);
}

static void statuses_of_accepted_runs_commit_past_the_cap(void **state)
{
    fixture *f = *state;
    ke_status fin = {0};
    ke_pipeline claimed;
    char *text = malloc(ERROR_TEXT + 1);
    ke_error err;
    size_t i, n;
    int found;

    assert_non_null(text);
    memset(text, 'e', ERROR_TEXT);
    text[ERROR_TEXT] = '\0';
    fill(f);
    ke_error_clear(&err);
    for (i = 0; i < f->n; i++) {
        assert_int_equal(ke_store_claim(f->s, "local", &claimed, &found, &err), KE_OK);
        assert_int_equal(found, 1);
        fin.state = KE_STATE_FAILURE;
        fin.started_at = claimed.status[1].started_at;
        fin.finished_at = ke_now_us();
        fin.has_exit_code = 1;
        fin.exit_code = 1;
        fin.error = text;
        assert_int_equal(ke_store_finish(f->s, claimed.id, &fin, &err), KE_OK);
        ke_pipeline_release(&claimed);
    }
    assert_int_equal(ke_store_count(f->s, KE_STATE_FAILURE, &n, &err), KE_OK);
    assert_int_equal(n, f->n);
    assert_int_equal(ke_store_get(f->s, f->ids[f->n - 1], &claimed, &err), KE_OK);
    assert_int_equal(claimed.n_status, 3);
    assert_string_equal(claimed.status[2].error, text);
    ke_pipeline_release(&claimed);
    free(text);
}

static void raised_cap_accepts_again(void **state)
{
    fixture *f = *state;
    ke_error err;
    size_t before;

    fill(f);
    before = f->n;
    ke_store_set_max_bytes(f->s, 2 * CAP);
    assert_int_equal(accept_one(f, MAX_FILL, &err), KE_OK);
    ke_store_set_max_bytes(f->s, 0); /* no cap */
    assert_int_equal(accept_one(f, MAX_FILL + 1, &err), KE_OK);
    assert_int_equal(f->n, before + 2);
}

/* One queued accept's answer. */
typedef struct answer {
    int rc;                   /* its result */
    int duplicate;            /* answered as a resend */
    char id[KE_ID_LEN + 1];   /* the id of its (first) pipeline */
    char sent[KE_ID_LEN + 1]; /* the id of the pipeline it was given */
} answer;

static void on_accept(void *ctx, int rc, const ke_error *err, ke_pipeline *ps, size_t n,
                      int duplicate)
{
    answer *a = ctx;

    (void)err;
    a->rc = rc;
    a->duplicate = duplicate;
    if (rc == KE_OK && n > 0)
        memcpy(a->id, ps[0].id, KE_ID_LEN + 1);
    ke_pipelines_free(ps, n);
}

/* Queues an accept of one pipeline for key, value bytes long, answered into a. */
static void queue_accept(fixture *f, const char *key, size_t value, answer *a)
{
    ke_pipeline *p = calloc(1, sizeof *p);

    assert_non_null(p);
    make_sized(p, value);
    memcpy(a->sent, p->id, KE_ID_LEN + 1);
    a->rc = 99;
    ke_store_accept_async(f->s, "example.com", key, p, 1, on_accept, a);
}

/* One transaction of five accepts, the fourth past the cap: the writer first runs such a batch
 * without savepoints, then, the refusal found, rolls it back, puts every accept back as it was
 * queued and runs each in its own savepoint. The refused one stores nothing; the others
 * commit; the resend of b is answered b's pipeline as a duplicate; the resend of the refused
 * key is no duplicate and keeps its own pipeline. */
static void refused_accept_in_a_batch_leaves_the_others(void **state)
{
    static const struct {
        const char *key;
        size_t value;
    } sent[] = {{"a", 100}, {"b", 100}, {"b", 100}, {"d", 2 * CAP}, {"d", 100}};
    fixture *f = *state;
    answer a[5];
    ke_pipeline got;
    ke_error err;
    size_t n, i;

    ke_store_hold(f->s, 1);
    for (i = 0; i < 5; i++)
        queue_accept(f, sent[i].key, sent[i].value, &a[i]);
    ke_store_hold(f->s, 0);
    assert_int_equal(accept_one(f, 0, &err), KE_OK); /* answered after the five */
    assert_int_equal(a[3].rc, KE_EFULL);
    assert_int_equal(a[2].rc, KE_OK);
    assert_int_equal(a[2].duplicate, 1);
    assert_string_equal(a[2].id, a[1].sent);
    for (i = 0; i < 5; i++) {
        if (i == 2 || i == 3)
            continue;
        assert_int_equal(a[i].rc, KE_OK);
        assert_int_equal(a[i].duplicate, 0);
        assert_string_equal(a[i].id, a[i].sent);
        ke_error_clear(&err);
        assert_int_equal(ke_store_get(f->s, a[i].id, &got, &err), KE_OK);
        assert_int_equal(strlen(got.params[0].value), 100);
        ke_pipeline_release(&got);
    }
    assert_int_equal(ke_store_get(f->s, a[3].sent, &got, &err), KE_ENOTFOUND);
    assert_int_equal(ke_store_count(f->s, KE_STATE_READY, &n, &err), KE_OK);
    assert_int_equal(n, 4); /* a, b, the resend of d, and accept_one's */
}

#define CAP_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CAP_TEST(accept_past_the_cap_is_store_full_and_stores_nothing),
        CAP_TEST(duplicate_of_an_accepted_event_is_answered_when_full),
        CAP_TEST(statuses_of_accepted_runs_commit_past_the_cap),
        CAP_TEST(raised_cap_accepts_again),
        CAP_TEST(refused_accept_in_a_batch_leaves_the_others),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
