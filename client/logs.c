/* logs.c -- StreamLogs for callers: each LogChunk's bytes to the caller's function; the blocking
 * form waits for the stream's end. */
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
    int rc = kec_stream_outcome(&ls->err, status, details, dlen, stopped, &err);

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

/* A blocking log stream: the end it waits for (first: kec_stream_wait_done's context), and the
 * caller's function. */
typedef struct blocking {
    kec_stream_wait w;
    kec_log_fn fn;
    void *ctx;
} blocking;

static int blocking_fn(void *ctx, const char *data, size_t len)
{
    blocking *b = ctx;

    return b->fn(b->ctx, data, len);
}

int kec_stream_logs(kec_client *c, const char *id, int follow, int tail_lines, kec_log_fn fn,
                    void *ctx, kec_error *err)
{
    kec_stream *s = NULL;
    blocking b;
    int rc;

    if (kec_stream_wait_init(&b.w, c, "log stream", err) != KEC_OK)
        return err != NULL ? err->code : KEC_EINVAL;
    b.fn = fn;
    b.ctx = ctx;
    rc = kec_stream_logs_start(c, id, follow, tail_lines, blocking_fn, kec_stream_wait_done, &b, &s,
                               err);
    return kec_stream_wait_end(&b.w, s, rc, err);
}
