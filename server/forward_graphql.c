/* forward_graphql.c -- the kedro-graphql forwarder: one thread with a libcurl multi handle (one
 * connection pool) that takes READY pipelines, creates them STAGED in kedro-graphql, updates
 * them READY with their own id, records the hand-over, and mirrors the runs' states back. */
#include "forward_graphql.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graphql.h"

#define IDLE_MS 1000        /* READY rows are looked for this often without a wake-up */
#define STORE_RETRY_MS 1000 /* pause after a store error before trying again */

typedef enum phase {
    PH_LOOKUP, /* find it in kedro-graphql by our id's tag first */
    PH_CREATE, /* create it STAGED */
    PH_UPDATE, /* update it READY (launches it) */
    PH_APPLY,  /* record upd in the store */
} phase;

typedef enum req_kind { RK_LOOKUP, RK_CREATE, RK_UPDATE, RK_MIRROR } req_kind;

/* One pipeline in hand, from the take until its outcome is recorded. */
typedef struct item {
    int used;             /* the slot holds a pipeline */
    int busy;             /* a request for it is in flight */
    phase ph;             /* what it needs next */
    ke_forward_item it;   /* the taken record */
    char *remote_id;      /* kedro-graphql's id once known */
    ke_remote_update upd; /* PH_APPLY: what to record (strings below owned) */
    char *remote_json;    /* upd.remote_json */
    char *status_json;    /* upd.st.remote_json */
    char *error;          /* upd.st.error */
} item;

/* One HTTP request and what it is about. */
typedef struct req {
    CURL *easy;                   /* reused for the requests of this slot */
    int active;                   /* in the multi handle */
    req_kind kind;                /* what it asks */
    int idx[KE_GQL_MAX_READ];     /* the items it carries (not RK_MIRROR) */
    size_t n;                     /* how many */
    ke_remote_ref *refs;          /* RK_MIRROR: the forwarded rows it polls */
    size_t n_refs;                /* how many */
    char *body;                   /* the request body */
    char *resp;                   /* the answer so far */
    size_t resp_len;              /* its bytes */
    size_t resp_cap;              /* allocated */
    int too_big;                  /* the answer passed KE_GQL_ANSWER_MAX */
    struct curl_slist *hdrs;      /* its headers */
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's message on a transport failure */
} req;

struct ke_graphql_forwarder {
    ke_store *store;                   /* takes and records go here */
    char *url;                         /* copies of the options ... */
    char **headers;                    /* --graphql-header lines */
    size_t n_headers;                  /* how many */
    char *ca_file;                     /* or NULL */
    int timeout_ms;                    /* per request */
    int max_forwards;                  /* items */
    int poll_ms;                       /* the mirror's interval */
    item *items;                       /* max_forwards of them */
    size_t in_hand;                    /* used items */
    req reqs[KE_GQL_MAX_REQUESTS + 1]; /* the last is the mirror's */
    CURLM *multi;                      /* the connection pool */
    long long take_after;              /* the take cursor */
    int64_t take_retry_ms;             /* no take before this (after a store error) */
    int64_t next_take_ms;              /* a take without a wake-up is due then */
    int failing;                       /* kedro-graphql's last answer was retryable failure */
    int64_t backoff_ms;                /* the current pause while failing */
    int64_t resume_ms;                 /* no forwarding request before this */
    int64_t apply_retry_ms;            /* no apply before this (after a store error) */
    long long mirror_after;            /* the mirror's page cursor */
    int64_t mirror_due_ms;             /* the mirror's next poll */
    pthread_mutex_t lock;              /* guards file_headers, n_file_headers */
    char **file_headers;               /* --graphql-headers-file lines */
    size_t n_file_headers;             /* how many */
    atomic_int take_due;               /* there may be READY work */
    atomic_int stopping;               /* stop was called */
    pthread_t thread;                  /* the forwarder */
    int thread_started;                /* thread must be joined */
    int stopped;                       /* it was joined */
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logf_(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "kedro-eventd: kedro-graphql: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
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

static void item_free(ke_graphql_forwarder *f, item *t)
{
    item_clear_outcome(t);
    ke_pipeline_release(&t->it.p);
    free(t->it.parent_remote_id);
    free(t->remote_id);
    memset(t, 0, sizeof *t);
    f->in_hand--;
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
    return NULL;
}

/* ---- HTTP */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    req *r = ud;
    size_t n = size * nmemb, cap;
    char *p;

    if (r->resp_len + n > KE_GQL_ANSWER_MAX) {
        r->too_big = 1;
        return 0;
    }
    if (r->resp_len + n + 1 > r->resp_cap) {
        cap = r->resp_cap == 0 ? 16384 : r->resp_cap;
        while (cap < r->resp_len + n + 1)
            cap *= 2;
        p = realloc(r->resp, cap);
        if (p == NULL)
            return 0;
        r->resp = p;
        r->resp_cap = cap;
    }
    memcpy(r->resp + r->resp_len, data, n);
    r->resp_len += n;
    r->resp[r->resp_len] = '\0';
    return n;
}

/* The request's headers: ours, the flags', the file's. NULL when out of memory. */
static struct curl_slist *build_headers(ke_graphql_forwarder *f)
{
    struct curl_slist *l = NULL, *n;
    size_t i;
    int ok = 1;

    n = curl_slist_append(l, "Content-Type: application/json");
    l = n != NULL ? n : l;
    ok &= n != NULL;
    n = curl_slist_append(l, "Accept: application/json");
    l = n != NULL ? n : l;
    ok &= n != NULL;
    n = curl_slist_append(l, "Expect:");
    l = n != NULL ? n : l;
    ok &= n != NULL;
    for (i = 0; ok && i < f->n_headers; i++) {
        n = curl_slist_append(l, f->headers[i]);
        l = n != NULL ? n : l;
        ok &= n != NULL;
    }
    pthread_mutex_lock(&f->lock);
    for (i = 0; ok && i < f->n_file_headers; i++) {
        n = curl_slist_append(l, f->file_headers[i]);
        l = n != NULL ? n : l;
        ok &= n != NULL;
    }
    pthread_mutex_unlock(&f->lock);
    if (!ok) {
        curl_slist_free_all(l);
        return NULL;
    }
    return l;
}

static void req_reset(req *r)
{
    free(r->body);
    r->body = NULL;
    r->resp_len = 0;
    r->too_big = 0;
    r->n = 0;
    ke_remote_refs_free(r->refs, r->n_refs);
    r->refs = NULL;
    r->n_refs = 0;
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    r->active = 0;
}

/* Sends r->body (taken). Returns 0, or -1 (r reset) when it cannot be sent. */
static int req_send(ke_graphql_forwarder *f, req *r)
{
    CURL *e = r->easy;

    r->hdrs = build_headers(f);
    if (r->body == NULL || r->hdrs == NULL) {
        req_reset(r);
        return -1;
    }
    r->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, f->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)f->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)f->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    if (f->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, f->ca_file);
    if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
        req_reset(r);
        return -1;
    }
    r->active = 1;
    return 0;
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

        if (!t->used || t->busy || t->ph != ph)
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
    if (req_send(f, r) != 0)
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
        logf_("%s; forwarding pauses and retries (nothing new is taken meanwhile)%s", msg, "");
    f->failing = 1;
    f->backoff_ms = f->backoff_ms == 0 ? KE_GQL_BACKOFF_MIN_MS : f->backoff_ms * 2;
    if (f->backoff_ms > KE_GQL_BACKOFF_MAX_MS)
        f->backoff_ms = KE_GQL_BACKOFF_MAX_MS;
    f->resume_ms = mono_ms() + f->backoff_ms;
}

static void note_success(ke_graphql_forwarder *f)
{
    if (f->failing)
        logf_("answering again; forwarding resumes%s%s", "", "");
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

/* A forwarding request ended: moves each of its items on. */
static void on_forward_done(ke_graphql_forwarder *f, req *r, const ke_gql_answer *a)
{
    const void *obj, *ps = NULL;
    const char *msg;
    char alias[16];
    int retry = a->cls == KE_GQL_RETRY, more = 0;
    size_t i;

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
        on_mutation_item(f, t, r->kind, ke_gql_alias(a, alias, &obj, &msg), obj, msg, &retry);
    }
    if (retry)
        note_failure(f, a->cls != KE_GQL_OK ? a->msg : "a retryable GraphQL error");
    else
        note_success(f);
}

/* ---- recording */

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

/* Records every item in PH_APPLY in one transaction and lets them go. */
static void apply_items(ke_graphql_forwarder *f, int64_t now)
{
    ke_remote_update u[KE_GQL_DEFAULT_MAX_FORWARDS];
    int idx[KE_GQL_DEFAULT_MAX_FORWARDS];
    size_t n = 0, j;
    ke_error err;
    int i;

    if (now < f->apply_retry_ms)
        return;
    for (i = 0; i < f->max_forwards; i++) {
        item *t = &f->items[i];

        if (t->used && !t->busy && t->ph == PH_APPLY) {
            idx[n] = i;
            u[n++] = t->upd;
        }
        if (n == KE_GQL_DEFAULT_MAX_FORWARDS || (n > 0 && i == f->max_forwards - 1)) {
            ke_error_clear(&err);
            if (ke_store_apply_remote(f->store, u, n, NULL, &err) != KE_OK) {
                logf_("recording forwarded pipelines failed: %s; trying again%s", err.msg, "");
                f->apply_retry_ms = now + STORE_RETRY_MS;
                return;
            }
            for (j = 0; j < n; j++) {
                pass_parent_id(f, &f->items[idx[j]]);
                item_free(f, &f->items[idx[j]]);
            }
            n = 0;
        }
    }
}

/* Whether take() would take now. */
static int take_wanted(ke_graphql_forwarder *f, int64_t now)
{
    size_t room = (size_t)f->max_forwards - f->in_hand;

    if (now >= f->next_take_ms)
        atomic_store(&f->take_due, 1);
    if (f->failing || room == 0 || now < f->take_retry_ms || !atomic_load(&f->take_due))
        return 0;
    /* Wait for a batch's worth of room while requests are in flight: fewer, fuller commits
     * and requests. */
    return f->in_hand == 0 || room >= (size_t)f->max_forwards / 2 || room >= KE_GQL_MAX_BATCH;
}

/* Takes READY pipelines while there is room, unless kedro-graphql is failing. */
static void take(ke_graphql_forwarder *f, int64_t now)
{
    size_t room = (size_t)f->max_forwards - f->in_hand, n = 0, i, k = 0;
    ke_forward_item *got = NULL;
    ke_error err;

    if (!take_wanted(f, now))
        return;
    atomic_store(&f->take_due, 0);
    f->next_take_ms = now + IDLE_MS;
    if (f->in_hand == 0)
        f->take_after = 0; /* nothing in hand: every READY row not forwarded is ours to take */
    ke_error_clear(&err);
    if (ke_store_take_forward(f->store, f->take_after, room, &got, &n, &err) != KE_OK) {
        logf_("taking READY pipelines failed: %s; trying again%s", err.msg, "");
        f->take_retry_ms = now + STORE_RETRY_MS;
        atomic_store(&f->take_due, 1);
        return;
    }
    if (n == room)
        atomic_store(&f->take_due, 1); /* there may be more */
    for (i = 0; i < n; i++) {
        while (f->items[k].used)
            k++;
        f->items[k].used = 1;
        f->items[k].it = got[i];
        f->items[k].ph = got[i].attempted ? PH_LOOKUP : PH_CREATE;
        if (got[i].seq > f->take_after)
            f->take_after = got[i].seq;
        f->in_hand++;
    }
    free(got); /* the records moved into items */
}

/* ---- the mirror */

/* Fills u (strings owned by bufs[0..2]) with what kedro-graphql says of ref; 0 when nothing
 * changed. */
static int mirror_one(const ke_remote_ref *ref, const void *ps, int more, ke_remote_update *u,
                      char *bufs[3])
{
    const void *p = ke_gql_find(ps, ref->id, ref->remote_id), *st;
    const char *state;
    ke_state s;

    memset(u, 0, sizeof *u);
    u->id = ref->id;
    u->st.runner = (char *)KE_GQL_RUNNER;
    if (p == NULL) {
        if (more)
            return 0;
        if (asprintf(&bufs[2], "kedro-graphql has no pipeline %s any more", ref->remote_id) < 0)
            return bufs[2] = NULL, 0;
        u->st.state = KE_STATE_FAILURE;
        u->st.error = bufs[2];
        u->st.finished_at = ke_now_us();
        return 1;
    }
    st = ke_gql_last_status(p, &state);
    s = ke_gql_state(state);
    if (s != KE_STATE_STARTED && s != KE_STATE_SUCCESS && s != KE_STATE_FAILURE &&
        s != KE_STATE_ABORTED)
        return 0;
    if (s == ref->state)
        return 0;
    u->st.state = s;
    ke_gql_parse_time(ke_gql_str(st, "startedAt"), &u->st.started_at);
    ke_gql_parse_time(ke_gql_str(st, "finishedAt"), &u->st.finished_at);
    bufs[0] = ke_gql_pipeline_json(p);
    bufs[1] = ke_gql_status_json(st);
    u->remote_json = bufs[0];
    u->st.remote_json = bufs[1];
    if (s == KE_STATE_FAILURE || s == KE_STATE_ABORTED)
        bufs[2] = ke_gql_status_error(st);
    u->st.error = bufs[2];
    return 1;
}

static void on_mirror_done(ke_graphql_forwarder *f, req *r, const ke_gql_answer *a, int64_t now)
{
    ke_remote_update u[KE_GQL_MAX_READ];
    char *bufs[KE_GQL_MAX_READ][3];
    int more = 0;
    const void *ps = ke_gql_read_pipelines(a, &more);
    size_t i, n = 0;
    ke_error err;

    f->mirror_due_ms = now + f->poll_ms;
    if (ps == NULL) {
        f->mirror_after = 0;
        return;
    }
    memset(bufs, 0, sizeof bufs);
    for (i = 0; i < r->n_refs; i++)
        n += (size_t)mirror_one(&r->refs[i], ps, more, &u[n], bufs[n]);
    ke_error_clear(&err);
    if (n > 0 && ke_store_apply_remote(f->store, u, n, NULL, &err) != KE_OK) {
        logf_("recording kedro-graphql's states failed: %s; the next poll tries again%s", err.msg,
              "");
        f->mirror_after = 0;
    } else if (r->n_refs == KE_GQL_MAX_READ) {
        f->mirror_after = r->refs[r->n_refs - 1].seq;
        f->mirror_due_ms = now; /* the next page at once */
    } else {
        f->mirror_after = 0;
    }
    for (i = 0; i < KE_GQL_MAX_READ; i++) {
        free(bufs[i][0]);
        free(bufs[i][1]);
        free(bufs[i][2]);
    }
}

/* Polls the next page of forwarded pipelines that have not ended, when due. */
static void mirror_tick(ke_graphql_forwarder *f, int64_t now)
{
    req *r = &f->reqs[KE_GQL_MAX_REQUESTS];
    const char *ids[KE_GQL_MAX_READ];
    ke_error err;
    size_t i;

    if (r->active || now < f->mirror_due_ms)
        return;
    ke_error_clear(&err);
    if (ke_store_list_remote(f->store, f->mirror_after, KE_GQL_MAX_READ, &r->refs, &r->n_refs,
                             &err) != KE_OK) {
        logf_("listing forwarded pipelines failed: %s%s", err.msg, "");
        r->refs = NULL;
        r->n_refs = 0;
        f->mirror_due_ms = now + f->poll_ms;
        return;
    }
    if (r->n_refs == 0) {
        f->mirror_after = 0;
        f->mirror_due_ms = now + f->poll_ms;
        return;
    }
    for (i = 0; i < r->n_refs; i++)
        ids[i] = r->refs[i].id;
    r->kind = RK_MIRROR;
    r->body = ke_gql_read_request(ids, r->n_refs, (int)(2 * r->n_refs + 8), 1);
    if (req_send(f, r) != 0)
        f->mirror_due_ms = now + f->poll_ms;
}

/* ---- the thread */

static void on_done(ke_graphql_forwarder *f, CURLMsg *m, int64_t now)
{
    req *r = NULL;
    long status = 0;
    ke_gql_answer a;
    char why[CURL_ERROR_SIZE + 64];

    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    curl_multi_remove_handle(f->multi, m->easy_handle);
    if (m->data.result == CURLE_OK)
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    snprintf(why, sizeof why, "%s",
             r->too_big             ? "the answer is too large"
             : r->errbuf[0] != '\0' ? r->errbuf
                                    : curl_easy_strerror(m->data.result));
    ke_gql_answer_read(&a, status, why, r->resp, r->resp_len);
    if (r->kind == RK_MIRROR) {
        if (a.cls != KE_GQL_OK)
            logf_("polling states: %s%s", a.msg, "");
        on_mirror_done(f, r, &a, now);
    } else {
        on_forward_done(f, r, &a);
    }
    ke_gql_answer_release(&a);
    req_reset(r);
}

/* How long the thread may sleep: until the next timed step, at most IDLE_MS. */
static int sleep_ms(const ke_graphql_forwarder *f, int64_t now)
{
    int64_t until = now + IDLE_MS;

    if (f->mirror_due_ms < until)
        until = f->mirror_due_ms;
    if (f->failing && f->resume_ms < until)
        until = f->resume_ms;
    if (f->in_hand > 0 && f->apply_retry_ms > now && f->apply_retry_ms < until)
        until = f->apply_retry_ms;
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
        now = mono_ms();
        apply_items(f, now);
        take(f, now);
        start_requests(f, now);
        mirror_tick(f, now);
        curl_multi_perform(f->multi, &running);
        done = 0;
        while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
            if (m->msg == CURLMSG_DONE) {
                on_done(f, m, mono_ms());
                done = 1;
            }
        }
        now = mono_ms();
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
        req_reset(r);
        if (r->easy != NULL)
            curl_easy_cleanup(r->easy);
        free(r->resp);
    }
    if (f->multi != NULL)
        curl_multi_cleanup(f->multi);
    for (i = 0; f->items != NULL && i < f->max_forwards; i++)
        if (f->items[i].used)
            item_free(f, &f->items[i]);
    free(f->items);
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
    f->store = s;
    f->timeout_ms = o->timeout_seconds * 1000;
    f->max_forwards = o->max_forwards;
    f->poll_ms = o->poll_ms;
    f->url = strdup(o->url);
    f->ca_file = o->ca_file != NULL ? strdup(o->ca_file) : NULL;
    f->headers = copy_lines(o->headers, o->n_headers);
    f->n_headers = o->n_headers;
    f->items = calloc((size_t)o->max_forwards, sizeof *f->items);
    f->multi = curl_multi_init();
    for (i = 0; i <= KE_GQL_MAX_REQUESTS && f->multi != NULL; i++)
        f->reqs[i].easy = curl_easy_init();
    if (f->url == NULL || (o->ca_file != NULL && f->ca_file == NULL) || f->headers == NULL ||
        f->items == NULL || f->multi == NULL || f->reqs[KE_GQL_MAX_REQUESTS].easy == NULL) {
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
    e = pthread_create(&f->thread, NULL, forward_main, f);
    if (e != 0) {
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
    f->stopped = 1;
}

void ke_graphql_forwarder_free(ke_graphql_forwarder *f)
{
    if (f == NULL)
        return;
    ke_graphql_forwarder_stop(f);
    forwarder_destroy(f);
}
