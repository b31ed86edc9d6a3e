/* retention.c -- the --retain thread: periodic sweeps that remove old ended pipelines' files,
 * then their records, a small batch at a time (store_prune.c). */
#include "retention.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kec_log.h"
#include "store_prune.h"

#define US_PER_DAY 86400000000.0
#define TEMP_SUFFIX_LEN 7 /* runfile.c's temporaries: "<id>.yml" + ".XXXXXX" (mkstemp) */

struct ke_retention {
    ke_store *store;         /* the records */
    char *data_real;         /* the data dir, resolved (realpath) */
    int64_t retain_us;       /* --retain in microseconds */
    int64_t interval_ms;     /* between the starts of two sweeps */
    pthread_t thread;        /* the sweeper */
    int started;             /* thread must be joined */
    pthread_mutex_t lock;    /* guards stopping */
    pthread_cond_t cond;     /* stop() wakes the sweeper's pauses */
    int stopping;            /* stop() was called */
    atomic_ullong pipelines; /* pipelines removed since the start */
    atomic_ullong events;    /* event keys removed since the start */
    atomic_ullong sweeps;    /* sweeps completed */
};

/* What one sweep did. */
typedef struct sweep_totals {
    size_t pipelines; /* records removed */
    size_t events;    /* keys removed */
    size_t files;     /* files removed */
} sweep_totals;

/* ---- pausing */

/* Waits up to ms (monotonic clock) unless stopping. Returns 1 when stopping. */
static int pause_ms(ke_retention *r, int64_t ms)
{
    struct timespec ts;
    int stop;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&r->lock);
    while (!r->stopping && pthread_cond_timedwait(&r->cond, &r->lock, &ts) == 0)
        ;
    stop = r->stopping;
    pthread_mutex_unlock(&r->lock);
    return stop;
}

static int stopping(ke_retention *r)
{
    int stop;

    pthread_mutex_lock(&r->lock);
    stop = r->stopping;
    pthread_mutex_unlock(&r->lock);
    return stop;
}

/* ---- files */

/* A pipeline id as the server makes them (a UUID: hex digits and dashes), safe in a path. */
static int id_ok(const char *id)
{
    size_t i;

    for (i = 0; id[i] != '\0'; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f') ||
              (id[i] >= 'A' && id[i] <= 'F') || id[i] == '-'))
            return 0;
    return i > 0;
}

/* Removes path (a file, not a directory); 1 when it was there and is gone. */
static int remove_file(const char *path)
{
    if (unlink(path) == 0)
        return 1;
    if (errno != ENOENT)
        kec_log(KEC_LOG_ERROR, "retention: cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* Removes log_path when it lies inside the data dir: its directory, resolved, is the data dir
 * or below it, and it is not one of the store's own files. Symbolic links in its directory
 * are resolved first, so a link cannot take the removal outside. */
static int remove_log_path(const ke_retention *r, const char *log_path, const char *done)
{
    char dir[PATH_MAX], real[PATH_MAX], path[PATH_MAX * 2];
    const char *slash = strrchr(log_path, '/'), *base;
    size_t dlen = strlen(r->data_real);

    if (slash == NULL || (size_t)(slash - log_path) >= sizeof dir || strcmp(log_path, done) == 0)
        return 0;
    base = slash + 1;
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
        strncmp(base, "kedro-events.", 13) == 0)
        return 0;
    memcpy(dir, log_path, (size_t)(slash - log_path));
    dir[slash - log_path] = '\0';
    if (realpath(dir[0] != '\0' ? dir : "/", real) == NULL)
        return 0;
    if (strncmp(real, r->data_real, dlen) != 0 || (real[dlen] != '\0' && real[dlen] != '/'))
        return 0; /* outside the data dir: never ours to remove */
    snprintf(path, sizeof path, "%s/%s", real, base);
    return remove_file(path);
}

/* Removes a selected pipeline's files: its run file, its log, its recorded log path. Returns
 * how many were there. */
static size_t remove_files(const ke_retention *r, const ke_prune_item *it)
{
    char path[PATH_MAX + 64], log[PATH_MAX + 64];
    size_t n = 0;

    if (!id_ok(it->id))
        return 0;
    snprintf(path, sizeof path, "%s/runs/%s.yml", r->data_real, it->id);
    n += (size_t)remove_file(path);
    snprintf(log, sizeof log, "%s/logs/%s.log", r->data_real, it->id);
    n += (size_t)remove_file(log);
    if (it->log_path != NULL)
        n += (size_t)remove_log_path(r, it->log_path, log);
    return n;
}

/* Removes run file temporaries ("<id>.yml.XXXXXX", left by a crash while one was written)
 * older than the cut-off: one pass over runs/ a sweep. */
static size_t remove_stale_temporaries(const ke_retention *r, int64_t cutoff_us)
{
    char dir[PATH_MAX + 8], path[PATH_MAX * 2];
    struct dirent *e;
    struct stat st;
    size_t n = 0, len;
    DIR *d;

    snprintf(dir, sizeof dir, "%s/runs", r->data_real);
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        len = strlen(e->d_name);
        if (len != KE_ID_LEN + 4 + TEMP_SUFFIX_LEN || strncmp(e->d_name + KE_ID_LEN, ".yml.", 5))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            (int64_t)st.st_mtime * 1000000 < cutoff_us)
            n += (size_t)remove_file(path);
    }
    closedir(d);
    return n;
}

/* ---- sweeps */

/* One batch: select, remove the files, then the records. *more is set while work is left.
 * Returns KE_OK or the store's error (err). */
static int batch(ke_retention *r, int64_t cutoff_us, ke_prune_cursor *cur, int *events_left,
                 sweep_totals *t, int *more, ke_error *err)
{
    ke_prune_item *items = NULL;
    ke_prune_counts c;
    size_t n = 0, i;
    int rc;

    rc = ke_store_prune_select(r->store, cutoff_us, cur, KE_RETENTION_BATCH, &items, &n, err);
    for (i = 0; rc == KE_OK && i < n; i++)
        t->files += remove_files(r, &items[i]);
    if (rc == KE_OK)
        rc = ke_store_prune(r->store, cutoff_us, items, n, *events_left ? KE_RETENTION_BATCH : 0,
                            &c, err);
    ke_prune_items_free(items, n);
    if (rc != KE_OK)
        return rc;
    t->pipelines += c.pipelines;
    t->events += c.events;
    atomic_fetch_add(&r->pipelines, c.pipelines);
    atomic_fetch_add(&r->events, c.events);
    *events_left = *events_left && c.unmatched == KE_RETENTION_BATCH;
    *more = !cur->done || *events_left;
    return KE_OK;
}

static void sweep(ke_retention *r)
{
    int64_t cutoff_us = ke_now_us() - r->retain_us;
    ke_prune_cursor cur = {0, 0, 0};
    sweep_totals t = {0, 0, 0};
    int more = 1, events_left = 1, rc = KE_OK;
    ke_error err;

    ke_error_clear(&err);
    while (more && rc == KE_OK && !stopping(r)) {
        rc = batch(r, cutoff_us, &cur, &events_left, &t, &more, &err);
        if (rc == KE_OK && more && pause_ms(r, KE_RETENTION_PAUSE_MS))
            break;
    }
    if (rc != KE_OK)
        kec_log(KEC_LOG_ERROR, "retention: sweep stopped: %s (tried again next sweep)", err.msg);
    t.files += remove_stale_temporaries(r, cutoff_us);
    atomic_fetch_add(&r->sweeps, 1);
    if (t.pipelines > 0 || t.events > 0 || t.files > 0)
        kec_log(KEC_LOG_INFO,
                "retention: removed %zu pipeline(s), %zu file(s) and %zu event "
                "key(s) older than %.6g day(s)",
                t.pipelines, t.files, t.events, (double)r->retain_us / US_PER_DAY);
}

static void *sweeper_main(void *arg)
{
    ke_retention *r = arg;

    do
        sweep(r);
    while (!pause_ms(r, r->interval_ms));
    return NULL;
}

/* ---- public */

int ke_retention_start(ke_store *store, const char *data_dir, double days, ke_retention **out,
                       ke_error *err)
{
    ke_retention *r;
    pthread_condattr_t ca;
    double interval_ms;

    *out = NULL;
    if (!isfinite(days) || days <= 0 || days > KE_RETAIN_MAX_DAYS)
        return ke_error_set(err, KE_EINVAL, "--retain %g: must be more than 0 and at most %d days",
                            days, KE_RETAIN_MAX_DAYS);
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return ke_error_set(err, KE_ENOMEM, "retention: out of memory");
    r->data_real = realpath(data_dir, NULL);
    if (r->data_real == NULL) {
        int e = errno;

        free(r);
        return ke_error_set(err, KE_EIO, "retention: data dir \"%s\": %s", data_dir, strerror(e));
    }
    r->store = store;
    r->retain_us = (int64_t)(days * US_PER_DAY);
    interval_ms = days * 86400000.0 / 24;
    r->interval_ms = interval_ms < KE_RETENTION_MIN_INTERVAL_MS   ? KE_RETENTION_MIN_INTERVAL_MS
                     : interval_ms > KE_RETENTION_MAX_INTERVAL_MS ? KE_RETENTION_MAX_INTERVAL_MS
                                                                  : (int64_t)interval_ms;
    atomic_init(&r->pipelines, 0);
    atomic_init(&r->events, 0);
    atomic_init(&r->sweeps, 0);
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, sweeper_main, r) != 0) {
        ke_retention_stop(r);
        return ke_error_set(err, KE_ENOMEM, "retention: cannot start its thread");
    }
    r->started = 1;
    *out = r;
    return KE_OK;
}

void ke_retention_stats(ke_retention *r, uint64_t *pipelines_removed, uint64_t *events_removed,
                        uint64_t *sweeps)
{
    if (pipelines_removed != NULL)
        *pipelines_removed = r != NULL ? atomic_load(&r->pipelines) : 0;
    if (events_removed != NULL)
        *events_removed = r != NULL ? atomic_load(&r->events) : 0;
    if (sweeps != NULL)
        *sweeps = r != NULL ? atomic_load(&r->sweeps) : 0;
}

void ke_retention_stop(ke_retention *r)
{
    if (r == NULL)
        return;
    if (r->started) {
        pthread_mutex_lock(&r->lock);
        r->stopping = 1;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r->data_real);
    free(r);
}
