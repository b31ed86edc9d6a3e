/* stats.c -- the in-memory count of events accepted as new (a ring of 10-second slots, each
 * one atomic word) and the rules of a GetStats window. */
#include "stats.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* A slot is one word: the slot number (seconds since the epoch / 10, mod 2^32: it wraps after
 * 1361 years) in the high half, its count in the low half. Moving a slot to a new number and
 * counting in it is one compare-and-swap, so no count lands in a slot of the wrong hour. */
#define TAG_OF(v) ((uint32_t)((v) >> 32))
#define COUNT_OF(v) ((uint32_t)((v)&0xffffffffu))

struct ke_stats {
    int64_t started_us;                     /* when counting began */
    _Atomic uint64_t slots[KE_STATS_SLOTS]; /* slot number << 32 | count */
};

int ke_stats_new(int64_t started_us, ke_stats **out, ke_error *err)
{
    ke_stats *s = calloc(1, sizeof *s);
    size_t i;

    *out = NULL;
    if (s == NULL)
        return ke_error_set(err, KE_ENOMEM, "stats: out of memory");
    s->started_us = started_us;
    for (i = 0; i < KE_STATS_SLOTS; i++)
        atomic_init(&s->slots[i], 0);
    *out = s;
    return KE_OK;
}

void ke_stats_free(ke_stats *s)
{
    free(s);
}

int64_t ke_stats_started(const ke_stats *s)
{
    return s->started_us;
}

/* The slot number of a time in seconds (times before 1970 do not occur). */
static int64_t slot_of(int64_t t_s)
{
    return t_s / KE_STATS_SLOT_SECONDS;
}

void ke_stats_count_at(ke_stats *s, int64_t now_s, uint32_t n)
{
    int64_t b = slot_of(now_s);
    _Atomic uint64_t *slot;
    uint64_t v, next;
    uint32_t tag = (uint32_t)b, c;

    if (s == NULL || n == 0 || b < 0)
        return;
    slot = &s->slots[b % KE_STATS_SLOTS];
    v = atomic_load_explicit(slot, memory_order_relaxed);
    do {
        if (TAG_OF(v) == tag) {
            c = COUNT_OF(v);
            c = c > UINT32_MAX - n ? UINT32_MAX : c + n; /* saturates: 400 M events a second */
            next = (v & ~(uint64_t)0xffffffffu) | c;
        } else if ((int32_t)(TAG_OF(v) - tag) > 0) {
            return; /* the slot already holds a later hour: this count is an hour late */
        } else {
            next = (uint64_t)tag << 32 | n;
        }
    } while (!atomic_compare_exchange_weak_explicit(slot, &v, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

void ke_stats_count(ke_stats *s, uint32_t n)
{
    struct timespec ts;

    if (s == NULL)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    ke_stats_count_at(s, (int64_t)ts.tv_sec, n);
}

void ke_stats_events(const ke_stats *s, int64_t now_s, int64_t first_s, int step_s, size_t n,
                     int64_t *out)
{
    int64_t now_b = slot_of(now_s), b, first_b, last_b;
    size_t i;
    uint64_t v;

    for (i = 0; i < n; i++)
        out[i] = 0;
    if (s == NULL || step_s <= 0 || n == 0)
        return;
    first_b = slot_of(first_s);
    last_b = slot_of(first_s + (int64_t)n * step_s) - 1;
    if (first_b < now_b - (KE_STATS_SLOTS - 1))
        first_b = now_b - (KE_STATS_SLOTS - 1);
    if (last_b > now_b)
        last_b = now_b;
    for (b = first_b < 0 ? 0 : first_b; b <= last_b; b++) {
        v = atomic_load_explicit(&s->slots[b % KE_STATS_SLOTS], memory_order_relaxed);
        if (TAG_OF(v) == (uint32_t)b)
            out[(b * KE_STATS_SLOT_SECONDS - first_s) / step_s] += COUNT_OF(v);
    }
}

int ke_stats_check(int *window, int *step, ke_error *err)
{
    if (*window == 0)
        *window = KE_STATS_DEFAULT_WINDOW;
    if (*step == 0) /* the default, or the slot when the default does not divide the window */
        *step =
            *window % KE_STATS_DEFAULT_STEP == 0 ? KE_STATS_DEFAULT_STEP : KE_STATS_SLOT_SECONDS;
    if (*window < KE_STATS_MIN_WINDOW || *window > KE_STATS_MAX_WINDOW)
        return ke_error_set(err, KE_EINVAL, "window_seconds %d: must be between %d and %d (0: %d)",
                            *window, KE_STATS_MIN_WINDOW, KE_STATS_MAX_WINDOW,
                            KE_STATS_DEFAULT_WINDOW);
    if (*step < KE_STATS_SLOT_SECONDS || *step > *window)
        return ke_error_set(err, KE_EINVAL,
                            "step_seconds %d: must be between %d and window_seconds (%d)", *step,
                            KE_STATS_SLOT_SECONDS, *window);
    if (*step % KE_STATS_SLOT_SECONDS != 0)
        return ke_error_set(err, KE_EINVAL, "step_seconds %d: must be a multiple of %d", *step,
                            KE_STATS_SLOT_SECONDS);
    if (*window % *step != 0)
        return ke_error_set(err, KE_EINVAL, "step_seconds %d: must divide window_seconds (%d)",
                            *step, *window);
    return KE_OK;
}
