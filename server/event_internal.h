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
/* Nesting of JSON data embedded as a value; deeper data goes as a string, as
 * Python's json.loads (in the Kedro node) fails near 1000 levels. */
#define DATA_MAX_DEPTH 256

struct ke_event {
    pb_event *pb;             /* the unpacked message (a batch's, when in_batch) */
    bool in_batch;            /* pb belongs to the batch, not to this event */
    const pb_entry **attrs;   /* every attribute entry, sorted by name */
    size_t n_attrs;           /* entries in attrs */
    const char *content_type; /* datacontenttype, or NULL */
    const char *dataschema;   /* dataschema, or NULL */
    const char *subject;      /* subject, or NULL */
    const pb_value *time;     /* time (a ce_timestamp), or NULL */
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

#endif
