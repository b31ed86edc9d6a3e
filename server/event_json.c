/* event_json.c -- rendering a validated CloudEvent in the CloudEvents JSON format
 * (DESIGN.md 3.4), as the `event` parameter every run receives, and the check of JSON data
 * (strict RFC 8259, one nesting limit) that lets its text be embedded exactly as sent. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_internal.h"
#include "kec_text.h" /* base64 and the RFC 3339 writer, shared with the client library */
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

/* The JSON text ev->json_data as a raw cJSON item (printed as is); NULL when out of memory. */
static cJSON *raw_data(const ke_event *ev)
{
    char *text = malloc(ev->json_len + 1);
    cJSON *v;

    if (text == NULL)
        return NULL;
    memcpy(text, ev->json_data, ev->json_len);
    text[ev->json_len] = '\0';
    v = cJSON_CreateRaw(text);
    free(text);
    return v;
}

/* Adds value to obj as member name; returns value, or NULL (value freed)
 * when out of memory. */
static cJSON *add_item(cJSON *obj, const char *name, cJSON *value)
{
    if (!cJSON_AddItemToObject(obj, name, value)) {
        cJSON_Delete(value);
        return NULL;
    }
    return value;
}

/* Adds member name = string value to obj; returns KE_OK or KE_ENOMEM. */
static int add_string(cJSON *obj, const char *name, const char *value, ke_error *err)
{
    if (cJSON_AddStringToObject(obj, name, value) == NULL)
        return ke_error_set(err, KE_ENOMEM, "out of memory rendering an event");
    return KE_OK;
}

/* Adds "data" or "data_base64" for the event's data (rules in event.h and
 * DESIGN.md 3.4); nothing when the event has none. */
static int add_data(cJSON *root, const ke_event *ev, ke_error *err)
{
    const pb_event *pb = ev->pb;
    const char *ct = ev->content_type;
    bool json_ct = ct != NULL && ke_media_type_is_json(ct);
    char *text = NULL;
    char *b64 = NULL;
    const uint8_t *bytes = NULL;
    size_t n = 0;
    cJSON *item = NULL, *value = NULL;
    int rc = KE_OK;

    if (ev->json_data != NULL) { /* checked JSON (ke_event_check_data): embedded as sent */
        value = raw_data(ev);
        if (value == NULL || add_item(root, "data", value) == NULL)
            goto nomem;
        goto out;
    }
    switch (pb->data_case) {
    case DATA(TEXT_DATA):
        item = cJSON_AddStringToObject(root, "data", pb->text_data);
        break;
    case DATA(BINARY_DATA):
        bytes = pb->binary_data.data;
        n = pb->binary_data.len;
        /* NUL cannot pass through cJSON's C strings: such bytes go as base64 */
        if (ct != NULL && (json_ct || ke_media_type_is_text(ct)) &&
            kec_utf8_invalid_at((const char *)bytes, n) < 0 &&
            (n == 0 || memchr(bytes, 0, n) == NULL)) {
            text = malloc(n + 1);
            if (text == NULL)
                goto nomem;
            if (n > 0)
                memcpy(text, bytes, n);
            text[n] = '\0';
            item = cJSON_AddStringToObject(root, "data", text);
            break;
        }
        b64 = kec_base64_encode(bytes, n);
        if (b64 == NULL)
            goto nomem;
        item = cJSON_AddStringToObject(root, "data_base64", b64);
        break;
    case DATA(PROTO_DATA):
        if (pb->proto_data != NULL) {
            bytes = pb->proto_data->value.data;
            n = pb->proto_data->value.len;
        }
        b64 = kec_base64_encode(bytes, n);
        if (b64 == NULL)
            goto nomem;
        item = cJSON_AddStringToObject(root, "data_base64", b64);
        break;
    default:
        goto out;
    }
    if (item == NULL)
        goto nomem;
    goto out;
nomem:
    rc = ke_error_set(err, KE_ENOMEM, "out of memory rendering an event");
out:
    free(b64);
    free(text);
    return rc;
}

/* The JSON value of an extension attribute; NULL when out of memory. */
static cJSON *value_to_json(const pb_value *v)
{
    char buf[KEC_TIME_TEXT_MAX];
    char *b64;
    cJSON *item;

    switch (v->attr_case) {
    case ATTR(CE_BOOLEAN):
        return cJSON_CreateBool(v->ce_boolean);
    case ATTR(CE_INTEGER):
        return cJSON_CreateNumber((double)v->ce_integer); /* exact: every int32 fits */
    case ATTR(CE_BYTES):
        b64 = kec_base64_encode(v->ce_bytes.data, v->ce_bytes.len);
        if (b64 == NULL)
            return NULL;
        item = cJSON_CreateString(b64);
        free(b64);
        return item;
    case ATTR(CE_TIMESTAMP):
        if (v->ce_timestamp == NULL)
            format_rfc3339(buf, 0, 0);
        else
            format_rfc3339(buf, v->ce_timestamp->seconds, v->ce_timestamp->nanos);
        return cJSON_CreateString(buf);
    default: /* ce_string, ce_uri, ce_uri_ref share the char * */
        return cJSON_CreateString(v->ce_string);
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
    cJSON *root = NULL;
    char *printed = NULL;
    char tbuf[KEC_TIME_TEXT_MAX];
    size_t i;
    int rc = KE_OK;

    *out = NULL;
    if (ev->time == NULL && received == NULL)
        return ke_error_set(err, KE_EINVAL, "rendering an event without time needs a receive time");
    root = cJSON_CreateObject();
    if (root == NULL)
        goto nomem;
    rc = add_string(root, "specversion", pb->spec_version, err);
    if (rc == KE_OK)
        rc = add_string(root, "id", pb->id, err);
    if (rc == KE_OK)
        rc = add_string(root, "source", pb->source, err);
    if (rc == KE_OK)
        rc = add_string(root, "type", pb->type, err);
    if (rc == KE_OK && ev->content_type != NULL)
        rc = add_string(root, "datacontenttype", ev->content_type, err);
    if (rc == KE_OK && ev->dataschema != NULL)
        rc = add_string(root, "dataschema", ev->dataschema, err);
    if (rc == KE_OK && ev->subject != NULL)
        rc = add_string(root, "subject", ev->subject, err);
    if (rc != KE_OK)
        goto out;
    if (ev->time != NULL && ev->time->ce_timestamp != NULL)
        format_rfc3339(tbuf, ev->time->ce_timestamp->seconds, ev->time->ce_timestamp->nanos);
    else if (ev->time != NULL)
        format_rfc3339(tbuf, 0, 0);
    else
        format_rfc3339(tbuf, (int64_t)received->tv_sec, (int32_t)received->tv_nsec);
    rc = add_string(root, "time", tbuf, err);
    if (rc == KE_OK)
        rc = add_data(root, ev, err);
    if (rc != KE_OK)
        goto out;
    for (i = 0; i < ev->n_attrs; i++) {
        const pb_entry *e = ev->attrs[i];
        cJSON *item;

        if (strcmp(e->key, "datacontenttype") == 0 || strcmp(e->key, "dataschema") == 0 ||
            strcmp(e->key, "subject") == 0 || strcmp(e->key, "time") == 0)
            continue;
        item = value_to_json(e->value);
        if (item == NULL)
            goto nomem;
        if (!cJSON_AddItemToObject(root, e->key, item)) {
            cJSON_Delete(item);
            goto nomem;
        }
    }
    printed = cJSON_PrintUnformatted(root);
    if (printed == NULL)
        goto nomem;
    *out = escape_interpolation(printed);
    if (*out == NULL)
        goto nomem;
    goto out;
nomem:
    rc = ke_error_set(err, KE_ENOMEM, "out of memory rendering an event");
out:
    if (printed != NULL)
        cJSON_free(printed);
    cJSON_Delete(root);
    return rc;
}
