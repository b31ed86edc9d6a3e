/* bench_report.c -- the report `kedro-events bench` prints at the end of a run: as text, or
 * as one JSON object (--json-out). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

double bench_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* ---- reporting --------------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* The measured interval in seconds (0 when the run ended before it began). */
static double interval(const bench *b)
{
    uint64_t end = b->t_end;

    if (end == UINT64_MAX) /* --requests interrupted before any end was set: cannot happen */
        end = b->t_measure;
    return end > b->t_measure ? (double)(end - b->t_measure) / 1e9 : 0;
}

/* --rate: measured calls started per second, from when the first was due to when the last
 * started, plus one period (the last call's share): R when every call started on time. */
static double sent_per_s(const bench *b)
{
    double secs;

    if (b->sent == 0)
        return 0;
    secs = (double)(b->last_sent_ns - b->t_measure) / 1e9 + 1.0 / b->cfg->rate;
    return (double)b->sent / secs;
}

void bench_report_text(const bench *b)
{
    const config *cfg = b->cfg;
    double secs = interval(b);
    int i;

    printf("target       %s\n", kec_client_target(b->client));
    if (cfg->rate > 0)
        printf("concurrency  open loop, at most %d in flight over %d connection%s (peak %d;"
               " delayed by the in-flight cap: %" PRIu64 ")\n",
               cfg->concurrency, cfg->copts.channels, cfg->copts.channels == 1 ? "" : "s",
               b->max_inflight, b->delayed_by_cap);
    else
        printf("concurrency  %d calls in flight over %d connection%s\n", cfg->concurrency,
               cfg->copts.channels, cfg->copts.channels == 1 ? "" : "s");
    if (cfg->batch > 0)
        printf("batch        %d events per DispatchBatch call\n", cfg->batch);
    else
        printf("batch        none (one event per Dispatch call)\n");
    if (cfg->same_id)
        printf("ids          same (%s: every call after the first is a duplicate)\n", b->run_id);
    else
        printf("ids          distinct (%s-<n>)\n", b->run_id);
    printf("calls        %" PRIu64 " in %.3f s", b->calls, secs);
    if (b->warmup_calls > 0)
        printf(", %" PRIu64 " more in the %.3g s warmup", b->warmup_calls, cfg->warmup);
    if (b->drained_calls > 0)
        printf(", %" PRIu64 " completed after the end (not counted)", b->drained_calls);
    if (b->abandoned > 0)
        printf(", %d unanswered %.0f s after the end (cancelled)", b->abandoned,
               (double)DRAIN_GRACE_NS / 1e9);
    printf("%s\n", b->interrupted   ? " (interrupted)"
                   : b->unreachable ? " (stopped: the server could not be reached)"
                                    : "");
    printf("throughput   %.0f dispatches/s", secs > 0 ? (double)b->ok_events / secs : 0.0);
    if (cfg->batch > 0)
        printf("  %.0f calls/s", secs > 0 ? (double)b->ok_calls / secs : 0.0);
    printf("\n");
    if (b->hist.total > 0)
        printf("latency      p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  (mean %.3f ms)\n",
               bench_ms(bench_hist_quantile(&b->hist, 0.50)),
               bench_ms(bench_hist_quantile(&b->hist, 0.90)),
               bench_ms(bench_hist_quantile(&b->hist, 0.99)), bench_ms(b->hist.max),
               (double)(b->hist.sum / (long double)b->hist.total) / 1e6);
    else
        printf("latency      no successful call measured\n");
    if (cfg->rate > 0)
        printf("rate         %.15g calls/s scheduled, %.1f calls/s sent, lag p50 %.3f ms p99 %.3f "
               "ms max %.3f ms\n",
               cfg->rate, sent_per_s(b), bench_ms(bench_hist_quantile(&b->lag, 0.50)),
               bench_ms(bench_hist_quantile(&b->lag, 0.99)), bench_ms(b->lag.max));
    if (b->errors == 0) {
        printf("errors       none\n");
        return;
    }
    printf("errors       %" PRIu64 " failed call%s (warmup included)\n", b->errors,
           b->errors == 1 ? "" : "s");
    for (i = 0; i < b->n_kinds; i++)
        printf("  %-20s %10" PRIu64 "  first: %s\n", b->kinds[i].name, b->kinds[i].count,
               b->kinds[i].first);
    if (b->other_errors > 0)
        printf("  %-20s %10" PRIu64 "\n", "(other kinds)", b->other_errors);
}

/* The "rate" member of the JSON report, and its comma: null in closed-loop mode. */
static void json_rate(const bench *b)
{
    if (b->cfg->rate <= 0) {
        printf("\"rate\":null,");
        return;
    }
    printf("\"rate\":{\"scheduled_per_s\":%.15g,\"sent_per_s\":%.1f,", b->cfg->rate, sent_per_s(b));
    if (b->lag.total > 0)
        printf("\"lag_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},",
               bench_ms(bench_hist_quantile(&b->lag, 0.50)),
               bench_ms(bench_hist_quantile(&b->lag, 0.99)), bench_ms(b->lag.max));
    else
        printf("\"lag_ms\":null,");
    printf("\"delayed_by_cap\":%" PRIu64 ",\"max_in_flight\":%d},", b->delayed_by_cap,
           b->max_inflight);
}

void bench_report_json(const bench *b)
{
    const config *cfg = b->cfg;
    double secs = interval(b);
    int i;

    printf("{\"target\":");
    json_string(stdout, kec_client_target(b->client));
    printf(",\"method\":\"%s\",\"concurrency\":%d,\"connections\":%d,\"batch\":%d,",
           cfg->batch > 0 ? "DispatchBatch" : "Dispatch", cfg->concurrency, cfg->copts.channels,
           cfg->batch > 0 ? cfg->batch : 1);
    printf("\"ids\":\"%s\",\"run_id\":\"%s\",", cfg->same_id ? "same" : "distinct", b->run_id);
    if (cfg->requests > 0)
        printf("\"requests\":%" PRIu64 ",", cfg->requests);
    else
        printf("\"duration_s\":%.3f,", cfg->duration);
    printf("\"warmup_s\":%.3f,\"interval_s\":%.6f,\"calls\":%" PRIu64 ",\"ok_calls\":%" PRIu64
           ",\"dispatches\":%" PRIu64 ",\"warmup_calls\":%" PRIu64 ",\"drained_calls\":%" PRIu64
           ",\"cancelled_calls\":%d,",
           cfg->warmup, secs, b->calls, b->ok_calls, b->ok_events, b->warmup_calls,
           b->drained_calls, b->abandoned);
    printf("\"dispatches_per_s\":%.1f,\"calls_per_s\":%.1f,",
           secs > 0 ? (double)b->ok_events / secs : 0.0,
           secs > 0 ? (double)b->ok_calls / secs : 0.0);
    if (b->hist.total > 0)
        printf(
            "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f},",
            bench_ms(bench_hist_quantile(&b->hist, 0.50)),
            bench_ms(bench_hist_quantile(&b->hist, 0.90)),
            bench_ms(bench_hist_quantile(&b->hist, 0.99)), bench_ms(b->hist.max),
            (double)(b->hist.sum / (long double)b->hist.total) / 1e6);
    else
        printf("\"latency_ms\":null,");
    json_rate(b);
    printf("\"interrupted\":%s,\"unreachable\":%s,\"errors\":%" PRIu64 ",\"errors_by_status\":[",
           b->interrupted ? "true" : "false", b->unreachable ? "true" : "false", b->errors);
    for (i = 0; i < b->n_kinds; i++) {
        printf("%s{\"status\":\"%s\",\"count\":%" PRIu64 ",\"first_message\":", i ? "," : "",
               b->kinds[i].name, b->kinds[i].count);
        json_string(stdout, b->kinds[i].first);
        printf("}");
    }
    if (b->other_errors > 0)
        printf("%s{\"status\":\"OTHER\",\"count\":%" PRIu64 ",\"first_message\":\"\"}",
               b->n_kinds > 0 ? "," : "", b->other_errors);
    printf("]}\n");
}
