/* watch.h -- GET /pipelines/watch?name=&state=&parent=: every change of the pipelines matching
 * the filter, from kedro-eventd's WatchPipelines, as server-sent events (watch.c, on feed.c). */
#ifndef KES_WATCH_H
#define KES_WATCH_H

#include "feed.h"

#define KES_DEFAULT_MAX_WATCHES 64 /* --max-watches: watches open at once; more: 503 */

/* The registry of watches on client c (borrowed): at most max open, a keep-alive comment
 * after keepalive_ms without a record (0: never). NULL when out of memory. Shut it down and
 * free it with kes_feeds_shutdown, kes_feeds_free. */
kes_feeds *kes_watch_new(kec_client *c, unsigned max, unsigned keepalive_ms);

/* Starts the WatchPipelines call with the query of conn (name, state, parent; empty ones are
 * no filter) and suspends conn, which is resumed at once: the access handler must then call
 * kes_feed_respond, which answers 200 text/event-stream; each record is then
 * "event: pipeline\ndata: <the pipeline dict, one line>\n\n", and the end (kedro-eventd away,
 * the shim shutting down, a reader more than KES_FEED_BUFFER_MAX bytes behind)
 * "event: end\ndata: {\"detail\": \"...\"}\n\n". Returns 1 so, with *out the request's handle
 * (kes_feed_release); 0 with the refusal in a (400 for a bad state or a filter that is not
 * UTF-8, 503 with Retry-After past the limit). */
int kes_watch_begin(kes_feeds *w, struct MHD_Connection *conn, kes_answer *a, kes_feed **out);

/* GET /pipelines/{id}/watch: kedro-eventd's WatchPipeline of id, as kes_watch_begin but
 * answered only once the first record or the end came: the run's record now, then after each
 * state change, then "event: end" with "the run ended" once it has. An unknown id is a 404 (a
 * failure before the first record: the status of every call's error), counted against the
 * same limit. */
int kes_watch_one_begin(kes_feeds *w, struct MHD_Connection *conn, const char *id, kes_answer *a,
                        kes_feed **out);

#endif
