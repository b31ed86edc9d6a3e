/* event.c -- CloudEvent decoding and validation (protobuf format). */
#include "event.h"
#include "text.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uriparser/Uri.h>

#include "event_internal.h"
#include "wire.h"

/* ---- small text helpers ---- */

/* Offset of the first control character of s[0..len) in the CloudEvents type system's sense
 * (U+0000-U+001F, U+007F-U+009F; s is valid UTF-8), or -1 when there is none. */
static long control_at(const char *s, size_t len, unsigned *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i;

    for (i = 0; i < len; i++) {
        if (u[i] < 0x20 || u[i] == 0x7f) {
            *cp = u[i];
            return (long)i;
        }
        if (u[i] == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f) {
            *cp = u[i + 1]; /* C2 80..C2 9F encode U+0080..U+009F */
            return (long)i;
        }
    }
    return -1;
}

/* Checks that string attribute name of the event is valid UTF-8 and free of control
 * characters. Returns KE_OK or KE_EINVAL naming it (attribute "id", ...): the name is quoted
 * only when there is an error to tell. */
static int check_text(const char *s, const char *name, ke_error *err)
{
    size_t len = strlen(s);
    long at = kec_utf8_invalid_at(s, len);
    char q[KE_QUOTE_CAP];
    unsigned cp = 0;

    if (at >= 0)
        return ke_error_set(err, KE_EINVAL,
                            "attribute %s: must be valid UTF-8 (invalid byte at offset %ld)",
                            ke_quote(q, name), at);
    at = control_at(s, len, &cp);
    if (at >= 0)
        return ke_error_set(err, KE_EINVAL,
                            "attribute %s: must not contain control characters (U+0000-U+001F, "
                            "U+007F-U+009F), found U+%04X at offset %ld",
                            ke_quote(q, name), cp, at);
    return KE_OK;
}

/* Checks that text data is valid UTF-8 (control characters are data, not attributes). */
static int check_utf8(const char *s, const char *what, ke_error *err)
{
    long at = kec_utf8_invalid_at(s, strlen(s));

    if (at < 0)
        return KE_OK;
    return ke_error_set(err, KE_EINVAL, "%s: must be valid UTF-8 (invalid byte at offset %ld)",
                        what, at);
}

/* RFC 7230 tchar. */
static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Length of the RFC 7230 token at s (0 when there is none). */
static size_t token_len(const char *s)
{
    size_t n = 0;

    while (is_tchar((unsigned char)s[n]))
        n++;
    return n;
}

/* Length of the RFC 7230 quoted-string at s, quotes included (0 when s does
 * not start a well-formed one). */
static size_t quoted_string_len(const char *s)
{
    size_t i = 1;

    if (s[0] != '"')
        return 0;
    for (;;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            unsigned char e = (unsigned char)s[i + 1];
            if (!(e == '\t' || e == ' ' || (e >= 0x21 && e != 0x7f)))
                return 0;
            i += 2;
        } else if (c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f)) {
            i++;
        } else {
            return 0; /* control character or the end of the string */
        }
    }
}

/* True when s is an RFC 2046 media type as HTTP writes it (RFC 7231 3.1.1.1):
 * type "/" subtype *( OWS ";" OWS token "=" ( token / quoted-string ) ). */
static bool media_type_valid(const char *s)
{
    const char *p = s;
    size_t n;

    n = token_len(p);
    if (n == 0 || p[n] != '/')
        return false;
    p += n + 1;
    n = token_len(p);
    if (n == 0)
        return false;
    p += n;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != ';')
            return false;
        while (*p == ' ' || *p == '\t')
            p++;
        n = token_len(p);
        if (n == 0 || p[n] != '=')
            return false;
        p += n + 1;
        n = token_len(p);
        if (n == 0)
            n = quoted_string_len(p);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

/* Splits a valid media type into its type and subtype (lengths only; both
 * start where the caller knows: at s and after the '/'). */
static void media_type_split(const char *s, size_t *type_len, const char **sub, size_t *sub_len)
{
    *type_len = token_len(s);
    *sub = s + *type_len + 1;
    *sub_len = token_len(*sub);
}

/* True when the media type (parameters ignored, case-insensitive) says JSON:
 * application/json, text/json or any subtype ending in "+json". */
bool ke_media_type_is_json(const char *s)
{
    size_t tl, sl;
    const char *sub;

    media_type_split(s, &tl, &sub, &sl);
    if (sl >= 5 && strncasecmp(sub + sl - 5, "+json", 5) == 0)
        return true;
    if (sl != 4 || strncasecmp(sub, "json", 4) != 0)
        return false;
    return (tl == 11 && strncasecmp(s, "application", 11) == 0) ||
           (tl == 4 && strncasecmp(s, "text", 4) == 0);
}

/* True when the media type's type is "text" (case-insensitive). */
bool ke_media_type_is_text(const char *s)
{
    return token_len(s) == 4 && strncasecmp(s, "text", 4) == 0;
}

/* Checks s with uriparser (RFC 3986): a URI-reference, or an absolute URI (with a scheme)
 * when absolute is set. name is the attribute's, rule says what it must be. Returns KE_OK,
 * KE_EINVAL naming the attribute, the rule and the offset, or KE_ENOMEM. */
static int check_uri(const char *s, bool absolute, const char *name, const char *rule,
                     ke_error *err)
{
    const char *at = NULL;
    char q[KE_QUOTE_CAP], qv[KE_QUOTE_CAP];
    UriUriA uri;
    int rc;
    bool has_scheme;

    rc = uriParseSingleUriA(&uri, s, &at);
    if (rc == URI_ERROR_MALLOC)
        return ke_error_set(err, KE_ENOMEM, "out of memory checking attribute %s",
                            ke_quote(q, name));
    if (rc != URI_SUCCESS) {
        if (at == NULL || at < s)
            at = s;
        return ke_error_set(err, KE_EINVAL, "attribute %s: %s, got %s (invalid at offset %zu)",
                            ke_quote(q, name), rule, ke_quote(qv, s), (size_t)(at - s));
    }
    has_scheme = uri.scheme.first != NULL;
    uriFreeUriMembersA(&uri);
    if (absolute && !has_scheme)
        return ke_error_set(err, KE_EINVAL, "attribute %s: %s, got %s (no scheme)",
                            ke_quote(q, name), rule, ke_quote(qv, s));
    return KE_OK;
}

/* What check_uri's callers require. */
#define RULE_URI_REF "must be a URI-reference (RFC 3986)"
#define RULE_CE_URI_REF "ce_uri_ref must be a URI-reference (RFC 3986)"
#define RULE_CE_URI                                                                                \
    "ce_uri must be an absolute URI (RFC 3986: scheme \":\" ...); use ce_uri_ref for a "           \
    "relative reference"
#define RULE_DATASCHEMA "must be a ce_uri holding a non-empty absolute URI (RFC 3986)"

/* ---- protobuf wire scan: strings holding NUL ---- */

/* protobuf-c hands strings over NUL-terminated without their length, so a
 * string holding U+0000 would silently lose its tail ("a\0b" read as "a", and
 * two different ids read as one). Scan the wire for such strings and refuse
 * them instead. The scan runs on bytes protobuf-c already accepted. */

/* Scans one CloudEventAttributeValue; *nul says whether a string member
 * (ce_string, ce_uri, ce_uri_ref) holds NUL. Returns false when malformed. */
static bool wire_scan_value(const uint8_t *p, size_t n, bool *nul)
{
    const uint8_t *end = p + n;
    ke_wire_field f;

    while (p < end) {
        if (!ke_wire_next(&p, end, &f))
            return false;
        if ((f.num == 3 || f.num == 5 || f.num == 6) && ke_wire_has_nul(&f))
            *nul = true;
    }
    return true;
}

/* Refuses a serialized CloudEvent whose strings hold NUL, naming the field.
 * Returns KE_OK, or KE_EINVAL with err set. */
static int check_wire_nul(const uint8_t *buf, size_t len, ke_error *err)
{
    static const char *const names[] = {NULL,
                                        "attribute \"id\"",
                                        "attribute \"source\"",
                                        "attribute \"specversion\"",
                                        "attribute \"type\"",
                                        NULL,
                                        NULL,
                                        "data \"text_data\""};
    const uint8_t *p = buf;
    const uint8_t *end = buf + len;
    ke_wire_field f, g;
    char q[KE_QUOTE_CAP];

    while (p < end) {
        if (!ke_wire_next(&p, end, &f))
            goto malformed;
        if (f.type != 2)
            continue;
        if (f.num < sizeof names / sizeof names[0] && names[f.num] != NULL && ke_wire_has_nul(&f))
            return ke_error_set(err, KE_EINVAL, "%s: must not contain a NUL character (U+0000)",
                                names[f.num]);
        if (f.num == 5) { /* an attributes map entry: key = 1, value = 2 */
            const uint8_t *ep = f.buf;
            const uint8_t *eend = f.buf + f.len;
            const uint8_t *key = (const uint8_t *)"";
            size_t key_len = 0;
            bool key_nul = false, value_nul = false;

            while (ep < eend) {
                if (!ke_wire_next(&ep, eend, &g))
                    goto malformed;
                if (g.num == 1 && g.type == 2) {
                    key = g.buf;
                    key_len = g.len;
                    key_nul = key_nul || ke_wire_has_nul(&g);
                } else if (g.num == 2 && g.type == 2) {
                    if (!wire_scan_value(g.buf, g.len, &value_nul))
                        goto malformed;
                }
            }
            if (key_nul)
                return ke_error_set(err, KE_EINVAL,
                                    "attribute name %s: must not contain a NUL character (U+0000)",
                                    ke_quote_n(q, (const char *)key, key_len));
            if (value_nul)
                return ke_error_set(err, KE_EINVAL,
                                    "attribute %s: value must not contain a NUL character (U+0000)",
                                    ke_quote_n(q, (const char *)key, key_len));
        }
    }
    return KE_OK;
malformed:
    return ke_error_set(err, KE_EINVAL,
                        "malformed CloudEvent: not a valid protobuf encoding of "
                        "io.cloudevents.v1.CloudEvent");
}

/* ---- validation ---- */

/* The proto name of the member a value holds. */
static const char *value_kind(const pb_value *v)
{
    switch (v->attr_case) {
    case ATTR(CE_BOOLEAN):
        return "ce_boolean";
    case ATTR(CE_INTEGER):
        return "ce_integer";
    case ATTR(CE_STRING):
        return "ce_string";
    case ATTR(CE_BYTES):
        return "ce_bytes";
    case ATTR(CE_URI):
        return "ce_uri";
    case ATTR(CE_URI_REF):
        return "ce_uri_ref";
    case ATTR(CE_TIMESTAMP):
        return "ce_timestamp";
    default:
        return "no value";
    }
}

/* Checks a ce_timestamp lies in 0001-01-01..9999-12-31 with nanos 0..999999999
 * (RFC 3339 can write nothing else). A missing message reads as the proto
 * default, the epoch. Returns KE_OK or KE_EINVAL naming the attribute. */
static int check_timestamp(const char *name, const pb_value *v, ke_error *err)
{
    const Google__Protobuf__Timestamp *ts = v->ce_timestamp;
    char q[KE_QUOTE_CAP];

    if (ts == NULL)
        return KE_OK;
    if (ts->seconds < TS_MIN_SECONDS || ts->seconds > TS_MAX_SECONDS || ts->nanos < 0 ||
        ts->nanos > 999999999)
        return ke_error_set(
            err, KE_EINVAL,
            "attribute %s: ce_timestamp must lie within "
            "0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z (seconds "
            "%lld..%lld, nanos 0..999999999), got seconds=%" PRId64 ", nanos=%" PRId32,
            ke_quote(q, name), TS_MIN_SECONDS, TS_MAX_SECONDS, ts->seconds, ts->nanos);
    return KE_OK;
}

/* Checks the value of one attribute against the rule for its name (the
 * known optional attributes) or for its type (extensions), and records the
 * known ones in ev. Returns KE_OK or KE_EINVAL naming the attribute. */
static int check_value(ke_event *ev, const char *name, const pb_value *v, ke_error *err)
{
    char qv[KE_QUOTE_CAP];
    int rc;

    switch (v->attr_case) { /* every string must be UTF-8, whatever its rule */
    case ATTR(CE_STRING):
    case ATTR(CE_URI):
    case ATTR(CE_URI_REF):
        rc = check_text(v->ce_string, name, err);
        if (rc == KE_OK && v->attr_case == ATTR(CE_URI_REF))
            rc = check_uri(v->ce_uri_ref, false, name, RULE_CE_URI_REF, err);
        if (rc != KE_OK)
            return rc;
        break;
    default:
        break;
    }

    if (strcmp(name, "datacontenttype") == 0) {
        if (v->attr_case != ATTR(CE_STRING))
            return ke_error_set(err, KE_EINVAL,
                                "attribute \"datacontenttype\": must be a ce_string holding an "
                                "RFC 2046 media type (type/subtype), got %s",
                                value_kind(v));
        if (!media_type_valid(v->ce_string))
            return ke_error_set(err, KE_EINVAL,
                                "attribute \"datacontenttype\": must be a ce_string holding an "
                                "RFC 2046 media type (type/subtype), got %s",
                                ke_quote(qv, v->ce_string));
        ev->content_type = v->ce_string;
    } else if (strcmp(name, "subject") == 0) {
        if (v->attr_case != ATTR(CE_STRING))
            return ke_error_set(err, KE_EINVAL,
                                "attribute \"subject\": must be a non-empty ce_string, got %s",
                                value_kind(v));
        if (v->ce_string[0] == '\0')
            return ke_error_set(err, KE_EINVAL,
                                "attribute \"subject\": must be a non-empty ce_string, got \"\"");
        ev->subject = v->ce_string;
    } else if (strcmp(name, "dataschema") == 0) {
        if (v->attr_case != ATTR(CE_URI))
            return ke_error_set(err, KE_EINVAL,
                                "attribute \"dataschema\": must be a ce_uri holding a non-empty "
                                "absolute URI, got %s",
                                value_kind(v));
        rc = check_uri(v->ce_uri, true, name, RULE_DATASCHEMA, err);
        if (rc != KE_OK)
            return rc;
        ev->dataschema = v->ce_uri;
    } else if (strcmp(name, "time") == 0) {
        if (v->attr_case != ATTR(CE_TIMESTAMP))
            return ke_error_set(err, KE_EINVAL,
                                "attribute \"time\": must be a ce_timestamp, got %s",
                                value_kind(v));
        rc = check_timestamp(name, v, err);
        if (rc != KE_OK)
            return rc;
        ev->time = v;
    } else if (v->attr_case == ATTR(CE_URI)) {
        return check_uri(v->ce_uri, true, name, RULE_CE_URI, err);
    } else if (v->attr_case == ATTR(CE_TIMESTAMP)) {
        return check_timestamp(name, v, err);
    }
    return KE_OK;
}

/* Checks an attribute name: 1..NAME_MAX_LEN of [a-z0-9], not one of the
 * required attributes (they travel in fields) nor "data" (it would collide
 * with the JSON format's data member). Returns KE_OK or KE_EINVAL. */
static int check_name(const char *name, ke_error *err)
{
    static const char *const fields[][2] = {
        {"id", "id"}, {"source", "source"}, {"specversion", "spec_version"}, {"type", "type"}};
    size_t n = strlen(name);
    size_t i;
    char q[KE_QUOTE_CAP];

    for (i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
            break;
    if (n == 0 || n > NAME_MAX_LEN || i < n)
        return ke_error_set(err, KE_EINVAL,
                            "attribute name %s: must be 1 to %d characters of [a-z0-9]",
                            ke_quote(q, name), NAME_MAX_LEN);
    for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(name, fields[i][0]) == 0)
            return ke_error_set(err, KE_EINVAL,
                                "attribute \"%s\": must not appear in attributes; it travels in "
                                "the %s field",
                                name, fields[i][1]);
    if (strcmp(name, "data") == 0)
        return ke_error_set(err, KE_EINVAL,
                            "attribute \"data\": the name is reserved for the event's data");
    return KE_OK;
}

/* qsort order of attribute entries: by name, bytewise. */
static int entry_cmp(const void *a, const void *b)
{
    const pb_entry *const *x = a;
    const pb_entry *const *y = b;

    return strcmp((*x)->key, (*y)->key);
}

/* Checks one required attribute: present (non-empty) and UTF-8. */
static int check_required(const char *name, const char *value, ke_error *err)
{
    int rc;

    if (value == NULL || value[0] == '\0')
        return ke_error_set(err, KE_EINVAL, "required attribute \"%s\" is missing or empty", name);
    rc = check_text(value, name, err);
    if (rc == KE_OK && strcmp(name, "source") == 0)
        rc = check_uri(value, false, name, RULE_URI_REF, err);
    return rc;
}

/* Validates ev->pb (serialized as wire[0..wire_len)) against every rule and
 * fills in the rest of ev. Returns KE_OK, KE_EINVAL naming the attribute and
 * rule, or KE_ENOMEM; ev->attrs is for the caller to free either way. */
static int validate_event(ke_event *ev, const uint8_t *wire, size_t wire_len, ke_error *err)
{
    const pb_event *pb = ev->pb;
    char q[KE_QUOTE_CAP];
    size_t i;
    int rc;

    rc = check_wire_nul(wire, wire_len, err);
    if (rc != KE_OK)
        return rc;
    rc = check_required("id", pb->id, err);
    if (rc == KE_OK)
        rc = check_required("source", pb->source, err);
    if (rc == KE_OK)
        rc = check_required("specversion", pb->spec_version, err);
    if (rc == KE_OK)
        rc = check_required("type", pb->type, err);
    if (rc != KE_OK)
        return rc;
    if (strcmp(pb->spec_version, "1.0") != 0)
        return ke_error_set(err, KE_EINVAL,
                            "attribute \"specversion\": got %s, but only \"1.0\" is supported",
                            ke_quote(q, pb->spec_version));

    if (pb->n_attributes > KE_EVENT_MAX_ATTRIBUTES)
        return ke_error_set(err, KE_EINVAL, "event has %zu attributes, at most %d are allowed",
                            pb->n_attributes, KE_EVENT_MAX_ATTRIBUTES);
    if (pb->n_attributes > 0) {
        ev->attrs = calloc(pb->n_attributes, sizeof *ev->attrs);
        if (ev->attrs == NULL)
            return ke_error_set(err, KE_ENOMEM, "out of memory decoding an event");
    }
    for (i = 0; i < pb->n_attributes; i++) {
        const pb_entry *e = pb->attributes[i];
        rc = check_name(e->key, err);
        if (rc != KE_OK)
            return rc;
        if (e->value == NULL || e->value->attr_case == ATTR(_NOT_SET))
            return ke_error_set(
                err, KE_EINVAL,
                "attribute \"%s\": has no value (one of ce_boolean, ce_integer, "
                "ce_string, ce_bytes, ce_uri, ce_uri_ref, ce_timestamp must be set)",
                e->key);
        rc = check_value(ev, e->key, e->value, err);
        if (rc != KE_OK)
            return rc;
        ev->attrs[ev->n_attrs++] = e;
    }
    if (ev->n_attrs > 1)
        qsort(ev->attrs, ev->n_attrs, sizeof *ev->attrs, entry_cmp);
    for (i = 1; i < ev->n_attrs; i++)
        if (strcmp(ev->attrs[i - 1]->key, ev->attrs[i]->key) == 0)
            return ke_error_set(err, KE_EINVAL, "attribute \"%s\": appears more than once",
                                ev->attrs[i]->key);

    if (pb->data_case == DATA(TEXT_DATA)) {
        rc = check_utf8(pb->text_data, "data \"text_data\"", err);
        if (rc != KE_OK)
            return rc;
    }
    return ke_event_check_data(ev, err); /* event_json.c: JSON data, strictly */
}

/* ---- public: decoding ---- */

int ke_event_decode(const uint8_t *buf, size_t len, ke_event **out, ke_error *err)
{
    ke_event *ev = NULL;
    int rc = KE_OK;

    *out = NULL;
    if (buf == NULL && len > 0)
        return ke_error_set(err, KE_EINVAL, "malformed CloudEvent: no bytes");
    ev = calloc(1, sizeof *ev);
    if (ev == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "out of memory decoding an event");
        goto out;
    }
    ev->pb = io__cloudevents__v1__cloud_event__unpack(NULL, len, buf);
    if (ev->pb == NULL) {
        rc = ke_error_set(err, KE_EINVAL,
                          "malformed CloudEvent: not a valid protobuf encoding of "
                          "io.cloudevents.v1.CloudEvent");
        goto out;
    }
    rc = validate_event(ev, buf, len, err);
out:
    if (rc != KE_OK) {
        ke_event_free(ev);
        return rc;
    }
    *out = ev;
    return KE_OK;
}

void ke_event_free(ke_event *ev)
{
    if (ev == NULL)
        return;
    if (!ev->in_batch && ev->pb != NULL)
        io__cloudevents__v1__cloud_event__free_unpacked(ev->pb, NULL);
    free(ev->attrs);
    free(ev);
}

const char *ke_event_id(const ke_event *ev)
{
    return ev->pb->id;
}

const char *ke_event_source(const ke_event *ev)
{
    return ev->pb->source;
}

const char *ke_event_type(const ke_event *ev)
{
    return ev->pb->type;
}

/* The serialized events of a batch, in order: the payloads of its field 1.
 * On success *slices (n entries, caller frees) match pb->events one to one. */
struct wire_slice {
    const uint8_t *buf; /* a serialized CloudEvent inside the batch's bytes */
    size_t len;         /* its length */
};

/* Finds each event's bytes in a serialized batch (needed by the NUL scan).
 * Returns KE_OK, KE_EINVAL when the bytes disagree with the unpacked batch,
 * or KE_ENOMEM. */
static int batch_slices(const uint8_t *buf, size_t len, size_t n, struct wire_slice **out,
                        ke_error *err)
{
    const uint8_t *p = buf;
    const uint8_t *end = buf + len;
    struct wire_slice *s = NULL;
    ke_wire_field f;
    size_t i = 0;

    *out = NULL;
    if (n == 0)
        return KE_OK;
    s = calloc(n, sizeof *s);
    if (s == NULL)
        return ke_error_set(err, KE_ENOMEM, "out of memory decoding a batch");
    while (p < end) {
        if (!ke_wire_next(&p, end, &f))
            break;
        if (f.num != 1 || f.type != 2)
            continue;
        if (i == n)
            break;
        s[i].buf = f.buf;
        s[i].len = f.len;
        i++;
    }
    if (p != end || i != n) {
        free(s);
        return ke_error_set(err, KE_EINVAL,
                            "malformed CloudEventBatch: not a valid protobuf encoding of "
                            "io.cloudevents.v1.CloudEventBatch");
    }
    *out = s;
    return KE_OK;
}

int ke_batch_decode(const uint8_t *buf, size_t len, ke_batch **out, ke_error *err)
{
    ke_batch *b = NULL;
    struct wire_slice *slices = NULL;
    ke_error one;
    size_t i;
    int rc = KE_OK;

    *out = NULL;
    if (buf == NULL && len > 0)
        return ke_error_set(err, KE_EINVAL, "malformed CloudEventBatch: no bytes");
    b = calloc(1, sizeof *b);
    if (b == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "out of memory decoding a batch");
        goto out;
    }
    b->pb = io__cloudevents__v1__cloud_event_batch__unpack(NULL, len, buf);
    if (b->pb == NULL) {
        rc = ke_error_set(err, KE_EINVAL,
                          "malformed CloudEventBatch: not a valid protobuf encoding of "
                          "io.cloudevents.v1.CloudEventBatch");
        goto out;
    }
    if (b->pb->n_events > KE_BATCH_MAX_EVENTS) {
        rc = ke_error_set(err, KE_EINVAL, "batch holds %zu events, at most %d are allowed",
                          b->pb->n_events, KE_BATCH_MAX_EVENTS);
        goto out;
    }
    rc = batch_slices(buf, len, b->pb->n_events, &slices, err);
    if (rc != KE_OK)
        goto out;
    if (b->pb->n_events > 0) {
        b->events = calloc(b->pb->n_events, sizeof *b->events);
        if (b->events == NULL) {
            rc = ke_error_set(err, KE_ENOMEM, "out of memory decoding a batch");
            goto out;
        }
    }
    for (i = 0; i < b->pb->n_events; i++) {
        ke_event *ev = &b->events[i];
        const char *first = b->pb->events[0]->spec_version; /* valid: checked at i == 0 */

        ev->pb = b->pb->events[i];
        ev->in_batch = true;
        b->n_events++;
        if (i > 0 && strcmp(ev->pb->spec_version, first) != 0) {
            char q1[KE_QUOTE_CAP], q2[KE_QUOTE_CAP];
            rc = ke_error_set(err, KE_EINVAL,
                              "events[%zu]: spec_version %s differs from the "
                              "batch's %s",
                              i, ke_quote(q1, ev->pb->spec_version), ke_quote(q2, first));
            goto out;
        }
        ke_error_clear(&one);
        rc = validate_event(ev, slices[i].buf, slices[i].len, &one);
        if (rc != KE_OK) {
            ke_error_set(err, rc, "events[%zu]: %s", i, one.msg);
            goto out;
        }
    }
out:
    free(slices);
    if (rc != KE_OK) {
        ke_batch_free(b);
        return rc;
    }
    *out = b;
    return KE_OK;
}

size_t ke_batch_count(const ke_batch *b)
{
    return b->n_events;
}

const ke_event *ke_batch_event(const ke_batch *b, size_t i)
{
    return i < b->n_events ? &b->events[i] : NULL;
}

void ke_batch_free(ke_batch *b)
{
    size_t i;

    if (b == NULL)
        return;
    for (i = 0; i < b->n_events; i++)
        free(b->events[i].attrs);
    free(b->events);
    if (b->pb != NULL)
        io__cloudevents__v1__cloud_event_batch__free_unpacked(b->pb, NULL);
    free(b);
}
