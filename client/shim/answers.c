/* answers.c -- what the shim answers: the HTTP status of a gRPC status or a reading error,
 * and the JSON bodies (kedro-graphql's pipeline dicts, {"detail": ...}). */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "shim.h"

static const char oom_detail[] = "{\"detail\": \"out of memory\"}";

void kes_answer_release(kes_answer *a)
{
    size_t i;

    free(a->body);
    for (i = 0; i < a->n_headers; i++)
        free(a->headers[i].value);
    memset(a, 0, sizeof *a);
}

void kes_answer_free_body(void *body)
{
    free(body);
}

void kes_answer_header(kes_answer *a, const char *name, const char *value)
{
    char *v;

    if (a->n_headers == KES_MAX_ANSWER_HEADERS || (v = strdup(value)) == NULL)
        return;
    a->headers[a->n_headers].name = name;
    a->headers[a->n_headers++].value = v;
}

/* Sets status and the body text (taken, len bytes); a NULL text answers 500 out of memory. */
static void set_text(kes_answer *a, int status, char *text, size_t len)
{
    free(a->body);
    a->body = text;
    a->len = text != NULL ? len : 0;
    a->status = text != NULL ? status : 500;
}

/* Sets status and the body of doc (taken: deleted here); a NULL doc, or one that cannot be
 * printed, answers 500 out of memory. */
static void set_body(kes_answer *a, int status, cJSON *doc)
{
    char *text = doc != NULL ? kec_json_print(doc) : NULL;

    cJSON_Delete(doc);
    set_text(a, status, text, text != NULL ? strlen(text) : 0);
}

/* Sets status and the body of the text o holds (taken). */
static void set_out(kes_answer *a, int status, kec_json_out *o)
{
    size_t len;
    char *text = kec_json_out_take(o, &len);

    set_text(a, status, text, len);
}

/* s (len bytes) with each byte that is not part of well-formed UTF-8 replaced by U+FFFD, as
 * a new string (messages may quote what a sender sent, cut anywhere); NULL when out of
 * memory. */
static char *utf8_clean(const char *s, size_t len)
{
    char *out = malloc(len * 3 + 1);
    size_t i = 0, n = 0, k;
    unsigned char c;

    if (out == NULL)
        return NULL;
    while (i < len) {
        c = (unsigned char)s[i];
        k = kec_utf8_seq((const unsigned char *)s, i, len);
        if (c != 0 && k > 0) {
            memcpy(out + n, s + i, k);
            n += k;
            i += k;
        } else {
            memcpy(out + n, "\xEF\xBF\xBD", 3);
            n += 3;
            i++;
        }
    }
    out[n] = '\0';
    return out;
}

/* status with {"detail": msg}. */
static void detail(kes_answer *a, int status, const char *msg)
{
    char *clean = utf8_clean(msg, strlen(msg));
    cJSON *doc = cJSON_CreateObject();

    if (clean == NULL || doc == NULL || cJSON_AddStringToObject(doc, "detail", clean) == NULL) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    free(clean);
    set_body(a, status, doc);
}

void kes_answer_detail(kes_answer *a, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    detail(a, status, msg);
}

void kes_answer_kes_error(kes_answer *a, const kes_error *err)
{
    detail(a, kes_err_http(err->code), err->msg);
}

/* How grpc core words a stream its server reset under memory pressure (HTTP/2
 * ENHANCE_YOUR_CALM): retryable, not "too large". */
#define GRPC_CALM "Received RST_STREAM with error code 11"

/* Whether msg starts with prefix. */
static int starts_with(const char *msg, const char *prefix)
{
    return strncmp(msg, prefix, strlen(prefix)) == 0;
}

int kes_http_status_of(int rc, const kec_error *err, int connected)
{
    if (rc == KEC_EDECODE)
        return 502;
    if (rc != KEC_ESTATUS)
        return 500;
    switch (err->status) {
    case KEC_STATUS_INVALID_ARGUMENT:
        return 400;
    case KEC_STATUS_UNAUTHENTICATED: /* the shim's own token, not the HTTP client's */
        return 502;
    case KEC_STATUS_PERMISSION_DENIED:
        return 403;
    case KEC_STATUS_FAILED_PRECONDITION: /* dispatch disabled: no event configuration */
    case KEC_STATUS_NOT_FOUND:
        return 404;
    case KEC_STATUS_RESOURCE_EXHAUSTED: /* retryable when the store is full, else too large */
        if (starts_with(err->msg, KEC_STORE_FULL_PREFIX) || strcmp(err->msg, GRPC_CALM) == 0)
            return 503;
        return 413;
    case KEC_STATUS_UNAVAILABLE:
        return connected ? 503 : 502;
    case KEC_STATUS_DEADLINE_EXCEEDED:
        return 504;
    }
    return 500;
}

void kes_answer_call_error(kes_answer *a, int rc, const kec_error *err, int connected,
                           const char *target)
{
    int status = kes_http_status_of(rc, err, connected);

    switch (status) {
    case 502:
        if (rc == KEC_ESTATUS && err->status == KEC_STATUS_UNAUTHENTICATED)
            kes_answer_detail(a, status,
                              "kedro-eventd at %s refused the shim's own credentials (its "
                              "--target-token-file token is missing or not accepted): %s",
                              target, err->msg);
        else if (rc == KEC_EDECODE)
            kes_answer_detail(a, status, "kedro-eventd at %s answered what cannot be read: %s",
                              target, err->msg);
        else
            kes_answer_detail(a, status, "kedro-eventd at %s cannot be reached: %s", target,
                              err->msg);
        break;
    case 503:
        if (err->status == KEC_STATUS_RESOURCE_EXHAUSTED && starts_with(err->msg, GRPC_CALM))
            kes_answer_detail(a, status, "kedro-eventd is overloaded, try again later: %s",
                              err->msg);
        else if (err->status == KEC_STATUS_RESOURCE_EXHAUSTED)
            kes_answer_detail(a, status, "kedro-eventd's store is full: %s", err->msg);
        else if (starts_with(err->msg, KEC_OVERLOADED_PREFIX))
            kes_answer_detail(a, status, "kedro-eventd is overloaded, try again later: %s",
                              err->msg);
        else
            kes_answer_detail(a, status, "kedro-eventd is overloaded or shutting down: %s",
                              err->msg);
        break;
    case 504:
        kes_answer_detail(a, status, "kedro-eventd at %s did not answer in time: %s", target,
                          err->msg);
        break;
    case 500:
        if (rc == KEC_ESTATUS)
            kes_answer_detail(a, status, "kedro-eventd answered %s: %s",
                              kec_status_name(err->status), err->msg);
        else
            kes_answer_detail(a, status, "%s", err->msg);
        break;
    default:
        detail(a, status, err->msg);
    }
    if (a->status == 503 || a->status == 429)
        kes_answer_header(a, "Retry-After", KES_RETRY_AFTER_S);
}

void kes_answer_dispatch(kes_answer *a, const kec_dispatch_result *r)
{
    kec_json_out o = {0};

    kec_json_out_pipelines(&o, r->pipelines, r->count);
    set_out(a, 200, &o);
    if (a->status == 200 && r->duplicate)
        kes_answer_header(a, "X-Duplicate", "true");
}

void kes_answer_batch(kes_answer *a, const kec_dispatch_result *r, size_t count)
{
    kec_json_out o = {0};
    char *dup = malloc(count * 7 + 1);
    size_t i, n = 0;
    int any = 0;

    kec_json_out_raw(&o, "[", 1);
    for (i = 0; i < count; i++) {
        if (i > 0)
            kec_json_out_raw(&o, ",", 1);
        kec_json_out_pipelines(&o, r[i].pipelines, r[i].count);
        if (dup != NULL)
            n += (size_t)sprintf(dup + n, "%s%s", i > 0 ? ", " : "",
                                 r[i].duplicate ? "true" : "false");
        any |= r[i].duplicate;
    }
    kec_json_out_raw(&o, "]", 1);
    set_out(a, 200, &o);
    if (a->status == 200 && any && dup != NULL)
        kes_answer_header(a, "X-Duplicate", dup);
    free(dup);
}

void kes_answer_pipeline(kes_answer *a, int status, const kec_pipeline *p)
{
    char *text = kec_pipeline_to_json(p);

    set_text(a, status, text, text != NULL ? strlen(text) : 0);
}

void kes_answer_page(kes_answer *a, const kec_pipeline_page *page)
{
    kec_json_out o = {0};

    kec_json_out_pipelines(&o, page->pipelines, page->count);
    set_out(a, 200, &o);
    if (a->status == 200 && page->next_page_token != NULL && page->next_page_token[0] != '\0')
        kes_answer_header(a, "X-Next-Page-Token", page->next_page_token);
}

const char *kes_answer_oom_body(size_t *len)
{
    *len = sizeof oom_detail - 1;
    return oom_detail;
}
