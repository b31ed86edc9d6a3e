/* service_logs.h -- StreamLogs, the EventService method that streams a run's log (its handler
 * lives in service_logs.c, beside the log hub it feeds from). */
#ifndef KE_SERVICE_LOGS_H
#define KE_SERVICE_LOGS_H

#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

/* Bytes a StreamLogs stream may have queued (sent to grpc, not yet on the wire) before its
 * reader waits: with 64 KiB chunks, at most this plus one chunk per stream. */
#define KE_SERVICE_LOG_QUEUE_BYTES (256 * 1024)

/* The StreamLogs handler (KE_RPC_SERVER_STREAM; ctx is the ke_service, whose logs hub must be
 * set or the call ends UNAVAILABLE): INVALID_ARGUMENT for a missing id or tail_lines outside
 * 0..KE_LOGS_MAX_TAIL_LINES, NOT_FOUND for an unknown id, FAILED_PRECONDITION for a pipeline
 * forwarded to kedro-graphql, UNAVAILABLE "overloaded: ..." past the hub's readers; else
 * LogChunk messages in order and OK at the end (logs.h says when that is). */
void ke_service_stream_logs(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len);

#endif
