/* calls.c -- the public EventService and health calls: encode the request (codec), start it
 * (client.c), decode the answer; each blocking form is its asynchronous one plus a wait. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "codec.h"
#include "internal.h"

/* What a blocking call waits on, and where its callback leaves the outcome. */
typedef struct waiter {
    pthread_mutex_t lock;       /* guards done */
    pthread_cond_t cond;        /* signalled when done */
    int done;                   /* the callback has run */
    int rc;                     /* its KEC_ code */
    kec_error err;              /* its error */
    kec_method method;          /* which answer to decode (the raw calls) */
    void *out;                  /* the caller's result struct */
    kec_dispatch_result **many; /* DispatchBatch: the caller's results */
    size_t *count;              /* DispatchBatch: the caller's count */
} waiter;

/* Refuses a blocking call on the client's own thread, where its answer could never come. */
static int check_thread(kec_client *c, kec_error *err)
{
    if (kec_call_on_client_thread(c))
        return kec_error_set(err, KEC_EINVAL,
                             "a blocking call made from a callback would never return");
    return KEC_OK;
}

static void waiter_init(waiter *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
}

/* Records the outcome (rc, a copy of err) and wakes the waiting caller. */
static void waiter_done(waiter *w, int rc, const kec_error *err)
{
    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    if (rc != KEC_OK)
        w->err = *err;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* When the call started (started == KEC_OK), waits for its outcome; returns it, with the
 * error copied into err. Releases w either way. */
static int waiter_wait(waiter *w, int started, kec_error *err)
{
    int rc = started;

    if (rc == KEC_OK) {
        pthread_mutex_lock(&w->lock);
        while (!w->done)
            pthread_cond_wait(&w->cond, &w->lock);
        pthread_mutex_unlock(&w->lock);
        rc = w->rc;
        if (rc != KEC_OK && err != NULL && err->code == KEC_OK)
            *err = w->err;
    }
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    return rc;
}

/* ---- CreatePipeline, GetPipeline, ListPipelines, GetStats, health ---- */

/* The raw callback of the blocking calls: decodes the answer into w->out by method. */
static void wake(void *ctx, int status, const char *details, size_t dlen, const uint8_t *msg,
                 size_t len)
{
    waiter *w = ctx;
    kec_error err;
    int rc;

    kec_error_clear(&err);
    if (status != KEC_STATUS_OK)
        rc = kec_error_status(&err, status, details, dlen);
    else if (w->method == KEC_M_LIST_PIPELINES)
        rc = kec_codec_page(msg, len, w->out, &err);
    else if (w->method == KEC_M_HEALTH_CHECK)
        rc = kec_codec_health_response(msg, len, w->out, &err);
    else if (w->method == KEC_M_GET_STATS)
        rc = kec_codec_stats(msg, len, w->out, &err);
    else /* CreatePipeline, GetPipeline, CancelPipeline, RetryPipeline */
        rc = kec_codec_pipeline(msg, len, w->out, &err);
    waiter_done(w, rc, &err);
}

/* Calls method with req (taken) and waits for the answer, decoded into out. */
static int call_and_wait(kec_client *c, kec_method method, uint8_t *req, size_t len, void *out,
                         kec_error *err)
{
    waiter w;

    if (check_thread(c, err) != KEC_OK) {
        free(req);
        return KEC_EINVAL;
    }
    waiter_init(&w);
    w.method = method;
    w.out = out;
    return waiter_wait(&w, kec_call_start(c, method, req, len, wake, &w, err), err);
}

int kec_create_pipeline(kec_client *c, const kec_pipeline_spec *spec, kec_pipeline *out,
                        kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_create_request(spec, &req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_CREATE_PIPELINE, req, len, out, err);
}

int kec_get_pipeline(kec_client *c, const char *id, kec_pipeline *out, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_get_request(id, &req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_GET_PIPELINE, req, len, out, err);
}

int kec_cancel_pipeline(kec_client *c, const char *id, kec_pipeline *out, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_cancel_request(id, &req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_CANCEL_PIPELINE, req, len, out, err);
}

int kec_retry_pipeline(kec_client *c, const char *id, kec_pipeline *out, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_retry_request(id, &req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_RETRY_PIPELINE, req, len, out, err);
}

int kec_list_pipelines(kec_client *c, const kec_list_query *q, kec_pipeline_page *out,
                       kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_list_request(q, &req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_LIST_PIPELINES, req, len, out, err);
}

int kec_get_stats(kec_client *c, int window, int step, kec_stats *out, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_stats_request(window, step, &req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_GET_STATS, req, len, out, err);
}

int kec_health_check(kec_client *c, int *serving, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    *serving = 0;
    rc = kec_codec_health_request(&req, &len, err);
    return rc != KEC_OK ? rc : call_and_wait(c, KEC_M_HEALTH_CHECK, req, len, serving, err);
}

/* ---- Dispatch and DispatchBatch ---- */

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

/* Starts Dispatch (one) or DispatchBatch (many, count events) with req (taken). */
static int start_dispatch(kec_client *c, kec_method m, uint8_t *req, size_t len,
                          kec_dispatch_cb one, kec_dispatch_batch_cb many, size_t count, void *ctx,
                          kec_error *err)
{
    pending *p = calloc(1, sizeof *p);
    int rc;

    if (p == NULL) {
        free(req);
        return kec_error_set(err, KEC_ENOMEM, "out of memory starting a call");
    }
    p->one = one;
    p->many = many;
    p->ctx = ctx;
    p->expected = count;
    rc = kec_call_start(c, m, req, len, on_dispatched, p, err);
    if (rc != KEC_OK)
        free(p); /* its callback never fires */
    return rc;
}

int kec_dispatch_async(kec_client *c, const kec_event *ev, kec_dispatch_cb cb, void *ctx,
                       kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc = kec_event_encode(ev, &req, &len, err);

    return rc != KEC_OK ? rc : start_dispatch(c, KEC_M_DISPATCH, req, len, cb, NULL, 1, ctx, err);
}

int kec_dispatch_batch_async(kec_client *c, kec_event *const *events, size_t count,
                             kec_dispatch_batch_cb cb, void *ctx, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc = kec_batch_encode(events, count, &req, &len, err);

    return rc != KEC_OK
               ? rc
               : start_dispatch(c, KEC_M_DISPATCH_BATCH, req, len, NULL, cb, count, ctx, err);
}

/* The blocking forms: the asynchronous calls above, and a wait. */

static void dispatched(void *ctx, int rc, const kec_error *err, kec_dispatch_result *result)
{
    waiter *w = ctx;

    if (rc == KEC_OK)
        *(kec_dispatch_result *)w->out = *result;
    waiter_done(w, rc, err);
}

static void batch_dispatched(void *ctx, int rc, const kec_error *err, kec_dispatch_result *results,
                             size_t count)
{
    waiter *w = ctx;

    if (rc == KEC_OK) {
        *w->many = results;
        *w->count = count;
    }
    waiter_done(w, rc, err);
}

int kec_dispatch(kec_client *c, const kec_event *ev, kec_dispatch_result *out, kec_error *err)
{
    waiter w;

    memset(out, 0, sizeof *out);
    if (check_thread(c, err) != KEC_OK)
        return KEC_EINVAL;
    waiter_init(&w);
    w.out = out;
    return waiter_wait(&w, kec_dispatch_async(c, ev, dispatched, &w, err), err);
}

int kec_dispatch_batch(kec_client *c, kec_event *const *events, size_t count,
                       kec_dispatch_result **results, kec_error *err)
{
    waiter w;
    size_t n = 0;

    *results = NULL;
    if (check_thread(c, err) != KEC_OK)
        return KEC_EINVAL;
    waiter_init(&w);
    w.many = results;
    w.count = &n;
    return waiter_wait(&w, kec_dispatch_batch_async(c, events, count, batch_dispatched, &w, err),
                       err);
}
