/* supervise.h -- the contract between kedro-eventd and kedro-eventd-supervisor, the small
 * per-run process that starts `kedro run` and ends the run's whole process tree with it, and
 * the async-signal-safe helpers both use between fork and exec (supervise_child.c). */
#ifndef KE_SUPERVISE_H
#define KE_SUPERVISE_H

#include <signal.h>

/* The supervisor's file name; kedro-eventd looks for it beside its own executable. */
#define KE_SUPERVISOR_NAME "kedro-eventd-supervisor"

/* The supervisor's command line (built by spawn.c, read by supervise.c):
 *   kedro-eventd-supervisor SERVER_PID REPORT_FD N EXE_1 .. EXE_N -- KEDRO_ARGV...
 * SERVER_PID: the server (a supervisor whose parent is another process ends at once);
 * REPORT_FD: the pipe a failure before kedro's exec is reported up (a ke_child_report);
 * EXE_1..N: the paths tried with execve for KEDRO_ARGV[0], in order (execvp's PATH search,
 * done by the server). The working directory, stdio and environment are the run's. */
#define KE_SUPERVISE_MIN_ARGS 7 /* argv[0], pid, fd, N (>= 1), EXE_1, "--", kedro's argv[0] */

/* Signals the server sends to a supervisor (its pid; the supervisor is its own group):
 *   SIGTERM              end the run: SIGTERM to kedro's process group; the rest of the tree
 *                        is ended when kedro has exited (below);
 *   KE_SUPERVISE_SIG_KILL SIGKILL the whole tree now. It is also the supervisor's parent-death
 *                        signal, so a killed server (even by SIGKILL) leaves no process behind.
 * When kedro has exited, every descendant still alive (orphans re-parent to the supervisor,
 * a child subreaper, setsid'd daemons too) gets SIGTERM, then SIGKILL KE_SUPERVISE_GRACE_MS
 * later; the supervisor exits once all are reaped, with kedro's exit status, or by kedro's
 * terminating signal (re-raised, no core dump). */
#define KE_SUPERVISE_SIG_KILL SIGUSR1
#define KE_SUPERVISE_GRACE_MS 1000 /* descendants left after kedro: SIGTERM, SIGKILL this later */
#define KE_SUPERVISE_POLL_MS 100   /* while killing the tree: rescan at least this often */

#define KE_CHILD_EXIT 127 /* a process that could not exec exits with this */

/* What a process that failed before exec sends up the report pipe. */
typedef struct ke_child_report {
    int stage; /* KE_CHILD_SETUP, KE_CHILD_CHDIR, KE_CHILD_EXEC or KE_CHILD_SUPERVISOR */
    int err;   /* errno */
} ke_child_report;

enum {
    KE_CHILD_SETUP = 1,      /* stdio, signals, subreaper or fork in the supervisor */
    KE_CHILD_CHDIR = 2,      /* entering the project directory */
    KE_CHILD_EXEC = 3,       /* exec of kedro */
    KE_CHILD_SUPERVISOR = 4, /* exec of the supervisor */
};

/* Async-signal-safe: every signal's disposition back to SIG_DFL and an empty mask. */
void ke_child_reset_signals(void);

/* Async-signal-safe: writes "kedro-eventd: cannot WHAT \"SUBJECT\": STRERROR" to stderr (the
 * run's log), sends {stage, e} up report_fd and exits KE_CHILD_EXIT. */
_Noreturn void ke_child_fail(int report_fd, int stage, int e, const char *what,
                             const char *subject);

/* Async-signal-safe: tries execve with each of exe (NULL-terminated) as execvp would, and
 * returns the errno to report when none ran. */
int ke_child_exec(char *const exe[], char *const argv[], char *const envp[]);

#endif
