/* kedroevents.h -- libkedroevents: build CloudEvents, read and write them in the CloudEvents
 * JSON format, and call kedro-eventd's EventService over gRPC.
 *
 * Every name is prefixed kec_. Functions return KEC_OK (0) or a negative KEC_E* code and, on
 * failure, fill the caller's kec_error (which may be NULL) with the first error's message; no
 * function exits or prints. Ownership is stated on each function: "new" results are freed by
 * the matching _free, result structs filled in by a call are emptied by the matching _release,
 * and strings returned as char * are freed with free(). Const pointers returned from an
 * object are borrowed and live as long as the object is not changed or freed.
 *
 * Thread safety: a kec_client may be used from any number of threads at once; a kec_event is
 * not locked and must not be changed while another thread reads it.
 */
#ifndef KEDROEVENTS_H
#define KEDROEVENTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KEC_VERSION "0.1.0"

/* Marks what libkedroevents.so exports; everything else in it is hidden. */
#define KEC_API __attribute__((visibility("default")))

#define KEC_DEFAULT_TARGET "127.0.0.1:50051"
#define KEC_TARGET_ENV "KEDRO_EVENTS_TARGET" /* the default target, when set */
#define KEC_SERVER_ENV "KEDRO_EVENTS_SERVER" /* read next: what kedro-eventd gives its runs */
#define KEC_TOKEN_ENV "KEDRO_EVENTS_TOKEN"   /* the bearer token, when none is given */
#define KEC_DEFAULT_TIMEOUT_MS 10000         /* the deadline of one call */
#define KEC_DEFAULT_MAX_MESSAGE (64u << 20)  /* the largest answer accepted, bytes */
#define KEC_JSON_MAX_BYTES (64u << 20)       /* the largest CloudEvents JSON text read */
#define KEC_BATCH_MAX_EVENTS 1000            /* events in one JSON batch (the server's limit) */

/* ---- errors ---------------------------------------------------------------------------- */

/* X(NAME, value, message). */
#define KEC_ERRNO_MAP(X)                                                                           \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(EFORMAT, -3, "not a CloudEvent in the CloudEvents JSON format")                              \
    X(ESTATUS, -4, "the call failed")                                                              \
    X(EDECODE, -5, "the answer could not be decoded")                                              \
    X(EIO, -6, "input/output error")

enum {
    KEC_OK = 0,
#define KEC_X_ENUM(name, value, msg) KEC_##name = value,
    KEC_ERRNO_MAP(KEC_X_ENUM)
#undef KEC_X_ENUM
};

/* gRPC status codes, by their numbers on the wire. */
typedef enum kec_status_code {
    KEC_STATUS_OK = 0,
    KEC_STATUS_CANCELLED = 1,
    KEC_STATUS_UNKNOWN = 2,
    KEC_STATUS_INVALID_ARGUMENT = 3,
    KEC_STATUS_DEADLINE_EXCEEDED = 4,
    KEC_STATUS_NOT_FOUND = 5,
    KEC_STATUS_ALREADY_EXISTS = 6,
    KEC_STATUS_PERMISSION_DENIED = 7,
    KEC_STATUS_RESOURCE_EXHAUSTED = 8,
    KEC_STATUS_FAILED_PRECONDITION = 9,
    KEC_STATUS_ABORTED = 10,
    KEC_STATUS_OUT_OF_RANGE = 11,
    KEC_STATUS_UNIMPLEMENTED = 12,
    KEC_STATUS_INTERNAL = 13,
    KEC_STATUS_UNAVAILABLE = 14,
    KEC_STATUS_DATA_LOSS = 15,
    KEC_STATUS_UNAUTHENTICATED = 16
} kec_status_code;

/* The first error of an operation. */
typedef struct kec_error {
    int code;      /* KEC_OK or a negative KEC_E* code */
    int status;    /* with KEC_ESTATUS: the gRPC status (a kec_status_code); else 0 */
    char msg[512]; /* what failed, naming the subject; with KEC_ESTATUS the server's message */
} kec_error;

/* Resets err to "no error" (err may be NULL). */
KEC_API void kec_error_clear(kec_error *err);

/* "EINVAL" for KEC_EINVAL, "OK" for 0, "UNKNOWN" for anything else. */
KEC_API const char *kec_err_name(int code);

/* "invalid argument" for KEC_EINVAL. */
KEC_API const char *kec_strerror(int code);

/* "INVALID_ARGUMENT" for 3; "UNKNOWN" outside 0..16. */
KEC_API const char *kec_status_name(int status);

/* ---- time -------------------------------------------------------------------------------- */

/* An instant, as google.protobuf.Timestamp holds it. */
typedef struct kec_time {
    int64_t seconds; /* since 1970-01-01T00:00:00Z */
    int32_t nanos;   /* 0..999999999 */
    int set;         /* 0 when the instant is absent (e.g. a run not finished yet) */
} kec_time;

/* Reads an RFC 3339 date-time ("2018-04-05T17:31:00Z", fractions to nanoseconds, "Z" or
 * "+hh:mm" / "-hh:mm"), as the CloudEvents `time` attribute holds it. KEC_EINVAL when text
 * is not one, naming what is wrong. */
KEC_API int kec_time_parse(const char *text, kec_time *out, kec_error *err);

/* Writes t as RFC 3339 in UTC ("2018-04-05T17:31:00Z", with as many fraction digits as
 * nanos needs: 0, 3, 6 or 9) into buf, which must hold KEC_TIME_TEXT_MAX bytes. Returns buf. */
#define KEC_TIME_TEXT_MAX 40
KEC_API char *kec_time_format(kec_time t, char *buf);

/* ---- CloudEvents ------------------------------------------------------------------------ */

/* One CloudEvent: the required attributes, optional and extension attributes by name, and
 * its data. Built by kec_event_new or read from JSON; sent by kec_dispatch. */
typedef struct kec_event kec_event;

/* The type of an optional or extension attribute (the numbers of the protobuf format's
 * CloudEventAttributeValue members). */
typedef enum kec_attr_type {
    KEC_ATTR_BOOLEAN = 1,
    KEC_ATTR_INTEGER = 2, /* signed 32-bit */
    KEC_ATTR_STRING = 3,
    KEC_ATTR_BYTES = 4,
    KEC_ATTR_URI = 5,     /* absolute URI, as text */
    KEC_ATTR_URI_REF = 6, /* URI-reference, as text */
    KEC_ATTR_TIMESTAMP = 7
} kec_attr_type;

/* One optional or extension attribute (e.g. datacontenttype, subject, time, or an
 * extension). Only the member its type names is meaningful. */
typedef struct kec_attr {
    const char *name;     /* e.g. "datacontenttype"; [a-z0-9]{1,20} per the spec */
    kec_attr_type type;   /* which member below holds the value */
    int boolean;          /* KEC_ATTR_BOOLEAN: 0 or 1 */
    int32_t integer;      /* KEC_ATTR_INTEGER */
    const char *text;     /* KEC_ATTR_STRING, KEC_ATTR_URI, KEC_ATTR_URI_REF (NUL-terminated) */
    const uint8_t *bytes; /* KEC_ATTR_BYTES */
    size_t len;           /* KEC_ATTR_BYTES: the length of bytes */
    kec_time time;        /* KEC_ATTR_TIMESTAMP */
} kec_attr;

/* Which kind of data an event carries. */
typedef enum kec_data_kind {
    KEC_DATA_NONE = 0,
    KEC_DATA_BINARY = 6, /* bytes */
    KEC_DATA_TEXT = 7,   /* UTF-8 text (JSON data is text with a JSON datacontenttype) */
    KEC_DATA_PROTO = 8   /* a protobuf message: a type URL and its serialized bytes */
} kec_data_kind;

/* A new event with specversion "1.0" and the given source and type; id NULL or "" gets a new
 * random UUID. Strings are copied. *out is freed with kec_event_free. The event is not
 * checked against the CloudEvents rules here: the server validates what it receives and
 * names any broken rule in its INVALID_ARGUMENT answer. */
KEC_API int kec_event_new(const char *id, const char *source, const char *type, kec_event **out,
                          kec_error *err);

/* Frees ev and everything it holds (NULL is fine). */
KEC_API void kec_event_free(kec_event *ev);

/* A deep copy of ev into *out (freed with kec_event_free). */
KEC_API int kec_event_clone(const kec_event *ev, kec_event **out, kec_error *err);

/* The required attributes (never NULL; "" when unset). Borrowed from ev. */
KEC_API const char *kec_event_id(const kec_event *ev);
KEC_API const char *kec_event_source(const kec_event *ev);
KEC_API const char *kec_event_type(const kec_event *ev);
KEC_API const char *kec_event_spec_version(const kec_event *ev);

/* Replace a required attribute (value copied; NULL means ""). */
KEC_API int kec_event_set_id(kec_event *ev, const char *id, kec_error *err);
KEC_API int kec_event_set_source(kec_event *ev, const char *source, kec_error *err);
KEC_API int kec_event_set_type(kec_event *ev, const char *type, kec_error *err);
KEC_API int kec_event_set_spec_version(kec_event *ev, const char *spec_version, kec_error *err);

/* Sets an optional or extension attribute, replacing one of the same name; a->name and the
 * value a->type selects are copied (bytes of a->len). KEC_EINVAL for a NULL or empty name, an
 * unknown type, or text holding no string. */
KEC_API int kec_event_set_attr(kec_event *ev, const kec_attr *a, kec_error *err);

/* Shorthands for kec_event_set_attr with one type. */
KEC_API int kec_event_set_string(kec_event *ev, const char *name, const char *value,
                                 kec_error *err);
KEC_API int kec_event_set_boolean(kec_event *ev, const char *name, int value, kec_error *err);
KEC_API int kec_event_set_integer(kec_event *ev, const char *name, int32_t value, kec_error *err);
KEC_API int kec_event_set_uri(kec_event *ev, const char *name, const char *value, kec_error *err);
KEC_API int kec_event_set_uri_ref(kec_event *ev, const char *name, const char *value,
                                  kec_error *err);
KEC_API int kec_event_set_bytes(kec_event *ev, const char *name, const void *bytes, size_t len,
                                kec_error *err);
KEC_API int kec_event_set_time(kec_event *ev, const char *name, kec_time t, kec_error *err);

/* Removes the attribute name; returns 1 if there was one, else 0. */
KEC_API int kec_event_remove_attr(kec_event *ev, const char *name);

/* The attribute name, or NULL. Borrowed from ev. */
KEC_API const kec_attr *kec_event_attr(const kec_event *ev, const char *name);

/* All optional and extension attributes in the order they were first set (*count of them).
 * Borrowed from ev. */
KEC_API const kec_attr *kec_event_attrs(const kec_event *ev, size_t *count);

/* Sets text data (len bytes, copied). KEC_EINVAL when it holds a NUL byte, which protobuf
 * strings cannot carry: send such data as binary. The text is not checked for UTF-8 here; the
 * server rejects invalid UTF-8. */
KEC_API int kec_event_set_text_data(kec_event *ev, const char *text, size_t len, kec_error *err);

/* Sets binary data (len bytes, copied). */
KEC_API int kec_event_set_binary_data(kec_event *ev, const void *bytes, size_t len, kec_error *err);

/* Sets protobuf data: a google.protobuf.Any with type_url and the message's bytes. */
KEC_API int kec_event_set_proto_data(kec_event *ev, const char *type_url, const void *bytes,
                                     size_t len, kec_error *err);

/* Removes any data. */
KEC_API void kec_event_clear_data(kec_event *ev);

/* The event's data: its kind, bytes and length (text is NUL-terminated past len). NULL with
 * KEC_DATA_NONE. For KEC_DATA_PROTO, *type_url (when type_url is not NULL) is the Any's type
 * URL. Borrowed from ev. */
KEC_API const void *kec_event_data(const kec_event *ev, kec_data_kind *kind, size_t *len,
                                   const char **type_url);

/* ---- the CloudEvents protobuf format ---------------------------------------------------- */

/* ev serialized as an io.cloudevents.v1.CloudEvent, into a new buffer *buf of *len bytes
 * (free() it). Attributes are written in ev's order; empty required attributes are left out,
 * as proto3 does. */
KEC_API int kec_event_encode(const kec_event *ev, uint8_t **buf, size_t *len, kec_error *err);

/* count events serialized as an io.cloudevents.v1.CloudEventBatch; as kec_event_encode. */
KEC_API int kec_batch_encode(kec_event *const *events, size_t count, uint8_t **buf, size_t *len,
                             kec_error *err);

/* Reads a serialized io.cloudevents.v1.CloudEvent (len bytes) into a new *out (freed with
 * kec_event_free). KEC_EFORMAT when the bytes are not one; the event's rules are not
 * checked (the server does that). */
KEC_API int kec_event_decode(const uint8_t *buf, size_t len, kec_event **out, kec_error *err);

/* Reads a serialized io.cloudevents.v1.CloudEventBatch into a new array of *count new events
 * (freed with kec_events_free). */
KEC_API int kec_batch_decode(const uint8_t *buf, size_t len, kec_event ***events, size_t *count,
                             kec_error *err);

/* ---- the CloudEvents JSON format -------------------------------------------------------- */

/* Reads one event in the CloudEvents JSON format (an object) from text (len bytes). Per the
 * format: `null` means absent; `time` is an RFC 3339 timestamp and `dataschema` a URI;
 * extension values are a boolean, an integer within int32 or a string (a string stays a
 * string: the format does not say which strings are URIs or timestamps); anything else is
 * KEC_EFORMAT. `data_base64` is binary data. `data` becomes text data: when datacontenttype
 * is absent or a JSON type (application/json, +json), the value's own JSON text exactly as
 * sent (a string value quoted; never re-printed, so every number arrives as written);
 * otherwise a string's contents (another value: its JSON text). The text must be strict JSON
 * (RFC 8259) and data may nest at most 256 levels; "\u0000" is refused
 * outside JSON data. KEC_EFORMAT names the member or the offset and the rule it breaks. *out
 * is freed with kec_event_free. */
KEC_API int kec_event_from_json(const char *text, size_t len, kec_event **out, kec_error *err);

/* Reads a batch in the CloudEvents JSON batch format (an array of events, at most
 * KEC_BATCH_MAX_EVENTS). On success *events is a new array of *count new events, freed with
 * kec_events_free; the error of a bad event names its index. */
KEC_API int kec_batch_from_json(const char *text, size_t len, kec_event ***events, size_t *count,
                                kec_error *err);

/* Reads either: an object as one event (*is_batch = 0, *count = 1), an array as a batch
 * (*is_batch = 1). Frees as kec_batch_from_json. */
KEC_API int kec_json_read(const char *text, size_t len, kec_event ***events, size_t *count,
                          int *is_batch, kec_error *err);

/* Frees count events and the array holding them (NULL is fine). */
KEC_API void kec_events_free(kec_event **events, size_t count);

/* The event in the CloudEvents JSON format, compact, as a new string (free() it): members in
 * the order specversion, id, source, type, datacontenttype, dataschema, subject, time, data or
 * data_base64, then extensions by name; text data under a JSON (or no) datacontenttype as its
 * own text (trimmed, not re-printed) when it is strict JSON, else as a string; binary and proto
 * data as data_base64. NULL with err set when out of memory, or KEC_EFORMAT for JSON data
 * nested deeper than 256 levels or an attribute named like a format member (specversion, id,
 * source, type, data, data_base64). */
KEC_API char *kec_event_to_json(const kec_event *ev, kec_error *err);

/* ---- pipelines, as the server answers them ----------------------------------------------- */

/* A pipeline's lifecycle state (kedro.events.v1.PipelineStatus.State). */
typedef enum kec_state {
    KEC_STATE_UNSPECIFIED = 0, /* in a list filter: any state */
    KEC_STATE_STAGED = 1,
    KEC_STATE_READY = 2,
    KEC_STATE_STARTED = 3,
    KEC_STATE_SUCCESS = 4,
    KEC_STATE_FAILURE = 5,
    KEC_STATE_ABORTED = 6
} kec_state;

/* "READY" for KEC_STATE_READY; "STATE_UNSPECIFIED" for 0 and unknown values. */
KEC_API const char *kec_state_name(kec_state state);

/* The state named name (any case), or -1 when it names none. */
KEC_API int kec_state_parse(const char *name);

/* 1 for SUCCESS, FAILURE and ABORTED (a run that will not change again), else 0. */
KEC_API int kec_state_is_final(kec_state state);

/* One parameter handed to a run. Strings never NULL. */
typedef struct kec_param {
    char *name;  /* e.g. "event" */
    char *value; /* as text */
    char *type;  /* e.g. "string" */
} kec_param;

/* One key/value label. Strings never NULL. */
typedef struct kec_tag {
    char *key;   /* e.g. "event_source" */
    char *value; /* e.g. "example.com" */
} kec_tag;

/* One entry of a pipeline's status history. Strings never NULL ("" when absent). */
typedef struct kec_status {
    kec_state state;          /* the state entered */
    kec_time changed_at;      /* when it was entered */
    kec_time started_at;      /* when the run started, once it has */
    kec_time finished_at;     /* when the run finished, once it has */
    char *runner;             /* e.g. "local" */
    int has_exit_code;        /* 1 when exit_code holds how the process exited */
    int exit_code;            /* its exit code */
    int has_signal;           /* 1 when signal holds the signal that ended it */
    int signal;               /* that signal */
    char *error;              /* why it failed, with the tail of its output */
    char *log_path;           /* where its output is kept */
    char *kedro_graphql_json; /* a run forwarded to kedro-graphql: this entry's keys as it
                               * reported them (session, task_id, task_exception, ...), the
                               * text of one JSON object; "" otherwise */
} kec_status;

/* A Kedro pipeline run. Strings never NULL. */
typedef struct kec_pipeline {
    char *id;                 /* a UUID */
    char *name;               /* the Kedro pipeline name */
    char *parent;             /* the creating pipeline's id, or "" */
    kec_param *params;        /* n_params parameters */
    size_t n_params;          /* count of params */
    kec_tag *tags;            /* n_tags labels */
    size_t n_tags;            /* count of tags */
    kec_status *status;       /* n_status entries, oldest first; the last is current */
    size_t n_status;          /* count of status */
    kec_time created_at;      /* when it was recorded */
    char *kedro_graphql_id;   /* kedro-graphql's id once forwarded there, else "" */
    char *kedro_graphql_json; /* forwarded there: kedro-graphql's own keys of the pipeline
                               * (data_catalog, describe, nodes, project_version,
                               * pipeline_version, kedro_graphql_version), the text of one JSON
                               * object; "" otherwise */
} kec_pipeline;

/* The current state (the last status entry's), or KEC_STATE_UNSPECIFIED with no status. */
KEC_API kec_state kec_pipeline_state(const kec_pipeline *p);

/* Frees what p holds and zeroes it; p itself is the caller's. */
KEC_API void kec_pipeline_release(kec_pipeline *p);

/* The answer to one dispatched event. */
typedef struct kec_dispatch_result {
    kec_pipeline *pipelines; /* count pipelines started, in configuration order */
    size_t count;            /* count of pipelines */
    int duplicate;           /* 1: the (source, id) was accepted before; these are its pipelines */
} kec_dispatch_result;

/* Frees what r holds and zeroes it; r itself is the caller's. */
KEC_API void kec_dispatch_result_release(kec_dispatch_result *r);

/* Frees count results and the array holding them (NULL is fine). */
KEC_API void kec_dispatch_results_free(kec_dispatch_result *results, size_t count);

/* One pipeline as a JSON object with every key of kedro-graphql's pipeline dict, in its order,
 * then ours: id, name, data_catalog, describe, nodes, parameters [{name, value, type}], status
 * [{state, session, runner, filtered_nodes, started_at, finished_at, task_id, task_name,
 * task_args, task_kwargs, task_request, task_exception, task_traceback, task_einfo,
 * task_result, then changed_at, exit_code, signal, error, log_path}], tags [{key, value}],
 * created_at, parent, project_version, pipeline_version, kedro_graphql_version, then
 * kedro_graphql_id. Times as RFC 3339; absent values null (data_catalog []). For a forwarded
 * run, kedro-graphql's values from kedro_graphql_json (the pipeline's and each entry's) take
 * the place of the nulls of its own keys (those listed in the fields' comments); JSON that does
 * not parse, or is not an object, is ignored. A new string (free() it), or NULL when out of
 * memory. */
KEC_API char *kec_pipeline_to_json(const kec_pipeline *p);

/* {"pipelines": [...], "duplicate": false} for one result. A new string (free() it). */
KEC_API char *kec_dispatch_result_to_json(const kec_dispatch_result *r);

/* ---- the client -------------------------------------------------------------------------- */

/* How to reach kedro-eventd. Initialise with kec_client_options_init, then change fields. */
typedef struct kec_client_options {
    const char *target;          /* host:port; NULL: $KEDRO_EVENTS_TARGET, $KEDRO_EVENTS_SERVER,
                                    then KEC_DEFAULT_TARGET */
    int timeout_ms;              /* deadline of each call; KEC_DEFAULT_TIMEOUT_MS by default */
    size_t max_message_bytes;    /* the largest answer accepted; KEC_DEFAULT_MAX_MESSAGE */
    int channels;                /* HTTP/2 connections calls are spread over; 1 by default */
    int tls;                     /* 1: connect with TLS (the files below are then read) */
    const char *tls_ca_file;     /* PEM roots to trust; NULL: the system's */
    const char *tls_cert_file;   /* PEM client certificate, for mutual TLS; NULL: none */
    const char *tls_key_file;    /* PEM key of tls_cert_file */
    const char *tls_server_name; /* name to verify instead of the target's host; NULL: host */
    const char *token;           /* bearer token sent with every call (metadata
                                    `authorization: Bearer <token>`); NULL: $KEDRO_EVENTS_TOKEN
                                    when set, else none. 16-512 characters of RFC 6750's
                                    b64token (letters, digits, "-._~+/", trailing '=') */
} kec_client_options;

/* How kedro-eventd's refusals that are worth retrying later begin their message: UNAVAILABLE
 * "overloaded: ..." (calls or request bytes in flight past its budget; other UNAVAILABLE
 * answers mean unreachable or shutting down), and RESOURCE_EXHAUSTED "store full: ..." (its
 * store reached --max-store-bytes; any other RESOURCE_EXHAUSTED, a request or answer too
 * large, will fail again as it is). */
#define KEC_OVERLOADED_PREFIX "overloaded: "
#define KEC_STORE_FULL_PREFIX "store full: "

/* Fills o with the defaults above. */
KEC_API void kec_client_options_init(kec_client_options *o);

/* A connection to kedro-eventd, shared by all threads. Connecting is lazy: a server that is
 * down shows in the first call's error (KEC_ESTATUS, status UNAVAILABLE). Strings in o are
 * copied; TLS files are read here (KEC_EIO names a file that cannot be read). *out is freed
 * with kec_client_free, which cancels calls still in flight (their callbacks fire with
 * CANCELLED) and waits for their callbacks to return. Callbacks that start calls while it
 * runs are refused (KEC_EINVAL); other threads must have stopped calling, and it must not be
 * called from a callback. */
typedef struct kec_client kec_client;
KEC_API int kec_client_new(const kec_client_options *o, kec_client **out, kec_error *err);
KEC_API void kec_client_free(kec_client *c);

/* Replaces the bearer token c sends with every call started from now on (token NULL or "":
 * none), e.g. when a token file is re-read; calls in flight keep the one they started with.
 * KEC_EINVAL, with the old token kept, when token breaks the token rules (the message never
 * quotes it). Safe while other threads start calls. */
KEC_API int kec_client_set_token(kec_client *c, const char *token, kec_error *err);

/* The target c connects to. Borrowed from c. */
KEC_API const char *kec_client_target(const kec_client *c);

/* 1 when at least one of c's connections is up (gRPC READY), else 0 (connecting, failed, or
 * never tried); with try_to_connect 1, an idle connection starts connecting. Lets a caller
 * tell "the server is unreachable" from "the server answered UNAVAILABLE". */
KEC_API int kec_client_connected(kec_client *c, int try_to_connect);

/* Every call below waits for its answer (at most the client's timeout) and fails with
 * KEC_ESTATUS when the call ends with a status other than OK: err->status holds it and
 * err->msg the server's message (or gRPC's, e.g. when the server cannot be reached). The
 * filled-in result is the caller's to release; on failure it is left zeroed. */

/* Dispatch: the pipelines ev started (or, for a duplicate, started before). */
KEC_API int kec_dispatch(kec_client *c, const kec_event *ev, kec_dispatch_result *out,
                         kec_error *err);

/* DispatchBatch: one result per event, in order; *results (count of them) is freed with
 * kec_dispatch_results_free. */
KEC_API int kec_dispatch_batch(kec_client *c, kec_event *const *events, size_t count,
                               kec_dispatch_result **results, kec_error *err);

/* What CreatePipeline creates. Borrowed for the call. */
typedef struct kec_pipeline_spec {
    const char *name;        /* required: the Kedro pipeline */
    const kec_param *params; /* n_params parameters (type NULL means "string") */
    size_t n_params;         /* count of params */
    const kec_tag *tags;     /* n_tags labels */
    size_t n_tags;           /* count of tags */
    const char *parent;      /* the creating pipeline's id, or NULL */
} kec_pipeline_spec;

/* CreatePipeline: the new READY pipeline. */
KEC_API int kec_create_pipeline(kec_client *c, const kec_pipeline_spec *spec, kec_pipeline *out,
                                kec_error *err);

/* GetPipeline: the pipeline id; KEC_ESTATUS with status NOT_FOUND when there is none. */
KEC_API int kec_get_pipeline(kec_client *c, const char *id, kec_pipeline *out, kec_error *err);

/* CancelPipeline: ends the pipeline id and answers its record (free with
 * kec_pipeline_release). A READY one becomes ABORTED at once; a running one is ended (SIGTERM,
 * SIGKILL after the server's --cancel-grace) and answered once ABORTED is recorded, so this
 * blocks up to that grace. KEC_ESTATUS with status NOT_FOUND (no such id) or
 * FAILED_PRECONDITION (it has already ended, or it runs in kedro-graphql: the message says
 * which). */
KEC_API int kec_cancel_pipeline(kec_client *c, const char *id, kec_pipeline *out, kec_error *err);

/* RetryPipeline: starts the ended pipeline id again and answers the new READY pipeline (same
 * name, parent, parameters with its own `id`, tags, plus a tag retry_of = id). KEC_ESTATUS
 * with status NOT_FOUND or FAILED_PRECONDITION (it has not ended). */
KEC_API int kec_retry_pipeline(kec_client *c, const char *id, kec_pipeline *out, kec_error *err);

/* A ListPipelines filter and page. NULL or "" strings and 0 numbers mean "any" / default. */
typedef struct kec_list_query {
    const char *name;       /* only pipelines with this name */
    const char *parent;     /* only children of this pipeline */
    kec_state state;        /* only pipelines currently in this state */
    int page_size;          /* at most this many (server default 50, at most 1000) */
    const char *page_token; /* next_page_token of the previous page */
} kec_list_query;

/* One page of pipelines, newest first. */
typedef struct kec_pipeline_page {
    kec_pipeline *pipelines; /* count pipelines */
    size_t count;            /* count of pipelines */
    char *next_page_token;   /* for the next page; "" on the last (never NULL) */
} kec_pipeline_page;

/* Frees what page holds and zeroes it. */
KEC_API void kec_pipeline_page_release(kec_pipeline_page *page);

/* ListPipelines. q may be NULL (everything, first page). */
KEC_API int kec_list_pipelines(kec_client *c, const kec_list_query *q, kec_pipeline_page *out,
                               kec_error *err);

/* grpc.health.v1 Check of the whole server (service ""): *serving is 1 when it answers
 * SERVING, 0 for any other status it answers. KEC_ESTATUS when it does not answer. */
KEC_API int kec_health_check(kec_client *c, int *serving, kec_error *err);

/* ---- activity (GetStats) ----------------------------------------------------------------- */

#define KEC_STATS_DEFAULT_WINDOW 3600 /* seconds of activity GetStats answers when window is 0 */
#define KEC_STATS_DEFAULT_STEP                                                                     \
    60 /* bucket width when step is 0 (10 when 60 does not divide                                  \
          the window) */

/* One bucket of activity: [start, start + step). */
typedef struct kec_stats_bucket {
    kec_time start;  /* a multiple of step seconds since the epoch */
    int64_t events;  /* events accepted as new (not resends, not refused ones) */
    int64_t success; /* runs that entered SUCCESS */
    int64_t failure; /* runs that entered FAILURE */
    int64_t aborted; /* runs that entered ABORTED */
} kec_stats_bucket;

/* kedro-eventd's recent activity. */
typedef struct kec_stats {
    kec_time now;              /* the server's time of the answer */
    kec_time events_since;     /* events are counted from then: the later of the server's
                                  start and the first bucket's start (they are kept in memory) */
    int window;                /* seconds covered */
    int step;                  /* bucket width, seconds */
    kec_stats_bucket *buckets; /* count buckets (window / step), oldest first; the last holds
                                  now */
    size_t count;              /* count of buckets */
    int64_t staged;            /* pipelines STAGED now */
    int64_t ready;             /* pipelines READY now: the backlog */
    int64_t started;           /* pipelines STARTED now: runs in progress */
} kec_stats;

/* GetStats: the activity of the last window seconds (60..3600; 0: KEC_STATS_DEFAULT_WINDOW) in
 * buckets of step seconds (10..window, a multiple of 10 dividing window; 0: the default). out
 * is released with kec_stats_release. KEC_ESTATUS with INVALID_ARGUMENT naming window_seconds
 * or step_seconds when they break those rules. */
KEC_API int kec_get_stats(kec_client *c, int window, int step, kec_stats *out, kec_error *err);

/* Frees what s holds and zeroes it; NULL is fine. */
KEC_API void kec_stats_release(kec_stats *s);

/* {"now", "window", "step", "events_since", "buckets": [{"start", "events", "success",
 * "failure", "aborted"}], "staged", "ready", "started"}, times as RFC 3339 (as in the pipeline
 * dicts): the shim's GET /stats answer. A new string (free() it), or NULL when out of memory. */
KEC_API char *kec_stats_to_json(const kec_stats *s);

/* ---- watching pipelines (server streams) ------------------------------------------------ */

/* A server stream in progress (kec_watch_*_start; kec_stream_logs). */
typedef struct kec_stream kec_stream;

/* Called with each pipeline record a watch receives, in order, on the client's thread (p
 * valid during the call only; must not make blocking calls on this client). Non-zero stops
 * the watch. */
typedef int (*kec_pipeline_fn)(void *ctx, const kec_pipeline *p);

/* Called once when an asynchronous watch ends, on the client's thread: rc KEC_OK when the
 * server ended it OK or the caller stopped it (the callback's non-zero return,
 * kec_stream_cancel, kec_stream_free); else the error (KEC_ESTATUS with the gRPC status,
 * KEC_EDECODE for a record that does not decode). */
typedef void (*kec_stream_done_fn)(void *ctx, int rc, const kec_error *err);

/* Which changes kec_watch_pipelines streams; NULL/""/0 members match everything. */
typedef struct kec_watch_filter {
    const char *name;   /* only pipelines with this name */
    kec_state state;    /* only changes into this state */
    const char *parent; /* only children of this pipeline */
} kec_watch_filter;

/* WatchPipeline: fn gets the pipeline's current record, then its record after each state
 * change; the server ends the stream OK after a record in an ended state (SUCCESS, FAILURE,
 * ABORTED). A record may come twice, a state is never missed. Blocks until the end: KEC_OK
 * (ended, or fn stopped it), KEC_ESTATUS (NOT_FOUND for an unknown id, INVALID_ARGUMENT for
 * an empty one, UNAVAILABLE when the server goes away or shuts down, RESOURCE_EXHAUSTED when
 * this reader fell too far behind). No deadline: a watch lasts as long as the run. */
KEC_API int kec_watch_pipeline(kec_client *c, const char *id, kec_pipeline_fn fn, void *ctx,
                               kec_error *err);

/* WatchPipelines: fn gets the record of every pipeline matching f (NULL: all) whose state
 * changes from now on (new pipelines included), until fn returns non-zero (KEC_OK) or the
 * stream fails (as kec_watch_pipeline). Blocks. */
KEC_API int kec_watch_pipelines(kec_client *c, const kec_watch_filter *f, kec_pipeline_fn fn,
                                void *ctx, kec_error *err);

/* The asynchronous forms: start the watch and return at once with a handle in *out. fn and
 * done run on the client's thread; done exactly once when KEC_OK is returned (never on
 * failure). The caller frees the handle with kec_stream_free (from any thread, also inside
 * fn or done); ctx must stay valid until done has run. */
KEC_API int kec_watch_pipeline_start(kec_client *c, const char *id, kec_pipeline_fn fn,
                                     kec_stream_done_fn done, void *ctx, kec_stream **out,
                                     kec_error *err);
KEC_API int kec_watch_pipelines_start(kec_client *c, const kec_watch_filter *f, kec_pipeline_fn fn,
                                      kec_stream_done_fn done, void *ctx, kec_stream **out,
                                      kec_error *err);

/* Stops a stream from any thread: no callback but done follows. NULL is fine. */
KEC_API void kec_stream_cancel(kec_stream *s);

/* Cancels the stream if it is still open and gives up the handle; done still runs once if it
 * has not (possibly after this returns). NULL is fine. */
KEC_API void kec_stream_free(kec_stream *s);

/* ---- a run's log (StreamLogs) ------------------------------------------------------------ */

#define KEC_LOGS_MAX_TAIL_LINES 100000 /* the most lines tail_lines may ask for */

/* Called with each piece of a run's log, in order, on the client's thread (data valid during
 * the call only; pieces need not end at a line; must not make blocking calls on this client).
 * Non-zero stops the stream. */
typedef int (*kec_log_fn)(void *ctx, const char *data, size_t len);

/* StreamLogs: fn gets the log of pipeline id (kedro-eventd's local runs), from the start or,
 * with tail_lines > 0, from its last tail_lines lines (at most KEC_LOGS_MAX_TAIL_LINES); with
 * follow, what is written after, until the run has ended and everything was sent (a run not
 * started yet is waited for). Blocks until the end: KEC_OK (the end, or fn stopped it), or
 * KEC_ESTATUS (NOT_FOUND for an unknown id, FAILED_PRECONDITION for a run forwarded to
 * kedro-graphql, INVALID_ARGUMENT for a bad id or tail_lines, UNAVAILABLE when the server
 * goes away, shuts down or serves too many streams), KEC_EDECODE. No deadline. */
KEC_API int kec_stream_logs(kec_client *c, const char *id, int follow, int tail_lines,
                            kec_log_fn fn, void *ctx, kec_error *err);

/* The asynchronous form: starts the stream and returns at once with a handle in *out (free it
 * with kec_stream_free; kec_stream_cancel stops it); fn and done run on the client's thread,
 * done exactly once when KEC_OK is returned (never on failure). ctx must stay valid until done
 * has run. */
KEC_API int kec_stream_logs_start(kec_client *c, const char *id, int follow, int tail_lines,
                                  kec_log_fn fn, kec_stream_done_fn done, void *ctx,
                                  kec_stream **out, kec_error *err);

/* ---- asynchronous calls ------------------------------------------------------------------ */

/* Called once per started call, on one of the client's threads, when the call ends. rc is
 * KEC_OK with result filled in (the callback owns it: release it), or an error with err set
 * (result then zeroed). err and result live only during the callback. */
typedef void (*kec_dispatch_cb)(void *ctx, int rc, const kec_error *err,
                                kec_dispatch_result *result);

/* Starts a Dispatch of ev (encoded before this returns; ev may be freed then) and returns
 * without waiting. On KEC_OK, cb fires exactly once; on failure it never fires. */
KEC_API int kec_dispatch_async(kec_client *c, const kec_event *ev, kec_dispatch_cb cb, void *ctx,
                               kec_error *err);

/* Called once when a DispatchBatch started with kec_dispatch_batch_async ends: rc KEC_OK with
 * count results (the callback owns the array: kec_dispatch_results_free), or an error. */
typedef void (*kec_dispatch_batch_cb)(void *ctx, int rc, const kec_error *err,
                                      kec_dispatch_result *results, size_t count);

/* Starts a DispatchBatch of count events; the same contract as kec_dispatch_async. */
KEC_API int kec_dispatch_batch_async(kec_client *c, kec_event *const *events, size_t count,
                                     kec_dispatch_batch_cb cb, void *ctx, kec_error *err);

#ifdef __cplusplus
}
#endif

#endif
