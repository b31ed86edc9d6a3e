/* event_internal.h -- what event.c (validation) and event_json.c (rendering) share:
 * the protobuf-c types and the decoded event. */
#ifndef KE_EVENT_INTERNAL_H
#define KE_EVENT_INTERNAL_H

#include <stdbool.h>

#include "cloudevents/v1/cloudevents.pb-c.h"
#include "event.h"

typedef Io__Cloudevents__V1__CloudEvent pb_event;
typedef Io__Cloudevents__V1__CloudEventBatch pb_batch;
typedef Io__Cloudevents__V1__CloudEvent__AttributesEntry pb_entry;
typedef Io__Cloudevents__V1__CloudEvent__CloudEventAttributeValue pb_value;

#define ATTR(x) IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_##x
#define DATA(x) IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_##x

#define NAME_MAX_LEN 20                 /* CloudEvents: attribute names of at most 20 chars */
#define TS_MIN_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define TS_MAX_SECONDS 253402300799LL   /* 9999-12-31T23:59:59Z */
/* JSON data nests at most KEC_JSON_MAX_DEPTH deep (kec_text.h, the limit the
 * client library's reader uses too); deeper data is refused, never a string. */

struct ke_event {
    pb_event *pb;             /* the unpacked message (a batch's, when in_batch) */
    bool in_batch;            /* pb belongs to the batch, not to this event */
    const pb_entry **attrs;   /* every attribute entry, sorted by name */
    size_t n_attrs;           /* entries in attrs */
    const char *content_type; /* datacontenttype, or NULL */
    const char *dataschema;   /* dataschema, or NULL */
    const char *subject;      /* subject, or NULL */
    const pb_value *time;     /* time (a ce_timestamp), or NULL */
    const char *json_data;    /* the data's JSON text (trimmed, in pb), or NULL: not JSON */
    size_t json_len;          /* bytes of json_data */
};

struct ke_batch {
    pb_batch *pb;     /* the unpacked batch; owns every event's message */
    ke_event *events; /* one validated event per pb->events[i] */
    size_t n_events;  /* entries in events */
};

/* Whether a media type (parameters ignored, any case) is JSON:
 * application/json, text/json or any +json subtype. */
bool ke_media_type_is_json(const char *s);

/* Whether a media type is text/\*. */
bool ke_media_type_is_text(const char *s);

/* Checks ev's data (datacontenttype already read) with the client library's strict JSON
 * checker and notes in ev->json_data the JSON text to embed (DESIGN.md 3.4): text_data under a
 * JSON or absent datacontenttype, binary_data there that is UTF-8 without NUL. KE_EINVAL when
 * the data is JSON nested deeper than KEC_JSON_MAX_DEPTH (the message gives the byte); data that
 * is not strictly JSON stays a string (or base64), as the reference's SDK makes it.
 * (event_json.c) */
int ke_event_check_data(ke_event *ev, ke_error *err);

#endif
