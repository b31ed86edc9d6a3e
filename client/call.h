/* call.h -- the client's gRPC core layer (client.c): one unary call, started from any thread,
 * answered on the client's completion-queue thread. calls.c builds the public API on it. */
#ifndef KEC_CALL_H
#define KEC_CALL_H

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

/* 1 when the caller runs on the client's own thread (inside a callback), where waiting for
 * another call would never end. */
int kec_call_on_client_thread(const kec_client *c);

#endif
