/* forward.h -- the local forwarder: runs READY pipelines as `kedro run` processes. */
#ifndef KE_FORWARD_H
#define KE_FORWARD_H

#include "errors.h"
#include "store.h"

/* Settings of the local runner. */
typedef struct ke_forward_options {
    const char *kedro_bin;   /* executable, looked up on PATH when it has no '/' ("kedro") */
    const char *project_dir; /* Kedro project directory the runs start in */
    const char *kedro_env;   /* --env passed to kedro, or NULL */
    const char *data_dir;    /* run files in data_dir/runs, logs in data_dir/logs */
    const char *server_addr; /* exported as KEDRO_EVENTS_SERVER (host:port) */
    const char *http_url;    /* exported as KEDRO_EVENTS_HTTP_URL, or NULL */
    int max_runs;            /* runs at once (>= 1) */
    int timeout_seconds;     /* per run; 0 = none. Over it: SIGTERM, then SIGKILL 5 s later */
    const char *supervisor;  /* kedro-eventd-supervisor; NULL: the one beside this executable */
    const char *run_token;   /* exported as KEDRO_EVENTS_TOKEN, or NULL (copied) */
} ke_forward_options;

typedef struct ke_forwarder ke_forwarder;

/* Starts the supervisor thread, which claims READY pipelines (oldest first)
 * while fewer than max_runs run, each under its own kedro-eventd-supervisor process
 * (supervise.h), so a run's whole process tree ends with it. Creates data_dir/runs and
 * data_dir/logs mode 0700. Returns KE_OK, or KE_EIO (a directory, or the supervisor executable,
 * is missing; err names it) / KE_EINVAL / KE_ENOMEM. */
int ke_forwarder_start(ke_store *s, const ke_forward_options *o, ke_forwarder **out, ke_error *err);

/* There may be new READY work (ke_store_on_ready hook); cheap, any thread. */
void ke_forwarder_wake(void *forwarder);

/* Stops claiming, lets running pipelines finish within grace_ms, then ends
 * their process trees (SIGTERM, then SIGKILL) and records them ABORTED.
 * Joins the thread. */
void ke_forwarder_stop(ke_forwarder *f, int grace_ms);

/* Runs started from now on get token (copied; NULL: none) as KEDRO_EVENTS_TOKEN. Any thread;
 * out of memory keeps the previous token and returns KE_ENOMEM. */
int ke_forwarder_set_run_token(ke_forwarder *f, const char *token);

/* Frees a stopped forwarder; NULL is fine. */
void ke_forwarder_free(ke_forwarder *f);

#endif
