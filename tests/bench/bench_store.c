/* bench_store.c -- benchmark (not a test): durable accepts per second through the store's
 * group commit, and filling a large READY backlog. Prints figures.
 *
 *   bench_store accept DATA_DIR N CONCURRENCY   N events, CONCURRENCY in flight
 *   bench_store fill DATA_DIR N                 N READY pipelines as fast as they go
 *   bench_store forward DATA_DIR BATCH          the store's side of forwarding every READY
 *                                               pipeline: takes of BATCH, each followed by the
 *                                               hand-over apply (kedro-graphql answering at
 *                                               once), then one pass of the mirror's list
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pipeline.h"
#include "store.h"

/* The requests in flight and their latencies. */
typedef struct bench {
    pthread_mutex_t lock; /* guards the rest */
    pthread_cond_t cond;  /* a request finished */
    size_t inflight;      /* queued, not yet answered */
    size_t done;          /* answered */
    size_t failed;        /* answered with an error */
    int64_t *lat_us;      /* latency of each, by index */
} bench;

typedef struct one {
    bench *b;      /* the run */
    size_t i;      /* its index */
    int64_t start; /* when it was queued (us) */
} one;

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_accepted(void *ctx, int rc, const ke_error *err, ke_pipeline *ps, size_t n,
                        int duplicate)
{
    one *o = ctx;
    bench *b = o->b;

    (void)duplicate;
    ke_pipelines_free(ps, n);
    pthread_mutex_lock(&b->lock);
    b->lat_us[o->i] = mono_us() - o->start;
    if (rc != KE_OK && b->failed++ == 0)
        fprintf(stderr, "bench_store: %s\n", err->msg);
    b->done++;
    b->inflight--;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
    free(o);
}

/* One READY pipeline shaped like a dispatched one (id, a ~300-byte event, 3 tags). */
static ke_pipeline *make_pipeline(size_t i)
{
    ke_pipeline *p = calloc(1, sizeof *p);
    char event[512], id[32];

    snprintf(id, sizeof id, "bench-%zu", i);
    snprintf(event, sizeof event,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"example.com\","
             "\"type\":\"com.example.event\",\"datacontenttype\":\"application/json\","
             "\"time\":\"2026-11-27T00:00:00.000000Z\",\"data\":{\"order\":%zu,\"items\":"
             "[\"a\",\"b\",\"c\"],\"note\":\"a benchmark event of about three hundred bytes\"}}",
             id, i);
    if (p == NULL || ke_pipeline_init(p, "event00", KE_STATE_READY) != KE_OK ||
        ke_pipeline_add_param(p, "id", p->id, "string") != KE_OK ||
        ke_pipeline_add_param(p, "event", event, "string") != KE_OK ||
        ke_pipeline_add_tag(p, "event_id", id) != KE_OK ||
        ke_pipeline_add_tag(p, "event_source", "example.com") != KE_OK ||
        ke_pipeline_add_tag(p, "event_type", "com.example.event") != KE_OK) {
        fprintf(stderr, "bench_store: out of memory\n");
        exit(1);
    }
    return p;
}

/* The store's side of forwarding, alone: how many forwards per second it leaves room for. */
static int bench_forward(const char *dir, size_t batch)
{
    ke_forward_item *it = NULL;
    ke_remote_update *u = calloc(batch, sizeof *u);
    ke_remote_ref *refs = NULL;
    char(*rid)[32] = calloc(batch, sizeof *rid);
    size_t n = 0, i, total = 0, takes = 0, listed = 0;
    long long after = 0;
    ke_store *s = NULL;
    int64_t t0, t1, t2;
    ke_error err;
    int rc = KE_OK;

    ke_error_clear(&err);
    if (u == NULL || rid == NULL || ke_store_open(dir, &s, &err) != KE_OK) {
        fprintf(stderr, "bench_store: %s\n", err.msg);
        return 1;
    }
    t0 = mono_us();
    while (rc == KE_OK && (rc = ke_store_take_forward(s, after, batch, &it, &n, &err)) == KE_OK &&
           n > 0) {
        for (i = 0; i < n; i++) {
            snprintf(rid[i], sizeof rid[i], "kg-%lld", it[i].seq);
            u[i].id = it[i].p.id;
            u[i].remote_id = rid[i];
            u[i].remote_json = "{\"kedro_graphql_version\":\"1.5.1\"}";
            u[i].st.state = KE_STATE_READY;
            u[i].st.runner = "kedro-graphql";
        }
        rc = ke_store_apply_remote(s, u, n, NULL, &err);
        after = it[n - 1].seq;
        total += n;
        takes++;
        ke_forward_items_free(it, n);
    }
    t1 = mono_us();
    after = 0;
    while (rc == KE_OK && (rc = ke_store_list_remote(s, after, 1000, &refs, &n, &err)) == KE_OK &&
           n > 0) {
        after = refs[n - 1].seq;
        listed += n;
        ke_remote_refs_free(refs, n);
    }
    t2 = mono_us();
    ke_store_close(s);
    free(u);
    free(rid);
    if (rc != KE_OK) {
        fprintf(stderr, "bench_store: %s\n", err.msg);
        return 1;
    }
    printf("forward: %zu pipelines taken and handed over in %zu takes of <= %zu in %.2f s = "
           "%.0f/s (two commits per take)\n",
           total, takes, batch, (double)(t1 - t0) / 1e6,
           (double)total * 1e6 / (double)(t1 - t0 + 1));
    printf("mirror list: %zu forwarded pipelines in %.3f s\n", listed, (double)(t2 - t1) / 1e6);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t n, concurrency, i;
    bench b = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    ke_store *s = NULL;
    char id[32], db[4096];
    int64_t t0, t1;
    struct stat st;
    ke_error err;
    int fill;

    if (argc == 4 && strcmp(argv[1], "forward") == 0 && strtoul(argv[3], NULL, 10) > 0)
        return bench_forward(argv[2], strtoul(argv[3], NULL, 10));
    if (argc < 4 || (strcmp(argv[1], "accept") != 0 && strcmp(argv[1], "fill") != 0) ||
        (strcmp(argv[1], "accept") == 0 && argc < 5)) {
        fprintf(stderr, "usage: bench_store accept DATA_DIR N CONCURRENCY | fill DATA_DIR N"
                        " | forward DATA_DIR BATCH\n");
        return 2;
    }
    fill = strcmp(argv[1], "fill") == 0;
    n = strtoul(argv[3], NULL, 10);
    concurrency = fill ? 4096 : strtoul(argv[4], NULL, 10);
    if (n == 0 || concurrency == 0) {
        fprintf(stderr, "bench_store: N and CONCURRENCY must be positive\n");
        return 2;
    }
    b.lat_us = calloc(n, sizeof *b.lat_us);
    ke_error_clear(&err);
    if (b.lat_us == NULL || ke_store_open(argv[2], &s, &err) != KE_OK) {
        fprintf(stderr, "bench_store: %s\n", err.msg);
        return 1;
    }
    t0 = mono_us();
    for (i = 0; i < n; i++) {
        one *o = malloc(sizeof *o);

        pthread_mutex_lock(&b.lock);
        while (b.inflight >= concurrency)
            pthread_cond_wait(&b.cond, &b.lock);
        b.inflight++;
        pthread_mutex_unlock(&b.lock);
        o->b = &b;
        o->i = i;
        o->start = mono_us();
        snprintf(id, sizeof id, "bench-%zu-%lld", i, (long long)t0);
        ke_store_accept_async(s, "example.com", id, make_pipeline(i), 1, on_accepted, o);
    }
    pthread_mutex_lock(&b.lock);
    while (b.done < n)
        pthread_cond_wait(&b.cond, &b.lock);
    pthread_mutex_unlock(&b.lock);
    t1 = mono_us();
    ke_store_close(s);
    qsort(b.lat_us, n, sizeof *b.lat_us, cmp_i64);
    printf("%s: %zu durable %s in %.2f s = %.0f/s (%zu in flight, %zu failed)\n", argv[1], n,
           fill ? "inserts" : "accepts", (double)(t1 - t0) / 1e6,
           (double)n * 1e6 / (double)(t1 - t0), concurrency, b.failed);
    printf("latency (queued -> committed): p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
           (double)b.lat_us[n / 2] / 1000, (double)b.lat_us[n * 99 / 100] / 1000,
           (double)b.lat_us[n - 1] / 1000);
    snprintf(db, sizeof db, "%s/kedro-events.db", argv[2]);
    if (stat(db, &st) == 0)
        printf("database %s: %.1f MiB\n", db, (double)st.st_size / (1 << 20));
    free(b.lat_us);
    return b.failed == 0 ? 0 : 1;
}
