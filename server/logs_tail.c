/* logs_tail.c -- where a log's last N lines begin, found by reading it backwards. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logs.h"

/* Reads len bytes at off into buf (short only at the end of the file). */
static int read_at(int fd, const char *path, char *buf, size_t len, off_t off, size_t *got,
                   ke_error *err)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ke_error_set(err, KE_EIO, "cannot read log \"%s\": %s", path, strerror(errno));
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return KE_OK;
}

int ke_logs_tail_offset(int fd, const char *path, off_t size, long lines, off_t *start,
                        ke_error *err)
{
    char *buf = NULL;
    off_t pos = size; /* bytes before pos are still to scan */
    long seen = 0;    /* newlines found that end a line we keep */
    int rc = KE_OK, first = 1;

    *start = 0;
    if (lines <= 0 || size <= 0)
        return KE_OK;
    buf = malloc(KE_LOGS_CHUNK);
    if (buf == NULL)
        return ke_error_set(err, KE_ENOMEM, "no memory to read log \"%s\"", path);
    while (pos > 0) {
        size_t len = pos > KE_LOGS_CHUNK ? KE_LOGS_CHUNK : (size_t)pos;
        size_t got = 0, i;

        rc = read_at(fd, path, buf, len, pos - (off_t)len, &got, err);
        if (rc != KE_OK)
            goto out;
        if (got < len) { /* the file shrank under us: keep it all */
            *start = 0;
            goto out;
        }
        i = len;
        /* The file's last byte, when a newline, ends the last line: it is not a boundary. */
        if (first && buf[len - 1] == '\n')
            i--;
        first = 0;
        while (i > 0) {
            if (buf[i - 1] == '\n' && ++seen == lines) {
                *start = pos - (off_t)len + (off_t)i;
                goto out;
            }
            i--;
        }
        pos -= (off_t)len;
    }
out:
    free(buf);
    return rc;
}
