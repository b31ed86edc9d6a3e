/* service_watch.c -- WatchPipeline and WatchPipelines: check the request, then hand the stream
 * to the watch hub (watch.c), which sends the records. */
#include <stdio.h>
#include <string.h>

#include "kedro/events/v1/events.pb-c.h"
#include "text.h"
#include "watch.h"

/* Ends call INVALID_ARGUMENT (malformed request) and returns NULL, or returns the request. */
static ProtobufCMessage *unpack(ke_rpc_call *call, const ProtobufCMessageDescriptor *d,
                                const uint8_t *req, size_t len)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, req);
    char msg[200];

    if (m == NULL) {
        snprintf(msg, sizeof msg, "malformed %s: not a valid protobuf encoding of %s",
                 d->short_name, d->name);
        ke_rpc_reply(call, KE_GRPC_INVALID_ARGUMENT, msg, NULL, 0);
    }
    return m;
}

static void start(ke_watch *w, ke_rpc_call *call, const ke_watch_filter *f)
{
    ke_error err;

    ke_error_clear(&err);
    if (ke_watch_add(w, call, f, &err) != KE_OK)
        ke_rpc_reply(call, ke_err_grpc_status(err.code), err.msg, NULL, 0);
}

static void handle_watch_one(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    Kedro__Events__V1__WatchPipelineRequest *rq;
    ke_watch_filter f = {0};
    char q[KE_QUOTE_CAP], msg[KE_QUOTE_CAP + 64];

    rq = (Kedro__Events__V1__WatchPipelineRequest *)unpack(
        call, &kedro__events__v1__watch_pipeline_request__descriptor, req, len);
    if (rq == NULL)
        return;
    if (rq->id[0] == '\0') {
        ke_rpc_reply(call, KE_GRPC_INVALID_ARGUMENT, "id is required", NULL, 0);
    } else if (strlen(rq->id) != KE_ID_LEN) { /* no stored id has another length */
        snprintf(msg, sizeof msg, "pipeline %s not found", ke_quote(q, rq->id));
        ke_rpc_reply(call, KE_GRPC_NOT_FOUND, msg, NULL, 0);
    } else {
        f.id = rq->id;
        start(ctx, call, &f);
    }
    protobuf_c_message_free_unpacked(&rq->base, NULL);
}

static void handle_watch_all(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    Kedro__Events__V1__WatchPipelinesRequest *rq;
    ke_watch_filter f = {0};
    char msg[100];

    rq = (Kedro__Events__V1__WatchPipelinesRequest *)unpack(
        call, &kedro__events__v1__watch_pipelines_request__descriptor, req, len);
    if (rq == NULL)
        return;
    if ((int)rq->state < KE_STATE_UNSPECIFIED || (int)rq->state > KE_STATE_ABORTED) {
        snprintf(msg, sizeof msg, "state %d: not a PipelineStatus.State", (int)rq->state);
        ke_rpc_reply(call, KE_GRPC_INVALID_ARGUMENT, msg, NULL, 0);
    } else {
        f.name = rq->name;
        f.parent = rq->parent;
        f.state = (ke_state)rq->state;
        start(ctx, call, &f);
    }
    protobuf_c_message_free_unpacked(&rq->base, NULL);
}

size_t ke_watch_methods(ke_watch *w, ke_rpc_method *out, size_t cap)
{
    const ke_rpc_method methods[] = {
        {"/kedro.events.v1.EventService/WatchPipeline", KE_RPC_SERVER_STREAM, handle_watch_one, w},
        {"/kedro.events.v1.EventService/WatchPipelines", KE_RPC_SERVER_STREAM, handle_watch_all, w},
    };
    size_t n = sizeof methods / sizeof methods[0], i;

    for (i = 0; i < n && i < cap; i++)
        out[i] = methods[i];
    return n;
}
