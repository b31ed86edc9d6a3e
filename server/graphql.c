/* graphql.c -- the GraphQL requests the kedro-graphql forwarder sends and the reading of the
 * answers it gets: values travel only in variables, one query text per batch size. */
#include "graphql.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What a lookup needs to know of a pipeline found by our id's tag. */
#define SEL_LOOKUP "id tags { key value } status { state }"
/* A status entry as the hand-over and the mirror record it. */
#define SEL_STATUS                                                                                 \
    "status { state runner session startedAt finishedAt taskId taskName taskArgs taskKwargs "      \
    "taskRequest taskException taskTraceback taskEinfo taskResult filteredNodes }"
/* Everything the mirror records. */
#define SEL_FULL                                                                                   \
    "id tags { key value } dataCatalog { name config tags { key value } } describe "               \
    "nodes { name inputs outputs tags } projectVersion pipelineVersion "                           \
    "kedroGraphqlVersion " SEL_STATUS

/* ---- requests */

/* Appends printf output to a growing buffer; returns 0, or -1 when out of memory. */
typedef struct buf {
    char *p;    /* the text, NUL-terminated */
    size_t len; /* bytes before the NUL */
    size_t cap; /* bytes allocated */
} buf;

static int buf_add(buf *b, const char *s)
{
    size_t n = strlen(s);
    char *q;

    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 1024 : b->cap;

        while (cap < b->len + n + 1)
            cap *= 2;
        q = realloc(b->p, cap);
        if (q == NULL)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
    return 0;
}

static const char *param_type(const char *ours)
{
    if (ours == NULL)
        return "STRING";
    if (strcmp(ours, "int") == 0)
        return "INTEGER";
    if (strcmp(ours, "float") == 0)
        return "FLOAT";
    if (strcmp(ours, "bool") == 0)
        return "BOOLEAN";
    return "STRING";
}

static int add_pair(cJSON *arr, const char *k1, const char *v1, const char *k2, const char *v2)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || !cJSON_AddItemToArray(arr, o))
        return cJSON_Delete(o), -1;
    if (cJSON_AddStringToObject(o, k1, v1 != NULL ? v1 : "") == NULL ||
        cJSON_AddStringToObject(o, k2, v2 != NULL ? v2 : "") == NULL)
        return -1;
    return 0;
}

/* A PipelineInput for in: STAGED without the `id` parameter (a create), or READY with `id` =
 * in->remote_id (an update). NULL when out of memory. */
static cJSON *pipeline_input(const ke_gql_input *in)
{
    const ke_pipeline *p = in->p;
    cJSON *o = cJSON_CreateObject(), *params, *tags, *prm;
    size_t i;

    if (o == NULL || cJSON_AddStringToObject(o, "name", p->name) == NULL ||
        cJSON_AddStringToObject(o, "state", in->remote_id != NULL ? "READY" : "STAGED") == NULL)
        goto fail;
    params = cJSON_AddArrayToObject(o, "parameters");
    tags = cJSON_AddArrayToObject(o, "tags");
    if (params == NULL || tags == NULL)
        goto fail;
    for (i = 0; i < p->n_params; i++) {
        int is_id = strcmp(p->params[i].name, "id") == 0;

        if (is_id && in->remote_id == NULL)
            continue;
        prm = cJSON_CreateObject();
        if (prm == NULL || !cJSON_AddItemToArray(params, prm)) {
            cJSON_Delete(prm);
            goto fail;
        }
        if (cJSON_AddStringToObject(prm, "name", p->params[i].name) == NULL ||
            cJSON_AddStringToObject(prm, "value", is_id ? in->remote_id : p->params[i].value) ==
                NULL ||
            cJSON_AddStringToObject(prm, "type", param_type(p->params[i].type)) == NULL)
            goto fail;
    }
    for (i = 0; i < p->n_tags; i++) {
        if (strcmp(p->tags[i].key, KE_GQL_ID_TAG) == 0 ||
            strcmp(p->tags[i].key, "kedro_graphql_id") == 0)
            continue;
        if (add_pair(tags, "key", p->tags[i].key, "value", p->tags[i].value) != 0)
            goto fail;
    }
    if (add_pair(tags, "key", KE_GQL_ID_TAG, "value", p->id) != 0)
        goto fail;
    if (in->parent != NULL && cJSON_AddStringToObject(o, "parent", in->parent) == NULL)
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

/* Renders {"query": query, "variables": vars} (takes vars). */
static char *render(const char *query, cJSON *vars)
{
    cJSON *root = cJSON_CreateObject();
    char *out = NULL;

    if (root == NULL || cJSON_AddStringToObject(root, "query", query) == NULL ||
        !cJSON_AddItemToObject(root, "variables", vars)) {
        cJSON_Delete(vars);
        cJSON_Delete(root);
        return NULL;
    }
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* The create (update = 0) or update mutation of n pipelines. */
static char *mutation(const ke_gql_input *in, size_t n, int update)
{
    cJSON *vars = cJSON_CreateObject(), *pi;
    buf q = {0};
    char tmp[160];
    size_t i;
    char *out = NULL;
    int bad = vars == NULL || n < 1 || n > KE_GQL_MAX_BATCH;

    snprintf(tmp, sizeof tmp, "mutation %s%zu(", update ? "Update" : "Create", n);
    bad |= buf_add(&q, tmp);
    for (i = 0; i < n && !bad; i++) {
        if (update)
            snprintf(tmp, sizeof tmp, "%s$i%zu: String!, $p%zu: PipelineInput!", i ? ", " : "", i,
                     i);
        else
            snprintf(tmp, sizeof tmp, "%s$p%zu: PipelineInput!", i ? ", " : "", i);
        bad |= buf_add(&q, tmp);
    }
    bad |= buf_add(&q, ") {");
    for (i = 0; i < n && !bad; i++) {
        if (update)
            snprintf(tmp, sizeof tmp, " u%zu: updatePipeline(id: $i%zu, pipeline: $p%zu) { ", i, i,
                     i);
        else
            snprintf(tmp, sizeof tmp, " c%zu: createPipeline(pipeline: $p%zu) { ", i, i);
        /* A create needs only the new id. The update's answer is what the hand-over records:
         * the launched status entry. The pipeline's own keys (describe, nodes, ...) come with
         * the mirror's first change, which keeps the launch path's answers small. */
        bad |=
            buf_add(&q, tmp) || buf_add(&q, update ? "id " SEL_STATUS : "id") || buf_add(&q, " }");
        pi = bad ? NULL : pipeline_input(&in[i]);
        snprintf(tmp, sizeof tmp, "p%zu", i);
        if (pi == NULL || !cJSON_AddItemToObject(vars, tmp, pi)) {
            cJSON_Delete(pi);
            bad = 1;
            break;
        }
        snprintf(tmp, sizeof tmp, "i%zu", i);
        if (update && cJSON_AddStringToObject(vars, tmp, in[i].remote_id) == NULL)
            bad = 1;
    }
    bad |= buf_add(&q, " }");
    if (!bad)
        out = render(q.p, vars);
    else
        cJSON_Delete(vars);
    free(q.p);
    return out;
}

char *ke_gql_create_request(const ke_gql_input *in, size_t n)
{
    return mutation(in, n, 0);
}

char *ke_gql_update_request(const ke_gql_input *in, size_t n)
{
    return mutation(in, n, 1);
}

char *ke_gql_read_request(const char *const *ids, size_t n, int limit, int full)
{
    cJSON *vars = cJSON_CreateObject(), *filter = cJSON_CreateObject(), *tags, *em, *val, *in;
    char *ftext = NULL, *out = NULL;
    size_t i;

    if (vars == NULL || filter == NULL || n < 1 || n > KE_GQL_MAX_READ)
        goto out;
    tags = cJSON_AddObjectToObject(filter, "tags");
    em = tags != NULL ? cJSON_AddObjectToObject(tags, "$elemMatch") : NULL;
    if (em == NULL || cJSON_AddStringToObject(em, "key", KE_GQL_ID_TAG) == NULL)
        goto out;
    val = cJSON_AddObjectToObject(em, "value");
    in = val != NULL ? cJSON_AddArrayToObject(val, "$in") : NULL;
    if (in == NULL)
        goto out;
    for (i = 0; i < n; i++) {
        cJSON *s = cJSON_CreateString(ids[i]);

        if (s == NULL || !cJSON_AddItemToArray(in, s)) {
            cJSON_Delete(s);
            goto out;
        }
    }
    ftext = cJSON_PrintUnformatted(filter);
    if (ftext == NULL || cJSON_AddStringToObject(vars, "f", ftext) == NULL ||
        cJSON_AddNumberToObject(vars, "l", limit) == NULL)
        goto out;
    out = render(full ? "query Mirror($l: Int!, $f: String!) { readPipelines(limit: $l, filter: "
                        "$f) { pipelines { " SEL_FULL " } pageMeta { nextCursor } } }"
                      : "query Lookup($l: Int!, $f: String!) { readPipelines(limit: $l, filter: "
                        "$f) { pipelines { " SEL_LOOKUP " } pageMeta { nextCursor } } }",
                 vars);
    vars = NULL;
out:
    cJSON_Delete(vars);
    cJSON_Delete(filter);
    free(ftext);
    return out;
}

/* ---- answers */

ke_gql_class ke_gql_classify_message(const char *msg)
{
    static const char *const retry[] = {"time-out", "timed out", "timeout", "connection",
                                        "unavailable"};
    size_t i;

    for (i = 0; msg != NULL && i < sizeof retry / sizeof retry[0]; i++)
        if (strcasestr(msg, retry[i]) != NULL)
            return KE_GQL_RETRY;
    return KE_GQL_PERMANENT;
}

static const char *error_message(const cJSON *e)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");

    return cJSON_IsString(m) ? m->valuestring : "kedro-graphql answered an error without a message";
}

/* The alias an error's path starts with, or NULL (a request-wide error). */
static const char *error_alias(const cJSON *e)
{
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(e, "path");
    const cJSON *first = cJSON_IsArray(path) ? cJSON_GetArrayItem(path, 0) : NULL;

    return cJSON_IsString(first) ? first->valuestring : NULL;
}

void ke_gql_answer_read(ke_gql_answer *a, long http_status, const char *transport_error,
                        const char *body, size_t len)
{
    cJSON *root = NULL, *data, *errors, *e;

    memset(a, 0, sizeof *a);
    a->cls = KE_GQL_RETRY;
    if (http_status == 0) {
        snprintf(a->msg, sizeof a->msg, "kedro-graphql unreachable: %s",
                 transport_error != NULL ? transport_error : "transport failure");
        return;
    }
    if (http_status == 413) {
        snprintf(a->msg, sizeof a->msg,
                 "kedro-graphql (or a proxy before it) refused the request as too large "
                 "(HTTP 413)");
        a->cls = KE_GQL_TOO_LARGE;
        return;
    }
    if (body != NULL && len > 0)
        root = cJSON_ParseWithLength(body, len);
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    errors = cJSON_GetObjectItemCaseSensitive(root, "errors");
    if (!cJSON_IsObject(root) || (!cJSON_IsObject(data) && !cJSON_IsArray(errors)) ||
        (http_status != 200 && (!cJSON_IsArray(errors) || http_status == 408 ||
                                http_status == 429 || http_status >= 500))) {
        cJSON_Delete(root);
        if (http_status != 200)
            snprintf(a->msg, sizeof a->msg, "kedro-graphql answered HTTP %ld", http_status);
        else
            snprintf(a->msg, sizeof a->msg,
                     "kedro-graphql answered HTTP 200 with a body that is not a GraphQL answer "
                     "(JSON with data or errors)");
        return;
    }
    a->root = root;
    a->data = cJSON_IsObject(data) ? data : NULL;
    a->errors = cJSON_IsArray(errors) ? errors : NULL;
    a->cls = KE_GQL_OK;
    cJSON_ArrayForEach(e, errors)
    {
        if (a->msg[0] == '\0')
            snprintf(a->msg, sizeof a->msg, "%s", error_message(e));
        if (error_alias(e) != NULL)
            continue;
        /* A request-wide error: no alias of this answer can be trusted. */
        snprintf(a->msg, sizeof a->msg, "%s", error_message(e));
        a->cls = ke_gql_classify_message(a->msg);
        return;
    }
    if (a->data == NULL && a->errors != NULL && cJSON_GetArraySize(errors) == 0) {
        snprintf(a->msg, sizeof a->msg, "kedro-graphql answered no data and an empty errors list");
        a->cls = KE_GQL_RETRY;
    }
}

void ke_gql_answer_release(ke_gql_answer *a)
{
    cJSON_Delete(a->root);
    memset(a, 0, sizeof *a);
}

ke_gql_class ke_gql_alias(const ke_gql_answer *a, const char *alias, const void **obj,
                          const char **msg)
{
    const cJSON *e, *o;

    *obj = NULL;
    *msg = a->msg;
    if (a->cls != KE_GQL_OK)
        return a->cls;
    cJSON_ArrayForEach(e, (const cJSON *)a->errors)
    {
        const char *al = error_alias(e);

        if (al != NULL && strcmp(al, alias) == 0) {
            *msg = error_message(e);
            return ke_gql_classify_message(*msg);
        }
    }
    o = cJSON_GetObjectItemCaseSensitive((const cJSON *)a->data, alias);
    if (cJSON_IsObject(o)) {
        *obj = o;
        return KE_GQL_OK;
    }
    return KE_GQL_UNKNOWN;
}

const void *ke_gql_read_pipelines(const ke_gql_answer *a, int *more)
{
    const cJSON *rp, *ps, *meta, *next;

    *more = 0;
    if (a->cls != KE_GQL_OK)
        return NULL;
    rp = cJSON_GetObjectItemCaseSensitive((const cJSON *)a->data, "readPipelines");
    ps = cJSON_GetObjectItemCaseSensitive(rp, "pipelines");
    meta = cJSON_GetObjectItemCaseSensitive(rp, "pageMeta");
    next = cJSON_GetObjectItemCaseSensitive(meta, "nextCursor");
    if (!cJSON_IsArray(ps))
        return NULL;
    *more = cJSON_IsString(next) && next->valuestring[0] != '\0';
    return ps;
}

const char *ke_gql_str(const void *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive((const cJSON *)obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *ke_gql_tag(const void *pipeline, const char *key)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive((const cJSON *)pipeline, "tags"), *t;

    cJSON_ArrayForEach(t, tags)
    {
        const char *k = ke_gql_str(t, "key");

        if (k != NULL && strcmp(k, key) == 0)
            return ke_gql_str(t, "value");
    }
    return NULL;
}

const void *ke_gql_find(const void *ps, const char *our_id, const char *remote_id)
{
    const cJSON *p;

    cJSON_ArrayForEach(p, (const cJSON *)ps)
    {
        const char *tag = ke_gql_tag(p, KE_GQL_ID_TAG), *id = ke_gql_str(p, "id");

        if (tag == NULL || id == NULL || strcmp(tag, our_id) != 0)
            continue;
        if (remote_id == NULL || strcmp(id, remote_id) == 0)
            return p;
    }
    return NULL;
}

const void *ke_gql_last_status(const void *pipeline, const char **state)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive((const cJSON *)pipeline, "status");
    const cJSON *last = NULL;
    const char *s;

    *state = "";
    if (cJSON_IsArray(st))
        last = cJSON_GetArrayItem(st, cJSON_GetArraySize(st) - 1);
    if (!cJSON_IsObject(last))
        return NULL;
    s = ke_gql_str(last, "state");
    *state = s != NULL ? s : "";
    return last;
}

ke_state ke_gql_state(const char *name)
{
    static const struct {
        const char *name;
        ke_state st;
    } map[] = {
        {"STARTED", KE_STATE_STARTED}, {"SUCCESS", KE_STATE_SUCCESS}, {"FAILURE", KE_STATE_FAILURE},
        {"REVOKED", KE_STATE_ABORTED}, {"READY", KE_STATE_READY},     {"PENDING", KE_STATE_READY},
        {"RECIEVED", KE_STATE_READY},  {"RECEIVED", KE_STATE_READY},  {"RETRY", KE_STATE_READY},
        {"STAGED", KE_STATE_STAGED},
    };
    size_t i;

    for (i = 0; name != NULL && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(name, map[i].name) == 0)
            return map[i].st;
    return KE_STATE_UNSPECIFIED;
}

/* Reads exactly n digits at *s into *v; advances *s. */
static int digits(const char **s, int n, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return -1;
        *v = *v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    return 0;
}

int ke_gql_parse_time(const char *s, int64_t *us)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    int64_t frac = 0, scale = 100000;
    time_t t;

    *us = 0;
    if (s == NULL || digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
        digits(&s, 2, &d) || (*s != 'T' && *s != 't' && *s != ' '))
        return -1;
    s++;
    if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' ||
        digits(&s, 2, &sec))
        return -1;
    if (*s == '.') {
        if (!isdigit((unsigned char)*++s))
            return -1;
        for (; isdigit((unsigned char)*s); s++, scale /= 10)
            frac += scale > 0 ? (*s - '0') * scale : 0;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = *s++ == '+' ? 1 : -1;
        if (digits(&s, 2, &oh))
            return -1;
        if (*s == ':')
            s++;
        if (digits(&s, 2, &om))
            return -1;
    }
    if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
        oh > 23 || om > 59)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    *us = ((int64_t)t - (int64_t)sign * (oh * 3600 + om * 60)) * 1000000 + frac;
    return 0;
}

/* Copies the fields named in camel[] of src into a new object under snake[] names (null where
 * src lacks one) and renders it. */
static char *snake_json(const cJSON *src, const char *const *camel, const char *const *snake,
                        size_t n)
{
    cJSON *o = cJSON_CreateObject(), *v;
    char *out = NULL;
    size_t i;

    if (o == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(src, camel[i]);

        v = f != NULL ? cJSON_Duplicate(f, 1) : cJSON_CreateNull();
        if (v == NULL || !cJSON_AddItemToObject(o, snake[i], v)) {
            cJSON_Delete(v);
            goto out;
        }
    }
    out = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return out;
}

char *ke_gql_pipeline_json(const void *pipeline)
{
    static const char *const camel[] = {"dataCatalog",    "describe",        "nodes",
                                        "projectVersion", "pipelineVersion", "kedroGraphqlVersion"};
    static const char *const snake[] = {
        "data_catalog",    "describe",         "nodes",
        "project_version", "pipeline_version", "kedro_graphql_version"};
    size_t i, n = sizeof camel / sizeof camel[0];

    /* An answer that selected none of them (the update's) leaves the recorded ones alone. */
    for (i = 0; i < n; i++)
        if (cJSON_GetObjectItemCaseSensitive(pipeline, camel[i]) != NULL)
            return snake_json(pipeline, camel, snake, n);
    return NULL;
}

char *ke_gql_status_json(const void *status)
{
    static const char *const camel[] = {
        "session",     "filteredNodes", "taskId",        "taskName",  "taskArgs",  "taskKwargs",
        "taskRequest", "taskException", "taskTraceback", "taskEinfo", "taskResult"};
    static const char *const snake[] = {"session",      "filtered_nodes", "task_id",
                                        "task_name",    "task_args",      "task_kwargs",
                                        "task_request", "task_exception", "task_traceback",
                                        "task_einfo",   "task_result"};

    return snake_json(status, camel, snake, sizeof camel / sizeof camel[0]);
}

char *ke_gql_status_error(const void *status)
{
    const char *exc = ke_gql_str(status, "taskException");
    const char *tb = ke_gql_str(status, "taskTraceback");
    const char *start;
    size_t len, lines = 0;
    char *out;

    if ((exc == NULL || exc[0] == '\0') && (tb == NULL || tb[0] == '\0'))
        return NULL;
    if (tb == NULL || tb[0] == '\0')
        return strdup(exc);
    len = strlen(tb);
    while (len > 0 && (tb[len - 1] == '\n' || tb[len - 1] == '\r'))
        len--;
    start = tb + len;
    while (start > tb && (size_t)(tb + len - start) < KE_GQL_TRACE_BYTES) {
        if (start[-1] == '\n' && ++lines == KE_GQL_TRACE_LINES)
            break;
        start--;
    }
    /* Begin at a character, not inside a UTF-8 sequence. */
    while (start < tb + len && ((unsigned char)*start & 0xC0) == 0x80)
        start++;
    if (asprintf(&out, "%s%s%.*s", exc != NULL ? exc : "", exc != NULL && exc[0] ? "\n" : "",
                 (int)(tb + len - start), start) < 0)
        return NULL;
    return out;
}

/* ---- request headers */

static int is_tchar(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int ke_gql_header_check(const char *line, size_t len, char *msg, size_t cap)
{
    size_t i = 0, name_len, v;

    while (i < len && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= len || line[i] != ':') {
        snprintf(msg, cap,
                 "must read \"Name: value\" with a name of letters, digits and !#$%%&'*+-.^_`|~");
        return -1;
    }
    if (len > KE_GQL_HEADER_MAX) {
        snprintf(msg, cap, "header %.*s is longer than %d bytes", (int)i, line, KE_GQL_HEADER_MAX);
        return -1;
    }
    name_len = i;
    for (; i < len; i++) {
        if (line[i] == '\r' || line[i] == '\n' || line[i] == '\0') {
            snprintf(msg, cap, "the value of header %.*s holds a CR, LF or NUL", (int)name_len,
                     line);
            return -1;
        }
    }
    /* libcurl would not send "Name:" at all: say so instead of dropping it quietly. */
    for (v = name_len + 1; v < len && (line[v] == ' ' || line[v] == '\t'); v++)
        ;
    if (v == len) {
        snprintf(msg, cap, "header %.*s has an empty value", (int)name_len, line);
        return -1;
    }
    return 0;
}

void ke_gql_headers_free(char **h, size_t n)
{
    size_t i;

    for (i = 0; h != NULL && i < n; i++) {
        explicit_bzero(h[i], strlen(h[i]));
        free(h[i]);
    }
    free(h);
}

int ke_gql_headers_parse(const char *text, char ***out, size_t *n, char *msg, size_t cap)
{
    char **h = NULL, why[200];
    const char *line = text, *end, *colon, *v;
    size_t cnt = 0, len, lineno = 0, nlen;

    *out = NULL;
    *n = 0;
    while (*line != '\0') {
        lineno++;
        end = strchr(line, '\n');
        len = end != NULL ? (size_t)(end - line) : strlen(line);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0 || line[0] == '#')
            goto next;
        if (cnt == KE_GQL_MAX_HEADERS) {
            snprintf(msg, cap, "more than %d headers", KE_GQL_MAX_HEADERS);
            goto fail;
        }
        if (ke_gql_header_check(line, len, why, sizeof why) != 0) {
            snprintf(msg, cap, "line %zu: %s", lineno, why);
            goto fail;
        }
        colon = memchr(line, ':', len);
        nlen = (size_t)(colon - line);
        for (v = colon + 1; v < line + len && (*v == ' ' || *v == '\t'); v++)
            ;
        while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        if (cnt == 0)
            h = calloc(KE_GQL_MAX_HEADERS, sizeof *h);
        if (h == NULL || asprintf(&h[cnt], "%.*s: %.*s", (int)nlen, line,
                                  v < line + len ? (int)(line + len - v) : 0, v) < 0) {
            if (h != NULL)
                h[cnt] = NULL;
            snprintf(msg, cap, "out of memory");
            goto fail;
        }
        cnt++;
    next:
        if (end == NULL)
            break;
        line = end + 1;
    }
    *out = h;
    *n = cnt;
    return 0;
fail:
    ke_gql_headers_free(h, cnt);
    return -1;
}
