/* forward_local.c -- the local forwarder: a supervisor thread that claims READY pipelines, runs
 * each as a `kedro run` under its own kedro-eventd-supervisor process, at most max_runs at once,
 * and records how each ended. */
#include "forward.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forward_cancel.h"
#include "kec_log.h"
#include "log_tail.h"
#include "runfile.h"
#include "secret_box.h"
#include "spawn.h"
#include "supervise.h"
#include "text.h"

#define RUNNER "local"        /* the runner name claims and records carry */
#define REAP_MS 100           /* longest sleep while children run */
#define IDLE_MS 1000          /* longest sleep when idle; READY rows are looked for this often */
#define STORE_RETRY_MS 1000   /* pause after a store error before trying again */
#define TIMEOUT_KILL_MS 5000  /* a timed-out run: SIGTERM, then SIGKILL this much later */
#define SHUTDOWN_KILL_MS 2000 /* shutdown: SIGTERM, then SIGKILL this much later */
#define BACKSTOP_MS 10000     /* a supervisor still there this long after the kill: SIGKILL it */
#define DIR_MODE 0700         /* runs/ and logs/: the runs' events are private */
#define FILE_MODE 0600        /* logs (run files: runfile.c) */

typedef enum slot_state {
    SLOT_FREE,    /* unused */
    SLOT_RUNNING, /* a child runs (or is a zombie not yet reaped) */
    SLOT_DONE,    /* the outcome is known; ke_store_finish still has to succeed */
} slot_state;

typedef enum end_reason {
    END_NONE,     /* the run ends on its own */
    END_TIMEOUT,  /* over timeout_seconds: being terminated */
    END_SHUTDOWN, /* the server stops: being terminated */
    END_CANCEL,   /* CancelPipeline: being terminated */
} end_reason;

/* One claimed pipeline, from the claim until its final status is recorded. */
typedef struct slot {
    slot_state state;        /* what the slot holds */
    char id[KE_ID_LEN + 1];  /* pipeline id */
    char log_path[PATH_MAX]; /* absolute path of its log; "" when none was opened */
    pid_t pid;               /* the run's supervisor, also its process group id (RUNNING) */
    int report_fd;           /* RUNNING: the spawn report pipe, read once pid is reaped */
    int pidfd;               /* RUNNING: pid's pidfd, polled to reap at once; -1 without one */
    int64_t started_at;      /* wall-clock us the run started (the claim's started_at) */
    int64_t started_ms;      /* monotonic ms the child was forked */
    end_reason ending;       /* why we are terminating it, if we are */
    int64_t kill_ms;         /* monotonic ms to kill its tree; 0 = not scheduled */
    int shutdown_sent;       /* the shutdown's SIGTERM went to its supervisor */
    int killed;              /* KE_SUPERVISE_SIG_KILL went to its supervisor */
    int backstopped;         /* SIGKILL went to the supervisor itself (it did not exit) */
    ke_status outcome;       /* the final status to record (DONE); error points to head or owned */
    char head[256];          /* first line of outcome.error */
    char *error_owned;       /* outcome.error when it carries the log tail; malloc'd */
    int64_t retry_ms;        /* DONE: monotonic ms to try ke_store_finish again */
} slot;

struct ke_forwarder {
    ke_store *store;           /* claims and records go here */
    char *kedro_bin;           /* copies of the options ... */
    char *project_dir;         /* the runs' working directory */
    char *kedro_env;           /* --env, or NULL */
    char *server_addr;         /* KEDRO_EVENTS_SERVER, or NULL */
    char *http_url;            /* KEDRO_EVENTS_HTTP_URL, or NULL */
    int max_runs;              /* slots */
    int timeout_seconds;       /* per run; 0 = none */
    char runs_dir[PATH_MAX];   /* absolute data_dir/runs */
    char logs_dir[PATH_MAX];   /* absolute data_dir/logs */
    char *supervisor;          /* path of kedro-eventd-supervisor */
    slot *slots;               /* max_runs of them */
    struct pollfd *pfds;       /* max_runs + 1: wake_fd and the running slots' pidfds */
    int wake_fd;               /* eventfd: ke_forwarder_wake writes, the supervisor polls */
    ke_spawn_spec spawn;       /* what each child is started with */
    int claim_due;             /* there may be READY work (supervisor only) */
    int64_t claim_retry_ms;    /* no claim before this monotonic ms (after a store error) */
    int64_t next_look_ms;      /* monotonic ms of the next look for READY rows without a wake */
    int shutdown_signalled;    /* the grace ended and running groups got SIGTERM */
    pthread_t thread;          /* the supervisor */
    int thread_started;        /* thread must be joined */
    atomic_llong grace_end_ms; /* monotonic ms the shutdown grace ends; set before stopping */
    atomic_int stopping;       /* ke_forwarder_stop was called: claim nothing more */
    int stopped;               /* the thread was joined */
    ke_secret_box run_token;   /* KEDRO_EVENTS_TOKEN of runs; taken as each run starts */
    int cancel_grace_ms;       /* a cancelled run: SIGTERM, then SIGKILL this much later */
    ke_cancels cancels;        /* CancelPipeline requests (forward_cancel.h) */
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- start-up helpers */

/* mkdir -p: creates path and its missing parents, and gives path itself mode DIR_MODE whatever
 * the umask (and whatever mode it had). Returns 0, or -1 with errno set; a path that exists but
 * is no directory is ENOTDIR. */
static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    struct stat st;
    size_t i, n = strlen(path);

    if (n == 0 || n >= sizeof buf) {
        errno = n == 0 ? ENOENT : ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, DIR_MODE) != 0 && errno != EEXIST)
            return -1;
        buf[i] = path[i];
    }
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    if ((st.st_mode & 07777) != DIR_MODE && chmod(path, DIR_MODE) != 0)
        return -1;
    return 0;
}

/* ---- recording outcomes */

static void slot_clear(slot *s)
{
    free(s->error_owned);
    memset(s, 0, sizeof *s);
    s->state = SLOT_FREE;
}

/* Fills s->outcome as state with an error (printf-style; NULL = no error), followed by the log
 * tail when tail is set. The exit code and signal are the caller's to set afterwards. */
static void outcome_set(slot *s, ke_state state, int tail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void outcome_set(slot *s, ke_state state, int with_tail, const char *fmt, ...)
{
    static char runner[] = RUNNER;
    ke_status *st = &s->outcome;
    char *tail = NULL;
    va_list ap;

    free(s->error_owned);
    s->error_owned = NULL;
    memset(st, 0, sizeof *st);
    st->state = state;
    st->started_at = s->started_at;
    st->finished_at = ke_now_us();
    st->changed_at = st->finished_at;
    st->runner = runner;
    st->log_path = s->log_path[0] != '\0' ? s->log_path : NULL;
    if (fmt == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(s->head, sizeof s->head, fmt, ap);
    va_end(ap);
    st->error = s->head;
    tail = with_tail ? ke_log_tail(s->log_path) : NULL;
    if (tail != NULL && asprintf(&s->error_owned, "%s; the log ends with:\n%s", s->head, tail) >= 0)
        st->error = s->error_owned;
    else
        s->error_owned = NULL;
    free(tail);
}

/* Records s->outcome. On success (or when retrying cannot help) the slot is freed; on a store
 * error it stays DONE and is tried again after STORE_RETRY_MS. */
static void record(ke_forwarder *f, slot *s, int64_t now)
{
    ke_error err;
    int rc;

    ke_error_clear(&err);
    rc = ke_store_finish(f->store, s->id, &s->outcome, &err);
    if (rc == KE_ESTORE || rc == KE_ENOMEM) {
        kec_log_fields(KEC_LOG_ERROR, &(kec_log_field){"pipeline_id", s->id}, 1,
                       "forwarder: recording pipeline %s as %s: %s (will retry)", s->id,
                       ke_state_name(s->outcome.state), err.msg);
        s->state = SLOT_DONE;
        s->retry_ms = now + STORE_RETRY_MS;
        return;
    }
    if (rc != KE_OK)
        kec_log_fields(KEC_LOG_ERROR, &(kec_log_field){"pipeline_id", s->id}, 1,
                       "forwarder: recording pipeline %s as %s: %s", s->id,
                       ke_state_name(s->outcome.state), err.msg);
    ke_cancels_answer(&f->cancels, s->id, rc == KE_OK ? KE_OK : KE_ENOTFOUND);
    slot_clear(s);
    f->claim_due = 1;
}

/* Turns a wait status into the slot's outcome. */
static void outcome_from_wait(ke_forwarder *f, slot *s, int wstatus)
{
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    const char *abbrev = sig != 0 ? sigabbrev_np(sig) : NULL;

    if (s->ending == END_SHUTDOWN)
        outcome_set(s, KE_STATE_ABORTED, 1, "ended by server shutdown");
    else if (s->ending == END_CANCEL)
        outcome_set(s, KE_STATE_ABORTED, 1, "%s", KE_CANCEL_ERROR);
    else if (s->ending == END_TIMEOUT)
        outcome_set(s, KE_STATE_FAILURE, 1, "timed out after %d s", f->timeout_seconds);
    else if (code == 0)
        outcome_set(s, KE_STATE_SUCCESS, 1, NULL);
    else if (code > 0)
        outcome_set(s, KE_STATE_FAILURE, 1, "exited with status %d", code);
    else
        outcome_set(s, KE_STATE_FAILURE, 1, "killed by signal %d (SIG%s)", sig,
                    abbrev != NULL ? abbrev : "?");
    s->outcome.has_exit_code = code >= 0;
    s->outcome.exit_code = code >= 0 ? code : 0;
    /* A run we terminated that caught SIGTERM and exited still ended by our signal. */
    s->outcome.signal = sig == 0 && s->ending != END_NONE ? SIGTERM : sig;
}

/* Sets s's outcome to the FAILURE a spawn result rc (with errno e and, for KE_SPAWN_SYS, the
 * call what) stands for. Returns 0 for KE_SPAWN_OK (nothing set), else 1. */
static int spawn_failed(ke_forwarder *f, slot *s, ke_spawn_result rc, int e, const char *what)
{
    switch (rc) {
    case KE_SPAWN_OK:
        return 0;
    case KE_SPAWN_NOMEM:
        outcome_set(s, KE_STATE_FAILURE, 0, "cannot start \"%s\": out of memory", f->kedro_bin);
        break;
    case KE_SPAWN_SYS:
        outcome_set(s, KE_STATE_FAILURE, 0, "cannot start \"%s\": %s: %s", f->kedro_bin, what,
                    strerror(e));
        break;
    case KE_SPAWN_EXEC:
        outcome_set(s, KE_STATE_FAILURE, 0, "cannot run \"%s\": %s", f->kedro_bin, strerror(e));
        break;
    case KE_SPAWN_CHDIR:
        outcome_set(s, KE_STATE_FAILURE, 0, "cannot enter project directory \"%s\": %s",
                    f->project_dir, strerror(e));
        break;
    case KE_SPAWN_SUPERVISOR:
        outcome_set(s, KE_STATE_FAILURE, 0, "cannot run the run supervisor \"%s\": %s",
                    f->supervisor, strerror(e));
        break;
    default:
        outcome_set(s, KE_STATE_FAILURE, 0, "cannot set up the run's process: %s", strerror(e));
        break;
    }
    return 1;
}

int ke_forwarder_set_run_token(ke_forwarder *f, const char *token)
{
    return ke_secret_box_put(&f->run_token, token);
}

/* Starts the claimed pipeline p in slot s: run file, log, fork and exec. Whatever fails is
 * recorded as the pipeline's FAILURE; the slot is RUNNING, DONE or free afterwards. */
static void start_run(ke_forwarder *f, slot *s, const ke_pipeline *p, int64_t now)
{
    char run_path[PATH_MAX];
    const char *what = "";
    int log_fd = -1, report_fd = -1, n, e = 0;
    ke_error err;
    pid_t pid;

    ke_error_clear(&err);
    memset(s, 0, sizeof *s);
    memcpy(s->id, p->id, sizeof s->id);
    s->started_at = ke_now_us();
    if (p->n_status > 0 && p->status[p->n_status - 1].started_at != 0)
        s->started_at = p->status[p->n_status - 1].started_at;

    if (p->name == NULL || p->name[0] == '\0') {
        outcome_set(s, KE_STATE_FAILURE, 0, "pipeline %s has no name to run", p->id);
        goto out;
    }
    n = snprintf(run_path, sizeof run_path, "%s/%s.yml", f->runs_dir, p->id);
    if (n < 0 || (size_t)n >= sizeof run_path) {
        outcome_set(s, KE_STATE_FAILURE, 0, "run file path under \"%s\" is too long", f->runs_dir);
        goto out;
    }
    if (ke_runfile_write(run_path, p, &err) != KE_OK) {
        outcome_set(s, KE_STATE_FAILURE, 0, "%s", err.msg);
        goto out;
    }
    n = snprintf(s->log_path, sizeof s->log_path, "%s/%s.log", f->logs_dir, p->id);
    if (n < 0 || (size_t)n >= sizeof s->log_path) {
        s->log_path[0] = '\0';
        outcome_set(s, KE_STATE_FAILURE, 0, "log path under \"%s\" is too long", f->logs_dir);
        goto out;
    }
    /* Explicitly FILE_MODE: the umask is the runs' (left alone), and a re-run's log exists. */
    log_fd = ke_spawn_above_stdio(
        open(s->log_path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, FILE_MODE));
    if (log_fd >= 0 && fchmod(log_fd, FILE_MODE) != 0) {
        close(log_fd);
        log_fd = -1;
    }
    if (log_fd < 0) {
        outcome_set(s, KE_STATE_FAILURE, 0, "cannot open log \"%s\": %s", s->log_path,
                    strerror(errno));
        s->log_path[0] = '\0';
        s->outcome.log_path = NULL;
        goto out;
    }
    f->spawn.run_token = ke_secret_box_take(&f->run_token);
    if (spawn_failed(f, s,
                     ke_spawn_run(&f->spawn, p, run_path, log_fd, &pid, &report_fd, &e, &what), e,
                     what))
        goto out;
    s->pid = pid;
    s->report_fd = report_fd;
    s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* -1: reaped on the REAP_MS tick instead */
    s->started_ms = mono_ms();
    s->state = SLOT_RUNNING;
out:
    if (log_fd >= 0)
        close(log_fd);
    if (s->state != SLOT_RUNNING)
        record(f, s, now);
}

/* ---- the supervisor */

/* Reaps s's supervisor if it has ended (it does once kedro's whole tree has), and records the
 * outcome: the supervisor exits as kedro did. */
static void reap(ke_forwarder *f, slot *s, int64_t now)
{
    ke_spawn_result spawned;
    siginfo_t info;
    int wstatus = 0, e = 0;

    memset(&info, 0, sizeof info);
    /* Look without reaping: while the leader is a zombie its pid, hence its process group id,
     * cannot be reused, so whatever joined the supervisor's group can still be killed safely. */
    if (waitid(P_PID, (id_t)s->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
        if (errno == EINTR)
            return;
        /* ECHILD: someone reaped it; its status is gone. */
        close(s->report_fd);
        if (s->pidfd >= 0)
            close(s->pidfd);
        outcome_set(s,
                    s->ending == END_SHUTDOWN || s->ending == END_CANCEL ? KE_STATE_ABORTED
                                                                         : KE_STATE_FAILURE,
                    1, "its exit status was lost: waitid: %s", strerror(errno));
        record(f, s, now);
        return;
    }
    if (info.si_pid == 0)
        return;
    if (s->ending != END_NONE)
        kill(-s->pid, SIGKILL);
    while (waitpid(s->pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    /* Did kedro run at all? Its supervisor is gone, so the report pipe has no writer left. */
    spawned = ke_spawn_report(s->report_fd, &e);
    close(s->report_fd);
    if (s->pidfd >= 0)
        close(s->pidfd);
    if (!spawn_failed(f, s, spawned, e, ""))
        outcome_from_wait(f, s, wstatus);
    record(f, s, now);
}

/* Asks s's supervisor to end the run (SIGTERM to kedro's process group, then the rest of its
 * tree) and schedules the kill of the whole tree kill_after ms from now (unless one is due
 * sooner). A run keeps the first reason it was ended for. */
static void terminate(slot *s, end_reason why, int64_t now, int64_t kill_after)
{
    if (s->ending == END_NONE)
        s->ending = why;
    kill(s->pid, SIGTERM);
    if (s->kill_ms == 0 || s->kill_ms > now + kill_after)
        s->kill_ms = now + kill_after;
}

/* Takes the queued cancel requests: a run this runner holds is ended (unless it is ending
 * already) and the request waits for its record; any other is answered KE_ENOTFOUND. */
static void take_cancels(ke_forwarder *f, int64_t now)
{
    ke_cancel_wait *w, *next;
    slot *s;
    int i;

    for (w = ke_cancels_take(&f->cancels); w != NULL; w = next) {
        next = w->next;
        for (i = 0, s = NULL; i < f->max_runs && s == NULL; i++)
            if (f->slots[i].state != SLOT_FREE && strcmp(f->slots[i].id, w->id) == 0)
                s = &f->slots[i];
        if (s == NULL) {
            ke_cancels_reply(w, KE_ENOTFOUND);
            continue;
        }
        if (s->state == SLOT_RUNNING && s->ending == END_NONE) {
            kec_log_fields(KEC_LOG_INFO, &(kec_log_field){"pipeline_id", s->id}, 1,
                           "forwarder: cancelling pipeline %s (SIGKILL in %d ms)", s->id,
                           f->cancel_grace_ms);
            terminate(s, END_CANCEL, now, f->cancel_grace_ms);
        }
        ke_cancels_wait(&f->cancels, w);
    }
}

/* Claims and starts READY pipelines while slots are free. */
static void claim_runs(ke_forwarder *f, int64_t now)
{
    ke_pipeline p;
    ke_error err;
    int i, found, rc;

    if (now >= f->next_look_ms)
        f->claim_due = 1;
    while (f->claim_due && now >= f->claim_retry_ms && !atomic_load(&f->stopping)) {
        for (i = 0; i < f->max_runs && f->slots[i].state != SLOT_FREE; i++)
            ;
        if (i == f->max_runs)
            return;
        memset(&p, 0, sizeof p);
        found = 0;
        ke_error_clear(&err);
        rc = ke_store_claim(f->store, RUNNER, &p, &found, &err);
        if (rc != KE_OK) {
            kec_log(KEC_LOG_ERROR, "forwarder: claiming a READY pipeline: %s", err.msg);
            f->claim_retry_ms = now + STORE_RETRY_MS;
        } else if (!found) {
            f->claim_due = 0;
            f->next_look_ms = now + IDLE_MS;
        } else {
            start_run(f, &f->slots[i], &p, now);
        }
        ke_pipeline_release(&p);
        now = mono_ms();
    }
}

/* One pass over the slots: reap, enforce timeouts and shutdown, send due SIGKILLs, retry
 * records. Returns how many slots are still busy. */
static int tend(ke_forwarder *f, int64_t now)
{
    int stopping = atomic_load(&f->stopping), busy = 0, i;
    slot *s;

    if (stopping && !f->shutdown_signalled && now >= atomic_load(&f->grace_end_ms))
        f->shutdown_signalled = 1;
    for (i = 0; i < f->max_runs; i++) {
        s = &f->slots[i];
        if (s->state == SLOT_RUNNING)
            reap(f, s, now);
        if (s->state == SLOT_RUNNING) {
            if (f->shutdown_signalled && !s->shutdown_sent) {
                s->shutdown_sent = 1;
                terminate(s, END_SHUTDOWN, now, SHUTDOWN_KILL_MS);
            } else if (f->timeout_seconds > 0 && s->ending == END_NONE &&
                       now - s->started_ms >= (int64_t)f->timeout_seconds * 1000) {
                terminate(s, END_TIMEOUT, now, TIMEOUT_KILL_MS);
            }
            if (s->kill_ms != 0 && now >= s->kill_ms && !s->killed) {
                s->killed = 1; /* reaped on a later pass */
                kill(s->pid, KE_SUPERVISE_SIG_KILL);
            }
            /* A supervisor that does not exit (stopped?) must not hold the server up. */
            if (s->killed && !s->backstopped && now >= s->kill_ms + BACKSTOP_MS) {
                s->backstopped = 1;
                kill(-s->pid, SIGKILL);
            }
        } else if (s->state == SLOT_DONE && now >= s->retry_ms) {
            record(f, s, now);
        }
        busy += s->state != SLOT_FREE;
    }
    return busy;
}

static void *supervise(void *arg)
{
    ke_forwarder *f = arg;
    uint64_t count;
    ssize_t got;
    int busy, running, i, n;
    int64_t now;

    for (;;) {
        now = mono_ms();
        take_cancels(f, now);
        busy = tend(f, now);
        running = 0;
        for (i = 0; i < f->max_runs; i++)
            running += f->slots[i].state == SLOT_RUNNING;
        if (atomic_load(&f->stopping) && running == 0)
            break;
        claim_runs(f, now);
        /* Woken by new work, or by a run's end (its pidfd), else at the next tick. */
        f->pfds[0].fd = f->wake_fd;
        for (i = 0, running = 0, n = 1; i < f->max_runs; i++) {
            running += f->slots[i].state == SLOT_RUNNING;
            if (f->slots[i].state == SLOT_RUNNING && f->slots[i].pidfd >= 0)
                f->pfds[n++].fd = f->slots[i].pidfd;
        }
        for (i = 0; i < n; i++) {
            f->pfds[i].events = POLLIN;
            f->pfds[i].revents = 0;
        }
        if (poll(f->pfds, (nfds_t)n, running > 0 || busy > 0 ? REAP_MS : IDLE_MS) > 0 &&
            (f->pfds[0].revents & POLLIN)) {
            got = read(f->wake_fd, &count, sizeof count);
            (void)got;
            f->claim_due = 1;
        }
    }
    /* Every child is reaped; give outcomes the store refused one last try. */
    for (i = 0; i < f->max_runs; i++) {
        if (f->slots[i].state != SLOT_DONE)
            continue;
        record(f, &f->slots[i], mono_ms());
        if (f->slots[i].state == SLOT_DONE) {
            kec_log_fields(KEC_LOG_ERROR, &(kec_log_field){"pipeline_id", f->slots[i].id}, 1,
                           "forwarder: pipeline %s stays STARTED: its outcome (%s) could not be "
                           "recorded",
                           f->slots[i].id, ke_state_name(f->slots[i].outcome.state));
            slot_clear(&f->slots[i]);
        }
    }
    ke_cancels_close(&f->cancels, KE_EUNAVAIL);
    return NULL;
}

/* ---- the public face */

static void forwarder_destroy(ke_forwarder *f)
{
    int i;

    if (f == NULL)
        return;
    for (i = 0; f->slots != NULL && i < f->max_runs; i++)
        free(f->slots[i].error_owned);
    free(f->slots);
    free(f->pfds);
    if (f->wake_fd >= 0)
        close(f->wake_fd);
    if (f->spawn.null_fd >= 0)
        close(f->spawn.null_fd);
    free(f->kedro_bin);
    free(f->project_dir);
    free(f->kedro_env);
    free(f->server_addr);
    free(f->http_url);
    free(f->supervisor);
    ke_secret_box_release(&f->run_token);
    ke_cancels_close(&f->cancels, KE_EUNAVAIL); /* a thread that never started */
    ke_cancels_release(&f->cancels);
    if (f->spawn.supervisor_fd >= 0)
        close(f->spawn.supervisor_fd);
    free(f);
}

/* Opens the run supervisor (path, or KE_SUPERVISOR_NAME beside this executable) as an O_PATH
 * fd, so an upgrade that replaces the file mid-way cannot mix versions. Returns KE_OK, or
 * KE_EIO / KE_ENOMEM with err naming the path. */
static int open_supervisor(ke_forwarder *f, const char *path, ke_error *err)
{
    char *self = NULL, *slash;

    if (path != NULL) {
        f->supervisor = strdup(path);
    } else {
        self = realpath("/proc/self/exe", NULL);
        if (self == NULL)
            return ke_error_set(err, KE_EIO,
                                "forwarder: cannot resolve \"/proc/self/exe\" to "
                                "find %s: %s",
                                KE_SUPERVISOR_NAME, strerror(errno));
        slash = strrchr(self, '/');
        if (asprintf(&f->supervisor, "%.*s/%s", (int)(slash - self), self, KE_SUPERVISOR_NAME) < 0)
            f->supervisor = NULL;
        free(self);
    }
    if (f->supervisor == NULL)
        return ke_error_set(err, KE_ENOMEM, "forwarder: out of memory");
    if (access(f->supervisor, X_OK) != 0)
        return ke_error_set(err, KE_EIO,
                            "forwarder: cannot run the run supervisor \"%s\": %s "
                            "(it is installed beside kedro-eventd)",
                            f->supervisor, strerror(errno));
    f->spawn.supervisor_fd = ke_spawn_above_stdio(open(f->supervisor, O_PATH | O_CLOEXEC));
    if (f->spawn.supervisor_fd < 0)
        return ke_error_set(err, KE_EIO, "forwarder: cannot open the run supervisor \"%s\": %s",
                            f->supervisor, strerror(errno));
    f->spawn.supervisor = f->supervisor;
    return KE_OK;
}

static char *dup_opt(const char *s, int *ok)
{
    char *d = s != NULL ? strdup(s) : NULL;

    if (s != NULL && d == NULL)
        *ok = 0;
    return d;
}

int ke_forwarder_start(ke_store *s, const ke_forward_options *o, ke_forwarder **out, ke_error *err)
{
    const char *sub[2] = {"runs", "logs"};
    char path[PATH_MAX], *data = NULL;
    ke_forwarder *f = NULL;
    long open_max;
    int rc = KE_OK, ok = 1, i, n, e;

    *out = NULL;
    if (o->kedro_bin == NULL || o->kedro_bin[0] == '\0' || o->project_dir == NULL ||
        o->data_dir == NULL || o->max_runs < 1 || o->timeout_seconds < 0) {
        rc = ke_error_set(err, KE_EINVAL,
                          "forwarder: kedro_bin, project_dir and data_dir are required, "
                          "max_runs >= 1 and timeout_seconds >= 0");
        goto out;
    }
    f = calloc(1, sizeof *f);
    if (f == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "forwarder: out of memory");
        goto out;
    }
    f->wake_fd = -1;
    f->spawn.null_fd = -1;
    ke_cancels_init(&f->cancels);
    f->cancel_grace_ms = o->cancel_grace * 1000;
    f->spawn.supervisor_fd = -1;
    f->store = s;
    f->max_runs = o->max_runs;
    f->timeout_seconds = o->timeout_seconds;
    f->kedro_bin = dup_opt(o->kedro_bin, &ok);
    f->project_dir = dup_opt(o->project_dir, &ok);
    f->kedro_env = dup_opt(o->kedro_env, &ok);
    f->server_addr = dup_opt(o->server_addr, &ok);
    f->http_url = dup_opt(o->http_url, &ok);
    ok = ke_secret_box_init(&f->run_token, o->run_token) == KE_OK && ok;
    f->spawn.kedro_bin = f->kedro_bin;
    f->spawn.kedro_env = f->kedro_env;
    f->spawn.server_addr = f->server_addr;
    f->spawn.http_url = f->http_url;
    f->spawn.project_dir = f->project_dir;
    f->slots = calloc((size_t)o->max_runs, sizeof *f->slots);
    f->pfds = calloc((size_t)o->max_runs + 1, sizeof *f->pfds);
    if (!ok || f->slots == NULL || f->pfds == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "forwarder: out of memory");
        goto out;
    }
    for (i = 0; i < 2; i++) {
        n = snprintf(path, sizeof path, "%s/%s", o->data_dir, sub[i]);
        if (n < 0 || (size_t)n >= sizeof path) {
            rc = ke_error_set(err, KE_EINVAL, "data directory \"%s\" is too long", o->data_dir);
            goto out;
        }
        if (mkdir_p(path) != 0) {
            rc = ke_error_set(err, KE_EIO, "cannot create directory \"%s\": %s", path,
                              strerror(errno));
            goto out;
        }
    }
    /* Absolute, so --config and the recorded log paths do not depend on any working dir. */
    data = realpath(o->data_dir, NULL);
    if (data == NULL) {
        rc = ke_error_set(err, KE_EIO, "cannot resolve data directory \"%s\": %s", o->data_dir,
                          strerror(errno));
        goto out;
    }
    n = snprintf(f->runs_dir, sizeof f->runs_dir, "%s/runs", data);
    e = snprintf(f->logs_dir, sizeof f->logs_dir, "%s/logs", data);
    if (n < 0 || (size_t)n >= sizeof f->runs_dir || e < 0 || (size_t)e >= sizeof f->logs_dir) {
        rc = ke_error_set(err, KE_EINVAL, "data directory \"%s\" is too long", data);
        goto out;
    }
    f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (f->wake_fd < 0) {
        rc = ke_error_set(err, KE_EIO, "forwarder: eventfd: %s", strerror(errno));
        goto out;
    }
    f->spawn.null_fd = ke_spawn_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (f->spawn.null_fd < 0) {
        rc = ke_error_set(err, KE_EIO, "forwarder: cannot open \"/dev/null\": %s", strerror(errno));
        goto out;
    }
    rc = open_supervisor(f, o->supervisor, err);
    if (rc != KE_OK)
        goto out;
    open_max = sysconf(_SC_OPEN_MAX);
    f->spawn.max_fd =
        open_max < 0 || open_max > KE_SPAWN_MAX_FD_SWEEP ? KE_SPAWN_MAX_FD_SWEEP : (int)open_max;
    f->spawn.parent = getpid();
    f->claim_due = 1;
    e = pthread_create(&f->thread, NULL, supervise, f);
    if (e != 0) {
        rc = ke_error_set(err, KE_ENOMEM, "forwarder: cannot start its thread: %s", strerror(e));
        goto out;
    }
    f->thread_started = 1;
    *out = f;
    f = NULL;
out:
    free(data);
    forwarder_destroy(f);
    return rc;
}

void ke_forwarder_wake(void *forwarder)
{
    ke_forwarder *f = forwarder;
    uint64_t one = 1;
    ssize_t w;

    /* EAGAIN means the counter is full: the supervisor has a wake-up pending anyway. */
    w = write(f->wake_fd, &one, sizeof one);
    (void)w;
}

void ke_forwarder_cancel(ke_forwarder *f, const char *id, ke_forwarder_cancel_cb cb, void *ctx)
{
    if (ke_cancels_push(&f->cancels, id, cb, ctx))
        ke_forwarder_wake(f);
}

void ke_forwarder_stop(ke_forwarder *f, int grace_ms)
{
    if (f == NULL || f->stopped)
        return;
    atomic_store(&f->grace_end_ms, mono_ms() + (grace_ms > 0 ? grace_ms : 0));
    atomic_store(&f->stopping, 1);
    ke_forwarder_wake(f);
    if (f->thread_started)
        pthread_join(f->thread, NULL);
    f->stopped = 1;
}

void ke_forwarder_free(ke_forwarder *f)
{
    if (f == NULL)
        return;
    ke_forwarder_stop(f, 0);
    forwarder_destroy(f);
}
