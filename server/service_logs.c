/* service_logs.c -- StreamLogs: a run's log as a server stream of LogChunk messages, read by
 * the log hub (logs.c) and sent only while the stream's queue is under a bound. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kedro/events/v1/events.pb-c.h"
#include "logs.h"
#include "service.h"
#include "service_internal.h"
#include "service_logs.h"

/* One StreamLogs call. Freed when the handler, the hub's done and the stream's on_gone have
 * each let go of it. */
typedef struct log_stream {
    pthread_mutex_t lock;  /* guards reader, gone, refs */
    ke_rpc_call *call;     /* the held stream */
    ke_log_reader *reader; /* the hub's reader, once ke_logs_open returned */
    int gone;              /* on_gone ran: the call is over */
    int refs;              /* the handler's, done's (while a reader runs), on_gone's */
    uint8_t *buf;          /* a packed LogChunk (the hub's thread only) */
} log_stream;

static void drop(log_stream *ls)
{
    int last;

    pthread_mutex_lock(&ls->lock);
    last = --ls->refs == 0;
    pthread_mutex_unlock(&ls->lock);
    if (!last)
        return;
    ke_logs_unref(ls->reader);
    ke_rpc_stream_release(ls->call);
    pthread_mutex_destroy(&ls->lock);
    free(ls->buf);
    free(ls);
}

/* The sink (the hub's thread). */
static int ls_ready(void *ctx)
{
    log_stream *ls = ctx;

    return ke_rpc_stream_queued_bytes(ls->call) < KE_SERVICE_LOG_QUEUE_BYTES;
}

static int ls_chunk(void *ctx, const char *data, size_t len)
{
    log_stream *ls = ctx;
    Kedro__Events__V1__LogChunk m = KEDRO__EVENTS__V1__LOG_CHUNK__INIT;
    size_t n;

    m.data.data = (uint8_t *)data;
    m.data.len = len;
    n = protobuf_c_message_pack(&m.base, ls->buf);
    return ke_rpc_stream_send(ls->call, ls->buf, n) != KE_OK;
}

static void ls_done(void *ctx, int rc, const ke_error *err)
{
    log_stream *ls = ctx;

    if (rc == KE_OK)
        ke_rpc_stream_end(ls->call, KE_GRPC_OK, NULL);
    else
        ke_rpc_stream_end(ls->call, ke_err_grpc_status(rc), err != NULL ? err->msg : "");
    drop(ls);
}

/* The stream (a server thread). */
static void ls_gone(void *ctx)
{
    log_stream *ls = ctx;
    ke_log_reader *r;

    pthread_mutex_lock(&ls->lock);
    ls->gone = 1;
    r = ls->reader;
    pthread_mutex_unlock(&ls->lock);
    if (r != NULL)
        ke_logs_cancel(r); /* a client that left stops its reader */
    drop(ls);
}

static void ls_sent(void *ctx, size_t queued)
{
    log_stream *ls = ctx;
    ke_log_reader *r;

    if (queued >= KE_SERVICE_LOG_QUEUE_BYTES)
        return;
    pthread_mutex_lock(&ls->lock);
    r = ls->reader;
    pthread_mutex_unlock(&ls->lock);
    if (r != NULL)
        ke_logs_wake(r);
}

/* Checks the request and the pipeline: whether its log is ours to stream. */
static int check(ke_service *svc, const Kedro__Events__V1__StreamLogsRequest *rq, ke_error *err)
{
    ke_pipeline p = {0};
    int rc;

    if (rq->id[0] == '\0')
        return ke_error_set(err, KE_EINVAL, "id is required");
    if (rq->tail_lines < 0 || rq->tail_lines > KE_LOGS_MAX_TAIL_LINES)
        return ke_error_set(err, KE_EINVAL, "tail_lines %d is out of range 0..%d",
                            (int)rq->tail_lines, KE_LOGS_MAX_TAIL_LINES);
    if (svc->logs == NULL)
        return ke_error_set(err, KE_EUNAVAIL, "logs are not served by this server");
    rc = ke_store_get(svc->store, rq->id, &p, err);
    if (rc == KE_OK && p.remote_id != NULL)
        rc = ke_error_set(err, KE_EDISABLED,
                          "pipeline %s was forwarded to kedro-graphql (kedro_graphql_id %s): "
                          "its logs are kedro-graphql's",
                          p.id, p.remote_id);
    ke_pipeline_release(&p);
    return rc;
}

/* Starts the reader of a held stream; on failure ends the stream with the error. */
static void start(ke_service *svc, log_stream *ls, const Kedro__Events__V1__StreamLogsRequest *rq)
{
    ke_log_sink sink = {ls_ready, ls_chunk, ls_done, ls};
    ke_log_reader *r = NULL;
    ke_error err;
    int gone;

    ke_error_clear(&err);
    ls->refs = 3;
    ke_rpc_stream_hold(ls->call, ls_gone, ls);
    ke_rpc_stream_on_sent(ls->call, ls_sent, ls);
    if (ke_logs_open(svc->logs, rq->id, rq->follow, rq->tail_lines, &sink, &r, &err) != KE_OK) {
        char msg[sizeof err.msg + 16];

        /* Past the hub's bound: retryable, marked as load like the server's other refusals. */
        snprintf(msg, sizeof msg, "%s%s", err.code == KE_EUNAVAIL ? KE_RPC_OVERLOADED : "",
                 err.msg);
        ke_rpc_stream_end(ls->call, ke_err_grpc_status(err.code), msg);
        drop(ls); /* done's: it never comes */
    } else {
        pthread_mutex_lock(&ls->lock);
        ls->reader = r;
        gone = ls->gone;
        pthread_mutex_unlock(&ls->lock);
        if (gone)
            ke_logs_cancel(r);
    }
    drop(ls); /* the handler's */
}

void ke_service_stream_logs(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    ke_service *svc = ctx;
    Kedro__Events__V1__StreamLogsRequest *rq;
    log_stream *ls = NULL;
    ke_error err;

    ke_error_clear(&err);
    rq = (Kedro__Events__V1__StreamLogsRequest *)ke_service_unpack(
        &kedro__events__v1__stream_logs_request__descriptor, req, len, &err);
    if (rq != NULL && check(svc, rq, &err) == KE_OK) {
        ls = calloc(1, sizeof *ls);
        if (ls != NULL && (ls->buf = malloc(KE_LOGS_CHUNK + 16)) == NULL) {
            free(ls);
            ls = NULL;
        }
        if (ls == NULL)
            ke_error_set(&err, KE_ENOMEM, "no memory for a log stream");
    }
    if (ls != NULL) {
        pthread_mutex_init(&ls->lock, NULL);
        ls->call = call;
        start(svc, ls, rq);
    } else {
        ke_rpc_reply(call, ke_err_grpc_status(err.code), err.msg, NULL, 0);
    }
    if (rq != NULL)
        protobuf_c_message_free_unpacked(&rq->base, NULL);
}
