/* store.c -- the in-memory store: pipeline records and accepted event keys, kept for the
 * life of the process (a durable backend replaces it behind the same interface). */
#include "store.h"

#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An accepted event and the pipelines it started. */
typedef struct event_entry {
    char *key;     /* source, a NUL, the event id, a NUL (compared with key_cmp) */
    size_t keylen; /* bytes in key */
    size_t *index; /* positions in ke_store.pipes of its pipelines */
    size_t n;      /* number of pipelines */
} event_entry;

struct ke_store {
    pthread_rwlock_t lock; /* guards everything below */
    ke_pipeline **pipes;   /* every record, oldest first */
    size_t n_pipes;        /* records stored */
    size_t cap_pipes;      /* capacity of pipes */
    void *by_id;           /* tsearch tree of ke_pipeline *, by id */
    void *by_event;        /* tsearch tree of event_entry *, by key */
};

static int id_cmp(const void *a, const void *b)
{
    return strcmp(((const ke_pipeline *)a)->id, ((const ke_pipeline *)b)->id);
}

static int key_cmp(const void *a, const void *b)
{
    const event_entry *x = a, *y = b;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int c = memcmp(x->key, y->key, n);

    if (c != 0)
        return c;
    return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

int ke_store_open(const char *data_dir, ke_store **out, ke_error *err)
{
    ke_store *s;

    (void)data_dir; /* records live in memory; nothing is written there */
    *out = NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    pthread_rwlock_init(&s->lock, NULL);
    *out = s;
    return KE_OK;
}

/* Appends a copy of p; the caller holds the write lock. */
static int add_locked(ke_store *s, const ke_pipeline *p, ke_error *err)
{
    ke_pipeline *copy;

    if (s->n_pipes == s->cap_pipes) {
        size_t cap = s->cap_pipes ? s->cap_pipes * 2 : 1024;
        ke_pipeline **grown = realloc(s->pipes, cap * sizeof *grown);

        if (grown == NULL)
            return ke_error_set(err, KE_ENOMEM, "store: out of memory");
        s->pipes = grown;
        s->cap_pipes = cap;
    }
    copy = malloc(sizeof *copy);
    if (copy == NULL || ke_pipeline_copy(copy, p) != KE_OK) {
        free(copy);
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    }
    if (tsearch(copy, &s->by_id, id_cmp) == NULL) {
        ke_pipeline_release(copy);
        free(copy);
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    }
    s->pipes[s->n_pipes++] = copy;
    return KE_OK;
}

/* Copies the pipelines at the given positions into a new array. */
static int copy_out(ke_store *s, const size_t *index, size_t n, ke_pipeline **out, ke_error *err)
{
    ke_pipeline *ps = calloc(n ? n : 1, sizeof *ps);
    size_t i;

    *out = NULL;
    if (ps == NULL)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    for (i = 0; i < n; i++) {
        if (ke_pipeline_copy(&ps[i], s->pipes[index[i]]) != KE_OK) {
            ke_pipelines_free(ps, i);
            return ke_error_set(err, KE_ENOMEM, "store: out of memory");
        }
    }
    *out = ps;
    return KE_OK;
}

static event_entry *event_entry_new(const char *source, const char *event_id, size_t n)
{
    size_t ls = strlen(source), li = strlen(event_id);
    event_entry *e = calloc(1, sizeof *e);

    if (e == NULL)
        return NULL;
    e->keylen = ls + li + 2;
    e->key = malloc(e->keylen);
    e->index = calloc(n ? n : 1, sizeof *e->index);
    if (e->key == NULL || e->index == NULL) {
        free(e->key);
        free(e->index);
        free(e);
        return NULL;
    }
    memcpy(e->key, source, ls + 1);
    memcpy(e->key + ls + 1, event_id, li + 1);
    e->n = n;
    return e;
}

static void event_entry_free(void *p)
{
    event_entry *e = p;

    free(e->key);
    free(e->index);
    free(e);
}

int ke_store_accept(ke_store *s, const char *source, const char *event_id, const ke_pipeline *ps,
                    size_t n, ke_pipeline **orig, size_t *n_orig, int *duplicate, ke_error *err)
{
    event_entry *e = event_entry_new(source, event_id, n);
    event_entry **found;
    size_t first, i;
    int rc = KE_OK;

    *orig = NULL;
    *n_orig = 0;
    *duplicate = 0;
    if (e == NULL)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    pthread_rwlock_wrlock(&s->lock);
    found = tfind(e, &s->by_event, key_cmp);
    if (found != NULL) {
        *duplicate = 1;
        rc = copy_out(s, (*found)->index, (*found)->n, orig, err);
        if (rc == KE_OK)
            *n_orig = (*found)->n;
        event_entry_free(e);
        goto out;
    }
    first = s->n_pipes;
    for (i = 0; i < n && rc == KE_OK; i++) {
        rc = add_locked(s, &ps[i], err);
        e->index[i] = first + i;
    }
    if (rc == KE_OK && tsearch(e, &s->by_event, key_cmp) == NULL)
        rc = ke_error_set(err, KE_ENOMEM, "store: out of memory");
    if (rc != KE_OK) {
        /* Undo the records added for this event: all or nothing. */
        while (s->n_pipes > first) {
            ke_pipeline *p = s->pipes[--s->n_pipes];

            tdelete(p, &s->by_id, id_cmp);
            ke_pipeline_release(p);
            free(p);
        }
        event_entry_free(e);
        goto out;
    }
    rc = copy_out(s, e->index, n, orig, err);
    if (rc == KE_OK)
        *n_orig = n;
out:
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

int ke_store_insert(ke_store *s, const ke_pipeline *p, ke_error *err)
{
    ke_pipeline key;
    int rc;

    pthread_rwlock_wrlock(&s->lock);
    if (p->parent != NULL && p->parent[0] != '\0') {
        memset(&key, 0, sizeof key);
        snprintf(key.id, sizeof key.id, "%s", p->parent);
        if (strlen(p->parent) > KE_ID_LEN || tfind(&key, &s->by_id, id_cmp) == NULL) {
            rc = ke_error_set(err, KE_ENOTFOUND, "parent pipeline \"%s\" not found", p->parent);
            goto out;
        }
    }
    rc = add_locked(s, p, err);
out:
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

int ke_store_get(ke_store *s, const char *id, ke_pipeline *out, ke_error *err)
{
    ke_pipeline key, **found;
    int rc = KE_OK;

    memset(out, 0, sizeof *out);
    if (strlen(id) > KE_ID_LEN)
        return ke_error_set(err, KE_ENOTFOUND, "pipeline \"%s\" not found", id);
    memset(&key, 0, sizeof key);
    snprintf(key.id, sizeof key.id, "%s", id);
    pthread_rwlock_rdlock(&s->lock);
    found = tfind(&key, &s->by_id, id_cmp);
    if (found == NULL)
        rc = ke_error_set(err, KE_ENOTFOUND, "pipeline \"%s\" not found", id);
    else if (ke_pipeline_copy(out, *found) != KE_OK)
        rc = ke_error_set(err, KE_ENOMEM, "store: out of memory");
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static int matches(const ke_pipeline *p, const ke_list_query *q)
{
    if (q->name != NULL && q->name[0] != '\0' && strcmp(p->name, q->name) != 0)
        return 0;
    if (q->parent != NULL && q->parent[0] != '\0' &&
        (p->parent == NULL || strcmp(p->parent, q->parent) != 0))
        return 0;
    if (q->state != KE_STATE_UNSPECIFIED && ke_pipeline_state(p) != q->state)
        return 0;
    return 1;
}

/* Page tokens are "m<position>": the position (in insertion order) to resume
 * below. Opaque to callers. */
static int parse_token(const char *tok, size_t n_pipes, size_t *start, ke_error *err)
{
    char *end;
    unsigned long long v;

    if (tok == NULL || tok[0] == '\0') {
        *start = n_pipes;
        return KE_OK;
    }
    if (tok[0] != 'm' || tok[1] < '0' || tok[1] > '9')
        goto bad;
    v = strtoull(tok + 1, &end, 10);
    if (*end != '\0' || v > n_pipes)
        goto bad;
    *start = (size_t)v;
    return KE_OK;
bad:
    return ke_error_set(err, KE_EINVAL, "page_token \"%s\" was not issued by this server", tok);
}

int ke_store_list(ke_store *s, const ke_list_query *q, ke_pipeline **out, size_t *n, char **next,
                  ke_error *err)
{
    size_t limit = q->limit, pos = 0, got = 0;
    ke_pipeline *ps = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    *next = NULL;
    if (limit == 0 || limit > KE_LIST_MAX_LIMIT)
        limit = limit == 0 ? KE_LIST_DEFAULT_LIMIT : KE_LIST_MAX_LIMIT;
    ps = calloc(limit, sizeof *ps);
    if (ps == NULL)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    pthread_rwlock_rdlock(&s->lock);
    rc = parse_token(q->page_token, s->n_pipes, &pos, err);
    while (rc == KE_OK && pos > 0 && got < limit) {
        const ke_pipeline *p = s->pipes[--pos];

        if (!matches(p, q))
            continue;
        if (ke_pipeline_copy(&ps[got], p) != KE_OK)
            rc = ke_error_set(err, KE_ENOMEM, "store: out of memory");
        else
            got++;
    }
    /* Another page exists only when a record below pos matches. */
    if (rc == KE_OK && got == limit) {
        size_t p = pos;

        while (p > 0 && !matches(s->pipes[p - 1], q))
            p--;
        if (p > 0 && asprintf(next, "m%zu", p) < 0) {
            *next = NULL;
            rc = ke_error_set(err, KE_ENOMEM, "store: out of memory");
        }
    }
    pthread_rwlock_unlock(&s->lock);
    if (rc != KE_OK) {
        ke_pipelines_free(ps, got);
        free(*next);
        *next = NULL;
        return rc;
    }
    *out = ps;
    *n = got;
    return KE_OK;
}

static void noop_free(void *p)
{
    (void)p;
}

void ke_store_close(ke_store *s)
{
    size_t i;

    if (s == NULL)
        return;
    tdestroy(s->by_id, noop_free);
    tdestroy(s->by_event, event_entry_free);
    for (i = 0; i < s->n_pipes; i++) {
        ke_pipeline_release(s->pipes[i]);
        free(s->pipes[i]);
    }
    free(s->pipes);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}
