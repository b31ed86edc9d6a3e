/* main.c -- kedro-event-shim: flags, the one gRPC client, the HTTP server, and a graceful
 * stop on SIGINT/SIGTERM. */
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

#include "framing.h"
#include "shim.h"

#define PROG "kedro-event-shim"
#define EXIT_USAGE 2
#define DRAIN_MS 5000 /* how long answers being sent get at shutdown */

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
    OPT_MAX_PER_CLIENT
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
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: " PROG " [OPTIONS]\n\n"
        "Serves kedro-graphql's REST event endpoint, POST /event/, in every CloudEvents HTTP\n"
        "mode (binary, structured, batched) and forwards each event to kedro-eventd over\n"
        "gRPC; also GET /pipelines/{id}, GET /pipelines, POST /pipelines/ and GET /healthz.\n\n"
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
        "  --help                    show this text\n"
        "  --version                 show the version\n\n"
        "Answers: 200 with the started pipelines; 400 invalid event; 404 dispatch disabled or\n"
        "unknown path; 405 wrong method; 413 body too large; 415 unknown structured format;\n"
        "429/503 overloaded (Retry-After); 502 kedro-eventd unreachable; 504 no answer in time.\n"
        "Strict HTTP: ambiguous framing (Content-Length with Transfer-Encoding, a repeated or\n"
        "malformed Content-Length, whitespace before a colon, a folded header line) and an\n"
        "HTTP/1.1 request without Host are answered 400, a transfer coding other than chunked\n"
        "501, and the connection is closed; 404 and 405 come before any body is read. Lines\n"
        "logged for malformed requests: at most %d a second, the rest counted.\n\n"
        "Exit status: 0 after SIGINT or SIGTERM (requests in flight are answered first);\n"
        "1 when it cannot start; 2 for invalid flags.\n",
        KES_DEFAULT_MAX_BODY, KES_DEFAULT_TIMEOUT_MS / 1000, KES_DEFAULT_IDLE_S,
        KES_DEFAULT_THREADS, KES_DEFAULT_MAX_INFLIGHT, KES_DEFAULT_READ_S, KES_FD_RESERVE,
        KES_DEFAULT_MAX_CONNECTIONS, KES_LOG_PER_S);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '" PROG " --help'.\n");
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
        fprintf(stderr, PROG ": --listen '%s' is not HOST:PORT\n", listen);
        return -1;
    }
    n = (size_t)(colon - listen);
    if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
        listen++;
        n -= 2;
    }
    if (n >= sizeof host) {
        fprintf(stderr, PROG ": --listen '%s': the host is too long\n", listen);
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
        fprintf(stderr, PROG ": --listen '%s': %s\n", listen, gai_strerror(rc));
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
        fprintf(stderr,
                PROG ": --max-connections %u needs %llu open files, but the limit (RLIMIT_NOFILE, "
                     "ulimit -n) is %llu: raise it or lower --max-connections\n",
                o->max_connections, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
        return -1;
    }
    o->max_connections = (unsigned)(rl.rlim_cur - KES_FD_RESERVE);
    fprintf(stderr,
            PROG ": warning: the open-files limit (RLIMIT_NOFILE) is %llu: serving at most %u "
                 "connections at once\n",
            (unsigned long long)rl.rlim_cur, o->max_connections);
    return 0;
}

int main(int argc, char **argv)
{
    const char *listen = KES_DEFAULT_LISTEN;
    kes_http_options ho;
    kec_client_options co;
    kec_client *client = NULL;
    kes_http *http = NULL;
    struct addrinfo *addr = NULL;
    kec_error err;
    sigset_t stop;
    char msg[256];
    long long v;
    double s;
    int opt, sig, status = 1, explicit_connections = 0;

    memset(&ho, 0, sizeof ho);
    ho.max_body = KES_DEFAULT_MAX_BODY;
    ho.idle_timeout_s = KES_DEFAULT_IDLE_S;
    ho.threads = KES_DEFAULT_THREADS;
    ho.max_inflight = KES_DEFAULT_MAX_INFLIGHT;
    ho.read_timeout_ms = KES_DEFAULT_READ_S * 1000;
    ho.max_connections = KES_DEFAULT_MAX_CONNECTIONS;
    kec_client_options_init(&co);
    co.timeout_ms = KES_DEFAULT_TIMEOUT_MS;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_TARGET:
            if (optarg[0] == '\0')
                return usage_error("--target needs HOST:PORT%s", "");
            co.target = optarg;
            break;
        case OPT_MAX_BODY:
            if ((v = int_arg(optarg, 1, (long long)1 << 30)) < 0)
                return usage_error("--max-body-bytes '%s' is not a number of bytes in [1, 2^30]",
                                   optarg);
            ho.max_body = (size_t)v;
            break;
        case OPT_TIMEOUT:
            if ((s = seconds_arg(optarg)) < 0)
                return usage_error("--timeout '%s' is not a number of seconds in (0, 86400]",
                                   optarg);
            co.timeout_ms = s * 1000 < 1 ? 1 : (int)(s * 1000);
            break;
        case OPT_CONN_TIMEOUT:
            if ((s = seconds_arg(optarg)) < 0)
                return usage_error(
                    "--connection-timeout '%s' is not a number of seconds in (0, 86400]", optarg);
            ho.idle_timeout_s = s < 1 ? 1 : (unsigned)ceil(s);
            break;
        case OPT_THREADS:
            if ((v = int_arg(optarg, 1, 256)) < 0)
                return usage_error("--threads '%s' is not a number in [1, 256]", optarg);
            ho.threads = (unsigned)v;
            break;
        case OPT_MAX_INFLIGHT:
            if ((v = int_arg(optarg, 1, 1000000)) < 0)
                return usage_error("--max-inflight '%s' is not a number in [1, 1000000]", optarg);
            ho.max_inflight = (unsigned)v;
            break;
        case OPT_CHANNELS:
            if ((v = int_arg(optarg, 1, 64)) < 0)
                return usage_error("--channels '%s' is not a number in [1, 64]", optarg);
            co.channels = (int)v;
            break;
        case OPT_READ_TIMEOUT:
            if ((s = seconds_arg(optarg)) < 0)
                return usage_error("--read-timeout '%s' is not a number of seconds in (0, 86400]",
                                   optarg);
            ho.read_timeout_ms = s * 1000 < 1 ? 1 : (unsigned)(s * 1000);
            break;
        case OPT_MAX_CONNECTIONS:
            if ((v = int_arg(optarg, 1, 1000000)) < 0)
                return usage_error("--max-connections '%s' is not a number in [1, 1000000]",
                                   optarg);
            ho.max_connections = (unsigned)v;
            explicit_connections = 1;
            break;
        case OPT_MAX_PER_CLIENT:
            if ((v = int_arg(optarg, 0, 1000000)) < 0)
                return usage_error(
                    "--max-connections-per-client '%s' is not a number in [0, 1000000]", optarg);
            ho.max_per_client = (unsigned)v;
            break;
        case OPT_HELP:
            usage(stdout);
            return 0;
        case OPT_VERSION:
            printf(PROG " %s\n", KEC_VERSION);
            return 0;
        default:
            fprintf(stderr, "Try '" PROG " --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (fit_connections(&ho, explicit_connections) != 0)
        return 1;
    if (resolve_listen(listen, &addr) != 0)
        return EXIT_USAGE;

    /* Every thread started from here on inherits the blocked signals; main waits for them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    kec_error_clear(&err);
    if (kec_client_new(&co, &client, &err) != KEC_OK) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        goto out;
    }
    ho.addr = addr->ai_addr;
    ho.addr_len = addr->ai_addrlen;
    if (kes_http_start(&ho, client, &http, msg, sizeof msg) != 0) {
        fprintf(stderr, PROG ": --listen %s: %s\n", listen, msg);
        goto out;
    }
    /* connect now, so the first event does not wait for the handshake */
    kec_client_connected(client, 1);
    printf(PROG ": listening on %s port %u\n", listen, kes_http_port(http));
    fflush(stdout);
    fprintf(stderr, PROG ": forwarding to kedro-eventd at %s\n", kec_client_target(client));

    while (sigwait(&stop, &sig) != 0)
        ;
    fprintf(stderr, PROG ": %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    kes_http_stop(http, DRAIN_MS);
    http = NULL;
    status = 0;
out:
    if (http != NULL)
        kes_http_stop(http, 0);
    kec_client_free(client);
    if (addr != NULL)
        freeaddrinfo(addr);
    return status;
}
