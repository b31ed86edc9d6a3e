/* stats.h -- GetStats's count of events accepted as new: a ring of 10-second slots covering
 * the last hour, kept in memory (it starts at the server's start), incremented on the dispatch
 * path without a lock or an allocation; and the rules of a GetStats window and step. */
#ifndef KE_STATS_H
#define KE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define KE_STATS_SLOT_SECONDS 10     /* the ring's resolution: steps are multiples of it */
#define KE_STATS_SLOTS 361           /* an hour of slots, and the one being filled */
#define KE_STATS_MIN_WINDOW 60       /* the shortest window GetStats answers, seconds */
#define KE_STATS_MAX_WINDOW 3600     /* the longest: what the ring covers */
#define KE_STATS_DEFAULT_WINDOW 3600 /* window_seconds 0 */
#define KE_STATS_DEFAULT_STEP 60     /* step_seconds 0 */

typedef struct ke_stats ke_stats;

/* A ring that counts from started_us (microseconds since the epoch: when the server started),
 * all slots empty. *out is freed with ke_stats_free. KE_OK or KE_ENOMEM. */
int ke_stats_new(int64_t started_us, ke_stats **out, ke_error *err);

/* Frees s; NULL is fine. */
void ke_stats_free(ke_stats *s);

/* When s began counting (started_us of ke_stats_new). */
int64_t ke_stats_started(const ke_stats *s);

/* n events accepted as new now (the realtime clock); s NULL is fine. Lock-free, no allocation:
 * any thread. */
void ke_stats_count(ke_stats *s, uint32_t n);

/* The same at now_s seconds since the epoch (tests inject the clock). A count for a slot
 * older than the one its place in the ring holds now (an hour late) is dropped. */
void ke_stats_count_at(ke_stats *s, int64_t now_s, uint32_t n);

/* Sums the events of the n buckets of step_s seconds from first_s (a multiple of step_s, and
 * step_s of KE_STATS_SLOT_SECONDS) into out[0..n-1]: out[i] holds the slots in
 * [first_s + i * step_s, first_s + (i + 1) * step_s). Slots after now_s's, or older than the
 * KE_STATS_SLOTS slots up to now_s's, count 0. s NULL: all 0. Any thread. */
void ke_stats_events(const ke_stats *s, int64_t now_s, int64_t first_s, int step_s, size_t n,
                     int64_t *out);

/* Applies the defaults to *window and *step (0: KE_STATS_DEFAULT_WINDOW; 0: KE_STATS_DEFAULT_STEP,
 * or KE_STATS_SLOT_SECONDS when the default does not divide the window) and checks
 * them: window KE_STATS_MIN_WINDOW..KE_STATS_MAX_WINDOW, step 10..window, a multiple of
 * KE_STATS_SLOT_SECONDS dividing window. KE_OK, or KE_EINVAL with err naming the field
 * (window_seconds, step_seconds) and the rule. */
int ke_stats_check(int *window, int *step, ke_error *err);

#endif
