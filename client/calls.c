/* calls.c -- the public EventService and health calls: encode the request (codec), start it
 * (client.c), decode the answer; the blocking forms wait for the asynchronous ones. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "codec.h"
#include "internal.h"

/* What a blocking call waits on, and where its callback leaves the outcome. */
typedef struct waiter {
    pthread_mutex_t lock; /* guards done */
    pthread_cond_t cond;  /* signalled when done */
    int done;             /* the callback has run */
    int rc;               /* its KEC_ code */
    kec_error err;        /* its error */
    kec_method method;    /* which answer to decode */
    void *out;            /* the caller's result struct */
    size_t *count;        /* DispatchBatch: the caller's count */
} waiter;

/* Turns a call's end into rc and err, decoding the answer into w->out by method. */
static void decode_answer(waiter *w, int status, const char *details, size_t dlen,
                          const uint8_t *msg, size_t len)
{
    kec_error_clear(&w->err);
    if (status != KEC_STATUS_OK) {
        w->rc = kec_error_status(&w->err, status, details, dlen);
        return;
    }
    switch (w->method) {
    case KEC_M_DISPATCH:
        w->rc = kec_codec_dispatch_response(msg, len, w->out, &w->err);
        break;
    case KEC_M_DISPATCH_BATCH:
        w->rc = kec_codec_batch_response(msg, len, w->out, w->count, &w->err);
        break;
    case KEC_M_CREATE_PIPELINE:
    case KEC_M_GET_PIPELINE:
        w->rc = kec_codec_pipeline(msg, len, w->out, &w->err);
        break;
    case KEC_M_LIST_PIPELINES:
        w->rc = kec_codec_page(msg, len, w->out, &w->err);
        break;
    case KEC_M_HEALTH_CHECK:
        w->rc = kec_codec_health_response(msg, len, w->out, &w->err);
        break;
    default:
        w->rc = kec_error_set(&w->err, KEC_EINVAL, "unknown method");
    }
}

static void wake(void *ctx, int status, const char *details, size_t dlen, const uint8_t *msg,
                 size_t len)
{
    waiter *w = ctx;

    decode_answer(w, status, details, dlen, msg, len);
    pthread_mutex_lock(&w->lock);
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Calls method with req (taken) and waits for the answer, decoded into out. */
static int call_and_wait(kec_client *c, kec_method method, uint8_t *req, size_t len, void *out,
                         size_t *count, kec_error *err)
{
    waiter w;
    int rc;

    if (kec_call_on_client_thread(c)) {
        free(req);
        return kec_error_set(err, KEC_EINVAL,
                             "a blocking call made from a callback would never return");
    }
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    w.method = method;
    w.out = out;
    w.count = count;
    rc = kec_call_start(c, method, req, len, wake, &w, err);
    if (rc == KEC_OK) {
        pthread_mutex_lock(&w.lock);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        rc = w.rc;
        if (rc != KEC_OK && err != NULL && err->code == KEC_OK)
            *err = w.err;
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return rc;
}

int kec_dispatch(kec_client *c, const kec_event *ev, kec_dispatch_result *out, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_event_encode(ev, &req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_DISPATCH, req, len, out, NULL, err);
}

int kec_dispatch_batch(kec_client *c, kec_event *const *events, size_t count,
                       kec_dispatch_result **results, kec_error *err)
{
    uint8_t *req;
    size_t len, n = 0;
    int rc;

    *results = NULL;
    rc = kec_batch_encode(events, count, &req, &len, err);
    if (rc == KEC_OK)
        rc = call_and_wait(c, KEC_M_DISPATCH_BATCH, req, len, results, &n, err);
    if (rc == KEC_OK && n != count) {
        kec_dispatch_results_free(*results, n);
        *results = NULL;
        rc = kec_error_set(err, KEC_EDECODE, "the server answered %zu results for %zu events", n,
                           count);
    }
    return rc;
}

int kec_create_pipeline(kec_client *c, const kec_pipeline_spec *spec, kec_pipeline *out,
                        kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_create_request(spec, &req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_CREATE_PIPELINE, req, len, out, NULL, err);
}

int kec_get_pipeline(kec_client *c, const char *id, kec_pipeline *out, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_get_request(id, &req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_GET_PIPELINE, req, len, out, NULL, err);
}

int kec_list_pipelines(kec_client *c, const kec_list_query *q, kec_pipeline_page *out,
                       kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_list_request(q, &req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_LIST_PIPELINES, req, len, out, NULL, err);
}

int kec_health_check(kec_client *c, int *serving, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    *serving = 0;
    rc = kec_codec_health_request(&req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_HEALTH_CHECK, req, len, serving, NULL, err);
}

/* ---- asynchronous ---- */

/* One asynchronous Dispatch or DispatchBatch: the caller's callback and where to decode. */
typedef struct pending {
    kec_dispatch_cb one;        /* Dispatch's callback, or NULL */
    kec_dispatch_batch_cb many; /* DispatchBatch's callback, or NULL */
    void *ctx;                  /* the caller's context */
    size_t expected;            /* DispatchBatch: events sent */
} pending;

static void on_dispatched(void *ctx, int status, const char *details, size_t dlen,
                          const uint8_t *msg, size_t len)
{
    pending *p = ctx;
    kec_error err;
    kec_dispatch_result one, *many = NULL;
    size_t n = 0;
    int rc;

    kec_error_clear(&err);
    memset(&one, 0, sizeof one);
    if (status != KEC_STATUS_OK)
        rc = kec_error_status(&err, status, details, dlen);
    else if (p->one != NULL)
        rc = kec_codec_dispatch_response(msg, len, &one, &err);
    else
        rc = kec_codec_batch_response(msg, len, &many, &n, &err);
    if (rc == KEC_OK && p->many != NULL && n != p->expected) {
        kec_dispatch_results_free(many, n);
        many = NULL;
        rc = kec_error_set(&err, KEC_EDECODE, "the server answered %zu results for %zu events", n,
                           p->expected);
        n = 0;
    }
    if (p->one != NULL)
        p->one(p->ctx, rc, &err, &one);
    else
        p->many(p->ctx, rc, &err, many, n);
    free(p);
}

static int start_dispatch(kec_client *c, kec_method m, uint8_t *req, size_t len, pending *p,
                          kec_error *err)
{
    int rc = kec_call_start(c, m, req, len, on_dispatched, p, err);

    if (rc != KEC_OK)
        free(p);
    return rc;
}

int kec_dispatch_async(kec_client *c, const kec_event *ev, kec_dispatch_cb cb, void *ctx,
                       kec_error *err)
{
    pending *p;
    uint8_t *req;
    size_t len;
    int rc = kec_event_encode(ev, &req, &len, err);

    if (rc != KEC_OK)
        return rc;
    if ((p = calloc(1, sizeof *p)) == NULL) {
        free(req);
        return kec_error_set(err, KEC_ENOMEM, "out of memory starting a call");
    }
    p->one = cb;
    p->ctx = ctx;
    return start_dispatch(c, KEC_M_DISPATCH, req, len, p, err);
}

int kec_dispatch_batch_async(kec_client *c, kec_event *const *events, size_t count,
                             kec_dispatch_batch_cb cb, void *ctx, kec_error *err)
{
    pending *p;
    uint8_t *req;
    size_t len;
    int rc = kec_batch_encode(events, count, &req, &len, err);

    if (rc != KEC_OK)
        return rc;
    if ((p = calloc(1, sizeof *p)) == NULL) {
        free(req);
        return kec_error_set(err, KEC_ENOMEM, "out of memory starting a call");
    }
    p->many = cb;
    p->ctx = ctx;
    p->expected = count;
    return start_dispatch(c, KEC_M_DISPATCH_BATCH, req, len, p, err);
}
