/* pipeline_json.c -- pipelines and dispatch results as JSON shaped like kedro-graphql's
 * pipeline dict, for the CLI's --json output and the HTTP shim's answers.
 *
 * The dict is written straight into text (kec_json_out), byte for byte what
 * cJSON_PrintUnformatted prints for the same members: building a cJSON tree of some sixty
 * nodes, printing and freeing it cost the shim more per request than the rest of its answer. */
#include "kedroevents.h"

#include "internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* A literal: its length known at compile time. */
#define RAW(o, lit) KEC_JSON_OUT_LIT(o, lit)

/* name: s, or null when s is NULL or "" (an absent value). */
static void put_text_or_null(kec_json_out *o, const char *name, const char *s)
{
    kec_json_out_key(o, name, 0);
    if (s == NULL || s[0] == '\0')
        RAW(o, "null");
    else
        kec_json_out_string(o, s);
}

/* name: s, "" for NULL (a parameter's or tag's empty value is a value). */
static void put_text(kec_json_out *o, const char *name, const char *s, int first)
{
    kec_json_out_key(o, name, first);
    kec_json_out_string(o, s != NULL ? s : "");
}

/* name: t as RFC 3339, or null when t is unset. */
static void put_time(kec_json_out *o, const char *name, kec_time t)
{
    kec_json_out_key(o, name, 0);
    kec_json_out_time(o, &t);
}

/* name: v, or null when has is 0. */
static void put_int(kec_json_out *o, const char *name, int has, int v)
{
    kec_json_out_key(o, name, 0);
    if (!has)
        RAW(o, "null");
    else
        kec_json_out_int(o, v);
}

/* ---- kedro-graphql's own values ---- */

/* kedro-graphql's keys whose values only it has: ours are null (data_catalog []) and, for a
 * forwarded run, its own from kedro_graphql_json take their place. */
static const char *const remote_pipeline_keys[] = {
    "data_catalog",    "describe",         "nodes",
    "project_version", "pipeline_version", "kedro_graphql_version"};
/* In the dict's order; status_json and put_pipeline write them in slices of these tables
 * between the keys we have values for. */
static const char *const remote_status_keys[] = {
    "session",      "filtered_nodes", "task_id",        "task_name",  "task_args",  "task_kwargs",
    "task_request", "task_exception", "task_traceback", "task_einfo", "task_result"};
#define N_REMOTE_STATUS_KEYS (sizeof remote_status_keys / sizeof remote_status_keys[0])
#define N_REMOTE_PIPELINE_KEYS (sizeof remote_pipeline_keys / sizeof remote_pipeline_keys[0])

/* Containers around a status entry in a pipeline dict (the dict, its status array): a status
 * entry's kedro-graphql JSON may nest this much less, so that the whole dict never nests deeper
 * than KEC_JSON_MAX_DEPTH and a document of dicts (a list, a batch) no deeper than that plus
 * KEC_JSON_ENVELOPE_DEPTH, as every reader of ours accepts. */
#define STATUS_ENTRY_DEPTH 2

/* The values kedro-graphql reported, json (a JSON object's text, nesting at most max_depth),
 * as a tree in *out (NULL when there are none: NULL, "", text that does not parse or nests
 * deeper, JSON that is not an object; a forwarded run's answer never fails on what
 * kedro-graphql stored). 0 only when out of memory. */
static int read_remote(const char *json, int max_depth, cJSON **out)
{
    int rc;

    *out = NULL;
    if (json == NULL || json[0] == '\0')
        return 1;
    rc = kec_json_parse(json, strlen(json), max_depth, 0, out, NULL);
    if (rc == KEC_JSON_ENOMEM)
        return 0;
    if (rc != KEC_JSON_OK || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return 1;
}

/* The n keys, each with remote's value for it when remote has one that is not null (its
 * first member of that name), else ours, the literal fallback. */
static void put_remote(kec_json_out *o, const cJSON *remote, const char *const *keys, size_t n,
                       const char *fallback)
{
    const cJSON *v;
    char *text;
    size_t i;

    for (i = 0; i < n; i++) {
        kec_json_out_key(o, keys[i], 0);
        v = remote != NULL ? cJSON_GetObjectItemCaseSensitive(remote, keys[i]) : NULL;
        if (v == NULL || cJSON_IsNull(v)) {
            kec_json_out_raw(o, fallback, strlen(fallback));
            continue;
        }
        if ((text = cJSON_PrintUnformatted(v)) == NULL) {
            kec_json_out_fail(o);
            return;
        }
        kec_json_out_raw(o, text, strlen(text));
        cJSON_free(text);
    }
}

/* ---- the dict ---- */

/* One status entry: kedro-graphql's keys in its order (state, session, runner, filtered_nodes,
 * started_at, finished_at, task_id, ..., task_result), then ours (changed_at, exit_code, signal,
 * error, log_path). */
static void put_status(kec_json_out *o, const kec_status *s)
{
    cJSON *remote;

    if (!read_remote(s->kedro_graphql_json, KEC_JSON_MAX_DEPTH - STATUS_ENTRY_DEPTH, &remote)) {
        kec_json_out_fail(o);
        return;
    }
    put_text(o, "state", kec_state_name(s->state), 1);
    put_remote(o, remote, &remote_status_keys[0], 1, "null");
    put_text_or_null(o, "runner", s->runner);
    put_remote(o, remote, &remote_status_keys[1], 1, "null");
    put_time(o, "started_at", s->started_at);
    put_time(o, "finished_at", s->finished_at);
    put_remote(o, remote, &remote_status_keys[2], N_REMOTE_STATUS_KEYS - 2, "null");
    put_time(o, "changed_at", s->changed_at);
    put_int(o, "exit_code", s->has_exit_code, s->exit_code);
    put_int(o, "signal", s->has_signal, s->signal);
    put_text_or_null(o, "error", s->error);
    put_text_or_null(o, "log_path", s->log_path);
    cJSON_Delete(remote);
}

/* p's parameters [{name, value, type}], status history [{state, ...}] and tags [{key, value}]. */
static void put_lists(kec_json_out *o, const kec_pipeline *p)
{
    size_t i;

    kec_json_out_key(o, "parameters", 0);
    RAW(o, "[");
    for (i = 0; i < p->n_params; i++) {
        if (i > 0)
            RAW(o, ",");
        RAW(o, "{");
        put_text(o, "name", p->params[i].name, 1);
        put_text(o, "value", p->params[i].value, 0);
        put_text(o, "type", p->params[i].type, 0);
        RAW(o, "}");
    }
    RAW(o, "]");
    kec_json_out_key(o, "status", 0);
    RAW(o, "[");
    for (i = 0; i < p->n_status; i++) {
        if (i > 0)
            RAW(o, ",");
        RAW(o, "{");
        put_status(o, &p->status[i]);
        RAW(o, "}");
    }
    RAW(o, "]");
    kec_json_out_key(o, "tags", 0);
    RAW(o, "[");
    for (i = 0; i < p->n_tags; i++) {
        if (i > 0)
            RAW(o, ",");
        RAW(o, "{");
        put_text(o, "key", p->tags[i].key, 1);
        put_text(o, "value", p->tags[i].value, 0);
        RAW(o, "}");
    }
    RAW(o, "]");
}

/* p's dict: kedro-graphql's keys in the order of its /event/ answer, then ours. */
static void put_pipeline(kec_json_out *o, const kec_pipeline *p)
{
    cJSON *remote;

    if (!read_remote(p->kedro_graphql_json, KEC_JSON_MAX_DEPTH, &remote)) {
        kec_json_out_fail(o);
        return;
    }
    RAW(o, "{");
    kec_json_out_key(o, "id", 1);
    if (p->id == NULL || p->id[0] == '\0')
        RAW(o, "null");
    else
        kec_json_out_string(o, p->id);
    put_text_or_null(o, "name", p->name);
    put_remote(o, remote, &remote_pipeline_keys[0], 1, "[]");
    put_remote(o, remote, &remote_pipeline_keys[1], 2, "null");
    put_lists(o, p);
    put_time(o, "created_at", p->created_at);
    put_text_or_null(o, "parent", p->parent);
    put_remote(o, remote, &remote_pipeline_keys[3], N_REMOTE_PIPELINE_KEYS - 3, "null");
    put_text_or_null(o, "kedro_graphql_id", p->kedro_graphql_id);
    RAW(o, "}");
    cJSON_Delete(remote);
}

void kec_json_out_pipelines(kec_json_out *o, const kec_pipeline *p, size_t count)
{
    size_t i;

    RAW(o, "[");
    for (i = 0; i < count; i++) {
        if (i > 0)
            RAW(o, ",");
        put_pipeline(o, &p[i]);
    }
    RAW(o, "]");
}

cJSON *kec_pipeline_json(const kec_pipeline *p)
{
    size_t len;
    char *text = kec_pipeline_to_json(p);
    cJSON *doc = NULL;

    if (text == NULL)
        return NULL;
    len = strlen(text);
    /* what put_pipeline wrote nests at most KEC_JSON_MAX_DEPTH: memory, or a string of p that
     * is not UTF-8, can fail here */
    if (kec_json_parse(text, len, KEC_JSON_MAX_DEPTH, 0, &doc, NULL) != KEC_JSON_OK)
        doc = NULL;
    free(text);
    return doc;
}

char *kec_pipeline_to_json(const kec_pipeline *p)
{
    kec_json_out o = {0};

    put_pipeline(&o, p);
    return kec_json_out_take(&o, NULL);
}

char *kec_dispatch_result_to_json(const kec_dispatch_result *r)
{
    kec_json_out o = {0};

    RAW(&o, "{\"pipelines\":");
    kec_json_out_pipelines(&o, r->pipelines, r->count);
    if (r->duplicate)
        RAW(&o, ",\"duplicate\":true}");
    else
        RAW(&o, ",\"duplicate\":false}");
    return kec_json_out_take(&o, NULL);
}
