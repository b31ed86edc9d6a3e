/* stats.c -- GetStats's answer in the library: releasing it, and its JSON (the shim's GET
 * /stats, the CLI's --json). */
#include "kedroevents.h"

#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* A literal: its length known at compile time. */
#define RAW(o, lit) KEC_JSON_OUT_LIT(o, lit)

void kec_stats_release(kec_stats *s)
{
    if (s == NULL)
        return;
    free(s->buckets);
    memset(s, 0, sizeof *s);
}

/* ,"name":v (no comma when first). */
static void put_int(kec_json_out *o, const char *name, int64_t v, int first)
{
    kec_json_out_key(o, name, first);
    kec_json_out_int(o, (long long)v);
}

/* ,"name":t as RFC 3339, or null when t is unset (no comma when first). */
static void put_time(kec_json_out *o, const char *name, kec_time t, int first)
{
    kec_json_out_key(o, name, first);
    kec_json_out_time(o, &t);
}

char *kec_stats_to_json(const kec_stats *s)
{
    kec_json_out o = {0};
    size_t i;

    RAW(&o, "{");
    put_time(&o, "now", s->now, 1);
    put_int(&o, "window", s->window, 0);
    put_int(&o, "step", s->step, 0);
    put_time(&o, "events_since", s->events_since, 0);
    RAW(&o, ",\"buckets\":[");
    for (i = 0; i < s->count; i++) {
        const kec_stats_bucket *b = &s->buckets[i];

        if (i > 0)
            RAW(&o, ",");
        RAW(&o, "{");
        put_time(&o, "start", b->start, 1);
        put_int(&o, "events", b->events, 0);
        put_int(&o, "success", b->success, 0);
        put_int(&o, "failure", b->failure, 0);
        put_int(&o, "aborted", b->aborted, 0);
        RAW(&o, "}");
    }
    RAW(&o, "]");
    put_int(&o, "staged", s->staged, 0);
    put_int(&o, "ready", s->ready, 0);
    put_int(&o, "started", s->started, 0);
    RAW(&o, "}");
    return kec_json_out_take(&o, NULL);
}
