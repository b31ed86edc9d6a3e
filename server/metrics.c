/* metrics.c -- kedro-eventd's metric families and what feeds them: dispatch outcomes, the
 * store's change feed (pipelines created and finished, READY and STARTED gauges) and commit
 * observer, and configuration reloads. */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include "kec_metrics.h"

#define N_GRPC_CODES 17

struct ke_metrics {
    kec_metrics *reg;                   /* the registry */
    ke_store *store;                    /* followed */
    int subscribed;                     /* the change feed is ours */
    kec_series *received;               /* kedro_events_events_received_total */
    kec_series *accepted;               /* ..._accepted_total */
    kec_series *duplicate;              /* ..._duplicate_total */
    kec_series *unmatched;              /* ..._unmatched_total */
    kec_series *rejected[N_GRPC_CODES]; /* ..._rejected_total{code} */
    kec_family *created;                /* kedro_events_pipelines_created_total{pipeline} */
    kec_family *finished;               /* kedro_events_pipelines_finished_total{pipeline,state} */
    kec_series *ready;                  /* kedro_events_pipelines_ready */
    kec_series *running;                /* kedro_events_pipelines_running */
    kec_series *dispatch[2];            /* kedro_events_dispatch_duration_seconds{method} */
    kec_series *commit;                 /* kedro_events_store_commit_duration_seconds */
    kec_series *commit_requests;        /* kedro_events_store_commit_requests_total */
    kec_series *reload_ok;              /* kedro_events_config_reloads_total{result="success"} */
    kec_series *reload_failed;          /* {result="failure"} */
    kec_series *reload_time; /* kedro_events_config_last_reload_success_timestamp_seconds */
    kec_series *routes;      /* kedro_events_config_routes */
};

static const char *const grpc_names[N_GRPC_CODES] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

static const char *const ended_names[] = {"SUCCESS", "FAILURE", "ABORTED"};

/* A family with no labels and its one series. */
static kec_series *single(kec_metrics *reg, kec_metric_type type, const char *name,
                          const char *help)
{
    return kec_series_get(kec_metrics_family(reg, type, name, help, 0, NULL, 1, NULL, 0), NULL);
}

static int add_event_families(ke_metrics *m)
{
    static const char *const code[] = {"code"};
    kec_family *rej;
    const char *v[1];
    int i;

    m->received = single(m->reg, KEC_COUNTER, "kedro_events_events_received_total",
                         "CloudEvents received by Dispatch and DispatchBatch (a batch counts its "
                         "events).");
    m->accepted = single(m->reg, KEC_COUNTER, "kedro_events_events_accepted_total",
                         "Events stored (not duplicates), matched or not.");
    m->duplicate = single(m->reg, KEC_COUNTER, "kedro_events_events_duplicate_total",
                          "Events whose source and id were accepted before.");
    rej = kec_metrics_family(m->reg, KEC_COUNTER, "kedro_events_events_rejected_total",
                             "Events refused, by gRPC status code (a batch refused as a whole "
                             "counts once).",
                             1, code, N_GRPC_CODES, NULL, 0);
    m->unmatched = single(m->reg, KEC_COUNTER, "kedro_events_events_unmatched_total",
                          "Events accepted that matched no route.");
    for (i = 1; i < N_GRPC_CODES; i++) {
        v[0] = grpc_names[i];
        m->rejected[i] = kec_series_reserve(rej, v);
    }
    return m->received && m->accepted && m->duplicate && m->unmatched && m->rejected[1] ? 0 : -1;
}

static int add_pipeline_families(ke_metrics *m)
{
    static const char *const name[] = {"pipeline"};
    static const char *const name_state[] = {"pipeline", "state"};

    m->created = kec_metrics_family(m->reg, KEC_COUNTER, "kedro_events_pipelines_created_total",
                                    "Pipelines stored, by name (route names, then up to 100 "
                                    "others; past that \"" KEC_METRICS_OVERFLOW "\").",
                                    1, name, KE_METRICS_OTHER_NAMES, NULL, 0);
    m->finished = kec_metrics_family(m->reg, KEC_COUNTER, "kedro_events_pipelines_finished_total",
                                     "Pipelines ended, by name and final state.", 2, name_state,
                                     3 * KE_METRICS_OTHER_NAMES, NULL, 0);
    m->ready = single(m->reg, KEC_GAUGE, "kedro_events_pipelines_ready",
                      "Pipelines READY: the backlog waiting for a runner.");
    m->running = single(m->reg, KEC_GAUGE, "kedro_events_pipelines_running",
                        "Pipelines STARTED: runs in progress.");
    return m->created && m->finished && m->ready && m->running ? 0 : -1;
}

static int add_timing_families(ke_metrics *m)
{
    static const char *const method[] = {"method"};
    static const char *const result[] = {"result"};
    static const double commit_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025,  0.05,    0.1,    0.25,  0.5,    1};
    const char *v[1];
    kec_family *f;

    f = kec_metrics_family(m->reg, KEC_HISTOGRAM, "kedro_events_dispatch_duration_seconds",
                           "From a Dispatch or DispatchBatch request's arrival to its answer.", 1,
                           method, 2, kec_metrics_latency_bounds, kec_metrics_latency_n);
    v[0] = "Dispatch";
    m->dispatch[KE_METRICS_DISPATCH] = kec_series_get(f, v);
    v[0] = "DispatchBatch";
    m->dispatch[KE_METRICS_DISPATCH_BATCH] = kec_series_get(f, v);
    f = kec_metrics_family(m->reg, KEC_HISTOGRAM, "kedro_events_store_commit_duration_seconds",
                           "The store writer's transactions, BEGIN to COMMIT.", 0, NULL, 1,
                           commit_bounds, sizeof commit_bounds / sizeof commit_bounds[0]);
    m->commit = kec_series_get(f, NULL);
    m->commit_requests = single(m->reg, KEC_COUNTER, "kedro_events_store_commit_requests_total",
                                "Requests committed (several share a transaction).");
    f = kec_metrics_family(m->reg, KEC_COUNTER, "kedro_events_config_reloads_total",
                           "Reloads of the event configuration (SIGHUP), by result.", 1, result, 2,
                           NULL, 0);
    v[0] = "success";
    m->reload_ok = kec_series_get(f, v);
    v[0] = "failure";
    m->reload_failed = kec_series_get(f, v);
    m->reload_time =
        single(m->reg, KEC_GAUGE, "kedro_events_config_last_reload_success_timestamp_seconds",
               "When the event configuration was last loaded (start or reload).");
    m->routes = single(m->reg, KEC_GAUGE, "kedro_events_config_routes",
                       "Routes of the event configuration in use.");
    return m->dispatch[0] && m->dispatch[1] && m->commit && m->commit_requests && m->reload_ok &&
                   m->reload_failed && m->reload_time && m->routes
               ? 0
               : -1;
}

static void count_change(ke_metrics *m, const ke_change *c)
{
    const char *v[2] = {c->name, NULL};
    size_t i;

    if (c->prev == KE_STATE_UNSPECIFIED)
        kec_counter_add(kec_series_get(m->created, v), 1);
    if (c->prev == c->state)
        return;
    if (c->prev == KE_STATE_READY)
        kec_gauge_add(m->ready, -1);
    else if (c->prev == KE_STATE_STARTED)
        kec_gauge_add(m->running, -1);
    if (c->state == KE_STATE_READY)
        kec_gauge_add(m->ready, 1);
    else if (c->state == KE_STATE_STARTED)
        kec_gauge_add(m->running, 1);
    for (i = 0; i < 3; i++)
        if (strcmp(ke_state_name(c->state), ended_names[i]) == 0) {
            v[1] = ended_names[i];
            kec_counter_add(kec_series_get(m->finished, v), 1);
        }
}

/* The change feed (writer thread). */
static void on_changes(void *ctx, const ke_change *changes, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        count_change(ctx, &changes[i]);
}

/* The commit observer (writer thread). */
static void on_commit(void *ctx, double seconds, size_t requests)
{
    ke_metrics *m = ctx;

    kec_histogram_observe(m->commit, seconds);
    kec_counter_add(m->commit_requests, requests);
}

static int add_build_info(ke_metrics *m)
{
    static const char *const version[] = {"version"};
    const char *v[1] = {KE_VERSION};
    kec_family *f;

    f = kec_metrics_family(m->reg, KEC_GAUGE, "kedro_events_build_info",
                           "Always 1; the version of kedro-eventd in its label.", 1, version, 1,
                           NULL, 0);
    kec_gauge_set(kec_series_get(f, v), 1);
    return f != NULL ? 0 : -1;
}

static int start_gauges(ke_metrics *m, ke_error *err)
{
    size_t ready = 0, running = 0;
    int rc = ke_store_count(m->store, KE_STATE_READY, &ready, err);

    if (rc == KE_OK)
        rc = ke_store_count(m->store, KE_STATE_STARTED, &running, err);
    if (rc != KE_OK)
        return rc;
    kec_gauge_set(m->ready, (double)ready);
    kec_gauge_set(m->running, (double)running);
    return KE_OK;
}

int ke_metrics_new(ke_store *store, ke_metrics **out, ke_error *err)
{
    ke_metrics *m = calloc(1, sizeof *m);
    int rc = KE_OK;

    *out = NULL;
    if (m == NULL)
        return ke_error_set(err, KE_ENOMEM, "metrics: out of memory");
    m->store = store;
    m->reg = kec_metrics_new();
    if (m->reg == NULL || add_build_info(m) != 0 || add_event_families(m) != 0 ||
        add_pipeline_families(m) != 0 || add_timing_families(m) != 0 ||
        kec_metrics_add_process(m->reg, kec_metrics_now()) != 0) {
        rc = ke_error_set(err, KE_ENOMEM, "metrics: out of memory");
        goto out;
    }
    kec_gauge_set(m->reload_time, kec_metrics_now()); /* the configuration read at start */
    rc = ke_store_subscribe(store, on_changes, m, err);
    if (rc != KE_OK)
        goto out;
    m->subscribed = 1;
    rc = start_gauges(m, err);
    if (rc != KE_OK)
        goto out;
    ke_store_on_commit(store, on_commit, m);
out:
    if (rc != KE_OK) {
        ke_metrics_free(m);
        return rc;
    }
    *out = m;
    return KE_OK;
}

void ke_metrics_free(ke_metrics *m)
{
    if (m == NULL)
        return;
    if (m->subscribed) {
        ke_store_on_commit(m->store, NULL, NULL);
        ke_store_unsubscribe(m->store, on_changes, m);
    }
    kec_metrics_free(m->reg);
    free(m);
}

void ke_metrics_received(ke_metrics *m, size_t n)
{
    if (m != NULL)
        kec_counter_add(m->received, n);
}

void ke_metrics_rejected(ke_metrics *m, int rc, size_t n)
{
    int code;

    if (m == NULL)
        return;
    code = ke_err_grpc_status(rc);
    if (code <= 0 || code >= N_GRPC_CODES)
        code = 2; /* UNKNOWN */
    kec_counter_add(m->rejected[code], n);
}

void ke_metrics_outcome(ke_metrics *m, int rc, size_t n_pipelines, int duplicate)
{
    if (m == NULL)
        return;
    if (rc != KE_OK) {
        ke_metrics_rejected(m, rc, 1);
        return;
    }
    if (duplicate) {
        kec_counter_add(m->duplicate, 1);
        return;
    }
    kec_counter_add(m->accepted, 1);
    if (n_pipelines == 0)
        kec_counter_add(m->unmatched, 1);
}

void ke_metrics_dispatch_done(ke_metrics *m, ke_metrics_method method, double start)
{
    if (m != NULL)
        kec_histogram_observe(m->dispatch[method], kec_metrics_mono() - start);
}

void ke_metrics_config(ke_metrics *m, const ke_config *cfg)
{
    const char *v[2];
    size_t i, j;

    if (m == NULL)
        return;
    kec_gauge_set(m->routes, cfg != NULL ? (double)cfg->n_routes : 0);
    for (i = 0; cfg != NULL && i < cfg->n_routes; i++) {
        v[0] = cfg->routes[i].pipeline;
        kec_series_reserve(m->created, v);
        for (j = 0; j < 3; j++) {
            v[1] = ended_names[j];
            kec_series_reserve(m->finished, v);
        }
    }
}

void ke_metrics_reload(ke_metrics *m, int ok)
{
    if (m == NULL)
        return;
    kec_counter_add(ok ? m->reload_ok : m->reload_failed, 1);
    if (ok)
        kec_gauge_set(m->reload_time, kec_metrics_now());
}

char *ke_metrics_render(ke_metrics *m, size_t *len)
{
    return m != NULL ? kec_metrics_render(m->reg, len) : NULL;
}
