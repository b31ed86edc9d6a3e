/* bench.h -- what the files of `kedro-events bench` share: the latency histogram
 * (histogram.c), the run's state and its closed loop (bench.c), the open loop of --rate
 * (bench_rate.c) and the report (bench_report.c). */
#ifndef KEC_CLI_BENCH_H
#define KEC_CLI_BENCH_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "cli.h"

#define MAX_ERROR_KINDS 32 /* distinct status names kept; more are lumped in OTHER */
#define NS 1000000000ull
#define DRAIN_GRACE_NS 2000000000ull /* after the end, how long in-flight calls may finish */
#define SIGNAL_POLL_NS 100000000ull  /* how often the main thread looks for SIGINT */

/* ---- the latency histogram ---------------------------------------------------------------- */

/* Log-linear buckets over nanoseconds: values below 2^(SUB_BITS+1) have a bucket each; above,
 * every power of two is split into 2^SUB_BITS buckets, so a bucket is at most 1/128 of its
 * values wide and its midpoint is within 0.4% of any of them. */
#define SUB_BITS 7
#define SUB_COUNT (1u << SUB_BITS)
#define HIST_BUCKETS ((64 - SUB_BITS) * SUB_COUNT + SUB_COUNT)

typedef struct histogram {
    uint64_t counts[HIST_BUCKETS]; /* samples per bucket */
    uint64_t total;                /* samples */
    uint64_t max;                  /* the largest sample, exact */
    long double sum;               /* of all samples, for the mean */
} histogram;

/* Adds one sample (ns) to h. */
void bench_hist_add(histogram *h, uint64_t v);

/* The sample at quantile q (0..1) of h, within 0.4%; never above h->max. */
uint64_t bench_hist_quantile(const histogram *h, double q);

/* ---- the run's state ---- */

/* One kind of error: a gRPC status name, or a library error name. */
typedef struct error_kind {
    char name[32];   /* e.g. "UNAVAILABLE" */
    uint64_t count;  /* how many calls failed so */
    char first[512]; /* the first one's message */
} error_kind;

typedef struct bench bench;

/* One call kept in flight: its events and the call it has started. */
typedef struct slot {
    bench *b;              /* the run */
    kec_event **events;    /* batch events (one for Dispatch), changed only between calls;
                              with --rate every slot shares slot 0's, written by one thread */
    uint64_t started_ns;   /* when its current call started (CLOCK_MONOTONIC) */
    uint64_t scheduled_ns; /* --rate: when its current call was due */
    int measured;          /* --requests, --rate: the current call is a measured one */
    int index;             /* its place in bench.slots */
    uint64_t first_id;     /* distinct ids: the number of its next call's first event */
    char id[80];           /* the id being written */
} slot;

/* What the flags ask for. */
typedef struct config {
    kec_client_options copts; /* the connection */
    int concurrency;          /* calls in flight; with --rate, the most in flight */
    double rate;              /* --rate: calls started per second, open loop; 0: closed loop */
    uint64_t requests;        /* measured calls, or 0 with a duration */
    double duration;          /* measured seconds, with requests 0 */
    double warmup;            /* seconds not measured first */
    int batch;                /* events per DispatchBatch, or 0 for Dispatch */
    const char *source;       /* the events' source */
    const char *type;         /* the events' type */
    const char *data;         /* their text data */
    const char *content_type; /* their datacontenttype */
    int same_id;              /* 1: every event has the same id */
    int json;                 /* 1: report as one JSON object */
} config;

struct bench {
    const config *cfg;   /* the flags */
    kec_client *client;  /* the connection */
    slot *slots;         /* cfg->concurrency of them */
    int event_sets;      /* slots owning their events: 1 with --rate, else all */
    char run_id[40];     /* a UUID naming this run's event ids */
    int events_per_call; /* 1, or the batch size */

    pthread_mutex_t lock;   /* guards everything below */
    pthread_cond_t cond;    /* signalled when stopping begins and when inflight reaches 0 */
    uint64_t t0;            /* when the first calls started */
    uint64_t t_measure;     /* the end of the warmup */
    uint64_t t_end;         /* the end of the measured interval (UINT64_MAX until known) */
    int stopping;           /* no call is started any more */
    int interrupted;        /* stopping because of SIGINT */
    int unreachable;        /* stopping because the server could not be reached */
    int inflight;           /* calls started whose callback has not run */
    uint64_t next_id;       /* the number of the next distinct id */
    uint64_t issued;        /* --requests: measured calls started */
    uint64_t calls;         /* measured calls completed */
    uint64_t ok_calls;      /* of them, successful */
    uint64_t ok_events;     /* events in those */
    uint64_t warmup_calls;  /* calls completed before the measured interval */
    uint64_t drained_calls; /* calls completed after it */
    int abandoned;          /* calls still in flight after the drain grace: cancelled */
    uint64_t all_done;      /* calls completed, all phases (for the progress rate) */
    uint64_t any_ok;        /* successful calls, all phases */
    uint64_t errors;        /* failed calls, all phases */
    kec_error first_error;  /* the first of them */
    error_kind kinds[MAX_ERROR_KINDS]; /* errors by name */
    int n_kinds;                       /* kinds in use */
    uint64_t other_errors;             /* failures of kinds beyond MAX_ERROR_KINDS */
    histogram hist;                    /* latencies of measured successful calls, ns */

    /* --rate only */
    int *free_list;          /* indexes of the slots with no call in flight */
    int n_free;              /* of them */
    int gen_waiting;         /* the generator waits on cond for a free slot */
    int max_inflight;        /* the most calls in flight at once */
    uint64_t delayed_by_cap; /* measured calls that were due while the cap was reached */
    uint64_t sent;           /* measured calls started */
    uint64_t last_sent_ns;   /* when the last of them started */
    uint64_t last_answer_ns; /* when the last measured call was answered */
    histogram lag;           /* send lag of measured calls: started - scheduled, ns */
};

/* ---- shared by the closed loop (bench.c) and the open one (bench_rate.c) ---- */

/* SIGINT or SIGTERM arrived (set by the handler bench.c installs). */
extern volatile sig_atomic_t bench_got_signal;

/* CLOCK_MONOTONIC now, in ns. */
uint64_t bench_now_ns(void);

/* Starts stopping at t: nothing new is started, and calls completing after t are not
 * counted (b->lock held). */
void bench_stop_at(bench *b, uint64_t t);

/* Counts a call that ended at now with rc/err in the totals of all phases; a failure is
 * counted by kind when now is inside the run, and stops the run when nothing has got through
 * (b->lock held). */
void bench_count_outcome(bench *b, uint64_t now, int rc, const kec_error *err);

/* Counts a call that could not start (err) and stops the run; the caller has taken it out
 * of b->inflight (b->lock held). */
void bench_start_failed(bench *b, const kec_error *err);

/* Writes s's reserved ids into its events, notes s->started_ns and starts the call; its
 * callback then runs on a client thread. Returns KEC_OK, or the error with err filled (no
 * callback then). b->lock not held. */
int bench_start_call(slot *s, kec_error *err);

/* The progress line on a terminal, once a second (bench_tick). */
typedef struct bench_ticker {
    int show;           /* stderr is a terminal: print it */
    uint64_t next_tick; /* when the next line is due */
    uint64_t last_t;    /* when the last one was printed (or the start) */
    uint64_t last_done; /* answers counted then */
} bench_ticker;

void bench_ticker_init(bench_ticker *t, int show, uint64_t start, uint64_t done);

/* Prints the progress line when it is due (b->lock held); returns when the main thread wakes
 * next at the latest: SIGNAL_POLL_NS from now, or the next line's time when sooner. */
uint64_t bench_tick(bench *b, bench_ticker *t, uint64_t now);

/* The open loop of --rate (bench_rate.c): schedules the calls, then waits for their answers
 * (b->lock not held). */
void bench_rate_run(bench *b);

/* A call of s started by bench_rate_run ended (on a client thread). */
void bench_rate_completed(slot *s, int rc, const kec_error *err);

/* Milliseconds of ns, for reports. */
double bench_ms(uint64_t ns);

/* Prints the report of a finished run on stdout. */
void bench_report_text(const bench *b);
void bench_report_json(const bench *b);

#endif
