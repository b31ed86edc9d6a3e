/* bench_rate.c -- the open loop of `kedro-events bench --rate R`: call i is due at
 * t0 + i/R whatever the answers, and its latency counts from then.
 *
 * The main thread is the generator: it sleeps until the next call is due (clock_nanosleep,
 * absolute CLOCK_MONOTONIC times, so errors do not add up), then starts every call that is due
 * in that wake-up. Each call takes a free slot (its context for the callback); when none is
 * free (--concurrency calls in flight), the call waits for one on the condition variable, is
 * counted as delayed, and its latency still counts from when it was due, so a slow server
 * shows in the latency rather than lowering the rate (no coordinated omission). The calls
 * share one set of events, written only here: the library encodes a call before it returns.
 *
 * Calls due before the end of the warmup are not measured; then --requests N calls, or those
 * due within --duration, are. After the last is started, the run waits for every answer (up
 * to --timeout and the drain grace); the measured interval runs from when the first measured
 * call was due to the last measured answer. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_OFFSET_NS (UINT64_MAX / 4) /* a due time beyond reach: stays clear of overflow */

/* When call i is due, in ns after t0, at rate calls per second. */
static uint64_t due_offset(double rate, uint64_t i)
{
    long double ns = (long double)i * 1e9L / (long double)rate;

    return ns >= (long double)MAX_OFFSET_NS ? MAX_OFFSET_NS : (uint64_t)ns;
}

/* How many calls are due within the first secs seconds: those with i/rate < secs. A product
 * within rounding of a whole number is that number (0.2 s at 100/s is 20 calls, not 21). */
static uint64_t calls_within(double secs, double rate)
{
    long double x = (long double)secs * (long double)rate;
    long double whole = roundl(x);

    if (fabsl(x - whole) <= 1e-9L * (whole > 1 ? whole : 1))
        return (uint64_t)whole;
    return (uint64_t)ceill(x);
}

static struct timespec at(uint64_t ns)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ns / NS);
    ts.tv_nsec = (long)(ns % NS);
    return ts;
}

/* Starts the call reserved in s and records its send lag; a call that cannot start frees its
 * slot, counts as a failure and stops the run (b->lock not held). */
static void launch(bench *b, slot *s)
{
    uint64_t due = s->scheduled_ns;
    int measured = s->measured;
    kec_error err;
    int rc;

    kec_error_clear(&err);
    rc = bench_start_call(s, &err);
    pthread_mutex_lock(&b->lock);
    if (rc != KEC_OK) {
        b->inflight--;
        b->free_list[b->n_free++] = s->index;
        bench_start_failed(b, &err);
    } else if (measured) {
        /* only this thread reuses s, so started_ns is still this call's */
        b->sent++;
        b->last_sent_ns = s->started_ns;
        bench_hist_add(&b->lag, s->started_ns > due ? s->started_ns - due : 0);
    }
    pthread_mutex_unlock(&b->lock);
}

void bench_rate_completed(slot *s, int rc, const kec_error *err)
{
    bench *b = s->b;
    uint64_t now = bench_now_ns();

    pthread_mutex_lock(&b->lock);
    b->inflight--;
    bench_count_outcome(b, now, rc, err);
    if (!s->measured) {
        b->warmup_calls++;
    } else if (now > b->t_end) {
        b->drained_calls++;
    } else {
        b->calls++;
        if (rc == KEC_OK) {
            b->ok_calls++;
            b->ok_events += (uint64_t)b->events_per_call;
            bench_hist_add(&b->hist, now > s->scheduled_ns ? now - s->scheduled_ns : 0);
        }
        if (now > b->last_answer_ns)
            b->last_answer_ns = now;
    }
    b->free_list[b->n_free++] = s->index;
    if (b->gen_waiting || b->inflight == 0)
        pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

/* Takes a free slot for call i, due at due (b->lock held; b->n_free > 0). */
static slot *claim(bench *b, uint64_t i, uint64_t due, uint64_t warm)
{
    slot *s = &b->slots[b->free_list[--b->n_free]];

    s->scheduled_ns = due;
    s->measured = i >= warm;
    if (++b->inflight > b->max_inflight)
        b->max_inflight = b->inflight;
    if (!b->cfg->same_id) {
        s->first_id = b->next_id;
        b->next_id += (uint64_t)b->events_per_call;
    }
    return s;
}

/* Starts calls warm + measured at the rate until they are all started, SIGINT or a stop
 * (b->lock not held). */
static void generate(bench *b, uint64_t warm, uint64_t total, int show)
{
    const double rate = b->cfg->rate;
    uint64_t i = 0, counted = UINT64_MAX, now, due = b->t0, wake;
    bench_ticker tk;
    struct timespec ts;
    slot *s;

    bench_ticker_init(&tk, show, b->t0, 0);
    for (;;) {
        now = bench_now_ns();
        pthread_mutex_lock(&b->lock);
        if (bench_got_signal && !b->stopping) {
            b->interrupted = 1;
            bench_stop_at(b, now);
        }
        wake = bench_tick(b, &tk, now);
        /* every call due by now, while a slot is free */
        while (!b->stopping && i < total) {
            due = b->t0 + due_offset(rate, i);
            if (due > now || b->n_free == 0)
                break;
            s = claim(b, i, due, warm);
            pthread_mutex_unlock(&b->lock);
            launch(b, s);
            i++;
            pthread_mutex_lock(&b->lock);
        }
        if (b->stopping || i == total) {
            pthread_mutex_unlock(&b->lock);
            return;
        }
        if (due <= now) {
            /* due, but --concurrency calls are in flight: wait for an answer */
            if (i >= warm && counted != i) {
                b->delayed_by_cap++;
                counted = i;
            }
            ts = at(wake);
            b->gen_waiting = 1;
            pthread_cond_timedwait(&b->cond, &b->lock, &ts);
            b->gen_waiting = 0;
            pthread_mutex_unlock(&b->lock);
            continue;
        }
        pthread_mutex_unlock(&b->lock);
        ts = at(due < wake ? due : wake);
        /* EINTR (a signal) only wakes us early: the loop looks again */
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/* Waits for the answers of the calls in flight: up to --timeout and the drain grace after a
 * normal end, the grace alone after a stop; SIGINT stops waiting for measured answers
 * (b->lock not held). */
static void drain(bench *b, int show)
{
    uint64_t now = bench_now_ns(), wake;
    uint64_t until = now + DRAIN_GRACE_NS;
    bench_ticker tk;
    struct timespec ts;

    pthread_mutex_lock(&b->lock);
    bench_ticker_init(&tk, show, now, b->all_done);
    if (!b->stopping)
        until += (uint64_t)b->cfg->copts.timeout_ms * 1000000ull;
    while (b->inflight > 0) {
        now = bench_now_ns();
        if (bench_got_signal && !b->stopping) {
            b->interrupted = 1;
            bench_stop_at(b, now);
            if (now + DRAIN_GRACE_NS < until)
                until = now + DRAIN_GRACE_NS;
        }
        if (now >= until) {
            b->abandoned = b->inflight; /* kec_client_free cancels them; not counted */
            break;
        }
        wake = bench_tick(b, &tk, now);
        if (until < wake)
            wake = until;
        ts = at(wake);
        pthread_cond_timedwait(&b->cond, &b->lock, &ts);
    }
    /* the measured interval ends with the last measured answer, or at the stop */
    if (b->t_end == UINT64_MAX)
        b->t_end = b->last_answer_ns > b->t_measure ? b->last_answer_ns : b->t_measure;
    pthread_mutex_unlock(&b->lock);
}

void bench_rate_run(bench *b)
{
    const config *cfg = b->cfg;
    int show = isatty(STDERR_FILENO);
    uint64_t warm = calls_within(cfg->warmup, cfg->rate);
    uint64_t total =
        warm + (cfg->requests > 0 ? cfg->requests : calls_within(cfg->duration, cfg->rate));
    int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);

    /* wake on time: the default 50 us of timer slack would show as send lag */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    pthread_mutex_lock(&b->lock);
    b->t0 = bench_now_ns();
    b->t_measure = b->t0 + due_offset(cfg->rate, warm);
    b->t_end = UINT64_MAX;
    pthread_mutex_unlock(&b->lock);

    generate(b, warm, total, show);
    drain(b, show);

    if (slack > 0)
        prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
    if (show) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
}
