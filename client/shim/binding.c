/* binding.c -- the CloudEvents HTTP protocol binding: one POST's headers, Content-Type and
 * body read into kec_events (binary, structured or batched mode), without any HTTP library. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "shim.h"

#define MEDIA_MAX 128 /* a longer media type is read as unknown */

int kes_err_http(int code)
{
    switch (code) {
#define KES_X_HTTP(name, value, http, msg)                                                         \
    case value:                                                                                    \
        return http;
        KES_ERRNO_MAP(KES_X_HTTP)
#undef KES_X_HTTP
    }
    return 500;
}

/* Records the first error and returns code. */
__attribute__((format(printf, 3, 4))) static int bind_fail(kes_error *err, int code,
                                                           const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != KES_OK)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

/* A library error as ours: out of memory stays so, anything else is the sender's fault. */
static int bind_fail_kec(kes_error *err, int rc, const kec_error *e, const char *prefix)
{
    if (rc == KEC_ENOMEM)
        return bind_fail(err, KES_ENOMEM, "out of memory reading the event");
    return bind_fail(err, KES_EBADREQ, "%s%s", prefix, e->msg);
}

size_t kes_percent_decode(const char *in, size_t len, char *out)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (in[i] == '%' && i + 2 < len && kec_hex_value(in[i + 1]) >= 0 &&
            kec_hex_value(in[i + 2]) >= 0) {
            out[n++] = (char)(kec_hex_value(in[i + 1]) << 4 | kec_hex_value(in[i + 2]));
            i += 2;
        } else {
            out[n++] = in[i];
        }
    }
    out[n] = '\0';
    return n;
}

/* The value of a header (len bytes; 0: strlen) without its optional whitespace (SP, HTAB) at
 * either end, as RFC 9110 reads a field value; *n gets its length. */
static const char *trim_ows(const char *v, size_t len, size_t *n)
{
    if (len == 0)
        len = strlen(v);
    while (len > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        len--;
    }
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    *n = len;
    return v;
}

/* The media type of a Content-Type value (parameters and surrounding blanks dropped,
 * lowercased) into buf (MEDIA_MAX bytes); "" when v is NULL or too long. */
static const char *media_type(const char *v, char *buf)
{
    size_t n = 0, end;

    buf[0] = '\0';
    if (v == NULL)
        return buf;
    while (*v == ' ' || *v == '\t')
        v++;
    end = strcspn(v, ";");
    while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t'))
        end--;
    if (end >= MEDIA_MAX)
        return buf;
    for (n = 0; n < end; n++)
        buf[n] = (v[n] >= 'A' && v[n] <= 'Z') ? (char)(v[n] - 'A' + 'a') : v[n];
    buf[n] = '\0';
    return buf;
}

/* 1 when body with the media type m ("" for none) travels as text data: text/ and JSON
 * types, and no type at all, when the body is valid UTF-8 without NUL bytes. */
static int is_text_body(const char *m, const char *body, size_t len)
{
    if (m[0] != '\0' && strncmp(m, "text/", 5) != 0 && !kec_media_type_is_json(m))
        return 0;
    return memchr(body, '\0', len) == NULL && kec_utf8_invalid_at(body, len) < 0;
}

/* 1 when name starts with "ce-" in any case. */
static int is_ce_header(const char *name)
{
    return strncasecmp(name, "ce-", 3) == 0;
}

/* The attribute name of a ce- header: its suffix lowercased, as a new string (NULL when out
 * of memory). */
static char *attr_name(const char *header)
{
    char *s = strdup(header + 3), *q;

    for (q = s; q != NULL && *q != '\0'; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    return s;
}

/* Sets the attribute name from one decoded ce- header value. *datacontenttype keeps a
 * ce-datacontenttype (used only without Content-Type). */
static int set_attribute(kec_event *ev, const char *name, const char *value,
                         const char **datacontenttype, kes_error *err)
{
    kec_error e;
    kec_time t;
    int rc;

    kec_error_clear(&e);
    if (strcmp(name, "specversion") == 0) {
        rc = kec_event_set_spec_version(ev, value, &e);
    } else if (strcmp(name, "id") == 0) {
        rc = kec_event_set_id(ev, value, &e);
    } else if (strcmp(name, "source") == 0) {
        rc = kec_event_set_source(ev, value, &e);
    } else if (strcmp(name, "type") == 0) {
        rc = kec_event_set_type(ev, value, &e);
    } else if (strcmp(name, "time") == 0) {
        rc = kec_time_parse(value, &t, &e);
        if (rc != KEC_OK)
            return bind_fail_kec(err, rc, &e, "header ce-time: ");
        rc = kec_event_set_time(ev, "time", t, &e);
    } else if (strcmp(name, "dataschema") == 0) {
        rc = kec_event_set_uri(ev, "dataschema", value, &e);
    } else if (strcmp(name, "datacontenttype") == 0) {
        *datacontenttype = value;
        return KES_OK;
    } else {
        rc = kec_event_set_string(ev, name, value, &e);
    }
    if (rc != KEC_OK) {
        char prefix[64];

        snprintf(prefix, sizeof prefix, "header ce-%.40s: ", name);
        return bind_fail_kec(err, rc, &e, prefix);
    }
    return KES_OK;
}

/* The value of ce-* header h (attribute name) as the attribute's text, into *out (malloc'd,
 * set even on a refusal so the caller frees it): optional whitespace trimmed, then
 * percent-decoded once. Refused (KES_EBADREQ naming the header): a NUL byte, raw or as %00, and
 * text that is not UTF-8 once decoded. */
static int ce_value(const kes_header *h, const char *name, char **out, kes_error *err)
{
    size_t len;
    const char *v = trim_ows(h->value, h->len, &len);
    char *d;

    *out = NULL;
    if (memchr(v, '\0', len) != NULL)
        return bind_fail(err, KES_EBADREQ, "header ce-%.64s: holds a NUL byte", name);
    if ((d = malloc(len + 1)) == NULL)
        return bind_fail(err, KES_ENOMEM, "out of memory reading the event");
    len = kes_percent_decode(v, len, d);
    *out = d;
    if (memchr(d, '\0', len) != NULL)
        return bind_fail(err, KES_EBADREQ, "header ce-%.64s: holds a NUL byte (%%00)", name);
    if (kec_utf8_invalid_at(d, len) >= 0)
        return bind_fail(err, KES_EBADREQ, "header ce-%.64s: not valid UTF-8 once percent-decoded",
                         name);
    return KES_OK;
}

/* Binary mode: ce-* headers are the attributes, the body the data. */
static int read_binary(const kes_post *p, const char *media, kec_event **out, kes_error *err)
{
    kec_event *ev = NULL;
    kec_error e;
    char **names = NULL, **values = NULL;
    const char *ctype = NULL, *dct = NULL, *v;
    char *ctype_copy = NULL;
    size_t i, j, n = 0, len;
    char m[MEDIA_MAX];
    int rc;

    *out = NULL;
    kec_error_clear(&e);
    names = calloc(p->n_headers + 1, sizeof *names);
    values = calloc(p->n_headers + 1, sizeof *values);
    if (names == NULL || values == NULL) {
        rc = bind_fail(err, KES_ENOMEM, "out of memory reading the event");
        goto out;
    }
    /* kec_event_new would invent a random id for ""; a missing ce-id must reach the server
     * as missing (and a UUID per request is not free either) */
    rc = kec_event_new("-", "", "", &ev, &e);
    if (rc == KEC_OK)
        rc = kec_event_set_id(ev, "", &e);
    if (rc != KEC_OK) {
        rc = bind_fail_kec(err, rc, &e, "");
        goto out;
    }
    for (i = 0; i < p->n_headers; i++) {
        const kes_header *h = &p->headers[i];

        if (!is_ce_header(h->name))
            continue;
        if (h->name[3] == '\0') {
            rc = bind_fail(err, KES_EBADREQ, "header \"%s\" names no attribute", h->name);
            goto out;
        }
        if ((names[n] = attr_name(h->name)) == NULL) {
            rc = bind_fail(err, KES_ENOMEM, "out of memory reading the event");
            goto out;
        }
        for (j = 0; j < n; j++)
            if (strcmp(names[j], names[n]) == 0) {
                rc =
                    bind_fail(err, KES_EBADREQ, "header ce-%.64s appears more than once", names[n]);
                n++;
                goto out;
            }
        rc = ce_value(h, names[n], &values[n], err);
        n++;
        if (rc == KES_OK)
            rc = set_attribute(ev, names[n - 1], values[n - 1], &dct, err);
        if (rc != KES_OK)
            goto out;
    }
    if (p->content_type != NULL) {
        /* kes_binding_read has refused a NUL in it */
        v = trim_ows(p->content_type, p->content_type_len, &len);
        if ((ctype = ctype_copy = strndup(v, len)) == NULL) {
            rc = bind_fail(err, KES_ENOMEM, "out of memory reading the event");
            goto out;
        }
    }
    if (ctype == NULL && dct != NULL) {
        ctype = dct;
        media = media_type(dct, m);
    }
    if (ctype != NULL) {
        if (kec_utf8_invalid_at(ctype, strlen(ctype)) >= 0) {
            rc = bind_fail(err, KES_EBADREQ, "header Content-Type: not valid UTF-8");
            goto out;
        }
        rc = kec_event_set_string(ev, "datacontenttype", ctype, &e);
        if (rc != KEC_OK) {
            rc = bind_fail_kec(err, rc, &e, "header Content-Type: ");
            goto out;
        }
    }
    if (p->len > 0) {
        if (is_text_body(media, p->body, p->len))
            rc = kec_event_set_text_data(ev, p->body, p->len, &e);
        else
            rc = kec_event_set_binary_data(ev, p->body, p->len, &e);
        if (rc != KEC_OK) {
            rc = bind_fail_kec(err, rc, &e, "body: ");
            goto out;
        }
    }
    *out = ev;
    ev = NULL;
    rc = KES_OK;
out:
    for (i = 0; i < n; i++) {
        free(names[i]);
        free(values[i]);
    }
    free(names);
    free(values);
    free(ctype_copy);
    kec_event_free(ev);
    return rc;
}

/* 1 when a ce-specversion header is present. */
static int has_specversion(const kes_post *p)
{
    size_t i;

    for (i = 0; i < p->n_headers; i++)
        if (strcasecmp(p->headers[i].name, "ce-specversion") == 0)
            return 1;
    return 0;
}

int kes_binding_read(const kes_post *p, kes_events *out, kes_error *err)
{
    char m[MEDIA_MAX];
    const char *media = media_type(p->content_type, m);
    const char *body = p->body != NULL ? p->body : "";
    kec_event *ev = NULL;
    kec_error e;
    int rc;

    memset(out, 0, sizeof *out);
    kec_error_clear(&e);
    /* a NUL would cut the media type short, in any mode */
    if (p->content_type != NULL && p->content_type_len > 0 &&
        memchr(p->content_type, '\0', p->content_type_len) != NULL)
        return bind_fail(err, KES_EBADREQ, "header Content-Type: holds a NUL byte");
    if (strcmp(media, "application/cloudevents-batch+json") == 0) {
        rc = kec_batch_from_json(body, p->len, &out->events, &out->count, &e);
        if (rc != KEC_OK)
            return bind_fail_kec(err, rc, &e, "batched mode: ");
        out->batch = 1;
        return KES_OK;
    }
    if (strcmp(media, "application/cloudevents+json") == 0) {
        rc = kec_event_from_json(body, p->len, &ev, &e);
        if (rc != KEC_OK)
            return bind_fail_kec(err, rc, &e, "structured mode: ");
    } else if (strncmp(media, "application/cloudevents", 23) == 0) {
        return bind_fail(err, KES_EMEDIA,
                         "Content-Type \"%.128s\": the only CloudEvents formats read are "
                         "application/cloudevents+json and application/cloudevents-batch+json",
                         p->content_type);
    } else if (!has_specversion(p)) {
        return bind_fail(err, KES_EBADREQ,
                         "not a CloudEvent: binary mode needs a ce-specversion header, structured "
                         "mode a Content-Type of application/cloudevents+json (got %s%.128s%s)",
                         p->content_type != NULL ? "\"" : "",
                         p->content_type != NULL ? p->content_type : "no Content-Type",
                         p->content_type != NULL ? "\"" : "");
    } else {
        rc = read_binary(p, media, &ev, err);
        if (rc != KES_OK)
            return rc;
    }
    out->events = malloc(sizeof *out->events);
    if (out->events == NULL) {
        kec_event_free(ev);
        return bind_fail(err, KES_ENOMEM, "out of memory reading the event");
    }
    out->events[0] = ev;
    out->count = 1;
    return KES_OK;
}

void kes_events_release(kes_events *e)
{
    kec_events_free(e->events, e->count);
    memset(e, 0, sizeof *e);
}
