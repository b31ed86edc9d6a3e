/* service.h -- kedro.events.v1.EventService: the method handlers behind the gRPC loop. */
#ifndef KE_SERVICE_H
#define KE_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "metrics.h"
#include "router.h"
#include "rpc.h"
#include "store.h"

#define KE_CREATE_MAX_ITEMS 100 /* parameters (and tags) a CreatePipeline may carry */

struct ke_runner; /* runner.h */
struct ke_stats;  /* stats.h */

typedef struct ke_service {
    ke_dispatcher dispatcher; /* matching and recording of events */
    ke_store *store;          /* records, for Create/Get/List */
    struct ke_runner *runner; /* what runs READY pipelines (CancelPipeline ends a local run), or
                                 NULL; its members may be filled after the methods are made */
    ke_routes *routes;        /* the current router (replaced by reloads); NULL: the
                               * dispatcher's router is used as it is */
    ke_metrics *metrics;      /* where calls are counted, or NULL */
    struct ke_logs *logs;     /* the log hub StreamLogs reads with (logs.h), or NULL */
    struct ke_stats *stats;   /* GetStats's count of events accepted as new (the dispatcher
                                 counts there too), or NULL: none counted */
} ke_service;

/* p as a packed kedro.events.v1.Pipeline in a new buffer *buf of *len bytes (free() it), the
 * encoding every answer uses. Returns KE_OK or KE_ENOMEM. */
int ke_service_encode_pipeline(const ke_pipeline *p, uint8_t **buf, size_t *len);

/* Fills out with the service's methods (at most cap); returns how many there are. */
size_t ke_service_methods(ke_service *svc, ke_rpc_method *out, size_t cap);

#endif
