/* pipeline.h -- the pipeline record: a Kedro run, its parameters, tags and status history. */
#ifndef KE_PIPELINE_H
#define KE_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* Lifecycle states; the numbers are kedro.events.v1.PipelineStatus.State's. */
typedef enum ke_state {
    KE_STATE_UNSPECIFIED = 0, /* never stored; "any" in a filter */
    KE_STATE_STAGED = 1,      /* recorded, not yet released to a runner */
    KE_STATE_READY = 2,       /* waiting for a runner */
    KE_STATE_STARTED = 3,     /* running */
    KE_STATE_SUCCESS = 4,     /* exited 0 */
    KE_STATE_FAILURE = 5,     /* failed */
    KE_STATE_ABORTED = 6,     /* ended on purpose */
} ke_state;

#define KE_ID_LEN 36 /* a UUID in text form, without the NUL */

/* A parameter handed to the run. */
typedef struct ke_param {
    char *name;  /* e.g. "event" */
    char *value; /* value as text */
    char *type;  /* "string", "int", "float" or "bool" */
} ke_param;

/* A key/value label. */
typedef struct ke_tag {
    char *key;   /* e.g. "event_source" */
    char *value; /* e.g. "example.com" */
} ke_tag;

/* One entry of the status history. Times are microseconds since the epoch; 0 = unset. */
typedef struct ke_status {
    ke_state state;      /* the state entered */
    int64_t changed_at;  /* when it was entered */
    int64_t started_at;  /* when the run started, once it has */
    int64_t finished_at; /* when the run finished, once it has */
    char *runner;        /* e.g. "local"; may be NULL */
    int has_exit_code;   /* 1 when exit_code holds the process exit code */
    int exit_code;       /* exit code, when has_exit_code */
    int signal;          /* the signal that ended the run, or 0 */
    char *error;         /* why it failed; may be NULL */
    char *log_path;      /* where its output is kept; may be NULL */
    char *remote_json;   /* forwarded runs: kedro-graphql's status entry as a JSON object
                          * (snake_case keys, e.g. task_id, session); NULL otherwise */
} ke_status;

/* A pipeline run record. */
typedef struct ke_pipeline {
    char id[KE_ID_LEN + 1]; /* UUID */
    char *name;             /* Kedro pipeline name */
    char *parent;           /* parent pipeline id, or NULL */
    ke_param *params;       /* parameters, in order */
    size_t n_params;        /* number of params */
    ke_tag *tags;           /* tags, in order */
    size_t n_tags;          /* number of tags */
    ke_status *status;      /* history, oldest first */
    size_t n_status;        /* number of status entries (>= 1 once stored) */
    int64_t created_at;     /* microseconds since the epoch */
    char *remote_id;        /* kedro-graphql's id once forwarded there, else NULL */
    char *remote_json;      /* forwarded runs: kedro-graphql's own pipeline keys (data_catalog,
                             * describe, nodes, project_version, pipeline_version,
                             * kedro_graphql_version) as a JSON object; NULL otherwise */
} ke_pipeline;

/* The current time in microseconds since the epoch. */
int64_t ke_now_us(void);

/* Writes a new version 7 UUID (text, lower case: Unix milliseconds, then random bits; later
 * ids sort after earlier ones) into id. */
void ke_new_id(char id[KE_ID_LEN + 1]);

/* Initializes p as an empty record named name with a new id, created now,
 * in state `state`. Returns KE_OK or KE_ENOMEM (p is then released). */
int ke_pipeline_init(ke_pipeline *p, const char *name, ke_state state);

/* Appends a parameter / tag (strings copied). Return KE_OK or KE_ENOMEM. */
int ke_pipeline_add_param(ke_pipeline *p, const char *name, const char *value, const char *type);
int ke_pipeline_add_tag(ke_pipeline *p, const char *key, const char *value);

/* Deep-copies src into dst. Returns KE_OK or KE_ENOMEM (dst then released). */
int ke_pipeline_copy(ke_pipeline *dst, const ke_pipeline *src);

/* Frees what p owns (not p itself) and zeroes it. */
void ke_pipeline_release(ke_pipeline *p);

/* Releases n records of an array and frees the array; NULL is fine. */
void ke_pipelines_free(ke_pipeline *ps, size_t n);

/* The current (last) state, or KE_STATE_UNSPECIFIED with no history. */
ke_state ke_pipeline_state(const ke_pipeline *p);

/* "READY" for KE_STATE_READY; "UNSPECIFIED" for anything unknown. */
const char *ke_state_name(ke_state s);

#endif
