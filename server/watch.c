/* watch.c -- the watch hub: copies each committed state change off the store's writer thread
 * and, on its own thread, reads the changed record once, encodes it once and queues it on every
 * stream watching that pipeline (by id, through a hash) or matching that change (filters). */
#include "watch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kec_log.h"
#include "service.h"
#include "text.h"

#define BUCKETS 1024 /* id watchers' hash buckets */

/* One stream being watched. */
typedef struct watcher {
    struct ke_watch *hub;        /* the hub */
    ke_rpc_call *call;           /* the stream (held until on_gone) */
    int by_id;                   /* WatchPipeline (id) rather than WatchPipelines (filter) */
    char id[KE_ID_LEN + 1];      /* by id: the pipeline */
    char *name;                  /* filter: the name, or NULL */
    char *parent;                /* filter: the parent, or NULL */
    ke_state state;              /* filter: the state changed into, or UNSPECIFIED */
    int linked;                  /* in the registry (receives records) */
    int refs;                    /* registry + the stream's hold + a pending prime job */
    struct watcher *prev, *next; /* in its bucket or in the filter list */
} watcher;

/* Work for the hub's thread: a change to hand out, or a new id watcher's first record. */
typedef struct job {
    struct job *next; /* queue order */
    watcher *prime;   /* a new id watcher, or NULL for a change */
    ke_state state;   /* the change: the state entered */
    char *id;         /* its pipeline (points into the job's own allocation) */
    char *name;       /* its name */
    char *parent;     /* its parent, or "" */
} job;

struct ke_watch {
    ke_store *store;          /* read once per change */
    pthread_mutex_t lock;     /* guards the registry and every watcher */
    watcher *by_id[BUCKETS];  /* id watchers, hashed by id */
    watcher *filters;         /* filter watchers */
    atomic_size_t n_watchers; /* linked watchers: the feed skips work while 0 */
    pthread_mutex_t qlock;    /* guards the queue and stop */
    pthread_cond_t qcond;     /* signalled when work arrives or stop is set */
    job *head, *tail;         /* the queue */
    int stop;                 /* the thread must end */
    pthread_t thread;         /* the hub's thread */
    int thread_started;       /* thread must be joined */
};

static unsigned bucket_of(const char *id)
{
    unsigned h = 2166136261u; /* FNV-1a */

    while (*id != '\0')
        h = (h ^ (unsigned char)*id++) * 16777619u;
    return h % BUCKETS;
}

static watcher **list_of(ke_watch *w, const watcher *x)
{
    return x->by_id ? &w->by_id[bucket_of(x->id)] : &w->filters;
}

/* Drops a reference; the last frees the watcher. Under w->lock. */
static void unref(watcher *x)
{
    if (--x->refs > 0)
        return;
    free(x->name);
    free(x->parent);
    free(x);
}

/* Takes x out of the registry: it receives nothing more. Under w->lock. */
static void unlink_watcher(ke_watch *w, watcher *x)
{
    watcher **head = list_of(w, x);

    if (!x->linked)
        return;
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        *head = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->linked = 0;
    atomic_fetch_sub(&w->n_watchers, 1);
    unref(x);
}

/* Queues a record on x, ending x when it is too far behind, or (by id) once the record is in
 * an ended state. Under w->lock. */
static void deliver(ke_watch *w, watcher *x, const uint8_t *buf, size_t len, int ended)
{
    size_t queued = ke_rpc_stream_queued_bytes(x->call);
    char msg[200];

    if (queued + len > KE_WATCH_MAX_QUEUED) {
        snprintf(msg, sizeof msg,
                 "watcher too slow: %zu bytes of records unread, the most a watcher may hold "
                 "is %u; watch again and read faster",
                 queued, KE_WATCH_MAX_QUEUED);
        ke_rpc_stream_abort(x->call, KE_GRPC_RESOURCE_EXHAUSTED, msg);
        unlink_watcher(w, x);
        return;
    }
    if (ke_rpc_stream_send(x->call, buf, len) != KE_OK) {
        unlink_watcher(w, x); /* over already: on_gone follows */
        return;
    }
    if (x->by_id && ended) {
        ke_rpc_stream_end(x->call, KE_GRPC_OK, NULL);
        unlink_watcher(w, x);
    }
}

/* Reads and encodes pipeline id. Returns KE_OK with *buf (free it) and *ended, or the error. */
static int read_record(ke_watch *w, const char *id, uint8_t **buf, size_t *len, int *ended,
                       ke_error *err)
{
    ke_pipeline p = {0};
    ke_state st;
    int rc;

    *buf = NULL;
    rc = ke_store_get(w->store, id, &p, err);
    if (rc == KE_OK) {
        st = ke_pipeline_state(&p);
        *ended = st == KE_STATE_SUCCESS || st == KE_STATE_FAILURE || st == KE_STATE_ABORTED;
        rc = ke_service_encode_pipeline(&p, buf, len);
        if (rc != KE_OK)
            ke_error_set(err, rc, "server out of memory encoding pipeline %s", id);
    }
    ke_pipeline_release(&p);
    return rc;
}

/* A new id watcher's first record: the current one (read after it was registered, so no
 * later change is missed), or its end when the pipeline is unknown or has ended. */
static void prime(ke_watch *w, watcher *x)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int ended = 0, rc;
    ke_error err;

    ke_error_clear(&err);
    rc = read_record(w, x->id, &buf, &len, &ended, &err);
    pthread_mutex_lock(&w->lock);
    if (x->linked) {
        if (rc == KE_OK) {
            deliver(w, x, buf, len, ended);
        } else {
            ke_rpc_stream_end(x->call, ke_err_grpc_status(rc), err.msg);
            unlink_watcher(w, x);
        }
    }
    unref(x); /* the job's */
    pthread_mutex_unlock(&w->lock);
    free(buf);
}

static int matches(const watcher *x, const job *j)
{
    if (x->by_id)
        return strcmp(x->id, j->id) == 0;
    return (x->name == NULL || strcmp(x->name, j->name) == 0) &&
           (x->state == KE_STATE_UNSPECIFIED || x->state == j->state) &&
           (x->parent == NULL || strcmp(x->parent, j->parent) == 0);
}

/* Whether any watcher wants the change. Under w->lock. */
static int wanted(ke_watch *w, const job *j)
{
    const watcher *x;

    for (x = w->by_id[bucket_of(j->id)]; x != NULL; x = x->next)
        if (matches(x, j))
            return 1;
    for (x = w->filters; x != NULL; x = x->next)
        if (matches(x, j))
            return 1;
    return 0;
}

/* Hands each list member matching j the record. Under w->lock. */
static void deliver_all(ke_watch *w, watcher *list, const job *j, const uint8_t *buf, size_t len,
                        int ended)
{
    watcher *x, *next;

    for (x = list; x != NULL; x = next) {
        next = x->next; /* deliver may unlink x */
        if (matches(x, j))
            deliver(w, x, buf, len, ended);
    }
}

/* One change: read and encode the record once if anyone wants it, then queue it on each. */
static void hand_out(ke_watch *w, const job *j)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int want, ended = 0;
    ke_error err;

    pthread_mutex_lock(&w->lock);
    want = wanted(w, j);
    pthread_mutex_unlock(&w->lock);
    if (!want)
        return;
    ke_error_clear(&err);
    if (read_record(w, j->id, &buf, &len, &ended, &err) != KE_OK) {
        kec_log(KEC_LOG_ERROR, "watch: %s", err.msg);
        return;
    }
    pthread_mutex_lock(&w->lock);
    deliver_all(w, w->by_id[bucket_of(j->id)], j, buf, len, ended);
    deliver_all(w, w->filters, j, buf, len, ended);
    pthread_mutex_unlock(&w->lock);
    free(buf);
}

static void *hub_main(void *arg)
{
    ke_watch *w = arg;
    job *batch, *j;

    for (;;) {
        pthread_mutex_lock(&w->qlock);
        while (w->head == NULL && !w->stop)
            pthread_cond_wait(&w->qcond, &w->qlock);
        batch = w->head;
        w->head = w->tail = NULL;
        pthread_mutex_unlock(&w->qlock);
        if (batch == NULL)
            return NULL; /* stop, with nothing left */
        while (batch != NULL) {
            j = batch;
            batch = j->next;
            if (j->prime != NULL)
                prime(w, j->prime);
            else
                hand_out(w, j);
            free(j);
        }
    }
}

static void enqueue(ke_watch *w, job *j)
{
    pthread_mutex_lock(&w->qlock);
    if (w->tail != NULL)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->qcond);
    pthread_mutex_unlock(&w->qlock);
}

/* The change feed (store's writer thread): copy each change and hand it over; never block on
 * the hub. */
static void on_changes(void *ctx, const ke_change *changes, size_t n)
{
    ke_watch *w = ctx;
    size_t i, a, b, c;
    job *j;

    if (atomic_load(&w->n_watchers) == 0)
        return;
    for (i = 0; i < n; i++) {
        a = strlen(changes[i].id) + 1;
        b = strlen(changes[i].name) + 1;
        c = strlen(changes[i].parent) + 1;
        j = malloc(sizeof *j + a + b + c);
        if (j == NULL) {
            kec_log(KEC_LOG_ERROR, "watch: out of memory; a change of %s is not streamed",
                    changes[i].id);
            continue;
        }
        j->next = NULL;
        j->prime = NULL;
        j->state = changes[i].state;
        j->id = (char *)(j + 1);
        j->name = j->id + a;
        j->parent = j->name + b;
        memcpy(j->id, changes[i].id, a);
        memcpy(j->name, changes[i].name, b);
        memcpy(j->parent, changes[i].parent, c);
        enqueue(w, j);
    }
}

/* The stream of x is over: forget it and give back the hold. */
static void watcher_gone(void *ctx)
{
    watcher *x = ctx;
    ke_watch *w = x->hub;

    pthread_mutex_lock(&w->lock);
    unlink_watcher(w, x);
    pthread_mutex_unlock(&w->lock);
    ke_rpc_stream_release(x->call);
    pthread_mutex_lock(&w->lock);
    unref(x); /* the hold's */
    pthread_mutex_unlock(&w->lock);
}

static char *dup_or_null(const char *s, int *failed)
{
    char *d;

    if (s == NULL || s[0] == '\0')
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *failed = 1;
    return d;
}

int ke_watch_add(ke_watch *w, ke_rpc_call *call, const ke_watch_filter *f, ke_error *err)
{
    watcher *x = calloc(1, sizeof *x), **head;
    job *j = NULL;
    int failed = x == NULL;

    if (x != NULL && f->id != NULL) {
        x->by_id = 1;
        snprintf(x->id, sizeof x->id, "%s", f->id);
        j = calloc(1, sizeof *j);
        failed = j == NULL;
    } else if (x != NULL) {
        x->name = dup_or_null(f->name, &failed);
        x->parent = dup_or_null(f->parent, &failed);
        x->state = f->state;
    }
    if (failed) {
        if (x != NULL) {
            free(x->name);
            free(x->parent);
        }
        free(x);
        free(j);
        return ke_error_set(err, KE_ENOMEM, "server out of memory starting a watch");
    }
    x->hub = w;
    x->call = call;
    x->refs = 2 + (j != NULL); /* registry, hold, prime job */
    ke_rpc_stream_hold(call, watcher_gone, x);
    pthread_mutex_lock(&w->lock);
    head = list_of(w, x);
    x->next = *head;
    if (*head != NULL)
        (*head)->prev = x;
    *head = x;
    x->linked = 1;
    atomic_fetch_add(&w->n_watchers, 1);
    pthread_mutex_unlock(&w->lock);
    if (j != NULL) { /* registered first, read after: no change between is missed */
        j->prime = x;
        enqueue(w, j);
    }
    return KE_OK;
}

size_t ke_watch_count(ke_watch *w)
{
    return atomic_load(&w->n_watchers);
}

int ke_watch_new(ke_store *s, ke_watch **out, ke_error *err)
{
    ke_watch *w = calloc(1, sizeof *w);

    *out = NULL;
    if (w == NULL)
        return ke_error_set(err, KE_ENOMEM, "watch hub: out of memory");
    w->store = s;
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->qlock, NULL);
    pthread_cond_init(&w->qcond, NULL);
    atomic_init(&w->n_watchers, 0);
    if (ke_store_subscribe(s, on_changes, w, err) != KE_OK) {
        ke_watch_free(w);
        return KE_EINVAL;
    }
    if (pthread_create(&w->thread, NULL, hub_main, w) != 0) {
        ke_watch_free(w);
        return ke_error_set(err, KE_ENOMEM, "watch hub: cannot start its thread");
    }
    w->thread_started = 1;
    *out = w;
    return KE_OK;
}

void ke_watch_free(ke_watch *w)
{
    job *j;
    int i;

    if (w == NULL)
        return;
    ke_store_unsubscribe(w->store, on_changes, w);
    pthread_mutex_lock(&w->qlock);
    w->stop = 1;
    pthread_cond_signal(&w->qcond);
    pthread_mutex_unlock(&w->qlock);
    if (w->thread_started)
        pthread_join(w->thread, NULL);
    while ((j = w->head) != NULL) { /* only if the thread never ran */
        w->head = j->next;
        if (j->prime != NULL)
            unref(j->prime);
        free(j);
    }
    for (i = 0; i < BUCKETS; i++) /* none after the server's shutdown; a leak check's guard */
        while (w->by_id[i] != NULL)
            unlink_watcher(w, w->by_id[i]);
    while (w->filters != NULL)
        unlink_watcher(w, w->filters);
    pthread_cond_destroy(&w->qcond);
    pthread_mutex_destroy(&w->qlock);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
