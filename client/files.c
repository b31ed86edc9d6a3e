/* files.c -- reading a small file whole, bounded, optionally refusing one others may read
 * (kec_files.h). */
#include "kec_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kec_text.h"

/* KEC_OK when the file open at fd may be read: a regular file, and with KEC_FILE_PRIVATE one
 * that neither others nor its group may change or others read. */
static int check_file(int fd, const char *path, int flags, const char *what, kec_error *err)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return kec_error_set(err, KEC_EIO, "%s \"%s\": cannot stat: %s", what, path,
                             strerror(errno));
    if (!S_ISREG(st.st_mode))
        return kec_error_set(err, KEC_EINVAL, "%s \"%s\": not a regular file", what, path);
    if ((flags & KEC_FILE_PRIVATE) && (st.st_mode & (S_IRWXO | S_IWGRP)) != 0)
        return kec_error_set(err, KEC_EINVAL,
                             "%s \"%s\" is %s (mode %04o): run chmod 600 %s (or 640 for a "
                             "group that only reads it)",
                             what, path,
                             (st.st_mode & S_IRWXO) != 0 ? "readable or writable by others"
                                                         : "writable by its group",
                             (unsigned)(st.st_mode & 07777), path);
    return KEC_OK;
}

int kec_file_read(const char *path, size_t max, int flags, const char *what, char **out,
                  size_t *len, kec_error *err)
{
    char *buf = NULL;
    size_t n = 0;
    ssize_t r;
    int fd, rc;

    *out = NULL;
    *len = 0;
    /* O_NONBLOCK: a FIFO (or a device) given by mistake is refused below, not waited on */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return kec_error_set(err, KEC_EIO, "%s \"%s\": cannot open: %s", what, path,
                             strerror(errno));
    if ((rc = check_file(fd, path, flags, what, err)) != KEC_OK)
        goto out;
    if ((buf = malloc(max + 1)) == NULL) {
        rc = kec_error_set(err, KEC_ENOMEM, "%s \"%s\": out of memory reading it", what, path);
        goto out;
    }
    while (n <= max && (r = read(fd, buf + n, max + 1 - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = kec_error_set(err, KEC_EIO, "%s \"%s\": cannot read: %s", what, path,
                               strerror(errno));
            goto out;
        }
        n += (size_t)r;
    }
    if (n > max) {
        rc = kec_error_set(err, KEC_EINVAL, "%s \"%s\": larger than %zu bytes", what, path, max);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    if (buf != NULL) {
        explicit_bzero(buf, n < max + 1 ? n : max + 1);
        free(buf);
    }
    close(fd);
    return rc;
}
