/* metrics.c -- the metrics registry (kec_metrics.h): families of atomically updated series in
 * lock-free hash tables, rendered in the Prometheus text exposition format 0.0.4. */
#include "kec_metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct kec_series {
    _Atomic uint64_t value;    /* counter: the count; gauge: the double's bits */
    _Atomic uint64_t count;    /* histogram: observations */
    _Atomic uint64_t sum;      /* histogram: the sum's double bits */
    _Atomic uint64_t *buckets; /* histogram: n_bounds + 1 non-cumulative counts (last: +Inf) */
    const kec_family *f;       /* its family */
    unsigned long hash;        /* of its label values */
    char *values[KEC_METRICS_MAX_LABELS]; /* label values, owned */
};

/* An open-addressing table of series; replaced by a larger one as it fills (readers holding
 * the old one still find what it held; a miss is re-checked under the lock). */
typedef struct table {
    size_t mask;                 /* capacity - 1 (a power of two) */
    _Atomic(kec_series *) *slot; /* NULL: empty */
    struct table *retired;       /* the table this one replaced (freed with the family) */
} table;

struct kec_family {
    kec_metric_type type;                 /* counter, gauge or histogram */
    char *name;                           /* metric name */
    char *help;                           /* HELP text */
    size_t n_labels;                      /* label names */
    char *labels[KEC_METRICS_MAX_LABELS]; /* label names, owned */
    size_t max_series;                    /* series kec_series_get may create */
    double *bounds;                       /* histogram upper bounds */
    size_t n_bounds;                      /* their number */
    pthread_mutex_t lock;                 /* guards creation, order and the table's growth */
    _Atomic(table *) tab;                 /* the current table */
    size_t n_tab;                         /* series in the table */
    kec_series **order;                   /* series in creation order (for rendering) */
    size_t n_order;                       /* their number */
    size_t cap_order;                     /* order's capacity */
    size_t n_free;                        /* created by kec_series_get */
    size_t n_reserved;                    /* created by kec_series_reserve */
    kec_series *overflow;                 /* the overflow series, once needed */
    struct kec_family *next;              /* next family of the registry */
};

typedef struct collector {
    kec_collect_fn fn;      /* called before each render */
    void *ctx;              /* its context */
    struct collector *next; /* next one */
} collector;

struct kec_metrics {
    pthread_mutex_t lock;  /* guards the family list */
    kec_family *first;     /* families in the order added */
    kec_family *last;      /* the last one */
    collector *collectors; /* in the order added */
    kec_family *proc_rss;  /* process_resident_memory_bytes, when added */
    kec_family *proc_fds;  /* process_open_fds, when added */
};

const double kec_metrics_latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t kec_metrics_latency_n =
    sizeof kec_metrics_latency_bounds / sizeof kec_metrics_latency_bounds[0];

/* ---- names, tables, series */

static int is_name(const char *s, int colon)
{
    size_t i;

    if (s == NULL || s[0] == '\0')
        return 0;
    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');

        if (!ok)
            return 0;
    }
    return 1;
}

static const char *value_or_empty(const char *const *values, size_t i)
{
    return values != NULL && values[i] != NULL ? values[i] : "";
}

/* The length of v kept: at most KEC_METRICS_LABEL_MAX bytes, not cutting a UTF-8 sequence. */
static size_t kept_len(const char *v)
{
    size_t n = strlen(v);

    if (n <= KEC_METRICS_LABEL_MAX)
        return n;
    n = KEC_METRICS_LABEL_MAX;
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static unsigned long hash_values(const kec_family *f, const char *const *values)
{
    unsigned long h = 14695981039346656037ul;
    size_t i, j, n;

    for (i = 0; i < f->n_labels; i++) {
        const char *v = value_or_empty(values, i);

        n = kept_len(v);
        for (j = 0; j < n; j++)
            h = (h ^ (unsigned char)v[j]) * 1099511628211ul;
        h = (h ^ 0xff) * 1099511628211ul;
    }
    return h;
}

static int same_values(const kec_series *s, const char *const *values)
{
    size_t i;

    for (i = 0; i < s->f->n_labels; i++) {
        const char *v = value_or_empty(values, i);
        size_t n = kept_len(v);

        if (strncmp(s->values[i], v, n) != 0 || s->values[i][n] != '\0')
            return 0;
    }
    return 1;
}

/* Lock-free lookup in t; NULL when absent. */
static kec_series *table_find(const table *t, unsigned long h, const char *const *values)
{
    size_t i = h & t->mask;
    kec_series *s;

    for (;;) {
        s = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (s == NULL)
            return NULL;
        if (s->hash == h && same_values(s, values))
            return s;
        i = (i + 1) & t->mask;
    }
}

static void table_put(table *t, kec_series *s)
{
    size_t i = s->hash & t->mask;

    while (atomic_load_explicit(&t->slot[i], memory_order_relaxed) != NULL)
        i = (i + 1) & t->mask;
    atomic_store_explicit(&t->slot[i], s, memory_order_release);
}

static table *table_new(size_t cap)
{
    table *t = calloc(1, sizeof *t);

    if (t == NULL)
        return NULL;
    t->slot = calloc(cap, sizeof *t->slot);
    if (t->slot == NULL) {
        free(t);
        return NULL;
    }
    t->mask = cap - 1;
    return t;
}

static void table_free_all(table *t)
{
    while (t != NULL) {
        table *older = t->retired;

        free(t->slot);
        free(t);
        t = older;
    }
}

static void series_free(kec_series *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < KEC_METRICS_MAX_LABELS; i++)
        free(s->values[i]);
    free(s->buckets);
    free(s);
}

static kec_series *series_new(const kec_family *f, unsigned long h, const char *const *values)
{
    kec_series *s = calloc(1, sizeof *s);
    size_t i;

    if (s == NULL)
        return NULL;
    s->f = f;
    s->hash = h;
    for (i = 0; i < f->n_labels; i++) {
        const char *v = value_or_empty(values, i);

        s->values[i] = strndup(v, kept_len(v));
        if (s->values[i] == NULL)
            goto fail;
    }
    if (f->type == KEC_HISTOGRAM) {
        s->buckets = calloc(f->n_bounds + 1, sizeof *s->buckets);
        if (s->buckets == NULL)
            goto fail;
    }
    return s;
fail:
    series_free(s);
    return NULL;
}

/* Adds s to f (lock held): into the table (grown to keep it at most half full) and the order. */
static int family_add(kec_family *f, kec_series *s)
{
    table *t = atomic_load_explicit(&f->tab, memory_order_relaxed);
    size_t i;

    if (f->n_order == f->cap_order) {
        size_t cap = f->cap_order ? f->cap_order * 2 : 16;
        kec_series **grown = realloc(f->order, cap * sizeof *grown);

        if (grown == NULL)
            return -1;
        f->order = grown;
        f->cap_order = cap;
    }
    if ((f->n_tab + 1) * 2 > t->mask + 1) {
        table *bigger = table_new((t->mask + 1) * 2);

        if (bigger == NULL)
            return -1;
        for (i = 0; i <= t->mask; i++) {
            kec_series *old = atomic_load_explicit(&t->slot[i], memory_order_relaxed);

            if (old != NULL)
                table_put(bigger, old);
        }
        bigger->retired = t;
        atomic_store_explicit(&f->tab, bigger, memory_order_release);
        t = bigger;
    }
    table_put(t, s);
    f->n_tab++;
    f->order[f->n_order++] = s;
    return 0;
}

/* The overflow series (lock held), created on first need. */
static kec_series *overflow_series(kec_family *f)
{
    const char *values[KEC_METRICS_MAX_LABELS];
    size_t i;

    if (f->overflow != NULL)
        return f->overflow;
    for (i = 0; i < f->n_labels; i++)
        values[i] = KEC_METRICS_OVERFLOW;
    f->overflow = series_new(f, 0, values);
    if (f->overflow != NULL && f->n_order == f->cap_order) {
        /* rendered like the others: kept in the order, not in the table */
        size_t cap = f->cap_order ? f->cap_order * 2 : 16;
        kec_series **grown = realloc(f->order, cap * sizeof *grown);

        if (grown == NULL) {
            series_free(f->overflow);
            f->overflow = NULL;
            return NULL;
        }
        f->order = grown;
        f->cap_order = cap;
    }
    if (f->overflow != NULL)
        f->order[f->n_order++] = f->overflow;
    return f->overflow;
}

static kec_series *series_lookup(kec_family *f, const char *const *values, int reserve)
{
    unsigned long h;
    kec_series *s;

    if (f == NULL)
        return NULL;
    h = hash_values(f, values);
    s = table_find(atomic_load_explicit(&f->tab, memory_order_acquire), h, values);
    if (s != NULL)
        return s;
    pthread_mutex_lock(&f->lock);
    s = table_find(atomic_load_explicit(&f->tab, memory_order_relaxed), h, values);
    if (s == NULL) {
        size_t *used = reserve ? &f->n_reserved : &f->n_free;
        size_t bound = reserve ? KEC_METRICS_MAX_RESERVED : f->max_series;

        if (*used >= bound) {
            s = overflow_series(f);
        } else {
            s = series_new(f, h, values);
            if (s != NULL && family_add(f, s) != 0) {
                series_free(s);
                s = NULL;
            }
            if (s != NULL)
                (*used)++;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return s;
}

kec_series *kec_series_get(kec_family *f, const char *const *values)
{
    return series_lookup(f, values, 0);
}

kec_series *kec_series_reserve(kec_family *f, const char *const *values)
{
    return series_lookup(f, values, 1);
}

/* ---- updates */

static double bits_to_double(uint64_t b)
{
    double d;

    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t b;

    memcpy(&b, &d, sizeof b);
    return b;
}

static void atomic_add_double(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);

    while (!atomic_compare_exchange_weak_explicit(a, &old, double_to_bits(bits_to_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void kec_counter_add(kec_series *s, uint64_t n)
{
    if (s != NULL)
        atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void kec_gauge_set(kec_series *s, double v)
{
    if (s != NULL)
        atomic_store_explicit(&s->value, double_to_bits(v), memory_order_relaxed);
}

void kec_gauge_add(kec_series *s, double v)
{
    if (s != NULL)
        atomic_add_double(&s->value, v);
}

void kec_histogram_observe(kec_series *s, double v)
{
    size_t i = 0;

    if (s == NULL || s->buckets == NULL)
        return;
    while (i < s->f->n_bounds && !(v <= s->f->bounds[i]))
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&s->sum, v);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

double kec_series_value(const kec_series *s)
{
    uint64_t b;

    if (s == NULL)
        return 0;
    b = atomic_load_explicit(&((kec_series *)s)->value, memory_order_relaxed);
    return s->f->type == KEC_COUNTER ? (double)b : bits_to_double(b);
}

/* ---- the registry */

kec_metrics *kec_metrics_new(void)
{
    kec_metrics *m = calloc(1, sizeof *m);

    if (m != NULL)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void family_free(kec_family *f)
{
    size_t i;

    for (i = 0; i < f->n_order; i++)
        series_free(f->order[i]);
    free(f->order);
    table_free_all(atomic_load(&f->tab));
    for (i = 0; i < KEC_METRICS_MAX_LABELS; i++)
        free(f->labels[i]);
    free(f->bounds);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void kec_metrics_free(kec_metrics *m)
{
    if (m == NULL)
        return;
    while (m->first != NULL) {
        kec_family *next = m->first->next;

        family_free(m->first);
        m->first = next;
    }
    while (m->collectors != NULL) {
        collector *next = m->collectors->next;

        free(m->collectors);
        m->collectors = next;
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int family_args_ok(kec_metric_type type, const char *name, size_t n_labels,
                          const char *const *labels, size_t max_series, const double *bounds,
                          size_t n_bounds)
{
    size_t i;

    if (!is_name(name, 1) || n_labels > KEC_METRICS_MAX_LABELS || max_series == 0)
        return 0;
    for (i = 0; i < n_labels; i++)
        if (!is_name(labels[i], 0) || (type == KEC_HISTOGRAM && strcmp(labels[i], "le") == 0))
            return 0;
    if (type != KEC_HISTOGRAM)
        return bounds == NULL && n_bounds == 0;
    if (n_bounds == 0 || n_bounds > KEC_METRICS_MAX_BUCKETS)
        return 0;
    for (i = 0; i < n_bounds; i++)
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
            return 0;
    return 1;
}

kec_family *kec_metrics_family(kec_metrics *m, kec_metric_type type, const char *name,
                               const char *help, size_t n_labels, const char *const *labels,
                               size_t max_series, const double *bounds, size_t n_bounds)
{
    kec_family *f;
    size_t i;
    int ok;

    if (m == NULL || !family_args_ok(type, name, n_labels, labels, max_series, bounds, n_bounds))
        return NULL;
    f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->type = type;
    f->n_labels = n_labels;
    f->max_series = max_series;
    f->name = strdup(name);
    f->help = strdup(help != NULL ? help : "");
    atomic_init(&f->tab, table_new(16));
    ok = f->name != NULL && f->help != NULL && atomic_load(&f->tab) != NULL;
    for (i = 0; ok && i < n_labels; i++)
        ok = (f->labels[i] = strdup(labels[i])) != NULL;
    if (ok && n_bounds > 0) {
        f->bounds = malloc(n_bounds * sizeof *f->bounds);
        ok = f->bounds != NULL;
        if (ok)
            memcpy(f->bounds, bounds, n_bounds * sizeof *f->bounds);
        f->n_bounds = n_bounds;
    }
    if (!ok) {
        family_free(f);
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    if (m->last != NULL)
        m->last->next = f;
    else
        m->first = f;
    m->last = f;
    pthread_mutex_unlock(&m->lock);
    return f;
}

int kec_metrics_on_collect(kec_metrics *m, kec_collect_fn fn, void *ctx)
{
    collector *c = calloc(1, sizeof *c), **at;

    if (c == NULL)
        return -1;
    c->fn = fn;
    c->ctx = ctx;
    for (at = &m->collectors; *at != NULL; at = &(*at)->next)
        ;
    *at = c;
    return 0;
}

/* ---- rendering */

typedef struct buf {
    char *p;    /* text so far */
    size_t n;   /* its length */
    size_t cap; /* allocated */
    int failed; /* out of memory */
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *grown;

        while (b->n + n + 1 > cap)
            cap *= 2;
        grown = realloc(b->p, cap);
        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* s with '\\' and '\n' escaped, and '"' too in label values. */
static void put_escaped(buf *b, const char *s, int quote)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *esc = *s == '\\'           ? "\\\\"
                          : *s == '\n'         ? "\\n"
                          : quote && *s == '"' ? "\\\""
                                               : NULL;

        if (esc == NULL)
            continue;
        put(b, run, (size_t)(s - run));
        puts_(b, esc);
        run = s + 1;
    }
    put(b, run, (size_t)(s - run));
}

/* A sample value: the shortest of %.15g/%.17g that reads back the same; Go-style Inf/NaN. */
static void put_number(buf *b, double v)
{
    char text[40];

    if (isnan(v))
        snprintf(text, sizeof text, "NaN");
    else if (isinf(v))
        snprintf(text, sizeof text, "%s", v > 0 ? "+Inf" : "-Inf");
    else {
        snprintf(text, sizeof text, "%.15g", v);
        if (strtod(text, NULL) != v)
            snprintf(text, sizeof text, "%.17g", v);
    }
    puts_(b, text);
}

static void put_u64(buf *b, uint64_t v)
{
    char text[24];

    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    puts_(b, text);
}

/* name{l1="v1",...,extra} -- extra (e.g. le="0.1") may be NULL. */
static void put_name_labels(buf *b, const kec_family *f, const char *suffix, const kec_series *s,
                            const char *extra)
{
    size_t i;

    puts_(b, f->name);
    puts_(b, suffix);
    if (f->n_labels == 0 && extra == NULL)
        return;
    puts_(b, "{");
    for (i = 0; i < f->n_labels; i++) {
        puts_(b, i > 0 ? "," : "");
        puts_(b, f->labels[i]);
        puts_(b, "=\"");
        put_escaped(b, s->values[i], 1);
        puts_(b, "\"");
    }
    if (extra != NULL) {
        puts_(b, f->n_labels > 0 ? "," : "");
        puts_(b, extra);
    }
    puts_(b, "}");
}

static void render_histogram(buf *b, const kec_family *f, kec_series *s)
{
    uint64_t cum = 0;
    char le[64];
    size_t i;
    buf num = {0};

    for (i = 0; i <= f->n_bounds; i++) {
        cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < f->n_bounds) {
            num.n = 0;
            put_number(&num, f->bounds[i]);
            snprintf(le, sizeof le, "le=\"%s\"", num.failed ? "0" : num.p);
        } else {
            snprintf(le, sizeof le, "le=\"+Inf\"");
        }
        put_name_labels(b, f, "_bucket", s, le);
        puts_(b, " ");
        put_u64(b, cum);
        puts_(b, "\n");
    }
    free(num.p);
    put_name_labels(b, f, "_sum", s, NULL);
    puts_(b, " ");
    put_number(b, bits_to_double(atomic_load_explicit(&s->sum, memory_order_relaxed)));
    puts_(b, "\n");
    put_name_labels(b, f, "_count", s, NULL);
    puts_(b, " ");
    /* never below the last bucket, which was read first */
    put_u64(b, cum);
    puts_(b, "\n");
}

static void render_family(buf *b, kec_family *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    size_t i;

    puts_(b, "# HELP ");
    puts_(b, f->name);
    puts_(b, " ");
    put_escaped(b, f->help, 0);
    puts_(b, "\n# TYPE ");
    puts_(b, f->name);
    puts_(b, " ");
    puts_(b, type_names[f->type]);
    puts_(b, "\n");
    pthread_mutex_lock(&f->lock);
    for (i = 0; i < f->n_order; i++) {
        kec_series *s = f->order[i];

        if (f->type == KEC_HISTOGRAM) {
            render_histogram(b, f, s);
            continue;
        }
        put_name_labels(b, f, "", s, NULL);
        puts_(b, " ");
        if (f->type == KEC_COUNTER)
            put_u64(b, atomic_load_explicit(&s->value, memory_order_relaxed));
        else
            put_number(b, bits_to_double(atomic_load_explicit(&s->value, memory_order_relaxed)));
        puts_(b, "\n");
    }
    pthread_mutex_unlock(&f->lock);
}

char *kec_metrics_render(kec_metrics *m, size_t *len)
{
    buf b = {0};
    collector *c;
    kec_family *f;

    for (c = m->collectors; c != NULL; c = c->next)
        c->fn(c->ctx);
    put(&b, "", 0);
    pthread_mutex_lock(&m->lock);
    for (f = m->first; f != NULL; f = f->next)
        render_family(&b, f);
    pthread_mutex_unlock(&m->lock);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.n;
    return b.p;
}

/* ---- process metrics and clocks */

static void collect_process(void *ctx)
{
    kec_metrics *m = ctx;
    long pages = 0, resident = 0;
    struct dirent *e;
    FILE *statm;
    DIR *d;
    double fds = 0;

    statm = fopen("/proc/self/statm", "r");
    if (statm != NULL) {
        if (fscanf(statm, "%ld %ld", &pages, &resident) == 2)
            kec_gauge_set(kec_series_get(m->proc_rss, NULL),
                          (double)resident * (double)sysconf(_SC_PAGESIZE));
        fclose(statm);
    }
    d = opendir("/proc/self/fd");
    if (d != NULL) {
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                fds++;
        closedir(d);
        kec_gauge_set(kec_series_get(m->proc_fds, NULL), fds - 1); /* not the one reading */
    }
}

int kec_metrics_add_process(kec_metrics *m, double start_time)
{
    kec_family *start;

    start = kec_metrics_family(m, KEC_GAUGE, "process_start_time_seconds",
                               "Start time of the process since unix epoch in seconds.", 0, NULL, 1,
                               NULL, 0);
    m->proc_rss = kec_metrics_family(m, KEC_GAUGE, "process_resident_memory_bytes",
                                     "Resident memory size in bytes.", 0, NULL, 1, NULL, 0);
    m->proc_fds = kec_metrics_family(m, KEC_GAUGE, "process_open_fds",
                                     "Number of open file descriptors.", 0, NULL, 1, NULL, 0);
    if (start == NULL || m->proc_rss == NULL || m->proc_fds == NULL)
        return -1;
    kec_gauge_set(kec_series_get(start, NULL), start_time);
    return kec_metrics_on_collect(m, collect_process, m);
}

double kec_metrics_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double kec_metrics_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
