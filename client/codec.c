/* codec.c -- the one module that sees nanopb types: kec_event to and from the CloudEvents
 * protobuf format, EventService requests to bytes and answers from them.
 *
 * Encoding points nanopb's structs (every field FT_POINTER) into the caller's data for the
 * length of one pb_encode, so nothing is copied but the scalars nanopb wants by pointer.
 * Proto3 leaves zero values off the wire: empty strings and zero scalars are given to nanopb
 * as NULL so the bytes match what protobuf-c and the other implementations write.
 *
 * Bytes fields (event data, ce_bytes attributes, Any.value) are callbacks holding a
 * kec_pb_bytes span (proto/nanopb.options says why): bytes_field writes them and, on decode,
 * points them at their bytes inside the received message, which outlives the decoded struct
 * in every caller here; so they can be as long as the message. */
#include "codec.h"

#include <pb_decode.h>
#include <pb_encode.h>
#include <stdlib.h>
#include <string.h>

#include "cloudevents/v1/cloudevents.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "internal.h"
#include "kedro/events/v1/events.pb.h"

typedef io_cloudevents_v1_CloudEvent pb_event;
typedef io_cloudevents_v1_CloudEvent_AttributesEntry pb_entry;
typedef io_cloudevents_v1_CloudEvent_CloudEventAttributeValue pb_value;
typedef google_protobuf_Timestamp pb_time;

/* The scalars and buffers nanopb takes by pointer for one event's attributes. */
typedef struct scratch {
    pb_entry *entries;       /* one per attribute */
    pb_value *values;        /* one per attribute */
    bool *bools;             /* KEC_ATTR_BOOLEAN values */
    pb_time *times;          /* KEC_ATTR_TIMESTAMP values */
    int64_t *seconds;        /* their seconds, when not 0 */
    google_protobuf_Any any; /* proto data */
    size_t n;                /* attributes: the length of the arrays above */
} scratch;

/* The empty span's bytes: a oneof member set to "" is still written, with a real pointer. */
static const uint8_t no_bytes[1];

static int nomem(kec_error *err, const char *what)
{
    return kec_error_set(err, KEC_ENOMEM, "out of memory encoding %s", what);
}

char *kec_codec_str(const char *s)
{
    return s == NULL || s[0] == '\0' ? NULL : (char *)s;
}

/* A span over len bytes at data (borrowed). */
static kec_pb_bytes span(const void *data, size_t len)
{
    kec_pb_bytes b = {{len > 0 ? data : no_bytes, len}, NULL};

    return b;
}

/* Reads a buffer whose state is its next unread byte: what lets bytes_field point a decoded
 * field at its bytes (nanopb's own buffer stream works alike, but does not say so). */
static bool read_buffer(pb_istream_t *is, pb_byte_t *buf, size_t count)
{
    const pb_byte_t *p = is->state;

    is->state = (void *)(p + count);
    if (buf != NULL)
        memcpy(buf, p, count);
    return true;
}

/* Every bytes field's callback (nanopb calls it through the *_callback functions below).
 * Encoding writes the span (a proto3 field that is not in a oneof only when not empty).
 * Decoding gets a substream over exactly the field's bytes, points the span at them and
 * sets the oneof's which_ member, which nanopb leaves to the callback. */
static bool bytes_field(pb_istream_t *is, pb_ostream_t *os, const pb_field_iter_t *field)
{
    kec_pb_bytes *b = field->pData;
    int oneof = PB_HTYPE(field->type) == PB_HTYPE_ONEOF;

    if (os != NULL) {
        if (!oneof && b->at.size == 0)
            return true;
        return pb_encode_tag_for_field(os, field) &&
               pb_encode_string(os, b->at.bytes != NULL ? b->at.bytes : no_bytes, b->at.size);
    }
    /* a bytes field sent with another wire type comes in a stream of nanopb's own */
    if (is->callback != read_buffer)
        PB_RETURN_ERROR(is, "wrong wire type for a bytes field");
    b->at.bytes = is->state;
    b->at.size = is->bytes_left;
    b->unused = NULL;
    is->state = (void *)(b->at.bytes + b->at.size);
    is->bytes_left = 0;
    if (oneof)
        *(pb_size_t *)field->pSize = field->tag;
    return true;
}

bool io_cloudevents_v1_CloudEvent_callback(pb_istream_t *is, pb_ostream_t *os,
                                           const pb_field_t *field)
{
    return bytes_field(is, os, field);
}

bool io_cloudevents_v1_CloudEvent_CloudEventAttributeValue_callback(pb_istream_t *is,
                                                                    pb_ostream_t *os,
                                                                    const pb_field_t *field)
{
    return bytes_field(is, os, field);
}

bool google_protobuf_Any_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *field)
{
    return bytes_field(is, os, field);
}

bool kedro_events_v1_LogChunk_callback(pb_istream_t *is, pb_ostream_t *os, const pb_field_t *field)
{
    return bytes_field(is, os, field);
}

static void scratch_release(scratch *s)
{
    free(s->entries);
    free(s->values);
    free(s->bools);
    free(s->times);
    free(s->seconds);
    memset(s, 0, sizeof *s);
}

/* Points one attribute value at a's value (scratch slot i for what needs storage). */
static int fill_value(const kec_attr *a, scratch *s, size_t i, pb_value *v, kec_error *err)
{
    v->which_attr = (pb_size_t)a->type;
    switch (a->type) {
    case KEC_ATTR_BOOLEAN:
        s->bools[i] = a->boolean != 0;
        v->attr.ce_boolean = &s->bools[i];
        break;
    case KEC_ATTR_INTEGER:
        v->attr.ce_integer = (int32_t *)&a->integer;
        break;
    case KEC_ATTR_STRING:
        v->attr.ce_string = (char *)a->text;
        break;
    case KEC_ATTR_URI:
        v->attr.ce_uri = (char *)a->text;
        break;
    case KEC_ATTR_URI_REF:
        v->attr.ce_uri_ref = (char *)a->text;
        break;
    case KEC_ATTR_BYTES:
        v->attr.ce_bytes = span(a->bytes, a->len);
        break;
    case KEC_ATTR_TIMESTAMP:
        s->seconds[i] = a->time.seconds;
        s->times[i].seconds = a->time.seconds != 0 ? &s->seconds[i] : NULL;
        s->times[i].nanos = a->time.nanos != 0 ? (int32_t *)&a->time.nanos : NULL;
        v->attr.ce_timestamp = &s->times[i];
        break;
    default:
        return kec_error_set(err, KEC_EINVAL, "attribute \"%s\" has unknown type %d", a->name,
                             (int)a->type);
    }
    return KEC_OK;
}

/* Fills *pb to point into ev, with what needs storage in *s (release it after encoding). */
static int fill_event(const kec_event *ev, pb_event *pb, scratch *s, kec_error *err)
{
    size_t n, i;
    const kec_attr *attrs = kec_event_attrs(ev, &n);
    kec_data_kind kind;
    size_t len;
    const char *url;
    const void *data = kec_event_data(ev, &kind, &len, &url);
    int rc;

    memset(pb, 0, sizeof *pb);
    memset(s, 0, sizeof *s);
    s->n = n;
    pb->id = kec_codec_str(kec_event_id(ev));
    pb->source = kec_codec_str(kec_event_source(ev));
    pb->spec_version = kec_codec_str(kec_event_spec_version(ev));
    pb->type = kec_codec_str(kec_event_type(ev));
    if (n > PB_SIZE_MAX)
        return kec_error_set(err, KEC_EINVAL, "too many attributes (%zu; at most %u)", n,
                             (unsigned)PB_SIZE_MAX);
    if (n > 0) {
        s->entries = calloc(n, sizeof *s->entries);
        s->values = calloc(n, sizeof *s->values);
        s->bools = calloc(n, sizeof *s->bools);
        s->times = calloc(n, sizeof *s->times);
        s->seconds = calloc(n, sizeof *s->seconds);
        if (s->entries == NULL || s->values == NULL || s->bools == NULL || s->times == NULL ||
            s->seconds == NULL)
            return nomem(err, "an event");
    }
    for (i = 0; i < n; i++) {
        s->entries[i].key = (char *)attrs[i].name;
        s->entries[i].value = &s->values[i];
        if ((rc = fill_value(&attrs[i], s, i, &s->values[i], err)) != KEC_OK)
            return rc;
    }
    pb->attributes = s->entries;
    pb->attributes_count = (pb_size_t)n;
    pb->which_data = (pb_size_t)kind;
    if (kind == KEC_DATA_TEXT) {
        pb->data.text_data = (char *)data;
    } else if (kind == KEC_DATA_BINARY) {
        pb->data.binary_data = span(data, len);
    } else if (kind == KEC_DATA_PROTO) {
        s->any.type_url = kec_codec_str(url);
        s->any.value = span(data, len);
        pb->data.proto_data = &s->any;
    }
    return KEC_OK;
}

int kec_codec_encode(const pb_msgdesc_t *fields, const void *msg, uint8_t **buf, size_t *len,
                     const char *what, kec_error *err)
{
    size_t size;
    pb_ostream_t os;

    *buf = NULL;
    *len = 0;
    if (!pb_get_encoded_size(&size, fields, msg))
        return kec_error_set(err, KEC_EINVAL, "cannot encode %s", what);
    if ((*buf = malloc(size > 0 ? size : 1)) == NULL)
        return nomem(err, what);
    os = pb_ostream_from_buffer(*buf, size);
    if (!pb_encode(&os, fields, msg)) {
        free(*buf);
        *buf = NULL;
        return kec_error_set(err, KEC_EINVAL, "cannot encode %s: %s", what, PB_GET_ERROR(&os));
    }
    *len = os.bytes_written;
    return KEC_OK;
}

int kec_event_encode(const kec_event *ev, uint8_t **buf, size_t *len, kec_error *err)
{
    pb_event pb;
    scratch s;
    int rc;

    rc = fill_event(ev, &pb, &s, err);
    if (rc == KEC_OK)
        rc = kec_codec_encode(io_cloudevents_v1_CloudEvent_fields, &pb, buf, len, "an event", err);
    scratch_release(&s);
    return rc;
}

int kec_batch_encode(kec_event *const *events, size_t count, uint8_t **buf, size_t *len,
                     kec_error *err)
{
    io_cloudevents_v1_CloudEventBatch batch = {0};
    pb_event *pbs = NULL;
    scratch *ss = NULL;
    size_t i, filled = 0;
    int rc = KEC_OK;

    *buf = NULL;
    *len = 0;
    if (count > PB_SIZE_MAX)
        return kec_error_set(err, KEC_EINVAL, "too many events in a batch (%zu; at most %u)", count,
                             (unsigned)PB_SIZE_MAX);
    if (count > 0 &&
        ((pbs = calloc(count, sizeof *pbs)) == NULL || (ss = calloc(count, sizeof *ss)) == NULL)) {
        rc = nomem(err, "a batch");
        goto out;
    }
    for (i = 0; i < count && rc == KEC_OK; i++, filled++)
        rc = fill_event(events[i], &pbs[i], &ss[i], err);
    if (rc != KEC_OK)
        goto out;
    batch.events = pbs;
    batch.events_count = (pb_size_t)count;
    rc = kec_codec_encode(io_cloudevents_v1_CloudEventBatch_fields, &batch, buf, len, "a batch",
                          err);
out:
    for (i = 0; i < filled; i++) {
        scratch_release(&ss[i]);
    }
    free(ss);
    free(pbs);
    return rc;
}

int kec_codec_decode(const pb_msgdesc_t *fields, const uint8_t *buf, size_t len, void *msg,
                     int code, const char *what, kec_error *err)
{
    pb_istream_t is = {.callback = read_buffer, .state = (void *)buf, .bytes_left = len};

    if (!pb_decode(&is, fields, msg)) {
        /* nanopb counts entries in pb_size_t: past that it stops (it never wraps) */
        if (strcmp(PB_GET_ERROR(&is), "too many array entries") == 0)
            return kec_error_set(err, code,
                                 "%s: more than %u entries in a repeated field, the most the "
                                 "client library reads",
                                 what, (unsigned)PB_SIZE_MAX);
        return kec_error_set(err, code, "%s: malformed protobuf (%s)", what, PB_GET_ERROR(&is));
    }
    return KEC_OK;
}

/* Copies one decoded attribute value into ev under name. */
static int take_value(kec_event *ev, const char *name, const pb_value *v, kec_error *err)
{
    kec_attr a = {.name = name, .type = (kec_attr_type)v->which_attr};

    switch (v->which_attr) {
    case KEC_ATTR_BOOLEAN:
        a.boolean = v->attr.ce_boolean != NULL && *v->attr.ce_boolean;
        break;
    case KEC_ATTR_INTEGER:
        a.integer = v->attr.ce_integer != NULL ? *v->attr.ce_integer : 0;
        break;
    case KEC_ATTR_STRING:
        a.text = v->attr.ce_string != NULL ? v->attr.ce_string : "";
        break;
    case KEC_ATTR_URI:
        a.text = v->attr.ce_uri != NULL ? v->attr.ce_uri : "";
        break;
    case KEC_ATTR_URI_REF:
        a.text = v->attr.ce_uri_ref != NULL ? v->attr.ce_uri_ref : "";
        break;
    case KEC_ATTR_BYTES:
        a.bytes = v->attr.ce_bytes.at.bytes;
        a.len = v->attr.ce_bytes.at.size;
        break;
    case KEC_ATTR_TIMESTAMP:
        if (v->attr.ce_timestamp != NULL && v->attr.ce_timestamp->seconds != NULL)
            a.time.seconds = *v->attr.ce_timestamp->seconds;
        if (v->attr.ce_timestamp != NULL && v->attr.ce_timestamp->nanos != NULL)
            a.time.nanos = *v->attr.ce_timestamp->nanos;
        break;
    default:
        return kec_error_set(err, KEC_EFORMAT, "attribute \"%s\" has no value", name);
    }
    return kec_event_set_attr(ev, &a, err);
}

/* A new kec_event holding what the decoded pb holds. */
static int take_event(const pb_event *pb, kec_event **out, kec_error *err)
{
    kec_event *ev = NULL;
    size_t i;
    int rc;

    rc = kec_event_new("-", pb->source, pb->type, &ev, err);
    if (rc == KEC_OK)
        rc = kec_event_set_id(ev, pb->id, err);
    if (rc == KEC_OK)
        rc = kec_event_set_spec_version(ev, pb->spec_version, err);
    for (i = 0; rc == KEC_OK && i < pb->attributes_count; i++) {
        const pb_entry *e = &pb->attributes[i];

        if (e->value == NULL)
            rc = kec_error_set(err, KEC_EFORMAT, "attribute \"%s\" has no value",
                               e->key != NULL ? e->key : "");
        else
            rc = take_value(ev, e->key != NULL ? e->key : "", e->value, err);
    }
    if (rc == KEC_OK && pb->which_data == KEC_DATA_TEXT) {
        const char *t = pb->data.text_data != NULL ? pb->data.text_data : "";

        rc = kec_event_set_text_data(ev, t, strlen(t), err);
    } else if (rc == KEC_OK && pb->which_data == KEC_DATA_BINARY) {
        const kec_pb_bytes *b = &pb->data.binary_data;

        rc = kec_event_set_binary_data(ev, b->at.bytes, b->at.size, err);
    } else if (rc == KEC_OK && pb->which_data == KEC_DATA_PROTO) {
        const google_protobuf_Any *any = pb->data.proto_data;
        const kec_pb_bytes *b = any != NULL ? &any->value : NULL;

        rc = kec_event_set_proto_data(ev, any != NULL ? any->type_url : NULL,
                                      b != NULL ? b->at.bytes : NULL, b != NULL ? b->at.size : 0,
                                      err);
    }
    if (rc != KEC_OK) {
        kec_event_free(ev);
        return rc;
    }
    *out = ev;
    return KEC_OK;
}

int kec_event_decode(const uint8_t *buf, size_t len, kec_event **out, kec_error *err)
{
    pb_event pb;
    int rc;

    /* all zero, as io_cloudevents_v1_CloudEvent_init_zero says (that initializer leaves the
     * inner members of a bytes callback field implicit, which clang warns about) */
    memset(&pb, 0, sizeof pb);
    *out = NULL;
    rc = kec_codec_decode(io_cloudevents_v1_CloudEvent_fields, buf, len, &pb, KEC_EFORMAT,
                          "an event", err);
    if (rc == KEC_OK)
        rc = take_event(&pb, out, err);
    pb_release(io_cloudevents_v1_CloudEvent_fields, &pb);
    return rc;
}

int kec_batch_decode(const uint8_t *buf, size_t len, kec_event ***events, size_t *count,
                     kec_error *err)
{
    io_cloudevents_v1_CloudEventBatch pb = io_cloudevents_v1_CloudEventBatch_init_zero;
    kec_event **evs = NULL;
    size_t i = 0;
    int rc;

    *events = NULL;
    *count = 0;
    rc = kec_codec_decode(io_cloudevents_v1_CloudEventBatch_fields, buf, len, &pb, KEC_EFORMAT,
                          "a batch", err);
    if (rc == KEC_OK && (evs = calloc(pb.events_count + 1, sizeof *evs)) == NULL)
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory decoding a batch");
    for (; rc == KEC_OK && i < pb.events_count; i++)
        rc = take_event(&pb.events[i], &evs[i], err);
    pb_release(io_cloudevents_v1_CloudEventBatch_fields, &pb);
    if (rc != KEC_OK) {
        kec_events_free(evs, i);
        return rc;
    }
    *events = evs;
    *count = i;
    return KEC_OK;
}
