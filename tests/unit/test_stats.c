/* test_stats.c -- unit tests of GetStats's event ring (server/stats.c): which bucket a count
 * lands in, sums over wider steps, a slot reused an hour later, counts an hour late, threads
 * counting at once, and the window and step rules. The clock is injected (ke_stats_count_at). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "stats.h"

#define T0 1800000000LL /* a multiple of 3600 seconds since the epoch: 2027-01-15T08:00:00Z */

static ke_stats *new_ring(void)
{
    ke_stats *s = NULL;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_stats_new(T0 * 1000000, &s, &err), KE_OK);
    assert_non_null(s);
    return s;
}

static void a_count_lands_in_the_ten_second_slot_of_its_time(void **state)
{
    ke_stats *s = new_ring();
    int64_t out[3];

    (void)state;
    ke_stats_count_at(s, T0, 1);
    ke_stats_count_at(s, T0 + 9, 2);  /* same slot */
    ke_stats_count_at(s, T0 + 10, 4); /* the next */
    ke_stats_count_at(s, T0 + 29, 8); /* the third */
    ke_stats_events(s, T0 + 29, T0, 10, 3, out);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 4);
    assert_int_equal(out[2], 8);
    assert_int_equal(ke_stats_started(s), T0 * 1000000);
    ke_stats_free(s);
}

static void a_wider_step_sums_its_slots_and_slots_after_now_count_nothing(void **state)
{
    ke_stats *s = new_ring();
    int64_t out[2];
    int i;

    (void)state;
    for (i = 0; i < 12; i++) /* one in each slot of two minutes */
        ke_stats_count_at(s, T0 + i * 10, 1);
    ke_stats_events(s, T0 + 119, T0, 60, 2, out);
    assert_int_equal(out[0], 6);
    assert_int_equal(out[1], 6);
    /* Read as of T0 + 65: the slots after T0 + 60..69 are in the future, not counted. */
    ke_stats_events(s, T0 + 65, T0, 60, 2, out);
    assert_int_equal(out[0], 6);
    assert_int_equal(out[1], 1);
    ke_stats_free(s);
}

static void a_slot_reused_an_hour_later_starts_again_from_zero(void **state)
{
    ke_stats *s = new_ring();
    int64_t later = T0 + KE_STATS_SLOTS * KE_STATS_SLOT_SECONDS; /* the same slot, 3610 s on */
    int64_t out[1];

    (void)state;
    ke_stats_count_at(s, T0, 5);
    ke_stats_events(s, T0 + 5, T0, 10, 1, out);
    assert_int_equal(out[0], 5);
    ke_stats_count_at(s, later, 1);
    ke_stats_events(s, later, later, 10, 1, out);
    assert_int_equal(out[0], 1);
    /* The old hour is gone from the slot, whatever time the reader asks about. */
    ke_stats_events(s, T0 + 5, T0, 10, 1, out);
    assert_int_equal(out[0], 0);
    /* A count an hour late finds the later hour there and is dropped. */
    ke_stats_count_at(s, T0, 7);
    ke_stats_events(s, later, later, 10, 1, out);
    assert_int_equal(out[0], 1);
    ke_stats_free(s);
}

static void slots_older_than_the_ring_count_nothing(void **state)
{
    ke_stats *s = new_ring();
    int64_t out[KE_STATS_MAX_WINDOW / 10];
    int64_t now = T0 + KE_STATS_MAX_WINDOW; /* the slot of T0 is the oldest the ring keeps */
    int64_t sum = 0;
    size_t i;

    (void)state;
    ke_stats_count_at(s, T0, 3);
    ke_stats_count_at(s, now, 1);
    /* A window of an hour ending with now's slot starts after T0's. */
    ke_stats_events(s, now, T0 + 10, 10, KE_STATS_MAX_WINDOW / 10, out);
    for (i = 0; i < KE_STATS_MAX_WINDOW / 10; i++)
        sum += out[i];
    assert_int_equal(sum, 1);
    assert_int_equal(out[KE_STATS_MAX_WINDOW / 10 - 1], 1);
    /* Asked from T0 itself, T0's slot is still in the ring (361 slots); ten seconds later
     * it is past the ring and counts nothing. */
    ke_stats_events(s, now, T0, 10, 1, out);
    assert_int_equal(out[0], 3);
    ke_stats_events(s, now + 10, T0, 10, 1, out);
    assert_int_equal(out[0], 0);
    ke_stats_free(s);
}

#define THREADS 4
#define PER_THREAD 100000

static void *counter(void *arg)
{
    ke_stats *s = arg;
    int i;

    for (i = 0; i < PER_THREAD; i++)
        ke_stats_count_at(s, T0 + (i & 1) * 10, 1); /* two slots, in turn */
    return NULL;
}

static void threads_counting_at_once_lose_no_count(void **state)
{
    ke_stats *s = new_ring();
    pthread_t t[THREADS];
    int64_t out[2];
    int i;

    (void)state;
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, counter, s), 0);
    for (i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ke_stats_events(s, T0 + 10, T0, 10, 2, out);
    assert_int_equal(out[0], THREADS * PER_THREAD / 2);
    assert_int_equal(out[1], THREADS * PER_THREAD / 2);
    ke_stats_free(s);
}

static void null_ring_counts_nothing(void **state)
{
    int64_t out[2] = {9, 9};

    (void)state;
    ke_stats_count(NULL, 1);
    ke_stats_events(NULL, T0, T0, 10, 2, out);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 0);
}

/* Checks window/step and returns the message ("" when accepted). */
static const char *check(int window, int step, int *w_out, int *s_out)
{
    static ke_error err;

    ke_error_clear(&err);
    *w_out = window;
    *s_out = step;
    if (ke_stats_check(w_out, s_out, &err) == KE_OK)
        return "";
    assert_int_equal(err.code, KE_EINVAL);
    return err.msg;
}

static void window_and_step_get_defaults_and_bad_ones_name_the_field(void **state)
{
    int w, s;

    (void)state;
    assert_string_equal(check(0, 0, &w, &s), "");
    assert_int_equal(w, 3600);
    assert_int_equal(s, 60);
    assert_string_equal(check(90, 0, &w, &s), ""); /* 60 does not divide 90: 10 */
    assert_int_equal(s, 10);
    assert_string_equal(check(60, 60, &w, &s), "");
    assert_string_equal(check(3600, 10, &w, &s), "");
    assert_string_equal(check(3600, 3600, &w, &s), "");
    assert_string_equal(check(50, 10, &w, &s),
                        "window_seconds 50: must be between 60 and 3600 (0: 3600)");
    assert_non_null(strstr(check(3610, 10, &w, &s), "window_seconds 3610"));
    assert_non_null(strstr(check(-60, 10, &w, &s), "window_seconds -60"));
    assert_string_equal(check(600, 5, &w, &s),
                        "step_seconds 5: must be between 10 and window_seconds (600)");
    assert_non_null(strstr(check(600, 1200, &w, &s), "step_seconds 1200: must be between"));
    assert_non_null(strstr(check(600, -10, &w, &s), "step_seconds -10: must be between"));
    assert_string_equal(check(600, 15, &w, &s), "step_seconds 15: must be a multiple of 10");
    assert_string_equal(check(600, 70, &w, &s),
                        "step_seconds 70: must divide window_seconds (600)");
    assert_non_null(strstr(check(65, 10, &w, &s), "must divide window_seconds (65)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_count_lands_in_the_ten_second_slot_of_its_time),
        cmocka_unit_test(a_wider_step_sums_its_slots_and_slots_after_now_count_nothing),
        cmocka_unit_test(a_slot_reused_an_hour_later_starts_again_from_zero),
        cmocka_unit_test(slots_older_than_the_ring_count_nothing),
        cmocka_unit_test(threads_counting_at_once_lose_no_count),
        cmocka_unit_test(null_ring_counts_nothing),
        cmocka_unit_test(window_and_step_get_defaults_and_bad_ones_name_the_field),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
