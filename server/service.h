/* service.h -- kedro.events.v1.EventService: the method handlers behind the gRPC loop. */
#ifndef KE_SERVICE_H
#define KE_SERVICE_H

#include <stddef.h>

#include "dispatch.h"
#include "rpc.h"
#include "store.h"

#define KE_CREATE_MAX_ITEMS 100 /* parameters (and tags) a CreatePipeline may carry */

typedef struct ke_service {
    ke_dispatcher dispatcher; /* matching and recording of events */
    ke_store *store;          /* records, for Create/Get/List */
    struct ke_logs *logs;     /* the log hub StreamLogs reads with (logs.h), or NULL */
} ke_service;

/* Fills out with the service's methods (at most cap); returns how many there are. */
size_t ke_service_methods(ke_service *svc, ke_rpc_method *out, size_t cap);

#endif
