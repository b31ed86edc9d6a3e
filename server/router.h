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

/* Frees the router and its configuration; NULL is fine. */
void ke_router_free(ke_router *r);

#endif
