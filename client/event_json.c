/* event_json.c -- the CloudEvents JSON format: reading events and batches into kec_event and
 * writing an event back (the project's one parser of the format; the CLI and the shim share it).
 *
 * The reader checks only what the format itself says (member types, null as absent, time and
 * base64 syntax, integral extension numbers); whether the event is a valid CloudEvent (required
 * attributes, attribute names, media types) is the server's to judge, so that rule lives once. */
#include "kedroevents.h"

#include "internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Members of one event object. Not a CloudEvents rule (the server allows far fewer attributes):
 * it bounds the reader's work, as each attribute set looks its name up among the others. */
#define EVENT_MAX_MEMBERS 1000

/* ---- shared by reader and writer ---- */

int kec_media_type_is_json(const char *s)
{
    size_t n, type_len, sub_len;
    const char *slash, *sub;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strcspn(s, ";");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    slash = memchr(s, '/', n);
    if (slash == NULL)
        return 0;
    type_len = (size_t)(slash - s);
    sub = slash + 1;
    sub_len = n - type_len - 1;
    if (sub_len >= 5 && strncasecmp(sub + sub_len - 5, "+json", 5) == 0)
        return 1;
    if (sub_len != 4 || strncasecmp(sub, "json", 4) != 0)
        return 0;
    return (type_len == 11 && strncasecmp(s, "application", 11) == 0) ||
           (type_len == 4 && strncasecmp(s, "text", 4) == 0);
}

/* ---- reading ---- */

/* Line and column (1-based) of offset off in text, for messages. */
static void line_col(const char *text, size_t off, size_t *line, size_t *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    for (i = 0; i < off; i++, (*col)++)
        if (text[i] == '\n') {
            (*line)++;
            *col = 0;
        }
}

/* KEC_EFORMAT for a fault kec_json_check found in text: the reason and where. Past the nesting
 * limit it names KEC_JSON_MAX_DEPTH, the data's limit (the event and the batch around the data
 * are the only other levels a valid document has). */
static int json_fault(const char *text, int rc, const kec_json_fault *fault, kec_error *err)
{
    size_t line, col;

    line_col(text, fault->offset, &line, &col);
    if (rc == KEC_JSON_EDEPTH)
        return kec_error_set(err, KEC_EFORMAT,
                             "data nested deeper than the limit of %d at offset %zu (line %zu, "
                             "column %zu)",
                             KEC_JSON_MAX_DEPTH, fault->offset, line, col);
    return kec_error_set(err, KEC_EFORMAT, "not JSON: %s at offset %zu (line %zu, column %zu)",
                         fault->reason, fault->offset, line, col);
}

/* Reads the whole text strictly (kec_json_parse: the data's nesting limit plus the
 * envelope), bounded by KEC_JSON_MAX_BYTES, and parses it into *out (cJSON_Delete it) for its
 * structure; refuses NUL bytes. KEC_EFORMAT says where. "\u0000" escapes are the caller's to
 * refuse outside data taken as its original text. */
static int parse_text(const char *text, size_t len, cJSON **out, kec_error *err)
{
    kec_json_fault fault;
    const char *nul;
    int rc;

    *out = NULL;
    if (text == NULL && len > 0)
        return kec_error_set(err, KEC_EINVAL, "no JSON text given");
    if (len > KEC_JSON_MAX_BYTES)
        return kec_error_set(err, KEC_EFORMAT, "JSON text of %zu bytes is over the limit of %u",
                             len, KEC_JSON_MAX_BYTES);
    if (len == 0)
        return kec_error_set(err, KEC_EFORMAT, "the JSON text is empty");
    nul = memchr(text, '\0', len);
    if (nul != NULL)
        return kec_error_set(err, KEC_EFORMAT, "JSON text holds a NUL byte at offset %zu",
                             (size_t)(nul - text));
    rc = kec_json_parse(text, len, KEC_JSON_MAX_DEPTH + KEC_JSON_ENVELOPE_DEPTH, 0, out, &fault);
    if (rc == KEC_JSON_ENOMEM)
        return kec_error_set(err, KEC_ENOMEM, "%s", fault.reason);
    if (rc != KEC_JSON_OK)
        return json_fault(text, rc, &fault, err);
    return KEC_OK;
}

/* qsort's comparison of two names (const char *). */
static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Refuses an object with more than EVENT_MAX_MEMBERS members or with two of one name (cJSON
 * would quietly read the first, other readers the last). */
static int check_members(const cJSON *obj, kec_error *err)
{
    const char *names[EVENT_MAX_MEMBERS];
    const cJSON *m;
    size_t n = 0, i;

    cJSON_ArrayForEach(m, obj)
    {
        if (n == EVENT_MAX_MEMBERS)
            return kec_error_set(err, KEC_EFORMAT,
                                 "more than %d members in one event (the reader's limit)",
                                 EVENT_MAX_MEMBERS);
        names[n++] = m->string;
    }
    qsort(names, n, sizeof names[0], name_cmp);
    for (i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return kec_error_set(err, KEC_EFORMAT, "member \"%s\" appears more than once",
                                 names[i]);
    return KEC_OK;
}

/* A required attribute: its member and how to set it. */
typedef struct required_member {
    const char *name;                                   /* the JSON member */
    int (*set)(kec_event *, const char *, kec_error *); /* its kec_event setter */
} required_member;

static const required_member required_members[] = {
    {"specversion", kec_event_set_spec_version},
    {"id", kec_event_set_id},
    {"source", kec_event_set_source},
    {"type", kec_event_set_type},
};

#define N_REQUIRED (sizeof required_members / sizeof required_members[0])

/* Sets the extension m (a boolean, an integer within int32, or a string). */
static int read_extension(kec_event *ev, const cJSON *m, kec_error *err)
{
    const char *name = m->string;
    char num[KEC_NUMBER_TEXT_MAX];

    if (name[0] == '\0')
        return kec_error_set(err, KEC_EFORMAT, "a member with an empty name is not an attribute");
    if (cJSON_IsBool(m))
        return kec_event_set_boolean(ev, name, cJSON_IsTrue(m), err);
    if (cJSON_IsString(m))
        return kec_event_set_string(ev, name, m->valuestring, err);
    if (!cJSON_IsNumber(m))
        return kec_error_set(err, KEC_EFORMAT,
                             "extension \"%s\": %s is not an extension value (a boolean, an "
                             "integer or a string)",
                             name, kec_json_kind(m));
    if (m->valuedouble == floor(m->valuedouble) && m->valuedouble >= INT32_MIN &&
        m->valuedouble <= INT32_MAX)
        return kec_event_set_integer(ev, name, (int32_t)m->valuedouble, err);
    kec_format_number(num, m->valuedouble);
    return kec_error_set(err, KEC_EFORMAT, "extension \"%s\": %s is not an integer within int32",
                         name, num);
}

/* Sets the attribute m holds, or keeps data_base64 in *data64 for later (it depends on
 * datacontenttype, which may come after it). A null member is absent. */
static int read_member(kec_event *ev, const cJSON *m, const cJSON **data64, kec_error *err)
{
    const char *name = m->string;
    kec_error inner;
    kec_time t;
    size_t i;

    if (cJSON_IsNull(m))
        return KEC_OK;
    if (strcmp(name, "data_base64") == 0) {
        *data64 = m;
        return KEC_OK;
    }
    for (i = 0; i < N_REQUIRED; i++)
        if (strcmp(name, required_members[i].name) == 0)
            break;
    if (i == N_REQUIRED && strcmp(name, "datacontenttype") != 0 && strcmp(name, "subject") != 0 &&
        strcmp(name, "dataschema") != 0 && strcmp(name, "time") != 0)
        return read_extension(ev, m, err);
    if (!cJSON_IsString(m))
        return kec_error_set(err, KEC_EFORMAT, "member \"%s\" must be a string, not %s", name,
                             kec_json_kind(m));
    if (i < N_REQUIRED)
        return required_members[i].set(ev, m->valuestring, err);
    if (strcmp(name, "dataschema") == 0)
        return kec_event_set_uri(ev, name, m->valuestring, err);
    if (strcmp(name, "time") != 0)
        return kec_event_set_string(ev, name, m->valuestring, err);
    kec_error_clear(&inner);
    if (kec_time_parse(m->valuestring, &t, &inner) != KEC_OK)
        return kec_error_set(err, KEC_EFORMAT, "member \"time\": %s", inner.msg);
    return kec_event_set_time(ev, name, t, err);
}

/* 1 when the member data (not NULL) is taken as its original text: JSON data, i.e. anything
 * but a string under a datacontenttype that is not JSON (that string is the text itself). */
static int data_is_raw(const kec_event *ev, const cJSON *data)
{
    const kec_attr *ct = kec_event_attr(ev, "datacontenttype");

    return ct == NULL || ct->text == NULL || kec_media_type_is_json(ct->text) ||
           !cJSON_IsString(data);
}

/* Sets the event's data from data_base64 (binary) or data (per kec_event_from_json): JSON data
 * as the original text of its span in text, validated but never re-printed, so every number
 * arrives as sent. */
static int read_data(kec_event *ev, const char *text, const cJSON *data, kec_json_span span,
                     const cJSON *data64, kec_error *err)
{
    kec_json_fault fault;
    kec_error inner;
    uint8_t *bytes = NULL;
    size_t n;
    int rc;

    if (data != NULL && data64 != NULL)
        return kec_error_set(err, KEC_EFORMAT,
                             "members \"data\" and \"data_base64\" are both set; an event "
                             "carries one");
    if (data64 != NULL) {
        if (!cJSON_IsString(data64))
            return kec_error_set(err, KEC_EFORMAT,
                                 "member \"data_base64\" must be a string of base64, not %s",
                                 kec_json_kind(data64));
        kec_error_clear(&inner);
        rc =
            kec_base64_decode(data64->valuestring, strlen(data64->valuestring), &bytes, &n, &inner);
        if (rc != KEC_OK)
            return kec_error_set(err, rc, "member \"data_base64\": %s", inner.msg);
        rc = kec_event_set_binary_data(ev, bytes, n, err);
        free(bytes);
        return rc;
    }
    if (data == NULL)
        return KEC_OK;
    if (!data_is_raw(ev, data))
        return kec_event_set_text_data(ev, data->valuestring, strlen(data->valuestring), err);
    /* the data's own nesting: the same limit in every mode, however deep the event sits */
    rc = kec_json_check(text + span.start, span.end - span.start, &fault);
    if (rc != KEC_JSON_OK) {
        fault.offset += span.start;
        return json_fault(text, rc, &fault, err);
    }
    return kec_event_set_text_data(ev, text + span.start, span.end - span.start, err);
}

/* Reads the event object obj, whose original text is span of text, into a new *out. The
 * member "data" is found by cJSON's member order (a name written "d\u0061ta" is data too). */
static int read_event(const cJSON *obj, const char *text, kec_json_span span, kec_event **out,
                      kec_error *err)
{
    static const kec_json_span none = {0, 0};
    const cJSON *m, *data = NULL, *data64 = NULL;
    kec_json_span *spans = NULL, dspan = none;
    kec_event *ev = NULL;
    size_t n, k, nul;
    int rc;

    *out = NULL;
    if (!cJSON_IsObject(obj))
        return kec_error_set(err, KEC_EFORMAT, "not a JSON object");
    rc = check_members(obj, err);
    if (rc != KEC_OK)
        return rc;
    n = (size_t)cJSON_GetArraySize(obj);
    spans = malloc((n > 0 ? n : 1) * sizeof *spans);
    if (spans == NULL)
        return kec_error_set(err, KEC_ENOMEM, "out of memory reading an event");
    if (kec_json_children(text, span, spans, n) != n) {
        rc = kec_error_set(err, KEC_EFORMAT, "the members of an event could not be located");
        goto out;
    }
    /* a missing required member stays "" (no generated id, no default specversion): the
     * server's validation names it */
    rc = kec_event_new("-", NULL, NULL, &ev, err);
    if (rc == KEC_OK)
        rc = kec_event_set_id(ev, NULL, err);
    if (rc == KEC_OK)
        rc = kec_event_set_spec_version(ev, NULL, err);
    for (m = obj->child, k = 0; rc == KEC_OK && m != NULL; m = m->next, k++) {
        if (!cJSON_IsNull(m) && strcmp(m->string, "data") == 0) {
            data = m;
            dspan = spans[k];
        } else {
            rc = read_member(ev, m, &data64, err);
        }
    }
    if (rc != KEC_OK)
        goto out;
    /* "\u0000" may stay in data taken as text (it travels as those six characters); anywhere
     * else cJSON would end a C string there */
    nul = kec_json_nul_escape(text, span, data != NULL && data_is_raw(ev, data) ? dspan : none);
    if (nul < span.end) {
        rc = kec_error_set(err, KEC_EFORMAT,
                           "JSON text holds \\u0000 at offset %zu: CloudEvent strings and text "
                           "data cannot carry NUL",
                           nul);
        goto out;
    }
    rc = read_data(ev, text, data, dspan, data64, err);
out:
    free(spans);
    if (rc != KEC_OK) {
        kec_event_free(ev);
        return rc;
    }
    *out = ev;
    return KEC_OK;
}

/* Reads the batch array arr, whose text is span of text, into a new array *events of *count
 * new events. */
static int read_batch(const cJSON *arr, const char *text, kec_json_span span, kec_event ***events,
                      size_t *count, kec_error *err)
{
    kec_event **evs = NULL;
    kec_json_span *spans = NULL;
    const cJSON *m;
    kec_error inner;
    size_t n = 0, i = 0;
    int rc = KEC_OK;

    *events = NULL;
    *count = 0;
    for (m = arr->child; m != NULL; m = m->next)
        if (++n > KEC_BATCH_MAX_EVENTS)
            return kec_error_set(err, KEC_EFORMAT,
                                 "a batch of more than %d events is over the limit",
                                 KEC_BATCH_MAX_EVENTS);
    evs = calloc(n > 0 ? n : 1, sizeof *evs);
    spans = malloc((n > 0 ? n : 1) * sizeof *spans);
    if (evs == NULL || spans == NULL) {
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory reading a batch");
        goto out;
    }
    if (kec_json_children(text, span, spans, n) != n) {
        rc = kec_error_set(err, KEC_EFORMAT, "the events of a batch could not be located");
        goto out;
    }
    for (m = arr->child; m != NULL; m = m->next, i++) {
        kec_error_clear(&inner);
        rc = read_event(m, text, spans[i], &evs[i], &inner);
        if (rc != KEC_OK) {
            kec_error_set(err, rc, "batch[%zu]: %s", i, inner.msg);
            goto out;
        }
    }
out:
    free(spans);
    if (rc != KEC_OK) {
        kec_events_free(evs, i);
        return rc;
    }
    *events = evs;
    *count = n;
    return KEC_OK;
}

int kec_event_from_json(const char *text, size_t len, kec_event **out, kec_error *err)
{
    cJSON *doc = NULL;
    int rc;

    *out = NULL;
    rc = parse_text(text, len, &doc, err);
    if (rc == KEC_OK && !cJSON_IsObject(doc))
        rc = kec_error_set(err, KEC_EFORMAT, "the JSON text is %s, not an object (an event)",
                           kec_json_kind(doc));
    if (rc == KEC_OK)
        rc = read_event(doc, text, kec_json_trim(text, len), out, err);
    cJSON_Delete(doc);
    return rc;
}

int kec_batch_from_json(const char *text, size_t len, kec_event ***events, size_t *count,
                        kec_error *err)
{
    cJSON *doc = NULL;
    int rc;

    *events = NULL;
    *count = 0;
    rc = parse_text(text, len, &doc, err);
    if (rc == KEC_OK && !cJSON_IsArray(doc))
        rc = kec_error_set(err, KEC_EFORMAT, "the JSON text is %s, not an array (a batch)",
                           kec_json_kind(doc));
    if (rc == KEC_OK)
        rc = read_batch(doc, text, kec_json_trim(text, len), events, count, err);
    cJSON_Delete(doc);
    return rc;
}

int kec_json_read(const char *text, size_t len, kec_event ***events, size_t *count, int *is_batch,
                  kec_error *err)
{
    cJSON *doc = NULL;
    kec_event *ev = NULL;
    int rc;

    *events = NULL;
    *count = 0;
    *is_batch = 0;
    rc = parse_text(text, len, &doc, err);
    if (rc != KEC_OK)
        goto out;
    if (cJSON_IsArray(doc)) {
        rc = read_batch(doc, text, kec_json_trim(text, len), events, count, err);
        *is_batch = rc == KEC_OK;
        goto out;
    }
    if (!cJSON_IsObject(doc)) {
        rc = kec_error_set(err, KEC_EFORMAT,
                           "the JSON text is %s, neither an object (an event) nor an array (a "
                           "batch)",
                           kec_json_kind(doc));
        goto out;
    }
    rc = read_event(doc, text, kec_json_trim(text, len), &ev, err);
    if (rc != KEC_OK)
        goto out;
    *events = malloc(sizeof **events);
    if (*events == NULL) {
        kec_event_free(ev);
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory reading an event");
        goto out;
    }
    (*events)[0] = ev;
    *count = 1;
out:
    cJSON_Delete(doc);
    return rc;
}

/* ---- writing ---- */

/* The members the format itself defines, which no attribute may take as its name. */
static const char *const format_members[] = {"specversion", "id",   "source",
                                             "type",        "data", "data_base64"};

/* The optional attributes the format writes first, in this order. */
static const char *const core_optional[] = {"datacontenttype", "dataschema", "subject", "time"};

#define N_FORMAT_MEMBERS (sizeof format_members / sizeof format_members[0])
#define N_CORE_OPTIONAL (sizeof core_optional / sizeof core_optional[0])

/* 1 when name is in the list names of n. */
static int listed(const char *name, const char *const *names, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* a's value as JSON (per kec_event_to_json), or NULL when out of memory. */
static cJSON *attr_value(const kec_attr *a)
{
    char buf[KEC_TIME_TEXT_MAX], *b64;
    cJSON *v;

    switch (a->type) {
    case KEC_ATTR_BOOLEAN:
        return cJSON_CreateBool(a->boolean);
    case KEC_ATTR_INTEGER:
        return cJSON_CreateNumber(a->integer);
    case KEC_ATTR_BYTES:
        b64 = kec_base64_encode(a->bytes, a->len);
        v = b64 != NULL ? cJSON_CreateString(b64) : NULL;
        free(b64);
        return v;
    case KEC_ATTR_TIMESTAMP:
        return cJSON_CreateString(kec_time_format(a->time, buf));
    default: /* STRING, URI, URI_REF: kec_event_set_attr admits no other type */
        return cJSON_CreateString(a->text != NULL ? a->text : "");
    }
}

/* Adds value (taking it) to obj as member name; 0 when value is NULL or out of memory. */
static int add_member(cJSON *obj, const char *name, cJSON *value)
{
    if (value == NULL)
        return 0;
    if (!cJSON_AddItemToObject(obj, name, value)) {
        cJSON_Delete(value);
        return 0;
    }
    return 1;
}

/* Adds "data" or "data_base64" for ev's data (per kec_event_to_json): text data that is JSON
 * under a JSON or absent datacontenttype goes as its own text (trimmed), never re-printed.
 * KEC_ENOMEM without a message (the caller words it), or KEC_EFORMAT past the nesting limit. */
static int add_data(cJSON *root, const kec_event *ev, kec_error *err)
{
    const kec_attr *ct = kec_event_attr(ev, "datacontenttype");
    kec_data_kind kind;
    size_t len;
    const char *data = kec_event_data(ev, &kind, &len, NULL);
    kec_json_fault fault;
    kec_json_span sp;
    cJSON *v = NULL;
    char *b64, *raw;
    int rc = KEC_JSON_ESYNTAX;

    if (kind == KEC_DATA_NONE)
        return KEC_OK;
    if (kind == KEC_DATA_TEXT) {
        if (ct == NULL || (ct->text != NULL && kec_media_type_is_json(ct->text)))
            rc = kec_json_check(data, len, &fault);
        if (rc == KEC_JSON_EDEPTH)
            return kec_error_set(err, KEC_EFORMAT, "data: %s at offset %zu", fault.reason,
                                 fault.offset);
        if (rc == KEC_JSON_OK) {
            sp = kec_json_trim(data, len);
            raw = malloc(sp.end - sp.start + 1);
            if (raw != NULL) {
                memcpy(raw, data + sp.start, sp.end - sp.start);
                raw[sp.end - sp.start] = '\0';
                v = cJSON_CreateRaw(raw);
                free(raw);
            }
        } else {
            v = cJSON_CreateString(data);
        }
        return add_member(root, "data", v) ? KEC_OK : KEC_ENOMEM;
    }
    b64 = kec_base64_encode(data, len);
    v = b64 != NULL ? cJSON_CreateString(b64) : NULL;
    free(b64);
    return add_member(root, "data_base64", v) ? KEC_OK : KEC_ENOMEM;
}

/* qsort's comparison of two attributes (const kec_attr *) by name. */
static int attr_cmp(const void *a, const void *b)
{
    return strcmp((*(const kec_attr *const *)a)->name, (*(const kec_attr *const *)b)->name);
}

/* Adds the extensions (every attribute but the core optional ones) sorted by name. */
static int add_extensions(cJSON *root, const kec_event *ev, kec_error *err)
{
    size_t n, k = 0, i;
    const kec_attr *attrs = kec_event_attrs(ev, &n);
    const kec_attr **sorted = malloc((n > 0 ? n : 1) * sizeof *sorted);
    int rc = KEC_OK;

    if (sorted == NULL)
        return kec_error_set(err, KEC_ENOMEM, "out of memory writing an event");
    for (i = 0; i < n; i++) {
        if (listed(attrs[i].name, format_members, N_FORMAT_MEMBERS)) {
            rc = kec_error_set(err, KEC_EFORMAT,
                               "attribute \"%s\" cannot be written: the JSON format has a member "
                               "of that name",
                               attrs[i].name);
            goto out;
        }
        if (!listed(attrs[i].name, core_optional, N_CORE_OPTIONAL))
            sorted[k++] = &attrs[i];
    }
    qsort(sorted, k, sizeof *sorted, attr_cmp);
    for (i = 0; i < k; i++)
        if (!add_member(root, sorted[i]->name, attr_value(sorted[i]))) {
            rc = kec_error_set(err, KEC_ENOMEM, "out of memory writing an event");
            goto out;
        }
out:
    free(sorted);
    return rc;
}

/* Adds the required attributes that are set and the core optional ones present, in order. */
static int add_core(cJSON *root, const kec_event *ev)
{
    const char *required[] = {kec_event_spec_version(ev), kec_event_id(ev), kec_event_source(ev),
                              kec_event_type(ev)};
    const kec_attr *a;
    size_t i;

    for (i = 0; i < 4; i++)
        if (required[i][0] != '\0' &&
            !add_member(root, format_members[i], cJSON_CreateString(required[i])))
            return 0;
    for (i = 0; i < N_CORE_OPTIONAL; i++) {
        a = kec_event_attr(ev, core_optional[i]);
        if (a != NULL && !add_member(root, a->name, attr_value(a)))
            return 0;
    }
    return 1;
}

char *kec_event_to_json(const kec_event *ev, kec_error *err)
{
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;
    int rc = KEC_OK;

    if (root == NULL || !add_core(root, ev)) {
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory writing an event");
        goto out;
    }
    rc = add_data(root, ev, err);
    if (rc == KEC_ENOMEM)
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory writing an event");
    if (rc == KEC_OK)
        rc = add_extensions(root, ev, err);
    if (rc != KEC_OK)
        goto out;
    text = kec_json_print(root);
    if (text == NULL)
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory writing an event");
out:
    cJSON_Delete(root);
    return rc == KEC_OK ? text : NULL;
}
