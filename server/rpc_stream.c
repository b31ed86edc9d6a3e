/* rpc_stream.c -- server streams: a queue of messages sent one at a time, the end after them,
 * and the hold that tells its owner when the call is over. */
#include <grpc/byte_buffer.h>
#include <grpc/slice.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kec_log.h"
#include "rpc_internal.h"

/* One message waiting to be sent (or being sent: the head while sending). */
typedef struct out_msg {
    grpc_byte_buffer *bb; /* the message */
    size_t len;           /* its bytes */
    struct out_msg *next; /* the one after it */
} out_msg;

struct rpc_stream {
    pthread_mutex_t lock;   /* guards every member below */
    out_msg *head, *tail;   /* the queue; head is in flight while sending */
    size_t queued;          /* bytes in the queue */
    int sending;            /* a SEND_MESSAGE batch is out (its message is head) */
    int ending;             /* an end was asked: the status goes out after the queue */
    int end_status;         /* that status */
    int status_out;         /* the SEND_STATUS batch was started */
    int gone;               /* the call is over (close came, or a send failed) */
    int held;               /* ke_rpc_stream_hold's reference is out */
    ke_rpc_gone_fn on_gone; /* the owner's callback, until it ran or was given up */
    void *gone_ctx;         /* its context */
    ke_rpc_sent_fn on_sent; /* ke_rpc_stream_on_sent's callback, until the hold is given back */
    void *sent_ctx;         /* its context */
};

static void free_msgs(out_msg *m)
{
    while (m != NULL) {
        out_msg *next = m->next;

        grpc_byte_buffer_destroy(m->bb);
        free(m);
        m = next;
    }
}

/* Drops what is queued and not in flight. Under s->lock. */
static void drop_waiting(rpc_stream *s)
{
    out_msg *keep = s->sending ? s->head : NULL;
    out_msg *rest = keep != NULL ? keep->next : s->head;

    free_msgs(rest);
    if (keep != NULL) {
        keep->next = NULL;
        s->queued = keep->len;
    } else {
        s->queued = 0;
    }
    s->head = s->tail = keep;
}

/* Starts the next batch the stream needs: the head message, or the status once the queue is
 * empty and an end was asked. Under s->lock; the caller holds a reference to c. */
static void kick(ke_rpc_call *c)
{
    rpc_stream *s = c->stream;
    grpc_op ops[2];
    size_t n = 0;

    if (s->gone || s->sending || s->status_out)
        return;
    if (s->head == NULL && !s->ending)
        return;
    rpc_add_initial_md(c, ops, &n);
    memset(&ops[n], 0, sizeof ops[n]);
    if (s->head != NULL) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = s->head->bb;
        s->sending = 1;
    } else {
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = (grpc_status_code)s->end_status;
        ops[n].data.send_status_from_server.status_details = &c->status_details;
        s->status_out = 1;
    }
    n++;
    c->state = ST_SENDING;
    if (rpc_start_batch(c, ops, n, &c->tag) != 0) {
        s->sending = 0;
        s->gone = 1; /* nothing more can go out; the close slot still ends the call */
        grpc_call_cancel(c->call, NULL);
    }
}

int rpc_stream_admit(ke_rpc_call *c, char *msg, size_t cap)
{
    ke_rpc *rpc = c->rpc;
    int open = atomic_fetch_add(&rpc->open_streams, 1) + 1;

    c->stream_counted = 1;
    if (rpc->max_streams > 0 && open > rpc->max_streams) {
        snprintf(msg, cap,
                 KE_RPC_OVERLOADED "%d streams open, the most --max-streams allows; retry later",
                 rpc->max_streams);
        return 0;
    }
    return 1;
}

static void list_add(ke_rpc *rpc, ke_rpc_call *c)
{
    pthread_mutex_lock(&rpc->streams_lock);
    c->stream_next = rpc->streams;
    if (rpc->streams != NULL)
        rpc->streams->stream_prev = c;
    rpc->streams = c;
    pthread_mutex_unlock(&rpc->streams_lock);
}

static void list_remove(ke_rpc *rpc, ke_rpc_call *c)
{
    pthread_mutex_lock(&rpc->streams_lock);
    if (c->stream_prev != NULL)
        c->stream_prev->stream_next = c->stream_next;
    else if (rpc->streams == c)
        rpc->streams = c->stream_next;
    if (c->stream_next != NULL)
        c->stream_next->stream_prev = c->stream_prev;
    c->stream_prev = c->stream_next = NULL;
    pthread_mutex_unlock(&rpc->streams_lock);
}

int rpc_stream_open(ke_rpc_call *c)
{
    rpc_stream *s = calloc(1, sizeof *s);
    grpc_op op;

    if (s == NULL) {
        kec_log(KEC_LOG_ERROR, "out of memory opening a stream");
        grpc_call_cancel_with_status(c->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                     "server out of memory", NULL);
        return -1;
    }
    pthread_mutex_init(&s->lock, NULL);
    c->stream = s;
    c->state = ST_HANDLING;
    list_add(c->rpc, c);
    /* Learn when the call is over, whoever ends it. */
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    if (rpc_start_batch(c, &op, 1, &c->close_tag) != 0) {
        list_remove(c->rpc, c);
        s->gone = 1;
        grpc_call_cancel(c->call, NULL);
        return -1;
    }
    return 0;
}

/* The close came: the call is over. Tells the owner, once. */
static void on_close(ke_rpc_call *c)
{
    rpc_stream *s = c->stream;
    ke_rpc_gone_fn fn;
    void *ctx;

    pthread_mutex_lock(&s->lock);
    s->gone = 1;
    drop_waiting(s);
    fn = s->on_gone;
    ctx = s->gone_ctx;
    s->on_gone = NULL;
    pthread_mutex_unlock(&s->lock);
    list_remove(c->rpc, c);
    if (fn != NULL)
        fn(ctx);
}

void rpc_stream_batch(ke_rpc_call *c, int ok, int is_close)
{
    rpc_stream *s = c->stream;

    if (is_close) {
        on_close(c);
        rpc_call_unref(c);
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (s->sending) {
        out_msg *done = s->head;

        s->sending = 0;
        s->head = done->next;
        if (s->head == NULL)
            s->tail = NULL;
        s->queued -= done->len;
        done->next = NULL;
        free_msgs(done);
        if (!ok) { /* the client left or the call was cancelled */
            s->gone = 1;
            drop_waiting(s);
        }
        if (s->on_sent != NULL && !s->gone)
            s->on_sent(s->sent_ctx, s->queued);
        kick(c);
    }
    pthread_mutex_unlock(&s->lock);
    rpc_call_unref(c);
}

void ke_rpc_stream_hold(ke_rpc_call *c, ke_rpc_gone_fn on_gone, void *ctx)
{
    rpc_stream *s = c->stream;

    pthread_mutex_lock(&s->lock);
    if (!s->held) {
        s->held = 1;
        s->on_gone = on_gone;
        s->gone_ctx = ctx;
        atomic_fetch_add(&c->refs, 1);
    }
    pthread_mutex_unlock(&s->lock);
}

void ke_rpc_stream_on_sent(ke_rpc_call *c, ke_rpc_sent_fn on_sent, void *ctx)
{
    rpc_stream *s = c->stream;

    pthread_mutex_lock(&s->lock);
    if (s->held) {
        s->on_sent = on_sent;
        s->sent_ctx = ctx;
    }
    pthread_mutex_unlock(&s->lock);
}

int ke_rpc_stream_send(ke_rpc_call *c, const uint8_t *data, size_t len)
{
    rpc_stream *s = c->stream;
    out_msg *m;
    int rc = KE_OK;

    pthread_mutex_lock(&s->lock);
    if (s->gone || s->ending) {
        rc = KE_EUNAVAIL;
        goto out;
    }
    m = calloc(1, sizeof *m);
    if (m == NULL || (m->bb = rpc_make_buffer(data, len)) == NULL) {
        free(m);
        rc = KE_ENOMEM;
        goto out;
    }
    m->len = len;
    if (s->tail != NULL)
        s->tail->next = m;
    else
        s->head = m;
    s->tail = m;
    s->queued += len;
    kick(c);
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

size_t ke_rpc_stream_queued_bytes(ke_rpc_call *c)
{
    rpc_stream *s = c->stream;
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = s->queued;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void ke_rpc_stream_end(ke_rpc_call *c, int status, const char *message)
{
    rpc_stream *s = c->stream;

    pthread_mutex_lock(&s->lock);
    if (!s->gone && !s->ending) {
        s->ending = 1;
        s->end_status = status;
        c->status_details = grpc_slice_from_copied_string(message != NULL ? message : "");
        c->has_details = 1;
        kick(c);
    }
    pthread_mutex_unlock(&s->lock);
}

void ke_rpc_stream_abort(ke_rpc_call *c, int status, const char *message)
{
    rpc_stream *s = c->stream;

    pthread_mutex_lock(&s->lock);
    if (!s->gone && !s->status_out) {
        s->ending = 1;
        drop_waiting(s);
        grpc_call_cancel_with_status(c->call, (grpc_status_code)status,
                                     message != NULL ? message : "", NULL);
    }
    pthread_mutex_unlock(&s->lock);
}

void ke_rpc_stream_release(ke_rpc_call *c)
{
    rpc_stream *s = c->stream;

    pthread_mutex_lock(&s->lock);
    s->on_gone = NULL;
    s->on_sent = NULL;
    pthread_mutex_unlock(&s->lock);
    rpc_call_unref(c);
}

void rpc_streams_end_all(ke_rpc *rpc)
{
    ke_rpc_call *c;

    pthread_mutex_lock(&rpc->streams_lock);
    for (c = rpc->streams; c != NULL; c = c->stream_next)
        ke_rpc_stream_end(c, KE_GRPC_UNAVAILABLE, "server shutting down");
    pthread_mutex_unlock(&rpc->streams_lock);
}

void rpc_stream_free(rpc_stream *s)
{
    if (s == NULL)
        return;
    free_msgs(s->head);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
