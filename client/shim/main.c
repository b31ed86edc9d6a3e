/* main.c -- kedro-event-shim: flags, the one gRPC client, the HTTP server, a graceful stop on
 * SIGINT/SIGTERM, the tokens re-read on SIGHUP, and systemd told (sd_notify) when it is ready
 * and stopping. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "framing.h"
#include "kec_log.h"
#include "shim.h"
#include "ui.h"
#include "watch.h"

#define PROG "kedro-event-shim"
#define EXIT_USAGE 2
#define EXIT_OK_NOW 256 /* parse_flags: exit 0 at once (--help, --version) */
#define DRAIN_MS 5000   /* how long answers being sent get at shutdown */
/* A test knob, not a flag: the keep-alive interval of server-sent events in milliseconds
 * (default KES_FEED_KEEPALIVE_MS), so a test sees a client that left without waiting 15 s. */
#define KEEPALIVE_ENV "KEDRO_EVENT_SHIM_TEST_KEEPALIVE_MS"

enum {
    OPT_LISTEN = 256,
    OPT_TARGET,
    OPT_MAX_BODY,
    OPT_TIMEOUT,
    OPT_CONN_TIMEOUT,
    OPT_THREADS,
    OPT_MAX_INFLIGHT,
    OPT_CHANNELS,
    OPT_HELP,
    OPT_VERSION,
    OPT_READ_TIMEOUT,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_PER_CLIENT,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_TLS_CLIENT_CA,
    OPT_AUTH_TOKENS,
    OPT_TARGET_TLS,
    OPT_TARGET_CA,
    OPT_TARGET_CERT,
    OPT_TARGET_KEY,
    OPT_TARGET_SERVER_NAME,
    OPT_TARGET_TOKEN_FILE,
    OPT_LOG_FORMAT,
    OPT_UI_DIR,
    OPT_NO_UI,
    OPT_MAX_WATCHES
};

static const struct option long_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"target", required_argument, NULL, OPT_TARGET},
    {"max-body-bytes", required_argument, NULL, OPT_MAX_BODY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"connection-timeout", required_argument, NULL, OPT_CONN_TIMEOUT},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT},
    {"channels", required_argument, NULL, OPT_CHANNELS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"read-timeout", required_argument, NULL, OPT_READ_TIMEOUT},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-connections-per-client", required_argument, NULL, OPT_MAX_PER_CLIENT},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"tls-client-ca", required_argument, NULL, OPT_TLS_CLIENT_CA},
    {"auth-tokens", required_argument, NULL, OPT_AUTH_TOKENS},
    {"target-tls", no_argument, NULL, OPT_TARGET_TLS},
    {"target-ca", required_argument, NULL, OPT_TARGET_CA},
    {"target-cert", required_argument, NULL, OPT_TARGET_CERT},
    {"target-key", required_argument, NULL, OPT_TARGET_KEY},
    {"target-server-name", required_argument, NULL, OPT_TARGET_SERVER_NAME},
    {"target-token-file", required_argument, NULL, OPT_TARGET_TOKEN_FILE},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"ui-dir", required_argument, NULL, OPT_UI_DIR},
    {"no-ui", no_argument, NULL, OPT_NO_UI},
    {"max-watches", required_argument, NULL, OPT_MAX_WATCHES},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: " PROG " [OPTIONS]\n\n"
        "Serves kedro-graphql's REST event endpoint, POST /event/, in every CloudEvents HTTP\n"
        "mode (binary, structured, batched) and forwards each event to kedro-eventd over\n"
        "gRPC; also GET /pipelines/{id}, GET /pipelines, POST /pipelines/, GET /healthz and\n"
        "GET /metrics (Prometheus text format; same auth as the others, /healthz exempt).\n"
        "POST /pipelines/{id}/cancel (200, the pipeline ABORTED; a running run is answered once\n"
        "it has ended, up to kedro-eventd's --cancel-grace: keep --timeout above it) and\n"
        "POST /pipelines/{id}/retry (201, the new pipeline, Location) ignore any body (within\n"
        "--max-body-bytes); 404 unknown id, 409 ended / not ended / kedro-graphql's.\n"
        "GET /pipelines/watch?name=&state=&parent= streams every change of the matching\n"
        "pipelines as server-sent events (a ': keep-alive' comment after 15 s without one;\n"
        "'event: end' when kedro-eventd goes away, the shim stops, or more than 1 MiB waits for\n"
        "the reader). The web console is served at /ui/ (no bearer token needed for its\n"
        "files; / and /ui redirect there).\n\n"
        "Options:\n"
        "  --listen ADDR             address to serve HTTP on (default " KES_DEFAULT_LISTEN ";\n"
        "                            port 0 picks one)\n"
        "  --target HOST:PORT        kedro-eventd (default $" KEC_TARGET_ENV
        ", then " KEC_DEFAULT_TARGET ")\n"
        "  --max-body-bytes N        largest request body (default %u, kedro-eventd's\n"
        "                            default message limit)\n"
        "  --timeout SECONDS         deadline of each gRPC call (default %d)\n"
        "  --connection-timeout SECONDS\n"
        "                            idle keep-alive connections are closed after (default %d)\n"
        "  --threads N               HTTP threads (default %d)\n"
        "  --max-inflight N          requests waiting on kedro-eventd at once; more are\n"
        "                            answered 429 with Retry-After (default %d)\n"
        "  --channels N              HTTP/2 connections to kedro-eventd (default 1)\n"
        "  --read-timeout SECONDS    a request's headers and body must arrive within this\n"
        "                            time from its first line (a new connection's first\n"
        "                            request: from the connection); else the connection is\n"
        "                            closed (default %d)\n"
        "  --max-connections N       connections open at once; more wait in the listen\n"
        "                            backlog. At most the open-files limit (raised to its\n"
        "                            hard limit at start) less %d (default %d, lowered to\n"
        "                            fit that limit with a warning)\n"
        "  --max-connections-per-client N\n"
        "                            connections open at once from one client address; more\n"
        "                            are closed unanswered (default 0: no cap, as clients\n"
        "                            behind one proxy or NAT share an address)\n"
        "  --log-format text|json    stderr lines as text (\"" PROG ": message\", the\n"
        "                            default) or one JSON object a line: time (RFC 3339,\n"
        "                            UTC), level, program, message\n"
        "  --ui-dir DIR              serve the web console at /ui/ from the files of DIR,\n"
        "                            read on each request (regular files of at most 8 MiB),\n"
        "                            instead of the files built into the binary\n"
        "  --no-ui                   no web console: /, /ui and /ui/... answer 404\n"
        "  --max-watches N           GET /pipelines/watch and /pipelines/{id}/watch streams\n"
        "                            open at once; more are\n"
        "                            answered 503 with Retry-After (default %d)\n"
        "  --help                    show this text\n"
        "  --version                 show the version\n\n"
        "Security (see also SIGHUP below):\n"
        "  --tls-cert FILE --tls-key FILE\n"
        "                            serve HTTPS (TLS 1.2/1.3) with this PEM certificate\n"
        "                            (chain) and key; each file at most %u bytes\n"
        "  --tls-client-ca FILE      also require a client certificate issued by this PEM CA\n"
        "                            (and meant for client authentication): 403 without\n"
        "  --auth-tokens FILE        every endpoint but /healthz needs 'Authorization: Bearer\n"
        "                            <token>' with a token of FILE (one per line, %d to %d\n"
        "                            characters, at most %d; blank and '#' lines ignored; not\n"
        "                            readable by others): 401 without\n"
        "  --target-tls              speak TLS to kedro-eventd (the system's roots)\n"
        "  --target-ca FILE          PEM roots to trust for kedro-eventd (implies --target-tls)\n"
        "  --target-cert FILE --target-key FILE\n"
        "                            client certificate toward kedro-eventd (mutual TLS)\n"
        "  --target-server-name NAME name kedro-eventd's certificate must hold, instead of\n"
        "                            the --target host\n"
        "  --target-token-file FILE  bearer token sent to kedro-eventd (its first token line;\n"
        "                            default $" KEC_TOKEN_ENV ")\n"
        "\nAnswers: 200 with the started pipelines; 400 invalid event; 404 dispatch disabled or\n"
        "unknown path; 405 wrong method; 413 body too large; 415 unknown structured format;\n"
        "429 past --max-inflight, 503 kedro-eventd overloaded or its store full (both with\n"
        "Retry-After); 502 kedro-eventd unreachable; 504 no answer in time.\n"
        "With --auth-tokens: 401 (WWW-Authenticate: Bearer) without an accepted token; with\n"
        "--tls-client-ca: 403 without an accepted client certificate; kedro-eventd refusing\n"
        "the shim's own token: 502.\n\n"
        "GET /pipelines/{id}/logs[?tail=N][&follow=1] streams a run's output as text/plain, or\n"
        "as server-sent events with Accept: text/event-stream: 404 unknown id, 409 forwarded\n"
        "to kedro-graphql, 400 bad query; at most 64 at once (503 with Retry-After past it),\n"
        "1 MiB held for a slow reader (past it the response is cut).\n\n"
        "GET /stats[?window=3600][&step=60] answers kedro-eventd's activity (GetStats) as\n"
        "JSON: events accepted and runs ended per bucket, pipelines STAGED, READY, STARTED;\n"
        "window 60..3600 s, step 10..window, a multiple of 10 dividing window (else 400).\n\n"
        "SIGHUP re-reads --auth-tokens and --target-token-file; a file that is refused\n"
        "leaves the tokens in use unchanged.\n\n"
        "Strict HTTP: ambiguous framing (Content-Length with Transfer-Encoding, a repeated or\n"
        "malformed Content-Length, whitespace before a colon, a folded header line) and an\n"
        "HTTP/1.1 request without Host are answered 400, a transfer coding other than chunked\n"
        "501, and the connection is closed; 404 and 405 come before any body is read. Lines\n"
        "logged for malformed requests: at most %d a second, the rest counted.\n\n"
        "Exit status: 0 after SIGINT or SIGTERM (requests in flight are answered first);\n"
        "1 when it cannot start; 2 for invalid flags.\n",
        KES_DEFAULT_MAX_BODY, KES_DEFAULT_TIMEOUT_MS / 1000, KES_DEFAULT_IDLE_S,
        KES_DEFAULT_THREADS, KES_DEFAULT_MAX_INFLIGHT, KES_DEFAULT_READ_S, KES_FD_RESERVE,
        KES_DEFAULT_MAX_CONNECTIONS, KES_DEFAULT_MAX_WATCHES, KES_PEM_MAX_BYTES,
        KEC_TOKEN_MIN_BYTES, KEC_TOKEN_MAX_BYTES, KEC_TOKENS_MAX_COUNT, KES_LOG_PER_S);
}

static int usage_error(const char *fmt, const char *arg)
{
    char msg[512];

    snprintf(msg, sizeof msg, fmt, arg);
    kec_log(KEC_LOG_ERROR, "%s\nTry '" PROG " --help'.", msg);
    return EXIT_USAGE;
}

/* An integer flag within [min, max]; -1 when it is not one. */
static long long int_arg(const char *arg, long long min, long long max)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < min || v > max)
        return -1;
    return v;
}

/* Seconds as a flag, (0, 86400]; -1 when not. */
static double seconds_arg(const char *arg)
{
    char *end;
    double s;

    errno = 0;
    s = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || !isfinite(s) || s <= 0 || s > 86400)
        return -1;
    return s;
}

/* Resolves HOST:PORT ([v6]:PORT; an empty host is every address) into *res (freeaddrinfo
 * it); 0 on success, else -1 with a message printed. */
static int resolve_listen(const char *listen, struct addrinfo **res)
{
    struct addrinfo hints;
    const char *colon = strrchr(listen, ':');
    char host[256];
    size_t n;
    int rc;

    if (colon == NULL || colon[1] == '\0') {
        kec_log(KEC_LOG_ERROR, "--listen '%s' is not HOST:PORT", listen);
        return -1;
    }
    n = (size_t)(colon - listen);
    if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
        listen++;
        n -= 2;
    }
    if (n >= sizeof host) {
        kec_log(KEC_LOG_ERROR, "--listen '%s': the host is too long", listen);
        return -1;
    }
    memcpy(host, listen, n);
    host[n] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(n > 0 ? host : NULL, colon + 1, &hints, res);
    if (rc != 0) {
        kec_log(KEC_LOG_ERROR, "--listen '%s': %s", listen, gai_strerror(rc));
        return -1;
    }
    return 0;
}

/* Raises the open-files limit to its hard limit and fits o->max_connections in it (with
 * KES_FD_RESERVE descriptors to spare): a number given as a flag (explicit) that does not
 * fit is an error (-1, printed); the default is lowered to fit, with a warning. */
static int fit_connections(kes_http_options *o, int explicit)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)o->max_connections + KES_FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return 0;
    if (explicit || rl.rlim_cur <= KES_FD_RESERVE) {
        kec_log(KEC_LOG_ERROR,
                "--max-connections %u needs %llu open files, but the limit (RLIMIT_NOFILE, "
                "ulimit -n) is %llu: raise it or lower --max-connections",
                o->max_connections, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
        return -1;
    }
    o->max_connections = (unsigned)(rl.rlim_cur - KES_FD_RESERVE);
    kec_log(KEC_LOG_WARN,
            "the open-files limit (RLIMIT_NOFILE) is %llu: serving at most %u connections at once",
            (unsigned long long)rl.rlim_cur, o->max_connections);
    return 0;
}

/* The security flags as given; their files are read once every flag has been parsed. */
typedef struct sec_flags {
    const char *tls_cert;          /* --tls-cert */
    const char *tls_key;           /* --tls-key */
    const char *tls_client_ca;     /* --tls-client-ca */
    const char *auth_tokens;       /* --auth-tokens */
    const char *target_token_file; /* --target-token-file */
} sec_flags;

/* What the security flags loaded (sec_release frees it). */
typedef struct sec_state {
    char *cert;         /* PEM text of --tls-cert */
    char *key;          /* PEM text of --tls-key */
    char *client_ca;    /* PEM text of --tls-client-ca */
    kec_auth *auth;     /* --auth-tokens */
    char *target_token; /* the token of --target-token-file */
} sec_state;

/* Takes a security flag into f (HTTPS, tokens) or co (toward kedro-eventd); 0, or -1 when
 * opt is not one of them. */
static int sec_flag(int opt, const char *arg, sec_flags *f, kec_client_options *co)
{
    switch (opt) {
    case OPT_TLS_CERT:
        f->tls_cert = arg;
        return 0;
    case OPT_TLS_KEY:
        f->tls_key = arg;
        return 0;
    case OPT_TLS_CLIENT_CA:
        f->tls_client_ca = arg;
        return 0;
    case OPT_AUTH_TOKENS:
        f->auth_tokens = arg;
        return 0;
    case OPT_TARGET_TOKEN_FILE:
        f->target_token_file = arg;
        return 0;
    case OPT_TARGET_CA:
        co->tls_ca_file = arg;
        break;
    case OPT_TARGET_CERT:
        co->tls_cert_file = arg;
        break;
    case OPT_TARGET_KEY:
        co->tls_key_file = arg;
        break;
    case OPT_TARGET_SERVER_NAME:
        co->tls_server_name = arg;
        break;
    case OPT_TARGET_TLS:
        break;
    default:
        return -1;
    }
    co->tls = 1; /* every --target-* TLS flag implies --target-tls */
    return 0;
}

/* The flags that go in pairs; EXIT_USAGE (with a message) when one is alone, else 0. */
static int sec_check(const sec_flags *f, const kec_client_options *co)
{
    if ((f->tls_cert == NULL) != (f->tls_key == NULL))
        return usage_error("--tls-cert and --tls-key go together%s", "");
    if (f->tls_client_ca != NULL && f->tls_cert == NULL)
        return usage_error("--tls-client-ca needs --tls-cert and --tls-key (HTTPS)%s", "");
    if ((co->tls_cert_file == NULL) != (co->tls_key_file == NULL))
        return usage_error("--target-cert and --target-key go together%s", "");
    return 0;
}

/* Reads the files the security flags name into s, and points ho and co at what they need;
 * -1 with a message printed when a file is refused (s then holds what was read: sec_release). */
static int sec_load(const sec_flags *f, sec_state *s, kes_http_options *ho, kec_client_options *co)
{
    char msg[512];
    kec_error err;

    kec_error_clear(&err);
    if ((f->tls_cert != NULL &&
         kes_pem_read(f->tls_cert, "--tls-cert", &s->cert, msg, sizeof msg) != 0) ||
        (f->tls_key != NULL &&
         kes_pem_read(f->tls_key, "--tls-key", &s->key, msg, sizeof msg) != 0) ||
        (f->tls_client_ca != NULL &&
         kes_pem_read(f->tls_client_ca, "--tls-client-ca", &s->client_ca, msg, sizeof msg) != 0)) {
        kec_log(KEC_LOG_ERROR, "%s", msg);
        return -1;
    }
    if (s->cert != NULL && kes_tls_check(s->cert, s->key, s->client_ca, msg, sizeof msg) != 0) {
        kec_log(KEC_LOG_ERROR, "%s", msg);
        return -1;
    }
    if (f->auth_tokens != NULL && kec_auth_new(f->auth_tokens, &s->auth, &err) != KEC_OK) {
        kec_log(KEC_LOG_ERROR, "--auth-tokens: %s", err.msg);
        return -1;
    }
    if (f->target_token_file != NULL &&
        kec_token_file_read(f->target_token_file, &s->target_token, &err) != KEC_OK) {
        kec_log(KEC_LOG_ERROR, "--target-token-file: %s", err.msg);
        return -1;
    }
    ho->tls_cert = s->cert;
    ho->tls_key = s->key;
    ho->tls_client_ca = s->client_ca;
    ho->auth = s->auth;
    if (s->target_token != NULL)
        co->token = s->target_token;
    if (s->auth != NULL)
        kec_log(KEC_LOG_INFO, "--auth-tokens %s: tokens accepted: %zu", f->auth_tokens,
                kec_auth_count(s->auth));
    return 0;
}

/* Zeroes what s holds (keys, tokens) and frees it. */
static void sec_release(sec_state *s)
{
    kes_pem_free(s->cert);
    kes_pem_free(s->key);
    kes_pem_free(s->client_ca);
    kec_auth_free(s->auth);
    if (s->target_token != NULL) {
        explicit_bzero(s->target_token, strlen(s->target_token));
        free(s->target_token);
    }
    memset(s, 0, sizeof *s);
}

/* SIGHUP: re-reads --auth-tokens and --target-token-file; a file refused leaves the tokens in
 * use as they are. Says what happened on stderr, never quoting a token. */
static void sec_reload(const sec_flags *f, sec_state *s, kec_client *client)
{
    kec_error err;
    size_t n;
    char *token = NULL;

    if (f->auth_tokens == NULL && f->target_token_file == NULL) {
        kec_log(KEC_LOG_INFO, "SIGHUP: no token file to re-read");
        return;
    }
    if (f->auth_tokens != NULL) {
        kec_error_clear(&err);
        if (kec_auth_reload(s->auth, &n, &err) == KEC_OK)
            kec_log(KEC_LOG_INFO, "SIGHUP: --auth-tokens %s: tokens accepted: %zu", f->auth_tokens,
                    n);
        else
            kec_log(KEC_LOG_ERROR,
                    "SIGHUP: --auth-tokens refused, keeping the tokens in use (%zu): %s",
                    kec_auth_count(s->auth), err.msg);
    }
    if (f->target_token_file != NULL) {
        kec_error_clear(&err);
        if (kec_token_file_read(f->target_token_file, &token, &err) != KEC_OK ||
            kec_client_set_token(client, token, &err) != KEC_OK) {
            kec_log(KEC_LOG_ERROR,
                    "SIGHUP: --target-token-file refused, keeping the token in use: %s", err.msg);
        } else {
            kec_log(KEC_LOG_INFO, "SIGHUP: --target-token-file %s: token replaced",
                    f->target_token_file);
        }
        if (token != NULL) {
            explicit_bzero(token, strlen(token));
            free(token);
        }
    }
}

/* The command line, parsed. */
typedef struct flags {
    const char *listen;        /* --listen */
    kes_http_options ho;       /* the HTTP side (addr is set later) */
    kec_client_options co;     /* toward kedro-eventd */
    sec_flags sec;             /* TLS and tokens */
    int explicit_connections;  /* --max-connections was given */
    kec_log_format log_format; /* --log-format */
    const char *ui_dir;        /* --ui-dir */
    int no_ui;                 /* --no-ui */
} flags;

/* Parses argv into f; -1 to go on, else the exit status to end with at once (0 after --help
 * or --version, EXIT_USAGE after a message for an invalid flag). */
static int parse_flags(int argc, char **argv, flags *f)
{
    long long v;
    double s;
    int opt;

    memset(f, 0, sizeof *f);
    f->listen = KES_DEFAULT_LISTEN;
    f->ho.max_body = KES_DEFAULT_MAX_BODY;
    f->ho.idle_timeout_s = KES_DEFAULT_IDLE_S;
    f->ho.threads = KES_DEFAULT_THREADS;
    f->ho.max_inflight = KES_DEFAULT_MAX_INFLIGHT;
    f->ho.read_timeout_ms = KES_DEFAULT_READ_S * 1000;
    f->ho.max_connections = KES_DEFAULT_MAX_CONNECTIONS;
    f->ho.max_watches = KES_DEFAULT_MAX_WATCHES;
    f->ho.keepalive_ms = KES_FEED_KEEPALIVE_MS;
    if (getenv(KEEPALIVE_ENV) != NULL && (v = int_arg(getenv(KEEPALIVE_ENV), 10, 3600000)) > 0)
        f->ho.keepalive_ms = (unsigned)v;
    kec_client_options_init(&f->co);
    f->co.timeout_ms = KES_DEFAULT_TIMEOUT_MS;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_LISTEN:
            f->listen = optarg;
            break;
        case OPT_TARGET:
            if (optarg[0] == '\0')
                return usage_error("--target needs HOST:PORT%s", "");
            f->co.target = optarg;
            break;
        case OPT_MAX_BODY:
            if ((v = int_arg(optarg, 1, (long long)1 << 30)) < 0)
                return usage_error("--max-body-bytes '%s' is not a number of bytes in [1, 2^30]",
                                   optarg);
            f->ho.max_body = (size_t)v;
            break;
        case OPT_TIMEOUT:
            if ((s = seconds_arg(optarg)) < 0)
                return usage_error("--timeout '%s' is not a number of seconds in (0, 86400]",
                                   optarg);
            f->co.timeout_ms = s * 1000 < 1 ? 1 : (int)(s * 1000);
            break;
        case OPT_CONN_TIMEOUT:
            if ((s = seconds_arg(optarg)) < 0)
                return usage_error(
                    "--connection-timeout '%s' is not a number of seconds in (0, 86400]", optarg);
            f->ho.idle_timeout_s = s < 1 ? 1 : (unsigned)ceil(s);
            break;
        case OPT_THREADS:
            if ((v = int_arg(optarg, 1, 256)) < 0)
                return usage_error("--threads '%s' is not a number in [1, 256]", optarg);
            f->ho.threads = (unsigned)v;
            break;
        case OPT_MAX_INFLIGHT:
            if ((v = int_arg(optarg, 1, 1000000)) < 0)
                return usage_error("--max-inflight '%s' is not a number in [1, 1000000]", optarg);
            f->ho.max_inflight = (unsigned)v;
            break;
        case OPT_CHANNELS:
            if ((v = int_arg(optarg, 1, 64)) < 0)
                return usage_error("--channels '%s' is not a number in [1, 64]", optarg);
            f->co.channels = (int)v;
            break;
        case OPT_READ_TIMEOUT:
            if ((s = seconds_arg(optarg)) < 0)
                return usage_error("--read-timeout '%s' is not a number of seconds in (0, 86400]",
                                   optarg);
            f->ho.read_timeout_ms = s * 1000 < 1 ? 1 : (unsigned)(s * 1000);
            break;
        case OPT_MAX_CONNECTIONS:
            if ((v = int_arg(optarg, 1, 1000000)) < 0)
                return usage_error("--max-connections '%s' is not a number in [1, 1000000]",
                                   optarg);
            f->ho.max_connections = (unsigned)v;
            f->explicit_connections = 1;
            break;
        case OPT_MAX_PER_CLIENT:
            if ((v = int_arg(optarg, 0, 1000000)) < 0)
                return usage_error(
                    "--max-connections-per-client '%s' is not a number in [0, 1000000]", optarg);
            f->ho.max_per_client = (unsigned)v;
            break;
        case OPT_HELP:
            usage(stdout);
            return EXIT_OK_NOW;
        case OPT_VERSION:
            printf(PROG " %s\n", KEC_VERSION);
            return EXIT_OK_NOW;
        case OPT_UI_DIR:
            f->ui_dir = optarg;
            break;
        case OPT_NO_UI:
            f->no_ui = 1;
            break;
        case OPT_MAX_WATCHES:
            if ((v = int_arg(optarg, 1, 100000)) < 0)
                return usage_error("--max-watches '%s' is not a number in [1, 100000]", optarg);
            f->ho.max_watches = (unsigned)v;
            break;
        case OPT_LOG_FORMAT:
            if (kec_log_format_parse(optarg, &f->log_format) != 0)
                return usage_error("--log-format '%s': expected text or json", optarg);
            kec_log_setup(PROG, f->log_format); /* later flag errors in it too */
            break;
        default:
            if (sec_flag(opt, optarg, &f->sec, &f->co) == 0)
                break;
            fprintf(stderr, "Try '" PROG " --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (f->no_ui && f->ui_dir != NULL)
        return usage_error("--ui-dir and --no-ui exclude each other%s", "");
    return sec_check(&f->sec, &f->co) != 0 ? EXIT_USAGE : -1;
}

int main(int argc, char **argv)
{
    flags fl;
    kec_client *client = NULL;
    kes_http *http = NULL;
    kes_ui *ui = NULL;
    struct addrinfo *addr = NULL;
    sec_state ss;
    kec_error err;
    sigset_t stop;
    char msg[256];
    int sig, status;

    memset(&ss, 0, sizeof ss);
    kec_log_setup(PROG, KEC_LOG_TEXT);
    if ((status = parse_flags(argc, argv, &fl)) >= 0)
        return status == EXIT_OK_NOW ? 0 : status;
    status = 1;
    if (fit_connections(&fl.ho, fl.explicit_connections) != 0)
        return 1;
    if (resolve_listen(fl.listen, &addr) != 0)
        return EXIT_USAGE;

    /* Every thread started from here on inherits the blocked signals; main waits for them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (sec_load(&fl.sec, &ss, &fl.ho, &fl.co) != 0)
        goto out;

    if (!fl.no_ui && kes_ui_new(fl.ui_dir, &ui, msg, sizeof msg) != 0) {
        kec_log(KEC_LOG_ERROR, "%s", msg);
        goto out;
    }
    fl.ho.ui = ui;
    kec_error_clear(&err);
    if (kec_client_new(&fl.co, &client, &err) != KEC_OK) {
        kec_log(KEC_LOG_ERROR, "%s", err.msg);
        goto out;
    }
    fl.ho.addr = addr->ai_addr;
    fl.ho.addr_len = addr->ai_addrlen;
    if (kes_http_start(&fl.ho, client, &http, msg, sizeof msg) != 0) {
        kec_log(KEC_LOG_ERROR, "--listen %s: %s", fl.listen, msg);
        goto out;
    }
    /* connect now, so the first event does not wait for the handshake */
    kec_client_connected(client, 1);
    printf(PROG ": listening on %s port %u\n", fl.listen, kes_http_port(http));
    fflush(stdout);
    kec_log(KEC_LOG_INFO, "forwarding to kedro-eventd at %s", kec_client_target(client));
    sd_notifyf(0, "READY=1\nSTATUS=serving HTTP on %s port %u, forwarding to %s", fl.listen,
               kes_http_port(http), kec_client_target(client));

    for (;;) {
        if (sigwait(&stop, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        sec_reload(&fl.sec, &ss, client);
    }
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    kec_log(KEC_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    kes_http_stop(http, DRAIN_MS);
    http = NULL;
    status = 0;
out:
    if (http != NULL)
        kes_http_stop(http, 0);
    kec_client_free(client);
    kes_ui_free(ui);
    sec_release(&ss);
    if (addr != NULL)
        freeaddrinfo(addr);
    return status;
}
