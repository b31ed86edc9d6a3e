/* options_graphql.c -- parsing and documenting the kedro-graphql runner's flags. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "forward_graphql.h"
#include "options.h"

#define POLL_MAX_SECONDS 3600    /* --graphql-poll-interval's largest value */
#define TIMEOUT_MAX_SECONDS 3600 /* --graphql-timeout's largest value */

static const char *const flag_names[KE_OPT_GQL_COUNT] = {
    "--graphql-url",  "--graphql-header", "--graphql-headers-file", "--graphql-timeout",
    "--max-forwards", "--graphql-ca",     "--graphql-poll-interval"};

void ke_options_graphql_usage(FILE *f)
{
    fprintf(f,
            "\n"
            "kedro-graphql runner (--runner kedro-graphql):\n"
            "  --graphql-url URL         its GraphQL endpoint, http:// or https:// (required),\n"
            "                            e.g. http://kgql:5000/graphql\n"
            "  --graphql-header 'Name: value'\n"
            "                            a header every request carries (repeatable, at most\n"
            "                            %d; e.g. an authorization header; never logged)\n"
            "  --graphql-headers-file FILE\n"
            "                            more headers, one \"Name: value\" a line (# comments;\n"
            "                            at most %d, %u bytes); must not be readable by others\n"
            "                            (chmod 600); SIGHUP re-reads it, a file refused then\n"
            "                            keeps the headers read before\n"
            "  --graphql-timeout SECONDS per HTTP request (default %d)\n"
            "  --max-forwards N          pipelines being forwarded at once (default %d, 1 to\n"
            "                            %d), sent %d to a request\n"
            "  --graphql-ca FILE         PEM roots to verify an https server with (default: the\n"
            "                            system's)\n"
            "  --graphql-poll-interval SECONDS\n"
            "                            how often forwarded runs' states are polled (default\n"
            "                            %g; decimals allowed; at least %g)\n"
            "  kedro-graphql down, failing or timing out: pipelines stay READY and are retried\n"
            "  with a pause doubling from %g s to %d s; any other GraphQL error ends the\n"
            "  pipeline FAILURE with kedro-graphql's message.\n",
            KE_GQL_MAX_HEADERS, KE_GQL_MAX_HEADERS, KE_GQL_HEADERS_FILE_MAX, KE_GQL_DEFAULT_TIMEOUT,
            KE_GQL_DEFAULT_MAX_FORWARDS, KE_GQL_MAX_MAX_FORWARDS, KE_GQL_MAX_BATCH,
            KE_GQL_DEFAULT_POLL_MS / 1000.0, KE_GQL_MIN_POLL_MS / 1000.0,
            KE_GQL_BACKOFF_MIN_MS / 1000.0, KE_GQL_BACKOFF_MAX_MS / 1000);
}

void ke_options_graphql_defaults(ke_options *o)
{
    o->graphql_timeout = KE_GQL_DEFAULT_TIMEOUT;
    o->max_forwards = KE_GQL_DEFAULT_MAX_FORWARDS;
    o->graphql_poll_ms = KE_GQL_DEFAULT_POLL_MS;
}

static int whole(const char *flag, const char *s, long min, long max, int *out, ke_error *err)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return ke_error_set(err, KE_EINVAL, "%s \"%s\": must be a whole number from %ld to %ld",
                            flag, s, min, max);
    *out = (int)v;
    return KE_OK;
}

static int check_url(const char *url, ke_error *err)
{
    size_t skip = strncasecmp(url, "http://", 7) == 0    ? 7
                  : strncasecmp(url, "https://", 8) == 0 ? 8
                                                         : 0;
    const char *p;

    if (skip == 0 || url[skip] == '\0' || url[skip] == '/')
        return ke_error_set(err, KE_EINVAL,
                            "--graphql-url \"%.200s\": must be an http:// or https:// URL with a "
                            "host, e.g. http://kgql:5000/graphql",
                            url);
    for (p = url; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return ke_error_set(err, KE_EINVAL,
                                "--graphql-url: the URL holds a space or control character");
    return KE_OK;
}

static int parse_poll(const char *s, ke_options *o, ke_error *err)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
        v < KE_GQL_MIN_POLL_MS / 1000.0 - 1e-9 || v > POLL_MAX_SECONDS)
        return ke_error_set(err, KE_EINVAL,
                            "--graphql-poll-interval \"%s\": must be a number of seconds from %g "
                            "to %d",
                            s, KE_GQL_MIN_POLL_MS / 1000.0, POLL_MAX_SECONDS);
    o->graphql_poll_ms = (int)lround(v * 1000);
    if (o->graphql_poll_ms < KE_GQL_MIN_POLL_MS)
        o->graphql_poll_ms = KE_GQL_MIN_POLL_MS;
    return KE_OK;
}

int ke_options_graphql_flag(int which, const char *arg, ke_options *o, ke_error *err)
{
    char why[200];

    if (o->graphql_flag == NULL)
        o->graphql_flag = flag_names[which];
    switch (which) {
    case KE_OPT_GQL_URL:
        o->graphql_url = arg;
        return check_url(arg, err);
    case KE_OPT_GQL_HEADER:
        if (o->n_graphql_headers == KE_GQL_MAX_HEADERS)
            return ke_error_set(err, KE_EINVAL, "--graphql-header: more than %d of them",
                                KE_GQL_MAX_HEADERS);
        if (ke_gql_header_check(arg, strlen(arg), why, sizeof why) != 0)
            return ke_error_set(err, KE_EINVAL, "--graphql-header: %s", why);
        o->graphql_headers[o->n_graphql_headers++] = arg;
        return KE_OK;
    case KE_OPT_GQL_HEADERS_FILE:
    case KE_OPT_GQL_CA:
        if (arg[0] == '\0')
            return ke_error_set(err, KE_EINVAL, "%s: the path is empty", flag_names[which]);
        if (which == KE_OPT_GQL_CA)
            o->graphql_ca = arg;
        else
            o->graphql_headers_file = arg;
        return KE_OK;
    case KE_OPT_GQL_TIMEOUT:
        return whole("--graphql-timeout", arg, 1, TIMEOUT_MAX_SECONDS, &o->graphql_timeout, err);
    case KE_OPT_GQL_MAX_FORWARDS:
        return whole("--max-forwards", arg, 1, KE_GQL_MAX_MAX_FORWARDS, &o->max_forwards, err);
    default:
        return parse_poll(arg, o, err);
    }
}

int ke_options_graphql_check(const ke_options *o, ke_error *err)
{
    if (o->run_graphql && o->graphql_url == NULL)
        return ke_error_set(err, KE_EINVAL,
                            "--runner kedro-graphql needs --graphql-url (its GraphQL endpoint, "
                            "e.g. http://kgql:5000/graphql)");
    if (!o->run_graphql && o->graphql_flag != NULL)
        return ke_error_set(err, KE_EINVAL, "%s is for --runner kedro-graphql only",
                            o->graphql_flag);
    return KE_OK;
}
