/* shim_metrics.c -- kedro-event-shim's metric families and its GET /metrics answer. */
#include "shim_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kec_metrics.h"

#ifndef KE_VERSION
#define KE_VERSION "unknown"
#endif

#define N_CODES 600 /* HTTP status codes 0..599, series made on first use */

static kec_metrics *reg;                              /* the registry */
static kec_family *requests;                          /* ..._requests_total{route,code} */
static kec_series *durations[KES_METRICS_MAX_ROUTES]; /* ..._request_duration_seconds{route} */
static const char *const *routes;                     /* route names */
static int n_routes;                                  /* their number */

int kes_metrics_start(const char *const *route_names, int n)
{
    static const char *const route_code[] = {"route", "code"};
    static const char *const route[] = {"route"};
    static const char *const version[] = {"version"};
    const char *v[1];
    kec_family *f;
    int i;

    if (n > KES_METRICS_MAX_ROUTES)
        return -1;
    routes = route_names;
    n_routes = n;
    reg = kec_metrics_new();
    if (reg == NULL)
        return -1;
    f = kec_metrics_family(reg, KEC_GAUGE, "kedro_event_shim_build_info",
                           "Always 1; the version of kedro-event-shim in its label.", 1, version, 1,
                           NULL, 0);
    v[0] = KE_VERSION;
    kec_gauge_set(kec_series_get(f, v), 1);
    requests = kec_metrics_family(reg, KEC_COUNTER, "kedro_event_shim_requests_total",
                                  "HTTP requests answered, by route and status code.", 2,
                                  route_code, (size_t)n * 40, NULL, 0);
    f = kec_metrics_family(reg, KEC_HISTOGRAM, "kedro_event_shim_request_duration_seconds",
                           "From a request's first byte of headers to its answer being queued "
                           "and the request completed.",
                           1, route, (size_t)n, kec_metrics_latency_bounds, kec_metrics_latency_n);
    for (i = 0; f != NULL && i < n; i++) {
        v[0] = route_names[i];
        durations[i] = kec_series_get(f, v);
    }
    if (requests == NULL || f == NULL || kec_metrics_add_process(reg, kec_metrics_now()) != 0) {
        kes_metrics_stop();
        return -1;
    }
    return 0;
}

void kes_metrics_stop(void)
{
    kec_metrics_free(reg);
    reg = NULL;
    requests = NULL;
    memset(durations, 0, sizeof durations);
}

void kes_metrics_request(int route, int status, double start)
{
    char code[8];
    const char *v[2];

    if (reg == NULL || route < 0 || route >= n_routes)
        return;
    snprintf(code, sizeof code, "%d", status >= 0 && status < N_CODES ? status : 0);
    v[0] = routes[route];
    v[1] = code;
    kec_counter_add(kec_series_get(requests, v), 1);
    kec_histogram_observe(durations[route], kec_metrics_mono() - start);
}

enum MHD_Result kes_metrics_answer(struct MHD_Connection *conn)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t len = 0;
    char *text = reg != NULL ? kec_metrics_render(reg, &len) : NULL;

    if (text == NULL) {
        static const char oom[] = "{\"detail\": \"out of memory\"}";

        resp = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        if (resp == NULL)
            return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        ret = MHD_queue_response(conn, 500, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, KEC_METRICS_CONTENT_TYPE);
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}
