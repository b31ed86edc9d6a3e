/* watch.c -- GET /pipelines/watch: kedro-eventd's WatchPipelines fed into a server-sent events
 * response (feed.c), one "event: pipeline" record per pipeline change, written by the same JSON
 * writer as GET /pipelines/{id}, and one "event: end" record with the reason when it ends. */
#include "watch.h"

#include <stdlib.h>
#include <string.h>

#include "kec_json_out.h"

#define RECORD "event: pipeline\ndata: "

/* What a watch keeps beside its feed (touched on the library's thread only). */
typedef struct watch_state {
    int one;        /* one run's watch (WatchPipeline), not a filter's */
    size_t records; /* records put */
} watch_state;

static int on_pipeline(void *ctx, const kec_pipeline *p)
{
    kes_feed *f = ctx;
    watch_state *s = kes_feed_user(f);
    char *json = kec_pipeline_to_json(p);
    int ok;

    s->records++;
    ok = json != NULL && kes_feed_put(f, RECORD, json, strlen(json), "\n\n");
    free(json);
    return !ok; /* too slow (or out of memory): the watch stops and says so */
}

/* The end record: why the watch ended, as {"detail": "..."}. */
static void on_done(void *ctx, int rc, const kec_error *err)
{
    kes_feed *f = ctx;
    watch_state *s = kes_feed_user(f);
    kec_json_out o = {0};
    const char *why = s->one ? "the run ended" : "the watch ended";
    char *text;
    size_t len;

    if (s->one && rc != KEC_OK && s->records == 0 && !kes_feed_closing(f)) {
        kes_feed_end(f, rc, err, NULL, 0, 0); /* no answer yet: 404, 502, ... */
        return;
    }
    if (kes_feed_too_slow(f))
        why = "reader too slow: more than 1 MiB (plus three times its largest record) was waiting";
    else if (kes_feed_closing(f))
        why = "shutting down";
    else if (rc != KEC_OK)
        why = err->msg;
    KEC_JSON_OUT_LIT(&o, "event: end\ndata: {\"detail\": ");
    kec_json_out_string(&o, why);
    KEC_JSON_OUT_LIT(&o, "}\n\n");
    text = kec_json_out_take(&o, &len);
    if (text == NULL) {
        text = strdup("event: end\ndata: {\"detail\": \"out of memory\"}\n\n");
        len = text != NULL ? strlen(text) : 0;
    }
    kes_feed_end(f, KEC_OK, err, text, len, 1);
    free(text);
}

static int start(kec_client *c, const void *arg, kes_feed *f, kec_stream **out, kec_error *err)
{
    return kec_watch_pipelines_start(c, arg, on_pipeline, on_done, f, out, err);
}

static int start_one(kec_client *c, const void *arg, kes_feed *f, kec_stream **out, kec_error *err)
{
    return kec_watch_pipeline_start(c, arg, on_pipeline, on_done, f, out, err);
}

/* A watch that could not start: as every call's error. */
static void fail(kec_client *c, int rc, const kec_error *err, kes_answer *a)
{
    kes_answer_call_error(a, rc, err, kec_client_connected(c, 1), kec_client_target(c));
}

kes_feeds *kes_watch_new(kec_client *c, unsigned max, unsigned keepalive_ms)
{
    kes_feeds_kind kind = {"watches", "--max-watches", max, keepalive_ms, fail};

    return kes_feeds_new(c, &kind);
}

/* Begins a watch with fa's start and argument filled in; 0 with a 503 in a when out of memory. */
static int begin(kes_feeds *w, struct MHD_Connection *conn, kes_feed_args *fa, int one,
                 kes_answer *a, kes_feed **out)
{
    watch_state *s = calloc(1, sizeof *s);

    if (s == NULL) {
        kes_answer_detail(a, 503, "out of memory starting a watch");
        kes_answer_header(a, "Retry-After", KES_RETRY_AFTER_S);
        return 0;
    }
    s->one = one;
    fa->content_type = "text/event-stream; charset=utf-8";
    fa->cache_control = "no-store";
    fa->keepalive = 1;
    fa->wait_first = one; /* an unknown id is a 404, not a stream */
    fa->user = s;
    return kes_feed_begin(w, conn, fa, a, out);
}

int kes_watch_one_begin(kes_feeds *w, struct MHD_Connection *conn, const char *id, kes_answer *a,
                        kes_feed **out)
{
    kes_feed_args fa;

    *out = NULL;
    memset(&fa, 0, sizeof fa);
    fa.start = start_one;
    fa.arg = id;
    return begin(w, conn, &fa, 1, a, out);
}

int kes_watch_begin(kes_feeds *w, struct MHD_Connection *conn, kes_answer *a, kes_feed **out)
{
    kes_list_args q;
    kec_watch_filter filter;
    kes_feed_args fa;

    *out = NULL;
    memset(&q, 0, sizeof q);
    q.name = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "name");
    q.parent = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "parent");
    q.state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
    if (!kes_filter_read(&q, &filter.name, &filter.state, &filter.parent, a))
        return 0;
    memset(&fa, 0, sizeof fa);
    fa.start = start;
    fa.arg = &filter;
    return begin(w, conn, &fa, 0, a, out);
}
