/* dispatch.h -- from a validated event to recorded pipelines: match, build, store. */
#ifndef KE_DISPATCH_H
#define KE_DISPATCH_H

#include <stddef.h>
#include <time.h>

#include "errors.h"
#include "event.h"
#include "pipeline.h"
#include "router.h"
#include "store.h"

/* What one event started. */
typedef struct ke_dispatch_result {
    ke_pipeline *pipelines; /* in configuration order; owned (ke_dispatch_result_release) */
    size_t n;               /* number of pipelines (0: the event matched nothing) */
    int duplicate;          /* 1: (source, id) was accepted before; pipelines are the originals */
} ke_dispatch_result;

typedef struct ke_dispatcher {
    const ke_router *router; /* routing table; NULL when dispatch is disabled */
    ke_store *store;         /* where records go */
} ke_dispatcher;

/* Matches ev, builds one READY pipeline per matching route (parameters id,
 * event and the route's static ones; tags event_id, event_source, event_type
 * and the route's static ones), and records them with the event's key.
 * received is when the event arrived (its `time` when it has none).
 * Returns KE_OK with *res filled, KE_EDISABLED when there is no router,
 * or the store's error. */
int ke_dispatch(const ke_dispatcher *d, const ke_event *ev, const struct timespec *received,
                ke_dispatch_result *res, ke_error *err);

/* Called once with what an event started (rc KE_OK; the callee releases
 * res with ke_dispatch_result_release) or why it could not be recorded. */
typedef void (*ke_dispatch_cb)(void *ctx, int rc, const ke_error *err, ke_dispatch_result *res);

/* ke_dispatch without waiting: builds the pipelines now (ev may be freed on
 * return) and hands them to the store's writer; cb runs once after the
 * commit, from the writer thread -- or right away, from this thread, when
 * dispatch is disabled or building fails. */
void ke_dispatch_async(const ke_dispatcher *d, const ke_event *ev, const struct timespec *received,
                       ke_dispatch_cb cb, void *ctx);

/* Frees what res owns and zeroes it. */
void ke_dispatch_result_release(ke_dispatch_result *res);

/* The message a disabled dispatch answers with. */
extern const char ke_dispatch_disabled_msg[];

#endif
