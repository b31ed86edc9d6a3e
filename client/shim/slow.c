/* slow.c -- cuts connections whose request arrives too slowly or that idle too long, by
 * shutting their socket down from a watcher thread (the HTTP library then closes them as if
 * the client had left). libmicrohttpd's own timeout is one of inactivity: a client that
 * sends a byte now and then never meets it; these deadlines run from a fixed start.
 *
 * Each phase has one timeout, so a list per phase, appended at its tail, stays sorted by
 * deadline: the watcher only looks at heads. One mutex guards both lists, and kes_slow_close
 * takes it before the socket is closed, so the watcher never shuts down a reused descriptor. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "slow.h"

typedef enum phase {
    P_READING, /* a request is awaited or being received: read deadline */
    P_IDLE,    /* kept alive between requests: idle deadline */
    P_BUSY,    /* processed or answered: no deadline */
    P_CUT      /* shut down by the watcher, waiting to be closed */
} phase;

typedef struct list {
    kes_slow_conn *head; /* earliest deadline */
    kes_slow_conn *tail; /* latest */
} list;

struct kes_slow_conn {
    kes_slow *s;         /* the watcher */
    int fd;              /* the connection's socket */
    phase phase;         /* what it waits for */
    struct timespec due; /* P_READING, P_IDLE: when it is cut */
    kes_slow_conn *prev; /* in its phase's list */
    kes_slow_conn *next; /* in its phase's list */
};

struct kes_slow {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;  /* a stop, or an earlier deadline */
    pthread_t thread;     /* the watcher */
    unsigned read_ms;     /* read timeout */
    unsigned idle_ms;     /* idle timeout */
    list reading;         /* P_READING connections, by deadline */
    list idle;            /* P_IDLE connections, by deadline */
    unsigned long cut;    /* connections cut so far */
    int stop;             /* kes_slow_free was called */
    struct timespec look; /* when the watcher looks again (zero: it has not slept yet) */
};

static list *list_of(kes_slow *s, phase p)
{
    return p == P_READING ? &s->reading : p == P_IDLE ? &s->idle : NULL;
}

/* Takes c out of its phase's list (lock held). */
static void unlink_conn(kes_slow_conn *c)
{
    list *l = list_of(c->s, c->phase);

    if (l == NULL)
        return;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

static int before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/* Moves c to phase p, due ms from now for a timed phase (lock held). */
static void enter(kes_slow_conn *c, phase p, unsigned ms)
{
    list *l;

    unlink_conn(c);
    c->phase = p;
    l = list_of(c->s, p);
    if (l == NULL)
        return;
    clock_gettime(CLOCK_MONOTONIC, &c->due);
    c->due.tv_sec += ms / 1000;
    c->due.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (c->due.tv_nsec >= 1000000000L) {
        c->due.tv_sec++;
        c->due.tv_nsec -= 1000000000L;
    }
    c->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    /* Woken only when it would look too late: a busy server moves connections between
     * phases several times a request, and a wake-up each time cost more than the request's
     * own work. A deadline at or after the watcher's next look is seen then. */
    if (c->s->look.tv_sec != 0 && !before(&c->s->look, &c->due))
        pthread_cond_signal(&c->s->wake);
}

/* Cuts the connections of l due by now; leaves the next deadline in *next (when earlier). */
static void cut_due(kes_slow *s, list *l, const struct timespec *now, struct timespec *next)
{
    kes_slow_conn *c;

    while ((c = l->head) != NULL && before(&c->due, now)) {
        unlink_conn(c);
        c->phase = P_CUT;
        shutdown(c->fd, SHUT_RDWR);
        s->cut++;
    }
    if (c != NULL && before(&c->due, next))
        *next = c->due;
}

static void *watch(void *arg)
{
    kes_slow *s = arg;
    struct timespec now, next;

    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        next = now;
        next.tv_sec += 3600;
        cut_due(s, &s->reading, &now, &next);
        cut_due(s, &s->idle, &now, &next);
        s->look = next;
        pthread_cond_timedwait(&s->wake, &s->lock, &next);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int kes_slow_new(unsigned read_ms, unsigned idle_ms, kes_slow **out)
{
    pthread_condattr_t ca;
    kes_slow *s;

    *out = NULL;
    if ((s = calloc(1, sizeof *s)) == NULL)
        return -1;
    s->read_ms = read_ms;
    s->idle_ms = idle_ms;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, watch, s) != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void kes_slow_free(kes_slow *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

kes_slow_conn *kes_slow_open(kes_slow *s, int fd)
{
    kes_slow_conn *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    c->s = s;
    c->fd = fd;
    c->phase = P_BUSY;
    pthread_mutex_lock(&s->lock);
    enter(c, P_READING, s->read_ms);
    pthread_mutex_unlock(&s->lock);
    return c;
}

/* Moves c to phase p unless it was cut (or, for P_READING, is reading already). */
static void move(kes_slow_conn *c, phase p)
{
    kes_slow *s;

    if (c == NULL)
        return;
    s = c->s;
    pthread_mutex_lock(&s->lock);
    if (c->phase != P_CUT && c->phase != p)
        enter(c, p, p == P_READING ? s->read_ms : s->idle_ms);
    pthread_mutex_unlock(&s->lock);
}

void kes_slow_reading(kes_slow_conn *c)
{
    move(c, P_READING);
}

void kes_slow_busy(kes_slow_conn *c)
{
    move(c, P_BUSY);
}

void kes_slow_idle(kes_slow_conn *c)
{
    move(c, P_IDLE);
}

void kes_slow_close(kes_slow_conn *c)
{
    kes_slow *s;

    if (c == NULL)
        return;
    s = c->s;
    pthread_mutex_lock(&s->lock);
    unlink_conn(c);
    pthread_mutex_unlock(&s->lock);
    free(c);
}

unsigned long kes_slow_cut_count(kes_slow *s)
{
    unsigned long n;

    pthread_mutex_lock(&s->lock);
    n = s->cut;
    pthread_mutex_unlock(&s->lock);
    return n;
}
