/* logs.h -- GET /pipelines/{id}/logs: a run's output from kedro-eventd's StreamLogs, as plain
 * text or server-sent events, streamed with chunked transfer encoding (logs.c). */
#ifndef KES_LOGS_H
#define KES_LOGS_H

#include <microhttpd.h>

#include "shim.h"

#define KES_MAX_LOG_STREAMS 64             /* log requests open at once; more: 503 */
#define KES_LOG_BUFFER_MAX (1u << 20)      /* bytes held for one slow HTTP reader; more: cut */
#define KES_LOG_SSE_LINE_MAX (64u * 1024u) /* an SSE data line is cut at this many bytes */

typedef struct kes_logs kes_logs;       /* every log request of the shim */
typedef struct kes_log_req kes_log_req; /* one GET /pipelines/{id}/logs */

/* The registry of log requests on client c (borrowed); NULL when out of memory. */
kes_logs *kes_logs_new(kec_client *c);

/* Ends every log stream (their connections are resumed and finish); for shutdown. */
void kes_logs_shutdown(kes_logs *l);

/* Ends every stream and frees l once every request and stream let go (after the HTTP daemon
 * stopped); NULL is fine. */
void kes_logs_free(kes_logs *l);

/* Starts the StreamLogs call of id with the query of conn (follow=1, tail=N) and the Accept
 * header (text/event-stream: server-sent events) and suspends conn until its first chunk or
 * end; then the access handler is called again and must call kes_logs_respond. Returns 1 so;
 * 0 with the refusal in a (400 bad query, 503 with Retry-After past KES_MAX_LOG_STREAMS or
 * when the call cannot start). *out is the request's handle either way when not NULL
 * (release it in the request-completed callback). */
int kes_logs_begin(kes_logs *l, struct MHD_Connection *conn, const char *id, kes_answer *a,
                   kes_log_req **out);

/* After the resume: queues the 200 streaming response on conn and returns 1 (*ret MHD's
 * answer), or returns 0 with the error in a (404 unknown id, 409 forwarded to kedro-graphql,
 * 400, 502/503 kedro-eventd away or busy). */
int kes_logs_respond(kes_log_req *q, struct MHD_Connection *conn, kes_answer *a,
                     enum MHD_Result *ret);

/* The request is over (MHD's request-completed callback): cancels its stream if still open
 * and lets go of q. NULL is fine. */
void kes_logs_release(kes_log_req *q);

#endif
