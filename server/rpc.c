/* rpc.c -- the gRPC server loop: completion queues, one thread each, and the per-call
 * state machines that turn grpc core batches into handler calls and replies. */
#include "rpc.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_internal.h"
#include "rpc_security.h"

/* Calls requested in advance per method and queue: how many calls of one
 * method a queue can start without waiting for a re-request. */
#define DEPTH_UNARY 32
#define DEPTH_STREAM 4
#define DEPTH_UNKNOWN 2

static void request_call(ke_rpc *rpc, int cq, int method);

/* Gives back what admit() counted for the call. */
static void release_budget(ke_rpc_call *c)
{
    if (c->charged > 0)
        atomic_fetch_sub(&c->rpc->inflight_bytes, c->charged);
    if (c->counted)
        atomic_fetch_sub(&c->rpc->inflight_calls, 1);
    if (c->stream_counted)
        atomic_fetch_sub(&c->rpc->open_streams, 1);
    c->charged = 0;
    c->counted = 0;
    c->stream_counted = 0;
}

void rpc_call_unref(ke_rpc_call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    release_budget(c);
    if (c->call != NULL)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->request_md);
    if (c->method < 0)
        grpc_call_details_destroy(&c->details);
    if (c->payload != NULL)
        grpc_byte_buffer_destroy(c->payload);
    if (c->send_buf != NULL)
        grpc_byte_buffer_destroy(c->send_buf);
    if (c->has_details)
        grpc_slice_unref(c->status_details);
    rpc_stream_free(c->stream);
    free(c);
}

/* Starts a batch with one reference for its completion. On failure the
 * completion will never come, so the reference is dropped here. */
int rpc_start_batch(ke_rpc_call *c, const grpc_op *ops, size_t n, call_tag *tag)
{
    grpc_call_error e;

    atomic_fetch_add(&c->refs, 1);
    e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK) {
        fprintf(stderr, "kedro-eventd: grpc_call_start_batch failed (%d)\n", (int)e);
        rpc_call_unref(c);
        return -1;
    }
    return 0;
}

void rpc_add_initial_md(ke_rpc_call *c, grpc_op *ops, size_t *n)
{
    if (c->sent_initial_md)
        return;
    memset(&ops[*n], 0, sizeof ops[*n]);
    ops[*n].op = GRPC_OP_SEND_INITIAL_METADATA;
    (*n)++;
    c->sent_initial_md = 1;
}

/* Ends the call with a status (and message), collecting the close. */
static void finish(ke_rpc_call *c, int status, const char *message)
{
    grpc_op ops[3];
    size_t n = 0;

    rpc_add_initial_md(c, ops, &n);
    c->status_details = grpc_slice_from_copied_string(message != NULL ? message : "");
    c->has_details = 1;
    memset(&ops[n], 0, sizeof ops[n]);
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)status;
    ops[n].data.send_status_from_server.status_details = &c->status_details;
    n++;
    memset(&ops[n], 0, sizeof ops[n]);
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
    n++;
    c->state = ST_FINISHING;
    rpc_start_batch(c, ops, n, &c->tag);
}

grpc_byte_buffer *rpc_make_buffer(const uint8_t *data, size_t len)
{
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)data, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

    grpc_slice_unref(s);
    return bb;
}

void ke_rpc_reply(ke_rpc_call *c, int status, const char *message, const uint8_t *data, size_t len)
{
    ke_rpc_kind kind = c->rpc->methods[c->method].m.kind;
    grpc_op ops[4];
    size_t n = 0;

    if (c->stream != NULL) { /* a server stream: one message (if OK), then the end */
        if (status == KE_GRPC_OK)
            ke_rpc_stream_send(c, data, len);
        ke_rpc_stream_end(c, status, message);
        return; /* run_handler gives back the handler's turn */
    }
    if (status != KE_GRPC_OK) {
        finish(c, status, message);
        goto out;
    }
    c->send_buf = rpc_make_buffer(data, len);
    rpc_add_initial_md(c, ops, &n);
    memset(&ops[n], 0, sizeof ops[n]);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->send_buf;
    n++;
    if (kind == KE_RPC_UNARY) {
        c->status_details = grpc_slice_from_static_string("");
        c->has_details = 1;
        memset(&ops[n], 0, sizeof ops[n]);
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = GRPC_STATUS_OK;
        ops[n].data.send_status_from_server.status_details = &c->status_details;
        n++;
        memset(&ops[n], 0, sizeof ops[n]);
        ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
        n++;
        c->state = ST_FINISHING;
    } else if (kind == KE_RPC_BIDI) {
        /* Send the answer and wait for the next request in one batch. */
        memset(&ops[n], 0, sizeof ops[n]);
        ops[n].op = GRPC_OP_RECV_MESSAGE;
        ops[n].data.recv_message.recv_message = &c->payload;
        n++;
        c->state = ST_RECEIVING;
    }
    rpc_start_batch(c, ops, n, &c->tag);
out:
    rpc_call_unref(c); /* the handler's turn is over */
}

/* Hands the received message to the handler. */
static void run_handler(ke_rpc_call *c)
{
    const method_entry *me = &c->rpc->methods[c->method];
    grpc_byte_buffer_reader reader;
    grpc_slice all;

    if (c->payload == NULL || !grpc_byte_buffer_reader_init(&reader, c->payload)) {
        const char *why = c->payload == NULL ? "the call carried no request message"
                                             : "the request message could not be read";
        int status = c->payload == NULL ? KE_GRPC_INVALID_ARGUMENT : KE_GRPC_INTERNAL;

        if (c->stream != NULL) /* its close slot is out already: end it through the stream */
            ke_rpc_stream_end(c, status, why);
        else
            finish(c, status, why);
        return;
    }
    all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    grpc_byte_buffer_destroy(c->payload);
    c->payload = NULL;
    if (c->send_buf != NULL) {
        grpc_byte_buffer_destroy(c->send_buf);
        c->send_buf = NULL;
    }
    c->state = ST_HANDLING;
    atomic_fetch_add(&c->refs, 1); /* released by ke_rpc_reply, or below for a stream */
    me->m.handler(me->m.ctx, c, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
    grpc_slice_unref(all);
    if (c->stream != NULL)
        rpc_call_unref(c); /* a stream's handler keeps it with ke_rpc_stream_hold */
}

/* Counts a new call (and its request's bytes) against the server's budget. Returns 1 when
 * admitted; 0 past a limit, with msg saying which. What was counted is given back when the
 * call ends (call_unref), admitted or not. */
static int admit(ke_rpc_call *c, char *msg, size_t cap)
{
    ke_rpc *rpc = c->rpc;
    size_t len = c->payload != NULL ? grpc_byte_buffer_length(c->payload) : 0, held;
    int calls;

    if (!rpc->methods[c->method].budgeted)
        return 1;
    if (rpc->methods[c->method].m.kind == KE_RPC_SERVER_STREAM)
        return rpc_stream_admit(c, msg, cap);
    calls = atomic_fetch_add(&rpc->inflight_calls, 1) + 1;
    c->counted = 1;
    if (rpc->max_calls > 0 && calls > rpc->max_calls) {
        snprintf(msg, cap,
                 KE_RPC_OVERLOADED "%d calls in flight, the most --max-calls allows; retry later",
                 rpc->max_calls);
        return 0;
    }
    held = atomic_fetch_add(&rpc->inflight_bytes, len) + len;
    c->charged = len;
    if (rpc->max_inflight_bytes > 0 && held > rpc->max_inflight_bytes) {
        snprintf(msg, cap,
                 KE_RPC_OVERLOADED "%zu bytes of requests in flight and %zu more would pass "
                                   "--max-inflight-bytes %zu; retry later",
                 held - len, len, rpc->max_inflight_bytes);
        return 0;
    }
    return 1;
}

/* With tokens configured, ends a call (UNAUTHENTICATED) that is not exempt and carries no
 * accepted token, before any handler or message of it, and returns 1; else 0. */
static int refused_unauthenticated(ke_rpc_call *c)
{
    const char *path, *refusal;
    size_t n;

    if (c->rpc->auth == NULL)
        return 0;
    if (c->method >= 0) {
        path = c->rpc->methods[c->method].m.path;
        n = strlen(path);
    } else {
        path = (const char *)GRPC_SLICE_START_PTR(c->details.method);
        n = GRPC_SLICE_LENGTH(c->details.method);
    }
    if (ke_rpc_auth_exempt(path, n))
        return 0;
    refusal = ke_rpc_auth_refusal(c->rpc->auth, &c->request_md);
    if (refusal == NULL)
        return 0;
    if (c->payload != NULL) { /* an unauthenticated request's memory goes back at once */
        grpc_byte_buffer_destroy(c->payload);
        c->payload = NULL;
    }
    finish(c, KE_GRPC_UNAUTHENTICATED, refusal);
    rpc_call_unref(c); /* the request's reference */
    return 1;
}

/* A requested call arrived (ok) or the server is shutting down (!ok). */
static void on_new_call(ke_rpc_call *c, int ok)
{
    ke_rpc *rpc = c->rpc;
    grpc_op ops[2];
    char msg[300];
    size_t n = 0;
    char *path;

    if (!ok) {
        rpc_call_unref(c);
        return;
    }
    if (!atomic_load(&rpc->stopping))
        request_call(rpc, c->cq, c->method);
    if (refused_unauthenticated(c))
        return;
    if (c->method < 0) {
        path = grpc_slice_to_c_string(c->details.method);
        snprintf(msg, sizeof msg, "unknown method %.256s", path);
        gpr_free(path);
        finish(c, KE_GRPC_UNIMPLEMENTED, msg);
        rpc_call_unref(c);
        return;
    }
    if (!admit(c, msg, sizeof msg)) {
        if (c->payload != NULL) { /* its memory goes back now, not when the client reads */
            grpc_byte_buffer_destroy(c->payload);
            c->payload = NULL;
        }
        release_budget(c);
        finish(c, KE_GRPC_UNAVAILABLE, msg);
        rpc_call_unref(c);
        return;
    }
    switch (rpc->methods[c->method].m.kind) {
    case KE_RPC_UNARY:
        run_handler(c);
        break;
    case KE_RPC_SERVER_STREAM:
        if (rpc_stream_open(c) == 0)
            run_handler(c);
        break;
    case KE_RPC_BIDI:
        rpc_add_initial_md(c, ops, &n);
        memset(&ops[n], 0, sizeof ops[n]);
        ops[n].op = GRPC_OP_RECV_MESSAGE;
        ops[n].data.recv_message.recv_message = &c->payload;
        n++;
        c->state = ST_RECEIVING;
        rpc_start_batch(c, ops, n, &c->tag);
        break;
    }
    rpc_call_unref(c); /* the request's reference */
}

/* A batch of an active call completed. */
static void on_batch(ke_rpc_call *c, int ok, int is_close)
{
    if (c->stream != NULL) {
        rpc_stream_batch(c, ok, is_close);
        return;
    }
    if (is_close || c->state == ST_FINISHING) {
        rpc_call_unref(c);
        return;
    }
    if (!ok) {
        /* The client went away or the call was cancelled: nothing to answer. */
        if (c->state == ST_RECEIVING)
            grpc_call_cancel(c->call, NULL);
        rpc_call_unref(c);
        return;
    }
    if (c->state == ST_RECEIVING) {
        if (c->payload == NULL)
            finish(c, KE_GRPC_OK, NULL); /* the client half-closed: done */
        else
            run_handler(c);
    }
    rpc_call_unref(c);
}

static void request_call(ke_rpc *rpc, int cq, int method)
{
    ke_rpc_call *c = calloc(1, sizeof *c);
    grpc_completion_queue *q = rpc->workers[cq].cq;
    grpc_call_error e;

    if (c == NULL) {
        fprintf(stderr, "kedro-eventd: out of memory requesting a call\n");
        return;
    }
    c->rpc = rpc;
    c->cq = cq;
    c->method = method;
    c->state = ST_REQUESTED;
    c->tag.call = c;
    c->close_tag.call = c;
    c->close_tag.is_close = 1;
    atomic_init(&c->refs, 1);
    grpc_metadata_array_init(&c->request_md);
    if (method < 0) {
        grpc_call_details_init(&c->details);
        e = grpc_server_request_call(rpc->server, &c->call, &c->details, &c->request_md, q, q,
                                     &c->tag);
    } else {
        grpc_byte_buffer **payload =
            rpc->methods[method].m.kind == KE_RPC_BIDI ? NULL : &c->payload;

        e = grpc_server_request_registered_call(rpc->server, rpc->methods[method].handle, &c->call,
                                                &c->deadline, &c->request_md, payload, q, q,
                                                &c->tag);
    }
    if (e != GRPC_CALL_OK) {
        fprintf(stderr, "kedro-eventd: requesting a call failed (%d)\n", (int)e);
        rpc_call_unref(c);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;

    for (;;) {
        grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        call_tag *tag;

        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        tag = ev.tag;
        if (tag->call->state == ST_REQUESTED && !tag->is_close)
            on_new_call(tag->call, ev.success);
        else
            on_batch(tag->call, ev.success, tag->is_close);
    }
    return NULL;
}

/* Appends the arguments that bound what clients can make the server hold (chargs->args has
 * room for 4 more) and sets the server's own budget. */
static void limit_args(ke_rpc *rpc, const ke_rpc_options *opts, grpc_channel_args *chargs)
{
    grpc_arg *a = chargs->args + chargs->num_args;

    rpc->max_inflight_bytes = opts->max_inflight_bytes;
    rpc->max_calls = opts->max_calls;
    rpc->max_streams = opts->max_streams;
    atomic_init(&rpc->open_streams, 0);
    atomic_init(&rpc->inflight_bytes, 0);
    atomic_init(&rpc->inflight_calls, 0);
    a->type = GRPC_ARG_INTEGER;
    a->key = (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS;
    a->value.integer = KE_RPC_MAX_STREAMS;
    a++;
    if (opts->handshake_timeout_ms > 0) {
        a->type = GRPC_ARG_INTEGER;
        a->key = (char *)GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS;
        a->value.integer = opts->handshake_timeout_ms;
        a++;
    }
    if (opts->max_idle_ms > 0) {
        a->type = GRPC_ARG_INTEGER;
        a->key = (char *)GRPC_ARG_MAX_CONNECTION_IDLE_MS;
        a->value.integer = opts->max_idle_ms;
        a++;
    }
    if (opts->memory_quota_bytes > 0) {
        rpc->quota = grpc_resource_quota_create("kedro-eventd");
        grpc_resource_quota_resize(rpc->quota, opts->memory_quota_bytes);
        a->type = GRPC_ARG_POINTER;
        a->key = (char *)GRPC_ARG_RESOURCE_QUOTA;
        a->value.pointer.p = rpc->quota;
        a->value.pointer.vtable = grpc_resource_quota_arg_vtable();
        a++;
    }
    chargs->num_args = (size_t)(a - chargs->args);
}

int ke_rpc_new(const ke_rpc_options *opts, const ke_rpc_method *methods, size_t n_methods,
               ke_rpc **out, ke_error *err)
{
    grpc_server_credentials *creds = NULL;
    grpc_arg args[7];
    grpc_channel_args chargs;
    ke_rpc *rpc;
    size_t i;
    int w;

    *out = NULL;
    grpc_init();
    rpc = calloc(1, sizeof *rpc);
    if (rpc == NULL)
        goto nomem;
    rpc->n_workers = opts->threads > 0 ? opts->threads : 1;
    rpc->workers = calloc((size_t)rpc->n_workers, sizeof *rpc->workers);
    rpc->methods = calloc(n_methods ? n_methods : 1, sizeof *rpc->methods);
    if (rpc->workers == NULL || rpc->methods == NULL)
        goto nomem;
    atomic_init(&rpc->stopping, 0);
    pthread_mutex_init(&rpc->streams_lock, NULL);

    memset(args, 0, sizeof args);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer =
        opts->max_message_bytes > (size_t)INT32_MAX ? INT32_MAX : (int)opts->max_message_bytes;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = -1;
    /* A second server on the same port must fail to start, not share it. */
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
    args[2].value.integer = 0;
    chargs.num_args = 3;
    chargs.args = args;
    limit_args(rpc, opts, &chargs);
    rpc->server = grpc_server_create(&chargs, NULL);

    for (i = 0; i < n_methods; i++) {
        rpc->methods[i].m = methods[i];
        rpc->methods[i].handle = grpc_server_register_method(
            rpc->server, methods[i].path, NULL,
            methods[i].kind == KE_RPC_BIDI ? GRPC_SRM_PAYLOAD_NONE
                                           : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
            0);
        if (rpc->methods[i].handle == NULL) {
            ke_error_set(err, KE_EINVAL, "method %s registered twice", methods[i].path);
            goto fail;
        }
        /* health checks are never refused for load: probes must see the server while it sheds */
        rpc->methods[i].budgeted = !ke_rpc_auth_exempt(methods[i].path, strlen(methods[i].path));
    }
    rpc->n_methods = n_methods;
    rpc->auth = opts->auth;
    for (w = 0; w < rpc->n_workers; w++) {
        rpc->workers[w].rpc = rpc;
        rpc->workers[w].index = w;
        rpc->workers[w].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(rpc->server, rpc->workers[w].cq, NULL);
    }
    if (ke_rpc_credentials(opts, &creds, err) != KE_OK)
        goto fail;
    rpc->port = grpc_server_add_http2_port(rpc->server, opts->listen, creds);
    grpc_server_credentials_release(creds);
    if (rpc->port == 0) {
        ke_error_set(err, KE_EIO,
                     "cannot listen on \"%s\": the address is invalid or in use%s (see grpc's "
                     "log above)",
                     opts->listen,
                     opts->tls_cert != NULL ? ", or --tls-key does not match --tls-cert" : "");
        goto fail;
    }
    *out = rpc;
    return KE_OK;
nomem:
    ke_error_set(err, KE_ENOMEM, "out of memory creating the server");
fail:
    ke_rpc_free(rpc);
    return err != NULL && err->code != KE_OK ? err->code : KE_ENOMEM;
}

int ke_rpc_port(const ke_rpc *rpc)
{
    return rpc->port;
}

int ke_rpc_start(ke_rpc *rpc, ke_error *err)
{
    int w, d;
    size_t m;

    grpc_server_start(rpc->server);
    rpc->started = 1;
    for (w = 0; w < rpc->n_workers; w++) {
        for (m = 0; m < rpc->n_methods; m++) {
            int depth = rpc->methods[m].m.kind == KE_RPC_UNARY ? DEPTH_UNARY : DEPTH_STREAM;

            for (d = 0; d < depth; d++)
                request_call(rpc, w, (int)m);
        }
        for (d = 0; d < DEPTH_UNKNOWN; d++)
            request_call(rpc, w, -1);
    }
    for (w = 0; w < rpc->n_workers; w++) {
        if (pthread_create(&rpc->workers[w].thread, NULL, worker_main, &rpc->workers[w]) != 0)
            return ke_error_set(err, KE_EIO, "cannot start server thread %d", w);
        rpc->workers[w].started = 1;
    }
    return KE_OK;
}

void ke_rpc_shutdown(ke_rpc *rpc, int grace_ms)
{
    grpc_completion_queue *done;
    grpc_event ev;
    int w, tag;

    if (rpc == NULL || rpc->shut_down || !rpc->started)
        return;
    rpc->shut_down = 1;
    atomic_store(&rpc->stopping, 1);
    done = grpc_completion_queue_create_for_pluck(NULL);
    grpc_server_shutdown_and_notify(rpc->server, done, &tag);
    rpc_streams_end_all(rpc);
    ev = grpc_completion_queue_pluck(
        done, &tag,
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(grace_ms, GPR_TIMESPAN)),
        NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        /* Calls still open after the grace period (streams, slow clients) end now. */
        grpc_server_cancel_all_calls(rpc->server);
        grpc_completion_queue_pluck(done, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    grpc_completion_queue_shutdown(done); /* its one event was plucked: nothing to drain */
    grpc_completion_queue_destroy(done);
    for (w = 0; w < rpc->n_workers; w++)
        grpc_completion_queue_shutdown(rpc->workers[w].cq);
    for (w = 0; w < rpc->n_workers; w++) {
        if (rpc->workers[w].started)
            pthread_join(rpc->workers[w].thread, NULL);
        rpc->workers[w].started = 0;
    }
}

void ke_rpc_free(ke_rpc *rpc)
{
    int w;

    if (rpc == NULL)
        return;
    if (rpc->server != NULL && !rpc->started) {
        /* Never started: shut down without serving anything. */
        grpc_completion_queue *done = grpc_completion_queue_create_for_pluck(NULL);
        int tag;

        grpc_server_shutdown_and_notify(rpc->server, done, &tag);
        grpc_completion_queue_pluck(done, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        grpc_completion_queue_shutdown(done);
        grpc_completion_queue_destroy(done);
        for (w = 0; rpc->workers != NULL && w < rpc->n_workers; w++) {
            if (rpc->workers[w].cq == NULL)
                continue;
            grpc_completion_queue_shutdown(rpc->workers[w].cq);
            while (grpc_completion_queue_next(rpc->workers[w].cq,
                                              gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
                       .type != GRPC_QUEUE_SHUTDOWN)
                ;
        }
    }
    if (rpc->server != NULL)
        grpc_server_destroy(rpc->server);
    for (w = 0; rpc->workers != NULL && w < rpc->n_workers; w++)
        if (rpc->workers[w].cq != NULL)
            grpc_completion_queue_destroy(rpc->workers[w].cq);
    free(rpc->workers);
    free(rpc->methods);
    if (rpc->quota != NULL)
        grpc_resource_quota_unref(rpc->quota);
    pthread_mutex_destroy(&rpc->streams_lock);
    free(rpc);
    grpc_shutdown();
}
