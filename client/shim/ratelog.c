/* ratelog.c -- stderr lines that malformed requests cause, at most KES_LOG_PER_S a second, so
 * a flood of bad requests cannot flood the log (the rest are counted and reported). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "framing.h"
#include "kec_log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static time_t window = -1;       /* the second (CLOCK_MONOTONIC) being counted */
static unsigned written;         /* lines written in that second */
static unsigned long suppressed; /* lines dropped since the last report */

/* Writes the "suppressed" report (lock held). */
static void report(void)
{
    if (suppressed > 0)
        kec_log(KEC_LOG_WARNING, "%lu more log lines suppressed (at most %d a second)", suppressed,
                KES_LOG_PER_S);
    suppressed = 0;
}

void kes_vlog(const char *prefix, const char *fmt, va_list ap)
{
    struct timespec now;
    char line[512];
    size_t n;

    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&lock);
    if (now.tv_sec != window) {
        report();
        window = now.tv_sec;
        written = 0;
    }
    if (written >= KES_LOG_PER_S) {
        suppressed++;
    } else {
        written++;
        vsnprintf(line, sizeof line, fmt, ap);
        n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        kec_log(KEC_LOG_WARNING, "%s%s", prefix, line);
    }
    pthread_mutex_unlock(&lock);
}

void kes_log(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    kes_vlog("", fmt, ap);
    va_end(ap);
}

void kes_log_flush(void)
{
    pthread_mutex_lock(&lock);
    report();
    pthread_mutex_unlock(&lock);
}
