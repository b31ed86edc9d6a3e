/* spawn.c -- starting one run: kedro-eventd-supervisor as a child process, which starts kedro;
 * argv and environment built before fork, the child set up with async-signal-safe calls only,
 * failures before kedro's exec reported up a pipe. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "supervise.h"

#define MAX_ENV_STRING 131072 /* Linux MAX_ARG_STRLEN: the longest string execve passes */
#define ARGV_MAX 8            /* kedro_bin run --pipeline=P --config F [--env E] NULL */
#define N_VARS 5              /* PIPELINE_ID, EVENT, SERVER, HTTP_URL, TOKEN */
#define VAR_TOKEN 4           /* vars[VAR_TOKEN] holds the run token: wiped before free */

extern char **environ;

/* What the child needs, built before fork so the child only makes async-signal-safe calls. */
typedef struct spawn {
    char *argv[ARGV_MAX]; /* borrowed strings, NULL-terminated */
    char **envp;          /* NULL-terminated; entries borrowed from environ, plus vars */
    char *vars[N_VARS];   /* the KEDRO_EVENTS_* entries we made (malloc'd), or NULL */
    char **exe;           /* paths to try with execve, in PATH order, NULL-terminated; owned */
    int event_omitted;    /* KEDRO_EVENTS_EVENT was too long for execve and is left out */
    char *pipeline_arg;   /* "--pipeline=NAME"; malloc'd */
    char *nums[3];        /* the supervisor's SERVER_PID, REPORT_FD and N; malloc'd */
    char **sup_argv;      /* the supervisor's argv, borrowing all of the above; owned */
} spawn;

/* Moves fd to a number >= 3 (close-on-exec kept) so that putting the child's stdin, stdout and
 * stderr in place cannot overwrite it. Returns the fd, or -1 (fd closed) on failure. */
int ke_spawn_above_stdio(int fd)
{
    int moved;

    if (fd < 0 || fd > 2)
        return fd;
    moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return moved;
}

static void spawn_release(spawn *sp)
{
    size_t i;

    if (sp->vars[VAR_TOKEN] != NULL)
        explicit_bzero(sp->vars[VAR_TOKEN], strlen(sp->vars[VAR_TOKEN]));
    for (i = 0; i < N_VARS; i++)
        free(sp->vars[i]);
    for (i = 0; sp->exe != NULL && sp->exe[i] != NULL; i++)
        free(sp->exe[i]);
    free(sp->exe);
    free(sp->envp);
    free(sp->pipeline_arg);
    for (i = 0; i < 3; i++)
        free(sp->nums[i]);
    free(sp->sup_argv);
    memset(sp, 0, sizeof *sp);
}

static int has_name(const char *entry, const char *name)
{
    size_t n = strlen(name);

    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* The candidates execvp would try for bin: bin itself when it holds a '/' (relative to the
 * project directory), else each PATH directory (the C library's default when PATH is unset). */
static int exe_candidates(const char *bin, char ***out)
{
    const char *path = getenv("PATH"), *p, *colon;
    char **exe = NULL;
    size_t n = 1, i = 0, len;

    if (strchr(bin, '/') != NULL)
        path = NULL;
    else if (path == NULL)
        path = "/bin:/usr/bin";
    for (p = path; p != NULL && *p != '\0'; p++)
        n += *p == ':';
    exe = calloc(n + 1, sizeof *exe);
    if (exe == NULL)
        return KE_ENOMEM;
    *out = exe;
    if (path == NULL) {
        exe[0] = strdup(bin);
        return exe[0] != NULL ? KE_OK : KE_ENOMEM;
    }
    for (p = path;; p = colon + 1) {
        colon = strchr(p, ':');
        len = colon != NULL ? (size_t)(colon - p) : strlen(p);
        /* An empty entry is the working directory, as for execvp. */
        if (len == 0)
            exe[i] = strdup(bin);
        else if (asprintf(&exe[i], "%.*s/%s", (int)len, p, bin) < 0)
            exe[i] = NULL;
        if (exe[i] == NULL)
            return KE_ENOMEM;
        i++;
        if (colon == NULL)
            break;
    }
    return KE_OK;
}

/* Builds argv, envp and the executable candidates for p's run. Returns KE_OK or KE_ENOMEM
 * (sp then partly filled: spawn_release it either way). */
static int spawn_prepare(const ke_spawn_spec *f, const ke_pipeline *p, const char *run_path,
                         spawn *sp)
{
    const char *event = NULL;
    size_t n = 0, i, k = 0;
    int a = 0;

    memset(sp, 0, sizeof *sp);
    if (asprintf(&sp->pipeline_arg, "--pipeline=%s", p->name) < 0) {
        sp->pipeline_arg = NULL;
        return KE_ENOMEM;
    }
    sp->argv[a++] = (char *)f->kedro_bin;
    sp->argv[a++] = "run";
    sp->argv[a++] = sp->pipeline_arg;
    sp->argv[a++] = "--config";
    sp->argv[a++] = (char *)run_path;
    if (f->kedro_env != NULL) {
        sp->argv[a++] = "--env";
        sp->argv[a++] = (char *)f->kedro_env;
    }
    sp->argv[a] = NULL;

    for (i = 0; i < p->n_params; i++)
        if (p->params[i].name != NULL && strcmp(p->params[i].name, "event") == 0)
            event = p->params[i].value;
    if (asprintf(&sp->vars[0], "KEDRO_EVENTS_PIPELINE_ID=%s", p->id) < 0) {
        sp->vars[0] = NULL;
        return KE_ENOMEM;
    }
    if (event != NULL && strlen("KEDRO_EVENTS_EVENT=") + strlen(event) + 1 > MAX_ENV_STRING)
        sp->event_omitted = 1;
    else if (event != NULL && asprintf(&sp->vars[1], "KEDRO_EVENTS_EVENT=%s", event) < 0) {
        sp->vars[1] = NULL;
        return KE_ENOMEM;
    }
    if (f->server_addr != NULL &&
        asprintf(&sp->vars[2], "KEDRO_EVENTS_SERVER=%s", f->server_addr) < 0) {
        sp->vars[2] = NULL;
        return KE_ENOMEM;
    }
    if (f->http_url != NULL &&
        asprintf(&sp->vars[3], "KEDRO_EVENTS_HTTP_URL=%s", f->http_url) < 0) {
        sp->vars[3] = NULL;
        return KE_ENOMEM;
    }
    if (f->run_token != NULL &&
        asprintf(&sp->vars[VAR_TOKEN], "KEDRO_EVENTS_TOKEN=%s", f->run_token) < 0) {
        sp->vars[VAR_TOKEN] = NULL;
        return KE_ENOMEM;
    }

    while (environ != NULL && environ[n] != NULL)
        n++;
    sp->envp = calloc(n + N_VARS + 1, sizeof *sp->envp);
    if (sp->envp == NULL)
        return KE_ENOMEM;
    for (i = 0; i < n; i++)
        if (!has_name(environ[i], "KEDRO_EVENTS_PIPELINE_ID") &&
            !has_name(environ[i], "KEDRO_EVENTS_EVENT") &&
            !has_name(environ[i], "KEDRO_EVENTS_SERVER") &&
            !has_name(environ[i], "KEDRO_EVENTS_HTTP_URL") &&
            !has_name(environ[i], "KEDRO_EVENTS_TOKEN"))
            sp->envp[k++] = environ[i];
    for (i = 0; i < N_VARS; i++)
        if (sp->vars[i] != NULL)
            sp->envp[k++] = sp->vars[i];
    sp->envp[k] = NULL;
    return exe_candidates(f->kedro_bin, &sp->exe);
}

/* The child between fork and exec of the supervisor: async-signal-safe calls only
 * (everything else was built before the fork). Never returns. */
static _Noreturn void child_exec(const ke_spawn_spec *f, const spawn *sp, int log_fd, int report_fd)
{
    int fd;

    /* Own process group, so terminal signals meant for the server do not reach the run. */
    setpgid(0, 0);
    /* The run ends with the server; if it died before this line, the parent is someone else. */
    prctl(PR_SET_PDEATHSIG, KE_SUPERVISE_SIG_KILL);
    if (getppid() != f->parent)
        _exit(KE_CHILD_EXIT);
    ke_child_reset_signals();
    /* The three fds are >= 3, so dup2 cannot overwrite one of them; dup2 clears close-on-exec. */
    if (dup2(f->null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        ke_child_fail(report_fd, KE_CHILD_SETUP, errno, "set up", "stdio");
    /* Nothing else crosses exec but the report pipe, which the supervisor hands to kedro. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
        for (fd = 3; fd <= f->max_fd; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (fcntl(report_fd, F_SETFD, 0) != 0)
        ke_child_fail(report_fd, KE_CHILD_SETUP, errno, "set up", "report pipe");
    if (chdir(f->project_dir) != 0)
        ke_child_fail(report_fd, KE_CHILD_CHDIR, errno, "enter project directory", f->project_dir);
    syscall(SYS_execveat, f->supervisor_fd, "", sp->sup_argv, sp->envp, AT_EMPTY_PATH);
    ke_child_fail(report_fd, KE_CHILD_SUPERVISOR, errno, "run", f->supervisor);
}

/* The supervisor's argv (supervise.h) around sp->argv, for a report pipe at report_fd.
 * Returns KE_OK or KE_ENOMEM. */
static int supervisor_argv(const ke_spawn_spec *f, spawn *sp, int report_fd)
{
    size_t n_exe = 0, n_arg = 0, i, k = 0;

    while (sp->exe[n_exe] != NULL)
        n_exe++;
    while (sp->argv[n_arg] != NULL)
        n_arg++;
    if (asprintf(&sp->nums[0], "%ld", (long)f->parent) < 0 ||
        asprintf(&sp->nums[1], "%d", report_fd) < 0 || asprintf(&sp->nums[2], "%zu", n_exe) < 0)
        return KE_ENOMEM;
    sp->sup_argv = calloc(n_exe + n_arg + 6, sizeof *sp->sup_argv);
    if (sp->sup_argv == NULL)
        return KE_ENOMEM;
    sp->sup_argv[k++] = (char *)f->supervisor;
    for (i = 0; i < 3; i++)
        sp->sup_argv[k++] = sp->nums[i];
    for (i = 0; i < n_exe; i++)
        sp->sup_argv[k++] = sp->exe[i];
    sp->sup_argv[k++] = "--";
    for (i = 0; i < n_arg; i++)
        sp->sup_argv[k++] = sp->argv[i];
    sp->sup_argv[k] = NULL;
    return KE_OK;
}

ke_spawn_result ke_spawn_run(const ke_spawn_spec *spec, const ke_pipeline *p, const char *run_path,
                             int log_fd, pid_t *pid, int *report_fd, int *err, const char **what)
{
    ke_spawn_result rc = KE_SPAWN_OK;
    int pipefd[2] = {-1, -1};
    spawn sp;

    *err = 0;
    *what = "";
    *pid = -1;
    *report_fd = -1;
    if (spawn_prepare(spec, p, run_path, &sp) != KE_OK) {
        rc = KE_SPAWN_NOMEM;
        goto out;
    }
    if (sp.event_omitted)
        dprintf(log_fd,
                "kedro-eventd: KEDRO_EVENTS_EVENT is not set: the event is longer than the "
                "%d bytes one environment string may hold; the run file's event parameter "
                "has it\n",
                MAX_ENV_STRING);
    /* Non-blocking: the report is read once the child is reaped, and must never wait. */
    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
        *what = "pipe";
        goto sys;
    }
    pipefd[1] = ke_spawn_above_stdio(pipefd[1]);
    if (pipefd[1] < 0) {
        *what = "fcntl";
        goto sys;
    }
    if (supervisor_argv(spec, &sp, pipefd[1]) != KE_OK) {
        rc = KE_SPAWN_NOMEM;
        goto out;
    }
    *pid = fork();
    if (*pid < 0) {
        *what = "fork";
        goto sys;
    }
    if (*pid == 0)
        child_exec(spec, &sp, log_fd, pipefd[1]);
    *report_fd = pipefd[0];
    pipefd[0] = -1;
    goto out;
sys:
    *err = errno;
    rc = KE_SPAWN_SYS;
out:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    spawn_release(&sp);
    return rc;
}

ke_spawn_result ke_spawn_report(int report_fd, int *err)
{
    ke_child_report rep;
    ssize_t got;

    *err = 0;
    do
        got = read(report_fd, &rep, sizeof rep);
    while (got < 0 && errno == EINTR);
    /* Nothing (EOF, or EAGAIN should a writer linger): kedro's exec succeeded. The pipe is
     * close-on-exec in the supervisor's child, and the supervisor closes it after the fork. */
    if (got != (ssize_t)sizeof rep)
        return KE_SPAWN_OK;
    *err = rep.err;
    return rep.stage == KE_CHILD_EXEC         ? KE_SPAWN_EXEC
           : rep.stage == KE_CHILD_CHDIR      ? KE_SPAWN_CHDIR
           : rep.stage == KE_CHILD_SUPERVISOR ? KE_SPAWN_SUPERVISOR
                                              : KE_SPAWN_SETUP;
}
