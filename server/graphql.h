/* graphql.h -- the kedro-graphql forwarder's GraphQL: building its requests (cJSON, values only
 * in variables) and reading its answers (data per alias, errors, what to retry). Pure
 * functions, no I/O. */
#ifndef KE_GRAPHQL_H
#define KE_GRAPHQL_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"

#define KE_GQL_MAX_BATCH 16             /* pipelines per createPipeline / updatePipeline request */
#define KE_GQL_MAX_READ 100             /* our ids per readPipelines request (lookup, mirror) */
#define KE_GQL_ID_TAG "kedro_events_id" /* the kedro-graphql tag holding our pipeline id */
#define KE_GQL_MAX_HEADERS 32  /* --graphql-header flags, and lines of --graphql-headers-file */
#define KE_GQL_HEADER_MAX 8192 /* bytes of one "Name: value" header */
#define KE_GQL_ANSWER_MAX (64u << 20) /* bytes of one answer body; past it: a transport failure */
#define KE_GQL_TRACE_LINES 10         /* the last lines of taskTraceback kept in an error */
#define KE_GQL_TRACE_BYTES 2048       /* ... and at most this many bytes of it */

/* What to do about an answer, or one alias of it. */
typedef enum ke_gql_class {
    KE_GQL_OK,        /* it worked */
    KE_GQL_RETRY,     /* it may work later: transport failure, HTTP 408/429/5xx, or a GraphQL
                       * error about a time-out, a connection or unavailability */
    KE_GQL_PERMANENT, /* kedro-graphql refused it and will again: FAILURE with its message */
    KE_GQL_UNKNOWN,   /* no data and no error for this alias (another alias failed, so data is
                       * null): a create or update may or may not have happened: look it up */
    KE_GQL_TOO_LARGE, /* HTTP 413: the request was refused unread for its size: send its
                       * pipelines one to a request; one alone too large is a FAILURE */
} ke_gql_class;

/* A pipeline as a create or an update sends it. */
typedef struct ke_gql_input {
    const ke_pipeline *p;  /* our record: name, parameters (in order), tags */
    const char *remote_id; /* update: kedro-graphql's id (the `id` parameter's value, and the
                            * updatePipeline id); NULL for a create (no `id` parameter sent) */
    const char *parent;    /* the parent's kedro-graphql id, or NULL */
} ke_gql_input;

/* Each builder returns a malloc'd request body {"query": ..., "variables": ...}, or NULL when
 * memory runs out. The query text depends only on n (aliases c0.., u0..), so kedro-graphql
 * can cache it. 1 <= n <= KE_GQL_MAX_BATCH. */
char *ke_gql_create_request(const ke_gql_input *in, size_t n);
char *ke_gql_update_request(const ke_gql_input *in, size_t n);

/* readPipelines for the pipelines tagged KE_GQL_ID_TAG with one of ids (1..KE_GQL_MAX_READ),
 * up to limit answers. full: every field the mirror records; else only id, tags and status
 * states (a lookup). */
char *ke_gql_read_request(const char *const *ids, size_t n, int limit, int full);

/* An answer read; release with ke_gql_answer_release. */
typedef struct ke_gql_answer {
    void *root;       /* the parsed body (cJSON *), or NULL */
    void *data;       /* root's "data" object, or NULL (null, absent, not an object) */
    void *errors;     /* root's "errors" array, or NULL */
    ke_gql_class cls; /* the answer as a whole: OK when it is a GraphQL answer (data and/or
                       * errors); RETRY / PERMANENT when no alias can be trusted */
    char msg[512];    /* why, when cls is not OK; the first error's message otherwise */
} ke_gql_answer;

/* Reads an answer: http_status 0 = a transport failure (transport_error says which, may be
 * NULL). HTTP 408, 429 and 5xx -> RETRY; any other status but 200 -> RETRY too, unless the body
 * is a GraphQL answer with errors (then as below): kedro-graphql's access checks (401, 403) are
 * fixed by its operator, not by failing pipelines. A body that is not JSON, or not an object
 * with "data" or "errors", is RETRY. An error without a path (validation: the whole request)
 * makes cls RETRY or PERMANENT by its message. Never fails; a->root NULL when unparsable. */
void ke_gql_answer_read(ke_gql_answer *a, long http_status, const char *transport_error,
                        const char *body, size_t len);

void ke_gql_answer_release(ke_gql_answer *a);

/* The result of one alias (e.g. "c3"): OK with *obj its object, or RETRY / PERMANENT with
 * *msg kedro-graphql's message (borrowed from a), or UNKNOWN. When a->cls is not OK, that. */
ke_gql_class ke_gql_alias(const ke_gql_answer *a, const char *alias, const void **obj,
                          const char **msg);

/* RETRY when a GraphQL error's message speaks of a time-out, a connection or unavailability,
 * else PERMANENT. */
ke_gql_class ke_gql_classify_message(const char *msg);

/* readPipelines' answer: its pipelines array (cJSON *) and whether more pages follow
 * (pageMeta.nextCursor set). NULL when the answer lacks it. */
const void *ke_gql_read_pipelines(const ke_gql_answer *a, int *more);

/* The first pipeline of ps (from ke_gql_read_pipelines) tagged KE_GQL_ID_TAG = our_id, and
 * with id remote_id unless that is NULL; NULL when there is none. */
const void *ke_gql_find(const void *ps, const char *our_id, const char *remote_id);

/* A pipeline object's string field, or NULL. */
const char *ke_gql_str(const void *obj, const char *key);

/* The value of the pipeline object's tag `key`, or NULL. */
const char *ke_gql_tag(const void *pipeline, const char *key);

/* The pipeline object's last status entry (cJSON *), or NULL; *state gets its state name
 * (kedro-graphql's, e.g. "STAGED"; "" when missing). */
const void *ke_gql_last_status(const void *pipeline, const char **state);

/* Maps kedro-graphql's state name to ours: STARTED, SUCCESS, FAILURE, REVOKED -> ABORTED;
 * READY, PENDING, RECIEVED, RETRY -> READY; STAGED -> STAGED; anything else UNSPECIFIED. */
ke_state ke_gql_state(const char *name);

/* Parses ISO 8601 text ("2026-12-02T04:05:06.123456", optional "Z" or +hh:mm; no offset =
 * UTC) into microseconds since the epoch. Returns 0 on success, -1 when it is not such text. */
int ke_gql_parse_time(const char *s, int64_t *us);

/* The snake_case JSON object of the pipeline's own keys (data_catalog, describe, nodes,
 * project_version, pipeline_version, kedro_graphql_version) / of a status entry's keys
 * (session, filtered_nodes, task_id, ...), null where the answer lacks one; malloc'd text, NULL
 * when out of memory -- and, for the pipeline, when the answer has none of its keys (the
 * update's answer selects none: the recorded ones stay). */
char *ke_gql_pipeline_json(const void *pipeline);
char *ke_gql_status_json(const void *status);

/* The error text of a failed status entry: taskException, then the last KE_GQL_TRACE_LINES
 * lines of taskTraceback when present; malloc'd, NULL when neither is there. */
char *ke_gql_status_error(const void *status);

/* Checks one "Name: value" header: the name an HTTP token, the value free of CR, LF and NUL,
 * at most KE_GQL_HEADER_MAX bytes. Returns 0, or -1 with why in msg (the value never shown). */
int ke_gql_header_check(const char *line, size_t len, char *msg, size_t cap);

/* Splits a headers file's text into lines "Name: value" (blank lines and lines starting with
 * '#' skipped, surrounding spaces of the value trimmed, CRLF accepted), checking each. *out
 * receives a malloc'd array of *n malloc'd strings (free with ke_gql_headers_free). Returns 0,
 * or -1 with msg naming the line (never its value) when one is refused, there are more than
 * KE_GQL_MAX_HEADERS, or memory runs out. */
int ke_gql_headers_parse(const char *text, char ***out, size_t *n, char *msg, size_t cap);

void ke_gql_headers_free(char **h, size_t n);

#endif
