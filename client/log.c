/* log.c -- the daemons' stderr log (kec_log.h): text or JSON lines, each written whole. */
#include "kec_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kec_text.h"

static const char *log_program = "kedro-events";             /* the "PROGRAM: " of every line */
static kec_log_format log_format = KEC_LOG_TEXT;             /* --log-format */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER; /* one line at a time */

void kec_log_setup(const char *program, kec_log_format format)
{
    log_program = program;
    log_format = format;
}

int kec_log_format_parse(const char *name, kec_log_format *out)
{
    if (strcmp(name, "text") == 0)
        *out = KEC_LOG_TEXT;
    else if (strcmp(name, "json") == 0)
        *out = KEC_LOG_JSON;
    else
        return -1;
    return 0;
}

/* Writes line[0..len) to stderr in one write(2) when the kernel takes it whole (a pipe takes
 * up to PIPE_BUF at once; longer ones and short writes go on where they stopped), under the
 * lock so no other line of ours lands in between. Errors are dropped: there is nowhere else
 * to say them. */
static void write_line(const char *line, size_t len)
{
    ssize_t w;

    pthread_mutex_lock(&log_lock);
    while (len > 0) {
        w = write(STDERR_FILENO, line, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        line += w;
        len -= (size_t)w;
    }
    pthread_mutex_unlock(&log_lock);
}

/* The message of fmt as a new string (free() it), cut at KEC_LOG_MAX_MESSAGE bytes and without
 * trailing newlines; *cut set when it was cut. NULL when out of memory. */
static char *format_message(const char *fmt, va_list ap, int *cut)
{
    char small[1024], *msg;
    va_list ap2;
    size_t len;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    *cut = (size_t)n > KEC_LOG_MAX_MESSAGE;
    len = *cut ? KEC_LOG_MAX_MESSAGE : (size_t)n;
    msg = malloc(len + 1);
    if (msg == NULL)
        return NULL;
    if ((size_t)n < sizeof small)
        memcpy(msg, small, len + 1);
    else
        vsnprintf(msg, len + 1, fmt, ap);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    return msg;
}

/* s as valid UTF-8: each byte that does not start a valid sequence becomes U+FFFD. A new
 * string (free() it), or NULL when out of memory. */
static char *valid_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, o = 0, seq;
    char *out;

    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    out = malloc(3 * n + 1); /* a replaced byte takes 3 */
    if (out == NULL)
        return NULL;
    while (i < n) {
        seq = kec_utf8_seq(u, i, n);
        if (seq == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, seq);
            o += seq;
            i += seq;
        }
    }
    out[o] = '\0';
    return out;
}

/* Adds key: value (made valid UTF-8) to obj; 0, or -1 when out of memory. */
static int add_string(cJSON *obj, const char *key, const char *value)
{
    char *v = valid_utf8(value);
    cJSON *item = v != NULL ? cJSON_CreateString(v) : NULL;

    free(v);
    if (item == NULL)
        return -1;
    cJSON_AddItemToObject(obj, key, item);
    return 0;
}

/* The time now as RFC 3339 in UTC with microseconds, into buf (KEC_TIME_TEXT_MAX bytes). */
static void now_text(char *buf)
{
    struct timespec ts;
    kec_time t = {0};
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    t.seconds = ts.tv_sec;
    t.set = 1;
    kec_time_format(t, buf); /* "YYYY-MM-DDTHH:MM:SSZ": no fraction with nanos 0 */
    n = strlen(buf) - 1;     /* over the Z */
    snprintf(buf + n, KEC_TIME_TEXT_MAX - n, ".%06ldZ", (long)(ts.tv_nsec / 1000));
}

static const char *level_name(int level)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};

    level &= 0xff;
    return level >= 0 && level <= KEC_LOG_ERROR ? names[level] : "error";
}

/* The JSON line of a message (ending in a newline), as a new string; NULL when out of memory. */
static char *json_line(int level, const kec_log_field *fields, size_t n_fields, const char *msg,
                       int cut)
{
    char when[KEC_TIME_TEXT_MAX], *text = NULL, *line = NULL, *full = NULL;
    cJSON *obj = cJSON_CreateObject();
    size_t i, len;

    now_text(when);
    if (obj == NULL)
        goto out;
    if (cut && (full = malloc(strlen(msg) + 4)) != NULL)
        sprintf(full, "%s...", msg);
    if (add_string(obj, "time", when) != 0 || add_string(obj, "level", level_name(level)) != 0 ||
        add_string(obj, "program", log_program) != 0 ||
        add_string(obj, "message", full != NULL ? full : msg) != 0)
        goto out;
    for (i = 0; i < n_fields; i++)
        if (fields[i].value != NULL && add_string(obj, fields[i].key, fields[i].value) != 0)
            goto out;
    text = kec_json_print(obj);
    if (text == NULL)
        goto out;
    len = strlen(text);
    line = malloc(len + 2);
    if (line != NULL) {
        memcpy(line, text, len);
        memcpy(line + len, "\n", 2);
    }
out:
    free(text);
    free(full);
    cJSON_Delete(obj);
    return line;
}

/* What a line says when the real one cannot be built for want of memory. */
static void oom_line(int level)
{
    char when[KEC_TIME_TEXT_MAX], line[256];
    int n;

    now_text(when);
    if (log_format == KEC_LOG_TEXT)
        n = snprintf(line, sizeof line, "%s: out of memory writing a log line\n", log_program);
    else
        n = snprintf(line, sizeof line,
                     "{\"time\":\"%s\",\"level\":\"%s\",\"program\":\"%s\","
                     "\"message\":\"out of memory writing a log line\"}\n",
                     when, level_name(level), log_program);
    if (n > 0 && (size_t)n < sizeof line)
        write_line(line, (size_t)n);
}

void kec_logv(int level, const kec_log_field *fields, size_t n, const char *fmt, va_list ap)
{
    const char *tag = (level & KEC_LOG_SAY_WARNING) != 0 ? "warning: " : "";
    char *msg, *line;
    size_t len;
    int cut;

    msg = format_message(fmt, ap, &cut);
    if (msg == NULL) {
        oom_line(level);
        return;
    }
    if (log_format == KEC_LOG_JSON) {
        line = json_line(level, fields, n, msg, cut);
    } else {
        len = strlen(log_program) + 2 + strlen(tag) + strlen(msg) + 2;
        line = malloc(len);
        if (line != NULL)
            snprintf(line, len, "%s: %s%s\n", log_program, tag, msg);
    }
    if (line != NULL)
        write_line(line, strlen(line));
    else
        oom_line(level);
    free(line);
    free(msg);
}

void kec_log_fields(int level, const kec_log_field *fields, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    kec_logv(level, fields, n, fmt, ap);
    va_end(ap);
}

void kec_log(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    kec_logv(level, NULL, 0, fmt, ap);
    va_end(ap);
}
