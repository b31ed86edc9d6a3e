/* router.h -- the immutable routing table: (source, type) -> routes. */
#ifndef KE_ROUTER_H
#define KE_ROUTER_H

#include <stddef.h>

#include "config.h"
#include "errors.h"

typedef struct ke_router ke_router;

/* Builds a routing table from cfg and takes ownership of cfg (freed with the
 * router, also on failure). Lookup cost does not grow with the number of
 * routes (hash table on the pair). Returns KE_OK or KE_ENOMEM. */
int ke_router_new(ke_config *cfg, ke_router **out, ke_error *err);

/* The routes whose source and type both equal the given ones (exact,
 * case-sensitive), in configuration order. Sets *n (0 when none) and returns
 * an array owned by the router, or NULL when *n is 0. Thread-safe: the table
 * never changes after ke_router_new. */
const ke_route *const *ke_router_match(const ke_router *r, const char *source, const char *type,
                                       size_t *n);

/* The configuration the router was built from. */
const ke_config *ke_router_config(const ke_router *r);

/* Takes one more reference to r (NULL is fine) and returns it. A router starts with one. */
ke_router *ke_router_ref(ke_router *r);

/* Drops one reference; the last one frees the router and its configuration. NULL is fine. */
void ke_router_free(ke_router *r);

/* The router calls start with, replaced atomically by a reload (SIGHUP): a call takes a
 * reference when it starts (ke_routes_acquire: one uncontended mutex) and drops it when done
 * (ke_router_free: one atomic), so a call in flight keeps the router it started with and the
 * old router is freed when its last user is done. */
typedef struct ke_routes ke_routes;

/* A holder of initial (may be NULL: dispatch disabled), taking over its reference. Returns
 * KE_OK, or KE_ENOMEM (initial freed). */
int ke_routes_new(ke_router *initial, ke_routes **out, ke_error *err);

/* A new reference to the current router (drop it with ke_router_free), or NULL when there is
 * none or rs is NULL. Thread-safe. */
ke_router *ke_routes_acquire(ke_routes *rs);

/* Makes next (its reference taken over; may be NULL) the router of calls that start from now
 * on and drops the holder's reference to the previous one. Thread-safe. */
void ke_routes_swap(ke_routes *rs, ke_router *next);

/* Drops the current router and frees rs; NULL is fine. */
void ke_routes_free(ke_routes *rs);

#endif
