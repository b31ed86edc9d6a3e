/* metrics_http.h -- kedro-eventd's --metrics-listen: plain HTTP (libmicrohttpd) serving
 * GET /metrics in the Prometheus text format. */
#ifndef KE_METRICS_HTTP_H
#define KE_METRICS_HTTP_H

#include "errors.h"
#include "kec_tokens.h"
#include "metrics.h"

#define KE_METRICS_HTTP_MAX_CONNECTIONS 16 /* scrapers at once; more are refused */
#define KE_METRICS_HTTP_TIMEOUT 10         /* seconds an idle connection is kept */

typedef struct ke_metrics_http ke_metrics_http;

/* Listens on listen ("HOST:PORT", "[V6]:PORT"; port 0 picks one) and serves m from its own
 * thread: GET (or HEAD) /metrics answers 200 with the text, other paths 404, other methods 405.
 * With auth (may be NULL) a scrape must send "Authorization: Bearer <token>" (401 otherwise).
 * Returns KE_OK with *out, KE_EINVAL naming a bad address, or KE_EIO when it cannot listen. */
int ke_metrics_http_start(const char *listen, ke_metrics *m, kec_auth *auth, ke_metrics_http **out,
                          ke_error *err);

/* The port listened on. */
int ke_metrics_http_port(const ke_metrics_http *h);

/* Stops serving and frees h; NULL is fine. */
void ke_metrics_http_stop(ke_metrics_http *h);

#endif
