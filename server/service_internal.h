/* service_internal.h -- what the EventService's files share: service.c's answers and request
 * decoding, used by the operator handlers (service_ops.c), GetStats (service_stats.c) and
 * StreamLogs (service_logs.c). */
#ifndef KE_SERVICE_INTERNAL_H
#define KE_SERVICE_INTERNAL_H

#include <protobuf-c/protobuf-c.h>

#include "service.h"

/* Answers one pipeline as a kedro.events.v1.Pipeline (RESOURCE_EXHAUSTED out of memory). */
void ke_service_reply_pipeline(ke_rpc_call *call, const ke_pipeline *p);

/* Answers err with the gRPC status its code maps to. */
void ke_service_reply_error(ke_rpc_call *call, const ke_error *err);

/* Unpacks a request of type d, refusing malformed bytes and strings holding NUL (err names the
 * field). Free with protobuf_c_message_free_unpacked; NULL on error. */
ProtobufCMessage *ke_service_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *req,
                                    size_t len, ke_error *err);

/* CancelPipeline and RetryPipeline (service_ops.c); ctx is the ke_service. */
void ke_service_cancel(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len);
void ke_service_retry(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len);

/* GetStats (service_stats.c); ctx is the ke_service. */
void ke_service_get_stats(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len);

#endif
