/* event.c -- kec_event: a CloudEvent's attributes and data, built by the caller or the JSON
 * reader and encoded by codec.c. */
#include "kedroevents.h"

#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

struct kec_event {
    char *id;           /* required attributes, never NULL */
    char *source;       /* " */
    char *type;         /* " */
    char *spec_version; /* " */
    kec_attr *attrs;    /* optional and extension attributes; names and values owned */
    size_t n_attrs;     /* used entries of attrs */
    size_t cap_attrs;   /* allocated entries of attrs */
    kec_data_kind kind; /* which data, if any */
    char *data;         /* the data's bytes, NUL-terminated past data_len; NULL with none */
    size_t data_len;    /* length of data */
    char *type_url;     /* KEC_DATA_PROTO: the Any's type URL */
};

static int nomem(kec_error *err)
{
    return kec_error_set(err, KEC_ENOMEM, "out of memory building an event");
}

/* Replaces *slot with a copy of value (NULL: ""). */
static int replace(char **slot, const char *value, kec_error *err)
{
    char *copy = kec_strdup0(value);

    if (copy == NULL)
        return nomem(err);
    free(*slot);
    *slot = copy;
    return KEC_OK;
}

int kec_event_new(const char *id, const char *source, const char *type, kec_event **out,
                  kec_error *err)
{
    kec_event *ev = calloc(1, sizeof *ev);
    char uuid[37];

    *out = NULL;
    if (ev == NULL)
        return nomem(err);
    if (id == NULL || *id == '\0') {
        uuid_t u;

        uuid_generate_random(u);
        uuid_unparse_lower(u, uuid);
        id = uuid;
    }
    if (replace(&ev->id, id, err) != KEC_OK || replace(&ev->source, source, err) != KEC_OK ||
        replace(&ev->type, type, err) != KEC_OK ||
        replace(&ev->spec_version, "1.0", err) != KEC_OK) {
        kec_event_free(ev);
        return KEC_ENOMEM;
    }
    *out = ev;
    return KEC_OK;
}

static void attr_release(kec_attr *a)
{
    free((char *)a->name);
    free((char *)a->text);
    free((uint8_t *)a->bytes);
}

void kec_event_free(kec_event *ev)
{
    size_t i;

    if (ev == NULL)
        return;
    free(ev->id);
    free(ev->source);
    free(ev->type);
    free(ev->spec_version);
    for (i = 0; i < ev->n_attrs; i++)
        attr_release(&ev->attrs[i]);
    free(ev->attrs);
    free(ev->data);
    free(ev->type_url);
    free(ev);
}

int kec_event_clone(const kec_event *ev, kec_event **out, kec_error *err)
{
    kec_event *c = NULL;
    size_t i;
    int rc;

    *out = NULL;
    rc = kec_event_new(ev->id, ev->source, ev->type, &c, err);
    if (rc == KEC_OK)
        rc = kec_event_set_spec_version(c, ev->spec_version, err);
    for (i = 0; rc == KEC_OK && i < ev->n_attrs; i++)
        rc = kec_event_set_attr(c, &ev->attrs[i], err);
    if (rc == KEC_OK && ev->kind == KEC_DATA_TEXT)
        rc = kec_event_set_text_data(c, ev->data, ev->data_len, err);
    else if (rc == KEC_OK && ev->kind == KEC_DATA_BINARY)
        rc = kec_event_set_binary_data(c, ev->data, ev->data_len, err);
    else if (rc == KEC_OK && ev->kind == KEC_DATA_PROTO)
        rc = kec_event_set_proto_data(c, ev->type_url, ev->data, ev->data_len, err);
    if (rc != KEC_OK) {
        kec_event_free(c);
        return rc;
    }
    *out = c;
    return KEC_OK;
}

const char *kec_event_id(const kec_event *ev)
{
    return ev->id;
}

const char *kec_event_source(const kec_event *ev)
{
    return ev->source;
}

const char *kec_event_type(const kec_event *ev)
{
    return ev->type;
}

const char *kec_event_spec_version(const kec_event *ev)
{
    return ev->spec_version;
}

int kec_event_set_id(kec_event *ev, const char *id, kec_error *err)
{
    return replace(&ev->id, id, err);
}

int kec_event_set_source(kec_event *ev, const char *source, kec_error *err)
{
    return replace(&ev->source, source, err);
}

int kec_event_set_type(kec_event *ev, const char *type, kec_error *err)
{
    return replace(&ev->type, type, err);
}

int kec_event_set_spec_version(kec_event *ev, const char *spec_version, kec_error *err)
{
    return replace(&ev->spec_version, spec_version, err);
}

static kec_attr *find(const kec_event *ev, const char *name)
{
    size_t i;

    for (i = 0; i < ev->n_attrs; i++)
        if (strcmp(ev->attrs[i].name, name) == 0)
            return &ev->attrs[i];
    return NULL;
}

/* A copy of a's name and of the value its type selects, into *copy. */
static int attr_copy(const kec_attr *a, kec_attr *copy, kec_error *err)
{
    memset(copy, 0, sizeof *copy);
    copy->type = a->type;
    switch (a->type) {
    case KEC_ATTR_BOOLEAN:
        copy->boolean = a->boolean != 0;
        break;
    case KEC_ATTR_INTEGER:
        copy->integer = a->integer;
        break;
    case KEC_ATTR_STRING:
    case KEC_ATTR_URI:
    case KEC_ATTR_URI_REF:
        if (a->text == NULL)
            return kec_error_set(err, KEC_EINVAL, "attribute \"%s\" has no text value", a->name);
        if ((copy->text = strdup(a->text)) == NULL)
            return nomem(err);
        break;
    case KEC_ATTR_BYTES:
        /* one spare byte, so an empty value still owns a non-NULL pointer */
        if ((copy->bytes = malloc(a->len + 1)) == NULL)
            return nomem(err);
        if (a->len > 0)
            memcpy((uint8_t *)copy->bytes, a->bytes, a->len);
        copy->len = a->len;
        break;
    case KEC_ATTR_TIMESTAMP:
        copy->time = a->time;
        copy->time.set = 1;
        break;
    default:
        return kec_error_set(err, KEC_EINVAL, "attribute \"%s\" has unknown type %d", a->name,
                             (int)a->type);
    }
    if ((copy->name = strdup(a->name)) == NULL) {
        attr_release(copy);
        return nomem(err);
    }
    return KEC_OK;
}

int kec_event_set_attr(kec_event *ev, const kec_attr *a, kec_error *err)
{
    kec_attr copy, *slot;
    int rc;

    if (a == NULL || a->name == NULL || a->name[0] == '\0')
        return kec_error_set(err, KEC_EINVAL, "an attribute needs a name");
    rc = attr_copy(a, &copy, err);
    if (rc != KEC_OK) {
        attr_release(&copy);
        return rc;
    }
    slot = find(ev, a->name);
    if (slot != NULL) {
        attr_release(slot);
        *slot = copy;
        return KEC_OK;
    }
    if (ev->n_attrs == ev->cap_attrs) {
        size_t cap = ev->cap_attrs ? ev->cap_attrs * 2 : 8;
        kec_attr *grown = realloc(ev->attrs, cap * sizeof *grown);

        if (grown == NULL) {
            attr_release(&copy);
            return nomem(err);
        }
        ev->attrs = grown;
        ev->cap_attrs = cap;
    }
    ev->attrs[ev->n_attrs++] = copy;
    return KEC_OK;
}

int kec_event_set_string(kec_event *ev, const char *name, const char *value, kec_error *err)
{
    kec_attr a = {.name = name, .type = KEC_ATTR_STRING, .text = value};

    return kec_event_set_attr(ev, &a, err);
}

int kec_event_set_boolean(kec_event *ev, const char *name, int value, kec_error *err)
{
    kec_attr a = {.name = name, .type = KEC_ATTR_BOOLEAN, .boolean = value};

    return kec_event_set_attr(ev, &a, err);
}

int kec_event_set_integer(kec_event *ev, const char *name, int32_t value, kec_error *err)
{
    kec_attr a = {.name = name, .type = KEC_ATTR_INTEGER, .integer = value};

    return kec_event_set_attr(ev, &a, err);
}

int kec_event_set_uri(kec_event *ev, const char *name, const char *value, kec_error *err)
{
    kec_attr a = {.name = name, .type = KEC_ATTR_URI, .text = value};

    return kec_event_set_attr(ev, &a, err);
}

int kec_event_set_uri_ref(kec_event *ev, const char *name, const char *value, kec_error *err)
{
    kec_attr a = {.name = name, .type = KEC_ATTR_URI_REF, .text = value};

    return kec_event_set_attr(ev, &a, err);
}

int kec_event_set_bytes(kec_event *ev, const char *name, const void *bytes, size_t len,
                        kec_error *err)
{
    kec_attr a = {.name = name, .type = KEC_ATTR_BYTES, .bytes = bytes, .len = len};

    return kec_event_set_attr(ev, &a, err);
}

int kec_event_set_time(kec_event *ev, const char *name, kec_time t, kec_error *err)
{
    kec_attr a = {.name = name, .type = KEC_ATTR_TIMESTAMP, .time = t};

    return kec_event_set_attr(ev, &a, err);
}

int kec_event_remove_attr(kec_event *ev, const char *name)
{
    kec_attr *a = find(ev, name);
    size_t i;

    if (a == NULL)
        return 0;
    i = (size_t)(a - ev->attrs);
    attr_release(a);
    memmove(a, a + 1, (ev->n_attrs - i - 1) * sizeof *a);
    ev->n_attrs--;
    return 1;
}

const kec_attr *kec_event_attr(const kec_event *ev, const char *name)
{
    return find(ev, name);
}

const kec_attr *kec_event_attrs(const kec_event *ev, size_t *count)
{
    *count = ev->n_attrs;
    return ev->attrs;
}

/* Replaces the data with len bytes (and a NUL after them) of kind. */
static int set_data(kec_event *ev, kec_data_kind kind, const void *bytes, size_t len,
                    const char *type_url, kec_error *err)
{
    char *copy, *url = NULL;

    if (len == SIZE_MAX || (copy = malloc(len + 1)) == NULL)
        return nomem(err);
    if (len > 0)
        memcpy(copy, bytes, len);
    copy[len] = '\0';
    if (kind == KEC_DATA_PROTO && (url = kec_strdup0(type_url)) == NULL) {
        free(copy);
        return nomem(err);
    }
    kec_event_clear_data(ev);
    ev->kind = kind;
    ev->data = copy;
    ev->data_len = len;
    ev->type_url = url;
    return KEC_OK;
}

int kec_event_set_text_data(kec_event *ev, const char *text, size_t len, kec_error *err)
{
    const char *nul = len > 0 ? memchr(text, '\0', len) : NULL;

    if (nul != NULL)
        return kec_error_set(err, KEC_EINVAL,
                             "text data holds a NUL byte at offset %zu; send it as binary data",
                             (size_t)(nul - text));
    return set_data(ev, KEC_DATA_TEXT, text, len, NULL, err);
}

int kec_event_set_binary_data(kec_event *ev, const void *bytes, size_t len, kec_error *err)
{
    return set_data(ev, KEC_DATA_BINARY, bytes, len, NULL, err);
}

int kec_event_set_proto_data(kec_event *ev, const char *type_url, const void *bytes, size_t len,
                             kec_error *err)
{
    return set_data(ev, KEC_DATA_PROTO, bytes, len, type_url, err);
}

void kec_event_clear_data(kec_event *ev)
{
    free(ev->data);
    free(ev->type_url);
    ev->data = NULL;
    ev->type_url = NULL;
    ev->data_len = 0;
    ev->kind = KEC_DATA_NONE;
}

const void *kec_event_data(const kec_event *ev, kec_data_kind *kind, size_t *len,
                           const char **type_url)
{
    *kind = ev->kind;
    *len = ev->data_len;
    if (type_url != NULL)
        *type_url = ev->type_url;
    return ev->data;
}

void kec_events_free(kec_event **events, size_t count)
{
    size_t i;

    if (events == NULL)
        return;
    for (i = 0; i < count; i++)
        kec_event_free(events[i]);
    free(events);
}
