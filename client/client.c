/* client.c -- kec_client: grpc core channels to kedro-eventd, one completion queue served by
 * one thread, and unary calls that answer through a callback on that thread.
 *
 * Every call is one grpc_call_start_batch of the six unary operations with the call itself as
 * the tag, so each call produces exactly one completion; the in-flight list lets
 * kec_client_free cancel what is left and wait until every callback has returned. A unary
 * call's batch starts outside the client's lock (it may write to the socket there), so
 * kec_client_free first waits for the calls being started. */
#include <errno.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "internal.h"
#include "kec_files.h"
#include "kec_tokens.h"

static const char *const method_paths[KEC_M_COUNT] = {
    [KEC_M_DISPATCH] = "/kedro.events.v1.EventService/Dispatch",
    [KEC_M_DISPATCH_BATCH] = "/kedro.events.v1.EventService/DispatchBatch",
    [KEC_M_CREATE_PIPELINE] = "/kedro.events.v1.EventService/CreatePipeline",
    [KEC_M_GET_PIPELINE] = "/kedro.events.v1.EventService/GetPipeline",
    [KEC_M_LIST_PIPELINES] = "/kedro.events.v1.EventService/ListPipelines",
    [KEC_M_CANCEL_PIPELINE] = "/kedro.events.v1.EventService/CancelPipeline",
    [KEC_M_RETRY_PIPELINE] = "/kedro.events.v1.EventService/RetryPipeline",
    [KEC_M_HEALTH_CHECK] = "/grpc.health.v1.Health/Check",
    [KEC_M_GET_STATS] = "/kedro.events.v1.EventService/GetStats",
    [KEC_M_WATCH_PIPELINE] = "/kedro.events.v1.EventService/WatchPipeline",
    [KEC_M_WATCH_PIPELINES] = "/kedro.events.v1.EventService/WatchPipelines",
    [KEC_M_STREAM_LOGS] = "/kedro.events.v1.EventService/StreamLogs",
};

#define MAX_CHANNELS 64
#define KEC_TLS_FILE_MAX (1u << 20) /* the largest TLS file read */
#define RECONNECT_MIN_MS 100        /* first retry after a failed connection */
#define RECONNECT_MAX_MS 2000       /* so a restarted server is found again within 2 s */

/* How grpc core words a message past GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, "(size vs. limit)"
 * following: on our side for an answer, and on the server's for a request. */
#define GRPC_TOO_LARGE "Received message larger than max (%lu vs. %ld)"

typedef struct call call;

struct kec_client {
    char *target;                                /* host:port */
    int timeout_ms;                              /* deadline of each call */
    size_t max_message;                          /* the largest answer accepted, bytes */
    grpc_channel *channels[MAX_CHANNELS];        /* n_channels connections */
    void *registered[MAX_CHANNELS][KEC_M_COUNT]; /* grpc_channel_register_call handles */
    int n_channels;                              /* channels in use */
    atomic_uint next_channel;                    /* round robin over channels */
    grpc_completion_queue *cq;                   /* every call's completion */
    pthread_t thread;                            /* serves cq */
    int thread_started;                          /* thread must be joined */
    pthread_mutex_t lock;                        /* guards calls, starting, closing, auth */
    pthread_cond_t idle;                         /* signalled when calls empties */
    call *calls;                                 /* in flight, a doubly linked list */
    kec_live *streams;                           /* streaming calls not over yet */
    int running;                                 /* callbacks running now */
    int starting;                                /* unary calls listed, batch not yet started */
    int closing;                                 /* kec_client_free has begun: start nothing */
    grpc_metadata auth;                          /* authorization: Bearer <token>, when */
    size_t n_md;                                 /* 1 with a token, else 0 */
};

struct call {
    kec_cq_tag tag;               /* first: the completion's tag (finish) */
    kec_client *c;                /* the client */
    grpc_call *gc;                /* the grpc call */
    grpc_byte_buffer *send;       /* the request */
    grpc_byte_buffer *recv;       /* the answer, when one came */
    grpc_metadata_array initial;  /* the server's initial metadata (unused) */
    grpc_metadata_array trailing; /* its trailing metadata (unused) */
    grpc_status_code status;      /* how it ended */
    grpc_slice details;           /* the status message */
    kec_call_cb cb;               /* the caller's callback */
    void *ctx;                    /* its context */
    call *prev, *next;            /* in the client's in-flight list */
};

static _Thread_local const kec_client *current_client; /* set on a client's own thread */

int kec_call_on_client_thread(const kec_client *c)
{
    return current_client == c;
}

/* Takes k out of the in-flight list (lock held). */
static void remove_call(kec_client *c, call *k)
{
    if (k->prev != NULL)
        k->prev->next = k->next;
    else
        c->calls = k->next;
    if (k->next != NULL)
        k->next->prev = k->prev;
    k->prev = k->next = NULL;
}

/* Takes k out of the in-flight list and counts its callback as running. */
static void unlink_call(kec_client *c, call *k)
{
    pthread_mutex_lock(&c->lock);
    remove_call(c, k);
    c->running++;
    pthread_mutex_unlock(&c->lock);
}

/* When the call ended because its answer passed this client's receive limit, replaces its
 * details with a message that says so (grpc's own names neither the answer nor the setting).
 * The server words its refusal of a too large request alike, with its own limit. */
static void too_large_answer(call *k)
{
    char msg[300];
    unsigned long size;
    long limit;

    snprintf(msg, sizeof msg, "%.*s", (int)GRPC_SLICE_LENGTH(k->details),
             (const char *)GRPC_SLICE_START_PTR(k->details));
    if (sscanf(msg, GRPC_TOO_LARGE, &size, &limit) != 2 || limit < 0 ||
        (size_t)limit != k->c->max_message)
        return;
    snprintf(msg, sizeof msg,
             "the server's answer is larger than this client accepts (max_message_bytes %zu): "
             "%.*s",
             k->c->max_message, (int)GRPC_SLICE_LENGTH(k->details),
             (const char *)GRPC_SLICE_START_PTR(k->details));
    grpc_slice_unref(k->details);
    k->details = grpc_slice_from_copied_string(msg);
}

/* Ends a completed call: hands its outcome to the callback, then frees it. */
static void finish(kec_cq_tag *t, int success)
{
    call *k = (call *)t;
    kec_client *c = k->c;
    grpc_byte_buffer_reader reader;
    grpc_slice msg = grpc_empty_slice();
    int status = success ? (int)k->status : KEC_STATUS_UNKNOWN;

    unlink_call(c, k);
    grpc_call_unref(k->gc);
    if (status == KEC_STATUS_OK && k->recv != NULL &&
        grpc_byte_buffer_reader_init(&reader, k->recv)) {
        msg = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
    } else if (status == KEC_STATUS_OK) {
        status = KEC_STATUS_INTERNAL;
        k->details = grpc_slice_from_static_string("the server answered OK without a message");
    } else if (status == KEC_STATUS_RESOURCE_EXHAUSTED) {
        too_large_answer(k);
    }
    k->cb(k->ctx, status, (const char *)GRPC_SLICE_START_PTR(k->details),
          GRPC_SLICE_LENGTH(k->details), GRPC_SLICE_START_PTR(msg), GRPC_SLICE_LENGTH(msg));
    grpc_slice_unref(msg);
    grpc_slice_unref(k->details);
    grpc_metadata_array_destroy(&k->initial);
    grpc_metadata_array_destroy(&k->trailing);
    grpc_byte_buffer_destroy(k->send);
    if (k->recv != NULL)
        grpc_byte_buffer_destroy(k->recv);
    free(k);
    pthread_mutex_lock(&c->lock);
    if (--c->running == 0 && c->calls == NULL && c->streams == NULL)
        pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->lock);
}

static void *serve(void *arg)
{
    kec_client *c = arg;

    current_client = c;
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);

        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE)
            ((kec_cq_tag *)ev.tag)->complete(ev.tag, ev.success);
    }
    return NULL;
}

int kec_call_start(kec_client *c, kec_method method, uint8_t *req, size_t len, kec_call_cb cb,
                   void *ctx, kec_error *err)
{
    call *k = calloc(1, sizeof *k);
    grpc_slice slice;
    grpc_op ops[6];
    unsigned ch;
    gpr_timespec deadline;
    grpc_call_error e;
    grpc_metadata auth;
    size_t n_md;

    if (k == NULL) {
        free(req);
        return kec_error_set(err, KEC_ENOMEM, "out of memory starting a call");
    }
    slice = grpc_slice_new(req, len, free);
    k->send = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    k->tag.complete = finish;
    k->c = c;
    k->cb = cb;
    k->ctx = ctx;
    k->details = grpc_empty_slice();
    grpc_metadata_array_init(&k->initial);
    grpc_metadata_array_init(&k->trailing);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA; /* its metadata is set under the lock below */
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = k->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &k->initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &k->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &k->trailing;
    ops[5].data.recv_status_on_client.status = &k->status;
    ops[5].data.recv_status_on_client.status_details = &k->details;

    deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                            gpr_time_from_millis(c->timeout_ms, GPR_TIMESPAN));
    ch = atomic_fetch_add_explicit(&c->next_channel, 1, memory_order_relaxed) %
         (unsigned)c->n_channels;
    pthread_mutex_lock(&c->lock);
    if (c->closing) {
        pthread_mutex_unlock(&c->lock);
        grpc_byte_buffer_destroy(k->send);
        grpc_metadata_array_destroy(&k->initial);
        grpc_metadata_array_destroy(&k->trailing);
        free(k);
        return kec_error_set(err, KEC_EINVAL, "the client is closing");
    }
    /* a reference of its own to the token, which kec_client_set_token may swap meanwhile */
    n_md = c->n_md;
    if (n_md > 0) {
        auth.key = c->auth.key;
        auth.value = grpc_slice_ref(c->auth.value);
    }
    k->next = c->calls;
    if (c->calls != NULL)
        c->calls->prev = k;
    c->calls = k;
    c->starting++; /* kec_client_free waits for it before cancelling what is listed */
    pthread_mutex_unlock(&c->lock);
    /* Outside the lock: starting the batch may write the request to the socket at once, and
     * callers on other threads (and the completions) need not wait for that. */
    ops[0].data.send_initial_metadata.count = n_md;
    ops[0].data.send_initial_metadata.metadata = n_md > 0 ? &auth : NULL;
    k->gc = grpc_channel_create_registered_call(c->channels[ch], NULL, GRPC_PROPAGATE_DEFAULTS,
                                                c->cq, c->registered[ch][method], deadline, NULL);
    e = grpc_call_start_batch(k->gc, ops, 6, k, NULL); /* grpc refs the metadata it sends */
    if (n_md > 0)
        grpc_slice_unref(auth.value);
    /* from here, when started, k belongs to finish (it may be freed already) */
    pthread_mutex_lock(&c->lock);
    if (e != GRPC_CALL_OK)
        remove_call(c, k);
    c->starting--;
    if ((c->starting == 0 && c->closing) ||
        (e != GRPC_CALL_OK && c->calls == NULL && c->streams == NULL && c->running == 0))
        pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->lock);
    if (e != GRPC_CALL_OK) {
        grpc_call_unref(k->gc);
        grpc_byte_buffer_destroy(k->send);
        grpc_metadata_array_destroy(&k->initial);
        grpc_metadata_array_destroy(&k->trailing);
        free(k);
        return kec_error_set(err, KEC_EINVAL, "grpc refused to start %s (error %d)",
                             method_paths[method], (int)e);
    }
    return KEC_OK;
}

int kec_stream_call_start(kec_client *c, kec_method method, kec_live *live, grpc_op *ops, size_t n,
                          kec_cq_tag *tag, kec_error *err)
{
    unsigned ch = atomic_fetch_add_explicit(&c->next_channel, 1, memory_order_relaxed) %
                  (unsigned)c->n_channels;
    grpc_call_error e;

    pthread_mutex_lock(&c->lock);
    if (c->closing) {
        pthread_mutex_unlock(&c->lock);
        return kec_error_set(err, KEC_EINVAL, "the client is closing");
    }
    ops[0].data.send_initial_metadata.count = c->n_md;
    ops[0].data.send_initial_metadata.metadata = c->n_md > 0 ? &c->auth : NULL;
    /* no deadline: a stream may live for hours; the client or the server ends it */
    live->gc = grpc_channel_create_registered_call(c->channels[ch], NULL, GRPC_PROPAGATE_DEFAULTS,
                                                   c->cq, c->registered[ch][method],
                                                   gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    e = grpc_call_start_batch(live->gc, ops, n, tag, NULL);
    if (e == GRPC_CALL_OK) {
        live->prev = NULL;
        live->next = c->streams;
        if (c->streams != NULL)
            c->streams->prev = live;
        c->streams = live;
    }
    pthread_mutex_unlock(&c->lock);
    if (e != GRPC_CALL_OK) {
        grpc_call_unref(live->gc);
        live->gc = NULL;
        return kec_error_set(err, KEC_EINVAL, "grpc refused to start %s (error %d)",
                             method_paths[method], (int)e);
    }
    return KEC_OK;
}

void kec_stream_call_done(kec_client *c, kec_live *live)
{
    pthread_mutex_lock(&c->lock);
    grpc_call_unref(live->gc);
    live->gc = NULL;
    if (live->prev != NULL)
        live->prev->next = live->next;
    else
        c->streams = live->next;
    if (live->next != NULL)
        live->next->prev = live->prev;
    live->prev = live->next = NULL;
    if (c->running == 0 && c->calls == NULL && c->streams == NULL)
        pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->lock);
}

void kec_client_options_init(kec_client_options *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = KEC_DEFAULT_TIMEOUT_MS;
    o->max_message_bytes = KEC_DEFAULT_MAX_MESSAGE;
    o->channels = 1;
}

int kec_client_connected(kec_client *c, int try_to_connect)
{
    int i;

    for (i = 0; i < c->n_channels; i++)
        if (grpc_channel_check_connectivity_state(c->channels[i], try_to_connect) ==
            GRPC_CHANNEL_READY)
            return 1;
    return 0;
}

const char *kec_client_target(const kec_client *c)
{
    return c->target;
}

/* The whole file path as a new NUL-terminated string in *out. */
static int read_file(const char *path, const char *what, char **out, kec_error *err)
{
    size_t len;

    return kec_file_read(path, KEC_TLS_FILE_MAX, 0, what, out, &len, err);
}

/* The channel credentials o asks for: insecure, or TLS with the files it names. */
static int make_credentials(const kec_client_options *o, grpc_channel_credentials **out,
                            kec_error *err)
{
    char *ca = NULL, *cert = NULL, *key = NULL;
    grpc_ssl_pem_key_cert_pair pair;
    int rc = KEC_OK;

    *out = NULL;
    if (!o->tls) {
        *out = grpc_insecure_credentials_create();
        return KEC_OK;
    }
    if ((o->tls_cert_file == NULL) != (o->tls_key_file == NULL))
        return kec_error_set(err, KEC_EINVAL,
                             "a TLS client certificate needs its key, and a key "
                             "its certificate");
    if (o->tls_ca_file != NULL)
        rc = read_file(o->tls_ca_file, "the TLS CA file", &ca, err);
    if (rc == KEC_OK && o->tls_cert_file != NULL)
        rc = read_file(o->tls_cert_file, "the TLS certificate", &cert, err);
    if (rc == KEC_OK && o->tls_key_file != NULL)
        rc = read_file(o->tls_key_file, "the TLS key", &key, err);
    if (rc == KEC_OK) {
        pair.private_key = key;
        pair.cert_chain = cert;
        *out = grpc_ssl_credentials_create(ca, cert != NULL ? &pair : NULL, NULL, NULL);
        if (*out == NULL)
            rc = kec_error_set(err, KEC_EINVAL, "grpc refused the TLS settings");
    }
    free(ca);
    free(cert);
    free(key);
    return rc;
}

/* The target o names, else the environment's, else the default. */
static const char *pick_target(const kec_client_options *o)
{
    const char *t = o->target;

    if (t == NULL || t[0] == '\0')
        t = getenv(KEC_TARGET_ENV);
    if (t == NULL || t[0] == '\0')
        t = getenv(KEC_SERVER_ENV);
    if (t == NULL || t[0] == '\0')
        t = KEC_DEFAULT_TARGET;
    return t;
}

static int open_channels(kec_client *c, const kec_client_options *o, kec_error *err)
{
    grpc_channel_credentials *creds = NULL;
    grpc_arg args[7];
    grpc_channel_args chargs = {.num_args = 0, .args = args};
    int i, m, rc;

    memset(args, 0, sizeof args);
#define INT_ARG(k, v)                                                                              \
    args[chargs.num_args].type = GRPC_ARG_INTEGER;                                                 \
    args[chargs.num_args].key = (char *)(k);                                                       \
    args[chargs.num_args++].value.integer = (v)
    INT_ARG(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int)c->max_message);
    INT_ARG(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, -1);
    INT_ARG(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, RECONNECT_MIN_MS);
    INT_ARG(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, RECONNECT_MAX_MS);
    /* a failed call is the caller's to retry: no hidden second attempt, and grpc keeps no
     * copy of each request for one (a few microseconds and kilobytes per call) */
    INT_ARG(GRPC_ARG_ENABLE_RETRIES, 0);
    /* one TCP connection per channel, not one shared subchannel */
    INT_ARG(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
#undef INT_ARG
    if (o->tls && o->tls_server_name != NULL) {
        args[chargs.num_args].type = GRPC_ARG_STRING;
        args[chargs.num_args].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        args[chargs.num_args++].value.string = (char *)o->tls_server_name;
    }
    rc = make_credentials(o, &creds, err);
    if (rc != KEC_OK)
        return rc;
    for (i = 0; i < c->n_channels; i++) {
        c->channels[i] = grpc_channel_create(c->target, creds, &chargs);
        for (m = 0; m < KEC_M_COUNT; m++)
            c->registered[i][m] =
                grpc_channel_register_call(c->channels[i], method_paths[m], NULL, NULL);
    }
    grpc_channel_credentials_release(creds);
    return KEC_OK;
}

/* "Bearer <t>" as a new slice in *out, after checking t's syntax (what names it). */
static int token_slice(const char *t, const char *what, grpc_slice *out, kec_error *err)
{
    char *value;
    int rc;

    if ((rc = kec_token_check_syntax(t, what, err)) != KEC_OK)
        return rc;
    if ((value = malloc(strlen(t) + sizeof "Bearer ")) == NULL)
        return kec_error_set(err, KEC_ENOMEM, "out of memory setting a token");
    strcpy(value, "Bearer ");
    strcat(value, t);
    *out = grpc_slice_from_copied_string(value);
    explicit_bzero(value, strlen(value));
    free(value);
    return KEC_OK;
}

/* The bearer token o names, else the environment's, as the metadata every call sends. */
static int set_token(kec_client *c, const kec_client_options *o, kec_error *err)
{
    const char *t = o->token, *what = "the client's token";
    int rc;

    if (t == NULL || t[0] == '\0') {
        t = getenv(KEC_TOKEN_ENV);
        what = "$" KEC_TOKEN_ENV;
    }
    if (t == NULL || t[0] == '\0')
        return KEC_OK;
    if ((rc = token_slice(t, what, &c->auth.value, err)) != KEC_OK)
        return rc;
    c->auth.key = grpc_slice_from_static_string("authorization");
    c->n_md = 1;
    return KEC_OK;
}

int kec_client_set_token(kec_client *c, const char *token, kec_error *err)
{
    grpc_slice value = grpc_empty_slice(), old = grpc_empty_slice();
    size_t had;
    int rc;

    if (token != NULL && token[0] != '\0' &&
        (rc = token_slice(token, "the client's token", &value, err)) != KEC_OK)
        return rc;
    /* calls start under the lock, and grpc takes its own reference to the metadata there */
    pthread_mutex_lock(&c->lock);
    had = c->n_md;
    if (had > 0)
        old = c->auth.value;
    c->auth.key = grpc_slice_from_static_string("authorization");
    c->auth.value = value;
    c->n_md = token != NULL && token[0] != '\0' ? 1 : 0;
    pthread_mutex_unlock(&c->lock);
    if (had > 0)
        grpc_slice_unref(old);
    return KEC_OK;
}

int kec_client_new(const kec_client_options *o, kec_client **out, kec_error *err)
{
    kec_client_options defaults;
    kec_client *c;
    int rc;

    *out = NULL;
    if (o == NULL) {
        kec_client_options_init(&defaults);
        o = &defaults;
    }
    if (o->channels < 0 || o->channels > MAX_CHANNELS)
        return kec_error_set(err, KEC_EINVAL, "channels must be 1 to %d, not %d", MAX_CHANNELS,
                             o->channels);
    if (o->timeout_ms < 0)
        return kec_error_set(err, KEC_EINVAL, "timeout_ms must not be negative");
    if ((c = calloc(1, sizeof *c)) == NULL)
        return kec_error_set(err, KEC_ENOMEM, "out of memory creating a client");
    if ((c->target = strdup(pick_target(o))) == NULL) {
        free(c);
        return kec_error_set(err, KEC_ENOMEM, "out of memory creating a client");
    }
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : KEC_DEFAULT_TIMEOUT_MS;
    /* explicit, never grpc's 4 MiB default: an answer carries each started run's rendered
     * event, which kedro-eventd caps at twice its request limit */
    c->max_message = o->max_message_bytes == 0                  ? KEC_DEFAULT_MAX_MESSAGE
                     : o->max_message_bytes > (size_t)INT32_MAX ? (size_t)INT32_MAX
                                                                : o->max_message_bytes;
    c->n_channels = o->channels > 0 ? o->channels : 1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->idle, NULL);
    grpc_init();
    c->cq = grpc_completion_queue_create_for_next(NULL);
    rc = set_token(c, o, err);
    if (rc == KEC_OK)
        rc = open_channels(c, o, err);
    if (rc == KEC_OK && pthread_create(&c->thread, NULL, serve, c) != 0)
        rc = kec_error_set(err, KEC_ENOMEM, "cannot start the client's thread");
    c->thread_started = rc == KEC_OK;
    if (rc != KEC_OK) {
        kec_client_free(c);
        return rc;
    }
    *out = c;
    return KEC_OK;
}

void kec_client_free(kec_client *c)
{
    kec_live *l;
    call *k;
    int i;

    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    c->closing = 1;
    while (c->starting > 0) /* every listed call has its batch started: it can be cancelled */
        pthread_cond_wait(&c->idle, &c->lock);
    for (k = c->calls; k != NULL; k = k->next)
        grpc_call_cancel(k->gc, NULL);
    for (l = c->streams; l != NULL; l = l->next)
        grpc_call_cancel(l->gc, NULL);
    while ((c->calls != NULL || c->streams != NULL || c->running > 0) && c->thread_started)
        pthread_cond_wait(&c->idle, &c->lock);
    pthread_mutex_unlock(&c->lock);
    grpc_completion_queue_shutdown(c->cq);
    if (c->thread_started) {
        pthread_join(c->thread, NULL);
    } else {
        while (grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
               GRPC_QUEUE_SHUTDOWN)
            ;
    }
    for (i = 0; i < c->n_channels; i++)
        if (c->channels[i] != NULL)
            grpc_channel_destroy(c->channels[i]);
    grpc_completion_queue_destroy(c->cq);
    if (c->n_md > 0)
        grpc_slice_unref(c->auth.value);
    grpc_shutdown();
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->lock);
    free(c->target);
    free(c);
}
