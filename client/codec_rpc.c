/* codec_rpc.c -- EventService and health requests to protobuf bytes, and answers from them
 * into the library's own pipeline structs (nanopb stays inside this file and codec.c). */
#include "codec.h"

#include <pb_decode.h>
#include <pb_encode.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb.h"
#include "internal.h"
#include "kedro/events/v1/events.pb.h"

typedef kedro_events_v1_Pipeline pb_pipeline;
typedef kedro_events_v1_PipelineStatus pb_status;

int kec_codec_create_request(const kec_pipeline_spec *spec, uint8_t **buf, size_t *len,
                             kec_error *err)
{
    kedro_events_v1_CreatePipelineRequest req = kedro_events_v1_CreatePipelineRequest_init_zero;
    kedro_events_v1_Parameter *params = NULL;
    kedro_events_v1_Tag *tags = NULL;
    size_t i;
    int rc;

    if (spec->n_params > PB_SIZE_MAX || spec->n_tags > PB_SIZE_MAX)
        return kec_error_set(err, KEC_EINVAL, "too many parameters or tags (%zu, %zu; at most %u)",
                             spec->n_params, spec->n_tags, (unsigned)PB_SIZE_MAX);
    params = calloc(spec->n_params + 1, sizeof *params);
    tags = calloc(spec->n_tags + 1, sizeof *tags);
    if (params == NULL || tags == NULL) {
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory encoding a pipeline");
        goto out;
    }
    for (i = 0; i < spec->n_params; i++) {
        params[i].name = kec_codec_str(spec->params[i].name);
        params[i].value = kec_codec_str(spec->params[i].value);
        params[i].type =
            kec_codec_str(spec->params[i].type != NULL ? spec->params[i].type : "string");
    }
    for (i = 0; i < spec->n_tags; i++) {
        tags[i].key = kec_codec_str(spec->tags[i].key);
        tags[i].value = kec_codec_str(spec->tags[i].value);
    }
    req.name = kec_codec_str(spec->name);
    req.parameters = params;
    req.parameters_count = (pb_size_t)spec->n_params;
    req.tags = tags;
    req.tags_count = (pb_size_t)spec->n_tags;
    req.parent = kec_codec_str(spec->parent);
    rc = kec_codec_encode(kedro_events_v1_CreatePipelineRequest_fields, &req, buf, len,
                          "a CreatePipeline request", err);
out:
    free(params);
    free(tags);
    return rc;
}

int kec_codec_get_request(const char *id, uint8_t **buf, size_t *len, kec_error *err)
{
    kedro_events_v1_GetPipelineRequest req = {.id = kec_codec_str(id)};

    return kec_codec_encode(kedro_events_v1_GetPipelineRequest_fields, &req, buf, len,
                            "a GetPipeline request", err);
}

int kec_codec_cancel_request(const char *id, uint8_t **buf, size_t *len, kec_error *err)
{
    kedro_events_v1_CancelPipelineRequest req = {.id = kec_codec_str(id)};

    return kec_codec_encode(kedro_events_v1_CancelPipelineRequest_fields, &req, buf, len,
                            "a CancelPipeline request", err);
}

int kec_codec_retry_request(const char *id, uint8_t **buf, size_t *len, kec_error *err)
{
    kedro_events_v1_RetryPipelineRequest req = {.id = kec_codec_str(id)};

    return kec_codec_encode(kedro_events_v1_RetryPipelineRequest_fields, &req, buf, len,
                            "a RetryPipeline request", err);
}

int kec_codec_list_request(const kec_list_query *q, uint8_t **buf, size_t *len, kec_error *err)
{
    kedro_events_v1_ListPipelinesRequest req = kedro_events_v1_ListPipelinesRequest_init_zero;
    kedro_events_v1_PipelineStatus_State state;
    int32_t page_size;

    if (q != NULL) {
        req.name = kec_codec_str(q->name);
        req.parent = kec_codec_str(q->parent);
        state = (kedro_events_v1_PipelineStatus_State)q->state;
        req.state = q->state != KEC_STATE_UNSPECIFIED ? &state : NULL;
        page_size = q->page_size;
        req.page_size = q->page_size != 0 ? &page_size : NULL;
        req.page_token = kec_codec_str(q->page_token);
    }
    return kec_codec_encode(kedro_events_v1_ListPipelinesRequest_fields, &req, buf, len,
                            "a ListPipelines request", err);
}

int kec_codec_watch_request(const char *id, uint8_t **buf, size_t *len, kec_error *err)
{
    kedro_events_v1_WatchPipelineRequest req = {.id = kec_codec_str(id)};

    return kec_codec_encode(kedro_events_v1_WatchPipelineRequest_fields, &req, buf, len,
                            "a WatchPipeline request", err);
}

int kec_codec_watch_all_request(const kec_watch_filter *f, uint8_t **buf, size_t *len,
                                kec_error *err)
{
    kedro_events_v1_WatchPipelinesRequest req = kedro_events_v1_WatchPipelinesRequest_init_zero;
    kedro_events_v1_PipelineStatus_State state;

    if (f != NULL) {
        req.name = kec_codec_str(f->name);
        req.parent = kec_codec_str(f->parent);
        state = (kedro_events_v1_PipelineStatus_State)f->state;
        req.state = f->state != KEC_STATE_UNSPECIFIED ? &state : NULL;
    }
    return kec_codec_encode(kedro_events_v1_WatchPipelinesRequest_fields, &req, buf, len,
                            "a WatchPipelines request", err);
}

int kec_codec_health_request(uint8_t **buf, size_t *len, kec_error *err)
{
    grpc_health_v1_HealthCheckRequest req = {.service = NULL};

    return kec_codec_encode(grpc_health_v1_HealthCheckRequest_fields, &req, buf, len,
                            "a health check", err);
}

int kec_codec_stats_request(int window, int step, uint8_t **buf, size_t *len, kec_error *err)
{
    kedro_events_v1_GetStatsRequest req = kedro_events_v1_GetStatsRequest_init_zero;
    int32_t w = window, st = step;

    req.window_seconds = window != 0 ? &w : NULL;
    req.step_seconds = step != 0 ? &st : NULL;
    return kec_codec_encode(kedro_events_v1_GetStatsRequest_fields, &req, buf, len,
                            "a GetStats request", err);
}

/* ---- answers ---- */

static kec_time take_time(const google_protobuf_Timestamp *t)
{
    kec_time out = {0, 0, 0};

    if (t != NULL) {
        out.seconds = t->seconds != NULL ? *t->seconds : 0;
        out.nanos = t->nanos != NULL ? *t->nanos : 0;
        out.set = 1;
    }
    return out;
}

/* Moves nanopb's string out of *slot (the decode malloc'd it, and pb_release will find NULL
 * there): the result owns it. An absent string becomes a new "" (results never hold NULL);
 * *failed is set when that allocation fails. */
static char *take_str(char **slot, int *failed)
{
    char *s = *slot;

    *slot = NULL;
    if (s == NULL && (s = strdup("")) == NULL)
        *failed = 1;
    return s;
}

static void take_status(pb_status *s, kec_status *out, int *failed)
{
    out->state = s->state != NULL ? (kec_state)*s->state : KEC_STATE_UNSPECIFIED;
    out->changed_at = take_time(s->changed_at);
    out->started_at = take_time(s->started_at);
    out->finished_at = take_time(s->finished_at);
    out->runner = take_str(&s->runner, failed);
    if (s->which_outcome == kedro_events_v1_PipelineStatus_exit_code_tag) {
        out->has_exit_code = 1;
        out->exit_code = s->outcome.exit_code != NULL ? *s->outcome.exit_code : 0;
    } else if (s->which_outcome == kedro_events_v1_PipelineStatus_signal_tag) {
        out->has_signal = 1;
        out->signal = s->outcome.signal != NULL ? *s->outcome.signal : 0;
    }
    out->error = take_str(&s->error, failed);
    out->log_path = take_str(&s->log_path, failed);
    out->kedro_graphql_json = take_str(&s->kedro_graphql_json, failed);
}

/* Moves a decoded pipeline into *out (its strings change owner: see take_str); on failure
 * *out is released. */
static int take_pipeline(pb_pipeline *p, kec_pipeline *out, kec_error *err)
{
    int failed = 0;
    size_t i;

    memset(out, 0, sizeof *out);
    out->id = take_str(&p->id, &failed);
    out->name = take_str(&p->name, &failed);
    out->parent = take_str(&p->parent, &failed);
    out->created_at = take_time(p->created_at);
    out->kedro_graphql_id = take_str(&p->kedro_graphql_id, &failed);
    out->kedro_graphql_json = take_str(&p->kedro_graphql_json, &failed);
    out->params = calloc(p->parameters_count + 1, sizeof *out->params);
    out->tags = calloc(p->tags_count + 1, sizeof *out->tags);
    out->status = calloc(p->status_count + 1, sizeof *out->status);
    if (out->params == NULL || out->tags == NULL || out->status == NULL)
        failed = 1;
    for (i = 0; !failed && i < p->parameters_count; i++, out->n_params++) {
        out->params[i].name = take_str(&p->parameters[i].name, &failed);
        out->params[i].value = take_str(&p->parameters[i].value, &failed);
        out->params[i].type = take_str(&p->parameters[i].type, &failed);
    }
    for (i = 0; !failed && i < p->tags_count; i++, out->n_tags++) {
        out->tags[i].key = take_str(&p->tags[i].key, &failed);
        out->tags[i].value = take_str(&p->tags[i].value, &failed);
    }
    for (i = 0; !failed && i < p->status_count; i++, out->n_status++)
        take_status(&p->status[i], &out->status[i], &failed);
    if (failed) {
        kec_pipeline_release(out);
        return kec_error_set(err, KEC_ENOMEM, "out of memory decoding a pipeline");
    }
    return KEC_OK;
}

/* Moves count decoded pipelines into a new array *out. */
static int take_pipelines(pb_pipeline *ps, size_t count, kec_pipeline **out, kec_error *err)
{
    kec_pipeline *arr = calloc(count + 1, sizeof *arr);
    size_t i;

    *out = NULL;
    if (arr == NULL)
        return kec_error_set(err, KEC_ENOMEM, "out of memory decoding pipelines");
    for (i = 0; i < count; i++) {
        if (take_pipeline(&ps[i], &arr[i], err) != KEC_OK) {
            while (i-- > 0)
                kec_pipeline_release(&arr[i]);
            free(arr);
            return KEC_ENOMEM;
        }
    }
    *out = arr;
    return KEC_OK;
}

static int take_result(kedro_events_v1_DispatchResponse *r, kec_dispatch_result *out,
                       kec_error *err)
{
    memset(out, 0, sizeof *out);
    if (take_pipelines(r->pipelines, r->pipelines_count, &out->pipelines, err) != KEC_OK)
        return KEC_ENOMEM;
    out->count = r->pipelines_count;
    out->duplicate = r->duplicate != NULL && *r->duplicate;
    return KEC_OK;
}

int kec_codec_dispatch_response(const uint8_t *buf, size_t len, kec_dispatch_result *out,
                                kec_error *err)
{
    kedro_events_v1_DispatchResponse r = kedro_events_v1_DispatchResponse_init_zero;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_decode(kedro_events_v1_DispatchResponse_fields, buf, len, &r, KEC_EDECODE,
                          "the server's Dispatch answer", err);
    if (rc == KEC_OK)
        rc = take_result(&r, out, err);
    pb_release(kedro_events_v1_DispatchResponse_fields, &r);
    return rc;
}

int kec_codec_batch_response(const uint8_t *buf, size_t len, kec_dispatch_result **out,
                             size_t *count, kec_error *err)
{
    kedro_events_v1_DispatchBatchResponse r = kedro_events_v1_DispatchBatchResponse_init_zero;
    kec_dispatch_result *arr = NULL;
    size_t i = 0;
    int rc;

    *out = NULL;
    *count = 0;
    rc = kec_codec_decode(kedro_events_v1_DispatchBatchResponse_fields, buf, len, &r, KEC_EDECODE,
                          "the server's DispatchBatch answer", err);
    if (rc == KEC_OK && (arr = calloc(r.results_count + 1, sizeof *arr)) == NULL)
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory decoding a batch answer");
    for (; rc == KEC_OK && i < r.results_count; i++)
        rc = take_result(&r.results[i], &arr[i], err);
    pb_release(kedro_events_v1_DispatchBatchResponse_fields, &r);
    if (rc != KEC_OK) {
        kec_dispatch_results_free(arr, i);
        return rc;
    }
    *out = arr;
    *count = i;
    return KEC_OK;
}

int kec_codec_pipeline(const uint8_t *buf, size_t len, kec_pipeline *out, kec_error *err)
{
    pb_pipeline p = kedro_events_v1_Pipeline_init_zero;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_decode(kedro_events_v1_Pipeline_fields, buf, len, &p, KEC_EDECODE,
                          "the server's pipeline", err);
    if (rc == KEC_OK)
        rc = take_pipeline(&p, out, err);
    pb_release(kedro_events_v1_Pipeline_fields, &p);
    return rc;
}

int kec_codec_page(const uint8_t *buf, size_t len, kec_pipeline_page *out, kec_error *err)
{
    kedro_events_v1_ListPipelinesResponse r = kedro_events_v1_ListPipelinesResponse_init_zero;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_decode(kedro_events_v1_ListPipelinesResponse_fields, buf, len, &r, KEC_EDECODE,
                          "the server's pipeline list", err);
    if (rc == KEC_OK)
        rc = take_pipelines(r.pipelines, r.pipelines_count, &out->pipelines, err);
    if (rc == KEC_OK) {
        int failed = 0;

        out->count = r.pipelines_count;
        out->next_page_token = take_str(&r.next_page_token, &failed);
        if (failed) {
            kec_pipeline_page_release(out);
            rc = kec_error_set(err, KEC_ENOMEM, "out of memory decoding a pipeline list");
        }
    }
    pb_release(kedro_events_v1_ListPipelinesResponse_fields, &r);
    return rc;
}

int kec_codec_health_response(const uint8_t *buf, size_t len, int *serving, kec_error *err)
{
    grpc_health_v1_HealthCheckResponse r = grpc_health_v1_HealthCheckResponse_init_zero;
    int rc;

    *serving = 0;
    rc = kec_codec_decode(grpc_health_v1_HealthCheckResponse_fields, buf, len, &r, KEC_EDECODE,
                          "the server's health answer", err);
    if (rc == KEC_OK)
        *serving = r.status != NULL &&
                   *r.status == grpc_health_v1_HealthCheckResponse_ServingStatus_SERVING;
    pb_release(grpc_health_v1_HealthCheckResponse_fields, &r);
    return rc;
}

/* *v, or 0 for an absent (zero) proto3 number. */
static int64_t num64(const int64_t *v)
{
    return v != NULL ? *v : 0;
}

int kec_codec_stats(const uint8_t *buf, size_t len, kec_stats *out, kec_error *err)
{
    kedro_events_v1_Stats r = kedro_events_v1_Stats_init_zero;
    size_t i;
    int rc;

    memset(out, 0, sizeof *out);
    rc = kec_codec_decode(kedro_events_v1_Stats_fields, buf, len, &r, KEC_EDECODE,
                          "the server's stats", err);
    if (rc == KEC_OK && r.buckets_count > KEC_STATS_MAX_BUCKETS)
        rc = kec_error_set(err, KEC_EDECODE, "the server's stats hold %u buckets, more than %d",
                           (unsigned)r.buckets_count, KEC_STATS_MAX_BUCKETS);
    if (rc == KEC_OK && (out->buckets = calloc(r.buckets_count + 1, sizeof *out->buckets)) == NULL)
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory decoding stats");
    if (rc == KEC_OK) {
        out->now = take_time(r.now);
        out->events_since = take_time(r.events_since);
        out->window = r.window_seconds != NULL ? *r.window_seconds : 0;
        out->step = r.step_seconds != NULL ? *r.step_seconds : 0;
        out->staged = num64(r.staged);
        out->ready = num64(r.ready);
        out->started = num64(r.started);
        for (i = 0; i < r.buckets_count; i++) {
            out->buckets[i].start = take_time(r.buckets[i].start);
            out->buckets[i].events = num64(r.buckets[i].events);
            out->buckets[i].success = num64(r.buckets[i].success);
            out->buckets[i].failure = num64(r.buckets[i].failure);
            out->buckets[i].aborted = num64(r.buckets[i].aborted);
        }
        out->count = r.buckets_count;
    }
    pb_release(kedro_events_v1_Stats_fields, &r);
    if (rc != KEC_OK)
        kec_stats_release(out);
    return rc;
}
