/* test_metrics.c -- unit tests of the metrics registry (client/metrics.c): the exposition
 * format (HELP/TYPE, escaping, histogram buckets), the series bound and its overflow series,
 * reserved series, and counting from many threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kec_metrics.h"

static char *render(kec_metrics *m)
{
    size_t len = 0;
    char *text = kec_metrics_render(m, &len);

    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void renders_help_type_and_escaped_label_values(void **state)
{
    static const char *const labels[] = {"pipeline", "state"};
    const char *v[] = {"a\"b\\c\nd", "SUCCESS"};
    kec_metrics *m = kec_metrics_new();
    kec_family *f, *g;
    char *text;

    (void)state;
    f = kec_metrics_family(m, KEC_COUNTER, "x_total", "Help with \\ and\nnewline.", 2, labels, 10,
                           NULL, 0);
    g = kec_metrics_family(m, KEC_GAUGE, "y", "A gauge.", 0, NULL, 1, NULL, 0);
    assert_non_null(f);
    assert_non_null(g);
    kec_counter_add(kec_series_get(f, v), 3);
    kec_counter_add(kec_series_get(f, v), 2);
    kec_gauge_set(kec_series_get(g, NULL), 1.5);
    kec_gauge_add(kec_series_get(g, NULL), -3);
    text = render(m);
    assert_string_equal(text, "# HELP x_total Help with \\\\ and\\nnewline.\n"
                              "# TYPE x_total counter\n"
                              "x_total{pipeline=\"a\\\"b\\\\c\\nd\",state=\"SUCCESS\"} 5\n"
                              "# HELP y A gauge.\n"
                              "# TYPE y gauge\n"
                              "y -1.5\n");
    free(text);
    kec_metrics_free(m);
}

static void renders_histograms_cumulative_with_inf_sum_and_count(void **state)
{
    static const double bounds[] = {0.1, 1};
    static const char *const labels[] = {"method"};
    const char *v[] = {"Dispatch"};
    kec_metrics *m = kec_metrics_new();
    kec_family *h;
    kec_series *s;
    char *text;

    (void)state;
    h = kec_metrics_family(m, KEC_HISTOGRAM, "d_seconds", "Durations.", 1, labels, 4, bounds, 2);
    assert_non_null(h);
    s = kec_series_get(h, v);
    kec_histogram_observe(s, 0.05);
    kec_histogram_observe(s, 0.1); /* le is inclusive */
    kec_histogram_observe(s, 0.5);
    kec_histogram_observe(s, 7);
    text = render(m);
    assert_non_null(strstr(text, "d_seconds_bucket{method=\"Dispatch\",le=\"0.1\"} 2\n"
                                 "d_seconds_bucket{method=\"Dispatch\",le=\"1\"} 3\n"
                                 "d_seconds_bucket{method=\"Dispatch\",le=\"+Inf\"} 4\n"
                                 "d_seconds_sum{method=\"Dispatch\"} 7.65\n"
                                 "d_seconds_count{method=\"Dispatch\"} 4\n"));
    free(text);
    kec_metrics_free(m);
}

static void label_sets_past_the_bound_count_in_the_overflow_series(void **state)
{
    static const char *const labels[] = {"pipeline"};
    kec_metrics *m = kec_metrics_new();
    const char *v[1];
    char name[32], *text;
    kec_family *f;
    int i;

    (void)state;
    f = kec_metrics_family(m, KEC_COUNTER, "c_total", "C.", 1, labels, 3, NULL, 0);
    v[0] = "configured";
    assert_non_null(kec_series_reserve(f, v)); /* not counted against the bound */
    for (i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "p%d", i);
        v[0] = name;
        kec_counter_add(kec_series_get(f, v), 1);
    }
    v[0] = "p0"; /* created before the bound: still its own */
    kec_counter_add(kec_series_get(f, v), 1);
    v[0] = "configured";
    kec_counter_add(kec_series_get(f, v), 1);
    text = render(m);
    assert_non_null(strstr(text, "c_total{pipeline=\"configured\"} 1\n"));
    assert_non_null(strstr(text, "c_total{pipeline=\"p0\"} 2\n"));
    assert_non_null(strstr(text, "c_total{pipeline=\"p2\"} 1\n"));
    assert_null(strstr(text, "pipeline=\"p3\""));
    assert_non_null(strstr(text, "c_total{pipeline=\"" KEC_METRICS_OVERFLOW "\"} 7\n"));
    free(text);
    kec_metrics_free(m);
}

static void refuses_bad_names_and_unsorted_buckets(void **state)
{
    static const char *const bad_label[] = {"a:b"};
    static const char *const le[] = {"le"};
    static const double unsorted[] = {1, 0.5};
    kec_metrics *m = kec_metrics_new();

    (void)state;
    assert_null(kec_metrics_family(m, KEC_COUNTER, "9x", "", 0, NULL, 1, NULL, 0));
    assert_null(kec_metrics_family(m, KEC_COUNTER, "x-y", "", 0, NULL, 1, NULL, 0));
    assert_null(kec_metrics_family(m, KEC_COUNTER, "x", "", 1, bad_label, 1, NULL, 0));
    assert_null(kec_metrics_family(m, KEC_HISTOGRAM, "h", "", 1, le, 1, unsorted, 1));
    assert_null(kec_metrics_family(m, KEC_HISTOGRAM, "h", "", 0, NULL, 1, unsorted, 2));
    assert_null(kec_metrics_family(m, KEC_GAUGE, "g", "", 0, NULL, 0, NULL, 0));
    kec_metrics_free(m);
}

#define THREADS 8
#define NAMES 200
#define ROUNDS 20000

typedef struct worker {
    kec_family *f; /* counter family */
    kec_family *h; /* histogram family */
    int id;        /* thread number */
} worker;

static void *count_names(void *arg)
{
    worker *w = arg;
    char name[32];
    const char *v[1] = {name};
    int i;

    for (i = 0; i < ROUNDS; i++) {
        snprintf(name, sizeof name, "n%d", (i * 7 + w->id) % NAMES);
        kec_counter_add(kec_series_get(w->f, v), 1);
        kec_histogram_observe(kec_series_get(w->h, NULL), 0.25);
    }
    return NULL;
}

static void counts_from_many_threads_while_series_are_created(void **state)
{
    static const char *const labels[] = {"name"};
    static const double bounds[] = {0.5};
    pthread_t t[THREADS];
    worker w[THREADS];
    kec_metrics *m = kec_metrics_new();
    kec_family *f, *h;
    char name[32], *text;
    const char *v[1] = {name};
    double total = 0;
    int i;

    (void)state;
    f = kec_metrics_family(m, KEC_COUNTER, "n_total", "N.", 1, labels, 1000, NULL, 0);
    h = kec_metrics_family(m, KEC_HISTOGRAM, "h_seconds", "H.", 0, NULL, 1, bounds, 1);
    for (i = 0; i < THREADS; i++) {
        w[i].f = f;
        w[i].h = h;
        w[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, count_names, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        text = render(m); /* scrapes while the table grows */
        free(text);
    }
    for (i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (i = 0; i < NAMES; i++) {
        snprintf(name, sizeof name, "n%d", i);
        total += kec_series_value(kec_series_get(f, v));
    }
    assert_true(total == (double)THREADS * ROUNDS);
    text = render(m);
    snprintf(name, sizeof name, "h_seconds_count %d\n", THREADS * ROUNDS);
    assert_non_null(strstr(text, name));
    free(text);
    kec_metrics_free(m);
}

static void process_metrics_are_rendered(void **state)
{
    kec_metrics *m = kec_metrics_new();
    char *text;

    (void)state;
    assert_int_equal(kec_metrics_add_process(m, 1700000000.5), 0);
    text = render(m);
    assert_non_null(strstr(text, "process_start_time_seconds 1700000000.5\n"));
    assert_non_null(strstr(text, "\nprocess_resident_memory_bytes "));
    assert_non_null(strstr(text, "\nprocess_open_fds "));
    assert_null(strstr(text, "process_open_fds 0\n"));
    free(text);
    kec_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_help_type_and_escaped_label_values),
        cmocka_unit_test(renders_histograms_cumulative_with_inf_sum_and_count),
        cmocka_unit_test(label_sets_past_the_bound_count_in_the_overflow_series),
        cmocka_unit_test(refuses_bad_names_and_unsorted_buckets),
        cmocka_unit_test(counts_from_many_threads_while_series_are_created),
        cmocka_unit_test(process_metrics_are_rendered),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
