/* test_forward.c -- unit tests of the local forwarder (server/forward_local.c): real store,
 * real child processes, and a fake kedro written as a shell script into a temporary dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>

#include "../../server/forward_local.c" /* reaches its statics; ke_log_tail is log_tail.c's */

#define WAIT_MS 20000 /* longest wait for a run to end (valgrind is slow) */
#define SERVER_ADDR "127.0.0.1:50051"
#define EVENT_JSON "{\"specversion\": \"1.0\", \"id\": \"e-1\", \"source\": \"example.com\"}"

/* The fake kedro: records how it was called into $KE_FAKE_REC/<id>.call, then acts out its
 * pipeline's name (ok, exitN, kill9, sleepS, tree, spam). */
static const char fake_kedro[] =
    "#!/bin/sh\n"
    "rec=\"$KE_FAKE_REC/$KEDRO_EVENTS_PIPELINE_ID\"\n"
    "{\n"
    "  echo \"argc=$#\"\n"
    "  for a in \"$@\"; do echo \"arg=$a\"; done\n"
    "  echo \"cwd=$(pwd -P)\"\n"
    "  echo \"id=${KEDRO_EVENTS_PIPELINE_ID-<unset>}\"\n"
    "  echo \"event=${KEDRO_EVENTS_EVENT-<unset>}\"\n"
    "  echo \"server=${KEDRO_EVENTS_SERVER-<unset>}\"\n"
    "} > \"$rec.call\"\n"
    "echo \"$KEDRO_EVENTS_PIPELINE_ID\" >> \"$KE_FAKE_REC/order\"\n"
    "echo \"start $(date +%s.%N)\" >> \"$KE_FAKE_REC/timeline\"\n"
    "name=\"${2#--pipeline=}\"\n"
    "echo \"hello from $name\"\n"
    "case \"$name\" in\n"
    "exit*) echo \"about to exit ${name#exit}\" >&2; exit \"${name#exit}\" ;;\n"
    "kill9) kill -9 $$ ;;\n"
    "sleep*) sleep \"${name#sleep}\" ;;\n"
    "tree) sleep 30 & echo $! > \"$rec.bg\"; sleep 30 ;;\n"
    "orphans*) sleep 30 & echo $! > \"$rec.bg\";"
    " setsid sh -c 'echo $$ > \"$1\"; exec sleep 30' sh \"$rec.daemon\" &"
    " setsid sh -c 'trap \"\" TERM; echo $$ > \"$1\"; while :; do sleep 1; done' sh"
    " \"$rec.stubborn\" &"
    " while [ ! -s \"$rec.daemon\" ] || [ ! -s \"$rec.stubborn\" ]; do sleep 0.01; done;"
    " exit \"${name#orphans}\" ;;\n"
    "spam) i=1; while [ $i -le 30 ]; do echo \"line $i\"; i=$((i+1)); done;"
    " printf 'bad \\377 byte\\n'; exit 1 ;;\n"
    "esac\n"
    "echo \"end $(date +%s.%N)\" >> \"$KE_FAKE_REC/timeline\"\n";

/* What every test gets: a temporary dir with a store, a project dir and the fake kedro. */
typedef struct fixture {
    char dir[64];           /* the temporary dir */
    char data[128];         /* dir/data: the store's and the forwarder's data dir */
    char project[PATH_MAX]; /* dir/project: the Kedro project dir (resolved) */
    char bin[128];          /* dir/bin */
    char kedro[128];        /* dir/bin/kedro: the fake */
    char rec[128];          /* dir/rec: where the fake records its calls */
    ke_store *store;        /* SQLite store in data */
    ke_forwarder *fwd;      /* started by start(), or NULL */
    ke_forward_options o;   /* defaults set by setup, changed by tests before start() */
} fixture;

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* The whole of a file as a malloc'd string, or NULL when it cannot be read. */
static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (fp == NULL)
        return NULL;
    do {
        if (n + 4096 + 1 > cap) {
            cap = n + 4096 + 1;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        got = fread(buf + n, 1, 4096, fp);
        n += got;
    } while (got > 0);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char path[PATH_MAX];
    ke_error err;

    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/ke-forward-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->bin, sizeof f->bin, "%s/bin", f->dir);
    snprintf(f->kedro, sizeof f->kedro, "%s/bin/kedro", f->dir);
    snprintf(f->rec, sizeof f->rec, "%s/rec", f->dir);
    snprintf(path, sizeof path, "%s/project", f->dir);
    if (mkdir(f->data, 0755) != 0 || mkdir(f->bin, 0755) != 0 || mkdir(f->rec, 0755) != 0 ||
        mkdir(path, 0755) != 0 || realpath(path, f->project) == NULL)
        return -1;
    write_file(f->kedro, fake_kedro, 0755);
    setenv("KE_FAKE_REC", f->rec, 1);
    ke_error_clear(&err);
    if (ke_store_open(f->data, &f->store, &err) != KE_OK) {
        print_error("setup: %s\n", err.msg);
        return -1;
    }
    f->o.kedro_bin = f->kedro;
    f->o.project_dir = f->project;
    f->o.data_dir = f->data;
    f->o.server_addr = SERVER_ADDR;
    f->o.max_runs = 4;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    /* The store's writer may still call the wake hook: stop, close the store, then free. */
    ke_forwarder_stop(f->fwd, 0);
    ke_store_close(f->store);
    ke_forwarder_free(f->fwd);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    unsetenv("KE_FAKE_REC");
    free(f);
    return 0;
}

static void start(fixture *f)
{
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_forwarder_start(f->store, &f->o, &f->fwd, &err), KE_OK);
    ke_store_on_ready(f->store, ke_forwarder_wake, f->fwd);
}

/* Inserts a READY pipeline named name with id and event parameters; its id goes to id. */
static void insert_with(fixture *f, const char *name, const char *event, char id[KE_ID_LEN + 1])
{
    ke_pipeline p;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_pipeline_init(&p, name, KE_STATE_READY), KE_OK);
    assert_int_equal(ke_pipeline_add_param(&p, "id", p.id, "string"), KE_OK);
    if (event != NULL)
        assert_int_equal(ke_pipeline_add_param(&p, "event", event, "string"), KE_OK);
    assert_int_equal(ke_store_insert(f->store, &p, &err), KE_OK);
    memcpy(id, p.id, KE_ID_LEN + 1);
    ke_pipeline_release(&p);
}

static void insert(fixture *f, const char *name, char id[KE_ID_LEN + 1])
{
    insert_with(f, name, EVENT_JSON, id);
}

static int is_final(ke_state s)
{
    return s == KE_STATE_SUCCESS || s == KE_STATE_FAILURE || s == KE_STATE_ABORTED;
}

/* Waits until the pipeline reaches a final state and copies it into p (release it). */
static void wait_final(fixture *f, const char *id, ke_pipeline *p)
{
    int64_t end = mono_ms() + WAIT_MS;
    ke_error err;

    for (;;) {
        ke_error_clear(&err);
        assert_int_equal(ke_store_get(f->store, id, p, &err), KE_OK);
        if (is_final(ke_pipeline_state(p)))
            return;
        ke_pipeline_release(p);
        if (mono_ms() > end)
            fail_msg("pipeline %s did not end within %d ms", id, WAIT_MS);
        usleep(20 * 1000);
    }
}

/* Waits until the fake kedro recorded its call for id (the child runs). */
static void wait_call(fixture *f, const char *id)
{
    int64_t end = mono_ms() + WAIT_MS;
    char path[PATH_MAX];
    char *text;

    snprintf(path, sizeof path, "%s/%s.call", f->rec, id);
    for (;;) {
        text = read_all(path);
        if (text != NULL && strstr(text, "server=") != NULL) {
            free(text);
            return;
        }
        free(text);
        if (mono_ms() > end)
            fail_msg("pipeline %s never ran", id);
        usleep(20 * 1000);
    }
}

static const ke_status *last(const ke_pipeline *p)
{
    assert_true(p->n_status > 0);
    return &p->status[p->n_status - 1];
}

/* The fake kedro's record of its call for id (free it). */
static char *call_of(fixture *f, const char *id)
{
    char path[PATH_MAX];
    char *text;

    snprintf(path, sizeof path, "%s/%s.call", f->rec, id);
    text = read_all(path);
    assert_non_null(text);
    return text;
}

/* ---- outcomes */

static void run_that_exits_0_is_success_with_its_output_in_the_log(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], want[PATH_MAX], resolved[PATH_MAX], *log;
    const ke_status *st;
    ke_pipeline p;

    start(f);
    insert(f, "ok", id);
    wait_final(f, id, &p);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_SUCCESS);
    assert_int_equal(st->has_exit_code, 1);
    assert_int_equal(st->exit_code, 0);
    assert_int_equal(st->signal, 0);
    assert_null(st->error);
    assert_string_equal(st->runner, "local");
    assert_true(st->finished_at > 0);
    assert_non_null(st->log_path);
    snprintf(want, sizeof want, "%s/logs/%s.log", f->data, id);
    assert_non_null(realpath(want, resolved));
    assert_string_equal(st->log_path, resolved);
    log = read_all(st->log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "hello from ok\n"));
    free(log);
    ke_pipeline_release(&p);
}

static void run_that_exits_3_is_failure_with_exit_code_and_log_tail(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    const ke_status *st;
    ke_pipeline p;

    start(f);
    insert(f, "exit3", id);
    wait_final(f, id, &p);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_FAILURE);
    assert_int_equal(st->has_exit_code, 1);
    assert_int_equal(st->exit_code, 3);
    assert_int_equal(st->signal, 0);
    assert_non_null(st->error);
    assert_true(strncmp(st->error, "exited with status 3", 20) == 0);
    assert_non_null(strstr(st->error, "hello from exit3"));
    assert_non_null(strstr(st->error, "about to exit 3")); /* stderr goes to the log too */
    ke_pipeline_release(&p);
}

static void run_that_exits_127_is_an_exit_not_a_spawn_failure(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    const ke_status *st;
    ke_pipeline p;

    start(f);
    insert(f, "exit127", id);
    wait_final(f, id, &p);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_FAILURE);
    assert_int_equal(st->has_exit_code, 1);
    assert_int_equal(st->exit_code, 127);
    assert_true(strncmp(st->error, "exited with status 127", 22) == 0);
    ke_pipeline_release(&p);
}

static void run_killed_by_sigkill_is_failure_with_signal_9(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    const ke_status *st;
    ke_pipeline p;

    start(f);
    insert(f, "kill9", id);
    wait_final(f, id, &p);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_FAILURE);
    assert_int_equal(st->has_exit_code, 0);
    assert_int_equal(st->signal, 9);
    assert_true(strncmp(st->error, "killed by signal 9 (SIGKILL)", 28) == 0);
    assert_non_null(strstr(st->error, "hello from kill9"));
    ke_pipeline_release(&p);
}

static void run_over_its_timeout_is_terminated_and_fails_as_timed_out(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    const ke_status *st;
    ke_pipeline p;
    int64_t t0;

    f->o.timeout_seconds = 1;
    start(f);
    t0 = mono_ms();
    insert(f, "sleep30", id);
    wait_final(f, id, &p);
    assert_true(mono_ms() - t0 < 10000);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_FAILURE);
    assert_int_equal(st->signal, SIGTERM);
    assert_true(strncmp(st->error, "timed out after 1 s", 19) == 0);
    assert_non_null(strstr(st->error, "hello from sleep30"));
    ke_pipeline_release(&p);
}

/* Whether pid is gone (or a zombie nobody reaped yet). */
static int process_gone(pid_t pid)
{
    char path[64], *stat, *close_paren;
    int gone;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    stat = read_all(path);
    if (stat == NULL)
        return 1;
    close_paren = strrchr(stat, ')');
    gone = close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'Z';
    free(stat);
    return gone;
}

static void timeout_ends_the_runs_whole_process_group(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], path[PATH_MAX], *bg;
    ke_pipeline p;
    int64_t end;
    pid_t pid;

    f->o.timeout_seconds = 1;
    start(f);
    insert(f, "tree", id);
    wait_final(f, id, &p);
    assert_int_equal(ke_pipeline_state(&p), KE_STATE_FAILURE);
    ke_pipeline_release(&p);
    snprintf(path, sizeof path, "%s/%s.bg", f->rec, id);
    bg = read_all(path);
    assert_non_null(bg);
    pid = (pid_t)atoi(bg);
    free(bg);
    assert_true(pid > 0);
    end = mono_ms() + 5000;
    while (!process_gone(pid) && mono_ms() < end)
        usleep(20 * 1000);
    assert_true(process_gone(pid));
}

/* The pid the fake kedro wrote to rec/<id><suffix>. */
static pid_t recorded_pid(fixture *f, const char *id, const char *suffix)
{
    char path[PATH_MAX], *text;
    pid_t pid;

    snprintf(path, sizeof path, "%s/%s%s", f->rec, id, suffix);
    text = read_all(path);
    assert_non_null(text);
    pid = (pid_t)atoi(text);
    free(text);
    assert_true(pid > 0);
    return pid;
}

/* Runs the fake's orphans<code> pipeline: a background child, a setsid'd daemon and a setsid'd
 * one that ignores SIGTERM, then exit code. Checks the outcome and that none is left: the
 * supervisor exits, and the outcome is recorded, only once the whole tree is gone. */
static void check_orphans_end_with_the_run(fixture *f, const char *name, ke_state want)
{
    const char *suffix[3] = {".bg", ".daemon", ".stubborn"};
    char id[KE_ID_LEN + 1];
    ke_pipeline p;
    int i;

    start(f);
    insert(f, name, id);
    wait_final(f, id, &p);
    assert_int_equal(ke_pipeline_state(&p), want);
    assert_int_equal(last(&p)->exit_code, atoi(name + strlen("orphans")));
    ke_pipeline_release(&p);
    for (i = 0; i < 3; i++)
        assert_true(process_gone(recorded_pid(f, id, suffix[i])));
}

static void success_ends_the_runs_background_children_and_daemons(void **state)
{
    check_orphans_end_with_the_run(*state, "orphans0", KE_STATE_SUCCESS);
}

static void failure_ends_the_runs_background_children_and_daemons(void **state)
{
    check_orphans_end_with_the_run(*state, "orphans3", KE_STATE_FAILURE);
}

static void missing_kedro_bin_fails_as_cannot_run_without_exit_code(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], missing[PATH_MAX + 16], *log;
    const ke_status *st;
    ke_pipeline p;

    snprintf(missing, sizeof missing, "%s/no-such-kedro", f->bin);
    f->o.kedro_bin = missing;
    start(f);
    insert(f, "ok", id);
    wait_final(f, id, &p);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_FAILURE);
    assert_int_equal(st->has_exit_code, 0);
    assert_int_equal(st->signal, 0);
    assert_true(strncmp(st->error, "cannot run \"", 12) == 0);
    assert_non_null(strstr(st->error, "no-such-kedro\": No such file or directory"));
    /* The child said why in the log too. */
    assert_non_null(st->log_path);
    log = read_all(st->log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "cannot run"));
    free(log);
    ke_pipeline_release(&p);
}

static void kedro_missing_from_path_fails_as_cannot_run(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    const ke_status *st;
    ke_pipeline p;

    f->o.kedro_bin = "ke-forward-test-no-such-kedro";
    start(f);
    insert(f, "ok", id);
    wait_final(f, id, &p);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_FAILURE);
    assert_int_equal(st->has_exit_code, 0);
    assert_string_equal(st->error,
                        "cannot run \"ke-forward-test-no-such-kedro\": No such file or directory");
    ke_pipeline_release(&p);
}

static void kedro_is_looked_up_on_path(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], *old = getenv("PATH"), *saved = old != NULL ? strdup(old) : NULL,
                            path[PATH_MAX * 2];
    ke_pipeline p;

    snprintf(path, sizeof path, "/nonexistent-dir:%s:%s", f->bin, saved != NULL ? saved : "");
    setenv("PATH", path, 1);
    f->o.kedro_bin = "kedro";
    start(f);
    insert(f, "ok", id);
    wait_final(f, id, &p);
    if (saved != NULL)
        setenv("PATH", saved, 1);
    free(saved);
    assert_int_equal(ke_pipeline_state(&p), KE_STATE_SUCCESS);
    ke_pipeline_release(&p);
}

static void missing_project_dir_fails_as_cannot_enter_it(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], missing[PATH_MAX + 16];
    const ke_status *st;
    ke_pipeline p;

    snprintf(missing, sizeof missing, "%s/no-such-project", f->dir);
    f->o.project_dir = missing;
    start(f);
    insert(f, "ok", id);
    wait_final(f, id, &p);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_FAILURE);
    assert_int_equal(st->has_exit_code, 0);
    assert_true(strncmp(st->error, "cannot enter project directory", 30) == 0);
    ke_pipeline_release(&p);
}

static void run_file_error_fails_that_pipeline_and_the_next_one_runs(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], id2[KE_ID_LEN + 1], runs[PATH_MAX];
    const ke_status *st;
    ke_pipeline p;

    start(f);
    /* A file where the runs dir was: the run file cannot be written. */
    snprintf(runs, sizeof runs, "%s/runs", f->data);
    assert_int_equal(rmdir(runs), 0);
    write_file(runs, "not a dir\n", 0644);
    insert(f, "ok", id);
    wait_final(f, id, &p);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_FAILURE);
    assert_int_equal(st->has_exit_code, 0);
    assert_non_null(st->error);
    assert_non_null(strstr(st->error, "runs"));
    ke_pipeline_release(&p);

    assert_int_equal(unlink(runs), 0);
    assert_int_equal(mkdir(runs, 0755), 0);
    insert(f, "ok", id2);
    wait_final(f, id2, &p);
    assert_int_equal(ke_pipeline_state(&p), KE_STATE_SUCCESS);
    ke_pipeline_release(&p);
}

/* ---- how the run is called */

/* Whether the recorded call holds line (followed by a newline). */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    const char *p = strstr(text, line);

    for (; p != NULL; p = strstr(p + n, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

static void argv_is_run_pipeline_config_and_cwd_is_the_project(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], want[PATH_MAX * 2], *call, *runfile, *arg;
    ke_pipeline p;

    start(f);
    insert(f, "ok", id);
    wait_final(f, id, &p);
    ke_pipeline_release(&p);
    call = call_of(f, id);
    assert_true(has_line(call, "argc=4"));
    assert_true(has_line(call, "arg=run"));
    assert_true(has_line(call, "arg=--pipeline=ok"));
    assert_true(has_line(call, "arg=--config"));
    assert_null(strstr(call, "arg=--env"));
    /* The order, and an absolute run file under data/runs that holds the pipeline. */
    arg = strstr(call, "arg=--config\narg=");
    assert_non_null(arg);
    assert_non_null(strstr(call, "arg=run\narg=--pipeline=ok\narg=--config\narg=/"));
    arg += strlen("arg=--config\narg=");
    *strchr(arg, '\n') = '\0';
    snprintf(want, sizeof want, "/runs/%s.yml", id);
    assert_true(strlen(arg) > strlen(want));
    assert_string_equal(arg + strlen(arg) - strlen(want), want);
    runfile = read_all(arg);
    assert_non_null(runfile);
    assert_non_null(strstr(runfile, "ok"));
    assert_non_null(strstr(runfile, id));
    free(runfile);
    free(call);

    call = call_of(f, id);
    snprintf(want, sizeof want, "cwd=%s", f->project);
    assert_true(has_line(call, want));
    free(call);
}

static void env_option_adds_env_to_argv(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], *call;
    ke_pipeline p;

    f->o.kedro_env = "staging";
    start(f);
    insert(f, "ok", id);
    wait_final(f, id, &p);
    ke_pipeline_release(&p);
    call = call_of(f, id);
    assert_true(has_line(call, "argc=6"));
    assert_non_null(strstr(call, "arg=--env\narg=staging\n"));
    free(call);
}

static void env_carries_pipeline_id_event_and_server_address(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], want[128], *call;
    ke_pipeline p;

    start(f);
    insert(f, "ok", id);
    wait_final(f, id, &p);
    ke_pipeline_release(&p);
    call = call_of(f, id);
    snprintf(want, sizeof want, "id=%s", id);
    assert_true(has_line(call, want));
    assert_true(has_line(call, "event=" EVENT_JSON));
    assert_true(has_line(call, "server=" SERVER_ADDR));
    free(call);
}

static void inherited_kedro_events_vars_do_not_leak_into_a_run(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], want[128], *call;
    ke_pipeline p;

    setenv("KEDRO_EVENTS_EVENT", "stale", 1);
    setenv("KEDRO_EVENTS_PIPELINE_ID", "stale", 1);
    start(f);
    insert_with(f, "ok", NULL, id);
    wait_final(f, id, &p);
    unsetenv("KEDRO_EVENTS_EVENT");
    unsetenv("KEDRO_EVENTS_PIPELINE_ID");
    ke_pipeline_release(&p);
    call = call_of(f, id);
    snprintf(want, sizeof want, "id=%s", id);
    assert_true(has_line(call, want));
    assert_true(has_line(call, "event=<unset>"));
    free(call);
}

/* ---- scheduling */

static int cmp_event(const void *a, const void *b)
{
    const double *x = a, *y = b;

    /* At equal times an end sorts first: it happened before the next start. */
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

static void at_most_max_runs_run_at_once_and_all_finish(void **state)
{
    fixture *f = *state;
    char ids[6][KE_ID_LEN + 1], path[PATH_MAX], *timeline, *line;
    double events[12][2];
    size_t n = 0, started, i;
    int running = 0, most = 0;
    ke_error err;
    ke_pipeline p;

    f->o.max_runs = 2;
    for (i = 0; i < 6; i++)
        insert(f, "sleep0.5", ids[i]);
    start(f);
    for (i = 0; i < 6; i++) {
        for (;;) {
            ke_error_clear(&err);
            assert_int_equal(ke_store_count(f->store, KE_STATE_STARTED, &started, &err), KE_OK);
            assert_true(started <= 2);
            ke_error_clear(&err);
            assert_int_equal(ke_store_get(f->store, ids[i], &p, &err), KE_OK);
            if (is_final(ke_pipeline_state(&p)))
                break;
            ke_pipeline_release(&p);
            usleep(20 * 1000);
        }
        assert_int_equal(ke_pipeline_state(&p), KE_STATE_SUCCESS);
        ke_pipeline_release(&p);
    }
    snprintf(path, sizeof path, "%s/timeline", f->rec);
    timeline = read_all(path);
    assert_non_null(timeline);
    for (line = strtok(timeline, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        assert_true(n < 12);
        events[n][1] = strncmp(line, "start ", 6) == 0 ? 1 : -1;
        events[n][0] = atof(strchr(line, ' ') + 1);
        n++;
    }
    free(timeline);
    assert_int_equal(n, 12);
    qsort(events, n, sizeof events[0], cmp_event);
    for (i = 0; i < n; i++) {
        running += (int)events[i][1];
        if (running > most)
            most = running;
    }
    assert_int_equal(most, 2);
    assert_int_equal(running, 0);
}

static void oldest_ready_pipeline_runs_first(void **state)
{
    fixture *f = *state;
    char ids[3][KE_ID_LEN + 1], path[PATH_MAX], want[3 * (KE_ID_LEN + 1) + 1], *order;
    ke_pipeline p;
    int i;

    f->o.max_runs = 1;
    for (i = 0; i < 3; i++) {
        insert(f, "ok", ids[i]);
        usleep(2000);
    }
    start(f);
    for (i = 0; i < 3; i++) {
        wait_final(f, ids[i], &p);
        ke_pipeline_release(&p);
    }
    snprintf(path, sizeof path, "%s/order", f->rec);
    order = read_all(path);
    assert_non_null(order);
    snprintf(want, sizeof want, "%s\n%s\n%s\n", ids[0], ids[1], ids[2]);
    assert_string_equal(order, want);
    free(order);
}

static void wake_starts_a_pipeline_inserted_after_start_at_once(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    ke_pipeline p;
    size_t i;

    start(f);
    usleep(50 * 1000); /* the first look found nothing; the next one is IDLE_MS away */
    insert(f, "ok", id);
    wait_final(f, id, &p);
    for (i = 0; i < p.n_status && p.status[i].state != KE_STATE_STARTED; i++)
        ;
    assert_true(i < p.n_status);
    /* Well under IDLE_MS: the store's hook woke the supervisor. */
    assert_true(p.status[i].started_at - p.created_at < 800 * 1000);
    ke_pipeline_release(&p);
}

/* ---- shutdown */

static void stop_with_no_grace_aborts_a_running_child(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    const ke_status *st;
    ke_pipeline p;
    ke_error err;
    int64_t t0;

    start(f);
    insert(f, "sleep30", id);
    wait_call(f, id);
    t0 = mono_ms();
    ke_forwarder_stop(f->fwd, 0);
    assert_true(mono_ms() - t0 < 5000);
    ke_error_clear(&err);
    assert_int_equal(ke_store_get(f->store, id, &p, &err), KE_OK);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_ABORTED);
    assert_int_equal(st->signal, SIGTERM);
    assert_true(strncmp(st->error, "ended by server shutdown", 24) == 0);
    ke_pipeline_release(&p);
}

static void stop_lets_a_run_finish_within_the_grace(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    ke_pipeline p;
    ke_error err;

    start(f);
    insert(f, "sleep0.3", id);
    wait_call(f, id);
    ke_forwarder_stop(f->fwd, 10000);
    ke_error_clear(&err);
    assert_int_equal(ke_store_get(f->store, id, &p, &err), KE_OK);
    assert_int_equal(ke_pipeline_state(&p), KE_STATE_SUCCESS);
    ke_pipeline_release(&p);
}

static void stop_claims_nothing_more(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    ke_pipeline p;
    ke_error err;

    start(f);
    ke_forwarder_stop(f->fwd, 0);
    insert(f, "ok", id);
    usleep(300 * 1000);
    ke_error_clear(&err);
    assert_int_equal(ke_store_get(f->store, id, &p, &err), KE_OK);
    assert_int_equal(ke_pipeline_state(&p), KE_STATE_READY);
    ke_pipeline_release(&p);
}

static void start_rejects_bad_options(void **state)
{
    fixture *f = *state;
    ke_forwarder *fwd = NULL;
    ke_error err;

    f->o.max_runs = 0;
    ke_error_clear(&err);
    assert_int_equal(ke_forwarder_start(f->store, &f->o, &fwd, &err), KE_EINVAL);
    assert_null(fwd);
    assert_non_null(strstr(err.msg, "max_runs"));
}

static void start_fails_when_the_data_dir_cannot_be_made(void **state)
{
    fixture *f = *state;
    char file[PATH_MAX + 16];
    ke_forwarder *fwd = NULL;
    ke_error err;

    snprintf(file, sizeof file, "%s/plain-file", f->dir);
    write_file(file, "x\n", 0644);
    f->o.data_dir = file;
    ke_error_clear(&err);
    assert_int_equal(ke_forwarder_start(f->store, &f->o, &fwd, &err), KE_EIO);
    assert_null(fwd);
    assert_non_null(strstr(err.msg, "plain-file/runs"));
}

static void start_fails_naming_a_missing_supervisor(void **state)
{
    fixture *f = *state;
    ke_forwarder *fwd = NULL;
    ke_error err;

    f->o.supervisor = "/nonexistent/kedro-eventd-supervisor";
    ke_error_clear(&err);
    assert_int_equal(ke_forwarder_start(f->store, &f->o, &fwd, &err), KE_EIO);
    assert_null(fwd);
    assert_non_null(strstr(err.msg, "run supervisor \"/nonexistent/kedro-eventd-supervisor\""));
}

static void mode_of(const char *path, mode_t want)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    if ((st.st_mode & 07777) != want)
        fail_msg("%s has mode %04o, not %04o", path, (unsigned)(st.st_mode & 07777),
                 (unsigned)want);
}

static void logs_and_run_files_are_0600_in_0700_dirs_whatever_the_umask(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1], path[PATH_MAX];
    mode_t old = umask(0);
    ke_pipeline p;

    /* An older server's 0755 logs/ is made private too. */
    snprintf(path, sizeof path, "%s/logs", f->data);
    assert_int_equal(mkdir(path, 0755), 0);
    start(f);
    insert(f, "sleep30", id);
    wait_call(f, id);
    snprintf(path, sizeof path, "%s/runs/%s.yml", f->data, id);
    mode_of(path, 0600);
    ke_forwarder_stop(f->fwd, 0);
    umask(old);
    assert_int_equal(ke_store_get(f->store, id, &p, &(ke_error){0}), KE_OK);
    mode_of(last(&p)->log_path, 0600);
    ke_pipeline_release(&p);
    snprintf(path, sizeof path, "%s/logs", f->data);
    mode_of(path, 0700);
    snprintf(path, sizeof path, "%s/runs", f->data);
    mode_of(path, 0700);
}

/* ---- the log tail */

static void log_tail_keeps_the_last_20_lines(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX], text[1024], *tail;
    size_t n = 0;
    int i;

    for (i = 1; i <= 30; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "line %d\n", i);
    snprintf(path, sizeof path, "%s/log", f->dir);
    write_file(path, text, 0644);
    tail = ke_log_tail(path);
    assert_non_null(tail);
    assert_true(strncmp(tail, "line 11\n", 8) == 0);
    assert_true(strcmp(tail + strlen(tail) - 7, "line 30") == 0);
    free(tail);
}

static void log_tail_keeps_at_most_4_kib_cut_at_a_character_boundary(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX], *text, *tail;
    size_t i, n = 0;

    /* x, 3000 two-byte characters, z: the last 4096 bytes start in the middle of one. */
    text = malloc(3000 * 2 + 3);
    assert_non_null(text);
    text[n++] = 'x';
    for (i = 0; i < 3000; i++) {
        text[n++] = '\xc3';
        text[n++] = '\xa9';
    }
    text[n++] = 'z';
    text[n] = '\0';
    snprintf(path, sizeof path, "%s/log", f->dir);
    write_file(path, text, 0644);
    free(text);
    tail = ke_log_tail(path);
    assert_non_null(tail);
    assert_int_equal(strlen(tail), 4095);
    assert_int_equal(kec_utf8_invalid_at(tail, strlen(tail)), -1);
    assert_int_equal((unsigned char)tail[0], 0xc3);
    assert_int_equal(tail[4094], 'z');
    free(tail);
}

static void log_tail_replaces_bytes_that_are_not_utf8(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX], *tail;

    snprintf(path, sizeof path, "%s/log", f->dir);
    write_file(path, "ok \xff end \xe2\x82\n", 0644);
    tail = ke_log_tail(path);
    assert_non_null(tail);
    assert_string_equal(tail, "ok \xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd");
    free(tail);
}

static void log_tail_of_an_empty_or_missing_log_is_null(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX];

    snprintf(path, sizeof path, "%s/log", f->dir);
    assert_null(ke_log_tail(path));
    write_file(path, "", 0644);
    assert_null(ke_log_tail(path));
    assert_null(ke_log_tail(""));
}

static void failure_error_carries_a_clean_tail_of_a_noisy_log(void **state)
{
    fixture *f = *state;
    char id[KE_ID_LEN + 1];
    const ke_status *st;
    ke_pipeline p;

    start(f);
    insert(f, "spam", id);
    wait_final(f, id, &p);
    st = last(&p);
    assert_int_equal(st->state, KE_STATE_FAILURE);
    assert_int_equal(st->exit_code, 1);
    assert_null(strstr(st->error, "line 11\n"));
    assert_non_null(strstr(st->error, "line 12\n"));
    assert_non_null(strstr(st->error, "bad \xef\xbf\xbd byte"));
    assert_int_equal(kec_utf8_invalid_at(st->error, strlen(st->error)), -1);
    ke_pipeline_release(&p);
}

#define FWD_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FWD_TEST(run_that_exits_0_is_success_with_its_output_in_the_log),
        FWD_TEST(run_that_exits_3_is_failure_with_exit_code_and_log_tail),
        FWD_TEST(run_that_exits_127_is_an_exit_not_a_spawn_failure),
        FWD_TEST(run_killed_by_sigkill_is_failure_with_signal_9),
        FWD_TEST(run_over_its_timeout_is_terminated_and_fails_as_timed_out),
        FWD_TEST(timeout_ends_the_runs_whole_process_group),
        FWD_TEST(success_ends_the_runs_background_children_and_daemons),
        FWD_TEST(failure_ends_the_runs_background_children_and_daemons),
        FWD_TEST(missing_kedro_bin_fails_as_cannot_run_without_exit_code),
        FWD_TEST(kedro_missing_from_path_fails_as_cannot_run),
        FWD_TEST(kedro_is_looked_up_on_path),
        FWD_TEST(missing_project_dir_fails_as_cannot_enter_it),
        FWD_TEST(run_file_error_fails_that_pipeline_and_the_next_one_runs),
        FWD_TEST(argv_is_run_pipeline_config_and_cwd_is_the_project),
        FWD_TEST(env_option_adds_env_to_argv),
        FWD_TEST(env_carries_pipeline_id_event_and_server_address),
        FWD_TEST(inherited_kedro_events_vars_do_not_leak_into_a_run),
        FWD_TEST(at_most_max_runs_run_at_once_and_all_finish),
        FWD_TEST(oldest_ready_pipeline_runs_first),
        FWD_TEST(wake_starts_a_pipeline_inserted_after_start_at_once),
        FWD_TEST(stop_with_no_grace_aborts_a_running_child),
        FWD_TEST(stop_lets_a_run_finish_within_the_grace),
        FWD_TEST(stop_claims_nothing_more),
        FWD_TEST(start_rejects_bad_options),
        FWD_TEST(start_fails_when_the_data_dir_cannot_be_made),
        FWD_TEST(start_fails_naming_a_missing_supervisor),
        FWD_TEST(logs_and_run_files_are_0600_in_0700_dirs_whatever_the_umask),
        FWD_TEST(log_tail_keeps_the_last_20_lines),
        FWD_TEST(log_tail_keeps_at_most_4_kib_cut_at_a_character_boundary),
        FWD_TEST(log_tail_replaces_bytes_that_are_not_utf8),
        FWD_TEST(log_tail_of_an_empty_or_missing_log_is_null),
        FWD_TEST(failure_error_carries_a_clean_tail_of_a_noisy_log),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
