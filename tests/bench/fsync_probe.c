/* fsync_probe.c -- benchmark (not a test): the disk's fdatasync latency in a directory, as
 * SQLite's WAL pays it for a small commit: 8 KiB appended to a file, then fdatasync, N times.
 * The floor under any durable answer (tests/bench/compare.sh compares Dispatch's latency
 * with it).
 *
 *   fsync_probe [--json] DIR [N]      N appends (default 2000); the file is removed after
 *
 * Prints p50, p99, max and mean in milliseconds, on one line (or one JSON object). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 8192

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The q-quantile of n sorted values (nearest rank). */
static double quantile(const double *v, long n, double q)
{
    long i = (long)(q * (double)n + 0.999999);

    return v[i < 1 ? 0 : i > n ? n - 1 : i - 1];
}

int main(int argc, char **argv)
{
    static char chunk[CHUNK];
    char path[4096];
    const char *dir;
    double *lat, t, sum = 0;
    long n = 2000, i;
    int json = 0, a = 1, fd, rc = 1;

    if (a < argc && strcmp(argv[a], "--json") == 0) {
        json = 1;
        a++;
    }
    if (a >= argc || argc - a > 2 || (argc - a == 2 && (n = atol(argv[a + 1])) < 1)) {
        fprintf(stderr, "usage: fsync_probe [--json] DIR [N]\n");
        return 2;
    }
    dir = argv[a];
    snprintf(path, sizeof path, "%s/fsync_probe.%ld", dir, (long)getpid());
    lat = calloc((size_t)n, sizeof *lat);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0600);
    if (lat == NULL || fd < 0) {
        fprintf(stderr, "fsync_probe: %s: %s\n", path, strerror(errno));
        goto out;
    }
    memset(chunk, 'w', sizeof chunk);
    for (i = 0; i < n; i++) {
        t = now_ms();
        if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk || fdatasync(fd) != 0) {
            fprintf(stderr, "fsync_probe: %s: %s\n", path, strerror(errno));
            goto out;
        }
        lat[i] = now_ms() - t;
        sum += lat[i];
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    if (json)
        printf("{\"dir\":\"%s\",\"n\":%ld,\"chunk_bytes\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
               "\"max_ms\":%.3f,\"mean_ms\":%.3f}\n",
               dir, n, CHUNK, quantile(lat, n, 0.50), quantile(lat, n, 0.99), lat[n - 1],
               sum / (double)n);
    else
        printf("fdatasync after %d-byte appends, %ld times in %s: p50 %.3f ms  p99 %.3f ms  max "
               "%.3f ms  mean %.3f ms\n",
               CHUNK, n, dir, quantile(lat, n, 0.50), quantile(lat, n, 0.99), lat[n - 1],
               sum / (double)n);
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    free(lat);
    return rc;
}
