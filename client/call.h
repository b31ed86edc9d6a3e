/* call.h -- the client's gRPC core layer (client.c): one unary call, started from any thread,
 * answered on the client's completion-queue thread. calls.c builds the public API on it. */
#ifndef KEC_CALL_H
#define KEC_CALL_H

#include <grpc/grpc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "kedroevents.h"

/* The methods the client calls. */
typedef enum kec_method {
    KEC_M_DISPATCH,
    KEC_M_DISPATCH_BATCH,
    KEC_M_CREATE_PIPELINE,
    KEC_M_GET_PIPELINE,
    KEC_M_LIST_PIPELINES,
    KEC_M_CANCEL_PIPELINE,
    KEC_M_RETRY_PIPELINE,
    KEC_M_HEALTH_CHECK,
    KEC_M_GET_STATS,
    KEC_M_WATCH_PIPELINE,  /* server-streaming */
    KEC_M_WATCH_PIPELINES, /* server-streaming */
    KEC_M_STREAM_LOGS,     /* server-streaming */
    KEC_M_COUNT
} kec_method;

/* How a call ended: status KEC_STATUS_OK with the answer's bytes (msg, len), or another
 * status with the server's or gRPC's message (details, dlen; not NUL-terminated). Everything
 * lives only during the callback. */
typedef void (*kec_call_cb)(void *ctx, int status, const char *details, size_t dlen,
                            const uint8_t *msg, size_t len);

/* Starts method with the request req (len bytes, malloc'd: the call takes it and frees it,
 * also on failure). On KEC_OK cb fires exactly once on the client's thread; on failure
 * (the client is closing, out of memory) never. */
int kec_call_start(kec_client *c, kec_method method, uint8_t *req, size_t len, kec_call_cb cb,
                   void *ctx, kec_error *err);

/* ---- streaming calls (stream.c builds on these) */

/* Every completion's tag starts with this: the client's thread calls complete(tag, ok). */
typedef struct kec_cq_tag {
    void (*complete)(struct kec_cq_tag *t, int ok); /* runs on the client's thread */
} kec_cq_tag;

/* A streaming call as the client tracks it, so kec_client_free can cancel it and wait. */
typedef struct kec_live {
    grpc_call *gc;                /* the call (the stream unrefs it) */
    struct kec_live *prev, *next; /* in the client's list while not over */
} kec_live;

/* Creates a call of method without a deadline into live->gc and starts its first batch (ops,
 * n; ops[0] must be SEND_INITIAL_METADATA, whose metadata -- the token -- is set here) with
 * tag, under the client's lock; on KEC_OK live is in the client's list until
 * kec_stream_call_done. On failure (the client is closing, grpc refused) nothing is left. */
int kec_stream_call_start(kec_client *c, kec_method method, kec_live *live, grpc_op *ops, size_t n,
                          kec_cq_tag *tag, kec_error *err);

/* Takes live out of the client's list once its last completion was handled (and its owner's
 * last callback returned) and unrefs its call, both under the client's lock, so that
 * kec_client_free, which cancels the listed calls under that lock, never sees a call that is
 * gone; kec_client_free waits for this. */
void kec_stream_call_done(kec_client *c, kec_live *live);

/* Each message of a stream (bytes valid during the call), on the client's thread; non-zero
 * cancels the stream (no more messages; on_done's stopped is 1). */
typedef int (*kec_stream_msg_cb)(void *ctx, const uint8_t *msg, size_t len);

/* Once, on the client's thread, after the last message: the status and its message (details,
 * dlen; not NUL-terminated), and stopped 1 when the caller cancelled it (a callback's non-zero
 * return or kec_stream_cancel). */
typedef void (*kec_stream_end_cb)(void *ctx, int status, const char *details, size_t dlen,
                                  int stopped);

/* Starts a server-streaming method with the request req (len bytes, malloc'd: taken and
 * freed, also on failure), without a deadline. On KEC_OK *out is the handle (kec_stream_free
 * it; on_done still comes, once) and on_done fires exactly once; on failure never. */
int kec_stream_start(kec_client *c, kec_method method, uint8_t *req, size_t len,
                     kec_stream_msg_cb on_msg, kec_stream_end_cb on_done, void *ctx,
                     kec_stream **out, kec_error *err);

/* The end of a typed stream (watch.c, logs.c) as a result code: a message that did not decode
 * (decode_err set) first, else the status; a stream its caller stopped ends CANCELLED, which
 * is KEC_OK. *err is cleared, then filled when the result is not KEC_OK. */
int kec_stream_outcome(const kec_error *decode_err, int status, const char *details, size_t dlen,
                       int stopped, kec_error *err);

/* What a blocking stream call waits on: kec_stream_wait_done is the stream's done function
 * (ctx: the kec_stream_wait), kec_stream_wait_end waits for it. */
typedef struct kec_stream_wait {
    pthread_mutex_t lock; /* guards done, rc, err */
    pthread_cond_t cond;  /* signalled at the end */
    int done;             /* the end came */
    int rc;               /* its code */
    kec_error err;        /* its error */
} kec_stream_wait;

/* Readies w; 0, or KEC_EINVAL in err when the caller runs on the client's own thread (a
 * blocking stream started from a callback would never return; what names the call). */
int kec_stream_wait_init(kec_stream_wait *w, kec_client *c, const char *what, kec_error *err);

/* A kec_stream_done_fn recording the end in the kec_stream_wait ctx points at (it may be the
 * first member of the caller's struct). */
void kec_stream_wait_done(void *ctx, int rc, const kec_error *err);

/* With rc (the start's result) KEC_OK, waits for the end, frees s and returns the end's code
 * (err set from it when err is still clear); else returns rc. Either way w is destroyed. */
int kec_stream_wait_end(kec_stream_wait *w, kec_stream *s, int rc, kec_error *err);

/* 1 when the caller runs on the client's own thread (inside a callback), where waiting for
 * another call would never end. */
int kec_call_on_client_thread(const kec_client *c);

#endif
