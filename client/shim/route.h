/* route.h -- which endpoint of the shim a request's path and method name (route.c): the
 * routes, their labels in the request metrics, and the 404 or 405 of a request that names
 * none. */
#ifndef KES_ROUTE_H
#define KES_ROUTE_H

#include "shim.h"

/* What a request asks for. */
typedef enum kes_route {
    R_OTHER,        /* nothing (404, or refused before routing) */
    R_EVENT,        /* POST /event/ */
    R_GET_PIPELINE, /* GET /pipelines/{id} */
    R_LIST,         /* GET /pipelines */
    R_CREATE,       /* POST /pipelines/ */
    R_HEALTH,       /* GET /healthz */
    R_CANCEL,       /* POST /pipelines/{id}/cancel (actions.c) */
    R_RETRY,        /* POST /pipelines/{id}/retry (actions.c) */
    R_METRICS,      /* GET /metrics */
    R_LOGS,         /* GET /pipelines/{id}/logs (logs.c) */
    R_UI,           /* GET /ui/..., /ui, / (ui.c) */
    R_STATS,        /* GET /stats (stats.c) */
    R_WATCH,        /* GET /pipelines/watch, /pipelines/{id}/watch (watch.c) */
    R_COUNT         /* the number of routes */
} kes_route;

/* The route label of each route in kedro_event_shim_requests_total (shim_metrics.c). */
extern const char *const kes_route_names[R_COUNT];

/* Sets *route from the path url and method (ui: whether the console is served) and returns 1,
 * with *id the pipeline id (malloc'd) for the routes that name one; otherwise leaves 404 or
 * 405 (with Allow) in a and returns 0 (-1 when out of memory). */
int kes_route_match(const char *url, const char *method, int ui, kes_route *route, char **id,
                    kes_answer *a);

#endif
