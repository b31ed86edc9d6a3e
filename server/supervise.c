/* supervise.c -- kedro-eventd-supervisor: runs one `kedro run` as a child subreaper, so that
 * every process the run leaves behind (background children, setsid'd daemons) ends with it,
 * and exits the way kedro did. The contract is in supervise.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervise.h"

#define STAT_BYTES 1024 /* /proc/PID/stat is shorter than this up to its 22nd field */

extern char **environ;

/* One process seen in /proc. */
typedef struct proc {
    pid_t pid;                /* process id */
    pid_t ppid;               /* its parent */
    unsigned long long start; /* start time (clock ticks after boot): pid + start name it */
    int mine;                 /* a descendant of this supervisor */
} proc;

/* The run being supervised. */
typedef struct run {
    pid_t kedro;      /* kedro's pid, also its process group; 0 once reaped */
    int status;       /* kedro's wait status, once reaped */
    int have_status;  /* status is set */
    sigset_t signals; /* SIGCHLD, SIGTERM, KE_SUPERVISE_SIG_KILL: blocked, taken by sigtimedwait */
} run;

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads pid's parent and start time from /proc/PID/stat. Returns 0, or -1 when it is gone. */
static int read_stat(pid_t pid, pid_t *ppid, unsigned long long *start)
{
    char path[64], buf[STAT_BYTES], *p, *end;
    ssize_t got;
    int fd, field;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold anything but ends at the last ')' */
    if (p == NULL || p[1] != ' ')
        return -1;
    p += 2; /* field 3: state */
    for (field = 3; field < 22; field++) {
        if (field == 4)
            *ppid = (pid_t)strtol(p, NULL, 10);
        p = strchr(p, ' ');
        if (p == NULL)
            return -1;
        p++;
    }
    *start = strtoull(p, &end, 10);
    return end != p ? 0 : -1;
}

/* Every process in /proc, with the descendants of this process marked. Returns the count
 * (*out malloc'd), or -1 when /proc cannot be read or memory runs out. */
static long scan(proc **out)
{
    size_t n = 0, cap = 0, i, j;
    proc *all = NULL, *grown;
    struct dirent *de;
    int changed;
    DIR *d;
    char *end;
    long pid;

    *out = NULL;
    d = opendir("/proc");
    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        pid = strtol(de->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        if (n == cap) {
            cap = cap == 0 ? 256 : cap * 2;
            grown = realloc(all, cap * sizeof *all);
            if (grown == NULL) {
                free(all);
                closedir(d);
                return -1;
            }
            all = grown;
        }
        all[n].pid = (pid_t)pid;
        all[n].mine = 0;
        if (read_stat(all[n].pid, &all[n].ppid, &all[n].start) == 0)
            n++;
    }
    closedir(d);
    /* Descendants: children of this process, then children of those, until nothing changes. */
    do {
        changed = 0;
        for (i = 0; i < n; i++) {
            if (all[i].mine)
                continue;
            if (all[i].ppid == getpid())
                all[i].mine = changed = 1;
            for (j = 0; j < n && !all[i].mine; j++)
                if (all[j].mine && all[j].pid == all[i].ppid)
                    all[i].mine = changed = 1;
        }
    } while (changed);
    *out = all;
    return (long)n;
}

/* Sends sig to p unless its pid now names another process: a pidfd pins the process, and its
 * start time must still be the one scanned. */
static void signal_one(const proc *p, int sig)
{
    unsigned long long start;
    pid_t ppid;
    int fd;

    fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
    if (fd < 0 && errno != ENOSYS)
        return; /* gone */
    if (read_stat(p->pid, &ppid, &start) == 0 && start == p->start) {
        if (fd >= 0)
            syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
        else
            kill(p->pid, sig); /* no pidfds: the window is between two system calls */
    }
    if (fd >= 0)
        close(fd);
}

/* Sends sig to every descendant. When /proc cannot be scanned, to kedro's process group and
 * to whatever is a child now (waitpid-able, so the pids cannot be reused): less complete. */
static void signal_tree(const run *r, int sig)
{
    proc *all = NULL;
    long n, i;

    n = scan(&all);
    if (n < 0) {
        if (r->kedro > 0)
            kill(-r->kedro, sig);
        return;
    }
    for (i = 0; i < n; i++)
        if (all[i].mine)
            signal_one(&all[i], sig);
    free(all);
}

/* Reaps every child that has ended, keeping kedro's status. Returns 1 when no child is left
 * (ECHILD), else 0. */
static int reap_all(run *r)
{
    int status;
    pid_t pid;

    for (;;) {
        pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0 && pid == r->kedro) {
            r->status = status;
            r->have_status = 1;
            r->kedro = 0;
        } else if (pid == 0) {
            return 0;
        } else if (pid < 0 && errno != EINTR) {
            return errno == ECHILD;
        }
    }
}

/* Waits for one of r->signals until deadline (monotonic ms; < 0: none). Returns the signal, or
 * 0 at the deadline. */
static int wait_signal(const run *r, int64_t deadline)
{
    struct timespec ts;
    int64_t left;
    int sig;

    for (;;) {
        left = deadline < 0 ? 60000 : deadline - mono_ms();
        if (left <= 0)
            return 0;
        ts.tv_sec = left / 1000;
        ts.tv_nsec = (left % 1000) * 1000000;
        sig = sigtimedwait(&r->signals, NULL, &ts);
        if (sig > 0)
            return sig;
        if (errno == EAGAIN && deadline >= 0)
            return 0;
    }
}

/* Ends what is left of the tree: SIGTERM and up to KE_SUPERVISE_GRACE_MS to go (unless
 * kill_now), then SIGKILL until no child is left. Every child is reaped on return. */
static void end_tree(run *r, int kill_now)
{
    int64_t deadline;
    int sig;

    if (reap_all(r))
        return;
    if (!kill_now) {
        signal_tree(r, SIGTERM);
        deadline = mono_ms() + KE_SUPERVISE_GRACE_MS;
        while ((sig = wait_signal(r, deadline)) != 0 && sig != KE_SUPERVISE_SIG_KILL)
            if (reap_all(r))
                return;
    }
    for (;;) {
        if (r->kedro > 0)
            kill(-r->kedro, SIGKILL);
        signal_tree(r, SIGKILL);
        if (reap_all(r))
            return;
        wait_signal(r, mono_ms() + KE_SUPERVISE_POLL_MS);
        if (reap_all(r))
            return;
    }
}

/* Leaves the way kedro did: its exit status, or death by its signal (no core file). */
static _Noreturn void exit_like(const run *r)
{
    struct rlimit none = {0, 0};
    sigset_t one;
    int sig;

    if (!r->have_status || WIFEXITED(r->status))
        _exit(r->have_status ? WEXITSTATUS(r->status) : KE_CHILD_EXIT);
    sig = WTERMSIG(r->status);
    prctl(PR_SET_DUMPABLE, 0);
    setrlimit(RLIMIT_CORE, &none);
    signal(sig, SIG_DFL);
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
    _exit(128 + sig);
}

/* Starts kedro as our child, in its own process group, dying with us. Returns its pid, or
 * reports the failure up report_fd and exits. */
static pid_t start_kedro(char **exe, char **argv, int report_fd)
{
    pid_t self = getpid(), pid;

    pid = fork();
    if (pid < 0)
        ke_child_fail(report_fd, KE_CHILD_SETUP, errno, "fork for", argv[0]);
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != self)
            _exit(KE_CHILD_EXIT);
        ke_child_reset_signals();
        ke_child_fail(report_fd, KE_CHILD_EXEC, ke_child_exec(exe, argv, environ), "run", argv[0]);
    }
    setpgid(pid, pid); /* also here, so kill(-pid) works at once; EACCES after its exec: fine */
    return pid;
}

int main(int argc, char **argv)
{
    long server, report_fd, n;
    char *end1, *end2, *end3;
    run r;
    int sig;

    memset(&r, 0, sizeof r);
    sigemptyset(&r.signals);
    sigaddset(&r.signals, SIGCHLD);
    sigaddset(&r.signals, SIGTERM);
    sigaddset(&r.signals, KE_SUPERVISE_SIG_KILL);
    sigprocmask(SIG_BLOCK, &r.signals, NULL);
    if (argc < KE_SUPERVISE_MIN_ARGS)
        goto usage;
    server = strtol(argv[1], &end1, 10);
    report_fd = strtol(argv[2], &end2, 10);
    n = strtol(argv[3], &end3, 10);
    if (*end1 != '\0' || *end2 != '\0' || *end3 != '\0' || report_fd < 3 || report_fd > INT_MAX ||
        n < 1 || n > argc - 6 || strcmp(argv[4 + n], "--") != 0)
        goto usage;
    /* Our parent died before we blocked its death signal: there is no run to supervise. */
    if (getppid() != (pid_t)server)
        _exit(KE_CHILD_EXIT);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 || fcntl((int)report_fd, F_SETFD, FD_CLOEXEC) != 0)
        ke_child_fail((int)report_fd, KE_CHILD_SETUP, errno, "supervise", argv[5 + n]);
    argv[4 + n] = NULL; /* ends the list of executables */
    r.kedro = start_kedro(argv + 4, argv + 5 + n, (int)report_fd);
    close((int)report_fd); /* the server sees EOF once kedro has exec'd */

    while (r.kedro > 0) {
        sig = wait_signal(&r, -1);
        if (sig == SIGCHLD)
            reap_all(&r);
        else if (sig == SIGTERM)
            kill(-r.kedro, SIGTERM);
        else if (sig == KE_SUPERVISE_SIG_KILL)
            break;
    }
    end_tree(&r, r.kedro > 0);
    exit_like(&r);

usage:
    fprintf(stderr,
            "%s: started by kedro-eventd only: %s SERVER_PID REPORT_FD N EXE... -- "
            "ARGV...\n",
            KE_SUPERVISOR_NAME, KE_SUPERVISOR_NAME);
    return 2;
}
