/* spawn.h -- starting one run: kedro-eventd-supervisor (supervise.h) as a child process, which
 * starts kedro; argv and environment built before fork, the child set up with async-signal-safe
 * calls only, failures before kedro's exec reported back. */
#ifndef KE_SPAWN_H
#define KE_SPAWN_H

#include <sys/types.h>

#include "pipeline.h"

/* The most fds marked close-on-exec by hand when close_range is missing. */
#define KE_SPAWN_MAX_FD_SWEEP 65536

/* What every run is started with. Strings are borrowed and must outlive the runs. */
typedef struct ke_spawn_spec {
    const char *kedro_bin;   /* executable; looked up on PATH (as execvp) when it has no '/' */
    const char *kedro_env;   /* passed as --env, or NULL */
    const char *server_addr; /* exported as KEDRO_EVENTS_SERVER, or NULL */
    const char *http_url;    /* exported as KEDRO_EVENTS_HTTP_URL, or NULL */
    const char *project_dir; /* the run's working directory */
    int null_fd;             /* /dev/null, fd >= 3: the run's stdin */
    int max_fd;              /* highest fd swept when close_range is unavailable */
    pid_t parent;            /* the server's pid: a child whose parent changed exits */
    int supervisor_fd;       /* O_PATH fd of kedro-eventd-supervisor, fd >= 3, run by execveat */
    const char *supervisor;  /* its path: the supervisor's argv[0] and error messages */
    const char *run_token;   /* exported as KEDRO_EVENTS_TOKEN, or NULL (never inherited) */
} ke_spawn_spec;

/* How ke_spawn_run ended. */
typedef enum ke_spawn_result {
    KE_SPAWN_OK,         /* the child runs kedro */
    KE_SPAWN_NOMEM,      /* building argv/environment failed */
    KE_SPAWN_SYS,        /* a call in the server failed (*what names it: "pipe", "fork") */
    KE_SPAWN_SETUP,      /* the child could not set up its stdio */
    KE_SPAWN_CHDIR,      /* the child could not enter project_dir */
    KE_SPAWN_EXEC,       /* the child could not exec kedro_bin */
    KE_SPAWN_SUPERVISOR, /* the child could not exec the supervisor */
} ke_spawn_result;

/* Starts `kedro_bin run --pipeline=<p->name> --config <run_path> [--env E]` (the name is one
 * argument, so it can never be read as an option) under kedro-eventd-supervisor, with stdin from
 * /dev/null and stdout+stderr to log_fd (>= 3). The supervisor is the child, in its own process
 * group, with PR_SET_PDEATHSIG KE_SUPERVISE_SIG_KILL (the run's tree dies with the server); kedro
 * runs in a process group of its own, with default signal dispositions, an empty mask, and the
 * environment plus KEDRO_EVENTS_PIPELINE_ID, KEDRO_EVENTS_EVENT (left out,
 * with a note in the log, when longer than one environment string may be) and
 * KEDRO_EVENTS_SERVER, KEDRO_EVENTS_HTTP_URL and KEDRO_EVENTS_TOKEN (when set; a KEDRO_EVENTS_TOKEN
 * of the server's own environment is never passed on). Call it from a thread that outlives
 * the child (PDEATHSIG fires when the forking thread exits). It does not wait for kedro's exec, so
 * starting runs is never serialised on it. On KE_SPAWN_OK *pid is the supervisor (also its
 * process group id), which the caller must reap and signals as supervise.h says (it exits as
 * kedro did, once kedro's whole tree has ended), and *report_fd the read end of the report pipe,
 * the caller's to read with ke_spawn_report once the child is reaped, and to close. Otherwise
 * *pid and *report_fd are -1, *err holds the errno, *what a static string (KE_SPAWN_SYS: the call
 * that failed; else "") and no child is left. log_fd and spec's fds stay the caller's to close. */
ke_spawn_result ke_spawn_run(const ke_spawn_spec *spec, const ke_pipeline *p, const char *run_path,
                             int log_fd, pid_t *pid, int *report_fd, int *err, const char **what);

/* After the child of ke_spawn_run has been reaped: KE_SPAWN_OK when kedro was exec'd (its wait
 * status is kedro's), else why kedro never ran (KE_SPAWN_SETUP, _CHDIR, _EXEC, _SUPERVISOR), with
 * *err the errno. Never blocks. */
ke_spawn_result ke_spawn_report(int report_fd, int *err);

/* Moves fd to a number >= 3 (close-on-exec kept) so that putting the child's stdin, stdout
 * and stderr in place cannot overwrite it. Returns the fd, or -1 (fd closed) on failure. */
int ke_spawn_above_stdio(int fd);

#endif
