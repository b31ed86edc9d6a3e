/* store_dir.c -- the store's data directory: private modes (whatever the umask) and the lock
 * that keeps a second server off it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

#define PID_TEXT_MAX 32 /* bytes of the lock file read for the holder's pid */

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = d != NULL;

    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    if (d != NULL)
        closedir(d);
    return empty;
}

/* 1 when dir has no entry, or holds a file of ours: a dir we may tighten. */
static int dir_is_ours(const char *dir)
{
    static const char *const ours[] = {KE_STORE_DB_FILE, KE_STORE_LOCK_FILE};
    char path[PATH_MAX];
    size_t i;
    int n;

    for (i = 0; i < sizeof ours / sizeof ours[0]; i++) {
        n = snprintf(path, sizeof path, "%s/%s", dir, ours[i]);
        if (n > 0 && (size_t)n < sizeof path && access(path, F_OK) == 0)
            return 1;
    }
    return dir_is_empty(dir);
}

/* Creates dir KE_STORE_DIR_MODE, or tightens an existing one that is ours: owned by us, and
 * empty or holding our files (never, say, a home directory given by mistake). */
static int make_dir(const char *dir, ke_error *err)
{
    struct stat st;

    if (mkdir(dir, KE_STORE_DIR_MODE) == 0) {
        if (chmod(dir, KE_STORE_DIR_MODE) != 0) /* the umask may have taken bits: set them */
            goto fail;
        return KE_OK;
    }
    if (errno != EEXIST || stat(dir, &st) != 0)
        goto fail;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        goto fail;
    }
    if ((st.st_mode & 07777) != KE_STORE_DIR_MODE && st.st_uid == geteuid() && dir_is_ours(dir) &&
        chmod(dir, KE_STORE_DIR_MODE) != 0)
        goto fail;
    return KE_OK;
fail:
    return ke_error_set(err, KE_ESTORE, "store: cannot create data directory \"%s\": %s", dir,
                        strerror(errno));
}

/* Opens (creating) path KE_STORE_FILE_MODE, close-on-exec, and sets that mode on a file we
 * own that had another. Returns the fd or -1 (errno set). */
static int open_private(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, KE_STORE_FILE_MODE);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) == 0 && (st.st_mode & 07777) != KE_STORE_FILE_MODE &&
        st.st_uid == geteuid() && fchmod(fd, KE_STORE_FILE_MODE) != 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* The pid written in the lock file fd, or 0 when it cannot be read. */
static long holder_pid(int fd)
{
    char buf[PID_TEXT_MAX + 1];
    ssize_t n = pread(fd, buf, PID_TEXT_MAX, 0);
    char *end;
    long pid;

    if (n <= 0)
        return 0;
    buf[n] = '\0';
    pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

/* Takes the data dir's lock: flock on KE_STORE_LOCK_FILE, held until close (a dead holder's
 * lock goes with its last descriptor, so kill -9 does not block the next start). */
static int take_lock(ke_store *s, const char *dir, ke_error *err)
{
    char path[PATH_MAX], pid[PID_TEXT_MAX];
    long holder;
    int n, fd;

    n = snprintf(path, sizeof path, "%s/%s", dir, KE_STORE_LOCK_FILE);
    if (n < 0 || (size_t)n >= sizeof path)
        return ke_error_set(err, KE_EINVAL, "store: data directory \"%s\" is too long", dir);
    fd = open_private(path);
    if (fd < 0)
        return ke_error_set(err, KE_ESTORE, "store: cannot open lock file %s: %s", path,
                            strerror(errno));
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            n = ke_error_set(err, KE_ESTORE, "store: cannot lock %s: %s", path, strerror(errno));
            close(fd);
            return n;
        }
        holder = holder_pid(fd);
        close(fd);
        if (holder > 0)
            return ke_error_set(err, KE_EUNAVAIL,
                                "store: data directory \"%s\" is in use by another kedro-eventd "
                                "(pid %ld holds %s); stop it or use another --data-dir",
                                dir, holder, path);
        return ke_error_set(err, KE_EUNAVAIL,
                            "store: data directory \"%s\" is in use by another kedro-eventd (it "
                            "holds %s); stop it or use another --data-dir",
                            dir, path);
    }
    n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        n = ke_error_set(err, KE_ESTORE, "store: cannot write lock file %s: %s", path,
                         strerror(errno));
        close(fd);
        return n;
    }
    s->lock_fd = fd;
    return KE_OK;
}

int ke_store_dir_open(ke_store *s, const char *data_dir, ke_error *err)
{
    int rc = make_dir(data_dir, err), fd;

    if (rc == KE_OK)
        rc = take_lock(s, data_dir, err);
    if (rc != KE_OK)
        return rc;
    /* SQLite gives the WAL and SHM files the database's mode: make that one private first. */
    fd = open_private(s->path);
    if (fd < 0)
        return ke_error_set(err, KE_ESTORE, "store: cannot create %s: %s", s->path,
                            strerror(errno));
    close(fd);
    return KE_OK;
}

void ke_store_dir_tighten(const ke_store *s)
{
    static const char *const suffixes[] = {"-wal", "-shm"};
    char path[PATH_MAX];
    struct stat st;
    size_t i;
    int n;

    for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        n = snprintf(path, sizeof path, "%s%s", s->path, suffixes[i]);
        if (n > 0 && (size_t)n < sizeof path && lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            (st.st_mode & 07777) != KE_STORE_FILE_MODE && st.st_uid == geteuid())
            chmod(path, KE_STORE_FILE_MODE);
    }
}

void ke_store_dir_close(ke_store *s)
{
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    s->lock_fd = -1;
}
