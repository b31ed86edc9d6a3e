/* store_dirs.h -- what the durable-store tests share: a fresh data directory under /tmp, its
 * removal, opening a store on it, comparing two records, and a statement's query plan. Included by
 * one test program each (static functions). */
#ifndef KE_TEST_STORE_DIRS_H
#define KE_TEST_STORE_DIRS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

/* A fresh directory /tmp/ke-test-store-XXXXXX, for stores that must outlive a close. */
static inline void make_dir(char dir[64])
{
    strcpy(dir, "/tmp/ke-test-store-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

/* Removes dir and the files directly in it. */
static inline void remove_dir(const char *dir)
{
    char path[512];
    struct dirent *e;
    DIR *d = opendir(dir);

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Opens the store on dir, which must succeed. */
static inline ke_store *open_dir(const char *dir)
{
    ke_store *s = NULL;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_store_open(dir, &s, &err), KE_OK);
    assert_non_null(s);
    return s;
}

/* Asserts a and b hold the same record, every field the store keeps (needs cmocka). */
static inline void assert_same_pipeline(const ke_pipeline *a, const ke_pipeline *b)
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

/* cmocka fixtures: a store in a temporary directory of its own, closed (and removed) after. */
static inline int store_setup(void **state)
{
    ke_store *s = NULL;
    ke_error err;

    ke_error_clear(&err);
    if (ke_store_open(NULL, &s, &err) != KE_OK || s == NULL)
        return -1;
    *state = s;
    return 0;
}

static inline int store_teardown(void **state)
{
    ke_store_close(*state);
    return 0;
}

/* The query plan of sql on db, its steps joined by "; " into out (cap bytes). */
static inline void plan_of(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    char q[2048];
    size_t used = 0;

    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && used < cap)
        used += (size_t)snprintf(out + used, cap - used, "%s; ", sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
}

#endif
