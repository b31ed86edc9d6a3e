/* test_logs.c -- unit tests of the log reader (server/logs.c, logs_tail.c): where the last N
 * lines begin, a whole or tailed log of an ended run, and following a run's log through its
 * creation, its writes and the end the change feed reports, with back-pressure and cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logs.h"
#include "pipeline.h"
#include "store.h"
#include "store_dirs.h"

#define WAIT_LIMIT_S 10 /* a hang guard, not a speed check: the hub answers in microseconds */

/* A sink that keeps what it gets. */
typedef struct collect {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *data;      /* bytes received, in order */
    size_t len, cap; /* used, allocated */
    size_t chunks;   /* chunk calls */
    size_t biggest;  /* largest chunk */
    int room;        /* what ready() answers */
    int stop_after;  /* chunk() answers non-zero on this call (1-based); 0: never */
    int done;        /* done calls */
    int rc;          /* done's rc */
    char msg[512];   /* done's message */
} collect;

/* One test's world: a data dir with logs/, an in-memory store, a hub. */
typedef struct world {
    char dir[64];
    char logs[128];
    ke_store *store;
    ke_logs *hub;
} world;

static int s_ready(void *ctx)
{
    collect *c = ctx;
    int room;

    pthread_mutex_lock(&c->lock);
    room = c->room;
    pthread_mutex_unlock(&c->lock);
    return room;
}

static int s_chunk(void *ctx, const char *data, size_t len)
{
    collect *c = ctx;
    int stop;

    pthread_mutex_lock(&c->lock);
    if (c->len + len > c->cap) {
        c->cap = (c->len + len) * 2;
        c->data = realloc(c->data, c->cap);
    }
    memcpy(c->data + c->len, data, len);
    c->len += len;
    c->chunks++;
    if (len > c->biggest)
        c->biggest = len;
    stop = c->stop_after != 0 && (size_t)c->stop_after == c->chunks;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return stop;
}

static void s_done(void *ctx, int rc, const ke_error *err)
{
    collect *c = ctx;

    pthread_mutex_lock(&c->lock);
    c->done++;
    c->rc = rc;
    snprintf(c->msg, sizeof c->msg, "%s", err != NULL ? err->msg : "");
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void collect_init(collect *c, ke_log_sink *sink)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->room = 1;
    sink->ready = s_ready;
    sink->chunk = s_chunk;
    sink->done = s_done;
    sink->ctx = c;
}

static void collect_release(collect *c)
{
    free(c->data);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
}

/* Waits until c holds at least len bytes (want_done 0) or done was called (want_done 1). */
static void wait_for(collect *c, size_t len, int want_done)
{
    struct timespec until;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_LIMIT_S;
    pthread_mutex_lock(&c->lock);
    while (rc == 0 && (want_done ? c->done == 0 : c->len < len))
        rc = pthread_cond_timedwait(&c->cond, &c->lock, &until);
    pthread_mutex_unlock(&c->lock);
    assert_int_equal(rc, 0);
}

/* What c holds after a pause long enough for the hub to have acted on anything pending. */
static void settle(void)
{
    usleep(150 * 1000);
}

static int world_setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    ke_error err;

    make_dir(w->dir);
    snprintf(w->logs, sizeof w->logs, "%s/logs", w->dir);
    if (mkdir(w->logs, 0700) != 0)
        return -1;
    ke_error_clear(&err);
    if (ke_store_open(NULL, &w->store, &err) != KE_OK)
        return -1;
    if (ke_logs_new(w->store, w->logs, 4, &w->hub, &err) != KE_OK)
        return -1;
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    world *w = *state;

    ke_logs_free(w->hub);
    ke_store_close(w->store);
    remove_dir(w->logs);
    remove_dir(w->dir);
    free(w);
    return 0;
}

/* Stores a READY pipeline; its id goes to id. */
static void add_run(world *w, char id[KE_ID_LEN + 1])
{
    ke_pipeline p;
    ke_error err;

    assert_int_equal(ke_pipeline_init(&p, "example00", KE_STATE_READY), KE_OK);
    memcpy(id, p.id, KE_ID_LEN + 1);
    ke_error_clear(&err);
    assert_int_equal(ke_store_insert(w->store, &p, &err), KE_OK);
    ke_pipeline_release(&p);
}

/* Claims the (only) READY run and ends it SUCCESS, its log at log_path (may be NULL). */
static void end_run(world *w, const char *id, const char *log_path)
{
    ke_pipeline claimed;
    ke_status fin;
    ke_error err;
    int found = 0;

    ke_error_clear(&err);
    assert_int_equal(ke_store_claim(w->store, "local", &claimed, &found, &err), KE_OK);
    assert_int_equal(found, 1);
    assert_string_equal(claimed.id, id);
    ke_pipeline_release(&claimed);
    memset(&fin, 0, sizeof fin);
    fin.state = KE_STATE_SUCCESS;
    fin.finished_at = ke_now_us();
    fin.runner = "local";
    fin.has_exit_code = 1;
    fin.log_path = (char *)log_path;
    assert_int_equal(ke_store_finish(w->store, id, &fin, &err), KE_OK);
}

static void log_path(world *w, const char *id, char path[256])
{
    snprintf(path, 256, "%s/%s.log", w->logs, id);
}

/* Appends len bytes to the file at path (created when missing). */
static void append(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static size_t tail_of(const char *path, long lines)
{
    struct stat st;
    off_t start = -1;
    ke_error err;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    ke_error_clear(&err);
    assert_int_equal(ke_logs_tail_offset(fd, path, st.st_size, lines, &start, &err), KE_OK);
    close(fd);
    return (size_t)start;
}

static void tail_offset_counts_lines_from_the_end(void **state)
{
    world *w = *state;
    char path[256];
    char *big;
    size_t i;

    snprintf(path, sizeof path, "%s/t1", w->dir);
    append(path, "a\nb\nc\n", 6);
    assert_int_equal(tail_of(path, 0), 0);
    assert_int_equal(tail_of(path, 1), 4);
    assert_int_equal(tail_of(path, 2), 2);
    assert_int_equal(tail_of(path, 3), 0);
    assert_int_equal(tail_of(path, 99), 0);
    /* A last line without its newline is still a line. */
    append(path, "dd", 2);
    assert_int_equal(tail_of(path, 1), 6);
    assert_int_equal(tail_of(path, 2), 4);
    unlink(path);
    /* Empty lines count; an empty file starts at 0. */
    append(path, "\n\n\n", 3);
    assert_int_equal(tail_of(path, 1), 2);
    assert_int_equal(tail_of(path, 3), 0);
    unlink(path);
    append(path, "", 0);
    assert_int_equal(tail_of(path, 5), 0);
    unlink(path);
    /* Lines across many 64 KiB blocks: 200000 lines of 12 bytes. */
    big = malloc(200000 * 12 + 1);
    for (i = 0; i < 200000; i++)
        snprintf(big + i * 12, 13, "line %06zu\n", i);
    append(path, big, 200000 * 12);
    assert_int_equal(tail_of(path, KE_LOGS_MAX_TAIL_LINES), (200000 - 100000) * 12);
    assert_int_equal(tail_of(path, 5462), (200000 - 5462) * 12);
    free(big);
    unlink(path);
}

/* A 300 KiB log of an ended run, in chunks of at most KE_LOGS_CHUNK, every byte in order. */
static void reads_whole_log_of_an_ended_run(void **state)
{
    world *w = *state;
    char id[KE_ID_LEN + 1], path[256];
    size_t len = 300 * 1024, i;
    char *data = malloc(len);
    ke_log_reader *r = NULL;
    ke_log_sink sink;
    collect c;
    ke_error err;

    for (i = 0; i < len; i++)
        data[i] = (char)(i * 7919 % 251);
    add_run(w, id);
    log_path(w, id, path);
    append(path, data, len);
    end_run(w, id, path);
    collect_init(&c, &sink);
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, id, 0, 0, &sink, &r, &err), KE_OK);
    wait_for(&c, 0, 1);
    assert_int_equal(c.done, 1);
    assert_int_equal(c.rc, KE_OK);
    assert_int_equal(c.len, len);
    assert_memory_equal(c.data, data, len);
    assert_true(c.chunks >= 5);
    assert_true(c.biggest <= KE_LOGS_CHUNK);
    ke_logs_unref(r);
    assert_int_equal(ke_logs_count(w->hub), 0);
    collect_release(&c);
    free(data);
}

/* tail_lines 2 of an ended run sends its last two lines; a log path recorded in the final
 * status is where the log is read (not logs/<id>.log). */
static void tail_reads_the_last_lines_at_the_recorded_path(void **state)
{
    world *w = *state;
    char id[KE_ID_LEN + 1], path[256];
    ke_log_reader *r = NULL;
    ke_log_sink sink;
    collect c;
    ke_error err;

    add_run(w, id);
    snprintf(path, sizeof path, "%s/elsewhere.log", w->dir);
    append(path, "one\ntwo\nthree\nfour\n", 19);
    end_run(w, id, path);
    collect_init(&c, &sink);
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, id, 1, 2, &sink, &r, &err), KE_OK);
    wait_for(&c, 0, 1);
    assert_int_equal(c.rc, KE_OK);
    assert_int_equal(c.len, 11);
    assert_memory_equal(c.data, "three\nfour\n", 11);
    ke_logs_unref(r);
    unlink(path);
    collect_release(&c);
}

/* No log and no follow: done OK without a chunk. An unknown id: KE_ENOTFOUND. */
static void missing_log_is_empty_and_unknown_id_not_found(void **state)
{
    world *w = *state;
    char id[KE_ID_LEN + 1];
    ke_log_reader *r = NULL;
    ke_log_sink sink;
    collect c;
    ke_error err;

    add_run(w, id);
    collect_init(&c, &sink);
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, id, 0, 0, &sink, &r, &err), KE_OK);
    wait_for(&c, 0, 1);
    assert_int_equal(c.rc, KE_OK);
    assert_int_equal(c.chunks, 0);
    ke_logs_unref(r);
    collect_release(&c);

    collect_init(&c, &sink);
    assert_int_equal(
        ke_logs_open(w->hub, "00000000-0000-4000-8000-000000000000", 1, 0, &sink, &r, &err), KE_OK);
    wait_for(&c, 0, 1);
    assert_int_equal(c.rc, KE_ENOTFOUND);
    ke_logs_unref(r);
    collect_release(&c);
}

/* Follow of a READY run: nothing until its log appears; each write arrives as it is made;
 * the end (from the change feed) sends the rest and finishes. */
static void follow_waits_for_the_log_and_ends_with_the_run(void **state)
{
    world *w = *state;
    char id[KE_ID_LEN + 1], path[256];
    ke_log_reader *r = NULL;
    ke_log_sink sink;
    collect c;
    ke_error err;

    add_run(w, id);
    log_path(w, id, path);
    collect_init(&c, &sink);
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, id, 1, 0, &sink, &r, &err), KE_OK);
    settle();
    assert_int_equal(c.done, 0);
    append(path, "one\n", 4);
    wait_for(&c, 4, 0);
    append(path, "two\n", 4);
    wait_for(&c, 8, 0);
    settle();
    assert_int_equal(c.done, 0);
    append(path, "three\n", 6);
    end_run(w, id, path);
    wait_for(&c, 0, 1);
    assert_int_equal(c.rc, KE_OK);
    assert_int_equal(c.len, 14);
    assert_memory_equal(c.data, "one\ntwo\nthree\n", 14);
    ke_logs_unref(r);
    collect_release(&c);
}

/* A READY run that ends without ever writing a log (e.g. cancelled): the follower ends OK. */
static void follow_of_a_run_ending_without_log_ends(void **state)
{
    world *w = *state;
    char id[KE_ID_LEN + 1];
    ke_log_reader *r = NULL;
    ke_log_sink sink;
    collect c;
    ke_error err;

    add_run(w, id);
    collect_init(&c, &sink);
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, id, 1, 0, &sink, &r, &err), KE_OK);
    settle();
    assert_int_equal(c.done, 0);
    end_run(w, id, NULL);
    wait_for(&c, 0, 1);
    assert_int_equal(c.rc, KE_OK);
    assert_int_equal(c.len, 0);
    ke_logs_unref(r);
    collect_release(&c);
}

/* A sink without room gets nothing until it wakes the reader. */
static void no_chunk_while_the_sink_is_full(void **state)
{
    world *w = *state;
    char id[KE_ID_LEN + 1], path[256];
    ke_log_reader *r = NULL;
    ke_log_sink sink;
    collect c;
    ke_error err;

    add_run(w, id);
    log_path(w, id, path);
    append(path, "hello\n", 6);
    end_run(w, id, path);
    collect_init(&c, &sink);
    c.room = 0;
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, id, 0, 0, &sink, &r, &err), KE_OK);
    settle();
    assert_int_equal(c.chunks, 0);
    assert_int_equal(c.done, 0);
    pthread_mutex_lock(&c.lock);
    c.room = 1;
    pthread_mutex_unlock(&c.lock);
    ke_logs_wake(r);
    wait_for(&c, 0, 1);
    assert_int_equal(c.rc, KE_OK);
    assert_int_equal(c.len, 6);
    ke_logs_unref(r);
    collect_release(&c);
}

/* Cancel ends a follower with KE_EUNAVAIL; a chunk refused stops the reader the same way. */
static void cancel_and_refusal_end_the_reader(void **state)
{
    world *w = *state;
    char id[KE_ID_LEN + 1], path[256];
    ke_log_reader *r = NULL;
    ke_log_sink sink;
    collect c;
    ke_error err;

    add_run(w, id);
    collect_init(&c, &sink);
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, id, 1, 0, &sink, &r, &err), KE_OK);
    settle();
    ke_logs_cancel(r);
    wait_for(&c, 0, 1);
    assert_int_equal(c.rc, KE_EUNAVAIL);
    assert_non_null(strstr(c.msg, "cancelled"));
    ke_logs_cancel(r); /* after done: nothing more */
    settle();
    assert_int_equal(c.done, 1);
    ke_logs_unref(r);
    collect_release(&c);

    log_path(w, id, path);
    append(path, "a\n", 2);
    collect_init(&c, &sink);
    c.stop_after = 1;
    assert_int_equal(ke_logs_open(w->hub, id, 1, 0, &sink, &r, &err), KE_OK);
    wait_for(&c, 0, 1);
    assert_int_equal(c.rc, KE_EUNAVAIL);
    assert_non_null(strstr(c.msg, "stopped"));
    ke_logs_unref(r);
    collect_release(&c);
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Followers waiting for more hold no descriptor of their logs; a log truncated under a
 * follower (a run started again) is read again from its start. */
static void waiting_followers_hold_no_descriptor_and_see_truncation(void **state)
{
    world *w = *state;
    char id[KE_ID_LEN + 1], path[256];
    ke_log_reader *r[3] = {NULL};
    ke_log_sink sink;
    collect c[3];
    ke_error err;
    int before, i, fd;

    add_run(w, id);
    log_path(w, id, path);
    append(path, "aaaa\n", 5);
    before = open_fds();
    for (i = 0; i < 3; i++) {
        collect_init(&c[i], &sink);
        ke_error_clear(&err);
        assert_int_equal(ke_logs_open(w->hub, id, 1, 0, &sink, &r[i], &err), KE_OK);
        wait_for(&c[i], 5, 0);
    }
    settle();
    assert_int_equal(open_fds(), before);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    close(fd);
    append(path, "b\n", 2);
    for (i = 0; i < 3; i++) {
        wait_for(&c[i], 7, 0);
        assert_memory_equal(c[i].data, "aaaa\nb\n", 7);
    }
    end_run(w, id, path);
    for (i = 0; i < 3; i++) {
        wait_for(&c[i], 0, 1);
        assert_int_equal(c[i].rc, KE_OK);
        assert_int_equal(c[i].len, 7);
        ke_logs_unref(r[i]);
        collect_release(&c[i]);
    }
}

/* Bounds: tail_lines outside 0..KE_LOGS_MAX_TAIL_LINES, an id that could leave the logs dir,
 * and more readers than the hub takes are refused without calling the sink; the hub's end
 * ends a follower still open. */
static void limits_are_refused_and_free_ends_followers(void **state)
{
    world *w = *state;
    char id[KE_ID_LEN + 1];
    ke_log_reader *r[5] = {NULL};
    ke_log_sink sink;
    collect c[5];
    ke_error err;
    size_t i;

    add_run(w, id);
    for (i = 0; i < 5; i++)
        collect_init(&c[i], &sink);
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, id, 0, -1, &sink, &r[0], &err), KE_EINVAL);
    assert_non_null(strstr(err.msg, "0..100000"));
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, id, 0, KE_LOGS_MAX_TAIL_LINES + 1, &sink, &r[0], &err),
                     KE_EINVAL);
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, "../x", 0, 0, &sink, &r[0], &err), KE_EINVAL);
    for (i = 0; i < 4; i++) {
        sink.ctx = &c[i];
        ke_error_clear(&err);
        assert_int_equal(ke_logs_open(w->hub, id, 1, 0, &sink, &r[i], &err), KE_OK);
    }
    sink.ctx = &c[4];
    ke_error_clear(&err);
    assert_int_equal(ke_logs_open(w->hub, id, 1, 0, &sink, &r[4], &err), KE_EUNAVAIL);
    assert_non_null(strstr(err.msg, "at most 4"));
    assert_null(r[4]);
    assert_int_equal(ke_logs_count(w->hub), 4);
    ke_logs_free(w->hub);
    w->hub = NULL;
    for (i = 0; i < 5; i++) {
        assert_int_equal(c[i].done, i < 4 ? 1 : 0);
        if (i < 4) {
            assert_int_equal(c[i].rc, KE_EUNAVAIL);
            assert_non_null(strstr(c[i].msg, "shutting down"));
        }
        ke_logs_unref(r[i]);
        collect_release(&c[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tail_offset_counts_lines_from_the_end, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(reads_whole_log_of_an_ended_run, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(tail_reads_the_last_lines_at_the_recorded_path, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(missing_log_is_empty_and_unknown_id_not_found, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(follow_waits_for_the_log_and_ends_with_the_run, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(follow_of_a_run_ending_without_log_ends, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(no_chunk_while_the_sink_is_full, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(cancel_and_refusal_end_the_reader, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(waiting_followers_hold_no_descriptor_and_see_truncation,
                                        world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(limits_are_refused_and_free_ends_followers, world_setup,
                                        world_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
