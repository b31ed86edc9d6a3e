/* store_dirs.h -- what the durable-store tests share: a fresh data directory under /tmp, its
 * removal, and opening a store on it. Included by one test program each (static functions). */
#ifndef KE_TEST_STORE_DIRS_H
#define KE_TEST_STORE_DIRS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#endif
