/* options.c -- parsing and documenting kedro-eventd's flags. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

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
        "  --runner local|none       local: run READY pipelines as `kedro run` (default);\n"
        "                            none: only record them\n"
        "  --kedro-project DIR       the Kedro project runs start in (default .)\n"
        "  --kedro-bin PATH          the kedro executable (default: kedro on PATH)\n"
        "  --env ENV                 passed to `kedro run --env`\n"
        "  --max-runs N              runs at once (default: the number of CPUs)\n"
        "  --run-timeout SECONDS     end a run after this long (default: never)\n"
        "  --requeue-interrupted     at start-up, run again what a crash interrupted\n"
        "                            (default: record it as FAILURE \"interrupted\")\n"
        "  --http-url URL            kedro-event-shim's address, given to runs as\n"
        "                            KEDRO_EVENTS_HTTP_URL (default %s; \"\" for none)\n"
        "  --help                    show this text\n"
        "  --version                 show the version\n"
        "\n"
        "Environment:\n"
        "  %s   the event configuration (JSON), when --events-config is not given;\n"
        "  also read from the .env file. Unset: Dispatch answers FAILED_PRECONDITION.\n"
        "\n"
        "Exit status: 0 after a clean shutdown (SIGINT, SIGTERM); 1 when the server cannot\n"
        "start (invalid configuration, address in use); 2 for invalid flags.\n",
        KE_DEFAULT_LISTEN, KE_DEFAULT_DATA_DIR, KE_DEFAULT_MAX_MESSAGE_BYTES,
        KE_DEFAULT_GRACE_SECONDS, KE_DEFAULT_HTTP_URL, KE_CONFIG_ENV);
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

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > KE_MAX_THREADS ? KE_MAX_THREADS : (int)n;
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
        O_HTTP_URL
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
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VER},
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
            if (strcmp(optarg, "local") != 0 && strcmp(optarg, "none") != 0)
                return ke_error_set(err, KE_EINVAL, "--runner \"%s\": must be local or none",
                                    optarg);
            o->run_local = strcmp(optarg, "local") == 0;
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
        case 'h':
        case O_HELP:
            o->help = 1;
            break;
        case O_VER:
            o->version = 1;
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
    return KE_OK;
}
