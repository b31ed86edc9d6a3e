/* logs.c -- the log hub: one thread reads every StreamLogs reader's log, woken by inotify (a
 * log written, a log created) and by the store's change feed (a run ended), never by a timer. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logs.h"
#include "pipeline.h"
#include "store.h"

#define PUMP_CHUNKS 16 /* chunks one reader sends per turn before the others get theirs */
#define DIR_EVENTS (IN_CREATE | IN_MOVED_TO)
#define FILE_EVENTS IN_MODIFY

struct ke_log_reader {
    ke_logs *hub;           /* the hub it reads in */
    char id[KE_ID_LEN + 1]; /* the pipeline's id */
    int follow;             /* wait for more until the run ended */
    long tail;              /* start at the last this many lines; 0: the start */
    ke_log_sink sink;       /* where the bytes go */
    atomic_int refs;        /* the owner's, the hub's until done, one while on the dirty list */
    /* the hub's thread only: */
    char *path;    /* the log's path once the record was read, else NULL */
    int fd;        /* the open log, or -1 */
    int wd;        /* its inotify watch (follow), or -1 */
    off_t off;     /* the next byte to send */
    int looked_up; /* the record was read */
    int opened;    /* the log was opened once (the tail applied) */
    /* under hub->lock: */
    int open;            /* done not called yet */
    int ended;           /* the run has ended (record or change feed) */
    int cancelled;       /* ke_logs_cancel was called */
    int queued;          /* on the dirty list */
    ke_log_reader *prev; /* open readers, doubly linked */
    ke_log_reader *next;
    ke_log_reader *dnext; /* the dirty list */
};

struct ke_logs {
    struct ke_store *store; /* subscribed to; outlives the hub */
    char *logs_dir;         /* where runs' logs are */
    size_t max;             /* readers at once */
    int ino;                /* inotify descriptor */
    int dir_wd;             /* watch of logs_dir, or -1 (not there yet) */
    int wake;               /* eventfd: something is on the dirty list, or stop */
    char *buf;              /* the thread's read buffer, KE_LOGS_CHUNK bytes */
    pthread_t thread;       /* the hub's thread */
    int started;            /* thread started */
    int subscribed;         /* on the change feed */
    pthread_mutex_t lock;   /* guards what follows and the readers' locked members */
    int stopping;           /* ke_logs_free began */
    ke_log_reader *all;     /* open readers */
    size_t n;               /* how many */
    ke_log_reader *dirty;   /* readers to look at, oldest first */
    ke_log_reader **dirty_end;
};

static void unref(ke_log_reader *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1) {
        if (r->fd >= 0)
            close(r->fd);
        free(r->path);
        free(r);
    }
}

static void signal_hub(ke_logs *l)
{
    uint64_t one = 1;
    ssize_t n;

    do
        n = write(l->wake, &one, sizeof one);
    while (n < 0 && errno == EINTR);
}

/* Puts r on the dirty list (hub->lock held); returns 1 when it was not there. */
static int mark_dirty(ke_logs *l, ke_log_reader *r)
{
    if (r->queued || !r->open)
        return 0;
    r->queued = 1;
    atomic_fetch_add(&r->refs, 1);
    r->dnext = NULL;
    *l->dirty_end = r;
    l->dirty_end = &r->dnext;
    return 1;
}

static int ended_state(ke_state s)
{
    return s == KE_STATE_SUCCESS || s == KE_STATE_FAILURE || s == KE_STATE_ABORTED;
}

/* The change feed (writer thread): a run that ended wakes its followers. */
static void on_changes(void *ctx, const ke_change *c, size_t n)
{
    ke_logs *l = ctx;
    int any = 0;
    size_t i;

    pthread_mutex_lock(&l->lock);
    for (i = 0; i < n && l->all != NULL; i++) {
        ke_log_reader *r;

        if (!ended_state(c[i].state))
            continue;
        for (r = l->all; r != NULL; r = r->next) {
            if (r->follow && strcmp(r->id, c[i].id) == 0) {
                r->ended = 1;
                any |= mark_dirty(l, r);
            }
        }
    }
    pthread_mutex_unlock(&l->lock);
    if (any)
        signal_hub(l);
}

/* Ends r: done, once, and drops the hub's reference. */
static void finish(ke_logs *l, ke_log_reader *r, int rc, const ke_error *err)
{
    ke_log_reader *o;
    int shared = 0;

    pthread_mutex_lock(&l->lock);
    r->open = 0;
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        l->all = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    l->n--;
    for (o = l->all; o != NULL && r->wd >= 0; o = o->next)
        shared |= o->wd == r->wd;
    pthread_mutex_unlock(&l->lock);
    if (r->wd >= 0 && !shared)
        inotify_rm_watch(l->ino, r->wd);
    r->wd = -1;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    r->sink.done(r->sink.ctx, rc, err);
    unref(r);
}

static void finish_msg(ke_logs *l, ke_log_reader *r, int rc, const char *what)
{
    ke_error err;

    ke_error_clear(&err);
    ke_error_set(&err, rc, "log of %s: %s", r->id, what);
    finish(l, r, rc, &err);
}

/* Reads r's record: whether the run has ended, and where its log is. */
static int look_up(ke_logs *l, ke_log_reader *r, ke_error *err)
{
    ke_pipeline p;
    const char *path = NULL;
    size_t i;
    int rc;

    memset(&p, 0, sizeof p);
    rc = ke_store_get(l->store, r->id, &p, err);
    if (rc != KE_OK)
        return rc;
    for (i = 0; i < p.n_status; i++) {
        if (p.status[i].log_path != NULL && p.status[i].log_path[0] != '\0')
            path = p.status[i].log_path;
    }
    if (path != NULL)
        r->path = strdup(path);
    else if (asprintf(&r->path, "%s/%s.log", l->logs_dir, r->id) < 0)
        r->path = NULL;
    if (ended_state(ke_pipeline_state(&p))) {
        pthread_mutex_lock(&l->lock);
        r->ended = 1;
        pthread_mutex_unlock(&l->lock);
    }
    ke_pipeline_release(&p);
    if (r->path == NULL)
        return ke_error_set(err, KE_ENOMEM, "no memory for the log path of %s", r->id);
    r->looked_up = 1;
    return KE_OK;
}

/* Opens r's log when it exists (r->fd stays -1 when not yet), watches it when following, and
 * the first time moves to where the tail begins. A reader closes its log while it waits (see
 * pump), so readers hold no descriptor but the one being read; reopened, a log shorter than
 * what was sent was truncated by a run started again (--requeue-interrupted): from its start. */
static int open_log(ke_logs *l, ke_log_reader *r, int ended, ke_error *err)
{
    int watch = r->follow && !ended;
    struct stat st;

    if (watch && l->dir_wd < 0) /* the dir first, so a log created after the open is seen */
        l->dir_wd = inotify_add_watch(l->ino, l->logs_dir, DIR_EVENTS | IN_ONLYDIR);
    r->fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (r->fd < 0 && errno == ENOENT)
        return KE_OK;
    if (r->fd < 0)
        return ke_error_set(err, KE_EIO, "cannot open log \"%s\": %s", r->path, strerror(errno));
    if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode))
        return ke_error_set(err, KE_EIO, "log \"%s\" is not a regular file", r->path);
    if (watch && r->wd < 0) { /* before reading: a later write is seen, an earlier one read */
        r->wd = inotify_add_watch(l->ino, r->path, FILE_EVENTS);
        if (r->wd < 0)
            return ke_error_set(err, KE_EIO, "cannot watch log \"%s\": %s", r->path,
                                strerror(errno));
    }
    if (r->opened) {
        if (st.st_size < r->off)
            r->off = 0;
        return KE_OK;
    }
    r->opened = 1;
    if (r->tail > 0)
        return ke_logs_tail_offset(r->fd, r->path, st.st_size, r->tail, &r->off, err);
    return KE_OK;
}

enum { FINISHED, WAITING, REQUEUED };

/* Sends what r's log holds past r->off while the sink has room, at most PUMP_CHUNKS chunks
 * (then r goes back on the dirty list: REQUEUED); at the end of the file, finishes r
 * (FINISHED) unless it follows a run that has not ended (WAITING, as when the sink is full). */
static int send_some(ke_logs *l, ke_log_reader *r, int ended)
{
    int budget = PUMP_CHUNKS;

    for (;;) {
        ssize_t n;

        if (!r->sink.ready(r->sink.ctx))
            return WAITING;
        if (budget-- == 0) {
            pthread_mutex_lock(&l->lock);
            mark_dirty(l, r);
            pthread_mutex_unlock(&l->lock);
            signal_hub(l);
            return REQUEUED;
        }
        n = pread(r->fd, l->buf, KE_LOGS_CHUNK, r->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ke_error err;

            ke_error_clear(&err);
            ke_error_set(&err, KE_EIO, "cannot read log \"%s\": %s", r->path, strerror(errno));
            finish(l, r, KE_EIO, &err);
            return FINISHED;
        }
        if (n == 0) {
            if (!r->follow || ended) {
                finish(l, r, KE_OK, NULL);
                return FINISHED;
            }
            return WAITING;
        }
        r->off += n;
        if (r->sink.chunk(r->sink.ctx, l->buf, (size_t)n) != 0) {
            finish_msg(l, r, KE_EUNAVAIL, "stopped");
            return FINISHED;
        }
    }
}

/* Moves r on as far as it can go now; a reader left waiting closes its log. */
static void pump(ke_logs *l, ke_log_reader *r)
{
    int ended, cancelled, rc;
    ke_error err;

    ke_error_clear(&err);
    if (!r->looked_up) {
        rc = look_up(l, r, &err);
        if (rc != KE_OK) {
            finish(l, r, rc, &err);
            return;
        }
    }
    pthread_mutex_lock(&l->lock);
    ended = r->ended;
    cancelled = r->cancelled;
    pthread_mutex_unlock(&l->lock);
    if (cancelled) {
        finish_msg(l, r, KE_EUNAVAIL, "cancelled");
        return;
    }
    if (r->fd < 0) {
        rc = open_log(l, r, ended, &err);
        if (rc != KE_OK) {
            finish(l, r, rc, &err);
            return;
        }
        if (r->fd < 0) { /* no log (yet): an empty one, unless it may still come */
            if (!r->follow || ended)
                finish(l, r, KE_OK, NULL);
            return;
        }
    }
    if (send_some(l, r, ended) == WAITING) {
        close(r->fd);
        r->fd = -1;
    }
}

/* Marks dirty the readers an inotify event concerns (hub->lock held). */
static int note_event(ke_logs *l, const struct inotify_event *ev)
{
    ke_log_reader *r;
    int any = 0;

    for (r = l->all; r != NULL; r = r->next) {
        int hit;

        if (ev->mask & IN_Q_OVERFLOW)
            hit = 1;
        else if (ev->wd == l->dir_wd)
            hit = !r->opened && ev->len > 0 && strncmp(ev->name, r->id, strlen(r->id)) == 0 &&
                  strcmp(ev->name + strlen(r->id), ".log") == 0;
        else
            hit = r->wd == ev->wd;
        if (hit)
            any |= mark_dirty(l, r);
    }
    if ((ev->mask & IN_IGNORED) && ev->wd == l->dir_wd)
        l->dir_wd = -1; /* the logs dir went away; watched again when next needed */
    return any;
}

static void read_inotify(ke_logs *l)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n = read(l->ino, buf, sizeof buf);
    char *p;

    if (n <= 0)
        return;
    pthread_mutex_lock(&l->lock);
    for (p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len)
        note_event(l, (const struct inotify_event *)p);
    pthread_mutex_unlock(&l->lock);
}

static void *hub_main(void *arg)
{
    ke_logs *l = arg;

    for (;;) {
        struct pollfd fds[2] = {{l->wake, POLLIN, 0}, {l->ino, POLLIN, 0}};
        ke_log_reader *todo, *r;
        uint64_t count;
        int stopping;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents & POLLIN) {
            if (read(l->wake, &count, sizeof count) < 0 && errno != EAGAIN)
                break;
        }
        if (fds[1].revents & POLLIN)
            read_inotify(l);
        pthread_mutex_lock(&l->lock);
        stopping = l->stopping;
        todo = l->dirty;
        l->dirty = NULL;
        l->dirty_end = &l->dirty;
        for (r = todo; r != NULL; r = r->dnext)
            r->queued = 0;
        pthread_mutex_unlock(&l->lock);
        while (todo != NULL) {
            r = todo;
            todo = r->dnext;
            if (!stopping && r->open)
                pump(l, r);
            unref(r);
        }
        if (stopping)
            break;
    }
    /* Shutting down: end whoever is left. */
    pthread_mutex_lock(&l->lock);
    while (l->all != NULL) {
        ke_log_reader *r = l->all;

        pthread_mutex_unlock(&l->lock);
        finish_msg(l, r, KE_EUNAVAIL, "shutting down");
        pthread_mutex_lock(&l->lock);
    }
    while (l->dirty != NULL) { /* marked between the last turn and the end: drop their refs */
        ke_log_reader *r = l->dirty;

        l->dirty = r->dnext;
        r->queued = 0;
        unref(r);
    }
    l->dirty_end = &l->dirty;
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int ke_logs_new(struct ke_store *store, const char *logs_dir, size_t max_readers, ke_logs **out,
                ke_error *err)
{
    ke_logs *l = calloc(1, sizeof *l);
    int rc;

    *out = NULL;
    if (l == NULL)
        return ke_error_set(err, KE_ENOMEM, "no memory for the log hub");
    l->ino = l->wake = l->dir_wd = -1;
    pthread_mutex_init(&l->lock, NULL);
    l->dirty_end = &l->dirty;
    l->store = store;
    l->max = max_readers ? max_readers : KE_LOGS_DEFAULT_MAX_READERS;
    l->logs_dir = strdup(logs_dir);
    l->buf = malloc(KE_LOGS_CHUNK);
    if (l->logs_dir == NULL || l->buf == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "no memory for the log hub");
        goto fail;
    }
    l->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    l->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->ino < 0 || l->wake < 0) {
        rc = ke_error_set(err, KE_EIO, "log hub: %s: %s", l->ino < 0 ? "inotify" : "eventfd",
                          strerror(errno));
        goto fail;
    }
    l->dir_wd = inotify_add_watch(l->ino, l->logs_dir, DIR_EVENTS | IN_ONLYDIR);
    rc = ke_store_subscribe(store, on_changes, l, err);
    if (rc != KE_OK)
        goto fail;
    l->subscribed = 1;
    if (pthread_create(&l->thread, NULL, hub_main, l) != 0) {
        rc = ke_error_set(err, KE_EIO, "log hub: cannot start its thread");
        goto fail;
    }
    l->started = 1;
    *out = l;
    return KE_OK;
fail:
    ke_logs_free(l);
    return rc;
}

void ke_logs_free(ke_logs *l)
{
    if (l == NULL)
        return;
    if (l->subscribed)
        ke_store_unsubscribe(l->store, on_changes, l);
    if (l->started) {
        pthread_mutex_lock(&l->lock);
        l->stopping = 1;
        pthread_mutex_unlock(&l->lock);
        signal_hub(l);
        pthread_join(l->thread, NULL);
    }
    if (l->ino >= 0)
        close(l->ino);
    if (l->wake >= 0)
        close(l->wake);
    pthread_mutex_destroy(&l->lock);
    free(l->buf);
    free(l->logs_dir);
    free(l);
}

/* An id names a file in logs_dir: nothing that could leave it. */
static int id_ok(const char *id)
{
    size_t len = id != NULL ? strlen(id) : 0;

    return len > 0 && len <= KE_ID_LEN && strchr(id, '/') == NULL && strcmp(id, ".") != 0 &&
           strcmp(id, "..") != 0;
}

int ke_logs_open(ke_logs *l, const char *id, int follow, long tail_lines, const ke_log_sink *sink,
                 ke_log_reader **out, ke_error *err)
{
    ke_log_reader *r;

    *out = NULL;
    if (tail_lines < 0 || tail_lines > KE_LOGS_MAX_TAIL_LINES)
        return ke_error_set(err, KE_EINVAL, "tail_lines %ld is out of range 0..%d", tail_lines,
                            KE_LOGS_MAX_TAIL_LINES);
    if (!id_ok(id))
        return ke_error_set(err, KE_EINVAL, "pipeline id \"%.64s\" is not a pipeline id",
                            id != NULL ? id : "");
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return ke_error_set(err, KE_ENOMEM, "no memory for a log reader");
    r->hub = l;
    snprintf(r->id, sizeof r->id, "%s", id);
    r->follow = follow != 0;
    r->tail = tail_lines;
    r->sink = *sink;
    r->fd = r->wd = -1;
    atomic_init(&r->refs, 2); /* the owner's, the hub's */
    pthread_mutex_lock(&l->lock);
    if (l->stopping || l->n >= l->max) {
        size_t max = l->max;
        int stopping = l->stopping;

        pthread_mutex_unlock(&l->lock);
        free(r);
        if (stopping)
            return ke_error_set(err, KE_EUNAVAIL, "shutting down");
        return ke_error_set(err, KE_EUNAVAIL, "too many log streams: at most %zu at once", max);
    }
    r->open = 1;
    r->next = l->all;
    if (l->all != NULL)
        l->all->prev = r;
    l->all = r;
    l->n++;
    mark_dirty(l, r);
    pthread_mutex_unlock(&l->lock);
    signal_hub(l);
    *out = r;
    return KE_OK;
}

void ke_logs_wake(ke_log_reader *r)
{
    ke_logs *l = r->hub;
    int any;

    pthread_mutex_lock(&l->lock);
    any = mark_dirty(l, r);
    pthread_mutex_unlock(&l->lock);
    if (any)
        signal_hub(l);
}

void ke_logs_cancel(ke_log_reader *r)
{
    ke_logs *l = r->hub;
    int any;

    pthread_mutex_lock(&l->lock);
    r->cancelled = 1;
    any = mark_dirty(l, r);
    pthread_mutex_unlock(&l->lock);
    if (any)
        signal_hub(l);
}

void ke_logs_unref(ke_log_reader *r)
{
    if (r != NULL)
        unref(r);
}

size_t ke_logs_count(ke_logs *l)
{
    size_t n;

    pthread_mutex_lock(&l->lock);
    n = l->n;
    pthread_mutex_unlock(&l->lock);
    return n;
}
