/* bench.c -- `kedro-events bench`: a load generator for Dispatch and DispatchBatch, built on
 * the library's asynchronous calls, reporting throughput, latency percentiles and errors.
 * This file holds the flags, the set-up and the closed loop; bench_rate.c the open loop of
 * --rate.
 *
 * Closed loop: C in-flight slots each own their event(s). The main thread starts one call per
 * slot; each completion callback (on a client thread) records the call and starts the slot's
 * next one until the run ends; the main thread waits on a condition variable, prints the
 * progress line and notices the deadline and SIGINT. Everything the callbacks share is under
 * one mutex.
 *
 * What is measured: with --duration, every call that completes inside the measured interval
 * [end of warmup, deadline]; with --requests, N calls started after the warmup, the interval
 * ending when the last of them completes. Calls completing after the interval (in flight at
 * the deadline, or at SIGINT) are drained and not counted. Latencies of successful measured
 * calls go into a log-linear histogram (at most 0.4% relative error, fixed size); the
 * maximum is exact. Errors of every call, warmup included, are counted by status. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define CMD "bench"
#define MAX_CONCURRENCY 10000
#define RATE_CONCURRENCY 10000      /* --rate's default cap of calls in flight */
#define MAX_RATE 1000000            /* calls per second */
#define MAX_INFLIGHT_EVENTS 1000000 /* concurrency x batch: the events the slots hold */
#define MAX_CONNECTIONS 64          /* the library's limit of channels */

volatile sig_atomic_t bench_got_signal;

static void on_signal(int sig)
{
    (void)sig;
    bench_got_signal = 1;
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Counts one failed call under its status name (b->lock held). */
static void count_error(bench *b, const kec_error *err)
{
    const char *name =
        err->code == KEC_ESTATUS ? kec_status_name(err->status) : kec_err_name(err->code);
    int i;

    if (b->errors++ == 0)
        b->first_error = *err;
    for (i = 0; i < b->n_kinds; i++)
        if (strcmp(b->kinds[i].name, name) == 0)
            break;
    if (i == b->n_kinds) {
        if (b->n_kinds == MAX_ERROR_KINDS) {
            b->other_errors++;
            return;
        }
        b->n_kinds++;
        snprintf(b->kinds[i].name, sizeof b->kinds[i].name, "%s", name);
        snprintf(b->kinds[i].first, sizeof b->kinds[i].first, "%s", err->msg);
    }
    b->kinds[i].count++;
}

void bench_stop_at(bench *b, uint64_t t)
{
    if (!b->stopping) {
        b->stopping = 1;
        if (t < b->t_end)
            b->t_end = t;
        pthread_cond_signal(&b->cond);
    }
}

void bench_count_outcome(bench *b, uint64_t now, int rc, const kec_error *err)
{
    b->all_done++;
    if (rc == KEC_OK) {
        b->any_ok++;
    } else {
        if (now <= b->t_end)
            count_error(b, err);
        if (b->any_ok == 0 && err->code == KEC_ESTATUS &&
            (err->status == KEC_STATUS_UNAVAILABLE ||
             err->status == KEC_STATUS_DEADLINE_EXCEEDED)) {
            /* nothing has got through: the server is not there; report rather than spin */
            if (!b->stopping)
                b->unreachable = 1;
            bench_stop_at(b, now);
        }
    }
}

void bench_start_failed(bench *b, const kec_error *err)
{
    count_error(b, err);
    bench_stop_at(b, bench_now_ns());
    pthread_cond_signal(&b->cond);
}

/* Records the call s made, which ended at now with rc/err (b->lock held). */
static void record(bench *b, slot *s, uint64_t now, int rc, const kec_error *err)
{
    const config *cfg = b->cfg;

    bench_count_outcome(b, now, rc, err);
    if (now > b->t_end) {
        b->drained_calls++;
        return;
    }
    if (now < b->t_measure || (cfg->requests > 0 && !s->measured)) {
        b->warmup_calls++;
        return;
    }
    b->calls++;
    if (rc == KEC_OK) {
        b->ok_calls++;
        b->ok_events += (uint64_t)b->events_per_call;
        bench_hist_add(&b->hist, now - s->started_ns);
    }
    if (cfg->requests > 0 && b->calls == cfg->requests)
        bench_stop_at(b, now);
}

/* Whether s starts another call at now; reserves it (b->lock held). */
static int claim_next(bench *b, slot *s, uint64_t now)
{
    const config *cfg = b->cfg;

    if (b->stopping)
        return 0;
    if (cfg->requests == 0) {
        if (now >= b->t_end) {
            bench_stop_at(b, b->t_end);
            return 0;
        }
    } else if (now < b->t_measure) {
        s->measured = 0;
    } else if (b->issued < cfg->requests) {
        b->issued++;
        s->measured = 1;
    } else {
        return 0;
    }
    b->inflight++;
    if (!cfg->same_id) {
        /* the ids are written outside the lock, from this reserved range */
        s->first_id = b->next_id;
        b->next_id += (uint64_t)b->events_per_call;
    }
    return 1;
}

static void on_dispatch(void *ctx, int rc, const kec_error *err, kec_dispatch_result *result);
static void on_batch(void *ctx, int rc, const kec_error *err, kec_dispatch_result *results,
                     size_t count);

int bench_start_call(slot *s, kec_error *err)
{
    bench *b = s->b;
    int rc = KEC_OK, i;

    for (i = 0; !b->cfg->same_id && rc == KEC_OK && i < b->events_per_call; i++) {
        snprintf(s->id, sizeof s->id, "%s-%" PRIu64, b->run_id, s->first_id + (uint64_t)i);
        rc = kec_event_set_id(s->events[i], s->id, err);
    }
    if (rc != KEC_OK)
        return rc;
    s->started_ns = bench_now_ns();
    if (b->cfg->batch > 0)
        return kec_dispatch_batch_async(b->client, s->events, (size_t)b->events_per_call, on_batch,
                                        s, err);
    return kec_dispatch_async(b->client, s->events[0], on_dispatch, s, err);
}

/* Starts s's reserved call. A call that cannot start counts as a failure and stops the run
 * (it fails for the client, not for the server). */
static void launch(slot *s)
{
    bench *b = s->b;
    kec_error err;

    kec_error_clear(&err);
    if (bench_start_call(s, &err) != KEC_OK) {
        pthread_mutex_lock(&b->lock);
        b->inflight--;
        bench_start_failed(b, &err);
        pthread_mutex_unlock(&b->lock);
    }
}

/* A call of s ended: record it and start the slot's next one, if the run goes on. */
static void completed(slot *s, int rc, const kec_error *err)
{
    bench *b = s->b;
    uint64_t now = bench_now_ns();
    int next;

    pthread_mutex_lock(&b->lock);
    b->inflight--;
    record(b, s, now, rc, err);
    next = claim_next(b, s, now);
    if (!next && b->inflight == 0)
        pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
    if (next)
        launch(s);
}

static void on_dispatch(void *ctx, int rc, const kec_error *err, kec_dispatch_result *result)
{
    slot *s = ctx;

    kec_dispatch_result_release(result);
    if (s->b->cfg->rate > 0)
        bench_rate_completed(s, rc, err);
    else
        completed(s, rc, err);
}

static void on_batch(void *ctx, int rc, const kec_error *err, kec_dispatch_result *results,
                     size_t count)
{
    slot *s = ctx;

    kec_dispatch_results_free(results, count);
    if (s->b->cfg->rate > 0)
        bench_rate_completed(s, rc, err);
    else
        completed(s, rc, err);
}

/* ---- setting up ------------------------------------------------------------------------- */

/* Builds the slots and their events (with --rate, one set shared by all, and the list of
 * free slots); the first event's random id names the run. */
static int make_slots(bench *b, kec_error *err)
{
    const config *cfg = b->cfg;
    kec_event *proto = NULL;
    int i, j, rc;

    rc = kec_event_new(NULL, cfg->source, cfg->type, &proto, err);
    if (rc == KEC_OK)
        rc = kec_event_set_string(proto, "datacontenttype", cfg->content_type, err);
    if (rc == KEC_OK)
        rc = kec_event_set_text_data(proto, cfg->data, strlen(cfg->data), err);
    if (rc != KEC_OK)
        goto out;
    snprintf(b->run_id, sizeof b->run_id, "%s", kec_event_id(proto));
    b->slots = calloc((size_t)cfg->concurrency, sizeof *b->slots);
    if (b->slots == NULL) {
        rc = KEC_ENOMEM;
        goto out;
    }
    b->event_sets = cfg->rate > 0 ? 1 : cfg->concurrency;
    if (cfg->rate > 0) {
        b->free_list = calloc((size_t)cfg->concurrency, sizeof *b->free_list);
        if (b->free_list == NULL) {
            rc = KEC_ENOMEM;
            goto out;
        }
    }
    for (i = 0; i < cfg->concurrency; i++) {
        slot *s = &b->slots[i];

        s->b = b;
        s->index = i;
        if (i >= b->event_sets) {
            s->events = b->slots[0].events;
            b->free_list[b->n_free++] = i;
            continue;
        }
        if (cfg->rate > 0)
            b->free_list[b->n_free++] = i;
        s->events = calloc((size_t)b->events_per_call, sizeof *s->events);
        if (s->events == NULL) {
            rc = KEC_ENOMEM;
            goto out;
        }
        for (j = 0; j < b->events_per_call && rc == KEC_OK; j++)
            rc = kec_event_clone(proto, &s->events[j], err);
        if (rc != KEC_OK)
            goto out;
    }
out:
    if (rc == KEC_ENOMEM && err != NULL && err->code == KEC_OK) {
        err->code = KEC_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory building the events");
    }
    kec_event_free(proto);
    return rc;
}

static void free_slots(bench *b)
{
    int i, j;

    for (i = 0; b->slots != NULL && i < b->event_sets; i++) {
        for (j = 0; b->slots[i].events != NULL && j < b->events_per_call; j++)
            kec_event_free(b->slots[i].events[j]);
        free(b->slots[i].events);
    }
    free(b->slots);
    b->slots = NULL;
    free(b->free_list);
    b->free_list = NULL;
}

/* ---- running ----------------------------------------------------------------------------- */

static struct timespec to_timespec(uint64_t ns)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ns / NS);
    ts.tv_nsec = (long)(ns % NS);
    return ts;
}

static void progress(bench *b, uint64_t now, bench_ticker *t)
{
    double dt = (double)(now - t->last_t) / 1e9;
    double rate = dt > 0 ? (double)(b->all_done - t->last_done) / dt : 0;
    int warm = now < b->t_measure;

    fprintf(stderr, "\r%s %6.1f s  %10" PRIu64 " calls  %9.0f calls/s  %" PRIu64 " errors\033[K",
            warm ? "warmup" : "      ", (double)(now - b->t0) / 1e9,
            warm ? b->warmup_calls : b->calls, rate, b->errors);
    fflush(stderr);
    t->last_t = now;
    t->last_done = b->all_done;
}

void bench_ticker_init(bench_ticker *t, int show, uint64_t start, uint64_t done)
{
    t->show = show;
    t->next_tick = start + NS;
    t->last_t = start;
    t->last_done = done;
}

uint64_t bench_tick(bench *b, bench_ticker *t, uint64_t now)
{
    uint64_t wake = now + SIGNAL_POLL_NS;

    if (!t->show)
        return wake;
    if (now >= t->next_tick) {
        progress(b, now, t);
        t->next_tick += NS * ((now - t->next_tick) / NS + 1);
    }
    return t->next_tick < wake ? t->next_tick : wake;
}

/* Runs the load until the end, SIGINT or a dead server, then drains (b->lock not held). */
static void run(bench *b)
{
    const config *cfg = b->cfg;
    uint64_t now, wake, drain_until = 0;
    bench_ticker tk;
    int i, n_start;
    struct timespec ts;

    pthread_mutex_lock(&b->lock);
    b->t0 = bench_now_ns();
    b->t_measure = b->t0 + (uint64_t)(cfg->warmup * 1e9);
    b->t_end = cfg->requests > 0 ? UINT64_MAX : b->t_measure + (uint64_t)(cfg->duration * 1e9);
    n_start = 0;
    for (i = 0; i < cfg->concurrency; i++)
        n_start += claim_next(b, &b->slots[i], b->t0);
    pthread_mutex_unlock(&b->lock);
    for (i = 0; i < n_start; i++)
        launch(&b->slots[i]);

    bench_ticker_init(&tk, isatty(STDERR_FILENO), b->t0, 0);
    pthread_mutex_lock(&b->lock);
    for (;;) {
        now = bench_now_ns();
        if (bench_got_signal && !b->stopping) {
            b->interrupted = 1;
            bench_stop_at(b, now);
        }
        if (!b->stopping && cfg->requests == 0 && now >= b->t_end)
            bench_stop_at(b, b->t_end);
        if (b->stopping && b->inflight == 0)
            break;
        if (b->stopping && drain_until == 0)
            drain_until = now + DRAIN_GRACE_NS;
        if (drain_until != 0 && now >= drain_until) {
            b->abandoned = b->inflight; /* kec_client_free cancels them; not counted */
            break;
        }
        wake = bench_tick(b, &tk, now);
        if (!b->stopping && cfg->requests == 0 && b->t_end < wake)
            wake = b->t_end;
        if (drain_until != 0 && drain_until < wake)
            wake = drain_until;
        ts = to_timespec(wake);
        pthread_cond_timedwait(&b->cond, &b->lock, &ts);
    }
    pthread_mutex_unlock(&b->lock);
    if (tk.show) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
}

/* ---- flags ------------------------------------------------------------------------------- */

static const char usage_text[] =
    "Usage: %s " CMD " [OPTIONS]\n\n"
    "Load-tests kedro-eventd's Dispatch: keeps --concurrency calls in flight, each answer\n"
    "starting the next (closed loop), or with --rate starts calls at a fixed rate whatever\n"
    "the answers (open loop), and reports dispatches per second, latency percentiles and\n"
    "errors. On a terminal, a progress line is shown on stderr every second. Ctrl-C stops\n"
    "early and reports what was measured.\n\n"
    "Load:\n"
    "  --concurrency C        calls in flight (default 64; at most %d); with --rate, the\n"
    "                         most in flight (default %d, fewer with a large --batch): a call\n"
    "                         due while C are in flight waits and is counted as delayed\n"
    "  --rate R               open loop: start R calls per second (a positive decimal, at\n"
    "                         most %d), call i due at start + i/R however slow the answers;\n"
    "                         with --batch K each call carries K events. Latency counts from\n"
    "                         when a call was due; the send lag (started - due) is reported\n"
    "  --duration SECONDS     measure for this long (default 10; fractions allowed)\n"
    "  --requests N           measure exactly N calls instead (not with --duration)\n"
    "  --warmup SECONDS       run this long first without measuring (default 1 with\n"
    "                         --duration, 0 with --requests)\n"
    "  --batch K              call DispatchBatch with K events per call (1 to %d)\n"
    "                         instead of Dispatch; --requests then counts calls\n"
    "  --connections N        HTTP/2 connections the calls are spread over (default 1;\n"
    "                         at most %d)\n\n"
    "The event:\n"
    "  --source S             its source (default example.com)\n"
    "  --type T               its type (default com.example.event)\n"
    "  --data TEXT            its text data (default {\"key\": \"value\"})\n"
    "  --content-type TYPE    its datacontenttype (default application/json)\n"
    "  --same-id              send the same event id every time: after the first call the\n"
    "                         server answers from its duplicate path, as with h2load's fixed\n"
    "                         body (default: a distinct id per event, <run uuid>-<n>, so\n"
    "                         every event is a new durable insert)\n\n"
    "Output:\n"
    "  --json-out             print the report as one JSON object\n\n" CLI_COMMON_HELP
    "\nThroughput counts the events of successful calls over the measured interval; latency\n"
    "(from starting a call to its answer; with --rate, from when it was due) covers\n"
    "successful measured calls; errors are counted by gRPC status, warmup included. With\n"
    "--rate, the calls due in the warmup are not measured, and the run waits for the answer\n"
    "of every measured call (up to --timeout) before reporting.\n\n"
    "Exit status: 0 when every call succeeded; 1 when any failed (the report is printed\n"
    "either way); 2 for invalid flags; 3 when no call succeeded because the server could not\n"
    "be reached.\n";

enum {
    OPT_CONCURRENCY = CLI_OPT_FIRST_FREE,
    OPT_RATE,
    OPT_DURATION,
    OPT_REQUESTS,
    OPT_BATCH,
    OPT_CONNECTIONS,
    OPT_SOURCE,
    OPT_TYPE,
    OPT_DATA,
    OPT_CONTENT_TYPE,
    OPT_SAME_ID,
    OPT_WARMUP,
    OPT_JSON
};

/* arg as an integer in [min, max], or -1 after printing why not. */
static long long parse_int(const char *flag, const char *arg, long long min, long long max)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
        cli_usage_error(CMD, "%s '%s' is not an integer from %lld to %lld", flag, arg, min, max);
        return -1;
    }
    return v;
}

/* arg as seconds in [min, max] (min excluded when open), or NAN after printing why not. */
static double parse_seconds(const char *flag, const char *arg, double min, int open, double max)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || !isfinite(v) || v < min || (open && v == min) ||
        v > max) {
        cli_usage_error(CMD, "%s '%s' is not a number of seconds in %c%g, %g]", flag, arg,
                        open ? '(' : '[', min, max);
        return NAN;
    }
    return v;
}

/* arg as calls per second: a decimal in (0, MAX_RATE], or NAN after printing why not. Only
 * digits, a point and an exponent: no "inf", "nan" or hexadecimal. */
static double parse_rate(const char *arg)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || strspn(arg, "0123456789.eE+-") != strlen(arg) ||
        !isfinite(v) || v <= 0 || v > MAX_RATE) {
        cli_usage_error(CMD, "--rate '%s' is not a number of calls per second in (0, %d]", arg,
                        MAX_RATE);
        return NAN;
    }
    return v;
}

/* Which flags were given, where their absence picks a default. */
enum { GIVEN_CONCURRENCY = 1, GIVEN_DURATION = 2, GIVEN_WARMUP = 4 };

/* Applies one of the load flags that take a number (opt, its value arg) to cfg and notes it
 * in *given. Returns 1 when opt is one, 0 when it is not, -1 after printing why arg is
 * invalid. */
static int load_flag(int opt, const char *arg, config *cfg, unsigned *given)
{
    long long v = 0;
    double d = 0;

    switch (opt) {
    case OPT_CONCURRENCY:
        v = parse_int("--concurrency", arg, 1, MAX_CONCURRENCY);
        cfg->concurrency = (int)v;
        *given |= GIVEN_CONCURRENCY;
        break;
    case OPT_RATE:
        d = parse_rate(arg);
        cfg->rate = d;
        break;
    case OPT_DURATION:
        d = parse_seconds("--duration", arg, 0, 1, 86400);
        cfg->duration = d;
        *given |= GIVEN_DURATION;
        break;
    case OPT_REQUESTS:
        v = parse_int("--requests", arg, 1, 1000000000000LL);
        cfg->requests = (uint64_t)v;
        break;
    case OPT_BATCH:
        v = parse_int("--batch", arg, 1, KEC_BATCH_MAX_EVENTS);
        cfg->batch = (int)v;
        break;
    case OPT_CONNECTIONS:
        v = parse_int("--connections", arg, 1, MAX_CONNECTIONS);
        cfg->copts.channels = (int)v;
        break;
    case OPT_WARMUP:
        d = parse_seconds("--warmup", arg, 0, 0, 3600);
        cfg->warmup = d;
        *given |= GIVEN_WARMUP;
        break;
    default:
        return 0;
    }
    return v < 0 || isnan(d) ? -1 : 1;
}

/* The defaults that depend on other flags, and the flags that do not go together. Returns
 * CLI_EXIT_OK or CLI_EXIT_USAGE after printing why. */
static int settle_flags(config *cfg, unsigned given)
{
    if ((given & GIVEN_DURATION) && cfg->requests > 0)
        return cli_usage_error(CMD, "--duration and --requests do not go together");
    if (cfg->requests > 0)
        cfg->duration = 0;
    if (!(given & GIVEN_WARMUP))
        cfg->warmup = cfg->requests > 0 ? 0 : 1;
    if (cfg->rate > 0 && !(given & GIVEN_CONCURRENCY)) {
        cfg->concurrency = RATE_CONCURRENCY;
        if (cfg->batch > 0 && cfg->concurrency > MAX_INFLIGHT_EVENTS / cfg->batch)
            cfg->concurrency = MAX_INFLIGHT_EVENTS / cfg->batch;
    }
    if ((long long)cfg->concurrency * (cfg->batch > 0 ? cfg->batch : 1) > MAX_INFLIGHT_EVENTS)
        return cli_usage_error(CMD, "--concurrency x --batch is more than %d events in flight",
                               MAX_INFLIGHT_EVENTS);
    return CLI_EXIT_OK;
}

/* Fills cfg from argv; returns CLI_EXIT_OK, CLI_EXIT_USAGE, or -1 after --help. */
static int parse(int argc, char **argv, config *cfg)
{
    static const struct option longopts[] = {
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"rate", required_argument, NULL, OPT_RATE},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"requests", required_argument, NULL, OPT_REQUESTS},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"connections", required_argument, NULL, OPT_CONNECTIONS},
        {"source", required_argument, NULL, OPT_SOURCE},
        {"type", required_argument, NULL, OPT_TYPE},
        {"data", required_argument, NULL, OPT_DATA},
        {"content-type", required_argument, NULL, OPT_CONTENT_TYPE},
        {"same-id", no_argument, NULL, OPT_SAME_ID},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"json-out", no_argument, NULL, OPT_JSON},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    unsigned given = 0;
    int opt, rc;

    memset(cfg, 0, sizeof *cfg);
    kec_client_options_init(&cfg->copts);
    cfg->concurrency = 64;
    cfg->duration = 10;
    cfg->source = "example.com";
    cfg->type = "com.example.event";
    cfg->data = "{\"key\": \"value\"}";
    cfg->content_type = "application/json";
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            printf(usage_text, cli_program, MAX_CONCURRENCY, RATE_CONCURRENCY, MAX_RATE,
                   KEC_BATCH_MAX_EVENTS, MAX_CONNECTIONS);
            return -1;
        case OPT_SOURCE:
            cfg->source = optarg;
            break;
        case OPT_TYPE:
            cfg->type = optarg;
            break;
        case OPT_DATA:
            cfg->data = optarg;
            break;
        case OPT_CONTENT_TYPE:
            cfg->content_type = optarg;
            break;
        case OPT_SAME_ID:
            cfg->same_id = 1;
            break;
        case OPT_JSON:
            cfg->json = 1;
            break;
        case ':':
            return cli_usage_error(CMD, "%s needs a value", argv[optind - 1]);
        case '?':
            if (optopt != 0 && optopt < 256)
                return cli_usage_error(CMD, "unknown flag -%c", optopt);
            return cli_usage_error(CMD, "unknown flag %s", argv[optind - 1]);
        default:
            rc = load_flag(opt, optarg, cfg, &given);
            if (rc == 0)
                rc = cli_common_option(opt, optarg, &cfg->copts, CMD);
            if (rc == 0)
                return cli_usage_error(CMD, "unknown flag %s", argv[optind - 1]);
            if (rc < 0)
                return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    return settle_flags(cfg, given);
}

/* ---- the command --------------------------------------------------------------------------- */

int cli_bench(int argc, char **argv)
{
    config cfg;
    bench *b = NULL;
    kec_error err;
    struct sigaction sa, old_int, old_term;
    pthread_condattr_t attr;
    int rc, signals_set = 0;

    rc = parse(argc, argv, &cfg);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    kec_error_clear(&err);
    /* the histogram is large: keep it off the stack */
    if ((b = calloc(1, sizeof *b)) == NULL) {
        fprintf(stderr, "%s %s: out of memory\n", cli_program, CMD);
        return CLI_EXIT_FAILED;
    }
    b->cfg = &cfg;
    b->events_per_call = cfg.batch > 0 ? cfg.batch : 1;
    pthread_mutex_init(&b->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cond, &attr);
    pthread_condattr_destroy(&attr);

    if (make_slots(b, &err) != KEC_OK) {
        fprintf(stderr, "%s %s: %s\n", cli_program, CMD, err.msg);
        rc = err.code == KEC_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        goto out;
    }
    rc = cli_connect(&cfg.copts, CMD, &b->client);
    if (rc != CLI_EXIT_OK)
        goto out;

    bench_got_signal = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the program at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    signals_set = 1;

    if (cfg.rate > 0)
        bench_rate_run(b);
    else
        run(b);

    if (cfg.json)
        bench_report_json(b);
    else
        bench_report_text(b);
    fflush(stdout);
    if (b->errors == 0)
        rc = CLI_EXIT_OK;
    else if (b->any_ok == 0)
        rc = cli_report(CMD, b->client, &b->first_error);
    else
        rc = CLI_EXIT_FAILED;
    if (rc == CLI_EXIT_OK && b->any_ok == 0 && b->abandoned > 0) {
        fprintf(stderr, "%s %s: no call was answered: %d still in flight were cancelled\n",
                cli_program, CMD, b->abandoned);
        rc = CLI_EXIT_FAILED;
    }

out:
    /* cancels calls left after the drain grace and waits for their callbacks */
    kec_client_free(b->client);
    if (signals_set) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    free_slots(b);
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
    free(b);
    return rc;
}
