/* pipelines.c -- the read and child endpoints (GET /pipelines/{id}, GET /pipelines,
 * POST /pipelines/) and GET /healthz, each one blocking call of libkedroevents. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kec_text.h"
#include "shim.h"

#define NUM_MAX KEC_NUMBER_TEXT_MAX /* a number written back as text */

/* The answer to a call that failed; UNAVAILABLE is told apart by whether the channel is up. */
static void call_failed(kec_client *c, kes_answer *a, int rc, const kec_error *err)
{
    int connected = 0;

    if (rc == KEC_ESTATUS && err->status == KEC_STATUS_UNAVAILABLE)
        connected = kec_client_connected(c, 1);
    kes_answer_call_error(a, rc, err, connected, kec_client_target(c));
}

/* Refuses a path segment or query argument that is not UTF-8: http.c decodes %00 as C0 80,
 * so a NUL lands here too. 0 with a 400 in a. */
static int text_ok(const char *what, const char *s, kes_answer *a)
{
    long at = s != NULL ? kec_utf8_invalid_at(s, strlen(s)) : -1;

    if (at < 0)
        return 1;
    kes_answer_detail(a, 400,
                      "%s: must be valid UTF-8 without a NUL character (%%00), invalid at byte "
                      "%ld",
                      what, at);
    return 0;
}

void kes_pipelines_get(kec_client *c, const char *id, kes_answer *a)
{
    kec_pipeline p;
    kec_error err;
    int rc;

    if (!text_ok("pipeline id", id, a))
        return;
    kec_error_clear(&err);
    rc = kec_get_pipeline(c, id, &p, &err);
    if (rc != KEC_OK) {
        call_failed(c, a, rc, &err);
        return;
    }
    kes_answer_pipeline(a, 200, &p);
    kec_pipeline_release(&p);
}

/* s, or NULL when s is "" (an empty query argument is no filter). */
static const char *nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

int kes_filter_read(const kes_list_args *q, const char **name, kec_state *state,
                    const char **parent, kes_answer *a)
{
    int s;

    if (!text_ok("name", q->name, a) || !text_ok("parent", q->parent, a))
        return 0;
    *name = nonempty(q->name);
    *parent = nonempty(q->parent);
    *state = KEC_STATE_UNSPECIFIED;
    if (nonempty(q->state) != NULL) {
        s = kec_state_parse(q->state);
        if (s <= 0) {
            kes_answer_detail(a, 400,
                              "state \"%.64s\": must be one of STAGED, READY, STARTED, SUCCESS, "
                              "FAILURE, ABORTED",
                              q->state);
            return 0;
        }
        *state = (kec_state)s;
    }
    return 1;
}

void kes_pipelines_list(kec_client *c, const kes_list_args *q, kes_answer *a)
{
    kec_list_query lq;
    kec_pipeline_page page;
    kec_error err;
    char *end;
    long n;
    int rc;

    memset(&lq, 0, sizeof lq);
    if (!kes_filter_read(q, &lq.name, &lq.state, &lq.parent, a) ||
        !text_ok("page_token", q->page_token, a))
        return;
    lq.page_token = nonempty(q->page_token);
    if (nonempty(q->limit) != NULL) {
        errno = 0;
        n = strtol(q->limit, &end, 10);
        if (errno != 0 || end == q->limit || *end != '\0' || n < 1 || n > INT_MAX) {
            kes_answer_detail(a, 400, "limit \"%.64s\": must be a positive integer", q->limit);
            return;
        }
        lq.page_size = (int)n;
    }
    kec_error_clear(&err);
    rc = kec_list_pipelines(c, &lq, &page, &err);
    if (rc != KEC_OK) {
        call_failed(c, a, rc, &err);
        return;
    }
    kes_answer_page(a, &page);
    kec_pipeline_page_release(&page);
}

/* A parameter's value v as text and its type: strings as they are, booleans "bool", numbers
 * "int" or "float". 0 (with a 400 in a) for anything else. */
static int param_value(const cJSON *v, const char *where, char *buf, const char **value,
                       const char **type, kes_answer *a)
{
    *type = kec_json_scalar(v, buf, value); /* typed as the server types configured ones */
    if (*type == NULL) {
        kes_answer_detail(a, 400, "%s: the value must be a string, a number or a boolean", where);
        return 0;
    }
    return 1;
}

/* Counts the members of an array or object. */
static size_t members(const cJSON *v)
{
    size_t n = 0;

    for (v = v != NULL ? v->child : NULL; v != NULL; v = v->next)
        n++;
    return n;
}

/* Reads "parameters" (an array of {name, value, type} or an object {name: value}) into
 * params (room for members(v)); numbers' text goes to nums. 0 with a 400 in a. */
static int read_params(const cJSON *v, kec_param *params, char (*nums)[NUM_MAX], kes_answer *a)
{
    const cJSON *x, *name, *value, *type;
    const char *text, *t;
    char where[96];
    size_t i = 0;

    for (x = v->child; x != NULL; x = x->next, i++) {
        if (cJSON_IsObject(v)) {
            snprintf(where, sizeof where, "parameters.%.64s", x->string);
            if (!param_value(x, where, nums[i], &text, &t, a))
                return 0;
            params[i].name = x->string;
        } else {
            snprintf(where, sizeof where, "parameters[%zu]", i);
            name = cJSON_GetObjectItemCaseSensitive(x, "name");
            value = cJSON_GetObjectItemCaseSensitive(x, "value");
            type = cJSON_GetObjectItemCaseSensitive(x, "type");
            if (!cJSON_IsObject(x) || !cJSON_IsString(name)) {
                kes_answer_detail(a, 400,
                                  "%s: must be an object {name, value, type} with a "
                                  "string name",
                                  where);
                return 0;
            }
            if (type != NULL && !cJSON_IsNull(type) && !cJSON_IsString(type)) {
                kes_answer_detail(a, 400, "%s: type must be a string", where);
                return 0;
            }
            if (!param_value(value, where, nums[i], &text, &t, a))
                return 0;
            params[i].name = name->valuestring;
            if (cJSON_IsString(type))
                t = type->valuestring;
        }
        params[i].value = (char *)text;
        params[i].type = (char *)t;
    }
    return 1;
}

/* Reads "tags" (an array of {key, value} or an object {key: value}, string values) into tags
 * (room for members(v)). 0 with a 400 in a. */
static int read_tags(const cJSON *v, kec_tag *tags, kes_answer *a)
{
    const cJSON *x, *key, *value;
    size_t i = 0;

    for (x = v->child; x != NULL; x = x->next, i++) {
        if (cJSON_IsObject(v)) {
            if (!cJSON_IsString(x)) {
                kes_answer_detail(a, 400, "tags.%.64s: the value must be a string", x->string);
                return 0;
            }
            tags[i].key = x->string;
            tags[i].value = x->valuestring;
            continue;
        }
        key = cJSON_GetObjectItemCaseSensitive(x, "key");
        value = cJSON_GetObjectItemCaseSensitive(x, "value");
        if (!cJSON_IsObject(x) || !cJSON_IsString(key) || !cJSON_IsString(value)) {
            kes_answer_detail(a, 400, "tags[%zu]: must be an object {key, value} of strings", i);
            return 0;
        }
        tags[i].key = key->valuestring;
        tags[i].value = value->valuestring;
    }
    return 1;
}

/* Reads the body of POST /pipelines/ into *doc (cJSON_Delete it, even on failure): strict JSON
 * (RFC 8259), and no "\u0000" escape (a C string would end there: "event00\u0000--evil" would
 * read as "event00"). 0 with a 400 in a (500 when out of memory). */
static int body_ok(const char *body, size_t len, cJSON **doc, kes_answer *a)
{
    kec_json_span span, none = {0, 0};
    kec_json_fault fault;
    size_t at;
    int rc;

    rc = kec_json_parse(body, len, KEC_JSON_MAX_DEPTH, 0, doc, &fault);
    if (rc == KEC_JSON_ENOMEM) {
        kes_answer_detail(a, 500, "%s", fault.reason);
        return 0;
    }
    if (rc != KEC_JSON_OK) {
        kes_answer_detail(a, 400, "the body is not valid JSON (RFC 8259) at offset %zu: %s",
                          fault.offset, fault.reason);
        return 0;
    }
    span = kec_json_trim(body, len);
    at = kec_json_nul_escape(body, span, none);
    if (at != span.end) {
        kes_answer_detail(a, 400,
                          "the body holds \\u0000 at offset %zu: a NUL character (U+0000) is "
                          "not allowed in a pipeline's name, parent, parameters or tags",
                          at);
        return 0;
    }
    return 1;
}

void kes_pipelines_create(kec_client *c, const char *body, size_t len, kes_answer *a)
{
    cJSON *doc = NULL;
    const cJSON *x, *params = NULL, *tags = NULL;
    kec_pipeline_spec spec;
    kec_param *ps = NULL;
    kec_tag *ts = NULL;
    char(*nums)[NUM_MAX] = NULL;
    kec_pipeline p;
    kec_error err;
    char location[512];
    int rc;

    memset(&spec, 0, sizeof spec);
    if (!body_ok(body != NULL ? body : "", body != NULL ? len : 0, &doc, a))
        goto out;
    if (!cJSON_IsObject(doc)) {
        kes_answer_detail(a, 400,
                          "the body must be a JSON object {name, parameters, tags, "
                          "parent}");
        goto out;
    }
    spec.name = "";
    for (x = doc->child; x != NULL; x = x->next) {
        if (strcmp(x->string, "name") == 0 && cJSON_IsString(x)) {
            spec.name = x->valuestring;
        } else if (strcmp(x->string, "parent") == 0 && (cJSON_IsString(x) || cJSON_IsNull(x))) {
            spec.parent = cJSON_IsString(x) ? x->valuestring : NULL;
        } else if (strcmp(x->string, "parameters") == 0 &&
                   (cJSON_IsArray(x) || cJSON_IsObject(x) || cJSON_IsNull(x))) {
            params = x;
        } else if (strcmp(x->string, "tags") == 0 &&
                   (cJSON_IsArray(x) || cJSON_IsObject(x) || cJSON_IsNull(x))) {
            tags = x;
        } else if (strcmp(x->string, "name") == 0 || strcmp(x->string, "parent") == 0) {
            kes_answer_detail(a, 400, "%s: must be a string", x->string);
            goto out;
        } else if (strcmp(x->string, "parameters") == 0 || strcmp(x->string, "tags") == 0) {
            kes_answer_detail(a, 400, "%s: must be an array or an object", x->string);
            goto out;
        } else {
            kes_answer_detail(a, 400,
                              "unknown member \"%.64s\": a pipeline has name, parameters, tags "
                              "and parent",
                              x->string);
            goto out;
        }
    }
    spec.n_params = members(params);
    spec.n_tags = members(tags);
    ps = calloc(spec.n_params + 1, sizeof *ps);
    nums = calloc(spec.n_params + 1, sizeof *nums);
    ts = calloc(spec.n_tags + 1, sizeof *ts);
    if (ps == NULL || nums == NULL || ts == NULL) {
        kes_answer_detail(a, 500, "out of memory");
        goto out;
    }
    if ((spec.n_params > 0 && !read_params(params, ps, nums, a)) ||
        (spec.n_tags > 0 && !read_tags(tags, ts, a)))
        goto out;
    spec.params = ps;
    spec.tags = ts;
    kec_error_clear(&err);
    rc = kec_create_pipeline(c, &spec, &p, &err);
    if (rc != KEC_OK) {
        call_failed(c, a, rc, &err);
        goto out;
    }
    kes_answer_pipeline(a, 201, &p);
    if (a->status == 201) {
        snprintf(location, sizeof location, "/pipelines/%s", p.id);
        kes_answer_header(a, "Location", location);
    }
    kec_pipeline_release(&p);
out:
    free(ps);
    free(nums);
    free(ts);
    cJSON_Delete(doc);
}

void kes_health(kec_client *c, kes_answer *a)
{
    kec_error err;
    int serving = 0, rc;
    cJSON *doc;
    char *text;

    kec_error_clear(&err);
    rc = kec_health_check(c, &serving, &err);
    doc = cJSON_CreateObject();
    if (doc != NULL) {
        cJSON_AddStringToObject(doc, "status",
                                rc != KEC_OK ? "UNREACHABLE"
                                : serving    ? "SERVING"
                                             : "NOT_SERVING");
        if (rc != KEC_OK)
            cJSON_AddStringToObject(doc, "detail", err.msg);
    }
    text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    cJSON_free(a->body);
    a->body = text;
    a->len = text != NULL ? strlen(text) : 0;
    a->status = text == NULL ? 500 : rc == KEC_OK && serving ? 200 : 503;
}
