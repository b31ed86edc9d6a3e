/* event.h -- CloudEvent decoding, validation and CloudEvents JSON rendering.
 *
 * The only module that sees the protobuf-c CloudEvent types: the rest of the
 * server handles a decoded, validated ke_event through these functions. */
#ifndef KE_EVENT_H
#define KE_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "errors.h"

/* Limits on what one event or batch may hold (beyond the gRPC message size). */
#define KE_EVENT_MAX_ATTRIBUTES 100 /* optional + extension attributes per event */
#define KE_BATCH_MAX_EVENTS 1000    /* events per DispatchBatch */

typedef struct ke_event ke_event; /* a decoded CloudEvent that passed validation */
typedef struct ke_batch ke_batch; /* a decoded batch whose every event passed */

/* Decodes a serialized io.cloudevents.v1.CloudEvent and validates it.
 * On success returns KE_OK and *out owns the event (free with ke_event_free).
 * On failure returns KE_EINVAL (malformed bytes or a broken rule) with err
 * naming the attribute and the rule, and sets *out to NULL. */
int ke_event_decode(const uint8_t *buf, size_t len, ke_event **out, ke_error *err);

/* Frees an event from ke_event_decode; NULL is fine. */
void ke_event_free(ke_event *ev);

/* The required attributes; the strings live as long as the event. */
const char *ke_event_id(const ke_event *ev);
const char *ke_event_source(const ke_event *ev);
const char *ke_event_type(const ke_event *ev);

/* Renders the event in the CloudEvents JSON format (DESIGN.md 3.4): keys in
 * the order specversion, id, source, type, datacontenttype, dataschema,
 * subject, time, data | data_base64, then extensions by name; `time` set to
 * *received when the event has none; every "${" written as "\u0024{".
 * On success *out is a NUL-terminated string the caller frees with free(). */
int ke_event_to_json(const ke_event *ev, const struct timespec *received, char **out,
                     ke_error *err);

/* Decodes a serialized io.cloudevents.v1.CloudEventBatch and validates every
 * event and the batch rules (one spec version, at most KE_BATCH_MAX_EVENTS).
 * The error of an invalid event names its index: "events[3]: ...". */
int ke_batch_decode(const uint8_t *buf, size_t len, ke_batch **out, ke_error *err);

/* Number of events in a batch, and the i-th (owned by the batch). */
size_t ke_batch_count(const ke_batch *b);
const ke_event *ke_batch_event(const ke_batch *b, size_t i);

/* Frees a batch and its events; NULL is fine. */
void ke_batch_free(ke_batch *b);

#endif
