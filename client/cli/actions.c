/* actions.c -- `kedro-events cancel` and `retry`: acting on one pipeline. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CANCEL_DEFAULT_TIMEOUT_MS 60000 /* a running run's cancel waits for its end */

enum { OPT_JSON_OUT = CLI_OPT_FIRST_FREE };

static const struct option action_options[] = {
    {"json-out", no_argument, NULL, OPT_JSON_OUT}, CLI_COMMON_LONG_OPTIONS, {NULL, 0, NULL, 0}};

static const char *const CANCEL_HELP =
    "Usage: %s cancel ID [OPTIONS]\n\n"
    "Cancels pipeline ID and shows it like `get`. A READY pipeline becomes ABORTED at once; a\n"
    "running one is ended (SIGTERM to its process group, SIGKILL of its whole tree after\n"
    "kedro-eventd's --cancel-grace) and shown once ABORTED is recorded, so this waits up to that\n"
    "grace (the default --timeout here is 60 s). Exits 1 when the pipeline has already ended,\n"
    "runs in kedro-graphql (cancel it there) or does not exist.\n\n"
    "  --json-out             the pipeline as one JSON object instead\n\n";

static const char *const RETRY_HELP =
    "Usage: %s retry ID [OPTIONS]\n\n"
    "Starts the ended pipeline ID again and shows the new pipeline like `get`: the same name,\n"
    "parent, parameters (its own `id`), event and tags, plus a tag retry_of=ID. It is READY: a\n"
    "runner starts it. Exits 1 when ID has not ended or does not exist.\n\n"
    "  --json-out             the pipeline as one JSON object instead\n\n";

/* Parses `cmd ID [OPTIONS]`. Returns -1 to go on (*id set), else the exit code. */
static int parse_action(int argc, char **argv, const char *help, const char **id, int *json_out,
                        kec_client_options *o)
{
    const char *cmd = argv[0];
    int opt, r;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", action_options, NULL)) != -1) {
        r = cli_common_option(opt, optarg, o, cmd);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        if (opt == 'h') {
            printf(help, cli_program);
            fputs(CLI_COMMON_HELP, stdout);
            return cli_finish_output(cmd, CLI_EXIT_OK);
        }
        if (opt != OPT_JSON_OUT)
            return cli_option_error(cmd, opt, argv);
        *json_out = 1;
    }
    if (optind >= argc)
        return cli_usage_error(cmd, "the pipeline ID is missing");
    if (argv[optind][0] == '\0')
        return cli_usage_error(cmd, "the pipeline ID is empty");
    if (optind + 1 < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    *id = argv[optind];
    return -1;
}

typedef int (*action_fn)(kec_client *c, const char *id, kec_pipeline *out, kec_error *err);

/* Runs one action (cancel or retry) and prints the pipeline it answers. */
static int run_action(int argc, char **argv, const char *help, int timeout_ms, action_fn fn)
{
    const char *cmd = argv[0], *id = NULL;
    kec_client_options o;
    kec_client *c = NULL;
    kec_pipeline p;
    kec_error err;
    int rc, json_out = 0;

    memset(&p, 0, sizeof p);
    kec_error_clear(&err);
    kec_client_options_init(&o);
    if (timeout_ms > 0)
        o.timeout_ms = timeout_ms; /* --timeout still wins */
    rc = parse_action(argc, argv, help, &id, &json_out, &o);
    if (rc >= 0)
        return rc;
    rc = cli_connect(&o, cmd, &c);
    if (rc != CLI_EXIT_OK)
        goto out;
    if (fn(c, id, &p, &err) != KEC_OK) {
        rc = cli_report(cmd, c, &err);
        goto out;
    }
    if (json_out) {
        rc = cli_print_pipeline_json(cmd, &p);
        putchar('\n');
    } else {
        cli_print_pipeline(&p);
    }
    rc = cli_finish_output(cmd, rc);
out:
    kec_pipeline_release(&p);
    kec_client_free(c);
    return rc;
}

int cli_cancel(int argc, char **argv)
{
    return run_action(argc, argv, CANCEL_HELP, CANCEL_DEFAULT_TIMEOUT_MS, kec_cancel_pipeline);
}

int cli_retry(int argc, char **argv)
{
    return run_action(argc, argv, RETRY_HELP, 0, kec_retry_pipeline);
}
