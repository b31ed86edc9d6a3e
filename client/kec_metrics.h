/* kec_metrics.h -- the shared metrics registry of kedro-eventd and kedro-event-shim: counters,
 * gauges and histograms with a fixed label set per family, rendered in the Prometheus text
 * exposition format 0.0.4 (client/metrics.c; a static library, not part of libkedroevents).
 *
 * Hot path: a series is found once (kec_series_get; lock-free lookup) and then updated with
 * atomics only; callers that know their label values up front keep the kec_series pointer.
 * Creating a series takes the family's lock once. Series are never removed.
 *
 * Bounded series: a family holds at most max_series series created from arbitrary label values
 * (kec_series_get) plus those reserved (kec_series_reserve, e.g. the configured route names, up
 * to KEC_METRICS_MAX_RESERVED). A label set past the bound is counted in the one series whose
 * every label value is KEC_METRICS_OVERFLOW. */
#ifndef KEC_METRICS_H
#define KEC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define KEC_METRICS_MAX_LABELS 4         /* labels per family */
#define KEC_METRICS_MAX_BUCKETS 32       /* histogram buckets (+Inf is implicit) */
#define KEC_METRICS_MAX_RESERVED 40000   /* reserved series per family, over all reloads */
#define KEC_METRICS_LABEL_MAX 256        /* bytes of a label value kept (longer: cut, UTF-8 safe) */
#define KEC_METRICS_OVERFLOW "_overflow" /* the label value of series past the bound */

/* The exposition format's Content-Type. */
#define KEC_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef enum kec_metric_type {
    KEC_COUNTER,   /* only goes up; name ends in _total */
    KEC_GAUGE,     /* any value */
    KEC_HISTOGRAM, /* observations in cumulative buckets, with _sum and _count */
} kec_metric_type;

typedef struct kec_metrics kec_metrics; /* a registry */
typedef struct kec_family kec_family;   /* one metric name and its series */
typedef struct kec_series kec_series;   /* one label set's value */

/* Called before each render (e.g. to refresh process metrics); runs on the scraping thread. */
typedef void (*kec_collect_fn)(void *ctx);

/* A new, empty registry (free with kec_metrics_free); NULL when out of memory. */
kec_metrics *kec_metrics_new(void);

/* Frees the registry, its families and series; NULL is fine. No thread may use it any more. */
void kec_metrics_free(kec_metrics *m);

/* Adds a family: name and label names must be Prometheus names ([a-zA-Z_:][a-zA-Z0-9_:]*; labels
 * without ':'), n_labels <= KEC_METRICS_MAX_LABELS, max_series >= 1 (one more is kept for the
 * overflow series). For histograms, bounds are n_bounds increasing finite upper bounds (+Inf is
 * added); else NULL and 0. Families render in the order added. Returns the family (owned by
 * m), or NULL when out of memory or an argument breaks these rules (a programming error). */
kec_family *kec_metrics_family(kec_metrics *m, kec_metric_type type, const char *name,
                               const char *help, size_t n_labels, const char *const *labels,
                               size_t max_series, const double *bounds, size_t n_bounds);

/* Adds fn(ctx), called before each render in the order added. Returns 0, or -1 when out of
 * memory. Not thread-safe with rendering: add collectors before the registry is served. */
int kec_metrics_on_collect(kec_metrics *m, kec_collect_fn fn, void *ctx);

/* The series for these label values (n_labels of them; NULL reads as ""), created on first use:
 * lock-free when it exists; once the family holds max_series created this way, a new label set
 * gets the overflow series. NULL only when out of memory. */
kec_series *kec_series_get(kec_family *f, const char *const *values);

/* The same, but not counted against max_series (up to KEC_METRICS_MAX_RESERVED): for label
 * values the configuration names, so they are never folded into the overflow series. */
kec_series *kec_series_reserve(kec_family *f, const char *const *values);

/* Counter: adds n. Gauge: set, add (may be negative). Histogram: one observation. All are
 * atomic and take no lock; s may be NULL (nothing happens). */
void kec_counter_add(kec_series *s, uint64_t n);
void kec_gauge_set(kec_series *s, double v);
void kec_gauge_add(kec_series *s, double v);
void kec_histogram_observe(kec_series *s, double v);

/* The value of a counter or gauge series (tests, and the shim's own accounting). */
double kec_series_value(const kec_series *s);

/* Renders every family in the text exposition format 0.0.4 (HELP, TYPE, series with escaped
 * label values, histograms as _bucket{le}, _sum and _count) after running the collectors.
 * Returns a new NUL-terminated string (free() it) with its length in *len, or NULL when out
 * of memory. A family without series renders its HELP and TYPE only. */
char *kec_metrics_render(kec_metrics *m, size_t *len);

/* Common buckets for request latencies in seconds: 0.5 ms to 10 s. */
extern const double kec_metrics_latency_bounds[];
extern const size_t kec_metrics_latency_n;

/* Adds process_start_time_seconds, process_resident_memory_bytes and process_open_fds (read from
 * /proc/self at each render; start time given by the caller as seconds since the epoch).
 * Returns 0, or -1 when out of memory. */
int kec_metrics_add_process(kec_metrics *m, double start_time);

/* Seconds since the epoch, now (for *_timestamp_seconds gauges). */
double kec_metrics_now(void);

/* Seconds on the monotonic clock, for durations. */
double kec_metrics_mono(void);

#endif
