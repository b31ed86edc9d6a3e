/* test_store.c -- unit tests of the SQLite store (group commit, durability, the runner's
 * claim/finish/recover) and the pipeline record (server/store.c, server/pipeline.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline.h"
#include "store.h"
#include "store_dirs.h"
#include "store_internal.h"

#define N_THREADS 8           /* concurrent acceptors */
#define EVENTS_PER_THREAD 500 /* events each acceptor accepts */

/* ---- fixtures ---- */

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
    /* each page is read in one snapshot, and that read transaction is over: an open one
     * would keep every later WAL frame from being checkpointed */
    assert_int_equal(sqlite3_get_autocommit(s->rdb), 1);
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
    static const char *const bogus[] = {"bogus", "m0", "m", "mx", "m-1", "m1x", "1", "M1", "m 1"};
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

/* ---- helpers for the durable store ---- */

#define WAIT_SECONDS 120 /* longest a test waits for the writer (valgrind is slow) */

static size_t count_in(ke_store *s, ke_state st)
{
    size_t n = 99;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_store_count(s, st, &n, &err), KE_OK);
    return n;
}

/* Asserts two status entries are equal in every field. */
static void assert_same_status(const ke_status *a, const ke_status *b)
{
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->changed_at, b->changed_at);
    assert_int_equal(a->started_at, b->started_at);
    assert_int_equal(a->finished_at, b->finished_at);
    assert_int_equal(a->has_exit_code, b->has_exit_code);
    if (a->has_exit_code)
        assert_int_equal(a->exit_code, b->exit_code);
    assert_int_equal(a->signal, b->signal);
    if (a->runner == NULL || b->runner == NULL)
        assert_ptr_equal(a->runner, b->runner);
    else
        assert_string_equal(a->runner, b->runner);
    if (a->error == NULL || b->error == NULL)
        assert_ptr_equal(a->error, b->error);
    else
        assert_string_equal(a->error, b->error);
    if (a->log_path == NULL || b->log_path == NULL)
        assert_ptr_equal(a->log_path, b->log_path);
    else
        assert_string_equal(a->log_path, b->log_path);
}

static void assert_same_history(const ke_pipeline *a, const ke_pipeline *b)
{
    size_t i;

    assert_same_pipeline(a, b);
    for (i = 0; i < a->n_status; i++)
        assert_same_status(&a->status[i], &b->status[i]);
}

/* Callbacks from the writer thread report into a tally shared by the test. */
typedef struct tally {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls; /* callbacks so far, all requests */
} tally;

#define CALL_IDS 4 /* ids a call keeps */

/* What one async request's callback saw. */
typedef struct call {
    tally *t;                          /* shared */
    ke_store *store;                   /* when set, the callback checks its ids are readable */
    int calls;                         /* how often this request's callback ran */
    int rc;                            /* its rc */
    int duplicate;                     /* accept: its duplicate flag */
    size_t n;                          /* accept: number of pipelines */
    char ids[CALL_IDS][KE_ID_LEN + 1]; /* accept: their ids */
    int visible;                       /* all ids could be read when the callback ran */
    char msg[512];                     /* err->msg, or "" */
} call;

static void tally_init(tally *t)
{
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->calls = 0;
}

static void tally_destroy(tally *t)
{
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

/* Waits until the tally has seen at least target callbacks; 0 on timeout. */
static int tally_wait(tally *t, int target)
{
    struct timespec until;
    int ok = 1;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_SECONDS;
    pthread_mutex_lock(&t->mu);
    while (ok && t->calls < target)
        ok = pthread_cond_timedwait(&t->cv, &t->mu, &until) == 0;
    ok = t->calls >= target;
    pthread_mutex_unlock(&t->mu);
    return ok;
}

static void call_init(call *c, tally *t)
{
    memset(c, 0, sizeof *c);
    c->t = t;
    c->rc = 12345;
    c->duplicate = -1;
}

static void on_accept(void *ctx, int rc, const ke_error *err, ke_pipeline *ps, size_t n,
                      int duplicate)
{
    call *c = ctx;
    int visible = 1;
    size_t i;

    /* Committed before the callback: the reader connection sees them. */
    for (i = 0; c->store != NULL && i < n; i++) {
        ke_pipeline got;

        if (ke_store_get(c->store, ps[i].id, &got, NULL) != KE_OK)
            visible = 0;
        ke_pipeline_release(&got);
    }
    pthread_mutex_lock(&c->t->mu);
    c->calls++;
    c->rc = rc;
    c->duplicate = duplicate;
    c->n = n;
    c->visible = visible;
    for (i = 0; i < n && i < CALL_IDS; i++)
        memcpy(c->ids[i], ps[i].id, KE_ID_LEN + 1);
    snprintf(c->msg, sizeof c->msg, "%s", err != NULL && rc != KE_OK ? err->msg : "");
    c->t->calls++;
    pthread_cond_broadcast(&c->t->cv);
    pthread_mutex_unlock(&c->t->mu);
    ke_pipelines_free(ps, n); /* the callee owns them */
}

static void on_insert(void *ctx, int rc, const ke_error *err)
{
    call *c = ctx;

    pthread_mutex_lock(&c->t->mu);
    c->calls++;
    c->rc = rc;
    snprintf(c->msg, sizeof c->msg, "%s", err != NULL && rc != KE_OK ? err->msg : "");
    c->t->calls++;
    pthread_cond_broadcast(&c->t->cv);
    pthread_mutex_unlock(&c->t->mu);
}

/* An array of n READY pipelines from malloc, named name. */
static ke_pipeline *make_many(const char *name, size_t n)
{
    ke_pipeline *ps = calloc(n, sizeof *ps);
    size_t i;

    assert_non_null(ps);
    for (i = 0; i < n; i++)
        make(&ps[i], name, NULL);
    return ps;
}

/* A gate holds the writer thread inside an accept callback, so that the
 * requests queued meanwhile are taken together as the next batch. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered; /* the writer is inside the callback */
    int open;    /* the callback may return */
} gate;

static void on_gate(void *ctx, int rc, const ke_error *err, ke_pipeline *ps, size_t n,
                    int duplicate)
{
    gate *g = ctx;

    (void)rc;
    (void)err;
    (void)duplicate;
    ke_pipelines_free(ps, n);
    pthread_mutex_lock(&g->mu);
    g->entered = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* Queues a request whose callback blocks, and waits until the writer is in it. */
static void gate_close(ke_store *s, gate *g)
{
    struct timespec until;
    int ok = 1;

    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->entered = g->open = 0;
    ke_store_accept_async(s, "gate", "gate", NULL, 0, on_gate, g);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_SECONDS;
    pthread_mutex_lock(&g->mu);
    while (ok && !g->entered)
        ok = pthread_cond_timedwait(&g->cv, &g->mu, &until) == 0;
    ok = g->entered;
    pthread_mutex_unlock(&g->mu);
    assert_true(ok);
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Destroys the gate once the writer has certainly left the callback (store closed). */
static void gate_destroy(gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* ---- durability: close and reopen the same directory ---- */

static void records_survive_close_and_reopen_with_full_status_history(void **state)
{
    char dir[64], child[KE_ID_LEN + 1];
    ke_pipeline ps[2], *orig = NULL, claimed, before[3], after;
    ke_list_query q = {0};
    ke_status fin = {0};
    ke_pipeline *out = NULL;
    char *next = NULL;
    size_t n_orig = 0, n = 0, i;
    int dup = -1, found = 0;
    ke_store *s;
    ke_error err;

    (void)state;
    make_dir(dir);
    s = open_dir(dir);
    make(&ps[0], "a", NULL);
    make(&ps[1], "b", NULL);
    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(s, "example.com", "e1", ps, 2, &orig, &n_orig, &dup, &err),
                     KE_OK);
    ke_pipelines_free(orig, n_orig);
    insert(s, "child", ps[1].id, KE_STATE_READY, child);

    /* ps[0] runs and fails: three status entries with every field used. */
    assert_int_equal(ke_store_claim(s, "local", &claimed, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    assert_string_equal(claimed.id, ps[0].id);
    fin.state = KE_STATE_FAILURE;
    fin.started_at = claimed.status[1].started_at;
    fin.finished_at = ke_now_us();
    fin.runner = "local";
    fin.has_exit_code = 1;
    fin.exit_code = 3;
    fin.error = "exit status 3";
    fin.log_path = "/var/log/ke/a.log";
    assert_int_equal(ke_store_finish(s, ps[0].id, &fin, &err), KE_OK);
    ke_pipeline_release(&claimed);
    assert_int_equal(ke_store_get(s, ps[0].id, &before[0], &err), KE_OK);
    assert_int_equal(ke_store_get(s, ps[1].id, &before[1], &err), KE_OK);
    assert_int_equal(ke_store_get(s, child, &before[2], &err), KE_OK);
    assert_int_equal(before[0].n_status, 3);
    ke_store_close(s);

    s = open_dir(dir);
    /* get answers every record with its whole history. */
    assert_int_equal(ke_store_get(s, ps[0].id, &after, &err), KE_OK);
    assert_same_history(&after, &before[0]);
    assert_int_equal(after.status[0].state, KE_STATE_READY);
    assert_int_equal(after.status[1].state, KE_STATE_STARTED);
    assert_string_equal(after.status[1].runner, "local");
    assert_true(after.status[1].started_at > 0);
    assert_int_equal(after.status[2].state, KE_STATE_FAILURE);
    assert_int_equal(after.status[2].exit_code, 3);
    assert_string_equal(after.status[2].error, "exit status 3");
    assert_string_equal(after.status[2].log_path, "/var/log/ke/a.log");
    assert_int_equal(after.status[2].finished_at, fin.finished_at);
    ke_pipeline_release(&after);
    assert_int_equal(ke_store_get(s, child, &after, &err), KE_OK);
    assert_same_history(&after, &before[2]);
    assert_string_equal(after.parent, ps[1].id);
    ke_pipeline_release(&after);

    /* list answers them too, newest first, with the current states. */
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, 3);
    assert_null(next);
    assert_same_history(&out[0], &before[2]);
    assert_same_history(&out[1], &before[1]);
    assert_same_history(&out[2], &before[0]);
    ke_pipelines_free(out, n);
    q.state = KE_STATE_FAILURE;
    assert_int_equal(list_count(s, &q), 1);
    assert_int_equal(count_in(s, KE_STATE_READY), 2);

    /* New records after reopen go on from where the old ones stopped. */
    insert(s, "later", NULL, KE_STATE_READY, NULL);
    q.state = KE_STATE_UNSPECIFIED;
    assert_int_equal(list_count(s, &q), 4);
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_string_equal(out[0].name, "later");
    ke_pipelines_free(out, n);
    ke_store_close(s);

    for (i = 0; i < 3; i++)
        ke_pipeline_release(&before[i]);
    for (i = 0; i < 2; i++)
        ke_pipeline_release(&ps[i]);
    remove_dir(dir);
}

static void accept_after_reopen_still_dedupes_and_answers_the_original_ids(void **state)
{
    char dir[64];
    ke_pipeline first[2], again[2], *orig = NULL;
    ke_list_query q = {0};
    size_t n_orig = 0, i;
    int dup = -1;
    ke_store *s;
    ke_error err;

    (void)state;
    make_dir(dir);
    s = open_dir(dir);
    for (i = 0; i < 2; i++) {
        make(&first[i], "a", NULL);
        make(&again[i], "a", NULL);
    }
    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(s, "example.com", "e1", first, 2, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 0);
    ke_pipelines_free(orig, n_orig);
    /* And an event that started nothing is remembered too. */
    assert_int_equal(ke_store_accept(s, "example.com", "e0", NULL, 0, &orig, &n_orig, &dup, &err),
                     KE_OK);
    ke_pipelines_free(orig, n_orig);
    ke_store_close(s);

    s = open_dir(dir);
    assert_int_equal(ke_store_accept(s, "example.com", "e1", again, 2, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(n_orig, 2);
    for (i = 0; i < 2; i++) {
        assert_string_equal(orig[i].id, first[i].id);
        assert_same_pipeline(&orig[i], &first[i]);
    }
    ke_pipelines_free(orig, n_orig);
    assert_int_equal(ke_store_accept(s, "example.com", "e0", again, 1, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(n_orig, 0);
    ke_pipelines_free(orig, n_orig);
    assert_int_equal(list_count(s, &q), 2);
    ke_store_close(s);

    /* A third open still knows them. */
    s = open_dir(dir);
    assert_int_equal(ke_store_accept(s, "example.com", "e1", again, 2, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 1);
    assert_string_equal(orig[0].id, first[0].id);
    ke_pipelines_free(orig, n_orig);
    ke_store_close(s);
    for (i = 0; i < 2; i++) {
        ke_pipeline_release(&first[i]);
        ke_pipeline_release(&again[i]);
    }
    remove_dir(dir);
}

/* ---- accept_async / insert_async ---- */

static void accept_async_calls_back_once_after_commit_with_the_pipelines(void **state)
{
    ke_store *s = *state;
    ke_pipeline *ps = make_many("a", 2), *dups = make_many("a", 2);
    char ids[2][KE_ID_LEN + 1];
    tally t;
    call c1, c2;
    size_t i;

    for (i = 0; i < 2; i++)
        memcpy(ids[i], ps[i].id, KE_ID_LEN + 1);
    tally_init(&t);
    call_init(&c1, &t);
    call_init(&c2, &t);
    c1.store = c2.store = s;
    ke_store_accept_async(s, "example.com", "e1", ps, 2, on_accept, &c1); /* ps passes over */
    assert_true(tally_wait(&t, 1));
    ke_store_accept_async(s, "example.com", "e1", dups, 2, on_accept, &c2);
    assert_true(tally_wait(&t, 2));
    ke_store_close(s); /* drains: any extra callback would have run by now */
    *state = NULL;

    assert_int_equal(c1.calls, 1);
    assert_int_equal(c1.rc, KE_OK);
    assert_int_equal(c1.duplicate, 0);
    assert_int_equal(c1.n, 2);
    assert_true(c1.visible);
    assert_string_equal(c1.msg, "");
    for (i = 0; i < 2; i++)
        assert_string_equal(c1.ids[i], ids[i]);
    /* The same key again: a duplicate answering the originals. */
    assert_int_equal(c2.calls, 1);
    assert_int_equal(c2.rc, KE_OK);
    assert_int_equal(c2.duplicate, 1);
    assert_int_equal(c2.n, 2);
    assert_true(c2.visible);
    for (i = 0; i < 2; i++)
        assert_string_equal(c2.ids[i], ids[i]);
    tally_destroy(&t);
}

#define ASYNC_THREADS 4
#define ASYNC_PER_THREAD 50

typedef struct async_worker {
    ke_store *store;
    int thread;
    call *calls;                               /* ASYNC_PER_THREAD of them */
    char ids[ASYNC_PER_THREAD][KE_ID_LEN + 1]; /* the id each accept carried */
} async_worker;

static void *accept_async_many(void *arg)
{
    async_worker *w = arg;
    char key[64];
    int i;

    for (i = 0; i < ASYNC_PER_THREAD; i++) {
        ke_pipeline *p = calloc(1, sizeof *p);

        if (p == NULL || ke_pipeline_init(p, "a", KE_STATE_READY) != KE_OK)
            abort();
        memcpy(w->ids[i], p->id, KE_ID_LEN + 1);
        snprintf(key, sizeof key, "t%d-e%d", w->thread, i);
        ke_store_accept_async(w->store, "example.com", key, p, 1, on_accept, &w->calls[i]);
    }
    return NULL;
}

static void accept_async_200_from_four_threads_each_complete_exactly_once(void **state)
{
    ke_store *s = *state;
    pthread_t th[ASYNC_THREADS];
    static async_worker w[ASYNC_THREADS];
    static call calls[ASYNC_THREADS][ASYNC_PER_THREAD];
    int t, i;
    tally ta;

    tally_init(&ta);
    for (t = 0; t < ASYNC_THREADS; t++) {
        for (i = 0; i < ASYNC_PER_THREAD; i++)
            call_init(&calls[t][i], &ta);
        w[t].store = s;
        w[t].thread = t;
        w[t].calls = calls[t];
        assert_int_equal(pthread_create(&th[t], NULL, accept_async_many, &w[t]), 0);
    }
    for (t = 0; t < ASYNC_THREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_true(tally_wait(&ta, ASYNC_THREADS * ASYNC_PER_THREAD));
    assert_int_equal(count_in(s, KE_STATE_READY), ASYNC_THREADS * ASYNC_PER_THREAD);
    ke_store_close(s);
    *state = NULL;

    assert_int_equal(ta.calls, ASYNC_THREADS * ASYNC_PER_THREAD);
    for (t = 0; t < ASYNC_THREADS; t++) {
        for (i = 0; i < ASYNC_PER_THREAD; i++) {
            call *c = &calls[t][i];

            assert_int_equal(c->calls, 1);
            assert_int_equal(c->rc, KE_OK);
            assert_int_equal(c->duplicate, 0);
            assert_int_equal(c->n, 1);
            assert_string_equal(c->ids[0], w[t].ids[i]);
        }
    }
    tally_destroy(&ta);
}

static void accept_async_same_key_twice_in_one_burst_stores_one_set(void **state)
{
    ke_store *s = *state;
    ke_pipeline *a = make_many("a", 2), *b = make_many("b", 2);
    char ids[2][KE_ID_LEN + 1];
    ke_list_query q = {0};
    tally t;
    call c1, c2;
    gate g;
    size_t i;

    for (i = 0; i < 2; i++)
        memcpy(ids[i], a[i].id, KE_ID_LEN + 1);
    tally_init(&t);
    call_init(&c1, &t);
    call_init(&c2, &t);
    gate_close(s, &g);
    /* Both queued while the writer is held: they commit in the same transaction. */
    ke_store_accept_async(s, "example.com", "e1", a, 2, on_accept, &c1);
    ke_store_accept_async(s, "example.com", "e1", b, 2, on_accept, &c2);
    gate_open(&g);
    assert_true(tally_wait(&t, 2));

    q.name = "a";
    assert_int_equal(list_count(s, &q), 2);
    q.name = "b";
    assert_int_equal(list_count(s, &q), 0);
    q.name = NULL;
    assert_int_equal(list_count(s, &q), 2);
    ke_store_close(s);
    *state = NULL;
    gate_destroy(&g);

    assert_int_equal(c1.calls, 1);
    assert_int_equal(c1.rc, KE_OK);
    assert_int_equal(c1.duplicate, 0);
    assert_int_equal(c2.calls, 1);
    assert_int_equal(c2.rc, KE_OK);
    assert_int_equal(c2.duplicate, 1);
    assert_int_equal(c2.n, 2);
    for (i = 0; i < 2; i++) {
        assert_string_equal(c1.ids[i], ids[i]);
        assert_string_equal(c2.ids[i], ids[i]);
    }
    tally_destroy(&t);
}

static void insert_async_unknown_parent_fails_alone_and_its_neighbours_are_stored(void **state)
{
    ke_store *s = *state;
    ke_pipeline good1, bad, good2, got;
    char id1[KE_ID_LEN + 1], idbad[KE_ID_LEN + 1], id2[KE_ID_LEN + 1];
    ke_list_query q = {0};
    tally t;
    call c1, cb, c2;
    gate g;

    make(&good1, "good1", NULL);
    make(&bad, "bad", "00000000-0000-0000-0000-000000000000");
    make(&good2, "good2", good1.id); /* parent stored earlier in the same transaction */
    memcpy(id1, good1.id, sizeof id1);
    memcpy(idbad, bad.id, sizeof idbad);
    memcpy(id2, good2.id, sizeof id2);
    tally_init(&t);
    call_init(&c1, &t);
    call_init(&cb, &t);
    call_init(&c2, &t);
    gate_close(s, &g);
    ke_store_insert_async(s, &good1, on_insert, &c1);
    ke_store_insert_async(s, &bad, on_insert, &cb);
    ke_store_insert_async(s, &good2, on_insert, &c2);
    gate_open(&g);
    assert_true(tally_wait(&t, 3));
    /* The store took over what the records owned. */
    assert_null(good1.name);
    assert_null(bad.name);
    assert_null(bad.parent);

    assert_int_equal(cb.rc, KE_ENOTFOUND);
    assert_non_null(strstr(cb.msg, "not found"));
    assert_non_null(strstr(cb.msg, "00000000-0000-0000-0000-000000000000"));
    assert_int_equal(ke_store_get(s, idbad, &got, NULL), KE_ENOTFOUND);
    assert_int_equal(c1.rc, KE_OK);
    assert_int_equal(c2.rc, KE_OK);
    assert_int_equal(ke_store_get(s, id1, &got, NULL), KE_OK);
    ke_pipeline_release(&got);
    assert_int_equal(ke_store_get(s, id2, &got, NULL), KE_OK);
    assert_string_equal(got.parent, id1);
    ke_pipeline_release(&got);
    assert_int_equal(list_count(s, &q), 2);
    ke_store_close(s);
    *state = NULL;
    gate_destroy(&g);
    assert_int_equal(c1.calls, 1);
    assert_int_equal(cb.calls, 1);
    assert_int_equal(c2.calls, 1);
    tally_destroy(&t);
}

/* A request that fails after writing part of itself leaves nothing behind, and the
 * requests committed beside it keep theirs. */
static void accept_async_failing_midway_leaves_nothing_and_neighbours_are_stored(void **state)
{
    ke_store *s = *state;
    ke_pipeline *good1 = make_many("good1", 1), *bad = make_many("bad", 2),
                *good2 = make_many("good2", 1), *retry, *orig = NULL;
    char id1[KE_ID_LEN + 1], badfirst[KE_ID_LEN + 1], id2[KE_ID_LEN + 1];
    ke_list_query q = {0};
    ke_pipeline got;
    size_t n_orig = 0;
    int dup = -1;
    ke_error err;
    tally t;
    call c1, cb, c2;
    gate g;

    memcpy(id1, good1[0].id, sizeof id1);
    memcpy(badfirst, bad[0].id, sizeof badfirst);
    memcpy(id2, good2[0].id, sizeof id2);
    /* bad's second pipeline reuses good1's id: its insert fails after bad[0] was written. */
    memcpy(bad[1].id, id1, sizeof id1);
    tally_init(&t);
    call_init(&c1, &t);
    call_init(&cb, &t);
    call_init(&c2, &t);
    gate_close(s, &g);
    ke_store_accept_async(s, "example.com", "k1", good1, 1, on_accept, &c1);
    ke_store_accept_async(s, "example.com", "k2", bad, 2, on_accept, &cb);
    ke_store_accept_async(s, "example.com", "k3", good2, 1, on_accept, &c2);
    gate_open(&g);
    assert_true(tally_wait(&t, 3));

    assert_int_equal(cb.rc, KE_ESTORE);
    assert_non_null(strstr(cb.msg, "store"));
    assert_int_equal(c1.rc, KE_OK);
    assert_int_equal(c2.rc, KE_OK);
    assert_int_equal(ke_store_get(s, badfirst, &got, NULL), KE_ENOTFOUND);
    assert_int_equal(ke_store_get(s, id1, &got, NULL), KE_OK);
    assert_string_equal(got.name, "good1");
    ke_pipeline_release(&got);
    assert_int_equal(ke_store_get(s, id2, &got, NULL), KE_OK);
    ke_pipeline_release(&got);
    assert_int_equal(list_count(s, &q), 2);

    /* The failed event's key was not recorded either: a retry is not a duplicate. */
    retry = make_many("retry", 1);
    ke_error_clear(&err);
    assert_int_equal(ke_store_accept(s, "example.com", "k2", retry, 1, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(n_orig, 1);
    assert_string_equal(orig[0].id, retry[0].id);
    ke_pipelines_free(orig, n_orig);
    ke_pipelines_free(retry, 1);
    ke_store_close(s);
    *state = NULL;
    gate_destroy(&g);
    assert_int_equal(c1.calls + cb.calls + c2.calls, 3);
    tally_destroy(&t);
}

/* ---- claim ---- */

static void claim_takes_the_oldest_ready_and_appends_started(void **state)
{
    ke_store *s = *state;
    char first[KE_ID_LEN + 1], second[KE_ID_LEN + 1];
    ke_pipeline out, got;
    int found = -1;
    int64_t before;
    ke_error err;

    insert(s, "done", NULL, KE_STATE_SUCCESS, NULL);
    insert(s, "a", NULL, KE_STATE_READY, first);
    insert(s, "staged", NULL, KE_STATE_STAGED, NULL);
    insert(s, "b", NULL, KE_STATE_READY, second);
    before = ke_now_us();
    ke_error_clear(&err);
    assert_int_equal(ke_store_claim(s, "runner-1", &out, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    assert_string_equal(out.id, first);
    assert_int_equal(out.n_status, 2);
    assert_int_equal(out.status[0].state, KE_STATE_READY);
    assert_int_equal(out.status[1].state, KE_STATE_STARTED);
    assert_string_equal(out.status[1].runner, "runner-1");
    assert_true(out.status[1].started_at >= before);
    assert_true(out.status[1].changed_at >= before);
    assert_int_equal(ke_pipeline_state(&out), KE_STATE_STARTED);
    /* The claim is stored, not just answered. */
    assert_int_equal(ke_store_get(s, first, &got, &err), KE_OK);
    assert_same_history(&got, &out);
    ke_pipeline_release(&got);
    ke_pipeline_release(&out);

    assert_int_equal(ke_store_claim(s, "runner-2", &out, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    assert_string_equal(out.id, second);
    assert_string_equal(out.status[1].runner, "runner-2");
    ke_pipeline_release(&out);

    /* Nothing READY left (STAGED and SUCCESS are not claimable): found 0, out untouched. */
    memset(&out, 0xab, sizeof out);
    found = -1;
    assert_int_equal(ke_store_claim(s, "runner-1", &out, &found, &err), KE_OK);
    assert_int_equal(found, 0);
    assert_int_equal((unsigned char)out.id[0], 0xab);
    assert_int_equal(count_in(s, KE_STATE_STARTED), 2);
    assert_int_equal(count_in(s, KE_STATE_READY), 0);
}

static void claim_of_an_empty_store_finds_nothing(void **state)
{
    ke_pipeline out;
    int found = -1;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_store_claim(*state, "r", &out, &found, &err), KE_OK);
    assert_int_equal(found, 0);
}

#define CLAIM_THREADS 4
#define CLAIM_READY 100

typedef struct claimer {
    ke_store *store;
    size_t n;                                 /* ids claimed */
    char ids[CLAIM_READY + 1][KE_ID_LEN + 1]; /* their ids */
    int failures;                             /* claims that did not answer OK */
} claimer;

static void *claim_all(void *arg)
{
    claimer *c = arg;
    ke_pipeline out;
    int found = 1;

    while (found && c->n <= CLAIM_READY) {
        if (ke_store_claim(c->store, "r", &out, &found, NULL) != KE_OK) {
            c->failures++;
            break;
        }
        if (found) {
            memcpy(c->ids[c->n++], out.id, KE_ID_LEN + 1);
            ke_pipeline_release(&out);
        }
    }
    return NULL;
}

static void claim_from_four_threads_claims_each_pipeline_exactly_once(void **state)
{
    ke_store *s = *state;
    static char ids[CLAIM_READY][KE_ID_LEN + 1];
    static claimer c[CLAIM_THREADS];
    pthread_t th[CLAIM_THREADS];
    size_t i, j, total = 0;
    int t, seen;

    for (i = 0; i < CLAIM_READY; i++)
        insert(s, "a", NULL, KE_STATE_READY, ids[i]);
    for (t = 0; t < CLAIM_THREADS; t++) {
        c[t].store = s;
        c[t].n = 0;
        c[t].failures = 0;
        assert_int_equal(pthread_create(&th[t], NULL, claim_all, &c[t]), 0);
    }
    for (t = 0; t < CLAIM_THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(c[t].failures, 0);
        total += c[t].n;
    }
    assert_int_equal(total, CLAIM_READY);
    for (i = 0; i < CLAIM_READY; i++) {
        seen = 0;
        for (t = 0; t < CLAIM_THREADS; t++)
            for (j = 0; j < c[t].n; j++)
                seen += strcmp(c[t].ids[j], ids[i]) == 0;
        assert_int_equal(seen, 1);
    }
    assert_int_equal(count_in(s, KE_STATE_STARTED), CLAIM_READY);
    assert_int_equal(count_in(s, KE_STATE_READY), 0);
}

/* ---- finish ---- */

/* Claims the oldest READY pipeline and copies its id into id. */
static void claim_one(ke_store *s, char id[KE_ID_LEN + 1])
{
    ke_pipeline out;
    int found = 0;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_store_claim(s, "local", &out, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    memcpy(id, out.id, KE_ID_LEN + 1);
    ke_pipeline_release(&out);
}

static void finish_appends_the_final_status_and_list_filters_on_it(void **state)
{
    ke_store *s = *state;
    char failed[KE_ID_LEN + 1], killed[KE_ID_LEN + 1], ok[KE_ID_LEN + 1];
    ke_status st = {0};
    ke_list_query q = {0};
    ke_pipeline got, *out = NULL;
    char *next = NULL;
    size_t n = 0;
    int64_t before;
    ke_error err;

    insert(s, "a", NULL, KE_STATE_READY, NULL);
    insert(s, "b", NULL, KE_STATE_READY, NULL);
    insert(s, "c", NULL, KE_STATE_READY, NULL);
    insert(s, "d", NULL, KE_STATE_READY, NULL);
    claim_one(s, failed);
    claim_one(s, killed);
    claim_one(s, ok);

    before = ke_now_us();
    st.state = KE_STATE_FAILURE;
    st.finished_at = before;
    st.runner = "local";
    st.has_exit_code = 1;
    st.exit_code = 2;
    st.error = "exit status 2";
    st.log_path = "/logs/a.log";
    ke_error_clear(&err);
    assert_int_equal(ke_store_finish(s, failed, &st, &err), KE_OK);
    assert_int_equal(ke_store_get(s, failed, &got, &err), KE_OK);
    assert_int_equal(got.n_status, 3);
    assert_int_equal(got.status[1].state, KE_STATE_STARTED);
    assert_int_equal(got.status[2].state, KE_STATE_FAILURE);
    assert_int_equal(got.status[2].has_exit_code, 1);
    assert_int_equal(got.status[2].exit_code, 2);
    assert_int_equal(got.status[2].signal, 0);
    assert_string_equal(got.status[2].error, "exit status 2");
    assert_string_equal(got.status[2].log_path, "/logs/a.log");
    assert_string_equal(got.status[2].runner, "local");
    assert_int_equal(got.status[2].finished_at, before);
    assert_true(got.status[2].changed_at >= before); /* set now by the store */
    ke_pipeline_release(&got);

    /* Killed by a signal: no exit code. */
    memset(&st, 0, sizeof st);
    st.state = KE_STATE_ABORTED;
    st.finished_at = ke_now_us();
    st.signal = 9;
    assert_int_equal(ke_store_finish(s, killed, &st, &err), KE_OK);
    assert_int_equal(ke_store_get(s, killed, &got, &err), KE_OK);
    assert_int_equal(ke_pipeline_state(&got), KE_STATE_ABORTED);
    assert_int_equal(got.status[2].has_exit_code, 0);
    assert_int_equal(got.status[2].signal, 9);
    assert_null(got.status[2].error);
    assert_null(got.status[2].log_path);
    ke_pipeline_release(&got);

    /* Exit code 0 is an exit code, not "none". */
    memset(&st, 0, sizeof st);
    st.state = KE_STATE_SUCCESS;
    st.finished_at = ke_now_us();
    st.has_exit_code = 1;
    st.exit_code = 0;
    assert_int_equal(ke_store_finish(s, ok, &st, &err), KE_OK);
    assert_int_equal(ke_store_get(s, ok, &got, &err), KE_OK);
    assert_int_equal(got.status[2].has_exit_code, 1);
    assert_int_equal(got.status[2].exit_code, 0);
    ke_pipeline_release(&got);

    q.state = KE_STATE_FAILURE;
    assert_int_equal(ke_store_list(s, &q, &out, &n, &next, &err), KE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].id, failed);
    ke_pipelines_free(out, n);
    q.state = KE_STATE_ABORTED;
    assert_int_equal(list_count(s, &q), 1);
    q.state = KE_STATE_SUCCESS;
    assert_int_equal(list_count(s, &q), 1);
    q.state = KE_STATE_STARTED;
    assert_int_equal(list_count(s, &q), 0);
    q.state = KE_STATE_READY;
    assert_int_equal(list_count(s, &q), 1);
    assert_int_equal(count_in(s, KE_STATE_FAILURE), 1);
}

static void finish_of_an_unknown_id_is_not_found(void **state)
{
    ke_store *s = *state;
    ke_status st = {0};
    ke_list_query q = {0};
    ke_error err;

    insert(s, "a", NULL, KE_STATE_READY, NULL);
    st.state = KE_STATE_SUCCESS;
    ke_error_clear(&err);
    assert_int_equal(ke_store_finish(s, "00000000-0000-0000-0000-000000000000", &st, &err),
                     KE_ENOTFOUND);
    assert_int_equal(err.code, KE_ENOTFOUND);
    assert_non_null(strstr(err.msg, "00000000-0000-0000-0000-000000000000"));
    q.state = KE_STATE_SUCCESS;
    assert_int_equal(list_count(s, &q), 0);
    assert_int_equal(count_in(s, KE_STATE_READY), 1);
}

/* ---- recover ---- */

static void recover_fails_started_pipelines_as_interrupted_and_leaves_others(void **state)
{
    ke_store *s = *state;
    char ready[KE_ID_LEN + 1], done[KE_ID_LEN + 1], run1[KE_ID_LEN + 1], run2[KE_ID_LEN + 1];
    ke_pipeline got;
    size_t n = 99;
    ke_error err;

    insert(s, "r1", NULL, KE_STATE_READY, NULL);
    insert(s, "r2", NULL, KE_STATE_READY, NULL);
    claim_one(s, run1);
    claim_one(s, run2);
    insert(s, "ready", NULL, KE_STATE_READY, ready);
    insert(s, "done", NULL, KE_STATE_SUCCESS, done);

    ke_error_clear(&err);
    assert_int_equal(ke_store_recover(s, 0, &n, &err), KE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ke_store_get(s, run1, &got, &err), KE_OK);
    assert_int_equal(got.n_status, 3);
    assert_int_equal(ke_pipeline_state(&got), KE_STATE_FAILURE);
    assert_non_null(got.status[2].error);
    assert_non_null(strstr(got.status[2].error, "interrupted"));
    ke_pipeline_release(&got);
    assert_int_equal(ke_store_get(s, run2, &got, &err), KE_OK);
    assert_int_equal(ke_pipeline_state(&got), KE_STATE_FAILURE);
    ke_pipeline_release(&got);
    /* READY and finished ones are untouched. */
    assert_int_equal(ke_store_get(s, ready, &got, &err), KE_OK);
    assert_int_equal(got.n_status, 1);
    assert_int_equal(ke_pipeline_state(&got), KE_STATE_READY);
    ke_pipeline_release(&got);
    assert_int_equal(ke_store_get(s, done, &got, &err), KE_OK);
    assert_int_equal(got.n_status, 1);
    assert_int_equal(ke_pipeline_state(&got), KE_STATE_SUCCESS);
    ke_pipeline_release(&got);
    assert_int_equal(count_in(s, KE_STATE_FAILURE), 2);
    assert_int_equal(count_in(s, KE_STATE_STARTED), 0);

    /* Nothing STARTED left: a second recover changes nothing. */
    assert_int_equal(ke_store_recover(s, 0, &n, &err), KE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(count_in(s, KE_STATE_FAILURE), 2);
}

static void recover_with_requeue_makes_started_pipelines_ready_again(void **state)
{
    ke_store *s = *state;
    char run[KE_ID_LEN + 1], ready[KE_ID_LEN + 1], again[KE_ID_LEN + 1];
    ke_pipeline got;
    size_t n = 99;
    ke_error err;

    insert(s, "run", NULL, KE_STATE_READY, NULL);
    claim_one(s, run);
    insert(s, "ready", NULL, KE_STATE_READY, ready);
    insert(s, "failed", NULL, KE_STATE_FAILURE, NULL);

    ke_error_clear(&err);
    assert_int_equal(ke_store_recover(s, 1, &n, &err), KE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ke_store_get(s, run, &got, &err), KE_OK);
    assert_int_equal(got.n_status, 3);
    assert_int_equal(got.status[1].state, KE_STATE_STARTED);
    assert_int_equal(ke_pipeline_state(&got), KE_STATE_READY);
    ke_pipeline_release(&got);
    assert_int_equal(ke_store_get(s, ready, &got, &err), KE_OK);
    assert_int_equal(got.n_status, 1);
    ke_pipeline_release(&got);
    assert_int_equal(count_in(s, KE_STATE_READY), 2);
    assert_int_equal(count_in(s, KE_STATE_FAILURE), 1);
    assert_int_equal(count_in(s, KE_STATE_STARTED), 0);

    /* Requeued, it is claimable again -- and it is the oldest READY. */
    claim_one(s, again);
    assert_string_equal(again, run);
}

/* ---- the on_ready hook ---- */

static void count_wakeup(void *ctx)
{
    ++*(int *)ctx; /* runs on the writer thread; read by the test after a sync call returns */
}

static void on_ready_fires_after_commits_that_add_ready_pipelines_only(void **state)
{
    ke_store *s = *state;
    ke_pipeline p, *orig = NULL;
    ke_status st = {0};
    char id[KE_ID_LEN + 1];
    size_t n_orig = 0, n = 0;
    int dup = -1, wakeups = 0;
    ke_error err;

    ke_error_clear(&err);
    ke_store_on_ready(s, count_wakeup, &wakeups);

    make(&p, "a", NULL);
    assert_int_equal(ke_store_accept(s, "example.com", "e1", &p, 1, &orig, &n_orig, &dup, &err),
                     KE_OK);
    ke_pipelines_free(orig, n_orig);
    assert_int_equal(wakeups, 1); /* before the caller was answered */

    /* A duplicate adds nothing. */
    assert_int_equal(ke_store_accept(s, "example.com", "e1", &p, 1, &orig, &n_orig, &dup, &err),
                     KE_OK);
    assert_int_equal(dup, 1);
    ke_pipelines_free(orig, n_orig);
    ke_pipeline_release(&p);
    assert_int_equal(wakeups, 1);

    insert(s, "b", NULL, KE_STATE_READY, NULL);
    assert_int_equal(wakeups, 2);
    insert(s, "staged", NULL, KE_STATE_STAGED, NULL);
    assert_int_equal(wakeups, 2);

    /* A failed insert stores nothing, READY or not. */
    make(&p, "orphan", "no-such-parent");
    assert_int_equal(ke_store_insert(s, &p, NULL), KE_ENOTFOUND);
    ke_pipeline_release(&p);
    assert_int_equal(wakeups, 2);

    /* Claim and finish take pipelines out of READY: no wake-up. */
    claim_one(s, id);
    assert_int_equal(wakeups, 2);
    st.state = KE_STATE_SUCCESS;
    st.has_exit_code = 1;
    assert_int_equal(ke_store_finish(s, id, &st, &err), KE_OK);
    assert_int_equal(wakeups, 2);

    /* Recover without requeue makes nothing READY; with requeue it does. */
    claim_one(s, id);
    assert_int_equal(ke_store_recover(s, 0, &n, &err), KE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(wakeups, 2);
    insert(s, "c", NULL, KE_STATE_READY, NULL);
    assert_int_equal(wakeups, 3);
    claim_one(s, id);
    assert_int_equal(ke_store_recover(s, 1, &n, &err), KE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(wakeups, 4);
    /* ... but not when there was nothing to requeue. */
    assert_int_equal(ke_store_recover(s, 1, &n, &err), KE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(wakeups, 4);

    /* Unset: never again. */
    ke_store_on_ready(s, NULL, NULL);
    insert(s, "d", NULL, KE_STATE_READY, NULL);
    make(&p, "e", NULL);
    assert_int_equal(ke_store_accept(s, "example.com", "e2", &p, 1, &orig, &n_orig, &dup, &err),
                     KE_OK);
    ke_pipelines_free(orig, n_orig);
    ke_pipeline_release(&p);
    claim_one(s, id);
    assert_int_equal(ke_store_recover(s, 1, &n, &err), KE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(wakeups, 4);
}

static void on_ready_fires_for_async_accept_before_its_callback(void **state)
{
    ke_store *s = *state;
    ke_pipeline *ps = make_many("a", 1);
    int wakeups = 0;
    tally t;
    call c;

    tally_init(&t);
    call_init(&c, &t);
    ke_store_on_ready(s, count_wakeup, &wakeups);
    ke_store_accept_async(s, "example.com", "e1", ps, 1, on_accept, &c);
    assert_true(tally_wait(&t, 1));
    pthread_mutex_lock(&t.mu); /* orders the hook's write (before the callback) before this read */
    assert_int_equal(wakeups, 1);
    pthread_mutex_unlock(&t.mu);
    ke_store_on_ready(s, NULL, NULL);
    tally_destroy(&t);
}

/* ---- opening ---- */

/* ---- the data directory: one server at a time, private files */

static mode_t mode_of(const char *dir, const char *name)
{
    char path[256];
    struct stat st;

    snprintf(path, sizeof path, "%s%s%s", dir, name[0] ? "/" : "", name);
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void open_of_a_dir_in_use_fails_naming_the_dir_and_the_holder_pid(void **state)
{
    char dir[64], pid[32];
    ke_store *first, *second = (ke_store *)&second;
    ke_error err;

    (void)state;
    make_dir(dir);
    first = open_dir(dir);
    ke_error_clear(&err);
    assert_int_equal(ke_store_open(dir, &second, &err), KE_EUNAVAIL);
    assert_null(second);
    assert_non_null(strstr(err.msg, dir));
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    assert_non_null(strstr(err.msg, pid));
    /* The holder's records are untouched, and the lock goes with it. */
    insert(first, "event00", NULL, KE_STATE_READY, NULL);
    ke_store_close(first);
    second = open_dir(dir);
    assert_int_equal(count_in(second, KE_STATE_READY), 1);
    ke_store_close(second);
    remove_dir(dir);
}

static void open_lock_is_not_inherited_by_children(void **state)
{
    char dir[64];
    ke_store *s;

    (void)state;
    make_dir(dir);
    s = open_dir(dir);
    assert_true(s->lock_fd >= 0);
    assert_true(fcntl(s->lock_fd, F_GETFD) & FD_CLOEXEC);
    ke_store_close(s);
    remove_dir(dir);
}

static void open_makes_the_dir_0700_and_its_files_0600_whatever_the_umask(void **state)
{
    char parent[64], dir[128];
    mode_t old = umask(0);
    ke_store *s;

    (void)state;
    make_dir(parent);
    snprintf(dir, sizeof dir, "%s/data", parent);
    s = open_dir(dir);
    insert(s, "event00", NULL, KE_STATE_READY, NULL); /* the WAL and SHM exist now */
    assert_int_equal(mode_of(dir, ""), 0700);
    assert_int_equal(mode_of(dir, "kedro-events.db"), 0600);
    assert_int_equal(mode_of(dir, "kedro-events.db-wal"), 0600);
    assert_int_equal(mode_of(dir, "kedro-events.db-shm"), 0600);
    assert_int_equal(mode_of(dir, "kedro-events.lock"), 0600);
    ke_store_close(s);
    umask(old);
    remove_dir(dir);
    remove_dir(parent);
}

static void open_tightens_an_existing_data_dir_and_its_files(void **state)
{
    char dir[64], path[128];
    ke_store *s;

    (void)state;
    make_dir(dir);
    s = open_dir(dir);
    insert(s, "event00", NULL, KE_STATE_READY, NULL);
    ke_store_close(s);
    /* As an older server left them. */
    assert_int_equal(chmod(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/kedro-events.db", dir);
    assert_int_equal(chmod(path, 0644), 0);
    snprintf(path, sizeof path, "%s/kedro-events.lock", dir);
    assert_int_equal(chmod(path, 0644), 0);
    s = open_dir(dir);
    insert(s, "event00", NULL, KE_STATE_READY, NULL);
    assert_int_equal(mode_of(dir, ""), 0700);
    assert_int_equal(mode_of(dir, "kedro-events.db"), 0600);
    assert_int_equal(mode_of(dir, "kedro-events.db-wal"), 0600);
    assert_int_equal(mode_of(dir, "kedro-events.lock"), 0600);
    assert_int_equal(count_in(s, KE_STATE_READY), 2);
    ke_store_close(s);
    remove_dir(dir);
}

static void open_leaves_the_mode_of_a_dir_holding_other_files(void **state)
{
    char dir[64], path[128];
    ke_store *s;
    FILE *f;

    (void)state;
    make_dir(dir);
    assert_int_equal(chmod(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    s = open_dir(dir); /* a dir that is not ours (yet): its files are private, its mode kept */
    assert_int_equal(mode_of(dir, ""), 0755);
    assert_int_equal(mode_of(dir, "kedro-events.db"), 0600);
    ke_store_close(s);
    remove_dir(dir);
}

static void open_with_a_regular_file_as_data_dir_fails_naming_the_path(void **state)
{
    char dir[64], file[128], missing[128];
    ke_store *s = (ke_store *)&s;
    ke_error err;
    FILE *f;

    (void)state;
    make_dir(dir);
    snprintf(file, sizeof file, "%s/not-a-dir", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("x\n", f);
    fclose(f);
    ke_error_clear(&err);
    assert_int_equal(ke_store_open(file, &s, &err), KE_ESTORE);
    assert_null(s);
    assert_int_equal(err.code, KE_ESTORE);
    assert_non_null(strstr(err.msg, file));

    /* A data dir whose parent is missing cannot be created. */
    snprintf(missing, sizeof missing, "%s/no/such/dir", dir);
    ke_error_clear(&err);
    assert_int_equal(ke_store_open(missing, &s, &err), KE_ESTORE);
    assert_non_null(strstr(err.msg, missing));
    remove_dir(dir);
}

static void open_of_a_database_with_a_newer_schema_fails_saying_so(void **state)
{
    char dir[64], path[128];
    ke_store *s = (ke_store *)&s;
    sqlite3 *db = NULL;
    ke_error err;

    (void)state;
    make_dir(dir);
    snprintf(path, sizeof path, "%s/kedro-events.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    ke_error_clear(&err);
    assert_int_equal(ke_store_open(dir, &s, &err), KE_ESTORE);
    assert_null(s);
    assert_int_equal(err.code, KE_ESTORE);
    assert_non_null(strstr(err.msg, "newer"));
    assert_non_null(strstr(err.msg, "99"));
    assert_non_null(strstr(err.msg, path));
    remove_dir(dir);
}

/* Reads one text value from a PRAGMA (or any one-row query) into out. */
static void query_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static void open_creates_a_wal_database_at_the_current_schema(void **state)
{
    char dir[64], path[128], wal[160], mode[32], version[32];
    struct stat sb;
    sqlite3 *db = NULL;
    ke_store *s;

    (void)state;
    make_dir(dir);
    snprintf(path, sizeof path, "%s/kedro-events.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    s = open_dir(dir);
    insert(s, "a", NULL, KE_STATE_READY, NULL);
    /* A commit went through the write-ahead log. */
    assert_int_equal(stat(wal, &sb), 0);

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    query_text(db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    query_text(db, "PRAGMA user_version", version, sizeof version);
    assert_true(atoi(version) >= 1);
    sqlite3_close(db);
    ke_store_close(s);

    /* Reopening an up-to-date database leaves its version alone. */
    s = open_dir(dir);
    ke_store_close(s);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    query_text(db, "PRAGMA user_version", mode, sizeof mode);
    assert_string_equal(mode, version);
    query_text(db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    sqlite3_close(db);
    remove_dir(dir);
}

/* The WAL is copied back once it passes the checkpoint threshold, and cut back to
 * KE_STORE_WAL_LIMIT at the writer's next commits: a 6 MiB transaction does not leave a 6 MiB
 * log beside the database. */
static void wal_is_checkpointed_and_cut_back_after_a_large_commit(void **state)
{
    static const struct timespec pause = {0, 10000000};
    char dir[64], wal[160], *big;
    size_t len = 6 << 20;
    struct stat sb;
    ke_pipeline p;
    ke_error err;
    ke_store *s;
    int i;

    (void)state;
    make_dir(dir);
    snprintf(wal, sizeof wal, "%s/kedro-events.db-wal", dir);
    s = open_dir(dir);
    assert_non_null(big = malloc(len + 1));
    memset(big, 'x', len);
    big[len] = '\0';
    assert_int_equal(ke_pipeline_init(&p, "big", KE_STATE_READY), KE_OK);
    assert_int_equal(ke_pipeline_add_param(&p, "event", big, "string"), KE_OK);
    free(big);
    ke_error_clear(&err);
    assert_int_equal(ke_store_insert(s, &p, &err), KE_OK);
    ke_pipeline_release(&p);
    assert_int_equal(stat(wal, &sb), 0);
    assert_true(sb.st_size > (off_t)len);
    for (i = 0; i < 500 && sb.st_size > KE_STORE_WAL_LIMIT; i++) {
        nanosleep(&pause, NULL);
        insert(s, "small", NULL, KE_STATE_READY, NULL);
        assert_int_equal(stat(wal, &sb), 0);
    }
    assert_true(sb.st_size <= KE_STORE_WAL_LIMIT);
    ke_store_close(s);
    remove_dir(dir);
}

/* The rows' JSON columns are written without cJSON, byte for byte what cJSON printed before
 * (rows written by either read back the same): escapes, control characters, UTF-8 kept as it
 * is, an empty type, no lists at all. */
static void lists_json_is_what_cjson_prints(void **state)
{
    static const char *const values[] = {"plain",
                                         "quote \" and \\ backslash",
                                         "\b\f\n\r\t and \x01\x1f\x7f",
                                         "Euro \xe2\x82\xac",
                                         "{\"event\": [1, 2.5e3, null]}",
                                         ""};
    cJSON *params = cJSON_CreateArray(), *tags = cJSON_CreateArray(), *row;
    char *want, *got;
    ke_pipeline p;
    size_t i;

    (void)state;
    assert_int_equal(ke_pipeline_init(&p, "a", KE_STATE_READY), KE_OK);
    got = ke_store_lists_json(&p, 0);
    assert_string_equal(got, "[]");
    free(got);
    for (i = 0; i < sizeof values / sizeof values[0]; i++) {
        assert_int_equal(
            ke_pipeline_add_param(&p, values[i], values[(i + 1) % 6], i % 2 ? NULL : "string"),
            KE_OK);
        assert_int_equal(ke_pipeline_add_tag(&p, values[(i + 2) % 6], values[i]), KE_OK);
        assert_non_null(row = cJSON_CreateArray());
        cJSON_AddItemToArray(row, cJSON_CreateString(values[i]));
        cJSON_AddItemToArray(row, cJSON_CreateString(values[(i + 1) % 6]));
        cJSON_AddItemToArray(row, cJSON_CreateString(i % 2 ? "" : "string"));
        cJSON_AddItemToArray(params, row);
        assert_non_null(row = cJSON_CreateArray());
        cJSON_AddItemToArray(row, cJSON_CreateString(values[(i + 2) % 6]));
        cJSON_AddItemToArray(row, cJSON_CreateString(values[i]));
        cJSON_AddItemToArray(tags, row);
    }
    want = cJSON_PrintUnformatted(params);
    got = ke_store_lists_json(&p, 0);
    assert_string_equal(got, want);
    free(got);
    cJSON_free(want);
    want = cJSON_PrintUnformatted(tags);
    got = ke_store_lists_json(&p, 1);
    assert_string_equal(got, want);
    free(got);
    cJSON_free(want);
    cJSON_Delete(params);
    cJSON_Delete(tags);
    ke_pipeline_release(&p);
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
        cmocka_unit_test(records_survive_close_and_reopen_with_full_status_history),
        cmocka_unit_test(accept_after_reopen_still_dedupes_and_answers_the_original_ids),
        STORE_TEST(accept_async_calls_back_once_after_commit_with_the_pipelines),
        STORE_TEST(accept_async_200_from_four_threads_each_complete_exactly_once),
        STORE_TEST(accept_async_same_key_twice_in_one_burst_stores_one_set),
        STORE_TEST(insert_async_unknown_parent_fails_alone_and_its_neighbours_are_stored),
        STORE_TEST(accept_async_failing_midway_leaves_nothing_and_neighbours_are_stored),
        STORE_TEST(claim_takes_the_oldest_ready_and_appends_started),
        STORE_TEST(claim_of_an_empty_store_finds_nothing),
        STORE_TEST(claim_from_four_threads_claims_each_pipeline_exactly_once),
        STORE_TEST(finish_appends_the_final_status_and_list_filters_on_it),
        STORE_TEST(finish_of_an_unknown_id_is_not_found),
        STORE_TEST(recover_fails_started_pipelines_as_interrupted_and_leaves_others),
        STORE_TEST(recover_with_requeue_makes_started_pipelines_ready_again),
        STORE_TEST(on_ready_fires_after_commits_that_add_ready_pipelines_only),
        STORE_TEST(on_ready_fires_for_async_accept_before_its_callback),
        cmocka_unit_test(open_with_a_regular_file_as_data_dir_fails_naming_the_path),
        cmocka_unit_test(open_of_a_dir_in_use_fails_naming_the_dir_and_the_holder_pid),
        cmocka_unit_test(open_lock_is_not_inherited_by_children),
        cmocka_unit_test(open_makes_the_dir_0700_and_its_files_0600_whatever_the_umask),
        cmocka_unit_test(open_tightens_an_existing_data_dir_and_its_files),
        cmocka_unit_test(open_leaves_the_mode_of_a_dir_holding_other_files),
        cmocka_unit_test(open_of_a_database_with_a_newer_schema_fails_saying_so),
        cmocka_unit_test(open_creates_a_wal_database_at_the_current_schema),
        cmocka_unit_test(wal_is_checkpointed_and_cut_back_after_a_large_commit),
        cmocka_unit_test(lists_json_is_what_cjson_prints),
        cmocka_unit_test(pipeline_init_makes_a_record_in_the_given_state),
        STORE_TEST(pipeline_copy_is_deep),
        cmocka_unit_test(pipeline_copy_of_an_empty_record_is_empty),
        cmocka_unit_test(pipelines_free_and_release_accept_null),
        cmocka_unit_test(state_name_names_each_state),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
