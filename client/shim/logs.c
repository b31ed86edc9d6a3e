/* logs.c -- GET /pipelines/{id}/logs: kedro-eventd's StreamLogs fed into a streamed response
 * (feed.c), plain text as it comes or server-sent events, one "data:" per line. */
#include "logs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What one log request keeps beside its feed (touched on the library's thread only). */
typedef struct log_state {
    int sse;         /* server-sent events, not plain text */
    char *line;      /* SSE: the unfinished line */
    size_t line_len; /* its bytes */
} log_state;

/* The StreamLogs arguments. */
typedef struct log_args {
    const char *id; /* the pipeline */
    int follow;     /* ?follow=1 */
    long tail;      /* ?tail=N */
} log_args;

static void state_free(void *p)
{
    log_state *s = p;

    if (s != NULL)
        free(s->line);
    free(s);
}

/* SSE: one event "data: <line>". */
static int put_event(kes_feed *f, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    return kes_feed_put(f, "data: ", line, len, "\n\n");
}

/* SSE: splits data into lines, keeping an unfinished one for later. */
static int put_lines(kes_feed *f, log_state *s, const char *data, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - data) : len;
        char *grown;

        if (s->line_len + n > KES_LOG_SSE_LINE_MAX)
            n = KES_LOG_SSE_LINE_MAX - s->line_len; /* a line that long: cut into events */
        if ((grown = realloc(s->line, s->line_len + n + 1)) == NULL)
            return 0;
        s->line = grown;
        memcpy(s->line + s->line_len, data, n);
        s->line_len += n;
        data += n;
        len -= n;
        if (len > 0 && *data == '\n') {
            data++;
            len--;
        } else if (s->line_len < KES_LOG_SSE_LINE_MAX) {
            break; /* unfinished */
        }
        if (!put_event(f, s->line, s->line_len))
            return 0;
        s->line_len = 0;
    }
    return 1;
}

static int on_data(void *ctx, const char *data, size_t len)
{
    kes_feed *f = ctx;
    log_state *s = kes_feed_user(f);

    return !(s->sse ? put_lines(f, s, data, len) : kes_feed_put(f, NULL, data, len, NULL));
}

static void on_done(void *ctx, int rc, const kec_error *err)
{
    static const char end[] = "event: end\ndata: OK\n\n";
    kes_feed *f = ctx;
    log_state *s = kes_feed_user(f);
    int ok;

    if (s->sse && s->line_len > 0)
        put_event(f, s->line, s->line_len);
    ok = rc == KEC_OK && !kes_feed_too_slow(f); /* else the response is cut */
    kes_feed_end(f, rc, err, ok && s->sse ? end : NULL, sizeof end - 1, ok);
}

static int start(kec_client *c, const void *arg, kes_feed *f, kec_stream **out, kec_error *err)
{
    const log_args *q = arg;

    return kec_stream_logs_start(c, q->id, q->follow, (int)q->tail, on_data, on_done, f, out, err);
}

/* A stream that failed before its first byte: 409 for a run kedro-graphql has. */
static void fail(kec_client *c, int rc, const kec_error *err, kes_answer *a)
{
    if (rc == KEC_ESTATUS && err->status == KEC_STATUS_FAILED_PRECONDITION)
        kes_answer_detail(a, 409, "%s", err->msg);
    else
        kes_answer_call_error(a, rc, err, kec_client_connected(c, 1), kec_client_target(c));
}

kes_feeds *kes_logs_new(kec_client *c, unsigned keepalive_ms)
{
    kes_feeds_kind kind = {"log streams", NULL, KES_MAX_LOG_STREAMS, keepalive_ms, fail};

    return kes_feeds_new(c, &kind);
}

/* Reads ?follow= and ?tail=; 0 with 400 in a when either is not valid. */
static int read_query(struct MHD_Connection *conn, int *follow, long *tail, kes_answer *a)
{
    const char *f = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "follow");
    const char *t = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "tail");
    char *end;

    *follow = 0;
    *tail = 0;
    if (f != NULL && strcmp(f, "1") != 0 && strcmp(f, "true") != 0 && strcmp(f, "0") != 0 &&
        strcmp(f, "false") != 0) {
        kes_answer_detail(a, 400, "follow must be 1, true, 0 or false, not \"%.64s\"", f);
        return 0;
    }
    *follow = f != NULL && (f[0] == '1' || f[0] == 't');
    if (t != NULL) {
        errno = 0;
        *tail = strtol(t, &end, 10);
        if (errno != 0 || end == t || *end != '\0' || *tail < 0 ||
            *tail > KEC_LOGS_MAX_TAIL_LINES) {
            kes_answer_detail(a, 400, "tail must be a number of lines from 0 to %d, not \"%.64s\"",
                              KEC_LOGS_MAX_TAIL_LINES, t);
            return 0;
        }
    }
    return 1;
}

/* Whether the client asked for server-sent events. */
static int wants_sse(struct MHD_Connection *conn)
{
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");

    return accept != NULL && strcasestr(accept, "text/event-stream") != NULL;
}

int kes_logs_begin(kes_feeds *l, struct MHD_Connection *conn, const char *id, kes_answer *a,
                   kes_feed **out)
{
    kes_feed_args fa;
    log_args q;
    log_state *s;

    *out = NULL;
    q.id = id;
    if (!read_query(conn, &q.follow, &q.tail, a))
        return 0;
    if ((s = calloc(1, sizeof *s)) == NULL) {
        kes_answer_detail(a, 503, "out of memory starting a log stream");
        kes_answer_header(a, "Retry-After", KES_RETRY_AFTER_S);
        return 0;
    }
    s->sse = wants_sse(conn);
    memset(&fa, 0, sizeof fa);
    fa.start = start;
    fa.arg = &q;
    fa.content_type = s->sse ? "text/event-stream; charset=utf-8" : "text/plain; charset=utf-8";
    fa.cache_control = "no-cache";
    fa.wait_first = 1;
    fa.keepalive = s->sse;
    fa.user = s;
    fa.user_free = state_free;
    return kes_feed_begin(l, conn, &fa, a, out);
}
