/* pipeline_json.c -- pipelines and dispatch results as JSON shaped like kedro-graphql's
 * pipeline dict, for the CLI's --json output and the HTTP shim's answers. */
#include "kedroevents.h"

#include "internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Adds name = s to obj, or null when s is NULL or "" (an absent value); 0 when out of memory. */
static int add_text_or_null(cJSON *obj, const char *name, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return cJSON_AddNullToObject(obj, name) != NULL;
    return cJSON_AddStringToObject(obj, name, s) != NULL;
}

/* Adds name = s to obj, "" for NULL (a parameter's or tag's empty value is a value). */
static int add_text(cJSON *obj, const char *name, const char *s)
{
    return cJSON_AddStringToObject(obj, name, s != NULL ? s : "") != NULL;
}

/* Adds name = t as RFC 3339, or null when t is unset; 0 when out of memory. */
static int add_time(cJSON *obj, const char *name, kec_time t)
{
    char buf[KEC_TIME_TEXT_MAX];

    if (!t.set)
        return cJSON_AddNullToObject(obj, name) != NULL;
    return cJSON_AddStringToObject(obj, name, kec_time_format(t, buf)) != NULL;
}

/* Adds name = v, or null when has is 0; 0 when out of memory. */
static int add_int(cJSON *obj, const char *name, int has, int v)
{
    if (!has)
        return cJSON_AddNullToObject(obj, name) != NULL;
    return cJSON_AddNumberToObject(obj, name, v) != NULL;
}

/* Appends item (taken) to the array arr; 0 when item is NULL or out of memory. */
static int append(cJSON *arr, cJSON *item)
{
    if (item == NULL)
        return 0;
    if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return 0;
    }
    return 1;
}

/* kedro-graphql's keys whose values only it has: ours are null (data_catalog []) and, for a
 * forwarded run, its own from kedro_graphql_json take their place. */
static const char *const remote_pipeline_keys[] = {
    "data_catalog",    "describe",         "nodes",
    "project_version", "pipeline_version", "kedro_graphql_version"};
/* In the dict's order; status_json and kec_pipeline_json add them in slices of these tables
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

/* Adds a null for each of the n keys to obj; 0 when out of memory. */
static int add_nulls(cJSON *obj, const char *const *keys, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (cJSON_AddNullToObject(obj, keys[i]) == NULL)
            return 0;
    return 1;
}

/* Puts the values kedro-graphql reported, json (a JSON object's text, nesting at most
 * max_depth), in place of the members of obj named by keys; keys json lacks, or has as null,
 * keep obj's value. NULL, "", text that does not parse or nests deeper, and JSON that is not an
 * object change nothing: a forwarded run's answer never fails on what kedro-graphql stored.
 * Returns 0 only when out of memory. */
static int merge_remote(cJSON *obj, const char *json, int max_depth, const char *const *keys,
                        size_t n)
{
    cJSON *remote = NULL, *v;
    size_t i;
    int rc, ok = 1;

    if (json == NULL || json[0] == '\0')
        return 1;
    rc = kec_json_parse(json, strlen(json), max_depth, 0, &remote, NULL);
    if (rc == KEC_JSON_ENOMEM)
        return 0;
    if (rc != KEC_JSON_OK || !cJSON_IsObject(remote)) {
        cJSON_Delete(remote);
        return 1;
    }
    for (i = 0; ok && i < n; i++) {
        v = cJSON_DetachItemFromObjectCaseSensitive(remote, keys[i]);
        if (v == NULL || cJSON_IsNull(v)) {
            cJSON_Delete(v);
            continue;
        }
        /* the replacement takes the place (and position) of obj's member */
        if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, keys[i], v)) {
            cJSON_Delete(v);
            ok = 0;
        }
    }
    cJSON_Delete(remote);
    return ok;
}

/* One status entry: kedro-graphql's keys in its order (state, session, runner, filtered_nodes,
 * started_at, finished_at, task_id, ..., task_result), then ours (changed_at, exit_code, signal,
 * error, log_path); NULL when out of memory. */
static cJSON *status_json(const kec_status *s)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || cJSON_AddStringToObject(o, "state", kec_state_name(s->state)) == NULL ||
        !add_nulls(o, &remote_status_keys[0], 1) || !add_text_or_null(o, "runner", s->runner) ||
        !add_nulls(o, &remote_status_keys[1], 1) || !add_time(o, "started_at", s->started_at) ||
        !add_time(o, "finished_at", s->finished_at) ||
        !add_nulls(o, &remote_status_keys[2], N_REMOTE_STATUS_KEYS - 2) ||
        !add_time(o, "changed_at", s->changed_at) ||
        !add_int(o, "exit_code", s->has_exit_code, s->exit_code) ||
        !add_int(o, "signal", s->has_signal, s->signal) ||
        !add_text_or_null(o, "error", s->error) || !add_text_or_null(o, "log_path", s->log_path) ||
        !merge_remote(o, s->kedro_graphql_json, KEC_JSON_MAX_DEPTH - STATUS_ENTRY_DEPTH,
                      remote_status_keys, N_REMOTE_STATUS_KEYS)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Adds p's parameters [{name, value, type}] to o; 0 when out of memory. */
static int add_params(cJSON *o, const kec_pipeline *p)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "parameters"), *item;
    size_t i;

    for (i = 0; arr != NULL && i < p->n_params; i++) {
        item = cJSON_CreateObject();
        if (!append(arr, item) || !add_text(item, "name", p->params[i].name) ||
            !add_text(item, "value", p->params[i].value) ||
            !add_text(item, "type", p->params[i].type))
            return 0;
    }
    return arr != NULL;
}

/* Adds p's status history [{state, ...}] to o; 0 when out of memory. */
static int add_status(cJSON *o, const kec_pipeline *p)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "status");
    size_t i;

    for (i = 0; arr != NULL && i < p->n_status; i++)
        if (!append(arr, status_json(&p->status[i])))
            return 0;
    return arr != NULL;
}

/* Adds p's tags [{key, value}] to o; 0 when out of memory. */
static int add_tags(cJSON *o, const kec_pipeline *p)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "tags"), *item;
    size_t i;

    for (i = 0; arr != NULL && i < p->n_tags; i++) {
        item = cJSON_CreateObject();
        if (!append(arr, item) || !add_text(item, "key", p->tags[i].key) ||
            !add_text(item, "value", p->tags[i].value))
            return 0;
    }
    return arr != NULL;
}

cJSON *kec_pipeline_json(const kec_pipeline *p)
{
    cJSON *o = cJSON_CreateObject();

    /* kedro-graphql's keys in the order of its /event/ answer, then ours */
    if (o == NULL || !add_text_or_null(o, "id", p->id) || !add_text_or_null(o, "name", p->name) ||
        cJSON_AddArrayToObject(o, "data_catalog") == NULL ||
        !add_nulls(o, &remote_pipeline_keys[1], 2) || !add_params(o, p) || !add_status(o, p) ||
        !add_tags(o, p) || !add_time(o, "created_at", p->created_at) ||
        !add_text_or_null(o, "parent", p->parent) ||
        !add_nulls(o, &remote_pipeline_keys[3], N_REMOTE_PIPELINE_KEYS - 3) ||
        !add_text_or_null(o, "kedro_graphql_id", p->kedro_graphql_id) ||
        !merge_remote(o, p->kedro_graphql_json, KEC_JSON_MAX_DEPTH, remote_pipeline_keys,
                      N_REMOTE_PIPELINE_KEYS)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *kec_pipeline_to_json(const kec_pipeline *p)
{
    cJSON *o = kec_pipeline_json(p);
    char *text = o != NULL ? kec_json_print(o) : NULL;

    cJSON_Delete(o);
    return text;
}

char *kec_dispatch_result_to_json(const kec_dispatch_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *list = o != NULL ? cJSON_AddArrayToObject(o, "pipelines") : NULL;
    char *text = NULL;
    size_t i;

    if (list == NULL)
        goto out;
    for (i = 0; i < r->count; i++)
        if (!append(list, kec_pipeline_json(&r->pipelines[i])))
            goto out;
    if (cJSON_AddBoolToObject(o, "duplicate", r->duplicate != 0) == NULL)
        goto out;
    text = kec_json_print(o);
out:
    cJSON_Delete(o);
    return text;
}
