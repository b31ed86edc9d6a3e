/* pipeline_json.c -- pipelines and dispatch results as JSON shaped like kedro-graphql's
 * pipeline dict, for the CLI's --json output and the HTTP shim's answers. */
#include "kedroevents.h"

#include "internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

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

/* One status entry as {state, changed_at, ..., log_path}; NULL when out of memory. */
static cJSON *status_json(const kec_status *s)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || cJSON_AddStringToObject(o, "state", kec_state_name(s->state)) == NULL ||
        !add_time(o, "changed_at", s->changed_at) || !add_time(o, "started_at", s->started_at) ||
        !add_time(o, "finished_at", s->finished_at) || !add_text_or_null(o, "runner", s->runner) ||
        !add_int(o, "exit_code", s->has_exit_code, s->exit_code) ||
        !add_int(o, "signal", s->has_signal, s->signal) ||
        !add_text_or_null(o, "error", s->error) || !add_text_or_null(o, "log_path", s->log_path)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Adds the arrays parameters, tags and status of p to o; 0 when out of memory. */
static int add_lists(cJSON *o, const kec_pipeline *p)
{
    cJSON *params = cJSON_AddArrayToObject(o, "parameters");
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    cJSON *status = cJSON_AddArrayToObject(o, "status");
    cJSON *item;
    size_t i;

    if (params == NULL || tags == NULL || status == NULL)
        return 0;
    for (i = 0; i < p->n_params; i++) {
        item = cJSON_CreateObject();
        if (!append(params, item) || !add_text(item, "name", p->params[i].name) ||
            !add_text(item, "value", p->params[i].value) ||
            !add_text(item, "type", p->params[i].type))
            return 0;
    }
    for (i = 0; i < p->n_tags; i++) {
        item = cJSON_CreateObject();
        if (!append(tags, item) || !add_text(item, "key", p->tags[i].key) ||
            !add_text(item, "value", p->tags[i].value))
            return 0;
    }
    for (i = 0; i < p->n_status; i++)
        if (!append(status, status_json(&p->status[i])))
            return 0;
    return 1;
}

cJSON *kec_pipeline_json(const kec_pipeline *p)
{
    cJSON *o = cJSON_CreateObject();

    /* members in the order of kedro-graphql's dict: the lists between parent and created_at */
    if (o == NULL || !add_text_or_null(o, "id", p->id) || !add_text_or_null(o, "name", p->name) ||
        !add_text_or_null(o, "parent", p->parent) || !add_lists(o, p) ||
        !add_time(o, "created_at", p->created_at)) {
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
