/* service_stats.c -- the EventService's GetStats: events accepted as new per bucket (the
 * in-memory ring, stats.c), runs ended per bucket and the pipelines in progress (the store). */
#include <stdlib.h>
#include <string.h>

#include "kedro/events/v1/events.pb-c.h"
#include "service_internal.h"
#include "stats.h"

typedef Google__Protobuf__Timestamp PbTime;
typedef Kedro__Events__V1__StatsBucket PbBucket;

#define US_PER_S 1000000

/* The buckets of one answer: what was read, and the message's storage for them. */
typedef struct stats_answer {
    size_t n;               /* buckets */
    int64_t *events;        /* n: events accepted as new */
    ke_store_ended *ended;  /* n: runs ended */
    PbBucket *buckets;      /* n messages */
    PbBucket **bucket_ptrs; /* n pointers to them (protobuf-c's repeated field) */
    PbTime *starts;         /* n bucket starts */
    PbTime now, since;      /* the answer's times */
} stats_answer;

static void set_time(PbTime *t, int64_t us)
{
    google__protobuf__timestamp__init(t);
    t->seconds = us / US_PER_S;
    t->nanos = (int32_t)(us % US_PER_S) * 1000;
}

static void answer_release(stats_answer *a)
{
    free(a->events);
    free(a->ended);
    free(a->buckets);
    free(a->bucket_ptrs);
    free(a->starts);
}

/* Allocates a's arrays for n buckets: KE_OK or KE_ENOMEM. */
static int answer_alloc(stats_answer *a, size_t n, ke_error *err)
{
    memset(a, 0, sizeof *a);
    a->n = n;
    a->events = calloc(n, sizeof *a->events);
    a->ended = calloc(n, sizeof *a->ended);
    a->buckets = calloc(n, sizeof *a->buckets);
    a->bucket_ptrs = calloc(n, sizeof *a->bucket_ptrs);
    a->starts = calloc(n, sizeof *a->starts);
    if (a->events == NULL || a->ended == NULL || a->buckets == NULL || a->bucket_ptrs == NULL ||
        a->starts == NULL)
        return ke_error_set(err, KE_ENOMEM, "server out of memory");
    return KE_OK;
}

/* Packs m and answers OK with it (RESOURCE_EXHAUSTED when memory runs out). */
static void reply_stats(ke_rpc_call *call, const Kedro__Events__V1__Stats *m)
{
    size_t len = protobuf_c_message_get_packed_size(&m->base);
    uint8_t *buf = malloc(len ? len : 1);

    if (buf == NULL) {
        ke_rpc_reply(call, KE_GRPC_RESOURCE_EXHAUSTED, "server out of memory", NULL, 0);
        return;
    }
    protobuf_c_message_pack(&m->base, buf);
    ke_rpc_reply(call, KE_GRPC_OK, NULL, buf, len);
    free(buf);
}

/* Reads the window of step-second buckets ending with the one holding now_us into a and
 * answers it. */
static void answer_window(ke_service *svc, ke_rpc_call *call, int window, int step, int64_t now_us)
{
    Kedro__Events__V1__Stats m;
    ke_store_activity act;
    size_t n = (size_t)(window / step), i;
    int64_t now_s = now_us / US_PER_S, first_s, since_us;
    stats_answer a;
    ke_error err;

    ke_error_clear(&err);
    first_s = now_s - now_s % step - (int64_t)(n - 1) * step;
    memset(&act, 0, sizeof act);
    if (answer_alloc(&a, n, &err) == KE_OK) {
        act.ended = a.ended;
        act.n = n;
        act.from_us = first_s * US_PER_S;
        act.step_us = (int64_t)step * US_PER_S;
        ke_store_activity_read(svc->store, &act, &err);
    }
    if (err.code != KE_OK) {
        ke_service_reply_error(call, &err);
        answer_release(&a);
        return;
    }
    ke_stats_events(svc->stats, now_s, first_s, step, n, a.events);
    since_us = svc->stats != NULL ? ke_stats_started(svc->stats) : now_us;
    if (since_us < first_s * US_PER_S)
        since_us = first_s * US_PER_S;
    kedro__events__v1__stats__init(&m);
    set_time(&a.now, now_us);
    set_time(&a.since, since_us);
    m.now = &a.now;
    m.events_since = &a.since;
    m.window_seconds = window;
    m.step_seconds = step;
    m.staged = act.staged;
    m.ready = act.ready;
    m.started = act.started;
    for (i = 0; i < n; i++) {
        kedro__events__v1__stats_bucket__init(&a.buckets[i]);
        set_time(&a.starts[i], (first_s + (int64_t)i * step) * US_PER_S);
        a.buckets[i].start = &a.starts[i];
        a.buckets[i].events = a.events[i];
        a.buckets[i].success = a.ended[i].success;
        a.buckets[i].failure = a.ended[i].failure;
        a.buckets[i].aborted = a.ended[i].aborted;
        a.bucket_ptrs[i] = &a.buckets[i];
    }
    m.n_buckets = n;
    m.buckets = a.bucket_ptrs;
    reply_stats(call, &m);
    answer_release(&a);
}

void ke_service_get_stats(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    ke_service *svc = ctx;
    Kedro__Events__V1__GetStatsRequest *rq;
    int window, step;
    ke_error err;

    ke_error_clear(&err);
    rq = (Kedro__Events__V1__GetStatsRequest *)ke_service_unpack(
        &kedro__events__v1__get_stats_request__descriptor, req, len, &err);
    if (rq == NULL) {
        ke_service_reply_error(call, &err);
        return;
    }
    window = rq->window_seconds;
    step = rq->step_seconds;
    protobuf_c_message_free_unpacked(&rq->base, NULL);
    if (ke_stats_check(&window, &step, &err) != KE_OK) {
        ke_service_reply_error(call, &err);
        return;
    }
    answer_window(svc, call, window, step, ke_now_us());
}
