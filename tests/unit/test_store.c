/* test_store.c -- unit tests of the in-memory store and the pipeline record (server/store.c,
 * server/pipeline.c). */
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

#define N_THREADS 8           /* concurrent acceptors */
#define EVENTS_PER_THREAD 500 /* events each acceptor accepts */

/* ---- fixtures ---- */

static int store_setup(void **state)
{
    ke_store *s = NULL;
    ke_error err;

    ke_error_clear(&err);
    if (ke_store_open(NULL, &s, &err) != KE_OK || s == NULL)
        return -1;
    *state = s;
    return 0;
}

static int store_teardown(void **state)
{
    ke_store_close(*state);
    return 0;
}

/* A READY record named name with one parameter and one tag. */
static void make(ke_pipeline *p, const char *name, const char *parent)
{
    assert_int_equal(ke_pipeline_init(p, name, KE_STATE_READY), KE_OK);
    if (parent != NULL) {
        p->parent = strdup(parent);
        assert_non_null(p->parent);
    }
    assert_int_equal(ke_pipeline_add_param(p, "level", "3", "int"), KE_OK);
    assert_int_equal(ke_pipeline_add_tag(p, "team", "data"), KE_OK);
}

/* Inserts a record named name (child of parent, may be NULL) in state st; copies its id
 * into id when id is non-NULL. */
static void insert(ke_store *s, const char *name, const char *parent, ke_state st,
                   char id[KE_ID_LEN + 1])
{
    ke_pipeline p;
    ke_error err;

    make(&p, name, parent);
    p.status[0].state = st;
    ke_error_clear(&err);
    assert_int_equal(ke_store_insert(s, &p, &err), KE_OK);
    if (id != NULL)
        memcpy(id, p.id, KE_ID_LEN + 1);
    ke_pipeline_release(&p);
}

/* Lists with q and returns the number of records, checking that no token is issued. */
static size_t list_count(ke_store *s, const ke_list_query *q)
{
    ke_pipeline *out = NULL;
    char *next = NULL;
    size_t n = 0;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, q, &out, &n, &next, &err), KE_OK);
    assert_null(next);
    ke_pipelines_free(out, n);
    return n;
}

/* Asserts a and b hold the same record. */
static void assert_same_pipeline(const ke_pipeline *a, const ke_pipeline *b)
{
    size_t i;

    assert_string_equal(a->id, b->id);
    assert_string_equal(a->name, b->name);
    if (a->parent == NULL || b->parent == NULL)
        assert_ptr_equal(a->parent, b->parent);
    else
        assert_string_equal(a->parent, b->parent);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->n_params, b->n_params);
    for (i = 0; i < a->n_params; i++) {
        assert_string_equal(a->params[i].name, b->params[i].name);
        assert_string_equal(a->params[i].value, b->params[i].value);
        assert_string_equal(a->params[i].type, b->params[i].type);
    }
    assert_int_equal(a->n_tags, b->n_tags);
    for (i = 0; i < a->n_tags; i++) {
        assert_string_equal(a->tags[i].key, b->tags[i].key);
        assert_string_equal(a->tags[i].value, b->tags[i].value);
    }
    assert_int_equal(a->n_status, b->n_status);
    for (i = 0; i < a->n_status; i++) {
        assert_int_equal(a->status[i].state, b->status[i].state);
        assert_int_equal(a->status[i].changed_at, b->status[i].changed_at);
    }
}

/* ---- accept ---- */

static void accept_records_every_pipeline_and_answers_copies(void **state)
{
    ke_store *s = *state;
    ke_pipeline ps[3], *orig = NULL, got;
    size_t n_orig = 99, i;
    int dup = 99;
    ke_error err;

    make(&ps[0], "a", NULL);
    make(&ps[1], "b", NULL);
    make(&ps[2], "c", NULL);
    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(s, "example.com", "e1", ps, 3, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(n_orig, 3);
    assert_non_null(orig);
    for (i = 0; i < 3; i++) {
        /* A copy: equal content, its own memory. */
        assert_same_pipeline(&orig[i], &ps[i]);
        assert_ptr_not_equal(orig[i].name, ps[i].name);
        assert_ptr_not_equal(orig[i].params, ps[i].params);
        assert_int_equal(ke_store_get(s, ps[i].id, &got, &err), KE_OK);
        assert_same_pipeline(&got, &ps[i]);
        ke_pipeline_release(&got);
    }
    ke_pipelines_free(orig, n_orig);
    for (i = 0; i < 3; i++)
        ke_pipeline_release(&ps[i]);
}

static void accept_same_source_and_id_answers_the_original_pipelines(void **state)
{
    ke_store *s = *state;
    ke_pipeline first[2], again[2], *orig = NULL;
    ke_list_query q = {0};
    size_t n_orig = 0, i;
    int dup = -1;
    ke_error err;

    make(&first[0], "a", NULL);
    make(&first[1], "b", NULL);
    make(&again[0], "a", NULL);
    make(&again[1], "b", NULL);
    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(s, "example.com", "e1", first, 2, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 0);
    ke_pipelines_free(orig, n_orig);

    assert_int_equal(ke_store_accept(s, "example.com", "e1", again, 2, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(n_orig, 2);
    for (i = 0; i < 2; i++) {
        assert_string_equal(orig[i].id, first[i].id);
        assert_string_not_equal(orig[i].id, again[i].id);
    }
    ke_pipelines_free(orig, n_orig);

    /* Nothing new was stored. */
    assert_int_equal(list_count(s, &q), 2);
    for (i = 0; i < 2; i++) {
        ke_pipeline got;

        assert_int_equal(ke_store_get(s, again[i].id, &got, &err), KE_ENOTFOUND);
        ke_pipeline_release(&first[i]);
        ke_pipeline_release(&again[i]);
    }
}

static void accept_same_id_from_another_source_is_not_a_duplicate(void **state)
{
    ke_store *s = *state;
    ke_pipeline p1, p2, *orig = NULL;
    ke_list_query q = {0};
    size_t n_orig = 0;
    int dup = -1;
    ke_error err;

    make(&p1, "a", NULL);
    make(&p2, "a", NULL);
    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(s, "example.com", "e1", &p1, 1, &orig, &n_orig, &dup, &err),
                     KE_OK);
    ke_pipelines_free(orig, n_orig);
    assert_int_equal(ke_store_accept(s, "example.org", "e1", &p2, 1, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(n_orig, 1);
    assert_string_equal(orig[0].id, p2.id);
    ke_pipelines_free(orig, n_orig);
    assert_int_equal(list_count(s, &q), 2);
    ke_pipeline_release(&p1);
    ke_pipeline_release(&p2);
}

/* The key is (source, id) as a pair, not their concatenation. */
static void accept_keys_do_not_collide_when_source_and_id_concatenate_alike(void **state)
{
    ke_store *s = *state;
    ke_pipeline p1, p2, *orig = NULL;
    size_t n_orig = 0;
    int dup = -1;
    ke_error err;

    make(&p1, "a", NULL);
    make(&p2, "a", NULL);
    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(s, "ab", "c", &p1, 1, &orig, &n_orig, &dup, &err), KE_OK);
    ke_pipelines_free(orig, n_orig);
    assert_int_equal(ke_store_accept(s, "a", "bc", &p2, 1, &orig, &n_orig, &dup, &err), KE_OK);
    assert_int_equal(dup, 0);
    ke_pipelines_free(orig, n_orig);
    ke_pipeline_release(&p1);
    ke_pipeline_release(&p2);
}

static void accept_remembers_an_event_that_started_no_pipelines(void **state)
{
    ke_store *s = *state;
    ke_pipeline p, *orig = NULL;
    ke_list_query q = {0};
    size_t n_orig = 99;
    int dup = -1;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(s, "example.com", "e0", NULL, 0, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(n_orig, 0);
    ke_pipelines_free(orig, n_orig);

    /* Even when the second try would start something, it is a duplicate with nothing. */
    make(&p, "a", NULL);
    assert_int_equal(ke_store_accept(s, "example.com", "e0", &p, 1, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(n_orig, 0);
    ke_pipelines_free(orig, n_orig);
    assert_int_equal(list_count(s, &q), 0);
    ke_pipeline_release(&p);
}

/* ---- insert / get ---- */

static void insert_then_get_answers_a_copy(void **state)
{
    ke_store *s = *state;
    ke_pipeline p, got;
    ke_error err;

    make(&p, "a", NULL);
    ke_error_clear(&err);
    assert_int_equal(ke_store_insert(s, &p, &err), KE_OK);
    assert_int_equal(ke_store_get(s, p.id, &got, &err), KE_OK);
    assert_same_pipeline(&got, &p);
    assert_int_equal(err.code, KE_OK);
    ke_pipeline_release(&got);
    ke_pipeline_release(&p);
}

static void insert_with_known_parent_is_stored(void **state)
{
    ke_store *s = *state;
    char parent[KE_ID_LEN + 1], child[KE_ID_LEN + 1];
    ke_pipeline got;
    ke_error err;

    insert(s, "parent", NULL, KE_STATE_READY, parent);
    insert(s, "child", parent, KE_STATE_READY, child);
    ke_error_clear(&err);
    assert_int_equal(ke_store_get(s, child, &got, &err), KE_OK);
    assert_string_equal(got.parent, parent);
    ke_pipeline_release(&got);
}

static void insert_with_unknown_parent_is_not_found_and_stores_nothing(void **state)
{
    ke_store *s = *state;
    static const char *const parents[] = {
        "00000000-0000-0000-0000-000000000000",
        "no-such-parent",
        "an-id-that-is-much-longer-than-a-uuid-could-ever-be-0123456789",
    };
    ke_list_query q = {0};
    ke_pipeline p, got;
    ke_error err;
    size_t i;

    for (i = 0; i < sizeof parents / sizeof parents[0]; i++) {
        make(&p, "child", parents[i]);
        ke_error_clear(&err);
        assert_int_equal(ke_store_insert(s, &p, &err), KE_ENOTFOUND);
        assert_int_equal(err.code, KE_ENOTFOUND);
        assert_non_null(strstr(err.msg, "not found"));
        assert_int_equal(ke_store_get(s, p.id, &got, NULL), KE_ENOTFOUND);
        ke_pipeline_release(&p);
    }
    assert_int_equal(list_count(s, &q), 0);
}

static void get_unknown_id_is_not_found(void **state)
{
    ke_store *s = *state;
    ke_pipeline got;
    ke_error err;

    insert(s, "a", NULL, KE_STATE_READY, NULL);
    ke_error_clear(&err);
    assert_int_equal(ke_store_get(s, "00000000-0000-0000-0000-000000000000", &got, &err),
                     KE_ENOTFOUND);
    assert_int_equal(err.code, KE_ENOTFOUND);
    assert_non_null(strstr(err.msg, "00000000-0000-0000-0000-000000000000"));
    assert_int_equal(ke_store_get(s, "", &got, NULL), KE_ENOTFOUND);
    assert_int_equal(
        ke_store_get(s, "an-id-that-is-much-longer-than-a-uuid-could-ever-be", &got, NULL),
        KE_ENOTFOUND);
    assert_null(got.name);
}

/* ---- list ---- */

static void list_answers_newest_first(void **state)
{
    ke_store *s = *state;
    char ids[4][KE_ID_LEN + 1];
    ke_list_query q = {0};
    ke_pipeline *out = NULL;
    char *next = NULL;
    size_t n = 0, i;
    ke_error err;

    for (i = 0; i < 4; i++)
        insert(s, "a", NULL, KE_STATE_READY, ids[i]);
    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, 4);
    assert_null(next);
    for (i = 0; i < 4; i++)
        assert_string_equal(out[i].id, ids[3 - i]);
    ke_pipelines_free(out, n);
}

static void list_of_an_empty_store_is_empty_without_token(void **state)
{
    ke_list_query q = {0};

    assert_int_equal(list_count(*state, &q), 0);
}

static void list_filters_by_name(void **state)
{
    ke_store *s = *state;
    ke_list_query q = {0};
    ke_pipeline *out = NULL;
    char *next = NULL;
    size_t n = 0, i;
    ke_error err;

    insert(s, "a", NULL, KE_STATE_READY, NULL);
    insert(s, "b", NULL, KE_STATE_READY, NULL);
    insert(s, "a", NULL, KE_STATE_READY, NULL);
    q.name = "a";
    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++)
        assert_string_equal(out[i].name, "a");
    ke_pipelines_free(out, n);
    q.name = "missing";
    assert_int_equal(list_count(s, &q), 0);
    q.name = ""; /* empty matches everything */
    assert_int_equal(list_count(s, &q), 3);
}

static void list_filters_by_parent(void **state)
{
    ke_store *s = *state;
    char p1[KE_ID_LEN + 1], p2[KE_ID_LEN + 1], c1[KE_ID_LEN + 1];
    ke_list_query q = {0};
    ke_pipeline *out = NULL;
    char *next = NULL;
    size_t n = 0;
    ke_error err;

    insert(s, "parent", NULL, KE_STATE_READY, p1);
    insert(s, "parent", NULL, KE_STATE_READY, p2);
    insert(s, "child", p1, KE_STATE_READY, c1);
    insert(s, "child", p2, KE_STATE_READY, NULL);
    q.parent = p1;
    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].id, c1);
    assert_string_equal(out[0].parent, p1);
    ke_pipelines_free(out, n);
    q.parent = c1; /* no children */
    assert_int_equal(list_count(s, &q), 0);
}

static void list_filters_by_state(void **state)
{
    ke_store *s = *state;
    char started[KE_ID_LEN + 1];
    ke_list_query q = {0};
    ke_pipeline *out = NULL;
    char *next = NULL;
    size_t n = 0;
    ke_error err;

    insert(s, "a", NULL, KE_STATE_READY, NULL);
    insert(s, "a", NULL, KE_STATE_STARTED, started);
    insert(s, "a", NULL, KE_STATE_READY, NULL);
    q.state = KE_STATE_STARTED;
    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].id, started);
    assert_int_equal(ke_pipeline_state(&out[0]), KE_STATE_STARTED);
    ke_pipelines_free(out, n);
    q.state = KE_STATE_READY;
    assert_int_equal(list_count(s, &q), 2);
    q.state = KE_STATE_FAILURE;
    assert_int_equal(list_count(s, &q), 0);
}

static void list_combines_filters(void **state)
{
    ke_store *s = *state;
    char parent[KE_ID_LEN + 1];
    ke_list_query q = {0};

    insert(s, "parent", NULL, KE_STATE_READY, parent);
    insert(s, "a", parent, KE_STATE_READY, NULL);
    insert(s, "a", parent, KE_STATE_SUCCESS, NULL);
    insert(s, "b", parent, KE_STATE_READY, NULL);
    insert(s, "a", NULL, KE_STATE_READY, NULL);
    q.name = "a";
    q.parent = parent;
    q.state = KE_STATE_READY;
    assert_int_equal(list_count(s, &q), 1);
}

/* Pages through q and checks every page; returns the number of records visited and
 * writes their ids (newest first) into seen. */
static size_t page_all(ke_store *s, ke_list_query q, char seen[][KE_ID_LEN + 1], size_t cap)
{
    ke_pipeline *out = NULL;
    char *next = NULL, *token = NULL;
    size_t n = 0, total = 0, pages = 0, i;
    ke_error err;

    do {
        q.page_token = token;
        ke_error_clear(&err);
        assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
        assert_true(n <= q.limit);
        assert_true(n > 0); /* a token never leads to an empty page */
        for (i = 0; i < n; i++) {
            assert_true(total < cap);
            memcpy(seen[total++], out[i].id, KE_ID_LEN + 1);
        }
        ke_pipelines_free(out, n);
        if (next != NULL)
            assert_int_equal(n, q.limit); /* only a full page has a successor */
        free(token);
        token = next;
        pages++;
        assert_true(pages < 100);
    } while (token != NULL);
    return total;
}

static void list_pages_of_two_visit_five_records_exactly_once(void **state)
{
    ke_store *s = *state;
    char ids[5][KE_ID_LEN + 1], seen[8][KE_ID_LEN + 1];
    ke_list_query q = {0};
    size_t i;

    for (i = 0; i < 5; i++)
        insert(s, "a", NULL, KE_STATE_READY, ids[i]);
    q.limit = 2;
    assert_int_equal(page_all(s, q, seen, 8), 5);
    for (i = 0; i < 5; i++) /* each once, newest first */
        assert_string_equal(seen[i], ids[4 - i]);
}

static void list_last_page_has_no_token(void **state)
{
    ke_store *s = *state;
    ke_list_query q = {0};
    ke_pipeline *out = NULL;
    char *next = NULL, *t1 = NULL, *t2 = NULL;
    size_t n = 0;
    ke_error err;
    int i;

    for (i = 0; i < 5; i++)
        insert(s, "a", NULL, KE_STATE_READY, NULL);
    q.limit = 2;
    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, 2);
    assert_non_null(next);
    ke_pipelines_free(out, n);
    t1 = next;
    q.page_token = t1;
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, 2);
    assert_non_null(next);
    ke_pipelines_free(out, n);
    t2 = next;
    q.page_token = t2;
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, 1);
    assert_null(next);
    ke_pipelines_free(out, n);
    free(t1);
    free(t2);
}

/* Exactly a page's worth of records left: no token pointing at an empty page. */
static void list_full_last_page_has_no_token(void **state)
{
    ke_store *s = *state;
    char seen[8][KE_ID_LEN + 1];
    ke_list_query q = {0};
    int i;

    for (i = 0; i < 4; i++)
        insert(s, "a", NULL, KE_STATE_READY, NULL);
    q.limit = 2;
    assert_int_equal(page_all(s, q, seen, 8), 4);
    q.limit = 4;
    assert_int_equal(page_all(s, q, seen, 8), 4);
}

static void list_pages_through_a_filter_visit_each_match_once(void **state)
{
    ke_store *s = *state;
    char ids[6][KE_ID_LEN + 1], seen[8][KE_ID_LEN + 1];
    ke_list_query q = {0};
    size_t i, k = 0;

    for (i = 0; i < 12; i++) {
        if (i % 2 == 0)
            insert(s, "match", NULL, KE_STATE_READY, ids[k++]);
        else
            insert(s, "other", NULL, KE_STATE_READY, NULL);
    }
    q.name = "match";
    q.limit = 2;
    assert_int_equal(page_all(s, q, seen, 8), 6);
    for (i = 0; i < 6; i++)
        assert_string_equal(seen[i], ids[5 - i]);
}

static void list_token_not_issued_is_invalid(void **state)
{
    static const char *const bogus[] = {"bogus", "m999999", "m",  "mx", "m-1",
                                        "m1x",   "1",       "M1", "m 1"};
    ke_store *s = *state;
    ke_list_query q = {0};
    ke_pipeline *out = (ke_pipeline *)&q; /* not NULL: the call must reset it */
    char *next = (char *)&q;
    size_t n = 99, i;
    ke_error err;

    for (i = 0; i < 5; i++)
        insert(s, "a", NULL, KE_STATE_READY, NULL);
    for (i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        q.page_token = bogus[i];
        ke_error_clear(&err);
        assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_EINVAL);
        assert_int_equal(err.code, KE_EINVAL);
        assert_non_null(strstr(err.msg, bogus[i]));
        assert_null(out);
        assert_null(next);
        assert_int_equal(n, 0);
    }
}

static void list_limit_zero_answers_the_default_page_size(void **state)
{
    ke_store *s = *state;
    ke_list_query q = {0};
    ke_pipeline *out = NULL;
    char *next = NULL;
    size_t n = 0, i;
    ke_error err;

    for (i = 0; i < KE_LIST_DEFAULT_LIMIT + 5; i++)
        insert(s, "a", NULL, KE_STATE_READY, NULL);
    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, KE_LIST_DEFAULT_LIMIT);
    assert_non_null(next);
    ke_pipelines_free(out, n);
    q.page_token = next;
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, 5);
    assert_null(next);
    ke_pipelines_free(out, n);
    free((char *)q.page_token);
}

static void list_limit_above_the_maximum_is_capped(void **state)
{
    ke_store *s = *state;
    ke_list_query q = {0};
    ke_pipeline *out = NULL;
    char *next = NULL;
    size_t n = 0, i;
    ke_error err;

    for (i = 0; i < KE_LIST_MAX_LIMIT + 1; i++)
        insert(s, "a", NULL, KE_STATE_READY, NULL);
    q.limit = KE_LIST_MAX_LIMIT * 10;
    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, KE_LIST_MAX_LIMIT);
    assert_non_null(next);
    ke_pipelines_free(out, n);
    free(next);
}

/* ---- concurrency ---- */

typedef struct worker {
    ke_store *store; /* shared store */
    int thread;      /* index, part of every event id */
    int failures;    /* accepts that did not answer OK, fresh, with one record */
} worker;

static void *accept_many(void *arg)
{
    worker *w = arg;
    char id[64];
    int i;

    for (i = 0; i < EVENTS_PER_THREAD; i++) {
        ke_pipeline p, *orig = NULL;
        size_t n_orig = 0;
        int dup = -1;

        snprintf(id, sizeof id, "t%d-e%d", w->thread, i);
        if (ke_pipeline_init(&p, id, KE_STATE_READY) != KE_OK) {
            w->failures++;
            continue;
        }
        if (ke_store_accept(w->store, "example.com", id, &p, 1, &orig, &n_orig, &dup, NULL) !=
                KE_OK ||
            dup != 0 || n_orig != 1 || strcmp(orig[0].id, p.id) != 0)
            w->failures++;
        ke_pipelines_free(orig, n_orig);
        /* Accepting it again answers the same record. */
        if (ke_store_accept(w->store, "example.com", id, &p, 1, &orig, &n_orig, &dup, NULL) !=
                KE_OK ||
            dup != 1 || n_orig != 1 || strcmp(orig[0].id, p.id) != 0)
            w->failures++;
        ke_pipelines_free(orig, n_orig);
        ke_pipeline_release(&p);
    }
    return NULL;
}

static void accept_from_eight_threads_stores_every_event_exactly_once(void **state)
{
    ke_store *s = *state;
    pthread_t th[N_THREADS];
    worker w[N_THREADS];
    ke_list_query q = {0};
    ke_pipeline *out = NULL;
    char *next = NULL;
    static unsigned char seen[N_THREADS][EVENTS_PER_THREAD];
    size_t n = 0, i;
    int t, e;
    ke_error err;

    memset(seen, 0, sizeof seen);
    for (t = 0; t < N_THREADS; t++) {
        w[t].store = s;
        w[t].thread = t;
        w[t].failures = 0;
        assert_int_equal(pthread_create(&th[t], NULL, accept_many, &w[t]), 0);
    }
    for (t = 0; t < N_THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(w[t].failures, 0);
    }

    /* Every record once: the names (= event ids) cover each (thread, event) exactly once. */
    q.limit = KE_LIST_MAX_LIMIT;
    ke_error_clear(&err);
    do {
        assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
        for (i = 0; i < n; i++) {
            assert_int_equal(sscanf(out[i].name, "t%d-e%d", &t, &e), 2);
            assert_true(t >= 0 && t < N_THREADS && e >= 0 && e < EVENTS_PER_THREAD);
            assert_int_equal(seen[t][e], 0);
            seen[t][e] = 1;
        }
        ke_pipelines_free(out, n);
        free((char *)q.page_token);
        q.page_token = next;
    } while (next != NULL);
    for (t = 0; t < N_THREADS; t++)
        for (e = 0; e < EVENTS_PER_THREAD; e++)
            assert_int_equal(seen[t][e], 1);
}

/* ---- the pipeline record ---- */

static void pipeline_init_makes_a_record_in_the_given_state(void **state)
{
    ke_pipeline p, q;

    (void)state;
    assert_int_equal(ke_pipeline_init(&p, "a", KE_STATE_STAGED), KE_OK);
    assert_int_equal(ke_pipeline_init(&q, "a", KE_STATE_STAGED), KE_OK);
    assert_int_equal(strlen(p.id), KE_ID_LEN);
    assert_string_not_equal(p.id, q.id);
    assert_string_equal(p.name, "a");
    assert_null(p.parent);
    assert_int_equal(p.n_status, 1);
    assert_int_equal(ke_pipeline_state(&p), KE_STATE_STAGED);
    assert_int_equal(p.status[0].changed_at, p.created_at);
    assert_true(p.created_at > 0);
    ke_pipeline_release(&p);
    ke_pipeline_release(&q);
    assert_null(p.name);
    assert_int_equal(p.n_status, 0);
    assert_int_equal(ke_pipeline_state(&p), KE_STATE_UNSPECIFIED);
}

static void pipeline_copy_is_deep(void **state)
{
    ke_store *s = *state;
    char id[KE_ID_LEN + 1];
    ke_pipeline p, copy, got;
    ke_error err;

    make(&p, "a", "some-parent");
    p.status[0].runner = strdup("local");
    p.status[0].error = strdup("boom");
    p.status[0].log_path = strdup("/tmp/log");
    assert_int_equal(ke_pipeline_copy(&copy, &p), KE_OK);
    assert_same_pipeline(&copy, &p);
    assert_ptr_not_equal(copy.name, p.name);
    assert_ptr_not_equal(copy.parent, p.parent);
    assert_ptr_not_equal(copy.params, p.params);
    assert_ptr_not_equal(copy.params[0].value, p.params[0].value);
    assert_ptr_not_equal(copy.tags, p.tags);
    assert_ptr_not_equal(copy.tags[0].value, p.tags[0].value);
    assert_ptr_not_equal(copy.status, p.status);
    assert_ptr_not_equal(copy.status[0].runner, p.status[0].runner);
    assert_string_equal(copy.status[0].runner, "local");
    assert_string_equal(copy.status[0].error, "boom");
    assert_string_equal(copy.status[0].log_path, "/tmp/log");
    ke_pipeline_release(&copy);
    ke_pipeline_release(&p);

    /* Mutating a copy answered by the store leaves the stored record unchanged. */
    insert(s, "stored", NULL, KE_STATE_READY, id);
    ke_error_clear(&err);
    assert_int_equal(ke_store_get(s, id, &got, &err), KE_OK);
    assert_int_equal(ke_pipeline_copy(&copy, &got), KE_OK);
    copy.name[0] = 'X';
    copy.params[0].value[0] = '9';
    copy.tags[0].value[0] = 'D';
    copy.status[0].state = KE_STATE_FAILURE;
    assert_int_equal(ke_pipeline_add_tag(&copy, "extra", "x"), KE_OK);
    got.name[0] = 'Y';
    got.params[0].value[0] = '8';
    ke_pipeline_release(&copy);
    ke_pipeline_release(&got);
    assert_int_equal(ke_store_get(s, id, &got, &err), KE_OK);
    assert_string_equal(got.name, "stored");
    assert_string_equal(got.params[0].value, "3");
    assert_string_equal(got.tags[0].value, "data");
    assert_int_equal(got.n_tags, 1);
    assert_int_equal(ke_pipeline_state(&got), KE_STATE_READY);
    ke_pipeline_release(&got);
}

static void pipeline_copy_of_an_empty_record_is_empty(void **state)
{
    ke_pipeline p, copy;

    (void)state;
    memset(&p, 0, sizeof p);
    strcpy(p.id, "x");
    assert_int_equal(ke_pipeline_copy(&copy, &p), KE_OK);
    assert_string_equal(copy.id, "x");
    assert_null(copy.name);
    assert_null(copy.status);
    assert_int_equal(copy.n_params + copy.n_tags + copy.n_status, 0);
    ke_pipeline_release(&copy);
}

static void pipelines_free_and_release_accept_null(void **state)
{
    (void)state;
    ke_pipelines_free(NULL, 3);
    ke_pipeline_release(NULL);
    ke_store_close(NULL);
}

static void state_name_names_each_state(void **state)
{
    (void)state;
    assert_string_equal(ke_state_name(KE_STATE_UNSPECIFIED), "UNSPECIFIED");
    assert_string_equal(ke_state_name(KE_STATE_STAGED), "STAGED");
    assert_string_equal(ke_state_name(KE_STATE_READY), "READY");
    assert_string_equal(ke_state_name(KE_STATE_STARTED), "STARTED");
    assert_string_equal(ke_state_name(KE_STATE_SUCCESS), "SUCCESS");
    assert_string_equal(ke_state_name(KE_STATE_FAILURE), "FAILURE");
    assert_string_equal(ke_state_name(KE_STATE_ABORTED), "ABORTED");
    assert_string_equal(ke_state_name((ke_state)7), "UNSPECIFIED");
    assert_string_equal(ke_state_name((ke_state)-1), "UNSPECIFIED");
}

#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, store_setup, store_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(accept_records_every_pipeline_and_answers_copies),
        STORE_TEST(accept_same_source_and_id_answers_the_original_pipelines),
        STORE_TEST(accept_same_id_from_another_source_is_not_a_duplicate),
        STORE_TEST(accept_keys_do_not_collide_when_source_and_id_concatenate_alike),
        STORE_TEST(accept_remembers_an_event_that_started_no_pipelines),
        STORE_TEST(insert_then_get_answers_a_copy),
        STORE_TEST(insert_with_known_parent_is_stored),
        STORE_TEST(insert_with_unknown_parent_is_not_found_and_stores_nothing),
        STORE_TEST(get_unknown_id_is_not_found),
        STORE_TEST(list_answers_newest_first),
        STORE_TEST(list_of_an_empty_store_is_empty_without_token),
        STORE_TEST(list_filters_by_name),
        STORE_TEST(list_filters_by_parent),
        STORE_TEST(list_filters_by_state),
        STORE_TEST(list_combines_filters),
        STORE_TEST(list_pages_of_two_visit_five_records_exactly_once),
        STORE_TEST(list_last_page_has_no_token),
        STORE_TEST(list_full_last_page_has_no_token),
        STORE_TEST(list_pages_through_a_filter_visit_each_match_once),
        STORE_TEST(list_token_not_issued_is_invalid),
        STORE_TEST(list_limit_zero_answers_the_default_page_size),
        STORE_TEST(list_limit_above_the_maximum_is_capped),
        STORE_TEST(accept_from_eight_threads_stores_every_event_exactly_once),
        cmocka_unit_test(pipeline_init_makes_a_record_in_the_given_state),
        STORE_TEST(pipeline_copy_is_deep),
        cmocka_unit_test(pipeline_copy_of_an_empty_record_is_empty),
        cmocka_unit_test(pipelines_free_and_release_accept_null),
        cmocka_unit_test(state_name_names_each_state),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
