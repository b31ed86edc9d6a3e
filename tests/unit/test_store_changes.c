/* test_store_changes.c -- unit tests of the store's change feed (server/store_changes.c): every
 * committed state change reaches each subscriber once, in order, with the state before it;
 * what a rolled-back request or a failed transaction wrote never does. */
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
#include "store_internal.h"

#define MAX_SEEN 64

/* What one subscriber saw. */
typedef struct seen {
    pthread_mutex_t lock;
    size_t n, calls;
    char id[MAX_SEEN][KE_ID_LEN + 1];
    char name[MAX_SEEN][32];
    char parent[MAX_SEEN][KE_ID_LEN + 1];
    ke_state prev[MAX_SEEN], state[MAX_SEEN];
} seen;

static void on_change(void *ctx, const ke_change *c, size_t n)
{
    seen *w = ctx;
    size_t i;

    pthread_mutex_lock(&w->lock);
    w->calls++;
    for (i = 0; i < n && w->n < MAX_SEEN; i++, w->n++) {
        snprintf(w->id[w->n], sizeof w->id[0], "%s", c[i].id);
        snprintf(w->name[w->n], sizeof w->name[0], "%s", c[i].name);
        snprintf(w->parent[w->n], sizeof w->parent[0], "%s", c[i].parent);
        w->prev[w->n] = c[i].prev;
        w->state[w->n] = c[i].state;
    }
    pthread_mutex_unlock(&w->lock);
}

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

static void insert(ke_store *s, const char *name, const char *parent, char id[KE_ID_LEN + 1],
                   int want_rc)
{
    ke_pipeline p;
    ke_error err;

    assert_int_equal(ke_pipeline_init(&p, name, KE_STATE_READY), KE_OK);
    if (parent != NULL)
        assert_non_null(p.parent = strdup(parent));
    if (id != NULL)
        memcpy(id, p.id, KE_ID_LEN + 1);
    ke_error_clear(&err);
    assert_int_equal(ke_store_insert(s, &p, &err), want_rc);
    ke_pipeline_release(&p);
}

/* Stored, claimed, finished: three changes with the states before them. */
static void test_lifecycle(void **state)
{
    ke_store *s = *state;
    seen w = {.lock = PTHREAD_MUTEX_INITIALIZER};
    char id[KE_ID_LEN + 1], child[KE_ID_LEN + 1];
    ke_status st = {0};
    ke_pipeline p = {0};
    ke_error err;
    int found = 0;

    ke_error_clear(&err);
    assert_int_equal(ke_store_subscribe(s, on_change, &w, &err), KE_OK);
    insert(s, "alpha", NULL, id, KE_OK);
    insert(s, "beta", id, child, KE_OK);
    assert_int_equal(ke_store_claim(s, "test", &p, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    assert_string_equal(p.id, id);
    ke_pipeline_release(&p);
    st.state = KE_STATE_FAILURE;
    st.finished_at = ke_now_us();
    st.error = "boom";
    assert_int_equal(ke_store_finish(s, id, &st, &err), KE_OK);
    ke_store_unsubscribe(s, on_change, &w);
    insert(s, "gamma", NULL, NULL, KE_OK); /* after unsubscribing: not seen */

    assert_int_equal(w.n, 4);
    assert_string_equal(w.id[0], id);
    assert_string_equal(w.name[0], "alpha");
    assert_string_equal(w.parent[0], "");
    assert_int_equal(w.prev[0], KE_STATE_UNSPECIFIED);
    assert_int_equal(w.state[0], KE_STATE_READY);
    assert_string_equal(w.id[1], child);
    assert_string_equal(w.parent[1], id);
    assert_string_equal(w.id[2], id);
    assert_string_equal(w.name[2], "alpha");
    assert_int_equal(w.prev[2], KE_STATE_READY);
    assert_int_equal(w.state[2], KE_STATE_STARTED);
    assert_int_equal(w.prev[3], KE_STATE_STARTED);
    assert_int_equal(w.state[3], KE_STATE_FAILURE);
}

static void on_insert_rc(void *ctx, int rc, const ke_error *err)
{
    (void)err;
    *(int *)ctx = rc;
}

/* Three inserts in one transaction, the middle one refused (its parent is unknown): its
 * savepoint is rolled back and only the two others are delivered, in one call. */
static void test_rolled_back_request(void **state)
{
    ke_store *s = *state;
    seen w = {.lock = PTHREAD_MUTEX_INITIALIZER};
    ke_pipeline p[3];
    int rc[3] = {99, 99, 99};
    ke_error err;
    int i;

    ke_error_clear(&err);
    assert_int_equal(ke_store_subscribe(s, on_change, &w, &err), KE_OK);
    for (i = 0; i < 3; i++) {
        assert_int_equal(ke_pipeline_init(&p[i], i == 1 ? "orphan" : "kept", KE_STATE_READY),
                         KE_OK);
        if (i == 1)
            assert_non_null(p[i].parent = strdup("00000000-0000-4000-8000-000000000000"));
    }
    ke_store_hold(s, 1);
    for (i = 0; i < 3; i++)
        ke_store_insert_async(s, &p[i], on_insert_rc, &rc[i]);
    ke_store_hold(s, 0);
    insert(s, "sync", NULL, NULL, KE_OK); /* queued after: done once the three are */
    for (i = 0; i < 3; i++)
        ke_pipeline_release(&p[i]);
    assert_int_equal(rc[0], KE_OK);
    assert_int_equal(rc[1], KE_ENOTFOUND);
    assert_int_equal(rc[2], KE_OK);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.name[0], "kept");
    assert_string_equal(w.name[1], "kept");
    assert_string_equal(w.name[2], "sync");
    ke_store_unsubscribe(s, on_change, &w);
}

/* At most KE_STORE_MAX_SUBSCRIBERS; each gets every change. */
static void test_many_subscribers(void **state)
{
    ke_store *s = *state;
    seen w[KE_STORE_MAX_SUBSCRIBERS + 1];
    ke_error err;
    int i;

    memset(w, 0, sizeof w);
    for (i = 0; i <= KE_STORE_MAX_SUBSCRIBERS; i++) {
        pthread_mutex_init(&w[i].lock, NULL);
        ke_error_clear(&err);
        assert_int_equal(ke_store_subscribe(s, on_change, &w[i], &err),
                         i < KE_STORE_MAX_SUBSCRIBERS ? KE_OK : KE_EINVAL);
    }
    insert(s, "one", NULL, NULL, KE_OK);
    for (i = 0; i < KE_STORE_MAX_SUBSCRIBERS; i++) {
        assert_int_equal(w[i].n, 1);
        ke_store_unsubscribe(s, on_change, &w[i]);
    }
    assert_int_equal(w[KE_STORE_MAX_SUBSCRIBERS].n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_rolled_back_request, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_many_subscribers, store_setup, store_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
