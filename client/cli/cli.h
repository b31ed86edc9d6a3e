/* cli.h -- what the kedro-events subcommands share: exit codes, the connection options every
 * subcommand takes, and reporting a failed call. */
#ifndef KEC_CLI_H
#define KEC_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "kedroevents.h"

/* Exit codes, the same for every subcommand (documented in `kedro-events --help`). */
#define CLI_EXIT_OK 0          /* done */
#define CLI_EXIT_FAILED 1      /* the server answered an error; watch: the run failed */
#define CLI_EXIT_USAGE 2       /* invalid flags or arguments */
#define CLI_EXIT_UNREACHABLE 3 /* the server could not be reached in time */
#define CLI_EXIT_INPUT 4       /* an input file unreadable, or not CloudEvents JSON */

/* The connection flags every subcommand accepts; long-only options numbered from here. */
enum {
    CLI_OPT_TARGET = 1000,
    CLI_OPT_TIMEOUT,
    CLI_OPT_TLS,
    CLI_OPT_TLS_CA,
    CLI_OPT_TLS_CERT,
    CLI_OPT_TLS_KEY,
    CLI_OPT_TLS_SERVER_NAME,
    CLI_OPT_TOKEN_FILE,
    CLI_OPT_FIRST_FREE = 1100 /* subcommands number their own long-only options from here */
};

/* getopt_long entries for the connection flags; put them in each subcommand's table. */
#define CLI_COMMON_LONG_OPTIONS                                                                    \
    {"target", required_argument, NULL, CLI_OPT_TARGET},                                           \
        {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},                                     \
        {"tls", no_argument, NULL, CLI_OPT_TLS},                                                   \
        {"tls-ca", required_argument, NULL, CLI_OPT_TLS_CA},                                       \
        {"tls-cert", required_argument, NULL, CLI_OPT_TLS_CERT},                                   \
        {"tls-key", required_argument, NULL, CLI_OPT_TLS_KEY},                                     \
        {"tls-server-name", required_argument, NULL, CLI_OPT_TLS_SERVER_NAME},                     \
        {"token-file", required_argument, NULL, CLI_OPT_TOKEN_FILE},                               \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

/* The help text of the connection flags, for each subcommand's --help. */
#define CLI_COMMON_HELP                                                                            \
    "Connection:\n"                                                                                \
    "  --target HOST:PORT     kedro-eventd's address (default: $" KEC_TARGET_ENV ", then\n"        \
    "                         $" KEC_SERVER_ENV ", then " KEC_DEFAULT_TARGET ")\n"                 \
    "  --timeout SECONDS      deadline of each call (default 10; fractions allowed)\n"             \
    "  --tls                  connect with TLS (kedro-eventd --tls-cert, or a TLS proxy)\n"        \
    "  --tls-ca FILE          PEM roots to trust (default: the system's)\n"                        \
    "  --tls-cert FILE        PEM client certificate, for mutual TLS (with --tls-key)\n"           \
    "  --tls-key FILE         PEM key of --tls-cert\n"                                             \
    "  --tls-server-name NAME name to verify in the server's certificate\n"                        \
    "  --token-file FILE      send the bearer token in FILE (its first line that is not\n"         \
    "                         blank or a # comment; default: $" KEC_TOKEN_ENV ")\n"                \
    "  -h, --help             this text\n"

/* The name the program was started as, for messages ("kedro-events"). */
extern const char *cli_program;

/* Applies one parsed connection flag to o. Returns 1 when opt was one (arg copied by pointer:
 * argv outlives o), 0 when it was not, -1 after printing why arg is invalid. */
int cli_common_option(int opt, const char *arg, kec_client_options *o, const char *cmd);

/* Creates the client (kec_client_options filled from the flags, and the token of
 * --token-file read now). On failure prints
 * "kedro-events CMD: ..." to stderr and returns the exit code; else CLI_EXIT_OK. */
int cli_connect(const kec_client_options *o, const char *cmd, kec_client **out);

/* Prints err as "kedro-events CMD: STATUS: message" (with the target when the server could
 * not be reached) and returns the exit code it maps to. */
int cli_report(const char *cmd, const kec_client *c, const kec_error *err);

/* Prints "kedro-events CMD: message\nTry 'kedro-events CMD --help'." and returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports what getopt_long (run with opterr = 0 and an optstring starting with ':') refused:
 * opt is its return value ('?' unknown option, ':' missing value). Returns CLI_EXIT_USAGE. */
int cli_option_error(const char *cmd, int opt, char **argv);

/* ---- output shared by send, get, list and watch (output.c) ------------------------------ */

/* The width of the NAME column for n pipelines (at least the header's, at most 40). */
int cli_name_width(const kec_pipeline *ps, size_t n);

/* Prints the pipeline table's header line (ID, NAME, STATE, CREATED) to stdout. */
void cli_table_header(int name_width);

/* Prints one pipeline to stdout: a table row when table is 1 (CREATED to the second), else
 * "id<TAB>name<TAB>state", for scripts. */
void cli_pipeline_row(const kec_pipeline *p, int table, int name_width);

/* Flushes stdout. When writing failed, prints why and returns CLI_EXIT_FAILED; else rc. */
int cli_finish_output(const char *cmd, int rc);

/* `get`'s views of one pipeline (read.c): the human one, and kec_pipeline_to_json without a
 * newline (returns an exit code). */
void cli_print_pipeline(const kec_pipeline *p);
int cli_print_pipeline_json(const char *cmd, const kec_pipeline *p);

/* The subcommands: argv[0] is the subcommand's name; each returns an exit code. */
int cli_send(int argc, char **argv);
int cli_get(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_watch(int argc, char **argv);
int cli_cancel(int argc, char **argv);
int cli_retry(int argc, char **argv);
int cli_logs(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_bench(int argc, char **argv);

#endif
