/* stream.c -- server-streaming calls on the client's completion queue: one request, each
 * answer message handed to a callback on the client's thread, one end callback with the
 * status; cancellable from any thread, without a deadline. */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "internal.h"

/* One of a stream's three batch slots: the tag, and the stream it belongs to. */
typedef struct slot {
    kec_cq_tag tag;       /* first: what the client's thread completes */
    struct kec_stream *s; /* the owner */
} slot;

struct kec_stream {
    kec_client *c;                /* the client */
    kec_live live;                /* the call, in the client's list until over */
    pthread_mutex_t lock;         /* guards over: no cancel through live.gc after the end */
    int over;                     /* the last batch is done: live.gc is about to go */
    slot start, recv_slot, close; /* send + initial metadata; each message; the status */
    grpc_byte_buffer *send;       /* the request */
    grpc_byte_buffer *recv;       /* the message being received */
    grpc_metadata_array initial;  /* the server's initial metadata (unused) */
    grpc_metadata_array trailing; /* its trailing metadata (unused) */
    grpc_status_code status;      /* how the call ended */
    grpc_slice details;           /* the status message */
    atomic_int pending;           /* batches out */
    atomic_int refs;              /* the caller's handle + the call's own */
    atomic_int stopped;           /* cancelled by the caller (callback or kec_stream_cancel) */
    kec_stream_msg_cb on_msg;     /* each message */
    kec_stream_end_cb on_done;    /* the end */
    void *ctx;                    /* their context */
};

static void stream_unref(kec_stream *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    grpc_metadata_array_destroy(&s->initial);
    grpc_metadata_array_destroy(&s->trailing);
    grpc_slice_unref(s->details);
    if (s->send != NULL)
        grpc_byte_buffer_destroy(s->send);
    if (s->recv != NULL)
        grpc_byte_buffer_destroy(s->recv);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Cancels the call unless it is over. */
static void cancel(kec_stream *s)
{
    pthread_mutex_lock(&s->lock);
    if (!s->over)
        grpc_call_cancel(s->live.gc, NULL);
    pthread_mutex_unlock(&s->lock);
}

/* One batch is done; after the last the owner learns the end, and the call goes. */
static void batch_done(kec_stream *s)
{
    kec_client *c = s->c;

    if (atomic_fetch_sub(&s->pending, 1) != 1)
        return;
    s->on_done(s->ctx, (int)s->status, (const char *)GRPC_SLICE_START_PTR(s->details),
               GRPC_SLICE_LENGTH(s->details), atomic_load(&s->stopped));
    pthread_mutex_lock(&s->lock);
    s->over = 1;
    pthread_mutex_unlock(&s->lock);
    kec_stream_call_done(c, &s->live); /* unrefs the call under the client's lock */
    stream_unref(s);
}

/* Starts the next RECV_MESSAGE; its batch is already counted in pending. */
static void receive(kec_stream *s)
{
    grpc_op op;

    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &s->recv;
    if (grpc_call_start_batch(s->live.gc, &op, 1, &s->recv_slot.tag, NULL) != GRPC_CALL_OK) {
        cancel(s);
        batch_done(s);
    }
}

static void on_message(kec_cq_tag *t, int ok)
{
    kec_stream *s = ((slot *)t)->s;
    grpc_byte_buffer_reader reader;
    grpc_slice msg;

    if (ok && s->recv != NULL) {
        if (grpc_byte_buffer_reader_init(&reader, s->recv)) {
            msg = grpc_byte_buffer_reader_readall(&reader);
            grpc_byte_buffer_reader_destroy(&reader);
            if (!atomic_load(&s->stopped) &&
                s->on_msg(s->ctx, GRPC_SLICE_START_PTR(msg), GRPC_SLICE_LENGTH(msg)) != 0) {
                atomic_store(&s->stopped, 1);
                cancel(s);
            }
            grpc_slice_unref(msg);
        }
        grpc_byte_buffer_destroy(s->recv);
        s->recv = NULL;
        if (!atomic_load(&s->stopped)) {
            atomic_fetch_add(&s->pending, 1); /* before this batch's own is given back */
            receive(s);
        }
    }
    batch_done(s);
}

static void on_batch(kec_cq_tag *t, int ok)
{
    (void)ok; /* a failed start or close batch shows in the status */
    batch_done(((slot *)t)->s);
}

/* Fills the start batch: metadata, the request, half-close, the server's metadata. */
static size_t start_ops(kec_stream *s, grpc_op *ops)
{
    memset(ops, 0, 4 * sizeof *ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = s->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->initial;
    return 4;
}

int kec_stream_start(kec_client *c, kec_method method, uint8_t *req, size_t len,
                     kec_stream_msg_cb on_msg, kec_stream_end_cb on_done, void *ctx,
                     kec_stream **out, kec_error *err)
{
    kec_stream *s = calloc(1, sizeof *s);
    grpc_slice slice;
    grpc_op ops[4], close;
    int rc;

    *out = NULL;
    if (s == NULL) {
        free(req);
        return kec_error_set(err, KEC_ENOMEM, "out of memory starting a stream");
    }
    slice = grpc_slice_new(req, len, free);
    s->send = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    s->c = c;
    s->on_msg = on_msg;
    s->on_done = on_done;
    s->ctx = ctx;
    s->details = grpc_empty_slice();
    s->start.tag.complete = on_batch;
    s->close.tag.complete = on_batch;
    s->recv_slot.tag.complete = on_message;
    s->start.s = s->close.s = s->recv_slot.s = s;
    grpc_metadata_array_init(&s->initial);
    grpc_metadata_array_init(&s->trailing);
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->refs, 2);
    atomic_init(&s->pending, 3); /* start, close and the first receive */
    atomic_init(&s->stopped, 0);
    rc = kec_stream_call_start(c, method, &s->live, ops, start_ops(s, ops), &s->start.tag, err);
    if (rc != KEC_OK) {
        atomic_init(&s->refs, 1);
        stream_unref(s);
        return rc;
    }
    memset(&close, 0, sizeof close);
    close.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    close.data.recv_status_on_client.trailing_metadata = &s->trailing;
    close.data.recv_status_on_client.status = &s->status;
    close.data.recv_status_on_client.status_details = &s->details;
    /* pending counts the close and the receive until they start: the start batch's completion
     * alone cannot end the stream under us */
    if (grpc_call_start_batch(s->live.gc, &close, 1, &s->close.tag, NULL) != GRPC_CALL_OK) {
        s->status = GRPC_STATUS_INTERNAL;
        cancel(s);
        batch_done(s); /* the close's */
        batch_done(s); /* the receive's, never started */
    } else {
        receive(s);
    }
    *out = s;
    return KEC_OK;
}

void kec_stream_cancel(kec_stream *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stopped, 1);
    cancel(s);
}

void kec_stream_free(kec_stream *s)
{
    if (s == NULL)
        return;
    kec_stream_cancel(s);
    stream_unref(s);
}

int kec_stream_outcome(const kec_error *decode_err, int status, const char *details, size_t dlen,
                       int stopped, kec_error *err)
{
    kec_error_clear(err);
    if (decode_err->code != KEC_OK) {
        *err = *decode_err;
        return err->code;
    }
    if (status != KEC_STATUS_OK && !(stopped && status == KEC_STATUS_CANCELLED))
        return kec_error_status(err, status, details, dlen);
    return KEC_OK;
}

int kec_stream_wait_init(kec_stream_wait *w, kec_client *c, const char *what, kec_error *err)
{
    memset(w, 0, sizeof *w);
    if (kec_call_on_client_thread(c))
        return kec_error_set(err, KEC_EINVAL,
                             "a blocking %s started from a callback would never return", what);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    return KEC_OK;
}

void kec_stream_wait_done(void *ctx, int rc, const kec_error *err)
{
    kec_stream_wait *w = ctx;

    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    if (rc != KEC_OK)
        w->err = *err;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int kec_stream_wait_end(kec_stream_wait *w, kec_stream *s, int rc, kec_error *err)
{
    if (rc == KEC_OK) {
        pthread_mutex_lock(&w->lock);
        while (!w->done)
            pthread_cond_wait(&w->cond, &w->lock);
        pthread_mutex_unlock(&w->lock);
        rc = w->rc;
        if (rc != KEC_OK && err != NULL && err->code == KEC_OK)
            *err = w->err;
        kec_stream_free(s);
    }
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    return rc;
}
