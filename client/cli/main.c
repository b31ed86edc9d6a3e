/* main.c -- kedro-events: the command line of libkedroevents; picks the subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_program = "kedro-events";

static const struct {
    const char *name;                  /* as typed */
    int (*run)(int argc, char **argv); /* the subcommand */
    const char *summary;               /* one line for --help */
} commands[] = {
    {"send", cli_send, "send one CloudEvent (or a JSON event or batch) and show its pipelines"},
    {"get", cli_get, "show one pipeline"},
    {"list", cli_list, "list pipelines, newest first"},
    {"watch", cli_watch, "follow a pipeline until it ends, showing each state change"},
    {"cancel", cli_cancel, "end a pipeline (READY or running) and show it ABORTED"},
    {"retry", cli_retry, "start an ended pipeline again and show the new one"},
    {"stats", cli_stats, "show recent activity: events and ended runs per bucket, the backlog"},
    {"logs", cli_logs, "write a run's output (-f: as it is written, until the run ends)"},
    {"bench", cli_bench, "load-test Dispatch and report throughput and latency"},
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f,
            "Usage: %s COMMAND [OPTIONS]\n\n"
            "Sends CloudEvents to kedro-eventd over gRPC and reads the pipelines they start.\n\n"
            "Commands:\n",
            cli_program);
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-6s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n'%s COMMAND --help' describes each command and its options.\n\n"
            "Exit codes:\n"
            "  0  done\n"
            "  1  the server answered an error (its status and message are printed);\n"
            "     watch: the pipeline ended in FAILURE or ABORTED; bench: some calls failed\n"
            "  2  invalid flags or arguments\n"
            "  3  the server could not be reached (UNAVAILABLE, or no answer before --timeout)\n"
            "  4  an input file could not be read, or is not CloudEvents JSON\n",
            cli_program);
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s %s\n", cli_program, KEC_VERSION);
        return CLI_EXIT_OK;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\nTry '%s --help'.\n", cli_program, argv[1],
            cli_program);
    return CLI_EXIT_USAGE;
}
