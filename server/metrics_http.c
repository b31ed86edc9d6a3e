/* metrics_http.c -- the --metrics-listen face: libmicrohttpd serving GET /metrics. */
#include "metrics_http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kec_metrics.h"

struct ke_metrics_http {
    struct MHD_Daemon *d; /* the server */
    ke_metrics *m;        /* what it serves */
    kec_auth *auth;       /* tokens a scrape must present, or NULL */
    int port;             /* bound port */
};

/* Answers a fixed text with status. */
static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned status, const char *text,
                                   const char *allow)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    ke_metrics_http *h = cls;
    struct MHD_Response *r;
    const char *authz;
    enum MHD_Result ret;
    size_t len = 0;
    char *text;

    (void)version;
    (void)upload;
    if (*con_cls == NULL) { /* headers only so far: answer once the body (if any) is read */
        *con_cls = h;
        return MHD_YES;
    }
    if (*upload_size != 0) { /* a body is not read, only skipped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return answer_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n", NULL);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                           "method not allowed: /metrics answers GET\n", "GET, HEAD");
    authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h->auth != NULL && (authz == NULL || !kec_auth_check(h->auth, authz, strlen(authz))))
        return answer_text(c, MHD_HTTP_UNAUTHORIZED,
                           "unauthorized: send Authorization: Bearer <token> (--auth-tokens)\n",
                           NULL);
    text = ke_metrics_render(h->m, &len);
    if (text == NULL)
        return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n", NULL);
    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, KEC_METRICS_CONTENT_TYPE);
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* Resolves "HOST:PORT" / "[V6]:PORT" (numeric host or name; empty host: any). */
static int resolve(const char *listen, struct addrinfo **res, ke_error *err)
{
    const char *colon = strrchr(listen, ':');
    struct addrinfo hints;
    char host[256];
    size_t n;
    int rc;

    if (colon == NULL || colon[1] == '\0')
        return ke_error_set(err, KE_EINVAL, "--metrics-listen '%s' is not HOST:PORT", listen);
    n = (size_t)(colon - listen);
    if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
        memcpy(host, listen + 1, n - 2 < sizeof host ? n - 2 : 0);
        n -= 2;
    } else if (n < sizeof host) {
        memcpy(host, listen, n);
    }
    if (n >= sizeof host)
        return ke_error_set(err, KE_EINVAL, "--metrics-listen '%s': the host is too long", listen);
    host[n] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(n > 0 ? host : NULL, colon + 1, &hints, res);
    if (rc != 0)
        return ke_error_set(err, KE_EINVAL, "--metrics-listen '%s': %s", listen, gai_strerror(rc));
    return KE_OK;
}

int ke_metrics_http_start(const char *listen, ke_metrics *m, kec_auth *auth, ke_metrics_http **out,
                          ke_error *err)
{
    const union MHD_DaemonInfo *info;
    struct addrinfo *ai = NULL;
    ke_metrics_http *h = NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    int rc;

    *out = NULL;
    rc = resolve(listen, &ai, err);
    if (rc != KE_OK)
        return rc;
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        freeaddrinfo(ai);
        return ke_error_set(err, KE_ENOMEM, "out of memory");
    }
    h->m = m;
    h->auth = auth;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* clang-format off */
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)KE_METRICS_HTTP_MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)KE_METRICS_HTTP_TIMEOUT,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
                            MHD_OPTION_END);
    /* clang-format on */
    freeaddrinfo(ai);
    if (h->d == NULL) {
        free(h);
        return ke_error_set(err, KE_EIO,
                            "--metrics-listen '%s': cannot listen (address in use, or not an "
                            "address of this host)",
                            listen);
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : 0;
    *out = h;
    return KE_OK;
}

int ke_metrics_http_port(const ke_metrics_http *h)
{
    return h->port;
}

void ke_metrics_http_stop(ke_metrics_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
