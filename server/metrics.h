/* metrics.h -- kedro-eventd's metrics: the families it exports (on the shared registry,
 * client/kec_metrics.h), fed by the dispatch path, the store's change feed and commit observer,
 * and reloads; served over HTTP by metrics_http.c. Every function takes NULL (metrics off). */
#ifndef KE_METRICS_H
#define KE_METRICS_H

#include <stddef.h>

#include "config.h"
#include "errors.h"
#include "store.h"

/* Pipeline names counted beside the configured route names (children created with any name);
 * past it a name counts as KEC_METRICS_OVERFLOW. */
#define KE_METRICS_OTHER_NAMES 100

typedef struct ke_metrics ke_metrics;

/* Which call a Dispatch duration is for. */
typedef enum ke_metrics_method {
    KE_METRICS_DISPATCH,       /* Dispatch */
    KE_METRICS_DISPATCH_BATCH, /* DispatchBatch */
} ke_metrics_method;

/* Registers the families, reads the READY and STARTED counts once (ke_store_count) and follows
 * the store from then on (change feed, commit observer). Call before anything else writes to
 * the store. Returns KE_OK with *out (ke_metrics_free, before the store closes), or an error. */
int ke_metrics_new(ke_store *store, ke_metrics **out, ke_error *err);

/* Stops following the store and frees m; NULL is fine. */
void ke_metrics_free(ke_metrics *m);

/* n events arrived in a Dispatch or DispatchBatch call. */
void ke_metrics_received(ke_metrics *m, size_t n);

/* One event's outcome: rc KE_OK (accepted when not duplicate; unmatched too when it started no
 * pipeline), or the error it was refused with (counted by its gRPC status), n events at once. */
void ke_metrics_outcome(ke_metrics *m, int rc, size_t n_pipelines, int duplicate);
void ke_metrics_rejected(ke_metrics *m, int rc, size_t n);

/* A call answered: its duration from start (kec_metrics_mono() when it arrived). */
void ke_metrics_dispatch_done(ke_metrics *m, ke_metrics_method method, double start);

/* The configuration now routing (NULL: none): the routes gauge, and its pipeline names reserved
 * in the per-pipeline families. */
void ke_metrics_config(ke_metrics *m, const ke_config *cfg);

/* A reload ended: ok 1 (success, with its time) or 0 (failure). */
void ke_metrics_reload(ke_metrics *m, int ok);

/* The exposition text (free() it), or NULL when out of memory. */
char *ke_metrics_render(ke_metrics *m, size_t *len);

#endif
