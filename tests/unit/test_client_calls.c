/* test_client_calls.c -- the client library's call contracts against a real kedro-eventd
 * (started here on a free loopback port, --runner none): every started asynchronous call
 * fires its callback exactly once; a blocking call from a callback is refused; freeing a
 * client with calls in flight to a stalled server cancels them and returns; deadlines,
 * an unreachable server and reconnecting once it is back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kedroevents.h"

#define CONFIG "{\"event00\": {\"source\": \"example.com\", \"type\": \"com.example.event\"}}"

static pid_t server_pid = -1;
static char target[64];
static char data_dir[64];

/* Starts kedro-eventd on 127.0.0.1:0 (or the given port) and reads the port it prints. */
static int start_server(int port)
{
    const char *eventd = getenv("KE_EVENTD");
    char listen[32];
    int out[2];
    pid_t pid;
    FILE *f;
    char line[256];
    int got = 0;

    if (eventd == NULL || pipe(out) != 0)
        return -1;
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no server left behind if the test dies or hangs */
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(eventd, eventd, "--listen", listen, "--runner", "none", "--threads", "2",
              "--data-dir", data_dir, "--events-config", CONFIG, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    f = fdopen(out[0], "r");
    if (f != NULL && fgets(line, sizeof line, f) != NULL) {
        char *p = strstr(line, " port ");
        if (p != NULL) {
            got = atoi(p + 6);
            snprintf(target, sizeof target, "127.0.0.1:%d", got);
        }
    }
    if (f != NULL)
        fclose(f);
    server_pid = pid;
    return got;
}

static void stop_server(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGCONT);
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
    }
    server_pid = -1;
}

/* Stops the server (SIGSTOP) and waits until every one of its threads is stopped: kill()
 * returns before threads on another CPU have stopped, and a call sent meanwhile would be
 * answered. */
static void stall_server(void)
{
    char dir[64], stat[400];
    int i, running = 1;

    kill(server_pid, SIGSTOP);
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)server_pid);
    for (i = 0; i < 500 && running; i++) {
        DIR *d = opendir(dir);
        struct dirent *e;

        running = 0;
        while (d != NULL && (e = readdir(d)) != NULL) {
            char state = '?';
            FILE *f;

            if (e->d_name[0] == '.')
                continue;
            snprintf(stat, sizeof stat, "%s/%s/stat", dir, e->d_name);
            f = fopen(stat, "r");
            if (f != NULL && fscanf(f, "%*d (%*[^)]) %c", &state) == 1 && state != 'T' &&
                state != 't')
                running = 1;
            if (f != NULL)
                fclose(f);
        }
        if (d != NULL)
            closedir(d);
        if (running)
            usleep(2000);
    }
    assert_false(running);
}

/* After each test: the server runs again, whatever the test left. */
static int resume_server(void **state)
{
    (void)state;
    if (server_pid > 0)
        kill(server_pid, SIGCONT);
    return 0;
}

static kec_client *new_client(int timeout_ms)
{
    kec_client_options o;
    kec_client *c = NULL;

    kec_client_options_init(&o);
    o.target = target;
    o.timeout_ms = timeout_ms;
    assert_int_equal(kec_client_new(&o, &c, NULL), KEC_OK);
    return c;
}

static kec_event *new_event(const char *id)
{
    kec_event *ev = NULL;

    assert_int_equal(kec_event_new(id, "example.com", "com.example.event", &ev, NULL), KEC_OK);
    return ev;
}

/* What the callbacks of one test saw. */
typedef struct tally {
    pthread_mutex_t lock; /* guards the counts */
    int fired;            /* callbacks run */
    int ok;               /* of them, KEC_OK */
    int cancelled;        /* of them, status CANCELLED */
    int other;            /* other failures */
    int refused_inside;   /* a blocking call inside the callback was refused */
    kec_client *c;        /* for the blocking call tried inside */
} tally;

static void count(void *ctx, int rc, const kec_error *err, kec_dispatch_result *result)
{
    tally *t = ctx;

    pthread_mutex_lock(&t->lock);
    t->fired++;
    if (rc == KEC_OK)
        t->ok++;
    else if (rc == KEC_ESTATUS && err->status == KEC_STATUS_CANCELLED)
        t->cancelled++;
    else
        t->other++;
    pthread_mutex_unlock(&t->lock);
    kec_dispatch_result_release(result);
}

static void block_inside(void *ctx, int rc, const kec_error *err, kec_dispatch_result *result)
{
    tally *t = ctx;
    kec_pipeline_page page;
    kec_error inner;

    kec_error_clear(&inner);
    if (kec_list_pipelines(t->c, NULL, &page, &inner) == KEC_EINVAL &&
        strstr(inner.msg, "callback") != NULL)
        t->refused_inside = 1;
    count(ctx, rc, err, result);
}

static int fired(tally *t)
{
    int n;

    pthread_mutex_lock(&t->lock);
    n = t->fired;
    pthread_mutex_unlock(&t->lock);
    return n;
}

static void wait_fired(tally *t, int n)
{
    int i;

    for (i = 0; i < 1000 && fired(t) < n; i++)
        usleep(10000);
}

static void every_async_call_fires_exactly_once(void **state)
{
    tally t = {.lock = PTHREAD_MUTEX_INITIALIZER};
    kec_client *c = new_client(10000);
    char id[32];
    int i;

    (void)state;
    for (i = 0; i < 300; i++) {
        kec_event *ev;

        snprintf(id, sizeof id, "async-%d", i % 150); /* half are duplicates */
        ev = new_event(id);
        assert_int_equal(kec_dispatch_async(c, ev, count, &t, NULL), KEC_OK);
        kec_event_free(ev); /* encoded already */
    }
    wait_fired(&t, 300);
    usleep(100000); /* a second firing would show up here */
    assert_int_equal(fired(&t), 300);
    assert_int_equal(t.ok, 300);
    kec_client_free(c);
}

static void a_blocking_call_inside_a_callback_is_refused(void **state)
{
    tally t = {.lock = PTHREAD_MUTEX_INITIALIZER};
    kec_event *ev = new_event("inside");

    (void)state;
    t.c = new_client(10000);
    assert_int_equal(kec_dispatch_async(t.c, ev, block_inside, &t, NULL), KEC_OK);
    wait_fired(&t, 1);
    assert_int_equal(t.refused_inside, 1);
    kec_event_free(ev);
    kec_client_free(t.c);
}

static void freeing_with_calls_to_a_stalled_server_cancels_them(void **state)
{
    tally t = {.lock = PTHREAD_MUTEX_INITIALIZER};
    kec_client *c = new_client(60000);
    kec_dispatch_result r;
    kec_event *ev = new_event("stall");
    int i;

    (void)state;
    assert_int_equal(kec_dispatch(c, ev, &r, NULL), KEC_OK); /* connected */
    kec_dispatch_result_release(&r);
    stall_server();
    for (i = 0; i < 100; i++)
        assert_int_equal(kec_dispatch_async(c, ev, count, &t, NULL), KEC_OK);
    usleep(200000);
    assert_int_equal(fired(&t), 0);
    kec_client_free(c); /* returns only after every callback */
    assert_int_equal(t.fired, 100);
    assert_int_equal(t.cancelled, 100);
    kill(server_pid, SIGCONT);
    kec_event_free(ev);
}

static void a_stalled_server_ends_in_deadline_exceeded(void **state)
{
    kec_client *c = new_client(300);
    kec_event *ev = new_event("deadline");
    kec_dispatch_result r;
    kec_error err;

    (void)state;
    assert_int_equal(kec_dispatch(c, ev, &r, NULL), KEC_OK);
    kec_dispatch_result_release(&r);
    stall_server();
    kec_error_clear(&err);
    assert_int_equal(kec_dispatch(c, ev, &r, &err), KEC_ESTATUS);
    assert_int_equal(err.status, KEC_STATUS_DEADLINE_EXCEEDED);
    assert_int_equal(r.count, 0);
    kill(server_pid, SIGCONT);
    kec_event_free(ev);
    kec_client_free(c);
}

static void an_unreachable_server_is_unavailable_until_it_is_back(void **state)
{
    kec_client *c;
    kec_event *ev = new_event("back");
    kec_dispatch_result r;
    kec_error err;
    int port = atoi(strchr(target, ':') + 1), i, serving = 0;

    (void)state;
    stop_server();
    c = new_client(2000);
    kec_error_clear(&err);
    assert_int_equal(kec_dispatch(c, ev, &r, &err), KEC_ESTATUS);
    assert_int_equal(err.status, KEC_STATUS_UNAVAILABLE);
    assert_int_equal(kec_client_connected(c, 0), 0);
    assert_int_equal(start_server(port), port);
    /* the library retries the connection at least every 2 s */
    for (i = 0; i < 60 && kec_health_check(c, &serving, NULL) != KEC_OK; i++)
        usleep(100000);
    assert_int_equal(serving, 1);
    assert_int_equal(kec_client_connected(c, 0), 1);
    assert_int_equal(kec_dispatch(c, ev, &r, NULL), KEC_OK);
    assert_int_equal(r.count, 1);
    kec_dispatch_result_release(&r);
    kec_event_free(ev);
    kec_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(every_async_call_fires_exactly_once, resume_server),
        cmocka_unit_test_teardown(a_blocking_call_inside_a_callback_is_refused, resume_server),
        cmocka_unit_test_teardown(freeing_with_calls_to_a_stalled_server_cancels_them,
                                  resume_server),
        cmocka_unit_test_teardown(a_stalled_server_ends_in_deadline_exceeded, resume_server),
        cmocka_unit_test_teardown(an_unreachable_server_is_unavailable_until_it_is_back,
                                  resume_server),
    };
    int failed;

    snprintf(data_dir, sizeof data_dir, "/tmp/ke-client-calls-%d", (int)getpid());
    if (getenv("KE_EVENTD") == NULL) {
        printf("skipped: KE_EVENTD (the kedro-eventd to call) is not set\n");
        return 77;
    }
    if (start_server(0) <= 0) {
        printf("kedro-eventd did not start\n");
        return 1;
    }
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    stop_server();
    if (fork() == 0) {
        execlp("rm", "rm", "-rf", data_dir, (char *)NULL);
        _exit(127);
    }
    wait(NULL);
    return failed;
}
