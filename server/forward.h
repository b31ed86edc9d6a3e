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
    int cancel_grace;        /* seconds from a cancelled run's SIGTERM to its tree's SIGKILL */
} ke_forward_options;

#define KE_DEFAULT_CANCEL_GRACE 10 /* --cancel-grace SECONDS */

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

/* Called once per ke_forwarder_cancel, on the runner's thread (or the caller's, at once):
 * KE_OK once the run's final status has committed -- ABORTED KE_CANCEL_ERROR (store.h), or
 * what it ended with when it ended on its own first; KE_ENOTFOUND when no run of that id is
 * held by this runner (it was recorded before the request arrived); KE_EUNAVAIL when the
 * runner stopped first; KE_ENOMEM. Must not block. */
typedef void (*ke_forwarder_cancel_cb)(void *ctx, int rc);

/* Ends the run of pipeline id (any thread): its supervisor gets SIGTERM, which it passes on to
 * kedro's process group; the whole tree gets SIGKILL cancel_grace seconds later; the run is
 * recorded ABORTED KE_CANCEL_ERROR with its exit code or signal and the log tail, then cb is
 * called. A run already ending (cancelled, timed out, shut down) is not signalled again: cb
 * waits for the same end. */
void ke_forwarder_cancel(ke_forwarder *f, const char *id, ke_forwarder_cancel_cb cb, void *ctx);

/* Frees a stopped forwarder; NULL is fine. */
void ke_forwarder_free(ke_forwarder *f);

#endif
