/* service.c -- EventService handlers: decode the request, call dispatch or the store, encode
 * the answer; the one place that maps our records to the kedro.events.v1 messages. */
#include "service.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kec_metrics.h"
#include "kedro/events/v1/events.pb-c.h"
#include "names.h"
#include "service_internal.h"
#include "service_logs.h"
#include "text.h"
#include "wire.h"

typedef Kedro__Events__V1__Pipeline PbPipeline;
typedef Kedro__Events__V1__PipelineStatus PbStatus;
typedef Google__Protobuf__Timestamp PbTime;

/* Every allocation made while building one answer, freed together. */
typedef struct pool {
    void **ptrs; /* allocations */
    size_t n;    /* used */
    size_t cap;  /* capacity */
    int failed;  /* an allocation failed */
} pool;

static void *pool_alloc(pool *pl, size_t size)
{
    void *p;

    if (pl->failed)
        return NULL;
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 64;
        void **grown = realloc(pl->ptrs, cap * sizeof *grown);

        if (grown == NULL) {
            pl->failed = 1;
            return NULL;
        }
        pl->ptrs = grown;
        pl->cap = cap;
    }
    p = calloc(1, size ? size : 1);
    if (p == NULL) {
        pl->failed = 1;
        return NULL;
    }
    pl->ptrs[pl->n++] = p;
    return p;
}

static void pool_release(pool *pl)
{
    size_t i;

    for (i = 0; i < pl->n; i++)
        free(pl->ptrs[i]);
    free(pl->ptrs);
    memset(pl, 0, sizeof *pl);
}

static char *str_or_empty(const char *s)
{
    return (char *)(s != NULL ? s : "");
}

/* A Timestamp for a time in microseconds, or NULL for 0 (unset). */
static PbTime *pb_time(pool *pl, int64_t us)
{
    PbTime *t;

    if (us == 0)
        return NULL;
    t = pool_alloc(pl, sizeof *t);
    if (t == NULL)
        return NULL;
    google__protobuf__timestamp__init(t);
    t->seconds = us / 1000000;
    t->nanos = (int32_t)(us % 1000000) * 1000;
    return t;
}

static PbStatus *pb_status(pool *pl, const ke_status *s)
{
    PbStatus *m = pool_alloc(pl, sizeof *m);

    if (m == NULL)
        return NULL;
    kedro__events__v1__pipeline_status__init(m);
    m->state = (Kedro__Events__V1__PipelineStatus__State)s->state;
    m->changed_at = pb_time(pl, s->changed_at);
    m->started_at = pb_time(pl, s->started_at);
    m->finished_at = pb_time(pl, s->finished_at);
    m->runner = str_or_empty(s->runner);
    m->error = str_or_empty(s->error);
    m->log_path = str_or_empty(s->log_path);
    m->kedro_graphql_json = str_or_empty(s->remote_json);
    if (s->has_exit_code) {
        m->outcome_case = KEDRO__EVENTS__V1__PIPELINE_STATUS__OUTCOME_EXIT_CODE;
        m->exit_code = s->exit_code;
    } else if (s->signal != 0) {
        m->outcome_case = KEDRO__EVENTS__V1__PIPELINE_STATUS__OUTCOME_SIGNAL;
        m->signal = s->signal;
    }
    return m;
}

/* Builds the message for p; strings point into p, which must outlive it. */
static PbPipeline *pb_pipeline(pool *pl, const ke_pipeline *p)
{
    PbPipeline *m = pool_alloc(pl, sizeof *m);
    size_t i;

    if (m == NULL)
        return NULL;
    kedro__events__v1__pipeline__init(m);
    m->id = (char *)p->id;
    m->name = str_or_empty(p->name);
    m->parent = str_or_empty(p->parent);
    m->created_at = pb_time(pl, p->created_at);
    m->kedro_graphql_id = str_or_empty(p->remote_id);
    m->kedro_graphql_json = str_or_empty(p->remote_json);
    m->parameters = pool_alloc(pl, p->n_params * sizeof *m->parameters);
    m->tags = pool_alloc(pl, p->n_tags * sizeof *m->tags);
    m->status = pool_alloc(pl, p->n_status * sizeof *m->status);
    if (pl->failed)
        return NULL;
    for (i = 0; i < p->n_params; i++) {
        Kedro__Events__V1__Parameter *x = pool_alloc(pl, sizeof *x);

        if (x == NULL)
            return NULL;
        kedro__events__v1__parameter__init(x);
        x->name = str_or_empty(p->params[i].name);
        x->value = str_or_empty(p->params[i].value);
        x->type = str_or_empty(p->params[i].type);
        m->parameters[m->n_parameters++] = x;
    }
    for (i = 0; i < p->n_tags; i++) {
        Kedro__Events__V1__Tag *x = pool_alloc(pl, sizeof *x);

        if (x == NULL)
            return NULL;
        kedro__events__v1__tag__init(x);
        x->key = str_or_empty(p->tags[i].key);
        x->value = str_or_empty(p->tags[i].value);
        m->tags[m->n_tags++] = x;
    }
    for (i = 0; i < p->n_status; i++) {
        m->status[i] = pb_status(pl, &p->status[i]);
        if (m->status[i] == NULL)
            return NULL;
        m->n_status++;
    }
    return m;
}

static Kedro__Events__V1__DispatchResponse *pb_dispatch_response(pool *pl,
                                                                 const ke_dispatch_result *r)
{
    Kedro__Events__V1__DispatchResponse *m = pool_alloc(pl, sizeof *m);
    size_t i;

    if (m == NULL)
        return NULL;
    kedro__events__v1__dispatch_response__init(m);
    m->duplicate = r->duplicate;
    m->pipelines = pool_alloc(pl, r->n * sizeof *m->pipelines);
    if (m->pipelines == NULL)
        return NULL;
    for (i = 0; i < r->n; i++) {
        m->pipelines[i] = pb_pipeline(pl, &r->pipelines[i]);
        if (m->pipelines[i] == NULL)
            return NULL;
        m->n_pipelines++;
    }
    return m;
}

/* Packs msg and answers OK with it, or INTERNAL when memory ran out. */
static void reply_message(ke_rpc_call *call, pool *pl, const ProtobufCMessage *msg)
{
    uint8_t *buf;
    size_t len;

    if (pl->failed || msg == NULL) {
        ke_rpc_reply(call, KE_GRPC_RESOURCE_EXHAUSTED, "server out of memory", NULL, 0);
        return;
    }
    len = protobuf_c_message_get_packed_size(msg);
    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        ke_rpc_reply(call, KE_GRPC_RESOURCE_EXHAUSTED, "server out of memory", NULL, 0);
        return;
    }
    protobuf_c_message_pack(msg, buf);
    ke_rpc_reply(call, KE_GRPC_OK, NULL, buf, len);
    free(buf);
}

/* Unpacks a request of the given type and refuses one whose strings hold NUL (protobuf-c
 * would cut them there, so "event00\0--evil" would read as "event00"). On malformed bytes or
 * a NUL sets err naming the type or the field and returns NULL. Free with
 * protobuf_c_message_free_unpacked. */
static ProtobufCMessage *unpack_request(const ProtobufCMessageDescriptor *d, const uint8_t *req,
                                        size_t len, ke_error *err)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, req);
    char path[KE_WIRE_PATH_CAP];
    int found;

    if (m == NULL) {
        ke_error_set(err, KE_EINVAL, "malformed %s: not a valid protobuf encoding of %s",
                     d->short_name, d->name);
        return NULL;
    }
    found = ke_wire_find_nul(d, req, len, path);
    if (found == 0)
        return m;
    if (found > 0)
        ke_error_set(err, KE_EINVAL, "%s: must not contain a NUL character (U+0000)", path);
    else
        ke_error_set(err, KE_EINVAL, "malformed %s: %s", d->short_name, path);
    protobuf_c_message_free_unpacked(m, NULL);
    return NULL;
}

int ke_service_encode_pipeline(const ke_pipeline *p, uint8_t **buf, size_t *len)
{
    pool pl = {0};
    PbPipeline *m = pb_pipeline(&pl, p);
    int rc = KE_ENOMEM;

    *buf = NULL;
    *len = 0;
    if (m != NULL && !pl.failed) {
        *len = protobuf_c_message_get_packed_size(&m->base);
        *buf = malloc(*len ? *len : 1);
        if (*buf != NULL) {
            protobuf_c_message_pack(&m->base, *buf);
            rc = KE_OK;
        }
    }
    pool_release(&pl);
    return rc;
}

/* Answers one pipeline, or the error. */
static void reply_pipeline(ke_rpc_call *call, const ke_pipeline *p)
{
    pool pl = {0};

    reply_message(call, &pl, (ProtobufCMessage *)pb_pipeline(&pl, p));
    pool_release(&pl);
}

static void reply_error(ke_rpc_call *call, const ke_error *err)
{
    ke_rpc_reply(call, ke_err_grpc_status(err->code), err->msg, NULL, 0);
}

static void received_now(struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
}

/* The dispatcher a call uses: the service's, with the current router (a reference in *held,
 * dropped with ke_router_free once the call's events are handed to the store; a reload then
 * leaves this call on the router it started with). */
static ke_dispatcher call_dispatcher(ke_service *svc, ke_router **held)
{
    ke_dispatcher d = svc->dispatcher;

    *held = ke_routes_acquire(svc->routes);
    if (*held != NULL)
        d.router = *held;
    d.metrics = svc->metrics;
    return d;
}

/* A Dispatch in flight: its call and when it arrived. */
typedef struct dispatch_call {
    ke_rpc_call *call; /* to answer */
    ke_metrics *m;     /* its duration goes here */
    double start;      /* arrival, kec_metrics_mono() */
} dispatch_call;

/* Answers a call refused before its events were handed on, counting n rejected events. */
static void refuse(ke_service *svc, ke_rpc_call *call, const ke_error *err, size_t n,
                   ke_metrics_method method, double start)
{
    ke_metrics_rejected(svc->metrics, err->code, n);
    reply_error(call, err);
    ke_metrics_dispatch_done(svc->metrics, method, start);
}

/* The answer to a Dispatch, once the store committed it (writer thread). */
static void on_dispatched(void *ctx, int rc, const ke_error *err, ke_dispatch_result *res)
{
    dispatch_call *dc = ctx;
    pool pl = {0};

    if (rc != KE_OK)
        reply_error(dc->call, err);
    else
        reply_message(dc->call, &pl, (ProtobufCMessage *)pb_dispatch_response(&pl, res));
    ke_metrics_dispatch_done(dc->m, KE_METRICS_DISPATCH, dc->start);
    pool_release(&pl);
    ke_dispatch_result_release(res);
    free(dc);
}

static void handle_dispatch(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    double start = kec_metrics_mono();
    ke_service *svc = ctx;
    struct timespec received;
    ke_router *held = NULL;
    dispatch_call *dc;
    ke_event *ev = NULL;
    ke_dispatcher d;
    ke_error err;

    received_now(&received);
    ke_error_clear(&err);
    ke_metrics_received(svc->metrics, 1);
    d = call_dispatcher(svc, &held);
    dc = malloc(sizeof *dc);
    if (dc == NULL)
        ke_error_set(&err, KE_ENOMEM, "server out of memory");
    else if (d.router == NULL)
        ke_error_set(&err, KE_EDISABLED, "%s", ke_dispatch_disabled_msg);
    else
        ke_event_decode(req, len, &ev, &err);
    if (err.code != KE_OK) {
        ke_router_free(held);
        free(dc);
        refuse(svc, call, &err, 1, KE_METRICS_DISPATCH, start);
        return;
    }
    dc->call = call;
    dc->m = svc->metrics;
    dc->start = start;
    ke_dispatch_async(&d, ev, &received, on_dispatched, dc);
    ke_router_free(held);
    ke_event_free(ev);
}

/* A DispatchBatch in flight: each event's result arrives from the writer
 * thread, in order; the last one answers the call. */
typedef struct batch_call {
    ke_rpc_call *call;       /* to answer */
    ke_metrics *m;           /* its duration goes here */
    double start;            /* arrival, kec_metrics_mono() */
    ke_dispatch_result *res; /* one per event */
    size_t n;                /* events */
    size_t pending;          /* results still to come */
    pthread_mutex_t lock;    /* guards pending and err */
    ke_error err;            /* first failure, "events[i]: ..." */
} batch_call;

static void answer_batch(batch_call *bc)
{
    Kedro__Events__V1__DispatchBatchResponse *m;
    pool pl = {0};
    size_t i;

    if (bc->err.code != KE_OK) {
        reply_error(bc->call, &bc->err);
    } else {
        m = pool_alloc(&pl, sizeof *m);
        if (m != NULL) {
            kedro__events__v1__dispatch_batch_response__init(m);
            m->results = pool_alloc(&pl, bc->n * sizeof *m->results);
            for (i = 0; m->results != NULL && i < bc->n; i++)
                m->results[m->n_results++] = pb_dispatch_response(&pl, &bc->res[i]);
        }
        reply_message(bc->call, &pl, (ProtobufCMessage *)m);
    }
    ke_metrics_dispatch_done(bc->m, KE_METRICS_DISPATCH_BATCH, bc->start);
    pool_release(&pl);
    for (i = 0; i < bc->n; i++)
        ke_dispatch_result_release(&bc->res[i]);
    pthread_mutex_destroy(&bc->lock);
    free(bc->res);
    free(bc);
}

/* One event of a batch is done; index travels in the slot's address. */
typedef struct batch_slot {
    batch_call *bc; /* the batch */
    size_t i;       /* which event */
} batch_slot;

static void on_batch_event(void *ctx, int rc, const ke_error *err, ke_dispatch_result *res)
{
    batch_slot *slot = ctx;
    batch_call *bc = slot->bc;
    size_t left;

    pthread_mutex_lock(&bc->lock);
    if (rc == KE_EFULL) /* the message keeps its "store full: " prefix first */
        ke_error_set(&bc->err, rc, "%s (at events[%zu]; the events before it were accepted)",
                     err->msg, slot->i);
    else if (rc != KE_OK)
        /* Events before it stay accepted; a retry is answered as duplicates. */
        ke_error_set(&bc->err, rc, "events[%zu]: %s", slot->i, err->msg);
    else
        bc->res[slot->i] = *res;
    left = --bc->pending;
    pthread_mutex_unlock(&bc->lock);
    free(slot);
    if (left == 0)
        answer_batch(bc);
}

static void handle_dispatch_batch(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    double start = kec_metrics_mono();
    ke_service *svc = ctx;
    struct timespec received;
    ke_router *held = NULL;
    batch_call *bc = NULL;
    ke_batch *b = NULL;
    batch_slot *slot;
    ke_dispatcher d;
    size_t n = 1, i; /* a batch refused whole counts as one event */
    int received_counted = 0;
    ke_error err;

    received_now(&received);
    ke_error_clear(&err);
    d = call_dispatcher(svc, &held);
    if (d.router == NULL) {
        ke_error_set(&err, KE_EDISABLED, "%s", ke_dispatch_disabled_msg);
        goto fail;
    }
    if (ke_batch_decode(req, len, &b, &err) != KE_OK)
        goto fail;
    n = ke_batch_count(b);
    ke_metrics_received(svc->metrics, n);
    received_counted = 1;
    bc = calloc(1, sizeof *bc);
    if (bc != NULL)
        bc->res = calloc(n ? n : 1, sizeof *bc->res);
    if (bc == NULL || bc->res == NULL) {
        free(bc);
        ke_error_set(&err, KE_ENOMEM, "server out of memory");
        goto fail;
    }
    bc->call = call;
    bc->m = svc->metrics;
    bc->start = start;
    bc->n = n;
    bc->pending = n + 1; /* + this thread's hold, released below */
    pthread_mutex_init(&bc->lock, NULL);
    ke_error_clear(&bc->err);
    for (i = 0; i < n; i++) {
        slot = malloc(sizeof *slot);
        if (slot == NULL) {
            pthread_mutex_lock(&bc->lock);
            ke_error_set(&bc->err, KE_ENOMEM, "events[%zu]: server out of memory", i);
            bc->pending -= n - i; /* these will never report */
            ke_metrics_rejected(svc->metrics, KE_ENOMEM, n - i);
            pthread_mutex_unlock(&bc->lock);
            break;
        }
        slot->bc = bc;
        slot->i = i;
        ke_dispatch_async(&d, ke_batch_event(b, i), &received, on_batch_event, slot);
    }
    ke_router_free(held);
    ke_batch_free(b);
    pthread_mutex_lock(&bc->lock);
    n = --bc->pending;
    pthread_mutex_unlock(&bc->lock);
    if (n == 0)
        answer_batch(bc);
    return;
fail:
    ke_router_free(held);
    if (!received_counted)
        ke_metrics_received(svc->metrics, n);
    refuse(svc, call, &err, n, KE_METRICS_DISPATCH_BATCH, start);
    ke_batch_free(b);
}

/* Whether s is valid UTF-8 (protobuf-c does not check strings; a client
 * reading an invalid one back would fail to decode the answer). */
static int utf8(const char *s)
{
    return kec_utf8_invalid_at(s, strlen(s)) < 0;
}

/* Checks the parameters and tags of a CreatePipeline request: names non-empty, UTF-8,
 * not the server's own ("id", "event"), each at most once. Returns KE_OK or KE_EINVAL. */
static int check_request_items(const Kedro__Events__V1__CreatePipelineRequest *rq, ke_error *err)
{
    char q[KE_QUOTE_CAP];
    size_t i, j;

    for (i = 0; i < rq->n_parameters; i++) {
        const Kedro__Events__V1__Parameter *x = rq->parameters[i];

        if (x->name[0] == '\0')
            return ke_error_set(err, KE_EINVAL, "parameters[%zu]: name is empty", i);
        if (!utf8(x->name) || !utf8(x->value) || !utf8(x->type))
            return ke_error_set(err, KE_EINVAL, "parameters[%zu]: must be valid UTF-8", i);
        if (ke_param_name_reserved(x->name))
            return ke_error_set(err, KE_EINVAL, "parameters[%zu]: parameter %s %s", i,
                                ke_quote(q, x->name), ke_param_reserved_msg);
        for (j = 0; j < i; j++)
            if (strcmp(rq->parameters[j]->name, x->name) == 0)
                return ke_error_set(err, KE_EINVAL,
                                    "parameters[%zu]: parameter %s appears twice (first at "
                                    "parameters[%zu]); a run's parameters are a mapping",
                                    i, ke_quote(q, x->name), j);
    }
    for (i = 0; i < rq->n_tags; i++) {
        if (rq->tags[i]->key[0] == '\0')
            return ke_error_set(err, KE_EINVAL, "tags[%zu]: key is empty", i);
        if (!utf8(rq->tags[i]->key) || !utf8(rq->tags[i]->value))
            return ke_error_set(err, KE_EINVAL, "tags[%zu]: must be valid UTF-8", i);
    }
    return KE_OK;
}

/* Builds the record a CreatePipeline request asks for. */
static int pipeline_from_request(ke_pipeline *p, const Kedro__Events__V1__CreatePipelineRequest *rq,
                                 ke_error *err)
{
    size_t i;
    int rc;

    if (ke_pipeline_name_check(rq->name, "name", err) != KE_OK)
        return KE_EINVAL;
    if (rq->n_parameters > KE_CREATE_MAX_ITEMS || rq->n_tags > KE_CREATE_MAX_ITEMS)
        return ke_error_set(err, KE_EINVAL, "at most %d parameters and %d tags per pipeline",
                            KE_CREATE_MAX_ITEMS, KE_CREATE_MAX_ITEMS);
    if (!utf8(rq->parent))
        return ke_error_set(err, KE_EINVAL, "parent: must be valid UTF-8");
    if (check_request_items(rq, err) != KE_OK)
        return KE_EINVAL;
    rc = ke_pipeline_init(p, rq->name, KE_STATE_READY);
    if (rc == KE_OK && rq->parent[0] != '\0') {
        p->parent = strdup(rq->parent);
        rc = p->parent != NULL ? KE_OK : KE_ENOMEM;
    }
    for (i = 0; rc == KE_OK && i < rq->n_parameters; i++) {
        const char *type = rq->parameters[i]->type[0] ? rq->parameters[i]->type : "string";

        rc = ke_pipeline_add_param(p, rq->parameters[i]->name, rq->parameters[i]->value, type);
    }
    for (i = 0; rc == KE_OK && i < rq->n_tags; i++)
        rc = ke_pipeline_add_tag(p, rq->tags[i]->key, rq->tags[i]->value);
    if (rc != KE_OK) {
        ke_pipeline_release(p);
        return ke_error_set(err, rc, "server out of memory");
    }
    return KE_OK;
}

/* A CreatePipeline waiting for its commit: the record to answer with. */
typedef struct create_call {
    ke_rpc_call *call; /* to answer */
    ke_pipeline p;     /* a copy of what was stored */
} create_call;

static void on_created(void *ctx, int rc, const ke_error *err)
{
    create_call *cc = ctx;

    if (rc != KE_OK)
        reply_error(cc->call, err);
    else
        reply_pipeline(cc->call, &cc->p);
    ke_pipeline_release(&cc->p);
    free(cc);
}

static void handle_create(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    ke_service *svc = ctx;
    Kedro__Events__V1__CreatePipelineRequest *rq;
    create_call *cc = NULL;
    ke_pipeline p = {0};
    ke_error err;

    ke_error_clear(&err);
    rq = (Kedro__Events__V1__CreatePipelineRequest *)unpack_request(
        &kedro__events__v1__create_pipeline_request__descriptor, req, len, &err);
    if (rq == NULL || pipeline_from_request(&p, rq, &err) != KE_OK)
        goto fail;
    cc = calloc(1, sizeof *cc);
    if (cc == NULL || ke_pipeline_copy(&cc->p, &p) != KE_OK) {
        free(cc);
        ke_error_set(&err, KE_ENOMEM, "server out of memory");
        goto fail;
    }
    cc->call = call;
    ke_store_insert_async(svc->store, &p, on_created, cc);
    goto out;
fail:
    reply_error(call, &err);
out:
    ke_pipeline_release(&p);
    if (rq != NULL)
        protobuf_c_message_free_unpacked(&rq->base, NULL);
}

static void handle_get(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    ke_service *svc = ctx;
    Kedro__Events__V1__GetPipelineRequest *rq;
    ke_pipeline p = {0};
    ke_error err;

    ke_error_clear(&err);
    rq = (Kedro__Events__V1__GetPipelineRequest *)unpack_request(
        &kedro__events__v1__get_pipeline_request__descriptor, req, len, &err);
    if (rq != NULL && rq->id[0] == '\0')
        ke_error_set(&err, KE_EINVAL, "id is required");
    if (err.code == KE_OK && ke_store_get(svc->store, rq->id, &p, &err) == KE_OK)
        reply_pipeline(call, &p);
    else
        reply_error(call, &err);
    ke_pipeline_release(&p);
    if (rq != NULL)
        protobuf_c_message_free_unpacked(&rq->base, NULL);
}

static void handle_list(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    ke_service *svc = ctx;
    Kedro__Events__V1__ListPipelinesRequest *rq;
    Kedro__Events__V1__ListPipelinesResponse *m;
    ke_list_query q = {0};
    ke_pipeline *ps = NULL;
    char *next = NULL;
    size_t n = 0, i;
    pool pl = {0};
    ke_error err;

    ke_error_clear(&err);
    rq = (Kedro__Events__V1__ListPipelinesRequest *)unpack_request(
        &kedro__events__v1__list_pipelines_request__descriptor, req, len, &err);
    if (rq == NULL)
        goto fail;
    if (rq->page_size < 0 || rq->page_size > KE_LIST_MAX_LIMIT) {
        ke_error_set(&err, KE_EINVAL, "page_size %d: must be between 0 (default %d) and %d",
                     rq->page_size, KE_LIST_DEFAULT_LIMIT, KE_LIST_MAX_LIMIT);
        goto fail;
    }
    if ((int)rq->state < KE_STATE_UNSPECIFIED || (int)rq->state > KE_STATE_ABORTED) {
        ke_error_set(&err, KE_EINVAL, "state %d: not a PipelineStatus.State", (int)rq->state);
        goto fail;
    }
    q.name = rq->name;
    q.parent = rq->parent;
    q.state = (ke_state)rq->state;
    q.limit = (size_t)rq->page_size;
    q.page_token = rq->page_token;
    if (ke_store_list(svc->store, &q, &ps, &n, &next, &err) != KE_OK)
        goto fail;
    m = pool_alloc(&pl, sizeof *m);
    if (m != NULL) {
        kedro__events__v1__list_pipelines_response__init(m);
        m->next_page_token = str_or_empty(next);
        m->pipelines = pool_alloc(&pl, n * sizeof *m->pipelines);
        for (i = 0; m->pipelines != NULL && i < n; i++) {
            m->pipelines[i] = pb_pipeline(&pl, &ps[i]);
            m->n_pipelines++;
        }
    }
    reply_message(call, &pl, (ProtobufCMessage *)m);
    goto out;
fail:
    reply_error(call, &err);
out:
    pool_release(&pl);
    ke_pipelines_free(ps, n);
    free(next);
    if (rq != NULL)
        protobuf_c_message_free_unpacked(&rq->base, NULL);
}

/* ---- what service_ops.c shares (service_internal.h) */

void ke_service_reply_pipeline(ke_rpc_call *call, const ke_pipeline *p)
{
    reply_pipeline(call, p);
}

void ke_service_reply_error(ke_rpc_call *call, const ke_error *err)
{
    reply_error(call, err);
}

ProtobufCMessage *ke_service_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *req,
                                    size_t len, ke_error *err)
{
    return unpack_request(d, req, len, err);
}

size_t ke_service_methods(ke_service *svc, ke_rpc_method *out, size_t cap)
{
    const ke_rpc_method methods[] = {
        {"/kedro.events.v1.EventService/Dispatch", KE_RPC_UNARY, handle_dispatch, svc},
        {"/kedro.events.v1.EventService/DispatchBatch", KE_RPC_UNARY, handle_dispatch_batch, svc},
        {"/kedro.events.v1.EventService/CreatePipeline", KE_RPC_UNARY, handle_create, svc},
        {"/kedro.events.v1.EventService/GetPipeline", KE_RPC_UNARY, handle_get, svc},
        {"/kedro.events.v1.EventService/ListPipelines", KE_RPC_UNARY, handle_list, svc},
        {"/kedro.events.v1.EventService/CancelPipeline", KE_RPC_UNARY, ke_service_cancel, svc},
        {"/kedro.events.v1.EventService/RetryPipeline", KE_RPC_UNARY, ke_service_retry, svc},
        {"/kedro.events.v1.EventService/StreamLogs", KE_RPC_SERVER_STREAM, ke_service_stream_logs,
         svc},
        {"/kedro.events.v1.EventService/GetStats", KE_RPC_UNARY, ke_service_get_stats, svc},
    };
    size_t n = sizeof methods / sizeof methods[0], i;

    for (i = 0; i < n && i < cap; i++)
        out[i] = methods[i];
    return n;
}
