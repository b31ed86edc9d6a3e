/* logs.c -- StreamLogs for callers: each LogChunk's bytes to the caller's function; the blocking
 * form waits for the stream's end. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "codec.h"
#include "internal.h"

/* One log stream: the caller's callbacks, and the first error seen on our side. */
typedef struct log_stream {
    kec_log_fn fn;           /* each piece */
    kec_stream_done_fn done; /* the end */
    void *ctx;               /* their context */
    kec_error err;           /* a chunk that did not decode */
} log_stream;

static int on_chunk(void *ctx, const uint8_t *msg, size_t len)
{
    log_stream *ls = ctx;
    const uint8_t *data;
    size_t dlen;

    if (kec_codec_log_chunk(msg, len, &data, &dlen, &ls->err) != KEC_OK)
        return 1; /* the end reports ls->err */
    return dlen > 0 ? ls->fn(ls->ctx, (const char *)data, dlen) : 0;
}

static void on_end(void *ctx, int status, const char *details, size_t dlen, int stopped)
{
    log_stream *ls = ctx;
    kec_error err;
    int rc = KEC_OK;

    kec_error_clear(&err);
    if (ls->err.code != KEC_OK) {
        err = ls->err;
        rc = err.code;
    } else if (status != KEC_STATUS_OK && !(stopped && status == KEC_STATUS_CANCELLED)) {
        rc = kec_error_status(&err, status, details, dlen);
    }
    ls->done(ls->ctx, rc, &err);
    free(ls);
}

int kec_stream_logs_start(kec_client *c, const char *id, int follow, int tail_lines, kec_log_fn fn,
                          kec_stream_done_fn done, void *ctx, kec_stream **out, kec_error *err)
{
    log_stream *ls;
    uint8_t *req;
    size_t len;

    *out = NULL;
    if (id == NULL || id[0] == '\0')
        return kec_error_set(err, KEC_EINVAL, "a pipeline id is required");
    if (tail_lines < 0 || tail_lines > KEC_LOGS_MAX_TAIL_LINES)
        return kec_error_set(err, KEC_EINVAL, "tail_lines %d is out of range 0..%d", tail_lines,
                             KEC_LOGS_MAX_TAIL_LINES);
    if (kec_codec_logs_request(id, follow, tail_lines, &req, &len, err) != KEC_OK)
        return err != NULL ? err->code : KEC_EINVAL;
    ls = calloc(1, sizeof *ls);
    if (ls == NULL) {
        free(req);
        return kec_error_set(err, KEC_ENOMEM, "out of memory starting a log stream");
    }
    ls->fn = fn;
    ls->done = done;
    ls->ctx = ctx;
    kec_error_clear(&ls->err);
    if (kec_stream_start(c, KEC_M_STREAM_LOGS, req, len, on_chunk, on_end, ls, out, err) !=
        KEC_OK) {
        free(ls);
        return err != NULL ? err->code : KEC_EINVAL;
    }
    return KEC_OK;
}

/* A blocking stream: the caller's function, and the end it waits for. */
typedef struct waiter {
    kec_log_fn fn;        /* the caller's function */
    void *ctx;            /* its context */
    pthread_mutex_t lock; /* guards done, rc, err */
    pthread_cond_t cond;  /* signalled at the end */
    int done;             /* the end came */
    int rc;               /* its code */
    kec_error err;        /* its error */
} waiter;

static int waiter_fn(void *ctx, const char *data, size_t len)
{
    waiter *w = ctx;

    return w->fn(w->ctx, data, len);
}

static void waiter_done(void *ctx, int rc, const kec_error *err)
{
    waiter *w = ctx;

    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    if (rc != KEC_OK)
        w->err = *err;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int kec_stream_logs(kec_client *c, const char *id, int follow, int tail_lines, kec_log_fn fn,
                    void *ctx, kec_error *err)
{
    kec_stream *s = NULL;
    waiter w;
    int rc;

    if (kec_call_on_client_thread(c))
        return kec_error_set(err, KEC_EINVAL,
                             "a blocking log stream started from a callback would never return");
    memset(&w, 0, sizeof w);
    w.fn = fn;
    w.ctx = ctx;
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    rc = kec_stream_logs_start(c, id, follow, tail_lines, waiter_fn, waiter_done, &w, &s, err);
    if (rc == KEC_OK) {
        pthread_mutex_lock(&w.lock);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        rc = w.rc;
        if (rc != KEC_OK && err != NULL && err->code == KEC_OK)
            *err = w.err;
        kec_stream_free(s);
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return rc;
}
