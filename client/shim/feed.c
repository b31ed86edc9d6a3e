/* feed.c -- streamed responses fed by the client library's server streams, never blocking an
 * HTTP thread: the connection is suspended while nothing is there to send and resumed by the
 * stream (or by the keep-alive thread, for server-sent events).
 *
 * A feed lives until the last of three lets go of it: the HTTP request (released when MHD
 * completes it), the library stream (kes_feed_end) and the registry's list. Only the side
 * that clears f->suspended under f->lock resumes the connection, after unlocking; the
 * connection cannot be completed meanwhile, as it is suspended. */
#include "feed.h"

#include "kec_text.h" /* kec_error_set */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEP_CAP (64u << 10) /* a drained buffer larger than this is given back */

struct kes_feeds {
    kec_client *client;   /* borrowed */
    kes_feeds_kind kind;  /* what they are */
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t empty; /* signalled when n drops to 0 */
    pthread_cond_t wake;  /* wakes the keep-alive thread to stop */
    kes_feed *all;        /* open feeds */
    unsigned n;           /* how many */
    int closing;          /* kes_feeds_shutdown ran: no new feed */
    int ticking;          /* the keep-alive thread runs (joined by kes_feeds_shutdown) */
    pthread_t ticker;     /* that thread */
};

struct kes_feed {
    kes_feeds *fs;               /* the registry */
    struct MHD_Connection *conn; /* its connection */
    kec_stream *stream;          /* the library stream */
    const char *content_type;    /* of the 200 */
    const char *cache_control;   /* of the 200 */
    int keepalive;               /* server-sent events: comments when idle */
    void *user;                  /* the kind's state */
    void (*user_free)(void *);   /* frees it */
    pthread_mutex_t lock;        /* guards what follows */
    int refs;                    /* the request's, the stream's */
    int suspended;               /* conn is suspended waiting for us */
    int responding;              /* the streaming response is queued */
    int released;                /* the request is over: conn must not be touched */
    int ended;                   /* kes_feed_end ran */
    int clean;                   /* the response ends cleanly (else cut) */
    int too_slow;                /* a put passed the limit */
    int rc;                      /* how the stream ended */
    kec_error err;               /* its error */
    long long last_ms;           /* when bytes were last put (monotonic) */
    char *buf;                   /* bytes to send: [off, len) */
    size_t off, len, cap;        /* read position, end, allocated */
    size_t largest;              /* the largest record put so far */
    kes_feed *next, *prev;       /* in fs->all */
};

/* The monotonic clock in milliseconds. */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Clears f->suspended (f->lock held); returns whether the caller must resume f->conn (after
 * unlocking). */
static int take_suspended(kes_feed *f)
{
    int was = f->suspended && !f->released;

    f->suspended = 0;
    return was;
}

/* Makes room for len more bytes (f->lock held); 0 when out of memory. */
static int reserve(kes_feed *f, size_t len)
{
    size_t cap;
    char *b;

    if (f->off > 0 && f->off == f->len)
        f->off = f->len = 0;
    if (f->len + len > f->cap) {
        if (f->off > 0) { /* move what is left to the front first */
            memmove(f->buf, f->buf + f->off, f->len - f->off);
            f->len -= f->off;
            f->off = 0;
        }
        cap = f->cap ? f->cap : 16384;
        while (cap < f->len + len)
            cap *= 2;
        if (cap != f->cap) {
            if ((b = realloc(f->buf, cap)) == NULL)
                return 0;
            f->buf = b;
            f->cap = cap;
        }
    }
    return 1;
}

/* Appends len bytes after reserve (f->lock held). */
static void append(kes_feed *f, const char *data, size_t len)
{
    memcpy(f->buf + f->len, data, len);
    f->len += len;
    f->last_ms = now_ms();
}

/* Appends len bytes (f->lock held); 0 past max bytes held or out of memory. */
static int put(kes_feed *f, const char *data, size_t len, size_t max)
{
    if (f->len - f->off + len > max || !reserve(f, len))
        return 0;
    append(f, data, len);
    return 1;
}

/* Sends a keep-alive to every idle server-sent-events feed; returns how many connections it
 * put in resume[] (fs->lock held; at most cap). */
static size_t tick(kes_feeds *fs, struct MHD_Connection **resume, size_t cap)
{
    long long now = now_ms();
    size_t n = 0;
    kes_feed *f;

    for (f = fs->all; f != NULL && n < cap; f = f->next) {
        if (!f->keepalive)
            continue;
        pthread_mutex_lock(&f->lock);
        if (f->responding && !f->ended && !f->released && f->off == f->len &&
            now - f->last_ms >= (long long)fs->kind.keepalive_ms &&
            put(f, KES_FEED_KEEPALIVE, strlen(KES_FEED_KEEPALIVE), KES_FEED_BUFFER_MAX) &&
            take_suspended(f))
            resume[n++] = f->conn;
        pthread_mutex_unlock(&f->lock);
    }
    return n;
}

/* The keep-alive thread: wakes a few times per interval while a feed is open (and sleeps
 * until one opens otherwise), until kes_feeds_shutdown. */
static void *ticker_main(void *arg)
{
    kes_feeds *fs = arg;
    long long step = fs->kind.keepalive_ms / 4 > 1000 ? 1000 : fs->kind.keepalive_ms / 4 + 1;
    struct MHD_Connection *resume[64];
    struct timespec until;
    size_t i, n;

    pthread_mutex_lock(&fs->lock);
    while (!fs->closing) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(step % 1000) * 1000000L;
        until.tv_sec += (time_t)(step / 1000) + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        if (fs->all == NULL)
            pthread_cond_wait(&fs->wake, &fs->lock);
        else
            pthread_cond_timedwait(&fs->wake, &fs->lock, &until);
        if (fs->closing)
            break;
        n = tick(fs, resume, sizeof resume / sizeof resume[0]);
        pthread_mutex_unlock(&fs->lock);
        for (i = 0; i < n; i++)
            MHD_resume_connection(resume[i]);
        pthread_mutex_lock(&fs->lock);
    }
    pthread_mutex_unlock(&fs->lock);
    return NULL;
}

kes_feeds *kes_feeds_new(kec_client *c, const kes_feeds_kind *kind)
{
    kes_feeds *fs = calloc(1, sizeof *fs);

    if (fs == NULL)
        return NULL;
    fs->client = c;
    fs->kind = *kind;
    pthread_mutex_init(&fs->lock, NULL);
    pthread_cond_init(&fs->empty, NULL);
    pthread_cond_init(&fs->wake, NULL);
    if (kind->keepalive_ms > 0) {
        if (pthread_create(&fs->ticker, NULL, ticker_main, fs) != 0) {
            kes_feeds_free(fs);
            return NULL;
        }
        fs->ticking = 1;
    }
    return fs;
}

void kes_feeds_shutdown(kes_feeds *fs)
{
    kes_feed *f;
    int join;

    if (fs == NULL)
        return;
    pthread_mutex_lock(&fs->lock);
    fs->closing = 1;
    for (f = fs->all; f != NULL; f = f->next)
        kec_stream_cancel(f->stream);
    join = fs->ticking;
    fs->ticking = 0;
    pthread_cond_broadcast(&fs->wake);
    pthread_mutex_unlock(&fs->lock);
    if (join)
        pthread_join(fs->ticker, NULL);
}

void kes_feeds_free(kes_feeds *fs)
{
    if (fs == NULL)
        return;
    kes_feeds_shutdown(fs);
    pthread_mutex_lock(&fs->lock);
    while (fs->n > 0) /* their streams' ends are on their way: they were cancelled */
        pthread_cond_wait(&fs->empty, &fs->lock);
    pthread_mutex_unlock(&fs->lock);
    pthread_cond_destroy(&fs->wake);
    pthread_cond_destroy(&fs->empty);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}

/* Drops a reference (f->lock not held); the last frees f. */
static void drop(kes_feed *f)
{
    kes_feeds *fs = f->fs;
    int last;

    pthread_mutex_lock(&f->lock);
    last = --f->refs == 0;
    pthread_mutex_unlock(&f->lock);
    if (!last)
        return;
    pthread_mutex_lock(&fs->lock);
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        fs->all = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    if (--fs->n == 0)
        pthread_cond_broadcast(&fs->empty);
    pthread_mutex_unlock(&fs->lock);
    kec_stream_free(f->stream);
    pthread_mutex_destroy(&f->lock);
    if (f->user_free != NULL)
        f->user_free(f->user);
    else
        free(f->user);
    free(f->buf);
    free(f);
}

void *kes_feed_user(kes_feed *f)
{
    return f->user;
}

int kes_feed_put(kes_feed *f, const char *head, const char *data, size_t len, const char *tail)
{
    size_t head_len = head != NULL ? strlen(head) : 0, tail_len = tail != NULL ? strlen(tail) : 0;
    size_t n = head_len + len + tail_len;
    size_t limit;
    int ok, resume;

    pthread_mutex_lock(&f->lock);
    if (n > f->largest)
        f->largest = n;
    limit = KES_FEED_BUFFER_MAX + KES_FEED_RECORDS_MAX * f->largest; /* see feed.h */
    ok = !f->too_slow && f->len - f->off + n <= limit && reserve(f, n);
    if (ok) {
        append(f, head != NULL ? head : "", head_len);
        append(f, data, len);
        append(f, tail != NULL ? tail : "", tail_len);
    } else {
        f->too_slow = 1;
    }
    resume = take_suspended(f);
    pthread_mutex_unlock(&f->lock);
    if (resume)
        MHD_resume_connection(f->conn);
    return ok;
}

int kes_feed_too_slow(kes_feed *f)
{
    int slow;

    pthread_mutex_lock(&f->lock);
    slow = f->too_slow;
    pthread_mutex_unlock(&f->lock);
    return slow;
}

int kes_feed_closing(kes_feed *f)
{
    int closing;

    pthread_mutex_lock(&f->fs->lock);
    closing = f->fs->closing;
    pthread_mutex_unlock(&f->fs->lock);
    return closing;
}

void kes_feed_end(kes_feed *f, int rc, const kec_error *err, const char *tail, size_t len,
                  int clean)
{
    int resume;

    pthread_mutex_lock(&f->lock);
    f->ended = 1;
    f->clean = clean;
    if (f->too_slow) {
        f->rc = KEC_ENOMEM;
        kec_error_set(&f->err, KEC_ENOMEM,
                      "the HTTP client reads too slowly: more than %u bytes plus %d times its "
                      "largest record were waiting",
                      KES_FEED_BUFFER_MAX, KES_FEED_RECORDS_MAX);
    } else {
        f->rc = rc;
        if (rc != KEC_OK)
            f->err = *err;
    }
    if (tail != NULL)
        put(f, tail, len, (size_t)-1 / 2);
    resume = take_suspended(f);
    pthread_mutex_unlock(&f->lock);
    if (resume)
        MHD_resume_connection(f->conn);
    drop(f);
}

/* The response's content: what is there, the end, or a suspension until more comes. */
static ssize_t read_feed(void *cls, uint64_t pos, char *out, size_t max)
{
    kes_feed *f = cls;
    ssize_t n;

    (void)pos;
    pthread_mutex_lock(&f->lock);
    if (f->off < f->len) {
        n = (ssize_t)(f->len - f->off < max ? f->len - f->off : max);
        memcpy(out, f->buf + f->off, (size_t)n);
        f->off += (size_t)n;
        if (f->off == f->len && f->cap > KEEP_CAP) { /* a large record sent: for a long watch */
            free(f->buf);
            f->buf = NULL;
            f->off = f->len = f->cap = 0;
        }
    } else if (f->ended) {
        n = f->clean ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    } else {
        f->suspended = 1; /* under the lock: the stream cannot resume before this */
        MHD_suspend_connection(f->conn);
        n = 0;
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* A new feed for conn from fa, not registered yet; NULL when out of memory. */
static kes_feed *feed_new(kes_feeds *fs, struct MHD_Connection *conn, const kes_feed_args *fa)
{
    kes_feed *f = calloc(1, sizeof *f);

    if (f == NULL)
        return NULL;
    f->fs = fs;
    f->conn = conn;
    f->content_type = fa->content_type;
    f->cache_control = fa->cache_control;
    f->keepalive = fa->keepalive;
    f->user = fa->user;
    f->user_free = fa->user_free;
    f->refs = 2; /* the request's, the stream's */
    f->last_ms = now_ms();
    pthread_mutex_init(&f->lock, NULL);
    kec_error_clear(&f->err);
    return f;
}

/* 503 with Retry-After: the feeds are full or closing, or memory ran out. */
static void refuse(kes_feeds *fs, const kes_feed_args *fa, kes_answer *a, int oom)
{
    if (oom)
        kes_answer_detail(a, 503, "out of memory starting a stream");
    else if (fs->kind.max_flag != NULL)
        kes_answer_detail(a, 503, "more than %u %s are open (%s) or the shim is stopping",
                          fs->kind.max, fs->kind.what, fs->kind.max_flag);
    else
        kes_answer_detail(a, 503, "more than %u %s are open or the shim is stopping", fs->kind.max,
                          fs->kind.what);
    kes_answer_header(a, "Retry-After", KES_RETRY_AFTER_S);
    if (fa->user_free != NULL)
        fa->user_free(fa->user);
    else
        free(fa->user);
}

int kes_feed_begin(kes_feeds *fs, struct MHD_Connection *conn, const kes_feed_args *fa,
                   kes_answer *ans, kes_feed **out)
{
    kes_feed *f;
    kec_error err;
    int resume;

    *out = NULL;
    if ((f = feed_new(fs, conn, fa)) == NULL) {
        refuse(fs, fa, ans, 1);
        return 0;
    }
    pthread_mutex_lock(&fs->lock);
    if (fs->closing || fs->n >= fs->kind.max) {
        pthread_mutex_unlock(&fs->lock);
        pthread_mutex_destroy(&f->lock);
        free(f);
        refuse(fs, fa, ans, 0);
        return 0;
    }
    f->next = fs->all;
    if (fs->all != NULL)
        fs->all->prev = f;
    fs->all = f;
    fs->n++;
    if (f->keepalive && fs->kind.keepalive_ms > 0)
        pthread_cond_signal(&fs->wake); /* the keep-alive thread may be waiting for a feed */
    /* Suspended before the stream starts: its first callback may resume at once. */
    f->suspended = 1;
    MHD_suspend_connection(conn);
    kec_error_clear(&err);
    if (fa->start(fs->client, fa->arg, f, &f->stream, &err) != KEC_OK) {
        f->ended = 1;
        f->rc = err.code;
        f->err = err;
        f->refs--; /* the stream's: it never started */
    }
    pthread_mutex_unlock(&fs->lock);
    pthread_mutex_lock(&f->lock);
    resume = (f->ended || !fa->wait_first) && take_suspended(f);
    pthread_mutex_unlock(&f->lock);
    if (resume)
        MHD_resume_connection(conn);
    *out = f;
    return 1;
}

int kes_feed_respond(kes_feed *f, struct MHD_Connection *conn, kes_answer *a, enum MHD_Result *ret)
{
    struct MHD_Response *resp;

    pthread_mutex_lock(&f->lock);
    if (f->ended && f->rc != KEC_OK && f->len == f->off) {
        kec_error err = f->err;
        int rc = f->rc;

        pthread_mutex_unlock(&f->lock);
        f->fs->kind.fail(f->fs->client, rc, &err, a);
        return 0;
    }
    f->responding = 1;
    pthread_mutex_unlock(&f->lock);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, read_feed, f, NULL);
    if (resp == NULL) {
        *ret = MHD_NO;
        return 1;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, f->cache_control);
    *ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    a->status = MHD_HTTP_OK; /* for the request metrics */
    return 1;
}

void kes_feed_release(kes_feed *f)
{
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->lock);
    f->released = 1;
    pthread_mutex_unlock(&f->lock);
    kec_stream_cancel(f->stream); /* a client that left stops its stream */
    drop(f);
}
