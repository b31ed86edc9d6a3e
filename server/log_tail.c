/* log_tail.c -- the end of a run's log as text, kept in its final status's error. */
#include "log_tail.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.h"

/* Replaces bytes that are not UTF-8, and NULs, by U+FFFD. Returns a malloc'd string or NULL. */
static char *utf8_clean(const char *s, size_t n)
{
    char *out = malloc(n * 3 + 1), *o = out;
    size_t i = 0;
    long bad;

    if (out == NULL)
        return NULL;
    while (i < n) {
        bad = kec_utf8_invalid_at(s + i, n - i);
        if (bad < 0)
            bad = (long)(n - i);
        for (; bad > 0; bad--, i++) {
            if (s[i] == '\0') {
                memcpy(o, "\xef\xbf\xbd", 3);
                o += 3;
            } else {
                *o++ = s[i];
            }
        }
        if (i < n) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    return out;
}

char *ke_log_tail(const char *path)
{
    char buf[KE_LOG_TAIL_BYTES];
    size_t start = 0, end, lines = 0, i;
    struct stat st;
    off_t off = 0;
    ssize_t got;
    int fd;

    if (path[0] == '\0')
        return NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && st.st_size > KE_LOG_TAIL_BYTES)
        off = st.st_size - KE_LOG_TAIL_BYTES;
    got = pread(fd, buf, sizeof buf, off);
    close(fd);
    if (got <= 0)
        return NULL;
    end = (size_t)got;
    while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r'))
        end--;
    /* Read from the middle of the file: skip the rest of a cut character. */
    while (off > 0 && start < end && start < 3 && ((unsigned char)buf[start] & 0xc0) == 0x80)
        start++;
    for (i = end; i > start && lines < KE_LOG_TAIL_LINES; i--) {
        if (buf[i - 1] == '\n')
            lines++;
    }
    if (lines == KE_LOG_TAIL_LINES)
        start = i + 1;
    if (start >= end)
        return NULL;
    return utf8_clean(buf + start, end - start);
}
