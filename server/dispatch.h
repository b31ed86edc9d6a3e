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

/* The cap on an event rendered as CloudEvents JSON (the `event` parameter, stored and
 * answered with every run it starts), relative to the request limit: a rendering may grow
 * past the request (base64 data takes 4/3, a control character in text data 6 bytes as
 * \u00XX), and KE_EVENT_JSON_FACTOR x --max-message-bytes lets 3 MiB of binary data (4 MiB
 * as base64) through at the 4 MiB default while a 4 MB text of control characters (24 MB
 * rendered) is refused with RESOURCE_EXHAUSTED, before anything is stored. */
#define KE_EVENT_JSON_FACTOR 2
#define KE_EVENT_JSON_DEFAULT_CAP ((size_t)KE_EVENT_JSON_FACTOR * (4u << 20))

typedef struct ke_dispatcher {
    const ke_router *router;    /* routing table; NULL when dispatch is disabled */
    ke_store *store;            /* where records go */
    size_t max_event_json;      /* largest rendered event in bytes; 0: KE_EVENT_JSON_DEFAULT_CAP */
    struct ke_metrics *metrics; /* ke_dispatch_async counts each event's outcome here, or NULL */
    struct ke_stats *stats;     /* ke_dispatch_async counts events accepted as new here, or NULL */
} ke_dispatcher;

/* Matches ev, builds one READY pipeline per matching route (parameters id,
 * event and the route's static ones; tags event_id, event_source, event_type
 * and the route's static ones), and records them with the event's key.
 * received is when the event arrived (its `time` when it has none).
 * Returns KE_OK with *res filled, KE_EDISABLED when there is no router,
 * KE_ETOOBIG when the rendered event is larger than the dispatcher's cap,
 * or the store's error. */
int ke_dispatch(const ke_dispatcher *d, const ke_event *ev, const struct timespec *received,
                ke_dispatch_result *res, ke_error *err);

/* Called once with what an event started (rc KE_OK; the callee releases
 * res with ke_dispatch_result_release) or why it could not be recorded. */
typedef void (*ke_dispatch_cb)(void *ctx, int rc, const ke_error *err, ke_dispatch_result *res);

/* ke_dispatch without waiting: builds the pipelines now (ev may be freed on
 * return) and hands them to the store's writer; cb runs once after the
 * commit, from the writer thread -- or right away, from this thread, when
 * dispatch is disabled, building fails, or the event is a resend of one
 * already committed (ke_store_find_accepted: cb gets the original pipelines,
 * duplicate = 1, and nothing is built or queued). */
void ke_dispatch_async(const ke_dispatcher *d, const ke_event *ev, const struct timespec *received,
                       ke_dispatch_cb cb, void *ctx);

/* Frees what res owns and zeroes it. */
void ke_dispatch_result_release(ke_dispatch_result *res);

/* The message a disabled dispatch answers with. */
extern const char ke_dispatch_disabled_msg[];

#endif
