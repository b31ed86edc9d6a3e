/* logs.c -- GET /pipelines/{id}/logs: kedro-eventd's StreamLogs fed into a libmicrohttpd
 * callback response, plain text or server-sent events, never blocking an HTTP thread: the
 * connection is suspended while nothing is there to send and resumed by the stream.
 *
 * A request lives until the last of three lets go of it: the HTTP request (released when
 * MHD completes it), the gRPC stream (its done callback) and the registry's list. */
#include "logs.h"

#include "kec_text.h" /* kec_error_set */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct kes_logs {
    kec_client *client;   /* borrowed */
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t empty; /* signalled when n drops to 0 */
    kes_log_req *all;     /* open requests */
    unsigned n;           /* how many */
    int closing;          /* kes_logs_shutdown ran: no new stream */
};

struct kes_log_req {
    kes_logs *l;                 /* the registry */
    struct MHD_Connection *conn; /* its connection */
    kec_stream *stream;          /* the StreamLogs call */
    int sse;                     /* server-sent events, not plain text */
    pthread_mutex_t lock;        /* guards what follows */
    int refs;                    /* the request's, the stream's */
    int suspended;               /* conn is suspended waiting for us */
    int started;                 /* the first chunk or the end came */
    int responding;              /* the streaming response is queued */
    int released;                /* the request is over: conn must not be touched */
    int ended;                   /* the stream's done came */
    int rc;                      /* its code */
    kec_error err;               /* its error */
    char *buf;                   /* bytes to send: [off, len) */
    size_t off, len, cap;        /* read position, end, allocated */
    char *line;                  /* SSE: the unfinished line */
    size_t line_len;             /* its bytes */
    kes_log_req *next, *prev;    /* in l->all */
};

kes_logs *kes_logs_new(kec_client *c)
{
    kes_logs *l = calloc(1, sizeof *l);

    if (l == NULL)
        return NULL;
    l->client = c;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->empty, NULL);
    return l;
}

void kes_logs_shutdown(kes_logs *l)
{
    kes_log_req *q;

    if (l == NULL)
        return;
    pthread_mutex_lock(&l->lock);
    l->closing = 1;
    for (q = l->all; q != NULL; q = q->next)
        kec_stream_cancel(q->stream);
    pthread_mutex_unlock(&l->lock);
}

void kes_logs_free(kes_logs *l)
{
    if (l == NULL)
        return;
    kes_logs_shutdown(l);
    pthread_mutex_lock(&l->lock);
    while (l->n > 0) /* their streams' ends are on their way: they were cancelled */
        pthread_cond_wait(&l->empty, &l->lock);
    pthread_mutex_unlock(&l->lock);
    pthread_cond_destroy(&l->empty);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* Drops a reference (q->lock not held); the last frees q. */
static void drop(kes_log_req *q)
{
    kes_logs *l = q->l;
    int last;

    pthread_mutex_lock(&q->lock);
    last = --q->refs == 0;
    pthread_mutex_unlock(&q->lock);
    if (!last)
        return;
    pthread_mutex_lock(&l->lock);
    if (q->prev != NULL)
        q->prev->next = q->next;
    else
        l->all = q->next;
    if (q->next != NULL)
        q->next->prev = q->prev;
    if (--l->n == 0)
        pthread_cond_broadcast(&l->empty);
    pthread_mutex_unlock(&l->lock);
    kec_stream_free(q->stream);
    pthread_mutex_destroy(&q->lock);
    free(q->buf);
    free(q->line);
    free(q);
}

/* Appends len bytes to what is to be sent (q->lock held); 0 past KES_LOG_BUFFER_MAX. */
static int put(kes_log_req *q, const char *data, size_t len)
{
    if (q->off > 0 && q->off == q->len)
        q->off = q->len = 0;
    if (q->len - q->off + len > KES_LOG_BUFFER_MAX)
        return 0;
    if (q->len + len > q->cap) {
        size_t cap = q->cap ? q->cap : 16384;
        char *b;

        if (q->off > 0) { /* move what is left to the front first */
            memmove(q->buf, q->buf + q->off, q->len - q->off);
            q->len -= q->off;
            q->off = 0;
        }
        while (cap < q->len + len)
            cap *= 2;
        if (cap != q->cap) {
            if ((b = realloc(q->buf, cap)) == NULL)
                return 0;
            q->buf = b;
            q->cap = cap;
        }
    }
    memcpy(q->buf + q->len, data, len);
    q->len += len;
    return 1;
}

/* SSE: one event "data: <line>" (q->lock held). */
static int put_event(kes_log_req *q, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    return put(q, "data: ", 6) && put(q, line, len) && put(q, "\n\n", 2);
}

/* SSE: splits data into lines, keeping an unfinished one for later (q->lock held). */
static int put_lines(kes_log_req *q, const char *data, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - data) : len;
        char *grown;

        if (q->line_len + n > KES_LOG_SSE_LINE_MAX)
            n = KES_LOG_SSE_LINE_MAX - q->line_len; /* a line that long: cut into events */
        if ((grown = realloc(q->line, q->line_len + n + 1)) == NULL)
            return 0;
        q->line = grown;
        memcpy(q->line + q->line_len, data, n);
        q->line_len += n;
        data += n;
        len -= n;
        if (len > 0 && *data == '\n') {
            data++;
            len--;
        } else if (q->line_len < KES_LOG_SSE_LINE_MAX) {
            break; /* unfinished */
        }
        if (!put_event(q, q->line, q->line_len))
            return 0;
        q->line_len = 0;
    }
    return 1;
}

/* Resumes conn when it waits for us (called with q->lock held; returns whether to resume, done
 * by the caller after unlocking). */
static int take_suspended(kes_log_req *q)
{
    int was = q->suspended && !q->released;

    q->suspended = 0;
    return was;
}

static int on_data(void *ctx, const char *data, size_t len)
{
    kes_log_req *q = ctx;
    int ok, resume;

    pthread_mutex_lock(&q->lock);
    ok = q->sse ? put_lines(q, data, len) : put(q, data, len);
    if (!ok && q->err.code == KEC_OK)
        kec_error_set(&q->err, KEC_ENOMEM,
                      "the HTTP client reads too slowly: more than %u bytes of log were waiting",
                      KES_LOG_BUFFER_MAX);
    q->started = 1;
    resume = take_suspended(q);
    pthread_mutex_unlock(&q->lock);
    if (resume)
        MHD_resume_connection(q->conn);
    return !ok; /* a reader too slow: the stream stops, the response ends in error */
}

static void on_done(void *ctx, int rc, const kec_error *err)
{
    kes_log_req *q = ctx;
    int resume;

    pthread_mutex_lock(&q->lock);
    q->ended = 1;
    if (q->err.code != KEC_OK) {
        q->rc = q->err.code;
    } else {
        q->rc = rc;
        if (rc != KEC_OK)
            q->err = *err;
    }
    if (q->sse && q->line_len > 0)
        put_event(q, q->line, q->line_len);
    if (q->sse && q->rc == KEC_OK)
        put(q, "event: end\ndata: OK\n\n", 21);
    q->started = 1;
    resume = take_suspended(q);
    pthread_mutex_unlock(&q->lock);
    if (resume)
        MHD_resume_connection(q->conn);
    drop(q);
}

/* The response's content: what is there, the end, or a suspension until more comes. */
static ssize_t read_log(void *cls, uint64_t pos, char *out, size_t max)
{
    kes_log_req *q = cls;
    ssize_t n;

    (void)pos;
    pthread_mutex_lock(&q->lock);
    if (q->off < q->len) {
        n = (ssize_t)(q->len - q->off < max ? q->len - q->off : max);
        memcpy(out, q->buf + q->off, (size_t)n);
        q->off += (size_t)n;
    } else if (q->ended) {
        n = q->rc == KEC_OK ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    } else {
        q->suspended = 1; /* under the lock: the stream cannot resume before this */
        MHD_suspend_connection(q->conn);
        n = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
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

int kes_logs_begin(kes_logs *l, struct MHD_Connection *conn, const char *id, kes_answer *a,
                   kes_log_req **out)
{
    kes_log_req *q;
    kec_error err;
    int follow;
    long tail;

    *out = NULL;
    if (!read_query(conn, &follow, &tail, a))
        return 0;
    if ((q = calloc(1, sizeof *q)) == NULL) {
        kes_answer_detail(a, 503, "out of memory starting a log stream");
        kes_answer_header(a, "Retry-After", KES_RETRY_AFTER_S);
        return 0;
    }
    q->l = l;
    q->conn = conn;
    q->sse = wants_sse(conn);
    q->refs = 2; /* the request's, the stream's */
    pthread_mutex_init(&q->lock, NULL);
    kec_error_clear(&q->err);
    pthread_mutex_lock(&l->lock);
    if (l->closing || l->n >= KES_MAX_LOG_STREAMS) {
        pthread_mutex_unlock(&l->lock);
        pthread_mutex_destroy(&q->lock);
        free(q);
        kes_answer_detail(a, 503, "more than %d log streams are open", KES_MAX_LOG_STREAMS);
        kes_answer_header(a, "Retry-After", KES_RETRY_AFTER_S);
        return 0;
    }
    q->next = l->all;
    if (l->all != NULL)
        l->all->prev = q;
    l->all = q;
    l->n++;
    /* Suspended before the stream starts: its first callback may resume at once. */
    q->suspended = 1;
    MHD_suspend_connection(conn);
    kec_error_clear(&err);
    if (kec_stream_logs_start(l->client, id, follow, (int)tail, on_data, on_done, q, &q->stream,
                              &err) != KEC_OK) {
        q->ended = q->started = 1;
        q->rc = err.code;
        q->err = err;
        q->suspended = 0;
        q->refs--; /* the stream's: it never started */
        pthread_mutex_unlock(&l->lock);
        MHD_resume_connection(conn);
        *out = q;
        return 1;
    }
    pthread_mutex_unlock(&l->lock);
    *out = q;
    return 1;
}

int kes_logs_respond(kes_log_req *q, struct MHD_Connection *conn, kes_answer *a,
                     enum MHD_Result *ret)
{
    struct MHD_Response *resp;

    pthread_mutex_lock(&q->lock);
    if (q->ended && q->rc != KEC_OK && q->len == q->off) {
        kec_error err = q->err;
        int rc = q->rc;

        pthread_mutex_unlock(&q->lock);
        if (rc == KEC_ESTATUS && err.status == KEC_STATUS_FAILED_PRECONDITION)
            kes_answer_detail(a, 409, "%s", err.msg);
        else
            kes_answer_call_error(a, rc, &err, kec_client_connected(q->l->client, 1),
                                  kec_client_target(q->l->client));
        return 0;
    }
    q->responding = 1;
    pthread_mutex_unlock(&q->lock);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, read_log, q, NULL);
    if (resp == NULL) {
        *ret = MHD_NO;
        return 1;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            q->sse ? "text/event-stream; charset=utf-8"
                                   : "text/plain; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    *ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    a->status = MHD_HTTP_OK; /* for the request metrics */
    return 1;
}

void kes_logs_release(kes_log_req *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->lock);
    q->released = 1;
    pthread_mutex_unlock(&q->lock);
    kec_stream_cancel(q->stream); /* a client that left stops its stream */
    drop(q);
}
