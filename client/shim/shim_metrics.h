/* shim_metrics.h -- kedro-event-shim's metrics (on the shared registry, client/kec_metrics.h):
 * requests by route and status code, their latency, build info, process metrics; served at
 * GET /metrics. */
#ifndef KES_SHIM_METRICS_H
#define KES_SHIM_METRICS_H

#include <microhttpd.h>

/* The route names requests are counted under (route label), by the shim's route number; the
 * last one is "other". Adding a route: one line in http.c's route_names. */
#define KES_METRICS_MAX_ROUTES 16

/* Creates the registry with these n route names (kept; static strings). 0, or -1 when out of
 * memory. */
int kes_metrics_start(const char *const *route_names, int n);

/* Frees it (after the HTTP server stopped). */
void kes_metrics_stop(void);

/* One request answered: its route number, HTTP status, and start (kec_metrics_mono()). */
void kes_metrics_request(int route, int status, double start);

/* Answers GET /metrics on conn with the exposition text. */
enum MHD_Result kes_metrics_answer(struct MHD_Connection *conn);

#endif
