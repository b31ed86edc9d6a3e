/* event_json.c -- rendering a validated CloudEvent in the CloudEvents JSON format
 * (DESIGN.md 3.4), as the `event` parameter every run receives, and the check of JSON data
 * (strict RFC 8259, one nesting limit) that lets its text be embedded exactly as sent. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_internal.h"
#include "kec_json_out.h" /* the JSON writer, shared with the client library */
#include "kec_text.h"     /* base64 and the RFC 3339 writer, shared with the client library */
#include "text.h"

/* ---- JSON rendering ---- */

/* RFC 3339 of sec/nanos (UTC) into buf; the client library's writer, so the server and the
 * clients print instants the same way (3, 6 or 9 fraction digits only when nanos != 0). */
static void format_rfc3339(char buf[KEC_TIME_TEXT_MAX], int64_t sec, int32_t nanos)
{
    kec_time t = {sec, nanos, 1};

    kec_time_format(t, buf);
}

/* The JSON text of data[0..n) to embed (trimmed) in *json / *json_len, or nothing when it is
 * not strictly JSON: such data travels as a string, as the reference's Python SDK makes it
 * (its from_http falls back to the text when a JSON body does not parse), so nothing sent is
 * changed or lost. KE_EINVAL when it is JSON nested past the limit: it could not travel as JSON,
 * and as a string it would be changed. */
static int check_json(const char *data, size_t n, const char **json, size_t *json_len,
                      ke_error *err)
{
    kec_json_fault fault;
    kec_json_span sp;
    int rc = kec_json_check(data, n, &fault);

    if (rc == KEC_JSON_EDEPTH)
        return ke_error_set(err, KE_EINVAL, "data: JSON %s at byte %zu", fault.reason,
                            fault.offset);
    if (rc == KEC_JSON_OK) {
        sp = kec_json_trim(data, n);
        *json = data + sp.start;
        *json_len = sp.end - sp.start;
    }
    return KE_OK;
}

int ke_event_check_data(ke_event *ev, ke_error *err)
{
    const pb_event *pb = ev->pb;
    const char *ct = ev->content_type;
    bool json_ct = ct != NULL && ke_media_type_is_json(ct);
    const char *bytes;
    size_t n;

    ev->json_data = NULL;
    ev->json_len = 0;
    if (ct != NULL && !json_ct) /* absent: the JSON format's default type */
        return KE_OK;
    if (pb->data_case == DATA(TEXT_DATA))
        return check_json(pb->text_data, strlen(pb->text_data), &ev->json_data, &ev->json_len, err);
    if (pb->data_case != DATA(BINARY_DATA))
        return KE_OK;
    /* bytes: JSON only when they are UTF-8 without NUL (else base64) */
    bytes = (const char *)pb->binary_data.data;
    n = pb->binary_data.len;
    if (n == 0 || memchr(bytes, 0, n) != NULL || kec_utf8_invalid_at(bytes, n) >= 0)
        return KE_OK;
    return check_json(bytes, n, &ev->json_data, &ev->json_len, err);
}

/* The separator and the key of a member of the event's object; the first member
 * (specversion) has no comma before it. */
static void put_key(kec_json_out *o, const char *name, int first)
{
    if (!first)
        KEC_JSON_OUT_LIT(o, ",");
    kec_json_out_string(o, name);
    KEC_JSON_OUT_LIT(o, ":");
}

static void put_text(kec_json_out *o, const char *name, const char *value, int first)
{
    put_key(o, name, first);
    kec_json_out_string(o, value);
}

/* "data_base64": the n bytes at bytes in base64. KE_OK or KE_ENOMEM. */
static int put_base64(kec_json_out *o, const uint8_t *bytes, size_t n)
{
    char *b64 = kec_base64_encode(bytes, n);

    if (b64 == NULL)
        return KE_ENOMEM;
    put_text(o, "data_base64", b64, 0);
    free(b64);
    return KE_OK;
}

/* "data" or "data_base64" for the event's data (rules in event.h and DESIGN.md 3.4); nothing
 * when the event has none. KE_OK or KE_ENOMEM. */
static int put_data(kec_json_out *o, const ke_event *ev)
{
    const pb_event *pb = ev->pb;
    const char *ct = ev->content_type;
    bool json_ct = ct != NULL && ke_media_type_is_json(ct);
    const uint8_t *bytes = NULL;
    size_t n = 0;

    if (ev->json_data != NULL) { /* checked JSON (ke_event_check_data): embedded as sent */
        put_key(o, "data", 0);
        kec_json_out_raw(o, ev->json_data, ev->json_len);
        return KE_OK;
    }
    switch (pb->data_case) {
    case DATA(TEXT_DATA):
        put_text(o, "data", pb->text_data, 0);
        return KE_OK;
    case DATA(BINARY_DATA):
        bytes = pb->binary_data.data;
        n = pb->binary_data.len;
        /* text only when it is UTF-8 without NUL, as the C strings of the reader hold it */
        if (ct != NULL && (json_ct || ke_media_type_is_text(ct)) &&
            kec_utf8_invalid_at((const char *)bytes, n) < 0 &&
            (n == 0 || memchr(bytes, 0, n) == NULL)) {
            put_key(o, "data", 0);
            kec_json_out_string_n(o, (const char *)bytes, n);
            return KE_OK;
        }
        return put_base64(o, bytes, n);
    case DATA(PROTO_DATA):
        if (pb->proto_data != NULL) {
            bytes = pb->proto_data->value.data;
            n = pb->proto_data->value.len;
        }
        return put_base64(o, bytes, n);
    default:
        return KE_OK;
    }
}

/* The JSON value of an extension attribute. KE_OK or KE_ENOMEM. */
static int put_value(kec_json_out *o, const pb_value *v)
{
    char buf[KEC_TIME_TEXT_MAX];
    char *b64;

    switch (v->attr_case) {
    case ATTR(CE_BOOLEAN):
        if (v->ce_boolean)
            KEC_JSON_OUT_LIT(o, "true");
        else
            KEC_JSON_OUT_LIT(o, "false");
        return KE_OK;
    case ATTR(CE_INTEGER): /* as cJSON prints an integral number */
        kec_json_out_raw(o, buf, (size_t)snprintf(buf, sizeof buf, "%d", (int)v->ce_integer));
        return KE_OK;
    case ATTR(CE_BYTES):
        b64 = kec_base64_encode(v->ce_bytes.data, v->ce_bytes.len);
        if (b64 == NULL)
            return KE_ENOMEM;
        kec_json_out_string(o, b64);
        free(b64);
        return KE_OK;
    case ATTR(CE_TIMESTAMP):
        if (v->ce_timestamp == NULL)
            format_rfc3339(buf, 0, 0);
        else
            format_rfc3339(buf, v->ce_timestamp->seconds, v->ce_timestamp->nanos);
        kec_json_out_string(o, buf);
        return KE_OK;
    default: /* ce_string, ce_uri, ce_uri_ref share the char * */
        kec_json_out_string(o, v->ce_string);
        return KE_OK;
    }
}

/* Copies s with every "${" written "\u0024{" (DESIGN.md 3.4: OmegaConf must
 * not see an interpolation). '$' occurs in JSON text only inside strings and
 * never as part of an escape, so the result parses to the same value.
 * Returns a string the caller frees, or NULL when out of memory. */
static char *escape_interpolation(const char *s)
{
    static const char esc[] = "\\u0024";
    size_t n = strlen(s);
    size_t count = 0;
    const char *p;
    char *out, *o;

    for (p = strstr(s, "${"); p != NULL; p = strstr(p + 2, "${"))
        count++;
    out = malloc(n + count * (sizeof esc - 2) + 1);
    if (out == NULL)
        return NULL;
    for (o = out; *s != '\0'; s++) {
        if (s[0] == '$' && s[1] == '{') {
            memcpy(o, esc, sizeof esc - 1);
            o += sizeof esc - 1;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

int ke_event_to_json(const ke_event *ev, const struct timespec *received, char **out, ke_error *err)
{
    const pb_event *pb = ev->pb;
    kec_json_out o = {0};
    char tbuf[KEC_TIME_TEXT_MAX];
    char *text;
    size_t i;
    int rc;

    *out = NULL;
    if (ev->time == NULL && received == NULL)
        return ke_error_set(err, KE_EINVAL, "rendering an event without time needs a receive time");
    KEC_JSON_OUT_LIT(&o, "{");
    put_text(&o, "specversion", pb->spec_version, 1);
    put_text(&o, "id", pb->id, 0);
    put_text(&o, "source", pb->source, 0);
    put_text(&o, "type", pb->type, 0);
    if (ev->content_type != NULL)
        put_text(&o, "datacontenttype", ev->content_type, 0);
    if (ev->dataschema != NULL)
        put_text(&o, "dataschema", ev->dataschema, 0);
    if (ev->subject != NULL)
        put_text(&o, "subject", ev->subject, 0);
    if (ev->time != NULL && ev->time->ce_timestamp != NULL)
        format_rfc3339(tbuf, ev->time->ce_timestamp->seconds, ev->time->ce_timestamp->nanos);
    else if (ev->time != NULL)
        format_rfc3339(tbuf, 0, 0);
    else
        format_rfc3339(tbuf, (int64_t)received->tv_sec, (int32_t)received->tv_nsec);
    put_text(&o, "time", tbuf, 0);
    rc = put_data(&o, ev);
    for (i = 0; rc == KE_OK && i < ev->n_attrs; i++) {
        const pb_entry *e = ev->attrs[i];

        if (strcmp(e->key, "datacontenttype") == 0 || strcmp(e->key, "dataschema") == 0 ||
            strcmp(e->key, "subject") == 0 || strcmp(e->key, "time") == 0)
            continue;
        put_key(&o, e->key, 0);
        rc = put_value(&o, e->value);
    }
    KEC_JSON_OUT_LIT(&o, "}");
    text = kec_json_out_take(&o, NULL);
    if (rc == KE_OK && text != NULL && strstr(text, "${") == NULL) {
        *out = text; /* nothing to escape: the text as written */
        return KE_OK;
    }
    if (rc == KE_OK && text != NULL)
        *out = escape_interpolation(text);
    free(text);
    if (*out == NULL)
        return ke_error_set(err, KE_ENOMEM, "out of memory rendering an event");
    return KE_OK;
}
