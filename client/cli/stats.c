/* stats.c -- `kedro-events stats`: kedro-eventd's recent activity (GetStats) as a table, or
 * as the JSON the shim's GET /stats answers. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_JSON_OUT = CLI_OPT_FIRST_FREE, OPT_WINDOW, OPT_STEP };

static const struct option stats_options[] = {{"json-out", no_argument, NULL, OPT_JSON_OUT},
                                              {"window", required_argument, NULL, OPT_WINDOW},
                                              {"step", required_argument, NULL, OPT_STEP},
                                              CLI_COMMON_LONG_OPTIONS,
                                              {NULL, 0, NULL, 0}};

static const char *const STATS_HELP =
    "Usage: %s stats [OPTIONS]\n\n"
    "Shows kedro-eventd's activity over the last --window seconds in buckets of --step\n"
    "seconds, oldest first: events accepted as new (counted in memory since the server\n"
    "started: see 'events since'), runs ended SUCCESS, FAILURE and ABORTED; then the\n"
    "pipelines STAGED, READY (the backlog) and STARTED now.\n\n"
    "  --window SECONDS       60..3600 (default 3600)\n"
    "  --step SECONDS         10..window, a multiple of 10 dividing the window (default 60)\n"
    "  --json-out             one JSON object instead (the shim's GET /stats answer)\n\n";

/* Reads --window or --step's value into *out. 0, else prints why and returns -1. */
static int read_seconds(const char *cmd, const char *flag, const char *arg, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < 1 || v > INT_MAX) {
        cli_usage_error(cmd, "%s '%s' is not a positive number of seconds", flag, arg);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Parses argv. Returns -1 to go on, else the exit code. */
static int parse_stats(int argc, char **argv, int *window, int *step, int *json_out,
                       kec_client_options *o)
{
    const char *cmd = argv[0];
    int opt, r;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", stats_options, NULL)) != -1) {
        r = cli_common_option(opt, optarg, o, cmd);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        if (opt == 'h') {
            printf(STATS_HELP, cli_program);
            fputs(CLI_COMMON_HELP, stdout);
            return cli_finish_output(cmd, CLI_EXIT_OK);
        }
        if (opt == OPT_JSON_OUT)
            *json_out = 1;
        else if (opt == OPT_WINDOW || opt == OPT_STEP) {
            if (read_seconds(cmd, opt == OPT_WINDOW ? "--window" : "--step", optarg,
                             opt == OPT_WINDOW ? window : step) != 0)
                return CLI_EXIT_USAGE;
        } else
            return cli_option_error(cmd, opt, argv);
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return -1;
}

/* The table view. */
static void print_stats(const kec_stats *s)
{
    char a[KEC_TIME_TEXT_MAX], b[KEC_TIME_TEXT_MAX];
    size_t i;

    printf("now %s, window %d s in steps of %d s, events counted since %s\n",
           kec_time_format(s->now, a), s->window, s->step,
           s->events_since.set ? kec_time_format(s->events_since, b) : "-");
    printf("%-20s %8s %8s %8s %8s\n", "START", "EVENTS", "SUCCESS", "FAILURE", "ABORTED");
    for (i = 0; i < s->count; i++) {
        const kec_stats_bucket *k = &s->buckets[i];

        printf("%-20s %8" PRId64 " %8" PRId64 " %8" PRId64 " %8" PRId64 "\n",
               kec_time_format(k->start, a), k->events, k->success, k->failure, k->aborted);
    }
    printf("staged %" PRId64 ", ready %" PRId64 ", started %" PRId64 "\n", s->staged, s->ready,
           s->started);
}

int cli_stats(int argc, char **argv)
{
    const char *cmd = argv[0];
    kec_client_options o;
    kec_client *c = NULL;
    kec_stats s;
    kec_error err;
    int rc, window = 0, step = 0, json_out = 0;
    char *text;

    memset(&s, 0, sizeof s);
    kec_error_clear(&err);
    kec_client_options_init(&o);
    rc = parse_stats(argc, argv, &window, &step, &json_out, &o);
    if (rc >= 0)
        return rc;
    rc = cli_connect(&o, cmd, &c);
    if (rc != CLI_EXIT_OK)
        goto out;
    if (kec_get_stats(c, window, step, &s, &err) != KEC_OK) {
        rc = cli_report(cmd, c, &err);
        goto out;
    }
    if (json_out) {
        text = kec_stats_to_json(&s);
        if (text == NULL) {
            fprintf(stderr, "%s %s: out of memory\n", cli_program, cmd);
            rc = CLI_EXIT_FAILED;
            goto out;
        }
        printf("%s\n", text);
        free(text);
    } else {
        print_stats(&s);
    }
    rc = cli_finish_output(cmd, CLI_EXIT_OK);
out:
    kec_stats_release(&s);
    kec_client_free(c);
    return rc;
}
