/* logs.c -- `kedro-events logs`: a run's output from kedro-eventd (StreamLogs), written to
 * stdout as it comes. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { OPT_TAIL = CLI_OPT_FIRST_FREE };

static const struct option logs_options[] = {{"follow", no_argument, NULL, 'f'},
                                             {"tail", required_argument, NULL, OPT_TAIL},
                                             CLI_COMMON_LONG_OPTIONS,
                                             {NULL, 0, NULL, 0}};

#define LOGS_HELP                                                                                  \
    "Usage: %s logs [-f|--follow] [--tail N] [OPTIONS] ID\n\n"                                     \
    "Writes the output of pipeline ID's run (kedro-eventd's local runner keeps it) to stdout,\n"   \
    "byte for byte, as it comes; exits 0 at its end.\n\n"                                          \
    "  -f, --follow           keep writing what the run prints until it ends (a run not\n"         \
    "                         started yet is waited for); Ctrl-C stops\n"                          \
    "  --tail N               start at the last N lines (0 to 100000; default: the start)\n"       \
    "Exit codes as for the other commands: 1 with NOT_FOUND (unknown ID), FAILED_PRECONDITION\n"   \
    "(a run forwarded to kedro-graphql: its logs are there), 3 when the server is away.\n\n"

/* What the stream's callbacks share with the main thread. */
typedef struct logs_run {
    pthread_t main;  /* woken (SIGUSR1) at the end */
    int write_errno; /* stdout failed with this, or 0 */
    pthread_mutex_t lock;
    int done;      /* the end came */
    int rc;        /* its code */
    kec_error err; /* its error */
} logs_run;

static int on_data(void *ctx, const char *data, size_t len)
{
    logs_run *r = ctx;

    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r->write_errno = errno;
            return 1; /* stops the stream */
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void on_done(void *ctx, int rc, const kec_error *err)
{
    logs_run *r = ctx;

    pthread_mutex_lock(&r->lock);
    r->done = 1;
    r->rc = rc;
    if (rc != KEC_OK)
        r->err = *err;
    pthread_mutex_unlock(&r->lock);
    pthread_kill(r->main, SIGUSR1);
}

/* Takes a SIGUSR1 the end sent after the main thread stopped waiting, so that it does not
 * strike once the mask is restored. */
static void drain_wakeup(void)
{
    struct timespec now = {0, 0};
    sigset_t usr1;

    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    while (sigtimedwait(&usr1, NULL, &now) > 0)
        ;
}

/* Parses the flags; returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, int *follow, long *tail, const char **id,
                 kec_client_options *o)
{
    const char *cmd = argv[0];
    char *end;
    int opt, r;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":hf", logs_options, NULL)) != -1) {
        r = cli_common_option(opt, optarg, o, cmd);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        switch (opt) {
        case 'h':
            printf(LOGS_HELP, cli_program);
            fputs(CLI_COMMON_HELP, stdout);
            return cli_finish_output(cmd, CLI_EXIT_OK);
        case 'f':
            *follow = 1;
            break;
        case OPT_TAIL:
            errno = 0;
            *tail = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || *tail < 0 ||
                *tail > KEC_LOGS_MAX_TAIL_LINES)
                return cli_usage_error(cmd, "--tail '%s' is not a number from 0 to %d", optarg,
                                       KEC_LOGS_MAX_TAIL_LINES);
            break;
        default:
            return cli_option_error(cmd, opt, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(cmd, "a pipeline ID is required");
    if (optind + 1 < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    *id = argv[optind];
    return -1;
}

int cli_logs(int argc, char **argv)
{
    const char *cmd = argv[0], *id = NULL;
    kec_client_options o;
    kec_client *c = NULL;
    kec_stream *s = NULL;
    sigset_t wait_for, old;
    logs_run r;
    long tail = 0;
    int follow = 0, rc, sig = 0;
    kec_error err;

    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.lock, NULL);
    r.main = pthread_self();
    kec_error_clear(&err);
    kec_client_options_init(&o);
    rc = parse(argc, argv, &follow, &tail, &id, &o);
    if (rc >= 0)
        goto out_nomask;
    /* Blocked before the client starts its threads (they inherit the mask): SIGINT/SIGTERM
     * and the end's SIGUSR1 all come to sigwait below. */
    sigemptyset(&wait_for);
    sigaddset(&wait_for, SIGINT);
    sigaddset(&wait_for, SIGTERM);
    sigaddset(&wait_for, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &wait_for, &old);
    rc = cli_connect(&o, cmd, &c);
    if (rc != CLI_EXIT_OK)
        goto out;
    if (kec_stream_logs_start(c, id, follow, (int)tail, on_data, on_done, &r, &s, &err) != KEC_OK) {
        rc = cli_report(cmd, c, &err);
        goto out;
    }
    for (;;) {
        int done;

        if (sigwait(&wait_for, &sig) != 0)
            continue;
        pthread_mutex_lock(&r.lock);
        done = r.done;
        pthread_mutex_unlock(&r.lock);
        if (done)
            break;
        if (sig != SIGUSR1) { /* Ctrl-C: stop, wait for the end, leave as the signal says */
            kec_stream_cancel(s);
            break;
        }
    }
    if (r.write_errno != 0) {
        fprintf(stderr, "%s %s: cannot write to stdout: %s\n", cli_program, cmd,
                strerror(r.write_errno));
        rc = CLI_EXIT_FAILED;
    } else if (sig == SIGINT || sig == SIGTERM) {
        rc = 128 + sig;
    } else if (r.rc != KEC_OK) {
        rc = cli_report(cmd, c, &r.err);
    } else {
        rc = CLI_EXIT_OK;
    }
out:
    kec_stream_free(s);
    kec_client_free(c); /* waits for the stream's end: on_done has run */
    drain_wakeup();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
out_nomask:
    pthread_mutex_destroy(&r.lock);
    return rc;
}
