/* dispatch.c -- turns a validated event into the pipeline records its routes call for. */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "stats.h"

const char ke_dispatch_disabled_msg[] =
    "dispatch is disabled: no event configuration is set; set " KE_CONFIG_ENV
    " (or --events-config) to a JSON object mapping pipeline names to "
    "{\"source\": ..., \"type\": ...}";

/* Fills p for one route: READY, parameters and tags as DESIGN.md 3.4 says. */
static int build_one(ke_pipeline *p, const ke_route *r, const ke_event *ev, const char *json)
{
    int rc = ke_pipeline_init(p, r->pipeline, KE_STATE_READY);
    size_t i;

    if (rc != KE_OK)
        return rc;
    rc = ke_pipeline_add_param(p, "id", p->id, "string");
    if (rc == KE_OK)
        rc = ke_pipeline_add_param(p, "event", json, "string");
    for (i = 0; rc == KE_OK && i < r->n_params; i++)
        rc = ke_pipeline_add_param(p, r->params[i].key, r->params[i].value, r->params[i].type);
    if (rc == KE_OK)
        rc = ke_pipeline_add_tag(p, "event_id", ke_event_id(ev));
    if (rc == KE_OK)
        rc = ke_pipeline_add_tag(p, "event_source", ke_event_source(ev));
    if (rc == KE_OK)
        rc = ke_pipeline_add_tag(p, "event_type", ke_event_type(ev));
    for (i = 0; rc == KE_OK && i < r->n_tags; i++)
        rc = ke_pipeline_add_tag(p, r->tags[i].key, r->tags[i].value);
    if (rc != KE_OK)
        ke_pipeline_release(p);
    return rc;
}

/* Matches ev and builds one READY pipeline per route into *out (n of them;
 * *out NULL when nothing matched). */
static int build_all(const ke_dispatcher *d, const ke_event *ev, const struct timespec *received,
                     ke_pipeline **out, size_t *n, ke_error *err)
{
    const ke_route *const *routes;
    ke_pipeline *built = NULL;
    char *json = NULL;
    size_t made = 0, cap, len;
    int rc = KE_OK;

    *out = NULL;
    *n = 0;
    if (d->router == NULL)
        return ke_error_set(err, KE_EDISABLED, "%s", ke_dispatch_disabled_msg);
    routes = ke_router_match(d->router, ke_event_source(ev), ke_event_type(ev), n);
    if (*n == 0)
        return KE_OK;
    rc = ke_event_to_json(ev, received, &json, err);
    if (rc != KE_OK)
        goto out;
    cap = d->max_event_json != 0 ? d->max_event_json : KE_EVENT_JSON_DEFAULT_CAP;
    len = strlen(json);
    if (len > cap) {
        rc = ke_error_set(err, KE_ETOOBIG,
                          "event: rendered as CloudEvents JSON it takes %zu bytes, more than "
                          "the cap of %zu bytes (%d x --max-message-bytes); text data with "
                          "control characters grows 6-fold (each is written \\u00XX)",
                          len, cap, KE_EVENT_JSON_FACTOR);
        goto out;
    }
    built = calloc(*n, sizeof *built);
    if (built == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "dispatch: out of memory");
        goto out;
    }
    for (made = 0; made < *n; made++) {
        rc = build_one(&built[made], routes[made], ev, json);
        if (rc != KE_OK) {
            ke_error_set(err, rc, "dispatch: out of memory");
            goto out;
        }
    }
out:
    free(json);
    if (rc != KE_OK) {
        ke_pipelines_free(built, made);
        *n = 0;
        return rc;
    }
    *out = built;
    return KE_OK;
}

int ke_dispatch(const ke_dispatcher *d, const ke_event *ev, const struct timespec *received,
                ke_dispatch_result *res, ke_error *err)
{
    ke_pipeline *built = NULL;
    size_t n = 0;
    int rc;

    memset(res, 0, sizeof *res);
    rc = build_all(d, ev, received, &built, &n, err);
    if (rc == KE_OK)
        rc = ke_store_accept(d->store, ke_event_source(ev), ke_event_id(ev), built, n,
                             &res->pipelines, &res->n, &res->duplicate, err);
    ke_pipelines_free(built, n);
    return rc;
}

/* Carries the caller's callback through the store's. */
typedef struct pending {
    ke_dispatch_cb cb; /* the caller's */
    void *ctx;         /* its context */
    ke_metrics *m;     /* the outcome is counted here, or NULL */
    ke_stats *stats;   /* an event accepted as new is counted here, or NULL */
} pending;

static void on_accepted(void *ctx, int rc, const ke_error *err, ke_pipeline *ps, size_t n,
                        int duplicate)
{
    pending *p = ctx;
    ke_dispatch_result res = {ps, n, duplicate};

    if (rc != KE_OK) {
        ke_pipelines_free(ps, n);
        memset(&res, 0, sizeof res);
    }
    ke_metrics_outcome(p->m, rc, res.n, res.duplicate);
    if (rc == KE_OK && !res.duplicate)
        ke_stats_count(p->stats, 1);
    p->cb(p->ctx, rc, err, &res);
    free(p);
}

/* A resend of an event already committed, answered from the read side on this thread (no
 * building, no writer): returns 1 once cb has the original pipelines, duplicate = 1, as the
 * writer would answer. 0 when dispatch is disabled (build_all says so) or the key is not
 * known committed: the writer decides. */
static int answer_duplicate(const ke_dispatcher *d, const ke_event *ev, ke_dispatch_cb cb,
                            void *ctx)
{
    ke_dispatch_result res = {NULL, 0, 1};

    if (d->router == NULL || d->store == NULL ||
        !ke_store_find_accepted(d->store, ke_event_source(ev), ke_event_id(ev), &res.pipelines,
                                &res.n))
        return 0;
    ke_metrics_outcome(d->metrics, KE_OK, res.n, 1);
    cb(ctx, KE_OK, NULL, &res);
    return 1;
}

void ke_dispatch_async(const ke_dispatcher *d, const ke_event *ev, const struct timespec *received,
                       ke_dispatch_cb cb, void *ctx)
{
    ke_dispatch_result none = {0};
    ke_pipeline *built = NULL;
    pending *p = NULL;
    size_t n = 0;
    ke_error err;
    int rc;

    ke_error_clear(&err);
    if (answer_duplicate(d, ev, cb, ctx))
        return;
    rc = build_all(d, ev, received, &built, &n, &err);
    if (rc == KE_OK) {
        p = malloc(sizeof *p);
        if (p == NULL)
            rc = ke_error_set(&err, KE_ENOMEM, "dispatch: out of memory");
    }
    if (rc != KE_OK) {
        ke_pipelines_free(built, n);
        ke_metrics_outcome(d->metrics, rc, 0, 0);
        cb(ctx, rc, &err, &none);
        return;
    }
    p->cb = cb;
    p->ctx = ctx;
    p->m = d->metrics;
    p->stats = d->stats;
    ke_store_accept_async(d->store, ke_event_source(ev), ke_event_id(ev), built, n, on_accepted, p);
}

void ke_dispatch_result_release(ke_dispatch_result *res)
{
    ke_pipelines_free(res->pipelines, res->n);
    memset(res, 0, sizeof *res);
}
