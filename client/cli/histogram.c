/* histogram.c -- the latency histogram of `kedro-events bench`: fixed size, log-linear, so
 * percentiles of any number of samples come within 0.4% without storing them. */
#include <math.h>
#include <stdint.h>

#include "bench.h"

static unsigned hist_index(uint64_t v)
{
    unsigned msb, shift;

    if (v < 2 * SUB_COUNT)
        return (unsigned)v;
    msb = 63u - (unsigned)__builtin_clzll(v);
    shift = msb - SUB_BITS;
    return shift * SUB_COUNT + (unsigned)(v >> shift);
}

/* The middle of bucket i's range of values. */
static uint64_t hist_value(unsigned i)
{
    unsigned shift;
    uint64_t low;

    if (i < 2 * SUB_COUNT)
        return i;
    shift = i / SUB_COUNT - 1;
    low = (uint64_t)(i - shift * SUB_COUNT) << shift;
    return low + ((1ull << shift) >> 1);
}

void bench_hist_add(histogram *h, uint64_t v)
{
    h->counts[hist_index(v)]++;
    h->total++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

/* The value at quantile q (0..1]: the smallest bucket holding at least q of the samples. */
uint64_t bench_hist_quantile(const histogram *h, double q)
{
    uint64_t rank, seen = 0;
    unsigned i;

    if (h->total == 0)
        return 0;
    rank = (uint64_t)ceil(q * (double)h->total);
    if (rank < 1)
        rank = 1;
    for (i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return hist_value(i) < h->max ? hist_value(i) : h->max;
    }
    return h->max;
}
