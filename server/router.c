/* router.c -- the immutable routing table: an open-addressing hash table on (source, type)
 * pairs, each holding its routes in configuration order. */
#include "router.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One (source, type) pair and the routes it starts. */
typedef struct bucket {
    const char *source;      /* the pair's source (the config's string); NULL: empty bucket */
    const char *type;        /* the pair's type */
    uint64_t hash;           /* pair_hash(source, type) */
    const ke_route **routes; /* its routes, in configuration order (points into all) */
    size_t n;                /* number of routes */
} bucket;

struct ke_router {
    ke_config *cfg;       /* the configuration, owned */
    bucket *buckets;      /* capacity buckets, linear probing, at most half full */
    size_t mask;          /* capacity - 1; capacity is a power of two */
    const ke_route **all; /* every route, grouped by pair; buckets point into it */
    atomic_size_t refs;   /* holders (ke_router_ref); freed when the last one lets go */
};

struct ke_routes {
    pthread_mutex_t lock; /* guards cur and taking a reference to it */
    ke_router *cur;       /* the current router (one reference held), or NULL */
};

/* FNV-1a 64 over source, a 0 byte and type (the 0 keeps ("ab", "c") and ("a", "bc")
 * apart), with a final mix so the low bits used as the index depend on every byte. */
static uint64_t pair_hash(const char *source, const char *type)
{
    const uint64_t prime = 1099511628211ULL;
    uint64_t h = 14695981039346656037ULL;
    const unsigned char *p;

    for (p = (const unsigned char *)source; *p != '\0'; p++)
        h = (h ^ *p) * prime;
    h *= prime; /* the 0 separator: h ^ 0 == h */
    for (p = (const unsigned char *)type; *p != '\0'; p++)
        h = (h ^ *p) * prime;
    h ^= h >> 32;
    return h;
}

/* The bucket holding (source, type), or the empty bucket where it would go. Terminates
 * because the table is never more than half full. */
static bucket *find(const ke_router *r, uint64_t h, const char *source, const char *type)
{
    size_t i = (size_t)h & r->mask;
    bucket *b;

    for (;;) {
        b = &r->buckets[i];
        if (b->source == NULL ||
            (b->hash == h && strcmp(b->source, source) == 0 && strcmp(b->type, type) == 0))
            return b;
        i = (i + 1) & r->mask;
    }
}

int ke_router_new(ke_config *cfg, ke_router **out, ke_error *err)
{
    ke_router *r = NULL;
    size_t cap = 2, i, off = 0, n;
    const ke_route *route;
    uint64_t h;
    bucket *b;
    int rc = KE_OK;

    *out = NULL;
    if (cfg == NULL)
        return ke_error_set(err, KE_EINVAL, "no event configuration to route");
    n = cfg->n_routes;
    if (n > SIZE_MAX / 4 / sizeof *r->buckets) {
        rc = ke_error_set(err, KE_ENOMEM, "%zu routes: too many for a routing table", n);
        goto out;
    }
    while (cap < 2 * n)
        cap <<= 1;
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "out of memory building the routing table");
        goto out;
    }
    atomic_init(&r->refs, 1);
    r->cfg = cfg;
    r->mask = cap - 1;
    r->buckets = calloc(cap, sizeof *r->buckets);
    r->all = malloc((n > 0 ? n : 1) * sizeof *r->all);
    if (r->buckets == NULL || r->all == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "out of memory building the routing table");
        goto out;
    }
    /* Count the routes of each pair, give each pair its slice of `all`, then fill the
     * slices in configuration order. */
    for (i = 0; i < n; i++) {
        route = &cfg->routes[i];
        h = pair_hash(route->source, route->type);
        b = find(r, h, route->source, route->type);
        if (b->source == NULL) {
            b->source = route->source;
            b->type = route->type;
            b->hash = h;
        }
        b->n++;
    }
    for (i = 0; i < cap; i++) {
        b = &r->buckets[i];
        if (b->source == NULL)
            continue;
        b->routes = r->all + off;
        off += b->n;
        b->n = 0;
    }
    for (i = 0; i < n; i++) {
        route = &cfg->routes[i];
        b = find(r, pair_hash(route->source, route->type), route->source, route->type);
        b->routes[b->n++] = route;
    }
out:
    if (rc != KE_OK) {
        if (r != NULL)
            ke_router_free(r);
        else
            ke_config_free(cfg);
        return rc;
    }
    *out = r;
    return KE_OK;
}

const ke_route *const *ke_router_match(const ke_router *r, const char *source, const char *type,
                                       size_t *n)
{
    const bucket *b;

    *n = 0;
    if (r == NULL || source == NULL || type == NULL)
        return NULL;
    b = find(r, pair_hash(source, type), source, type);
    if (b->source == NULL)
        return NULL;
    *n = b->n;
    return b->routes;
}

const ke_config *ke_router_config(const ke_router *r)
{
    return r == NULL ? NULL : r->cfg;
}

ke_router *ke_router_ref(ke_router *r)
{
    if (r != NULL)
        atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    return r;
}

void ke_router_free(ke_router *r)
{
    if (r == NULL || atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
        return;
    ke_config_free(r->cfg);
    free(r->buckets);
    free(r->all);
    free(r);
}

/* ---- the current router, replaced by a reload */

int ke_routes_new(ke_router *initial, ke_routes **out, ke_error *err)
{
    ke_routes *rs = calloc(1, sizeof *rs);

    *out = NULL;
    if (rs == NULL) {
        ke_router_free(initial);
        return ke_error_set(err, KE_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&rs->lock, NULL);
    rs->cur = initial;
    *out = rs;
    return KE_OK;
}

ke_router *ke_routes_acquire(ke_routes *rs)
{
    ke_router *r;

    if (rs == NULL)
        return NULL;
    pthread_mutex_lock(&rs->lock);
    r = ke_router_ref(rs->cur);
    pthread_mutex_unlock(&rs->lock);
    return r;
}

void ke_routes_swap(ke_routes *rs, ke_router *next)
{
    ke_router *old;

    pthread_mutex_lock(&rs->lock);
    old = rs->cur;
    rs->cur = next;
    pthread_mutex_unlock(&rs->lock);
    ke_router_free(old); /* freed now, or by the last dispatch still holding it */
}

void ke_routes_free(ke_routes *rs)
{
    if (rs == NULL)
        return;
    ke_router_free(rs->cur);
    pthread_mutex_destroy(&rs->lock);
    free(rs);
}
