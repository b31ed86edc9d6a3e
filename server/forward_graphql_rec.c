/* forward_graphql_rec.c -- the kedro-graphql forwarder's recorder threads: the store's commits
 * (takes of READY pipelines; hand-overs and permanent failures) wait for the disk here while
 * the forwarder thread goes on reading kedro-graphql's answers. One thread takes and one
 * records, so a take and a record waiting at the same time share the writer's group commit
 * (one fsync) instead of queuing behind each other. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forward_graphql_internal.h"

/* Takes what the forwarder asked for (called and returning with rec_lock held). */
static void rec_take(ke_graphql_forwarder *f)
{
    size_t room = f->take_room, n = 0;
    long long from = f->take_from;
    ke_forward_item *got = NULL;
    ke_error err;
    int rc;

    pthread_mutex_unlock(&f->rec_lock);
    ke_error_clear(&err);
    rc = ke_store_take_forward(f->store, from, room, &got, &n, &err);
    if (rc != KE_OK)
        ke_gf_log("taking READY pipelines failed: %s; trying again%s", err.msg, "");
    pthread_mutex_lock(&f->rec_lock);
    f->taken = rc == KE_OK ? got : NULL;
    f->n_taken = rc == KE_OK ? n : 0;
    f->take_failed = rc != KE_OK;
    f->take_room = 0; /* done: the forwarder collects it */
    curl_multi_wakeup(f->multi);
}

/* Commits the outcomes in pend[0..n) in one transaction; 0, or -1 (kept for a retry). Called
 * without rec_lock. */
static int rec_apply(ke_graphql_forwarder *f, item *pend, size_t n, ke_remote_update *u)
{
    ke_error err;
    size_t i;

    for (i = 0; i < n; i++) {
        u[i] = pend[i].upd;
        u[i].id = pend[i].it.p.id; /* the item moved since upd was filled */
    }
    ke_error_clear(&err);
    if (ke_store_apply_remote(f->store, u, n, NULL, &err) != KE_OK) {
        ke_gf_log("recording forwarded pipelines failed: %s; trying again%s", err.msg, "");
        return -1;
    }
    for (i = 0; i < n; i++)
        ke_gf_item_release(&pend[i]);
    return 0;
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

typedef struct rec_buf {
    item *pend;          /* outcomes taken from the queue, not yet committed */
    size_t n;            /* how many */
    ke_remote_update *u; /* room for the updates of pend */
    int retry_wait;      /* the last commit failed: pause before the next */
} rec_buf;

/* One round with rec_lock held: a take (the taker), or a commit of the queued outcomes (the
 * recorder). 0 when there was nothing to do. */
static int rec_round(ke_graphql_forwarder *f, rec_buf *b, int taker)
{
    size_t cap = (size_t)f->max_forwards;
    int rc;

    if (taker) {
        if (f->take_room == 0)
            return 0;
        rec_take(f);
        return 1;
    }
    if (b->retry_wait || (f->n_rq == 0 && b->n == 0))
        return 0;
    while (f->n_rq > 0 && b->n < cap)
        b->pend[b->n++] = f->rq[--f->n_rq];
    f->n_recording = b->n;
    pthread_mutex_unlock(&f->rec_lock);
    rc = rec_apply(f, b->pend, b->n, b->u);
    pthread_mutex_lock(&f->rec_lock);
    if (rc == 0)
        b->n = 0;
    b->retry_wait = rc != 0;
    f->n_recording = b->n;
    curl_multi_wakeup(f->multi); /* the queue has room again */
    return 1;
}

static void *rec_loop(ke_graphql_forwarder *f, int taker)
{
    rec_buf b = {0};
    struct timespec ts;

    b.pend = calloc((size_t)f->max_forwards, sizeof *b.pend);
    b.u = calloc((size_t)f->max_forwards, sizeof *b.u);
    pthread_mutex_lock(&f->rec_lock);
    while (!f->rec_stop) {
        if (b.pend == NULL || b.u == NULL) { /* out of memory: nothing is recorded; retry */
            pthread_mutex_unlock(&f->rec_lock);
            free(b.pend);
            free(b.u);
            b.pend = calloc((size_t)f->max_forwards, sizeof *b.pend);
            b.u = calloc((size_t)f->max_forwards, sizeof *b.u);
            pthread_mutex_lock(&f->rec_lock);
            deadline_after(&ts, KE_GF_STORE_RETRY_MS);
            pthread_cond_timedwait(&f->rec_cond, &f->rec_lock, &ts);
            continue;
        }
        if (rec_round(f, &b, taker))
            continue;
        if (b.retry_wait) {
            deadline_after(&ts, KE_GF_STORE_RETRY_MS);
            if (pthread_cond_timedwait(&f->rec_cond, &f->rec_lock, &ts) == ETIMEDOUT)
                b.retry_wait = 0;
        } else {
            pthread_cond_wait(&f->rec_cond, &f->rec_lock);
        }
    }
    pthread_mutex_unlock(&f->rec_lock);
    /* Outcomes never committed: their rows stay READY and attempted, looked up next time. */
    while (b.n > 0)
        ke_gf_item_release(&b.pend[--b.n]);
    free(b.pend);
    free(b.u);
    return NULL;
}

static void *rec_main(void *arg)
{
    return rec_loop(arg, 0);
}

static void *take_main(void *arg)
{
    return rec_loop(arg, 1);
}

int ke_gf_recorder_start(ke_graphql_forwarder *f)
{
    int e = pthread_create(&f->rec_thread, NULL, rec_main, f);

    f->rec_started = e == 0;
    if (e != 0)
        return e;
    e = pthread_create(&f->take_thread, NULL, take_main, f);
    f->take_started = e == 0;
    if (e != 0)
        ke_gf_recorder_stop(f);
    return e;
}

void ke_gf_recorder_stop(ke_graphql_forwarder *f)
{
    if (!f->rec_started && !f->take_started)
        return;
    pthread_mutex_lock(&f->rec_lock);
    f->rec_stop = 1;
    pthread_cond_broadcast(&f->rec_cond);
    pthread_mutex_unlock(&f->rec_lock);
    if (f->rec_started)
        pthread_join(f->rec_thread, NULL);
    if (f->take_started)
        pthread_join(f->take_thread, NULL);
    f->rec_started = f->take_started = 0;
}
