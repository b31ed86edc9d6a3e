/* logs.h -- GET /pipelines/{id}/logs: a run's output from kedro-eventd's StreamLogs, as plain
 * text or server-sent events, streamed with chunked transfer encoding (logs.c, on feed.c). */
#ifndef KES_LOGS_H
#define KES_LOGS_H

#include "feed.h"

#define KES_MAX_LOG_STREAMS 64             /* log requests open at once; more: 503 */
#define KES_LOG_SSE_LINE_MAX (64u * 1024u) /* an SSE data line is cut at this many bytes */

/* The registry of log requests on client c (borrowed); server-sent events get a keep-alive
 * comment after keepalive_ms without a line (0: never). NULL when out of memory. Shut it down
 * and free it with kes_feeds_shutdown, kes_feeds_free. */
kes_feeds *kes_logs_new(kec_client *c, unsigned keepalive_ms);

/* Starts the StreamLogs call of id with the query of conn (follow=1, tail=N) and the Accept
 * header (text/event-stream: server-sent events) and suspends conn until its first chunk or
 * end; then the access handler is called again and must call kes_feed_respond (which answers
 * 404 unknown id, 409 forwarded to kedro-graphql, 400, 502/503 kedro-eventd away or busy).
 * Returns 1 so, with *out the request's handle (kes_feed_release); 0 with the refusal in a
 * (400 bad query, 503 with Retry-After past KES_MAX_LOG_STREAMS). A reader more than
 * KES_FEED_BUFFER_MAX bytes behind has its response cut. */
int kes_logs_begin(kes_feeds *l, struct MHD_Connection *conn, const char *id, kes_answer *a,
                   kes_feed **out);

#endif
