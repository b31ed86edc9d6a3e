/* watch.c -- WatchPipeline and WatchPipelines for callers: each streamed record decoded into a
 * kec_pipeline for the caller's function; blocking forms wait for the stream's end. */
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "codec.h"
#include "internal.h"

/* One watch: the caller's callbacks, and the first error seen on our side. */
typedef struct watch {
    kec_pipeline_fn fn;      /* each record */
    kec_stream_done_fn done; /* the end */
    void *ctx;               /* their context */
    kec_error err;           /* a record that did not decode */
} watch;

static int on_record(void *ctx, const uint8_t *msg, size_t len)
{
    watch *w = ctx;
    kec_pipeline p;
    int stop;

    if (kec_codec_pipeline(msg, len, &p, &w->err) != KEC_OK)
        return 1; /* the end reports w->err */
    stop = w->fn(w->ctx, &p);
    kec_pipeline_release(&p);
    return stop;
}

static void on_end(void *ctx, int status, const char *details, size_t dlen, int stopped)
{
    watch *w = ctx;
    kec_error err;
    int rc = kec_stream_outcome(&w->err, status, details, dlen, stopped, &err);

    w->done(w->ctx, rc, &err);
    free(w);
}

/* Starts method with req (taken) as a watch. */
static int start(kec_client *c, kec_method method, uint8_t *req, size_t len, kec_pipeline_fn fn,
                 kec_stream_done_fn done, void *ctx, kec_stream **out, kec_error *err)
{
    watch *w = calloc(1, sizeof *w);

    *out = NULL;
    if (w == NULL) {
        free(req);
        return kec_error_set(err, KEC_ENOMEM, "out of memory starting a watch");
    }
    w->fn = fn;
    w->done = done;
    w->ctx = ctx;
    kec_error_clear(&w->err);
    if (kec_stream_start(c, method, req, len, on_record, on_end, w, out, err) != KEC_OK) {
        free(w);
        return err != NULL ? err->code : KEC_EINVAL;
    }
    return KEC_OK;
}

int kec_watch_pipeline_start(kec_client *c, const char *id, kec_pipeline_fn fn,
                             kec_stream_done_fn done, void *ctx, kec_stream **out, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    *out = NULL;
    rc = kec_codec_watch_request(id, &req, &len, err);
    return rc != KEC_OK ? rc : start(c, KEC_M_WATCH_PIPELINE, req, len, fn, done, ctx, out, err);
}

int kec_watch_pipelines_start(kec_client *c, const kec_watch_filter *f, kec_pipeline_fn fn,
                              kec_stream_done_fn done, void *ctx, kec_stream **out, kec_error *err)
{
    uint8_t *req;
    size_t len;
    int rc;

    *out = NULL;
    rc = kec_codec_watch_all_request(f, &req, &len, err);
    return rc != KEC_OK ? rc : start(c, KEC_M_WATCH_PIPELINES, req, len, fn, done, ctx, out, err);
}

/* A blocking watch: the end it waits for (first: kec_stream_wait_done's context), and the
 * caller's function. */
typedef struct blocking {
    kec_stream_wait w;
    kec_pipeline_fn fn;
    void *ctx;
} blocking;

static int blocking_fn(void *ctx, const kec_pipeline *p)
{
    blocking *b = ctx;

    return b->fn(b->ctx, p);
}

/* Runs a watch (by id when f is NULL) and waits for its end. */
static int watch_and_wait(kec_client *c, const char *id, const kec_watch_filter *f,
                          kec_pipeline_fn fn, void *ctx, kec_error *err)
{
    kec_stream *s = NULL;
    blocking b;
    int rc;

    if (kec_stream_wait_init(&b.w, c, "watch", err) != KEC_OK)
        return err != NULL ? err->code : KEC_EINVAL;
    b.fn = fn;
    b.ctx = ctx;
    if (f == NULL)
        rc = kec_watch_pipeline_start(c, id, blocking_fn, kec_stream_wait_done, &b, &s, err);
    else
        rc = kec_watch_pipelines_start(c, f, blocking_fn, kec_stream_wait_done, &b, &s, err);
    return kec_stream_wait_end(&b.w, s, rc, err);
}

int kec_watch_pipeline(kec_client *c, const char *id, kec_pipeline_fn fn, void *ctx, kec_error *err)
{
    return watch_and_wait(c, id, NULL, fn, ctx, err);
}

int kec_watch_pipelines(kec_client *c, const kec_watch_filter *f, kec_pipeline_fn fn, void *ctx,
                        kec_error *err)
{
    static const kec_watch_filter all = {NULL, KEC_STATE_UNSPECIFIED, NULL};

    return watch_and_wait(c, NULL, f != NULL ? f : &all, fn, ctx, err);
}
