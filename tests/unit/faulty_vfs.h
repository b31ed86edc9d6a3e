/* faulty_vfs.h -- for the store's fault tests: a SQLite VFS wrapping "unix" that fails the Nth
 * write, fsync, truncate or SHM extension (ENOSPC or EIO, once or from then on). Included by
 * one test file each (its functions are static); needs cmocka, pthread.h and sqlite3.h first. */
#ifndef KE_TEST_FAULTY_VFS_H
#define KE_TEST_FAULTY_VFS_H

#include <errno.h>

enum { OP_WRITE, OP_SYNC, OP_TRUNCATE, OP_SHM };
enum { ONCE, UNTIL_SPACE_RETURNS, THROUGH_CLOSE };

static struct {
    sqlite3_vfs vfs;      /* "faulty" */
    sqlite3_vfs *real;    /* "unix" */
    pthread_mutex_t lock; /* guards the members below */
    int armed;            /* counting and failing */
    long count;           /* write-like operations seen while armed */
    long nth;             /* the operation to fail (1-based) */
    int persist;          /* ONCE, or every operation from nth on */
    int os_errno;         /* ENOSPC or EIO */
    long hits;            /* operations failed */
} F;

typedef struct faulty_file {
    sqlite3_file base;  /* our methods */
    sqlite3_file *real; /* the unix file, right after this struct */
} faulty_file;

/* Counts one write-like operation; returns the SQLite code to fail it with, or SQLITE_OK. */
static int fault(int op)
{
    static const int io_codes[] = {SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC, SQLITE_IOERR_TRUNCATE,
                                   SQLITE_IOERR_SHMSIZE};
    int rc = SQLITE_OK;

    pthread_mutex_lock(&F.lock);
    if (F.armed) {
        F.count++;
        if (F.count == F.nth || (F.persist != ONCE && F.count > F.nth)) {
            F.hits++;
            /* What the unix VFS answers: a write that meets ENOSPC is SQLITE_FULL. */
            rc = op == OP_WRITE && F.os_errno == ENOSPC ? SQLITE_FULL : io_codes[op];
        }
    }
    pthread_mutex_unlock(&F.lock);
    if (rc != SQLITE_OK)
        errno = F.os_errno;
    return rc;
}

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((faulty_file *)f)->real;
}

static int f_close(sqlite3_file *f)
{
    return real_of(f)->pMethods->xClose(real_of(f));
}
static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return real_of(f)->pMethods->xRead(real_of(f), buf, n, off);
}
static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    int rc = fault(OP_WRITE);

    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xWrite(real_of(f), buf, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    int rc = fault(OP_TRUNCATE);

    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xTruncate(real_of(f), size);
}
static int f_sync(sqlite3_file *f, int flags)
{
    int rc = fault(OP_SYNC);

    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xSync(real_of(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
static int f_lock(sqlite3_file *f, int l)
{
    return real_of(f)->pMethods->xLock(real_of(f), l);
}
static int f_unlock(sqlite3_file *f, int l)
{
    return real_of(f)->pMethods->xUnlock(real_of(f), l);
}
static int f_reserved(sqlite3_file *f, int *out)
{
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
static int f_control(sqlite3_file *f, int op, void *arg)
{
    return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
static int f_sector(sqlite3_file *f)
{
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}
static int f_chars(sqlite3_file *f)
{
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    int rc = extend ? fault(OP_SHM) : SQLITE_OK;

    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xShmMap(real_of(f), pg, pgsz, extend, pp);
}
static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return real_of(f)->pMethods->xShmLock(real_of(f), off, n, flags);
}
static void f_shm_barrier(sqlite3_file *f)
{
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}
static int f_shm_unmap(sqlite3_file *f, int del)
{
    return real_of(f)->pMethods->xShmUnmap(real_of(f), del);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    return real_of(f)->pMethods->xFetch(real_of(f), off, n, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

static const sqlite3_io_methods faulty_methods = {
    3,          f_close,       f_read,      f_write,   f_truncate, f_sync,  f_size,
    f_lock,     f_unlock,      f_reserved,  f_control, f_sector,   f_chars, f_shm_map,
    f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch,   f_unfetch,
};

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
    faulty_file *ff = (faulty_file *)file;
    int rc;

    (void)vfs;
    ff->real = (sqlite3_file *)(ff + 1);
    rc = F.real->xOpen(F.real, name, ff->real, flags, out);
    file->pMethods = ff->real->pMethods != NULL ? &faulty_methods : NULL;
    return rc;
}
static int f_delete(sqlite3_vfs *v, const char *name, int sync)
{
    (void)v;
    return F.real->xDelete(F.real, name, sync);
}
static int f_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return F.real->xAccess(F.real, name, flags, out);
}
static int f_full(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return F.real->xFullPathname(F.real, name, n, out);
}
static int f_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return F.real->xRandomness(F.real, n, out);
}
static int f_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return F.real->xSleep(F.real, us);
}
static int f_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return F.real->xCurrentTime(F.real, out);
}
static int f_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return F.real->xGetLastError(F.real, n, out);
}
static int f_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return F.real->xCurrentTimeInt64(F.real, out);
}

static void faulty_register(void)
{
    F.real = sqlite3_vfs_find("unix");
    assert_non_null(F.real);
    pthread_mutex_init(&F.lock, NULL);
    F.vfs.iVersion = 2;
    F.vfs.szOsFile = (int)sizeof(faulty_file) + F.real->szOsFile;
    F.vfs.mxPathname = F.real->mxPathname;
    F.vfs.zName = "faulty";
    F.vfs.xOpen = f_open;
    F.vfs.xDelete = f_delete;
    F.vfs.xAccess = f_access;
    F.vfs.xFullPathname = f_full;
    F.vfs.xRandomness = f_random;
    F.vfs.xSleep = f_sleep;
    F.vfs.xCurrentTime = f_time;
    F.vfs.xGetLastError = f_last_error;
    F.vfs.xCurrentTimeInt64 = f_time64;
    assert_int_equal(sqlite3_vfs_register(&F.vfs, 0), SQLITE_OK);
}

static void faults_arm(long nth, int persist, int os_errno)
{
    pthread_mutex_lock(&F.lock);
    F.armed = 1;
    F.count = 0;
    F.hits = 0;
    F.nth = nth;
    F.persist = persist;
    F.os_errno = os_errno;
    pthread_mutex_unlock(&F.lock);
}

/* Space returns: nothing fails from now on. */
static void faults_disarm(void)
{
    pthread_mutex_lock(&F.lock);
    F.armed = 0;
    pthread_mutex_unlock(&F.lock);
}

static long faults_hits(void)
{
    long n;

    pthread_mutex_lock(&F.lock);
    n = F.hits;
    pthread_mutex_unlock(&F.lock);
    return n;
}

#endif
