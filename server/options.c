/* options.c -- parsing and documenting kedro-eventd's flags. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "kec_tokens.h"
#include "rpc.h"
#include "store.h"

/* The limits' part of --help: what an outside caller can make the server hold. */
static void usage_limits(FILE *f)
{
    fprintf(
        f,
        "\n"
        "Limits (past one, the answer is retryable: UNAVAILABLE \"overloaded: ...\" or\n"
        "RESOURCE_EXHAUSTED \"store full: ...\"; grpc.health.v1.Health is never refused):\n"
        "  --max-inflight-bytes N    request bytes held by calls at once (default %u, 4 requests\n"
        "                            of the default size; at least --max-message-bytes;\n"
        "                            0: no limit); grpc core's own buffers get %d times it\n"
        "  --max-calls N             calls handled at once (default %d; 0: no limit); each\n"
        "                            connection carries at most %d calls at once\n"
        "  --max-streams N           server streams open at once (WatchPipeline,\n"
        "                            WatchPipelines, StreamLogs; default %d; 0: no limit);\n"
        "                            not counted against --max-calls\n"
        "  --handshake-timeout SECONDS\n"
        "                            a new connection that does not finish its HTTP/2\n"
        "                            handshake in time is closed (default %d)\n"
        "  --max-connection-idle SECONDS\n"
        "                            a connection without calls for this long is closed\n"
        "                            (GOAWAY; default %d; 0: never)\n"
        "  --max-store-bytes N       the database's size cap: past it Dispatch, DispatchBatch\n"
        "                            and CreatePipeline answer RESOURCE_EXHAUSTED \"store full:\"\n"
        "                            (runs already accepted still start and finish; default\n"
        "                            0: no cap but the disk's; at least %d)\n",
        KE_DEFAULT_MAX_INFLIGHT_BYTES, KE_RPC_QUOTA_FACTOR, KE_DEFAULT_MAX_CALLS,
        KE_RPC_MAX_STREAMS, KE_RPC_DEFAULT_MAX_STREAMS, KE_DEFAULT_HANDSHAKE_SECONDS, KE_DEFAULT_IDLE_SECONDS,
        KE_STORE_MIN_MAX_BYTES);
}

void ke_options_usage(FILE *f)
{
    fprintf(
        f,
        "Usage: kedro-eventd [OPTIONS]\n"
        "\n"
        "Serves kedro.events.v1.EventService over gRPC: every CloudEvent whose source and\n"
        "type match an entry of the event configuration starts a run of that Kedro\n"
        "pipeline, with the parameters `id` and `event`.\n"
        "\n"
        "Options:\n"
        "  --listen ADDR             address to serve on (default %s; port 0 picks one)\n"
        "  --events-config JSON|@FILE\n"
        "                            event configuration, overriding the environment:\n"
        "                            {\"<pipeline>\": {\"source\": \"...\", \"type\": \"...\"}}\n"
        "  --dotenv FILE             .env file read for the configuration (default .env)\n"
        "  --data-dir DIR            where the server keeps its data (default %s)\n"
        "  --max-message-bytes N     largest request accepted (default %u)\n"
        "  --threads N               server threads (default: the number of CPUs)\n"
        "  --shutdown-grace SECONDS  how long SIGTERM waits for calls in flight (default %d)\n"
        "\n"
        "Runs:\n"
        "  --runner local|none|kedro-graphql\n"
        "                            local: run READY pipelines as `kedro run` (default);\n"
        "                            none: only record them; kedro-graphql: hand them to a\n"
        "                            kedro-graphql server (see below)\n"
        "  --kedro-project DIR       the Kedro project runs start in (default .)\n"
        "  --kedro-bin PATH          the kedro executable (default: kedro on PATH)\n"
        "  --env ENV                 passed to `kedro run --env`\n"
        "  --max-runs N              runs at once (default: the number of CPUs)\n"
        "  --run-timeout SECONDS     end a run after this long (default: never)\n"
        "  --requeue-interrupted     at start-up, run again what a crash interrupted\n"
        "                            (default: record it as FAILURE \"interrupted\")\n"
        "  --http-url URL            kedro-event-shim's address, given to runs as\n"
        "                            KEDRO_EVENTS_HTTP_URL (default %s; \"\" for none)\n",
        KE_DEFAULT_LISTEN, KE_DEFAULT_DATA_DIR, KE_DEFAULT_MAX_MESSAGE_BYTES,
        KE_DEFAULT_GRACE_SECONDS, KE_DEFAULT_HTTP_URL);
    ke_options_graphql_usage(f);
    usage_limits(f);
    fprintf(
        f,
        "\n"
        "Security (both off by default: plaintext, no tokens):\n"
        "  --tls-cert FILE           serve TLS with this PEM certificate chain (at most %u\n"
        "                            bytes a file) ...\n"
        "  --tls-key FILE            ... and its PEM private key (unencrypted)\n"
        "  --tls-client-ca FILE      mutual TLS: require a client certificate that chains to\n"
        "                            these PEM roots (needs --tls-cert)\n"
        "  --auth-tokens FILE        every call but grpc.health.v1.Health needs metadata\n"
        "                            `authorization: Bearer <token>` for a token in FILE\n"
        "                            (one a line, %d to %d characters of letters, digits and\n"
        "                            -._~+/=; blank lines and # comments ignored; at most %d);\n"
        "                            else UNAUTHENTICATED. FILE must not be readable by\n"
        "                            others (chmod 600). SIGHUP re-reads it; a file refused\n"
        "                            then keeps the old tokens\n"
        "  --run-token-file FILE     give runs the first token in FILE as KEDRO_EVENTS_TOKEN,\n"
        "                            for the child pipelines they create; SIGHUP re-reads it\n"
        "                            (runs never inherit KEDRO_EVENTS_TOKEN otherwise)\n"
        "\n"
        "  --help                    show this text\n"
        "  --version                 show the version\n"
        "\n"
        "Environment:\n"
        "  %s   the event configuration (JSON), when --events-config is not given;\n"
        "  also read from the .env file. Unset: Dispatch answers FAILED_PRECONDITION.\n"
        "\n"
        "Signals: SIGINT and SIGTERM shut down; SIGHUP re-reads --auth-tokens,\n"
        "--run-token-file and --graphql-headers-file.\n"
        "\n"
        "Exit status: 0 after a clean shutdown (SIGINT, SIGTERM); 1 when the server cannot\n"
        "start (invalid configuration, address in use, a TLS or token file refused); 2 for\n"
        "invalid flags.\n",
        KE_TLS_PEM_MAX, KEC_TOKEN_MIN_BYTES, KEC_TOKEN_MAX_BYTES, KEC_TOKENS_MAX_COUNT,
        KE_CONFIG_ENV);
}

/* Parses a whole decimal number in [min, max] into *out (0 on failure). */
static int parse_number(const char *flag, const char *s, long long min, long long max,
                        long long *out, ke_error *err)
{
    char *end;
    long long v;

    *out = 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return ke_error_set(err, KE_EINVAL, "%s \"%s\": must be a whole number from %lld to %lld",
                            flag, s, min, max);
    *out = v;
    return KE_OK;
}

/* The security flags, numbered i in the order below: a file path each, never empty. */
static int security_flag(int i, const char *path, ke_options *o, ke_error *err)
{
    static const char *const names[] = {"--tls-cert", "--tls-key", "--tls-client-ca",
                                        "--auth-tokens", "--run-token-file"};
    const char **fields[] = {&o->tls_cert, &o->tls_key, &o->tls_client_ca, &o->auth_tokens,
                             &o->run_token_file};

    if (path[0] == '\0')
        return ke_error_set(err, KE_EINVAL, "%s: the path is empty", names[i]);
    *fields[i] = path;
    return KE_OK;
}

/* Flags that only work together. */
static int check_security(const ke_options *o, ke_error *err)
{
    if ((o->tls_cert == NULL) != (o->tls_key == NULL))
        return ke_error_set(err, KE_EINVAL, "%s given without %s: TLS needs both (PEM files)",
                            o->tls_cert != NULL ? "--tls-cert" : "--tls-key",
                            o->tls_cert != NULL ? "--tls-key" : "--tls-cert");
    if (o->tls_client_ca != NULL && o->tls_cert == NULL)
        return ke_error_set(err, KE_EINVAL,
                            "--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS "
                            "that also checks the client");
    return KE_OK;
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > KE_MAX_THREADS ? KE_MAX_THREADS : (int)n;
}

/* The limits' flags, in the order of usage_limits(). */
enum { L_INFLIGHT, L_CALLS, L_HANDSHAKE, L_IDLE, L_STORE, L_STREAMS };

/* Parses the value of limit flag `which` into o. */
static int parse_limit(int which, const char *arg, ke_options *o, ke_error *err)
{
    long long v;

    switch (which) {
    case L_INFLIGHT:
        if (parse_number("--max-inflight-bytes", arg, 0, (long long)1 << 40, &v, err) != KE_OK)
            return KE_EINVAL;
        o->max_inflight_bytes = (size_t)v;
        break;
    case L_CALLS:
        if (parse_number("--max-calls", arg, 0, 1000000, &v, err) != KE_OK)
            return KE_EINVAL;
        o->max_calls = (int)v;
        break;
    case L_STREAMS:
        if (parse_number("--max-streams", arg, 0, 1000000, &v, err) != KE_OK)
            return KE_EINVAL;
        o->max_streams = (int)v;
        break;
    case L_HANDSHAKE:
        if (parse_number("--handshake-timeout", arg, 1, 3600, &v, err) != KE_OK)
            return KE_EINVAL;
        o->handshake_timeout = (int)v;
        break;
    case L_IDLE:
        if (parse_number("--max-connection-idle", arg, 0, 30 * 24 * 3600, &v, err) != KE_OK)
            return KE_EINVAL;
        o->max_idle = (int)v;
        break;
    default:
        if (parse_number("--max-store-bytes", arg, 0, LLONG_MAX / 2, &v, err) != KE_OK)
            return KE_EINVAL;
        if (v != 0 && v < KE_STORE_MIN_MAX_BYTES)
            return ke_error_set(err, KE_EINVAL,
                                "--max-store-bytes %lld: must be 0 (no cap) or at least %d", v,
                                KE_STORE_MIN_MAX_BYTES);
        o->max_store_bytes = v;
        break;
    }
    return KE_OK;
}

int ke_options_parse(int argc, char **argv, ke_options *o, ke_error *err)
{
    enum {
        O_LISTEN = 256,
        O_CONFIG,
        O_DOTENV,
        O_DATA,
        O_MAXMSG,
        O_THREADS,
        O_GRACE,
        O_HELP,
        O_VER,
        O_RUNNER,
        O_PROJECT,
        O_BIN,
        O_ENV,
        O_MAXRUNS,
        O_TIMEOUT,
        O_REQUEUE,
        O_HTTP_URL,
        O_TLS_CERT,
        O_TLS_KEY,
        O_TLS_CLIENT_CA,
        O_AUTH_TOKENS,
        O_RUN_TOKEN_FILE,
        O_GQL_FIRST, /* the kedro-graphql flags: ke_options_graphql_flag() */
        O_LIMIT_FIRST = O_GQL_FIRST + KE_OPT_GQL_COUNT /* the limits' flags: parse_limit() */
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"events-config", required_argument, NULL, O_CONFIG},
        {"dotenv", required_argument, NULL, O_DOTENV},
        {"data-dir", required_argument, NULL, O_DATA},
        {"max-message-bytes", required_argument, NULL, O_MAXMSG},
        {"threads", required_argument, NULL, O_THREADS},
        {"shutdown-grace", required_argument, NULL, O_GRACE},
        {"runner", required_argument, NULL, O_RUNNER},
        {"kedro-project", required_argument, NULL, O_PROJECT},
        {"kedro-bin", required_argument, NULL, O_BIN},
        {"env", required_argument, NULL, O_ENV},
        {"max-runs", required_argument, NULL, O_MAXRUNS},
        {"run-timeout", required_argument, NULL, O_TIMEOUT},
        {"requeue-interrupted", no_argument, NULL, O_REQUEUE},
        {"http-url", required_argument, NULL, O_HTTP_URL},
        {"max-inflight-bytes", required_argument, NULL, O_LIMIT_FIRST + L_INFLIGHT},
        {"max-calls", required_argument, NULL, O_LIMIT_FIRST + L_CALLS},
        {"max-streams", required_argument, NULL, O_LIMIT_FIRST + L_STREAMS},
        {"handshake-timeout", required_argument, NULL, O_LIMIT_FIRST + L_HANDSHAKE},
        {"max-connection-idle", required_argument, NULL, O_LIMIT_FIRST + L_IDLE},
        {"max-store-bytes", required_argument, NULL, O_LIMIT_FIRST + L_STORE},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VER},
        {"tls-cert", required_argument, NULL, O_TLS_CERT},
        {"tls-key", required_argument, NULL, O_TLS_KEY},
        {"tls-client-ca", required_argument, NULL, O_TLS_CLIENT_CA},
        {"auth-tokens", required_argument, NULL, O_AUTH_TOKENS},
        {"run-token-file", required_argument, NULL, O_RUN_TOKEN_FILE},
        {"graphql-url", required_argument, NULL, O_GQL_FIRST + KE_OPT_GQL_URL},
        {"graphql-header", required_argument, NULL, O_GQL_FIRST + KE_OPT_GQL_HEADER},
        {"graphql-headers-file", required_argument, NULL, O_GQL_FIRST + KE_OPT_GQL_HEADERS_FILE},
        {"graphql-timeout", required_argument, NULL, O_GQL_FIRST + KE_OPT_GQL_TIMEOUT},
        {"max-forwards", required_argument, NULL, O_GQL_FIRST + KE_OPT_GQL_MAX_FORWARDS},
        {"graphql-ca", required_argument, NULL, O_GQL_FIRST + KE_OPT_GQL_CA},
        {"graphql-poll-interval", required_argument, NULL, O_GQL_FIRST + KE_OPT_GQL_POLL},
        {NULL, 0, NULL, 0},
    };
    long long v;
    int c;

    memset(o, 0, sizeof *o);
    o->listen = KE_DEFAULT_LISTEN;
    o->data_dir = KE_DEFAULT_DATA_DIR;
    o->dotenv = ".env";
    o->max_message_bytes = KE_DEFAULT_MAX_MESSAGE_BYTES;
    o->threads = default_threads();
    o->grace_seconds = KE_DEFAULT_GRACE_SECONDS;
    o->run_local = 1;
    o->kedro_project = ".";
    o->kedro_bin = "kedro";
    o->http_url = KE_DEFAULT_HTTP_URL;
    o->max_runs = default_threads();
    o->max_inflight_bytes = KE_DEFAULT_MAX_INFLIGHT_BYTES;
    o->max_calls = KE_DEFAULT_MAX_CALLS;
    o->max_streams = KE_RPC_DEFAULT_MAX_STREAMS;
    o->handshake_timeout = KE_DEFAULT_HANDSHAKE_SECONDS;
    o->max_idle = KE_DEFAULT_IDLE_SECONDS;
    o->max_store_bytes = KE_DEFAULT_MAX_STORE_BYTES;
    ke_options_graphql_defaults(o);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            if (optarg[0] == '\0')
                return ke_error_set(err, KE_EINVAL, "--listen: the address is empty");
            o->listen = optarg;
            break;
        case O_CONFIG:
            o->events_config = optarg;
            break;
        case O_DOTENV:
            o->dotenv = optarg;
            break;
        case O_DATA:
            if (optarg[0] == '\0')
                return ke_error_set(err, KE_EINVAL, "--data-dir: the path is empty");
            o->data_dir = optarg;
            break;
        case O_MAXMSG:
            if (parse_number("--max-message-bytes", optarg, 1024, INT_MAX, &v, err) != KE_OK)
                return KE_EINVAL;
            o->max_message_bytes = (size_t)v;
            break;
        case O_THREADS:
            if (parse_number("--threads", optarg, 1, KE_MAX_THREADS, &v, err) != KE_OK)
                return KE_EINVAL;
            o->threads = (int)v;
            break;
        case O_GRACE:
            if (parse_number("--shutdown-grace", optarg, 0, 3600, &v, err) != KE_OK)
                return KE_EINVAL;
            o->grace_seconds = (int)v;
            break;
        case O_RUNNER:
            if (strcmp(optarg, "local") != 0 && strcmp(optarg, "none") != 0 &&
                strcmp(optarg, "kedro-graphql") != 0)
                return ke_error_set(err, KE_EINVAL,
                                    "--runner \"%s\": must be local, none or kedro-graphql",
                                    optarg);
            o->run_local = strcmp(optarg, "local") == 0;
            o->run_graphql = strcmp(optarg, "kedro-graphql") == 0;
            break;
        case O_PROJECT:
            o->kedro_project = optarg;
            break;
        case O_BIN:
            if (optarg[0] == '\0')
                return ke_error_set(err, KE_EINVAL, "--kedro-bin: the path is empty");
            o->kedro_bin = optarg;
            break;
        case O_ENV:
            o->kedro_env = optarg;
            break;
        case O_MAXRUNS:
            if (parse_number("--max-runs", optarg, 1, 4096, &v, err) != KE_OK)
                return KE_EINVAL;
            o->max_runs = (int)v;
            break;
        case O_TIMEOUT:
            if (parse_number("--run-timeout", optarg, 0, 30 * 24 * 3600, &v, err) != KE_OK)
                return KE_EINVAL;
            o->run_timeout = (int)v;
            break;
        case O_REQUEUE:
            o->requeue_interrupted = 1;
            break;
        case O_HTTP_URL:
            o->http_url = optarg;
            break;
        case O_GQL_FIRST + KE_OPT_GQL_URL:
        case O_GQL_FIRST + KE_OPT_GQL_HEADER:
        case O_GQL_FIRST + KE_OPT_GQL_HEADERS_FILE:
        case O_GQL_FIRST + KE_OPT_GQL_TIMEOUT:
        case O_GQL_FIRST + KE_OPT_GQL_MAX_FORWARDS:
        case O_GQL_FIRST + KE_OPT_GQL_CA:
        case O_GQL_FIRST + KE_OPT_GQL_POLL:
            if (ke_options_graphql_flag(c - O_GQL_FIRST, optarg, o, err) != KE_OK)
                return KE_EINVAL;
            break;
        case O_LIMIT_FIRST + L_INFLIGHT:
        case O_LIMIT_FIRST + L_CALLS:
        case O_LIMIT_FIRST + L_HANDSHAKE:
        case O_LIMIT_FIRST + L_IDLE:
        case O_LIMIT_FIRST + L_STORE:
        case O_LIMIT_FIRST + L_STREAMS:
            if (parse_limit(c - O_LIMIT_FIRST, optarg, o, err) != KE_OK)
                return KE_EINVAL;
            break;
        case 'h':
        case O_HELP:
            o->help = 1;
            break;
        case O_VER:
            o->version = 1;
            break;
        case O_TLS_CERT:
        case O_TLS_KEY:
        case O_TLS_CLIENT_CA:
        case O_AUTH_TOKENS:
        case O_RUN_TOKEN_FILE:
            if (security_flag(c - O_TLS_CERT, optarg, o, err) != KE_OK)
                return KE_EINVAL;
            break;
        default:
            if (optopt != 0 && optopt < 256)
                return ke_error_set(err, KE_EINVAL, "unknown flag -%c (see --help)", optopt);
            if (optopt >= 256)
                return ke_error_set(err, KE_EINVAL, "%s needs a value (see --help)",
                                    argv[optind - 1]);
            return ke_error_set(err, KE_EINVAL, "unknown flag %s (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ke_error_set(err, KE_EINVAL, "unexpected argument \"%s\" (see --help)",
                            argv[optind]);
    if (o->max_inflight_bytes != 0 && o->max_inflight_bytes < o->max_message_bytes)
        return ke_error_set(err, KE_EINVAL,
                            "--max-inflight-bytes %zu: must be 0 or at least --max-message-bytes "
                            "(%zu), or a request of the largest size could never be served",
                            o->max_inflight_bytes, o->max_message_bytes);
    if (ke_options_graphql_check(o, err) != KE_OK)
        return KE_EINVAL;
    return check_security(o, err);
}
