/* feed.h -- a streamed HTTP response fed by a server stream of libkedroevents (feed.c): the
 * stream's callbacks append bytes on the library's thread, libmicrohttpd pulls them through a
 * callback response on its own, and the connection stays suspended while there is nothing to
 * send. Shared by GET /pipelines/{id}/logs (logs.c) and GET /pipelines/watch (watch.c). */
#ifndef KES_FEED_H
#define KES_FEED_H

#include <microhttpd.h>

#include "shim.h"

#define KES_FEED_BUFFER_MAX (1u << 20)        /* bytes held for one slow HTTP reader, */
#define KES_FEED_RECORDS_MAX 3                /* plus this many times its largest record */
#define KES_FEED_KEEPALIVE_MS 15000           /* an SSE response idle this long gets a comment */
#define KES_FEED_KEEPALIVE ": keep-alive\n\n" /* that comment */

typedef struct kes_feeds kes_feeds; /* the open feeds of one kind (logs, watches) */
typedef struct kes_feed kes_feed;   /* one streamed response */

/* Starts the library stream of f with arg: one of the kec_*_start functions with f as the
 * callbacks' context (the callbacks then call kes_feed_put and, once, kes_feed_end). */
typedef int (*kes_feed_start_fn)(kec_client *c, const void *arg, kes_feed *f, kec_stream **out,
                                 kec_error *err);

/* The answer to a stream that failed before a byte was sent (rc, err from its end). */
typedef void (*kes_feed_fail_fn)(kec_client *c, int rc, const kec_error *err, kes_answer *a);

/* What one kind of feed is. */
typedef struct kes_feeds_kind {
    const char *what;      /* plural, for the 503 past max: "log streams" */
    const char *max_flag;  /* the flag that sets max, named in the 503; NULL: none */
    unsigned max;          /* open at once; more: 503 with Retry-After */
    unsigned keepalive_ms; /* see KES_FEED_KEEPALIVE_MS; 0: none */
    kes_feed_fail_fn fail; /* the early failure's answer */
} kes_feeds_kind;

/* How one feed begins. */
typedef struct kes_feed_args {
    kes_feed_start_fn start;   /* starts the library stream */
    const void *arg;           /* its argument (used during kes_feed_begin only) */
    const char *content_type;  /* of the 200 (static) */
    const char *cache_control; /* of the 200 (static) */
    int wait_first;            /* answer only once the first bytes or the end came, so an
                                  early error gets its own status; else answer 200 at once */
    int keepalive;             /* send KES_FEED_KEEPALIVE after kind->keepalive_ms idle */
    void *user;                /* the kind's state (kes_feed_user), taken */
    void (*user_free)(void *); /* frees user with the feed; NULL: free() */
} kes_feed_args;

/* The registry of one kind (*kind copied) on client c (borrowed); NULL when out of memory or
 * when its keep-alive thread cannot start. */
kes_feeds *kes_feeds_new(kec_client *c, const kes_feeds_kind *kind);

/* Ends every stream (their connections are resumed and finish) and refuses new ones; for
 * shutdown. Streams ended so see kes_feed_closing. */
void kes_feeds_shutdown(kes_feeds *fs);

/* Ends every stream and frees fs once every request and stream let go (after the HTTP daemon
 * stopped); NULL is fine. */
void kes_feeds_free(kes_feeds *fs);

/* Registers a feed for conn, suspends conn and starts its stream; the access handler is
 * called again after the resume (at once unless a->wait_first) and must then call
 * kes_feed_respond. Returns 1 so, with *out the request's handle (kes_feed_release it in the
 * request-completed callback); 0 with a 503 in ans (past kind->max, shutting down, out of
 * memory) and fa->user freed. */
int kes_feed_begin(kes_feeds *fs, struct MHD_Connection *conn, const kes_feed_args *fa,
                   kes_answer *ans, kes_feed **out);

/* After the resume: queues the 200 streaming response and returns 1 (*ret MHD's answer), or
 * returns 0 with the kind's answer in a when the stream ended in error before any byte. */
int kes_feed_respond(kes_feed *f, struct MHD_Connection *conn, kes_answer *a, enum MHD_Result *ret);

/* The request is over (request-completed callback): cancels the stream if it is still open
 * and lets go of f. NULL is fine. */
void kes_feed_release(kes_feed *f);

/* ---- for the stream's callbacks (the library's thread) ---- */

/* The kind's state given to kes_feed_begin. */
void *kes_feed_user(kes_feed *f);

/* Appends one record, head (NUL-terminated; NULL: none), len bytes of data and tail (likewise),
 * to what is to be sent, whole or not at all, and wakes the response. 0 when more than
 * KES_FEED_BUFFER_MAX bytes plus KES_FEED_RECORDS_MAX times the largest record put on f so far
 * would then wait for the reader (so the records of a large event's run, READY, STARTED and
 * its end, and the small ones between them reach a reader that keeps up), or when out of
 * memory: the feed is then marked too slow and nothing more is taken; the callback should
 * stop the stream. */
int kes_feed_put(kes_feed *f, const char *head, const char *data, size_t len, const char *tail);

/* Whether a kes_feed_put failed: the reader is too slow. */
int kes_feed_too_slow(kes_feed *f);

/* Whether the feeds are shutting down (kes_feeds_shutdown ran). */
int kes_feed_closing(kes_feed *f);

/* The stream's done callback: appends tail (len bytes, past the limit if need be; NULL: none),
 * keeps rc and err (a reader too slow counts as KEC_ENOMEM), wakes the response, which ends
 * once what is held is sent: cleanly when clean, else cut (an incomplete chunked body). The
 * stream lets go of f: it must not be used after this. */
void kes_feed_end(kes_feed *f, int rc, const kec_error *err, const char *tail, size_t len,
                  int clean);

#endif
