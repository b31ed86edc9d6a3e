/* shim.h -- what the files of kedro-event-shim share: the CloudEvents HTTP binding reader
 * (binding.c), the answers (answers.c), the pipeline endpoints (pipelines.c) and the HTTP
 * server (http.c). Only http.c, edge.c, ui.c and the streamed responses (feed.c, logs.c,
 * watch.c) see libmicrohttpd; the rest works on the types below. */
#ifndef KES_SHIM_H
#define KES_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "kec_tokens.h"
#include "kedroevents.h"

#define KES_DEFAULT_LISTEN "127.0.0.1:5000"
#define KES_DEFAULT_MAX_BODY (4u << 20)   /* kedro-eventd's default message limit */
#define KES_DEFAULT_TIMEOUT_MS 10000      /* gRPC deadline */
#define KES_DEFAULT_IDLE_S 60             /* idle keep-alive connections are closed after */
#define KES_DEFAULT_THREADS 2             /* libmicrohttpd's thread pool */
#define KES_DEFAULT_MAX_INFLIGHT 1024     /* requests waiting on gRPC */
#define KES_RETRY_AFTER_S "1"             /* Retry-After of 429 and 503 answers */
#define KES_DEFAULT_READ_S 30             /* a request's headers and body arrive within */
#define KES_DEFAULT_MAX_CONNECTIONS 10000 /* connections open at once */
#define KES_FD_RESERVE 256                /* descriptors kept for all but client connections */

/* ---- errors of the shim's own reading (binding.c) -------------------------------------- */

/* X(NAME, value, HTTP status, message). */
#define KES_ERRNO_MAP(X)                                                                           \
    X(EBADREQ, -1, 400, "bad request")                                                             \
    X(EMEDIA, -2, 415, "unsupported media type")                                                   \
    X(ENOMEM, -3, 500, "out of memory")

enum {
    KES_OK = 0,
#define KES_X_ENUM(name, value, http, msg) KES_##name = value,
    KES_ERRNO_MAP(KES_X_ENUM)
#undef KES_X_ENUM
};

/* The first error of reading a request. */
typedef struct kes_error {
    int code;      /* KES_OK or a negative KES_E* code */
    char msg[512]; /* what is wrong, naming the header or member */
} kes_error;

/* The HTTP status of a KES_E* code (500 for unknown codes). */
int kes_err_http(int code);

/* ---- the CloudEvents HTTP protocol binding (binding.c) ---------------------------------- */

/* One request header as it arrived. */
typedef struct kes_header {
    const char *name;  /* any case */
    const char *value; /* raw, as received (optional whitespace included), NUL-terminated */
    size_t len;        /* bytes of value, which may hold NUL bytes; 0: strlen(value) */
} kes_header;

/* One POST /event/, as the binding reads it. Everything is borrowed. */
typedef struct kes_post {
    const kes_header *headers; /* every request header, in order */
    size_t n_headers;          /* count of headers */
    const char *content_type;  /* the Content-Type header, or NULL when absent */
    const char *body;          /* len bytes; NULL is fine when len is 0 */
    size_t len;                /* length of body */
    size_t content_type_len;   /* bytes of content_type (NUL bytes count); 0: strlen */
} kes_post;

/* The events read from one POST. */
typedef struct kes_events {
    kec_event **events; /* count new events */
    size_t count;       /* count of events */
    int batch;          /* 1: batched mode (DispatchBatch), else one event (Dispatch) */
} kes_events;

/* Reads p per the CloudEvents HTTP protocol binding (binary, structured or batched mode) into
 * *out (the caller's: kes_events_release). Header values lose their optional whitespace (SP,
 * HTAB) at both ends (RFC 9110), then ce-* values are percent-decoded once; a NUL byte in a
 * ce-* or Content-Type value, raw or as %00, is refused, never cut at. Fails with KES_EBADREQ
 * (malformed input, naming the header or member), KES_EMEDIA (a structured format other than
 * JSON) or KES_ENOMEM; *out is then empty. Attribute rules are not checked here: the server
 * checks them. */
int kes_binding_read(const kes_post *p, kes_events *out, kes_error *err);

/* Frees what e holds and zeroes it. */
void kes_events_release(kes_events *e);

/* Decodes percent-encoding once (a "%" not followed by two hex digits stays as it is) from
 * in (len bytes) into out, which must hold len + 1 bytes; returns the decoded length (out is
 * NUL-terminated). */
size_t kes_percent_decode(const char *in, size_t len, char *out);

/* ---- answers (answers.c) ----------------------------------------------------------------- */

#define KES_MAX_ANSWER_HEADERS 4

/* One HTTP answer, before it is sent. */
typedef struct kes_answer {
    int status; /* HTTP status; 0 while not decided */
    char *body; /* JSON text (malloc'd), or NULL: {"detail": "out of memory"} */
    size_t len; /* length of body */
    struct {
        const char *name;              /* static, e.g. "Retry-After" */
        char *value;                   /* malloc'd */
    } headers[KES_MAX_ANSWER_HEADERS]; /* extra headers */
    size_t n_headers;                  /* count of headers */
} kes_answer;

/* Frees what a holds and zeroes it. */
void kes_answer_release(kes_answer *a);

/* Frees an answer's body once it has been sent (a's body moves into the response). */
void kes_answer_free_body(void *body);

/* The body answered with status 500 when a->body is NULL (static; *len bytes). */
const char *kes_answer_oom_body(size_t *len);

/* Adds the header name (static) = value (copied); ignored when out of memory or full. */
void kes_answer_header(kes_answer *a, const char *name, const char *value);

/* status with {"detail": "<the formatted message>"}. */
void kes_answer_detail(kes_answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The answer to a shim-side reading error (kes_err_http of its code). */
void kes_answer_kes_error(kes_answer *a, const kes_error *err);

/* The HTTP status for a call that failed with rc / err (err->status when rc is KEC_ESTATUS);
 * connected says whether the channel was up when an UNAVAILABLE came back. */
int kes_http_status_of(int rc, const kec_error *err, int connected);

/* The answer to a call that failed: {"detail": ...} with kes_http_status_of's status, and
 * Retry-After on 429 and 503. target names the server in 502/504 answers. */
void kes_answer_call_error(kes_answer *a, int rc, const kec_error *err, int connected,
                           const char *target);

/* 200 with [pipeline dicts] of one Dispatch (X-Duplicate: true for a duplicate). */
void kes_answer_dispatch(kes_answer *a, const kec_dispatch_result *r);

/* 200 with one array per event of a DispatchBatch. */
void kes_answer_batch(kes_answer *a, const kec_dispatch_result *r, size_t count);

/* status with one pipeline dict. */
void kes_answer_pipeline(kes_answer *a, int status, const kec_pipeline *p);

/* 200 with [pipeline dicts] of one page (X-Next-Page-Token when there is a next page). */
void kes_answer_page(kes_answer *a, const kec_pipeline_page *page);

/* ---- pipelines and health (pipelines.c): blocking, run off the HTTP threads ---------------- */

/* The query arguments of GET /pipelines and GET /stats (each NULL when absent). */
typedef struct kes_list_args {
    const char *name;       /* ?name= */
    const char *parent;     /* ?parent= */
    const char *state;      /* ?state=, a state name in any case */
    const char *limit;      /* ?limit=, a page size */
    const char *page_token; /* ?page_token= */
    const char *window;     /* GET /stats: ?window=, seconds */
    const char *step;       /* GET /stats: ?step=, seconds */
} kes_list_args;

/* GET /pipelines/{id}. */
void kes_pipelines_get(kec_client *c, const char *id, kes_answer *a);

/* The filter of GET /pipelines and GET /pipelines/watch: name and parent (NULL when absent or
 * empty) and state (0 when absent or empty). 0 with a 400 in a for a state that is not a state
 * name or a name or parent that is not UTF-8 (or holds %00). */
int kes_filter_read(const kes_list_args *q, const char **name, kec_state *state,
                    const char **parent, kes_answer *a);

/* GET /pipelines?...: 400 for a bad state or limit, before any call. */
void kes_pipelines_list(kec_client *c, const kes_list_args *q, kes_answer *a);

/* POST /pipelines/ with a JSON body {name, parameters, tags, parent}: 201 with the pipeline. */
void kes_pipelines_create(kec_client *c, const char *body, size_t len, kes_answer *a);

/* The actions on one pipeline (actions.c). */
typedef enum kes_action {
    KES_ACT_CANCEL, /* POST /pipelines/{id}/cancel: 200 with the pipeline */
    KES_ACT_RETRY,  /* POST /pipelines/{id}/retry: 201 with the new pipeline and a Location */
} kes_action;

/* Runs act on pipeline id (any request body is ignored): 404 unknown id, 409 {"detail"} when
 * the server answers FAILED_PRECONDITION (ended, not ended, or kedro-graphql's), others as
 * every endpoint maps gRPC statuses. */
void kes_pipelines_act(kec_client *c, kes_action act, const char *id, kes_answer *a);

/* GET /stats?window=&step= (stats.c): 200 with kec_stats_to_json's JSON; 400 for an argument
 * that is not a whole number, or with kedro-eventd's message naming window_seconds or
 * step_seconds when it refuses one (INVALID_ARGUMENT); others as every endpoint maps gRPC
 * statuses (502 unreachable, 503 overloaded). */
void kes_stats(kec_client *c, const char *window, const char *step, kes_answer *a);

/* GET /healthz: 200 {"status": "SERVING"}, else 503 with NOT_SERVING or UNREACHABLE. */
void kes_health(kec_client *c, kes_answer *a);

/* ---- TLS material and client certificates (tls.c) ----------------------------------------- */

#define KES_PEM_MAX_BYTES (1u << 20) /* largest --tls-cert/--tls-key/--tls-client-ca file */

/* Reads the PEM file at path (flag names it in messages) into *out, NUL-terminated (free with
 * kes_pem_free). -1 with msg (cap bytes) when it cannot be read, is larger than
 * KES_PEM_MAX_BYTES, or holds no "-----BEGIN" line. */
int kes_pem_read(const char *path, const char *flag, char **out, char *msg, size_t cap);

/* Zeroes and frees what kes_pem_read returned; NULL is fine. */
void kes_pem_free(char *pem);

/* Whether GnuTLS accepts cert and key (PEM texts; the key must be the certificate's) and,
 * when not NULL, client_ca as trusted CAs: 0, else -1 with msg (cap bytes) naming the flag
 * and GnuTLS's reason. */
int kes_tls_check(const char *cert, const char *key, const char *client_ca, char *msg, size_t cap);

/* 1 when the client of session (a gnutls_session_t) presented a certificate that chains to
 * the daemon's trusted CA (--tls-client-ca), is valid now and allows client authentication;
 * else 0 with msg (cap bytes) saying why. */
int kes_tls_client_verified(void *session, char *msg, size_t cap);

/* ---- who may ask (auth.c) ---------------------------------------------------------------- */

/* What a request shows of who sent it (http.c reads it from the connection). */
typedef struct kes_credentials {
    void *tls_session;         /* the connection's gnutls_session_t; NULL: not asked for */
    const char *authorization; /* the first Authorization header's value, or NULL */
    size_t authorization_len;  /* its bytes */
    unsigned n_authorization;  /* how many Authorization headers came */
} kes_credentials;

/* Whether a request with credentials c may be served: with client_ca, its connection must
 * have presented a certificate kes_tls_client_verified accepts (else 403); with auth, unless
 * exempt (/healthz, the console's files), it must carry one "Authorization: Bearer <token>" header
 * with a token of auth (else 401 with RFC 6750's WWW-Authenticate challenge, or 400 for two such
 * headers). Returns 1; 0 with the refusal replacing *a; -1 likewise when the connection must be
 * closed after it (the 403: every request on that connection would fail alike). No answer quotes
 * what was sent. */
int kes_access_check(kec_auth *auth, int client_ca, int exempt, const kes_credentials *c,
                     kes_answer *a);

/* ---- the HTTP server (http.c) ------------------------------------------------------------ */

/* How the HTTP side runs. */
typedef struct kes_http_options {
    const struct sockaddr *addr; /* where to listen */
    size_t addr_len;             /* length of addr */
    size_t max_body;             /* largest request body, bytes */
    unsigned idle_timeout_s;     /* idle keep-alive connections closed after */
    unsigned threads;            /* thread pool size */
    unsigned max_inflight;       /* requests waiting on gRPC at once */
    unsigned read_timeout_ms;    /* a request's headers and body must arrive within */
    unsigned max_connections;    /* connections open at once */
    unsigned max_per_client;     /* connections open at once from one address; 0: no cap */
    const char *tls_cert;        /* PEM text of the HTTPS certificate (chain); NULL: HTTP */
    const char *tls_key;         /* PEM text of its key (with tls_cert) */
    const char *tls_client_ca;   /* PEM text of the CA client certificates must chain to;
                                    NULL: no client certificate asked for */
    kec_auth *auth;              /* borrowed: bearer tokens every endpoint but /healthz
                                    and the console's files needs; NULL: none needed */
    const struct kes_ui *ui;     /* borrowed: the console's files (ui.c); NULL: --no-ui */
    unsigned max_watches;        /* GET /pipelines/watch open at once */
    unsigned keepalive_ms;       /* server-sent events idle this long get a comment */
} kes_http_options;

typedef struct kes_http kes_http;

/* Starts serving with c (borrowed; it must outlive *out). On failure returns -1 with msg
 * (cap bytes) saying why. */
int kes_http_start(const kes_http_options *o, kec_client *c, kes_http **out, char *msg, size_t cap);

/* The port listened on (useful with port 0). */
unsigned kes_http_port(const kes_http *h);

/* Graceful stop: stops accepting, waits up to wait_ms for the requests in flight to be
 * answered, then closes every connection and frees h. */
void kes_http_stop(kes_http *h, int wait_ms);

#endif
