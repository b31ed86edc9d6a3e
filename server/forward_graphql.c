/* forward_graphql.c -- the kedro-graphql forwarder: one thread with a libcurl multi handle (one
 * connection pool) that takes READY pipelines, creates them STAGED in kedro-graphql, updates
 * them READY with their own id, records the hand-over, and mirrors the runs' states back. */

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forward_graphql_internal.h"
#include "kec_log.h"

#define IDLE_MS 1000 /* READY rows are looked for this often without a wake-up */

int64_t ke_gf_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ke_gf_log(const char *fmt, const char *a, const char *b)
{
    char msg[2048];

    snprintf(msg, sizeof msg, fmt, a, b);
    kec_log(KEC_LOG_WARNING, "kedro-graphql: %s", msg);
}

/* ---- items */

static void item_clear_outcome(item *t)
{
    free(t->remote_json);
    free(t->status_json);
    free(t->error);
    t->remote_json = t->status_json = t->error = NULL;
    memset(&t->upd, 0, sizeof t->upd);
}

void ke_gf_item_release(item *t)
{
    item_clear_outcome(t);
    ke_pipeline_release(&t->it.p);
    free(t->it.parent_remote_id);
    free(t->remote_id);
    memset(t, 0, sizeof *t);
}

/* Sets t to be recorded: remote_id (may be NULL), state st with error (may be NULL), and
 * kedro-graphql's pipeline object (may be NULL) and status entry (may be NULL). */
static void item_outcome(item *t, ke_state st, const char *error, const void *pl,
                         const void *status)
{
    item_clear_outcome(t);
    t->ph = PH_APPLY;
    t->upd.id = t->it.p.id;
    t->upd.remote_id = t->remote_id;
    t->remote_json = pl != NULL ? ke_gql_pipeline_json(pl) : NULL;
    t->status_json = status != NULL ? ke_gql_status_json(status) : NULL;
    t->error = error != NULL ? strdup(error) : NULL;
    t->upd.remote_json = t->remote_json;
    t->upd.st.state = st;
    t->upd.st.runner = (char *)KE_GQL_RUNNER;
    t->upd.st.remote_json = t->status_json;
    t->upd.st.error = t->error;
    if (st == KE_STATE_FAILURE)
        t->upd.st.finished_at = ke_now_us();
}

static int set_remote_id(item *t, const char *id)
{
    char *d;

    if (t->remote_id != NULL && strcmp(t->remote_id, id) == 0)
        return 0;
    d = strdup(id);
    if (d == NULL)
        return -1;
    free(t->remote_id);
    t->remote_id = d;
    return 0;
}

/* The parent's kedro-graphql id for t's create: from the take, or from the parent's item when
 * it is in hand. *wait = 1 when the parent is in hand and not yet created there. */
static const char *parent_remote(ke_graphql_forwarder *f, const item *t, int *wait)
{
    int i;

    *wait = 0;
    if (t->it.parent_remote_id != NULL || t->it.p.parent == NULL)
        return t->it.parent_remote_id;
    for (i = 0; i < f->max_forwards; i++) {
        const item *u = &f->items[i];

        if (u->used && strcmp(u->it.p.id, t->it.p.parent) == 0) {
            *wait = u->remote_id == NULL || u->ph == PH_CREATE || u->ph == PH_LOOKUP;
            return u->remote_id;
        }
    }
    /* Handed over lately, perhaps not committed when t was taken. */
    for (i = 0; (size_t)i < f->n_recent; i++)
        if (strcmp(f->recent[i].id, t->it.p.parent) == 0)
            return f->recent[i].remote_id;
    return NULL;
}

/* Remembers t's kedro-graphql id for children taken before its hand-over commits. */
static void remember(ke_graphql_forwarder *f, const item *t)
{
    ke_gf_recent *r;
    char *d;

    if (t->remote_id == NULL)
        return;
    d = strdup(t->remote_id);
    if (d == NULL)
        return;
    r = &f->recent[f->recent_pos];
    free(r->remote_id);
    memcpy(r->id, t->it.p.id, sizeof r->id);
    r->remote_id = d;
    f->recent_pos = (f->recent_pos + 1) % ((size_t)f->max_forwards * KE_GF_RECENT_FACTOR);
    if (f->n_recent < (size_t)f->max_forwards * KE_GF_RECENT_FACTOR)
        f->n_recent++;
}

static req *free_req(ke_graphql_forwarder *f)
{
    int i;

    for (i = 0; i < KE_GQL_MAX_REQUESTS; i++)
        if (!f->reqs[i].active)
            return &f->reqs[i];
    return NULL;
}

/* ---- forwarding requests */

/* Starts one request for up to a batch of items in phase ph. Returns 1 when one was started. */
static int start_batch(ke_graphql_forwarder *f, phase ph, req *r)
{
    size_t max = ph == PH_LOOKUP ? KE_GQL_MAX_READ : KE_GQL_MAX_BATCH;
    const char *ids[KE_GQL_MAX_READ];
    ke_gql_input in[KE_GQL_MAX_BATCH];
    int i, wait;

    r->n = 0;
    for (i = 0; i < f->max_forwards && r->n < max; i++) {
        item *t = &f->items[i];

        if (!t->used || t->busy || t->ph != ph || (t->solo && r->n > 0))
            continue;
        if (ph == PH_LOOKUP) {
            ids[r->n] = t->it.p.id;
        } else {
            in[r->n].p = &t->it.p;
            in[r->n].remote_id = ph == PH_UPDATE ? t->remote_id : NULL;
            in[r->n].parent = parent_remote(f, t, &wait);
            if (ph == PH_CREATE && wait)
                continue;
        }
        r->idx[r->n++] = i;
        if (t->solo)
            break;
    }
    if (r->n == 0)
        return 0;
    if (ph == PH_LOOKUP)
        r->body = ke_gql_read_request(ids, r->n, (int)(2 * r->n + 8), 1);
    else if (ph == PH_CREATE)
        r->body = ke_gql_create_request(in, r->n);
    else
        r->body = ke_gql_update_request(in, r->n);
    r->kind = ph == PH_LOOKUP ? RK_LOOKUP : ph == PH_CREATE ? RK_CREATE : RK_UPDATE;
    if (ke_gf_req_send(f, r) != 0)
        return 0;
    for (i = 0; i < (int)r->n; i++)
        f->items[r->idx[i]].busy = 1;
    return 1;
}

static void start_requests(ke_graphql_forwarder *f, int64_t now)
{
    static const phase order[] = {PH_UPDATE, PH_CREATE, PH_LOOKUP};
    size_t k;
    req *r;

    if (f->failing && now < f->resume_ms)
        return;
    for (k = 0; k < sizeof order / sizeof order[0]; k++) {
        while ((r = free_req(f)) != NULL && start_batch(f, order[k], r))
            ;
        if (r == NULL)
            return;
    }
}

/* kedro-graphql failed in a way that may pass: pause forwarding with a doubling backoff. */
static void note_failure(ke_graphql_forwarder *f, const char *msg)
{
    if (!f->failing)
        ke_gf_log("%s; forwarding pauses and retries (nothing new is taken meanwhile)%s", msg, "");
    f->failing = 1;
    f->backoff_ms = f->backoff_ms == 0 ? KE_GQL_BACKOFF_MIN_MS : f->backoff_ms * 2;
    if (f->backoff_ms > KE_GQL_BACKOFF_MAX_MS)
        f->backoff_ms = KE_GQL_BACKOFF_MAX_MS;
    f->resume_ms = ke_gf_mono_ms() + f->backoff_ms;
}

static void note_success(ke_graphql_forwarder *f)
{
    if (f->failing)
        ke_gf_log("answering again; forwarding resumes%s%s", "", "");
    f->failing = 0;
    f->backoff_ms = 0;
}

/* A create's or update's alias result for item t. */
static void on_mutation_item(ke_graphql_forwarder *f, item *t, req_kind kind, ke_gql_class c,
                             const void *obj, const char *msg, int *retry)
{
    const char *id = ke_gql_str(obj, "id"), *state;
    const void *st;

    (void)f;
    if (c == KE_GQL_OK && id == NULL)
        c = KE_GQL_UNKNOWN; /* an answer without an id: find out by the tag */
    switch (c) {
    case KE_GQL_OK:
        if (set_remote_id(t, id) != 0) {
            t->ph = PH_LOOKUP;
        } else if (kind == RK_CREATE) {
            t->ph = PH_UPDATE;
        } else {
            st = ke_gql_last_status(obj, &state);
            item_outcome(t, KE_STATE_READY, NULL, obj, st);
        }
        break;
    case KE_GQL_PERMANENT:
        item_outcome(t, KE_STATE_FAILURE, msg, NULL, NULL);
        break;
    case KE_GQL_RETRY:
        *retry = 1;
        /* fall through */
    default:
        t->ph = PH_LOOKUP; /* whether it happened is unknown: look it up */
        break;
    }
}

/* A lookup's answer for item t: found STAGED there -> updated; found past that -> recorded as
 * handed over; not there (and the answer complete) -> created. */
static void on_lookup_item(item *t, const void *ps, int more)
{
    const void *p = ke_gql_find(ps, t->it.p.id, NULL), *st;
    const char *state;

    if (p == NULL) {
        /* A page cut short may hide it: look again rather than risk a second create. */
        t->ph = more ? PH_LOOKUP : PH_CREATE;
        return;
    }
    if (set_remote_id(t, ke_gql_str(p, "id")) != 0)
        return;
    st = ke_gql_last_status(p, &state);
    if (strcmp(state, "STAGED") == 0)
        t->ph = PH_UPDATE;
    else
        item_outcome(t, KE_STATE_READY, NULL, p, st); /* launched before: never twice */
}

/* A create or update refused unread for its size (HTTP 413): its pipelines go again one to a
 * request, and one that was alone ends FAILURE -- it would be refused forever and, retried,
 * would hold up every other pipeline. Nothing was executed, so nothing is looked up. */
static void on_too_large(ke_graphql_forwarder *f, req *r, const ke_gql_answer *a)
{
    char msg[sizeof a->msg + 96];
    size_t i;

    for (i = 0; i < r->n; i++) {
        item *t = &f->items[r->idx[i]];

        t->busy = 0;
        t->solo = 1;
        if (r->n > 1)
            continue;
        snprintf(msg, sizeof msg, "%s; this pipeline's %s alone was %zu bytes", a->msg,
                 r->kind == RK_CREATE ? "createPipeline" : "updatePipeline", r->body_len);
        item_outcome(t, KE_STATE_FAILURE, msg, NULL, NULL);
    }
}

/* A forwarding request ended: moves each of its items on. */
static void on_forward_done(ke_graphql_forwarder *f, req *r, const ke_gql_answer *a)
{
    const void *obj, *ps = NULL;
    const char *msg;
    char alias[24]; /* a letter and a size_t */
    int retry = a->cls == KE_GQL_RETRY || a->cls == KE_GQL_TOO_LARGE, more = 0;
    ke_gql_class c;
    size_t i;

    if (a->cls == KE_GQL_TOO_LARGE && r->kind != RK_LOOKUP) {
        on_too_large(f, r, a);
        return;
    }

    if (r->kind == RK_LOOKUP && a->cls == KE_GQL_OK) {
        ps = ke_gql_read_pipelines(a, &more);
        if (ps == NULL)
            retry = 1;
    }
    for (i = 0; i < r->n; i++) {
        item *t = &f->items[r->idx[i]];

        t->busy = 0;
        if (r->kind == RK_LOOKUP) {
            if (ps != NULL)
                on_lookup_item(t, ps, more);
            else if (a->cls == KE_GQL_PERMANENT)
                item_outcome(t, KE_STATE_FAILURE, a->msg, NULL, NULL);
            continue;
        }
        snprintf(alias, sizeof alias, "%c%zu", r->kind == RK_CREATE ? 'c' : 'u', i);
        c = ke_gql_alias(a, alias, &obj, &msg);
        on_mutation_item(f, t, r->kind, c, obj, msg, &retry);
    }
    if (retry)
        note_failure(f, a->cls != KE_GQL_OK ? a->msg : "a retryable GraphQL error");
    else
        note_success(f);
}

/* ---- recording (the store calls themselves run on the recorder thread) */

/* Gives the children in hand their parent's kedro-graphql id once it is known. */
static void pass_parent_id(ke_graphql_forwarder *f, const item *parent)
{
    int i;

    for (i = 0; parent->remote_id != NULL && i < f->max_forwards; i++) {
        item *c = &f->items[i];

        if (c->used && c->it.parent_remote_id == NULL && c->it.p.parent != NULL &&
            strcmp(c->it.p.parent, parent->it.p.id) == 0)
            c->it.parent_remote_id = strdup(parent->remote_id);
    }
}

/* Hands the items whose outcome is known to the recorder, as far as its queue has room, which
 * frees their slots. */
static void hand_outcomes(ke_graphql_forwarder *f)
{
    int i, moved = 0;

    pthread_mutex_lock(&f->rec_lock);
    for (i = 0; i < f->max_forwards && f->n_rq < (size_t)f->max_forwards; i++) {
        item *t = &f->items[i];

        if (!t->used || t->busy || t->ph != PH_APPLY)
            continue;
        pass_parent_id(f, t);
        remember(f, t);
        f->rq[f->n_rq++] = *t; /* upd.id is pointed at its new place by the recorder */
        memset(t, 0, sizeof *t);
        f->in_hand--;
        moved = 1;
    }
    if (moved)
        pthread_cond_broadcast(&f->rec_cond);
    pthread_mutex_unlock(&f->rec_lock);
}

/* Moves what the recorder took into free slots; what does not fit waits in f->taken (taken
 * one window ahead, so a take's commit does not leave slots idle). */
static void collect_taken(ke_graphql_forwarder *f, int64_t now)
{
    size_t k = 0;

    if (f->take_busy) {
        pthread_mutex_lock(&f->rec_lock);
        if (f->take_room == 0) {
            f->take_busy = 0;
            f->taken_pos = 0;
            if (f->take_failed)
                f->take_retry_ms = now + KE_GF_STORE_RETRY_MS;
            else if (f->n_taken == (size_t)f->max_forwards)
                atomic_store(&f->take_due, 1); /* there may be more */
            if (f->n_taken > 0 && f->taken[f->n_taken - 1].seq > f->take_after)
                f->take_after = f->taken[f->n_taken - 1].seq; /* oldest first */
        }
        pthread_mutex_unlock(&f->rec_lock);
    }
    if (f->take_busy || f->taken == NULL)
        return;
    while (f->taken_pos < f->n_taken && f->in_hand < (size_t)f->max_forwards) {
        ke_forward_item *it = &f->taken[f->taken_pos++];

        while (f->items[k].used)
            k++;
        f->items[k].used = 1;
        f->items[k].it = *it;
        f->items[k].ph = it->attempted ? PH_LOOKUP : PH_CREATE;
        f->in_hand++;
    }
    if (f->taken_pos == f->n_taken) {
        free(f->taken); /* the records moved into items */
        f->taken = NULL;
        f->n_taken = f->taken_pos = 0;
    }
}

/* Whether a take should be asked for now: nothing taken waits for a slot, and there may be
 * READY rows. */
static int take_wanted(ke_graphql_forwarder *f, int64_t now)
{
    if (now >= f->next_take_ms)
        atomic_store(&f->take_due, 1);
    return !f->failing && !f->take_busy && f->taken == NULL && now >= f->take_retry_ms &&
           atomic_load(&f->take_due);
}

/* Asks the recorder to take up to a window of READY pipelines, unless kedro-graphql is
 * failing. */
static void take(ke_graphql_forwarder *f, int64_t now)
{
    if (!take_wanted(f, now))
        return;
    atomic_store(&f->take_due, 0);
    f->next_take_ms = now + IDLE_MS;
    pthread_mutex_lock(&f->rec_lock);
    /* Nothing in hand, nothing being recorded: every READY row not forwarded is ours. */
    if (f->in_hand == 0 && f->n_rq == 0 && f->n_recording == 0)
        f->take_after = 0;
    f->take_room = (size_t)f->max_forwards;
    f->take_from = f->take_after;
    f->take_busy = 1;
    f->take_failed = 0;
    pthread_cond_broadcast(&f->rec_cond);
    pthread_mutex_unlock(&f->rec_lock);
}

/* ---- the thread */

/* Why a request failed below HTTP, into why. A certificate that fails verification (unknown
 * CA, another host name, expired) says so and which roots were trusted: it is retried like
 * any outage, since the fix (a certificate, or --graphql-ca and a restart) is outside. */
static void transport_why(const ke_graphql_forwarder *f, const req *r, CURLcode rc, char *why,
                          size_t n)
{
    const char *detail = r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(rc);

    if (r->too_big)
        snprintf(why, n, "the answer is too large");
    else if (r->resend_refused)
        snprintf(why, n,
                 "the connection closed before an answer came (what the request did is looked "
                 "up; it is not sent again)");
    else if (rc == CURLE_PEER_FAILED_VERIFICATION && f->ca_file != NULL)
        snprintf(why, n, "TLS certificate verification failed: %s (trusting --graphql-ca %s)",
                 detail, f->ca_file);
    else if (rc == CURLE_PEER_FAILED_VERIFICATION)
        snprintf(why, n,
                 "TLS certificate verification failed: %s (trusting the system's roots; "
                 "--graphql-ca FILE trusts another CA)",
                 detail);
    else if (rc == CURLE_SSL_CONNECT_ERROR)
        snprintf(why, n, "TLS handshake failed: %s", detail);
    else
        snprintf(why, n, "%s", detail);
}

static void on_done(ke_graphql_forwarder *f, CURLMsg *m, int64_t now)
{
    req *r = NULL;
    long status = 0;
    ke_gql_answer a;
    char why[CURL_ERROR_SIZE + 512];

    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    curl_multi_remove_handle(f->multi, m->easy_handle);
    if (m->data.result == CURLE_OK)
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    transport_why(f, r, m->data.result, why, sizeof why);
    ke_gql_answer_read(&a, status, why, r->resp, r->resp_len);
    if (r->kind == RK_MIRROR) {
        if (a.cls != KE_GQL_OK && !f->failing) /* a failing kedro-graphql is logged once */
            ke_gf_log("polling states: %s%s", a.msg, "");
        ke_gf_mirror_done(f, r, &a, now);
    } else {
        on_forward_done(f, r, &a);
    }
    ke_gql_answer_release(&a);
    ke_gf_req_reset(r);
}

/* How long the thread may sleep: until the next timed step, at most IDLE_MS. */
static int sleep_ms(const ke_graphql_forwarder *f, int64_t now)
{
    int64_t until = now + IDLE_MS;

    if (f->mirror_due_ms < until)
        until = f->mirror_due_ms;
    if (f->failing && f->resume_ms < until)
        until = f->resume_ms;
    if (f->take_retry_ms > now && f->take_retry_ms < until)
        until = f->take_retry_ms;
    return until <= now ? 0 : (int)(until - now);
}

static void *forward_main(void *arg)
{
    ke_graphql_forwarder *f = arg;
    int running = 0, left, done;
    CURLMsg *m;
    int64_t now;

    while (!atomic_load(&f->stopping)) {
        now = ke_gf_mono_ms();
        collect_taken(f, now);
        hand_outcomes(f);
        take(f, now);
        start_requests(f, now);
        ke_gf_mirror_tick(f, now);
        curl_multi_perform(f->multi, &running);
        done = 0;
        while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
            if (m->msg == CURLMSG_DONE) {
                on_done(f, m, ke_gf_mono_ms());
                done = 1;
            }
        }
        now = ke_gf_mono_ms();
        if (done || take_wanted(f, now))
            continue; /* items moved on: start their next step before sleeping */
        curl_multi_poll(f->multi, NULL, 0, sleep_ms(f, now), NULL);
    }
    return NULL;
}

/* ---- life cycle */

static void curl_global_init_wrapper(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char **copy_lines(const char *const *h, size_t n)
{
    char **c = calloc(n + 1, sizeof *c);
    size_t i;

    for (i = 0; c != NULL && i < n; i++) {
        c[i] = strdup(h[i]);
        if (c[i] == NULL) {
            ke_gql_headers_free(c, i);
            return NULL;
        }
    }
    return c;
}

static void forwarder_destroy(ke_graphql_forwarder *f)
{
    int i;

    if (f == NULL)
        return;
    for (i = 0; i <= KE_GQL_MAX_REQUESTS; i++) {
        req *r = &f->reqs[i];

        if (r->active)
            curl_multi_remove_handle(f->multi, r->easy);
        ke_gf_req_reset(r);
        if (r->easy != NULL)
            curl_easy_cleanup(r->easy);
        free(r->resp);
    }
    if (f->multi != NULL)
        curl_multi_cleanup(f->multi);
    for (i = 0; f->items != NULL && i < f->max_forwards; i++)
        if (f->items[i].used)
            ke_gf_item_release(&f->items[i]);
    for (i = 0; (size_t)i < f->n_rq; i++)
        ke_gf_item_release(&f->rq[i]);
    free(f->items);
    free(f->rq);
    for (i = 0; f->recent != NULL && (size_t)i < f->n_recent; i++)
        free(f->recent[i].remote_id);
    free(f->recent);
    for (; f->taken != NULL && f->taken_pos < f->n_taken; f->taken_pos++) {
        ke_pipeline_release(&f->taken[f->taken_pos].p);
        free(f->taken[f->taken_pos].parent_remote_id);
    }
    free(f->taken);
    pthread_cond_destroy(&f->rec_cond);
    pthread_mutex_destroy(&f->rec_lock);
    ke_gql_headers_free(f->headers, f->n_headers);
    ke_gql_headers_free(f->file_headers, f->n_file_headers);
    pthread_mutex_destroy(&f->lock);
    free(f->url);
    free(f->ca_file);
    free(f);
}

int ke_graphql_forwarder_start(ke_store *s, const ke_graphql_options *o, ke_graphql_forwarder **out,
                               ke_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    ke_graphql_forwarder *f = NULL;
    int i, e;

    *out = NULL;
    if (o->url == NULL || o->timeout_seconds < 1 || o->max_forwards < 1 ||
        o->max_forwards > KE_GQL_MAX_MAX_FORWARDS || o->poll_ms < KE_GQL_MIN_POLL_MS ||
        o->n_headers > KE_GQL_MAX_HEADERS)
        return ke_error_set(err, KE_EINVAL, "kedro-graphql forwarder: invalid options");
    pthread_once(&once, curl_global_init_wrapper);
    f = calloc(1, sizeof *f);
    if (f == NULL)
        return ke_error_set(err, KE_ENOMEM, "kedro-graphql forwarder: out of memory");
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_init(&f->rec_lock, NULL);
    pthread_cond_init(&f->rec_cond, NULL);
    f->store = s;
    f->timeout_ms = o->timeout_seconds * 1000;
    f->max_forwards = o->max_forwards;
    f->poll_ms = o->poll_ms;
    f->url = strdup(o->url);
    f->ca_file = o->ca_file != NULL ? strdup(o->ca_file) : NULL;
    f->headers = copy_lines(o->headers, o->n_headers);
    f->n_headers = o->n_headers;
    f->items = calloc((size_t)o->max_forwards, sizeof *f->items);
    f->rq = calloc((size_t)o->max_forwards, sizeof *f->rq);
    f->recent = calloc((size_t)o->max_forwards * KE_GF_RECENT_FACTOR, sizeof *f->recent);
    f->multi = curl_multi_init();
    for (i = 0; i <= KE_GQL_MAX_REQUESTS && f->multi != NULL; i++)
        f->reqs[i].easy = curl_easy_init();
    if (f->url == NULL || (o->ca_file != NULL && f->ca_file == NULL) || f->headers == NULL ||
        f->items == NULL || f->rq == NULL || f->recent == NULL || f->multi == NULL ||
        f->reqs[KE_GQL_MAX_REQUESTS].easy == NULL) {
        forwarder_destroy(f);
        return ke_error_set(err, KE_ENOMEM, "kedro-graphql forwarder: out of memory");
    }
    for (i = 0; i < KE_GQL_MAX_REQUESTS; i++)
        if (f->reqs[i].easy == NULL) {
            forwarder_destroy(f);
            return ke_error_set(err, KE_ENOMEM, "kedro-graphql forwarder: out of memory");
        }
    curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)KE_GQL_MAX_REQUESTS + 1);
    curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)KE_GQL_MAX_REQUESTS + 1);
    atomic_store(&f->take_due, 1);
    e = ke_gf_recorder_start(f);
    if (e == 0)
        e = pthread_create(&f->thread, NULL, forward_main, f);
    if (e != 0) {
        ke_gf_recorder_stop(f);
        forwarder_destroy(f);
        return ke_error_set(err, KE_ENOMEM, "kedro-graphql forwarder: cannot start its thread: %s",
                            strerror(e));
    }
    f->thread_started = 1;
    *out = f;
    return KE_OK;
}

void ke_graphql_forwarder_wake(void *forwarder)
{
    ke_graphql_forwarder *f = forwarder;

    atomic_store(&f->take_due, 1);
    curl_multi_wakeup(f->multi);
}

int ke_graphql_forwarder_set_headers(ke_graphql_forwarder *f, char *const *headers, size_t n)
{
    char **c = copy_lines((const char *const *)headers, n), **old;
    size_t n_old;

    if (c == NULL)
        return KE_ENOMEM;
    pthread_mutex_lock(&f->lock);
    old = f->file_headers;
    n_old = f->n_file_headers;
    f->file_headers = c;
    f->n_file_headers = n;
    pthread_mutex_unlock(&f->lock);
    ke_gql_headers_free(old, n_old);
    return KE_OK;
}

void ke_graphql_forwarder_stop(ke_graphql_forwarder *f)
{
    if (f == NULL || f->stopped)
        return;
    atomic_store(&f->stopping, 1);
    curl_multi_wakeup(f->multi);
    if (f->thread_started)
        pthread_join(f->thread, NULL);
    ke_gf_recorder_stop(f);
    f->stopped = 1;
}

void ke_graphql_forwarder_free(ke_graphql_forwarder *f)
{
    if (f == NULL)
        return;
    ke_graphql_forwarder_stop(f);
    forwarder_destroy(f);
}
