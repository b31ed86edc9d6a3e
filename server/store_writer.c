/* store_writer.c -- the store's writer thread: queued requests, one transaction per batch
 * (group commit), never an OK for what did not commit, and final statuses kept and retried
 * until they commit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kec_log.h"
#include "store_internal.h"

#define BATCH_MAX 4096 /* requests one transaction takes at most */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- one transaction */

/* A batch's failure reaches every request in it, except a request-level answer that stays
 * true however the batch ends (a parent or pipeline that does not exist). */
static void fail_req(ke_req *r, const ke_error *e)
{
    if (r->rc == KE_ENOTFOUND)
        return;
    r->rc = e->code;
    r->err = *e;
    r->added_ready = 0;
}

/* Runs one request inside a savepoint, so a failed one leaves the others. Returns 1 when the
 * transaction is broken (gone, or in an unknown state): berr then says why and the whole batch
 * fails. */
static int run_req(ke_store *s, ke_req *r, ke_error *berr)
{
    size_t mark = ke_store_changes_mark(s);
    int rc;

    if (ke_store_step_once(s->st_savepoint) != KE_OK) {
        ke_store_db_error(berr, s->wdb, s->path, "savepoint");
        return 1;
    }
    rc = ke_store_exec_req(s, r);
    if (rc == KE_ESTORE)
        rc = ke_store_db_error(&r->err, s->wdb, s->path, "write");
    else if (rc == KE_ENOMEM)
        ke_error_set(&r->err, KE_ENOMEM, "store: out of memory");
    r->rc = rc;
    if (rc != KE_OK)
        r->added_ready = 0;
    if (sqlite3_get_autocommit(s->wdb)) {
        /* SQLite rolled the whole transaction back (e.g. after SQLITE_FULL): what earlier
         * requests wrote is gone too. */
        if (rc != KE_OK && r->err.code != KE_ENOTFOUND)
            *berr = r->err;
        else
            ke_error_set(berr, KE_EUNAVAIL,
                         "store: %s: the transaction was rolled back; retry later", s->path);
        return 1;
    }
    if (rc != KE_OK && ke_store_step_once(s->st_rollback_to) != KE_OK) {
        ke_store_db_error(berr, s->wdb, s->path, "rollback to savepoint");
        return 1;
    }
    if (rc != KE_OK)
        ke_store_changes_rewind(s, mark);
    if (ke_store_step_once(s->st_release) != KE_OK) {
        ke_store_db_error(berr, s->wdb, s->path, "release savepoint");
        return 1;
    }
    return 0;
}

/* ---- the fast way: a batch of accepts without savepoints
 *
 * A savepoint per request costs its pages' copies in the statement journal. Nearly every
 * batch on the hot path holds only accepts that all succeed, so such a batch first runs without
 * savepoints and checks the size cap once, before COMMIT. When any of its accepts fails (a
 * SQLite error), the database is past the cap, or the commit fails, the transaction is rolled
 * back, every request is put back as it was queued, and the batch runs again the careful way
 * (run_req), which gives each request its own answer. */

static int only_accepts(const ke_req *batch)
{
    for (; batch != NULL; batch = batch->next)
        if (batch->kind != KE_REQ_ACCEPT)
            return 0;
    return 1;
}

/* Puts an accept back as it was queued: its own pipelines, no outcome. */
static void restore_accept(ke_req *r)
{
    if (r->duplicate) {
        ke_pipelines_free(r->ps, r->n);
        r->ps = r->spare;
        r->n = r->n_spare;
        r->spare = NULL;
        r->n_spare = 0;
        r->duplicate = 0;
    }
    r->added_ready = 0;
    r->rc = KE_OK;
    ke_error_clear(&r->err);
}

/* Returns 1 when the batch committed with every request KE_OK, 0 when it was rolled back
 * and put back for the careful way. */
static int run_fast(ke_store *s, ke_req *batch)
{
    ke_req *r;
    int ok;

    ok = ke_store_step_once(s->st_begin) == KE_OK;
    s->cap_deferred = 1; /* once for the whole batch, below */
    for (r = batch; ok && r != NULL; r = r->next)
        ok = ke_store_exec_req(s, r) == KE_OK;
    s->cap_deferred = 0;
    if (ok && !ke_store_past_cap(s) && ke_store_step_once(s->st_commit) == KE_OK)
        return 1;
    if (!sqlite3_get_autocommit(s->wdb))
        ke_store_exec(s->wdb, "ROLLBACK");
    ke_store_changes_rewind(s, 0);
    for (r = batch; r != NULL; r = r->next)
        restore_accept(r);
    return 0;
}

/* Runs batch in one transaction. Every request ends with r->rc set: KE_OK only when what it
 * wrote (or read) is part of a transaction that committed. *seconds receives how long
 * BEGIN..COMMIT took when it committed. */
static void run_batch(ke_store *s, ke_req *batch, double *seconds)
{
    struct timespec t0, t1;
    ke_error berr;
    ke_req *r;
    int broken = 0;

    ke_error_clear(&berr);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!sqlite3_get_autocommit(s->wdb)) /* a rollback failed last time: try again */
        ke_store_exec(s->wdb, "ROLLBACK");
    if (only_accepts(batch) && sqlite3_get_autocommit(s->wdb) && run_fast(s, batch)) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        *seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        return;
    }
    if (ke_store_step_once(s->st_begin) != KE_OK) {
        ke_store_db_error(&berr, s->wdb, s->path, "begin");
        broken = 1;
    }
    for (r = batch; !broken && r != NULL; r = r->next)
        broken = run_req(s, r, &berr);
    if (!broken && ke_store_step_once(s->st_commit) != KE_OK) {
        ke_store_db_error(&berr, s->wdb, s->path, "commit");
        broken = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (!broken)
        return;
    ke_store_changes_rewind(s, 0);
    if (!sqlite3_get_autocommit(s->wdb))
        ke_store_exec(s->wdb, "ROLLBACK");
    if (berr.code == KE_OK) /* defensive: a failure always has a retryable answer */
        ke_error_set(&berr, KE_EUNAVAIL, "store: %s: the transaction failed; retry later", s->path);
    for (r = batch; r != NULL; r = r->next)
        fail_req(r, &berr);
}

/* ---- completing requests */

static int retryable(int rc)
{
    return rc == KE_EUNAVAIL || rc == KE_ESTORE || rc == KE_ENOMEM;
}

static void finish_free(ke_req *r)
{
    free(r->id);
    free(r->st.runner);
    free(r->st.error);
    free(r->st.log_path);
    free(r->st.remote_json);
    free(r);
}

/* A final status that failed to commit stays with the writer, tried again after a pause that
 * doubles up to KE_STORE_RETRY_MAX_MS (sooner once any commit succeeds); its caller is told
 * KE_OK. While the store closes (final), one more failure gives up, loudly. */
static void finish_done(ke_store *s, ke_req *r, int final)
{
    ke_req_waiter *w = r->waiter;

    if (retryable(r->rc) && !final) {
        if (w != NULL || r->backoff_ms >= KE_STORE_RETRY_MAX_MS)
            kec_log_fields(KEC_LOG_ERROR, &(kec_log_field){"pipeline_id", r->id}, 1,
                           "store: recording pipeline %s as %s: %s (kept in memory, retried "
                           "until it commits)",
                           r->id, ke_state_name(r->st.state), r->err.msg);
        if (r->backoff_ms == 0)
            r->backoff_ms = KE_STORE_RETRY_MIN_MS;
        r->retry_at_ms = mono_ms() + r->backoff_ms;
        r->backoff_ms *= 2;
        if (r->backoff_ms > KE_STORE_RETRY_MAX_MS)
            r->backoff_ms = KE_STORE_RETRY_MAX_MS;
        r->rc = KE_OK;
        ke_error_clear(&r->err);
        r->waiter = NULL;
        r->next = s->retry;
        s->retry = r;
        if (w != NULL) {
            pthread_mutex_lock(&s->qlock);
            w->rc = KE_OK;
            w->kept = 1;
            w->done = 1;
            pthread_cond_broadcast(&s->donecond);
            pthread_mutex_unlock(&s->qlock);
        }
        return;
    }
    if (w != NULL) {
        pthread_mutex_lock(&s->qlock);
        w->rc = r->rc;
        w->err = r->err;
        w->done = 1;
        pthread_cond_broadcast(&s->donecond);
        pthread_mutex_unlock(&s->qlock);
    } else if (r->rc == KE_OK) {
        kec_log_fields(KEC_LOG_INFO, &(kec_log_field){"pipeline_id", r->id}, 1,
                       "store: pipeline %s recorded as %s", r->id, ke_state_name(r->st.state));
    } else {
        kec_log_fields(KEC_LOG_ERROR, &(kec_log_field){"pipeline_id", r->id}, 1,
                       "store: recording pipeline %s as %s: %s (given up; the next start marks "
                       "it interrupted)",
                       r->id, ke_state_name(r->st.state), r->err.msg);
    }
    finish_free(r);
}

/* Completes a request: callback (async), its waiter (finish), or wake its waiter (sync). */
static void complete(ke_store *s, ke_req *r, int final)
{
    ke_pipelines_free(r->spare, r->n_spare);
    r->spare = NULL;
    r->n_spare = 0;
    if (r->kind == KE_REQ_FINISH) {
        finish_done(s, r, final);
        return;
    }
    if (r->acb != NULL) {
        r->acb(r->ctx, r->rc, &r->err, r->ps, r->n, r->duplicate);
        r->ps = NULL;
        free(r->source);
        free(r->event_id);
        free(r);
        return;
    }
    if (r->ccb != NULL) {
        r->ccb(r->ctx, r->rc, &r->err, r->rc == KE_OK && r->n == 1 ? r->ps : NULL,
               r->rc == KE_OK && r->count);
        ke_pipelines_free(r->ps, r->n);
        free(r->id);
        free(r);
        return;
    }
    if (r->icb != NULL) {
        r->icb(r->ctx, r->rc, &r->err);
        if (r->ps != NULL)
            ke_pipeline_release(r->ps);
        free(r->ps);
        free(r);
        return;
    }
    pthread_mutex_lock(&s->qlock);
    r->done = 1;
    pthread_cond_broadcast(&s->donecond);
    pthread_mutex_unlock(&s->qlock);
}

/* ---- answering off the writer

 * A callback encodes and sends its caller's answer (grpc core writes to the socket on the
 * calling thread): the answerer thread runs them, in commit order, so the writer goes on to
 * the next transaction at once. Sync requests go the same way, so every request is answered in
 * the order it was queued; final statuses are completed by the writer itself (the kept-status
 * list is the writer's alone). */

typedef struct ke_answers {
    ke_req *head, *tail;
} ke_answers;

static int answered_later(const ke_req *r)
{
    return r->kind != KE_REQ_FINISH;
}

static void keep_answer(ke_answers *a, ke_req *r)
{
    r->next = NULL;
    if (a->tail != NULL)
        a->tail->next = r;
    else
        a->head = r;
    a->tail = r;
}

/* Moves a's requests to the answer queue (one lock and one wake-up for the whole batch).
 * When nothing waits for the writer and the answerer has nothing left of earlier batches, the
 * writer answers them itself: one thread wake-up less on a lone request's way, and the order
 * stays the queue's. */
static void hand_answers(ke_store *s, ke_answers *a)
{
    ke_req *r, *next;
    int idle;

    if (a->head == NULL)
        return;
    pthread_mutex_lock(&s->qlock);
    idle = s->head == NULL;
    pthread_mutex_unlock(&s->qlock);
    pthread_mutex_lock(&s->alock);
    if (idle && s->ahead == NULL && !s->answering) {
        pthread_mutex_unlock(&s->alock);
        for (r = a->head; r != NULL; r = next) {
            next = r->next;
            complete(s, r, 0);
        }
        a->head = a->tail = NULL;
        return;
    }
    if (s->atail != NULL)
        s->atail->next = a->head;
    else
        s->ahead = a->head;
    s->atail = a->tail;
    pthread_cond_signal(&s->acond);
    pthread_mutex_unlock(&s->alock);
    a->head = a->tail = NULL;
}

static void *answerer_main(void *arg)
{
    ke_store *s = arg;
    ke_req *r, *next;

    pthread_mutex_lock(&s->alock);
    for (;;) {
        while (s->ahead == NULL && !s->answer_stopping)
            pthread_cond_wait(&s->acond, &s->alock);
        r = s->ahead;
        s->ahead = s->atail = NULL;
        if (r == NULL) /* stopping, and nothing left */
            break;
        s->answering = 1;
        pthread_mutex_unlock(&s->alock);
        for (; r != NULL; r = next) {
            next = r->next;
            complete(s, r, 0);
        }
        pthread_mutex_lock(&s->alock);
        s->answering = 0;
    }
    pthread_mutex_unlock(&s->alock);
    return NULL;
}

/* ---- the thread */

/* The earliest retry time of the kept statuses, or -1 when none is kept. */
static int64_t next_retry(const ke_store *s)
{
    const ke_req *r;
    int64_t at = -1;

    for (r = s->retry; r != NULL; r = r->next)
        if (at < 0 || r->retry_at_ms < at)
            at = r->retry_at_ms;
    return at;
}

static void wait_until_ms(ke_store *s, int64_t at_ms)
{
    struct timespec ts;
    int64_t left = at_ms - mono_ms();

    if (left <= 0)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&s->qcond, &s->qlock, &ts);
}

/* Waits for work and takes the next batch: the kept statuses that are due, then up to
 * BATCH_MAX queued requests. Returns NULL when the store is stopping and nothing is left;
 * *final is set once stopping. */
static ke_req *take(ke_store *s, int *final)
{
    ke_req *batch = NULL, *r, **link;
    int64_t at;
    int n;

    pthread_mutex_lock(&s->qlock);
    for (;;) {
        *final = s->stopping;
        at = next_retry(s);
        if (s->head != NULL && (!s->held || s->stopping))
            break;
        if (at >= 0 && (s->stopping || (!s->held && at <= mono_ms())))
            break;
        if (s->stopping && s->head == NULL && at < 0) {
            pthread_mutex_unlock(&s->qlock);
            return NULL;
        }
        if (at >= 0 && !s->held)
            wait_until_ms(s, at);
        else
            pthread_cond_wait(&s->qcond, &s->qlock);
    }
    if (s->head != NULL && (!s->held || s->stopping)) {
        batch = s->head;
        for (r = batch, n = 1; r->next != NULL && n < BATCH_MAX; r = r->next, n++)
            ;
        s->head = r->next;
        if (s->head == NULL)
            s->tail = NULL;
        r->next = NULL;
    }
    pthread_mutex_unlock(&s->qlock);
    /* Due kept statuses go first (the retry list is the writer's alone). */
    for (link = &s->retry; *link != NULL;) {
        r = *link;
        if (*final || r->retry_at_ms <= mono_ms()) {
            *link = r->next;
            r->next = batch;
            batch = r;
        } else {
            link = &r->next;
        }
    }
    return batch;
}

static void *writer_main(void *arg)
{
    ke_store *s = arg;
    ke_answers answers = {NULL, NULL};
    ke_req *batch, *r, *next;
    int ready, final, committed;
    double seconds = 0;

    while ((batch = take(s, &final)) != NULL) {
        run_batch(s, batch, &seconds);
        ready = committed = 0;
        for (r = batch; r != NULL; r = r->next) {
            ready |= r->rc == KE_OK && r->added_ready;
            committed += r->rc == KE_OK;
        }
        if (committed && atomic_load(&s->has_observer)) {
            pthread_mutex_lock(&s->qlock);
            if (s->observer != NULL)
                s->observer(s->observer_ctx, seconds, (size_t)committed);
            pthread_mutex_unlock(&s->qlock);
        }
        /* Space came back (or the fault passed): kept statuses need not wait their pause. */
        if (committed)
            for (r = s->retry; r != NULL; r = r->next)
                r->retry_at_ms = 0;
        /* Subscribers learn of the commit's changes before its callers are answered. */
        ke_store_changes_deliver(s);
        /* Wake the runner before answering, and under the lock: once a
         * caller has its answer, the hook may be unset and its target freed. */
        if (ready) {
            pthread_mutex_lock(&s->qlock);
            if (s->on_ready != NULL)
                s->on_ready(s->on_ready_ctx);
            pthread_mutex_unlock(&s->qlock);
        }
        for (r = batch; r != NULL; r = next) {
            next = r->next;
            if (answered_later(r))
                keep_answer(&answers, r);
            else
                complete(s, r, final);
        }
        hand_answers(s, &answers);
    }
    return NULL;
}

int ke_store_writer_start(ke_store *s, ke_error *err)
{
    if (pthread_create(&s->answerer, NULL, answerer_main, s) != 0)
        return ke_error_set(err, KE_ESTORE, "store: cannot start the answering thread");
    s->answerer_started = 1;
    pthread_setname_np(s->answerer, "ke-answer");
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
        return ke_error_set(err, KE_ESTORE, "store: cannot start the writer thread");
    s->writer_started = 1;
    pthread_setname_np(s->writer, "ke-writer");
    return KE_OK;
}

/* Once the writer is gone: answers what the writer handed over, then ends the answerer. */
static void answerer_stop(ke_store *s)
{
    if (!s->answerer_started)
        return;
    pthread_mutex_lock(&s->alock);
    s->answer_stopping = 1;
    pthread_cond_signal(&s->acond);
    pthread_mutex_unlock(&s->alock);
    pthread_join(s->answerer, NULL);
    s->answerer_started = 0;
}

void ke_store_writer_stop(ke_store *s)
{
    if (s->writer_started) {
        pthread_mutex_lock(&s->qlock);
        s->stopping = 1;
        pthread_cond_signal(&s->qcond);
        pthread_mutex_unlock(&s->qlock);
        pthread_join(s->writer, NULL);
        s->writer_started = 0;
    }
    answerer_stop(s);
}

void ke_store_hold(ke_store *s, int hold)
{
    pthread_mutex_lock(&s->qlock);
    s->held = hold;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
}

static void enqueue(ke_store *s, ke_req *r)
{
    pthread_mutex_lock(&s->qlock);
    if (s->tail != NULL)
        s->tail->next = r;
    else
        s->head = r;
    s->tail = r;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
}

int ke_store_run_sync(ke_store *s, ke_req *r, ke_error *err)
{
    enqueue(s, r);
    pthread_mutex_lock(&s->qlock);
    while (!r->done)
        pthread_cond_wait(&s->donecond, &s->qlock);
    pthread_mutex_unlock(&s->qlock);
    if (r->rc != KE_OK)
        ke_error_set(err, r->rc, "%s", r->err.msg);
    return r->rc;
}

/* ---- public: writes */

void ke_store_accept_async(ke_store *s, const char *source, const char *event_id, ke_pipeline *ps,
                           size_t n, ke_store_accept_cb cb, void *ctx)
{
    ke_req *r = calloc(1, sizeof *r);
    ke_error err;

    if (r != NULL) {
        r->source = strdup(source);
        r->event_id = strdup(event_id);
    }
    if (r == NULL || r->source == NULL || r->event_id == NULL) {
        if (r != NULL) {
            free(r->source);
            free(r->event_id);
            free(r);
        }
        ke_error_clear(&err);
        ke_error_set(&err, KE_ENOMEM, "store: out of memory");
        ke_pipelines_free(ps, n);
        cb(ctx, KE_ENOMEM, &err, NULL, 0, 0);
        return;
    }
    r->kind = KE_REQ_ACCEPT;
    r->ps = ps;
    r->n = n;
    r->acb = cb;
    r->ctx = ctx;
    enqueue(s, r);
}

void ke_store_insert_async(ke_store *s, ke_pipeline *p, ke_store_insert_cb cb, void *ctx)
{
    ke_req *r = calloc(1, sizeof *r);
    ke_pipeline *moved = malloc(sizeof *moved);
    ke_error err;

    if (r == NULL || moved == NULL) {
        free(r);
        free(moved);
        ke_pipeline_release(p);
        ke_error_clear(&err);
        ke_error_set(&err, KE_ENOMEM, "store: out of memory");
        cb(ctx, KE_ENOMEM, &err);
        return;
    }
    *moved = *p;
    memset(p, 0, sizeof *p);
    r->kind = KE_REQ_INSERT;
    r->ps = moved;
    r->icb = cb;
    r->ctx = ctx;
    enqueue(s, r);
}

void ke_store_cancel_async(ke_store *s, const char *id, ke_store_cancel_cb cb, void *ctx)
{
    ke_req *r = calloc(1, sizeof *r);
    ke_error err;

    if (r != NULL)
        r->id = strdup(id);
    if (r == NULL || r->id == NULL) {
        free(r);
        ke_error_clear(&err);
        ke_error_set(&err, KE_ENOMEM, "store: out of memory");
        cb(ctx, KE_ENOMEM, &err, NULL, 0);
        return;
    }
    r->kind = KE_REQ_CANCEL;
    r->ccb = cb;
    r->ctx = ctx;
    enqueue(s, r);
}

int ke_store_accept(ke_store *s, const char *source, const char *event_id, const ke_pipeline *ps,
                    size_t n, ke_pipeline **orig, size_t *n_orig, int *duplicate, ke_error *err)
{
    ke_req r;
    size_t i;
    int rc;

    *orig = NULL;
    *n_orig = 0;
    *duplicate = 0;
    memset(&r, 0, sizeof r);
    r.kind = KE_REQ_ACCEPT;
    r.source = (char *)source;
    r.event_id = (char *)event_id;
    r.ps = calloc(n ? n : 1, sizeof *r.ps);
    if (r.ps == NULL)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    for (i = 0; i < n; i++) {
        if (ke_pipeline_copy(&r.ps[i], &ps[i]) != KE_OK) {
            ke_pipelines_free(r.ps, i);
            return ke_error_set(err, KE_ENOMEM, "store: out of memory");
        }
    }
    r.n = n;
    rc = ke_store_run_sync(s, &r, err);
    if (rc != KE_OK) {
        ke_pipelines_free(r.ps, r.n);
        return rc;
    }
    *orig = r.ps;
    *n_orig = r.n;
    *duplicate = r.duplicate;
    return KE_OK;
}

int ke_store_insert(ke_store *s, const ke_pipeline *p, ke_error *err)
{
    ke_pipeline copy;
    ke_req r;
    int rc;

    if (ke_pipeline_copy(&copy, p) != KE_OK)
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    memset(&r, 0, sizeof r);
    r.kind = KE_REQ_INSERT;
    r.ps = &copy;
    rc = ke_store_run_sync(s, &r, err);
    ke_pipeline_release(&copy);
    return rc;
}

int ke_store_claim(ke_store *s, const char *runner, ke_pipeline *out, int *found, ke_error *err)
{
    ke_req r;
    int rc;

    *found = 0;
    memset(&r, 0, sizeof r);
    r.kind = KE_REQ_CLAIM;
    r.runner = runner;
    rc = ke_store_run_sync(s, &r, err);
    if (rc == KE_OK && r.count == 1) {
        *out = r.ps[0];
        *found = 1;
        free(r.ps);
    } else {
        ke_pipelines_free(r.ps, r.count);
    }
    return rc;
}

static char *dup_or_null(const char *s, int *ok)
{
    char *d = s != NULL ? strdup(s) : NULL;

    if (s != NULL && d == NULL)
        *ok = 0;
    return d;
}

int ke_store_finish(ke_store *s, const char *id, const ke_status *st, ke_error *err)
{
    ke_req *r = calloc(1, sizeof *r);
    ke_req_waiter w;
    int ok = r != NULL;

    if (ok) {
        r->kind = KE_REQ_FINISH;
        r->st = *st;
        r->id = dup_or_null(id, &ok);
        r->st.runner = dup_or_null(st->runner, &ok);
        r->st.error = dup_or_null(st->error, &ok);
        r->st.log_path = dup_or_null(st->log_path, &ok);
        r->st.remote_json = dup_or_null(st->remote_json, &ok);
    }
    if (!ok) {
        if (r != NULL)
            finish_free(r);
        return ke_error_set(err, KE_ENOMEM, "store: out of memory");
    }
    memset(&w, 0, sizeof w);
    r->waiter = &w;
    enqueue(s, r); /* the writer owns r from here */
    pthread_mutex_lock(&s->qlock);
    while (!w.done)
        pthread_cond_wait(&s->donecond, &s->qlock);
    pthread_mutex_unlock(&s->qlock);
    if (w.rc != KE_OK)
        ke_error_set(err, w.rc, "%s", w.err.msg);
    return w.rc;
}

int ke_store_recover(ke_store *s, int requeue, size_t *n, ke_error *err)
{
    ke_req r;
    int rc;

    memset(&r, 0, sizeof r);
    r.kind = KE_REQ_RECOVER;
    r.requeue = requeue;
    rc = ke_store_run_sync(s, &r, err);
    *n = rc == KE_OK ? r.count : 0;
    return rc;
}

void ke_store_on_ready(ke_store *s, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&s->qlock);
    s->on_ready = fn;
    s->on_ready_ctx = ctx;
    pthread_mutex_unlock(&s->qlock);
}

void ke_store_on_commit(ke_store *s, ke_store_commit_fn fn, void *ctx)
{
    pthread_mutex_lock(&s->qlock);
    s->observer = fn;
    s->observer_ctx = ctx;
    atomic_store(&s->has_observer, fn != NULL);
    pthread_mutex_unlock(&s->qlock);
}
