/* health.h -- grpc.health.v1.Health: tells probes whether the EventService is serving. */
#ifndef KE_HEALTH_H
#define KE_HEALTH_H

#include <stddef.h>

#include "errors.h"
#include "rpc.h"

typedef struct ke_health ke_health;

/* A service's health; the numbers are grpc.health.v1.HealthCheckResponse.ServingStatus's. */
typedef enum ke_health_status {
    KE_HEALTH_SERVING = 1,         /* answering calls */
    KE_HEALTH_NOT_SERVING = 2,     /* known, but not answering (e.g. shutting down) */
    KE_HEALTH_SERVICE_UNKNOWN = 3, /* not a service this server reports on */
} ke_health_status;

/* Creates the health service, SERVING. Sets *out and returns KE_OK, or
 * KE_ENOMEM (*out NULL). The caller frees it with ke_health_free, after the
 * server that calls its methods has shut down. */
int ke_health_new(ke_health **out, ke_error *err);

/* Reports every known service as SERVING (serving != 0) or NOT_SERVING from
 * now on. Thread-safe: callable while handlers run. */
void ke_health_set_serving(ke_health *h, int serving);

/* The status a Check or Watch for `service` answers: "" (the whole server)
 * and "kedro.events.v1.EventService" are known; anything else is
 * KE_HEALTH_SERVICE_UNKNOWN. Thread-safe. */
ke_health_status ke_health_status_for(const ke_health *h, const char *service);

/* Writes up to cap method entries (Check, unary; Watch, server-streaming) to
 * out and returns how many the service offers (2), so cap 0 asks the count.
 * The entries point at h and at static paths: h must outlive the server. */
size_t ke_health_methods(ke_health *h, ke_rpc_method *out, size_t cap);

/* Frees h; NULL is fine. */
void ke_health_free(ke_health *h);

#endif
