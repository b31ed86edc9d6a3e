/* http.c -- the shim's HTTP server on libmicrohttpd: routing, bodies within the limit, and
 * each gRPC-backed request suspended while its call runs and resumed by the call's end.
 *
 * A request's state lives from the first access-handler call to MHD's request-completed
 * callback, which alone frees it. A request that waits on gRPC is suspended exactly once and
 * resumed exactly once: by the Dispatch callback (on the client library's thread), by its
 * job thread (the blocking pipeline and health calls), or at once when the call cannot start.
 * The resuming side touches the request only before MHD_resume_connection. */
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "edge.h"
#include "framing.h"
#include "kec_log.h"
#include "kec_metrics.h"
#include "logs.h"
#include "route.h"
#include "shim.h"
#include "shim_metrics.h"
#include "slow.h"
#include "ui.h"
#include "watch.h"

#define DISCARD_MAX (64u << 20) /* bytes of a too large chunked body read before closing */
/* HTTPS: TLS 1.2 and 1.3 only, GnuTLS's NORMAL ciphers otherwise */

struct kes_http {
    struct MHD_Daemon *d;     /* the daemon */
    kec_client *client;       /* borrowed: the one gRPC client */
    size_t max_body;          /* largest body accepted */
    unsigned max_inflight;    /* requests waiting on gRPC at once */
    atomic_uint inflight;     /* requests suspended on a call or job, not yet resumed */
    atomic_uint open;         /* requests begun and not completed */
    atomic_int closing;       /* shutting down: answers close their connection */
    atomic_int upstream_down; /* the last Dispatch could not reach kedro-eventd (logged) */
    unsigned port;            /* the port bound */
    pthread_attr_t detached;  /* for job threads */
    kes_slow *slow;           /* read and idle deadlines of the connections */
    kec_auth *auth;           /* borrowed: the bearer tokens accepted; NULL: none needed */
    int client_ca;            /* HTTPS clients must present a certificate --tls-client-ca signed */
    struct MHD_OptionItem tls[KES_EDGE_TLS_OPTIONS]; /* the daemon's TLS options (the PEM texts
                                                      * are borrowed) */
    kes_feeds *logs;                                 /* the log streams (logs.c) */
    kes_feeds *watches;                              /* the watches (watch.c) */
    const kes_ui *ui; /* borrowed: the console's files; NULL: --no-ui */
};

typedef struct request {
    kes_http *h;                 /* the server */
    struct MHD_Connection *conn; /* its connection */
    kes_route route;             /* what it asks for */
    char *id;                    /* R_GET_PIPELINE: the id */
    char *body;                  /* len bytes received so far (cap allocated) */
    size_t len;                  /* bytes in body */
    size_t cap;                  /* bytes allocated */
    int too_large;               /* the body passed the limit: discarded, answer 413 */
    size_t discarded;            /* bytes of such a body dropped */
    int waiting;                 /* suspended on a call or a job */
    int answered;                /* an answer is queued: the rest is ignored */
    int close;                   /* the connection is closed after the answer */
    int early;                   /* r->answer (404, 405) is sent on the next call (no body) */
    double start;                /* when its headers arrived (kec_metrics_mono) */
    kes_list_args args;          /* R_LIST: the query (borrowed from MHD) */
    int rc;                      /* R_EVENT: how the call ended (KEC_OK or an error) */
    kec_error err;               /* R_EVENT: its error */
    int connected;               /* R_EVENT: UNAVAILABLE while the channel was up */
    kes_answer answer;           /* what will be answered */
    kes_feed *feed;              /* R_LOGS, R_WATCH: its stream, once begun */
} request;

/* ---- answering ---- */

/* Queues r->answer (its body moves into the response). */
static enum MHD_Result send_answer(request *r)
{
    kes_answer *a = &r->answer;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t i, len;
    const char *oom;

    if (a->body != NULL) {
        resp = MHD_create_response_from_buffer_with_free_callback(a->len, a->body,
                                                                  kes_answer_free_body);
        a->body = NULL;
    } else {
        oom = kes_answer_oom_body(&len);
        a->status = 500;
        resp = MHD_create_response_from_buffer(len, (void *)oom, MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    for (i = 0; i < a->n_headers; i++)
        MHD_add_response_header(resp, a->headers[i].name, a->headers[i].value);
    if (r->close || atomic_load(&r->h->closing))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(r->conn, (unsigned)a->status, resp);
    MHD_destroy_response(resp);
    r->answered = ret == MHD_YES;
    return ret;
}

/* ---- the end of a call or a job (off the HTTP threads) ---- */

/* Lets MHD go on with r; r must not be touched after this. */
static void wake(request *r)
{
    kes_http *h = r->h;

    MHD_resume_connection(r->conn);
    atomic_fetch_sub(&h->inflight, 1);
}

/* Notes whether an UNAVAILABLE came with the channel up (overloaded) or down (unreachable). */
static void note_error(request *r, int rc, const kec_error *err)
{
    r->rc = rc;
    r->err = *err;
    if (rc == KEC_ESTATUS && err->status == KEC_STATUS_UNAVAILABLE)
        r->connected = kec_client_connected(r->h->client, 1);
}

/* A result is answered here, on the thread that decoded it, and released at once: its two
 * dozen allocations freed by the thread that made them, not by an HTTP thread (frees across
 * threads contend for malloc's arena lock). The HTTP thread gets the answer's text. */
static void on_dispatched(void *ctx, int rc, const kec_error *err, kec_dispatch_result *result)
{
    request *r = ctx;

    if (rc == KEC_OK) {
        r->rc = KEC_OK;
        kes_answer_dispatch(&r->answer, result);
        kec_dispatch_result_release(result);
    } else {
        note_error(r, rc, err);
    }
    wake(r);
}

static void on_batch(void *ctx, int rc, const kec_error *err, kec_dispatch_result *results,
                     size_t count)
{
    request *r = ctx;

    if (rc == KEC_OK) {
        r->rc = KEC_OK;
        kes_answer_batch(&r->answer, results, count);
        kec_dispatch_results_free(results, count);
    } else {
        note_error(r, rc, err);
    }
    wake(r);
}

/* A job thread: one blocking call, its answer into r->answer, then wake. */
static void *job_main(void *arg)
{
    request *r = arg;
    kec_client *c = r->h->client;

    switch (r->route) {
    case R_GET_PIPELINE:
        kes_pipelines_get(c, r->id, &r->answer);
        break;
    case R_LIST:
        kes_pipelines_list(c, &r->args, &r->answer);
        break;
    case R_CREATE:
        kes_pipelines_create(c, r->body, r->len, &r->answer);
        break;
    case R_HEALTH:
        kes_health(c, &r->answer);
        break;
    case R_STATS:
        kes_stats(c, r->args.window, r->args.step, &r->answer);
        break;
    case R_CANCEL:
    case R_RETRY:
        kes_pipelines_act(c, r->route == R_CANCEL ? KES_ACT_CANCEL : KES_ACT_RETRY, r->id,
                          &r->answer);
        break;
    case R_EVENT: /* answered elsewhere: start_event, kes_metrics_answer, 404 */
    case R_METRICS:
    case R_LOGS:
    case R_UI:
    case R_WATCH:
    case R_OTHER:
    case R_COUNT:
        break;
    }
    wake(r);
    return NULL;
}

/* ---- starting the work of a complete request (on an HTTP thread) ---- */

/* Takes one of the in-flight places; 0 (with 429 in r->answer) when all are taken. */
static int take_place(request *r)
{
    kes_http *h = r->h;

    if (atomic_fetch_add(&h->inflight, 1) >= h->max_inflight) {
        atomic_fetch_sub(&h->inflight, 1);
        kes_answer_detail(&r->answer, 429, "more than %u requests are waiting on kedro-eventd",
                          h->max_inflight);
        kes_answer_header(&r->answer, "Retry-After", KES_RETRY_AFTER_S);
        return 0;
    }
    return 1;
}

typedef struct header_list {
    kes_header *items; /* filled */
    size_t n;          /* used */
    size_t cap;        /* allocated */
} header_list;

/* Collects a header with its length: a value may hold a NUL byte, which the binding refuses
 * rather than see the value cut short there. */
static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    header_list *l = cls;

    (void)kind;
    (void)key_size;
    if (l->n < l->cap) {
        l->items[l->n].name = key;
        l->items[l->n].value = value != NULL ? value : "";
        l->items[l->n++].len = value != NULL ? value_size : 0;
    }
    return MHD_YES;
}

/* POST /event/: read the binding, then Dispatch or DispatchBatch, suspended. */
static enum MHD_Result start_event(request *r)
{
    kes_http *h = r->h;
    header_list hl;
    kes_post post;
    kes_events evs;
    kes_error kerr;
    kec_error err;
    int n, rc;

    memset(&kerr, 0, sizeof kerr);
    n = MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, NULL, NULL);
    hl.cap = n > 0 ? (size_t)n : 0;
    hl.n = 0;
    hl.items = calloc(hl.cap + 1, sizeof *hl.items);
    if (hl.items == NULL)
        return MHD_NO;
    MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, add_header, &hl);
    post.headers = hl.items;
    post.n_headers = hl.n;
    post.content_type = NULL;
    post.content_type_len = 0;
    if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE,
                                      strlen(MHD_HTTP_HEADER_CONTENT_TYPE), &post.content_type,
                                      &post.content_type_len) != MHD_YES)
        post.content_type = NULL;
    post.body = r->body;
    post.len = r->len;
    rc = kes_binding_read(&post, &evs, &kerr);
    free(hl.items);
    if (rc != KES_OK) {
        kes_answer_kes_error(&r->answer, &kerr);
        return send_answer(r);
    }
    if (!take_place(r)) {
        kes_events_release(&evs);
        return send_answer(r);
    }
    r->waiting = 1;
    MHD_suspend_connection(r->conn);
    /* from here the callback may run (and resume) at any moment: r is its until then */
    kec_error_clear(&err);
    if (evs.batch)
        rc = kec_dispatch_batch_async(h->client, evs.events, evs.count, on_batch, r, &err);
    else
        rc = kec_dispatch_async(h->client, evs.events[0], on_dispatched, r, &err);
    kes_events_release(&evs);
    if (rc != KEC_OK) {
        note_error(r, rc, &err);
        wake(r);
    }
    return MHD_YES;
}

/* The blocking endpoints: run on a job thread, suspended. */
static enum MHD_Result start_job(request *r)
{
    pthread_t t;
    kes_list_args *q = &r->args;

    if (r->route == R_LIST) {
        q->name = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "name");
        q->parent = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "parent");
        q->state = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "state");
        q->limit = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "limit");
        q->page_token = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "page_token");
    } else if (r->route == R_STATS) {
        q->window = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "window");
        q->step = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "step");
    }
    if (!take_place(r))
        return send_answer(r);
    r->waiting = 1;
    MHD_suspend_connection(r->conn);
    if (pthread_create(&t, &r->h->detached, job_main, r) != 0) {
        kes_answer_detail(&r->answer, 503, "cannot start a thread for the call");
        kes_answer_header(&r->answer, "Retry-After", KES_RETRY_AFTER_S);
        wake(r);
    }
    return MHD_YES;
}

/* Logs what an operator must know, once per change rather than per request: kedro-eventd
 * becoming unreachable and reachable again; and every unexpected 500. */
static void log_outcome(const request *r)
{
    kes_http *h = r->h;
    int status = r->answer.status;

    if (status == 502 || status == 504) {
        if (atomic_exchange(&h->upstream_down, 1) == 0)
            kec_log(KEC_LOG_ERROR, "kedro-eventd at %s: %s", kec_client_target(h->client),
                    r->err.msg);
    } else if (r->rc == KEC_OK) {
        if (atomic_exchange(&h->upstream_down, 0) == 1)
            kec_log(KEC_LOG_INFO, "kedro-eventd at %s answers again", kec_client_target(h->client));
    } else if (status == 500) {
        kec_log(KEC_LOG_ERROR, "POST /event/ answered 500: %s", r->err.msg);
    }
}

/* After the resume: the answer of a finished call. */
static enum MHD_Result finish(request *r)
{
    kes_http *h = r->h;

    r->waiting = 0;
    if (r->route != R_EVENT)
        return send_answer(r);
    if (r->rc != KEC_OK) /* a result was answered by its callback */
        kes_answer_call_error(&r->answer, r->rc, &r->err, r->connected,
                              kec_client_target(h->client));
    log_outcome(r);
    return send_answer(r);
}

/* ---- who may ask ---- */

/* Whether r may be served (auth.c decides from its connection's client certificate and its
 * Authorization header); else r->answer holds the refusal. Called in the first callback, so
 * a refused request's body is never read into memory. */
static int access_allowed(request *r)
{
    kes_http *h = r->h;
    kes_credentials c;
    int rc;

    if (!h->client_ca && h->auth == NULL)
        return 1;
    kes_edge_credentials(r->conn, h->client_ca, &c);
    /* a refusal replaces a 404 or 405 the routing may have decided */
    rc = kes_access_check(h->auth, h->client_ca, r->route == R_HEALTH || r->route == R_UI, &c,
                          &r->answer);
    if (rc < 0)
        r->close = 1;
    return rc > 0;
}

/* ---- routing and the body ---- */

/* 413 for a body over the limit. */
static enum MHD_Result too_large(request *r)
{
    kes_answer_detail(&r->answer, 413, "the request body is larger than the limit of %zu bytes",
                      r->h->max_body);
    return send_answer(r);
}

/* On the first call: a declared Content-Length over the limit is refused before any of the
 * body is read; otherwise the buffer is sized for it. */
static int check_length(request *r)
{
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long n;
    char *end;

    if (cl == NULL)
        return 1;
    n = strtoull(cl, &end, 10);
    if (end == cl || *end != '\0')
        return 1; /* MHD itself refuses a malformed Content-Length */
    if (n > r->h->max_body)
        return 0;
    if (n > 0 && (r->body = malloc((size_t)n)) != NULL)
        r->cap = (size_t)n;
    return 1;
}

/* Appends a piece of the body, or marks the request too large. 0 when out of memory. */
static int append_body(request *r, const char *data, size_t size)
{
    size_t cap;
    char *b;

    if (r->too_large) {
        r->discarded += size;
        return 1;
    }
    if (size > r->h->max_body - r->len) {
        r->discarded = r->len + size;
        r->too_large = 1;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
        return 1;
    }
    if (r->len + size > r->cap) {
        cap = r->cap > 0 ? r->cap : 4096;
        while (cap < r->len + size)
            cap = cap > r->h->max_body / 2 ? r->h->max_body : cap * 2;
        if ((b = realloc(r->body, cap)) == NULL)
            return 0;
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, size);
    r->len += size;
    return 1;
}

/* On the first call: the request's framing (edge.c). 1 when it may be read (*f says how its
 * body is framed); 0 with a 400 or 501 in r->answer, sent with Connection: close (its body's
 * length is unknown); -1 when out of memory. */
static int framing_ok(request *r, const char *version, kes_frame *f)
{
    int rc = kes_edge_framing(r->conn, version, f);

    if (rc == 0) {
        kes_answer_detail(&r->answer, f->status, "%s", f->msg);
        r->close = 1;
    }
    return rc;
}

/* An answer decided from the headers (404, 405). With a body announced it is sent at once,
 * the body unread, and the connection closed after it. Without one it is sent on the next
 * call, which comes at once: libmicrohttpd 0.9.75 closes the connection of an answer queued
 * on the first call, and a kept-alive connection should stay open. */
static enum MHD_Result answer_early(request *r, const kes_frame *f)
{
    if (!f->chunked && (!f->has_length || f->length == 0)) {
        r->early = 1;
        return MHD_YES;
    }
    r->close = 1;
    kes_slow_busy(kes_edge_slow(r->conn));
    return send_answer(r);
}

/* GET /pipelines/{id}/logs, /pipelines/watch and /pipelines/{id}/watch: begin (suspended until the
 * stream has something to say), then the streaming answer or the error. */
static enum MHD_Result stream_step(request *r)
{
    enum MHD_Result ret = MHD_YES;
    int begun;

    if (r->feed == NULL) {
        if (r->route == R_LOGS)
            begun = kes_logs_begin(r->h->logs, r->conn, r->id, &r->answer, &r->feed);
        else if (r->id != NULL)
            begun = kes_watch_one_begin(r->h->watches, r->conn, r->id, &r->answer, &r->feed);
        else
            begun = kes_watch_begin(r->h->watches, r->conn, &r->answer, &r->feed);
        return begun ? MHD_YES : send_answer(r);
    }
    if (kes_feed_respond(r->feed, r->conn, &r->answer, &ret)) {
        r->answered = ret == MHD_YES;
        return ret;
    }
    return send_answer(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    kes_http *h = cls;
    request *r = *con_cls;
    kes_frame frame;
    int routed;

    if (r == NULL) {
        if ((r = calloc(1, sizeof *r)) == NULL)
            return MHD_NO;
        r->h = h;
        r->conn = conn;
        r->start = kec_metrics_mono();
        atomic_fetch_add(&h->open, 1);
        *con_cls = r;
        routed = framing_ok(r, version, &frame);
        if (routed == 0)
            return send_answer(r); /* and close: the body's length is unknown */
        if (routed == 1)
            routed = kes_route_match(url, method, r->h->ui != NULL, &r->route, &r->id, &r->answer);
        if (routed < 0)
            return MHD_NO;
        if (!access_allowed(r))
            return answer_early(r, &frame); /* a refusal, before any of the body is read */
        if (routed == 0)
            return answer_early(r, &frame);
        if ((r->route == R_EVENT || r->route == R_CREATE || r->route == R_CANCEL ||
             r->route == R_RETRY) &&
            !check_length(r))
            return too_large(r);
        return MHD_YES;
    }
    if (r->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!append_body(r, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        /* MHD cannot answer in the middle of a body: what passes the limit is read and
         * dropped, up to DISCARD_MAX, then 413; past that the connection is closed */
        return r->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    kes_slow_busy(kes_edge_slow(conn)); /* the request has arrived whole */
    if (r->early)
        return send_answer(r);
    if (r->waiting)
        return finish(r);
    if (r->too_large)
        return too_large(r);
    if (r->route == R_EVENT)
        return start_event(r);
    if (r->route == R_METRICS || r->route == R_UI) {
        r->answer.status = 200;
        r->answered = 1;
        return r->route == R_UI ? kes_ui_answer(h->ui, conn, url, &r->answer.status)
                                : kes_metrics_answer(conn);
    }
    if (r->route == R_LOGS || r->route == R_WATCH)
        return stream_step(r);
    return start_job(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    kes_http *h = cls;
    request *r = *con_cls;

    (void)toe;
    kes_slow_idle(kes_edge_slow(conn)); /* answered: the next request must begin in time */
    if (r == NULL)
        return;
    if (r->answered)
        kes_metrics_request((int)r->route, r->answer.status, r->start);
    kes_feed_release(r->feed);
    free(r->id);
    free(r->body);
    kes_answer_release(&r->answer);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&h->open, 1);
}

/* ---- the daemon ---- */

int kes_http_start(const kes_http_options *o, kec_client *c, kes_http **out, char *msg, size_t cap)
{
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    kes_http *h;
    int tls;

    *out = NULL;
    if ((h = calloc(1, sizeof *h)) == NULL || kes_metrics_start(kes_route_names, R_COUNT) != 0) {
        free(h);
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    if ((tls = kes_edge_tls_options(h->tls, o, &h->client_ca, msg, cap)) < 0) {
        free(h);
        kes_metrics_stop();
        return -1;
    }
    flags |= (unsigned)tls;
    h->auth = o->auth;
    h->ui = o->ui;
    h->client = c;
    if ((h->logs = kes_logs_new(c, o->keepalive_ms)) == NULL ||
        (h->watches = kes_watch_new(c, o->max_watches, o->keepalive_ms)) == NULL) {
        snprintf(msg, cap, "out of memory");
        kes_feeds_free(h->logs);
        free(h);
        return -1;
    }
    if (kes_slow_new(o->read_timeout_ms, o->idle_timeout_s * 1000u, &h->slow) != 0) {
        snprintf(msg, cap, "cannot start the thread that watches slow clients");
        kes_feeds_free(h->logs);
        kes_feeds_free(h->watches);
        free(h);
        kes_metrics_stop();
        return -1;
    }
    h->max_body = o->max_body;
    h->max_inflight = o->max_inflight;
    pthread_attr_init(&h->detached);
    pthread_attr_setdetachstate(&h->detached, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&h->detached, 256 * 1024);
    if (o->addr->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* One option a line, so that options are added without touching the others. The logger
     * comes first, so that MHD logs nothing through its default logger. Strict level 0: in
     * 0.9.75 level 1 answers a missing Host with its header block sent twice, and level -1
     * (documented as lenient) is the one that refuses whitespace in header names; framing.c
     * checks both, and answers in JSON like every other error. */
    /* clang-format off */
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                            MHD_OPTION_EXTERNAL_LOGGER, kes_edge_log, NULL,
                            MHD_OPTION_SOCK_ADDR, o->addr,
                            MHD_OPTION_THREAD_POOL_SIZE, o->threads > 1 ? o->threads : 0,
                            MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout_s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_UNESCAPE_CALLBACK, kes_edge_unescape, NULL,
                            MHD_OPTION_STRICT_FOR_CLIENT, 0,
                            MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_client,
                            MHD_OPTION_NOTIFY_CONNECTION, kes_edge_on_connection, h->slow,
                            MHD_OPTION_URI_LOG_CALLBACK, kes_edge_on_request_line, NULL,
                            MHD_OPTION_ARRAY, h->tls,
                            MHD_OPTION_END);
    /* clang-format on */
    if (h->d == NULL) {
        if (tls)
            snprintf(msg, cap,
                     "cannot listen (address in use, not an address of this host, or a TLS "
                     "certificate, key or CA that GnuTLS refuses)");
        else
            snprintf(msg, cap, "cannot listen (address in use, or not an address of this host)");
        kes_slow_free(h->slow);
        kes_feeds_free(h->logs);
        kes_feeds_free(h->watches);
        pthread_attr_destroy(&h->detached);
        free(h);
        kes_metrics_stop();
        return -1;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : 0;
    *out = h;
    return 0;
}

unsigned kes_http_port(const kes_http *h)
{
    return h->port;
}

/* Sleeps ms milliseconds. */
static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

void kes_http_stop(kes_http *h, int wait_ms)
{
    MHD_socket fd;
    int waited = 0;

    atomic_store(&h->closing, 1);
    kes_feeds_shutdown(h->logs); /* streams have no deadline: end them */
    kes_feeds_shutdown(h->watches);
    fd = MHD_quiesce_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    /* Suspended requests must be resumed before MHD_stop_daemon; every call has a deadline,
     * so this ends. Then requests still being answered get wait_ms. */
    while (atomic_load(&h->inflight) > 0)
        nap(5);
    while (atomic_load(&h->open) > 0 && waited < wait_ms) {
        nap(5);
        waited += 5;
    }
    MHD_stop_daemon(h->d);
    kes_metrics_stop();
    kes_feeds_free(h->logs);
    kes_feeds_free(h->watches);
    kes_slow_free(h->slow);
    kes_log_flush();
    pthread_attr_destroy(&h->detached);
    free(h);
}
