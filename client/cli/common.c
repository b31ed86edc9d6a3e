/* common.c -- the connection flags, creating the client, and reporting errors, for every
 * kedro-events subcommand. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kec_tokens.h"

static const char *token_file; /* --token-file, read by cli_connect */

int cli_common_option(int opt, const char *arg, kec_client_options *o, const char *cmd)
{
    char *end;
    double s;

    switch (opt) {
    case CLI_OPT_TARGET:
        if (arg[0] == '\0') {
            cli_usage_error(cmd, "--target needs HOST:PORT");
            return -1;
        }
        o->target = arg;
        return 1;
    case CLI_OPT_TIMEOUT:
        errno = 0;
        s = strtod(arg, &end);
        if (errno != 0 || end == arg || *end != '\0' || !isfinite(s) || s <= 0 || s > 86400) {
            cli_usage_error(cmd, "--timeout '%s' is not a number of seconds in (0, 86400]", arg);
            return -1;
        }
        o->timeout_ms = s * 1000 < 1 ? 1 : (int)(s * 1000);
        return 1;
    case CLI_OPT_TLS:
        o->tls = 1;
        return 1;
    case CLI_OPT_TLS_CA:
        o->tls_ca_file = arg;
        o->tls = 1;
        return 1;
    case CLI_OPT_TLS_CERT:
        o->tls_cert_file = arg;
        o->tls = 1;
        return 1;
    case CLI_OPT_TLS_KEY:
        o->tls_key_file = arg;
        o->tls = 1;
        return 1;
    case CLI_OPT_TLS_SERVER_NAME:
        o->tls_server_name = arg;
        o->tls = 1;
        return 1;
    case CLI_OPT_TOKEN_FILE:
        token_file = arg;
        return 1;
    }
    return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s %s: ", cli_program, cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s %s --help'.\n", cli_program, cmd);
    return CLI_EXIT_USAGE;
}

int cli_option_error(const char *cmd, int opt, char **argv)
{
    /* A short option's letter is in optopt; a long one is the argument just consumed. */
    if (optopt > 0 && optopt < 256)
        return cli_usage_error(cmd, "option '-%c' %s", optopt,
                               opt == ':' ? "needs a value" : "is unknown");
    return cli_usage_error(cmd, "option '%s' %s", argv[optind - 1],
                           opt == ':' ? "needs a value" : "is unknown");
}

int cli_connect(const kec_client_options *o, const char *cmd, kec_client **out)
{
    kec_client_options with_token = *o;
    char *token = NULL;
    kec_error err;
    int rc;

    kec_error_clear(&err);
    if ((o->tls_cert_file == NULL) != (o->tls_key_file == NULL))
        return cli_usage_error(cmd, "--tls-cert and --tls-key go together");
    if (token_file != NULL && kec_token_file_read(token_file, &token, &err) != KEC_OK) {
        fprintf(stderr, "%s %s: --token-file: %s\n", cli_program, cmd, err.msg);
        return CLI_EXIT_INPUT;
    }
    if (token != NULL)
        with_token.token = token;
    rc = kec_client_new(&with_token, out, &err);
    if (token != NULL) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
    if (rc != KEC_OK) {
        fprintf(stderr, "%s %s: %s\n", cli_program, cmd, err.msg);
        return err.code == KEC_EIO ? CLI_EXIT_INPUT : CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

int cli_report(const char *cmd, const kec_client *c, const kec_error *err)
{
    if (err->code != KEC_ESTATUS) {
        fprintf(stderr, "%s %s: %s\n", cli_program, cmd, err->msg);
        return err->code == KEC_EFORMAT || err->code == KEC_EIO ? CLI_EXIT_INPUT : CLI_EXIT_FAILED;
    }
    /* an overloaded server answered: not "unreachable" */
    if ((err->status == KEC_STATUS_UNAVAILABLE &&
         strncmp(err->msg, KEC_OVERLOADED_PREFIX, strlen(KEC_OVERLOADED_PREFIX)) != 0) ||
        err->status == KEC_STATUS_DEADLINE_EXCEEDED) {
        fprintf(stderr, "%s %s: cannot reach kedro-eventd at %s: %s: %s\n", cli_program, cmd,
                c != NULL ? kec_client_target(c) : "?", kec_status_name(err->status), err->msg);
        return CLI_EXIT_UNREACHABLE;
    }
    fprintf(stderr, "%s %s: %s: %s\n", cli_program, cmd, kec_status_name(err->status), err->msg);
    return CLI_EXIT_FAILED;
}
