/* watch.h -- the watch hub: one subscriber of the store's change feed and one thread that
 * hands each changed pipeline's record, read and encoded once, to every stream watching it. */
#ifndef KE_WATCH_H
#define KE_WATCH_H

#include <stddef.h>

#include "errors.h"
#include "pipeline.h"
#include "rpc.h"
#include "store.h"

/* A watcher whose unsent records pass this many bytes (a client that does not read) is ended
 * RESOURCE_EXHAUSTED "watcher too slow: ...". */
#define KE_WATCH_MAX_QUEUED (4u << 20)

typedef struct ke_watch ke_watch;

/* What one stream watches: one pipeline by id, or every change matching a filter. */
typedef struct ke_watch_filter {
    const char *id;     /* WatchPipeline: this pipeline (the others are then ignored) */
    const char *name;   /* WatchPipelines: only this name, or NULL/"" */
    ke_state state;     /* only changes into this state, or UNSPECIFIED */
    const char *parent; /* only children of this id, or NULL/"" */
} ke_watch_filter;

/* Subscribes to s's change feed and starts the hub's thread. Returns KE_OK, KE_ENOMEM, or
 * KE_EINVAL when the store has no subscriber slot left. */
int ke_watch_new(ke_store *s, ke_watch **out, ke_error *err);

/* Makes call (a server stream, inside its handler) a watcher: the hub holds it and sends it
 * records until it ends. By id: the current record first, then the record after each state
 * change; ends OK after a record in an ended state, NOT_FOUND for an unknown id. By filter:
 * the record of each matching change from now on. Returns KE_OK, or KE_ENOMEM (the caller
 * then answers the call). */
int ke_watch_add(ke_watch *w, ke_rpc_call *call, const ke_watch_filter *f, ke_error *err);

/* The streams being watched now (for logs and tests). */
size_t ke_watch_count(ke_watch *w);

/* Unsubscribes, stops the thread and frees the hub; after the server's shutdown (no watcher
 * left). NULL is fine. */
void ke_watch_free(ke_watch *w);

/* Fills out with WatchPipeline and WatchPipelines (service_watch.c; at most cap); returns
 * how many there are (2). */
size_t ke_watch_methods(ke_watch *w, ke_rpc_method *out, size_t cap);

#endif
