/* test_runfile.c -- unit tests of the run file (server/runfile.c), read back by a real peer:
 * Debian's Python loading it with OmegaConf exactly as Kedro does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "pipeline.h"
#include "runfile.h"

#define PYTHON "/usr/bin/python3"
#define BIG_LEN (200 * 1024) /* the large value's size */

/* Loads argv[1] the way Kedro's --config does and prints the pipeline name and every
 * parameter as [value, type name], in file order, as JSON (ASCII, so no locale matters). */
static const char load_script[] =
    "import json, sys\n"
    "from omegaconf import OmegaConf\n"
    "c = OmegaConf.load(sys.argv[1])\n"
    "d = OmegaConf.to_container(c, resolve=True)\n"
    "print(json.dumps({'pipeline': d['run']['pipeline'],\n"
    "                  'params': {k: [v, type(v).__name__]\n"
    "                             for k, v in d['run']['params'].items()}}))\n";

static int have_omegaconf; /* 1 when /usr/bin/python3 can import omegaconf */

/* What every test gets: a fresh temporary directory and the run file's path in it. */
typedef struct fixture {
    char dir[64];   /* mkdtemp directory */
    char path[128]; /* dir/run.yml */
} fixture;

/* A parameter a test hands to the run file. */
typedef struct param {
    const char *name;  /* parameter name */
    const char *value; /* its text */
    const char *type;  /* ke_param type: "string", "int", "float", "bool" */
} param;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/ke-runfile-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/run.yml", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Runs argv (argv[0] a full path) and returns its whole stdout as a heap string (caller
 * frees), or NULL when it could not run or did not exit 0. */
static char *run_capture(char *const argv[])
{
    int fds[2] = {-1, -1}, status;
    char *out = NULL, *grown;
    size_t len = 0, cap = 0;
    ssize_t n;
    pid_t pid;

    if (pipe(fds) != 0)
        return NULL;
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap == 0 ? 65536 : cap * 2;
            grown = realloc(out, cap);
            if (grown == NULL)
                break;
            out = grown;
        }
        n = read(fds[0], out + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (out == NULL || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return out;
}

/* Loads path with OmegaConf in a Python process and returns what it printed, parsed
 * ({"pipeline": ..., "params": {name: [value, type]}}); fails the test when it cannot. */
static cJSON *load_with_omegaconf(const char *path)
{
    char *argv[] = {PYTHON, "-c", (char *)load_script, (char *)path, NULL};
    char *out = run_capture(argv);
    cJSON *doc;

    if (out == NULL)
        fail_msg("python could not load %s with OmegaConf", path);
    doc = cJSON_Parse(out);
    free(out);
    if (doc == NULL)
        fail_msg("python printed something that is not JSON for %s", path);
    return doc;
}

/* Writes a run file for pipeline name with the n params ps at path, asserting success. */
static void write_run(const char *path, const char *name, const param *ps, size_t n)
{
    ke_pipeline p;
    ke_error err;
    size_t i;

    ke_error_clear(&err);
    assert_int_equal(ke_pipeline_init(&p, name, KE_STATE_READY), KE_OK);
    for (i = 0; i < n; i++)
        assert_int_equal(ke_pipeline_add_param(&p, ps[i].name, ps[i].value, ps[i].type), KE_OK);
    if (ke_runfile_write(path, &p, &err) != KE_OK)
        fail_msg("ke_runfile_write: %s", err.msg);
    ke_pipeline_release(&p);
}

/* Asserts that got, a parameter as the peer printed it ([value, type]), is the str
 * `want`, byte for byte. */
static void assert_exact_str(const cJSON *got, const char *name, const char *want)
{
    const cJSON *v = cJSON_GetArrayItem(got, 0), *t = cJSON_GetArrayItem(got, 1);

    if (!cJSON_IsString(v) || !cJSON_IsString(t))
        fail_msg("parameter %s: not a [value, type] pair", name);
    if (strcmp(t->valuestring, "str") != 0)
        fail_msg("parameter %s arrived as %s, not str", name, t->valuestring);
    if (strlen(v->valuestring) != strlen(want) || strcmp(v->valuestring, want) != 0)
        fail_msg("parameter %s arrived changed: sent %zu bytes, got %zu", name, strlen(want),
                 strlen(v->valuestring));
}

/* Writes the run file, loads it with the peer and checks that every parameter arrives, in
 * order, as the exact str sent, and the pipeline name too. */
static void assert_round_trip(const char *path, const char *name, const param *ps, size_t n)
{
    const cJSON *params, *got;
    cJSON *doc;
    size_t i = 0;

    if (!have_omegaconf)
        skip();
    write_run(path, name, ps, n);
    doc = load_with_omegaconf(path);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "pipeline")->valuestring, name);
    params = cJSON_GetObjectItemCaseSensitive(doc, "params");
    assert_int_equal(cJSON_GetArraySize(params), n);
    cJSON_ArrayForEach(got, params)
    {
        assert_string_equal(got->string, ps[i].name); /* order kept */
        assert_exact_str(got, ps[i].name, ps[i].value);
        i++;
    }
    cJSON_Delete(doc);
}

/* The number of entries in dir, "." and ".." aside. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void runfile_tricky_strings_arrive_exact_as_str(void **state)
{
    fixture *f = *state;
    static const param ps[] = {
        {"id", "6f1c2b9e-0d4a-4c1e-9a57-3f2b8c7d1e00", "string"},
        {"commas", "a,b,,c", "string"},
        {"quotes", "it's \"quoted\" and 'single'", "string"},
        {"backslashes", "C:\\path\\to\\ \\\\ \\n \\u0041 \\", "string"},
        {"newlines", "line 1\nline 2\n\nend\n", "string"},
        {"crlf", "a\r\nb\r\n", "string"},
        {"lone_cr", "a\rb", "string"},
        {"tabs", "\tcol1\tcol2\t", "string"},
        {"emoji", "\xf0\x9f\x9a\x80 launch \xf0\x9f\x98\x80", "string"},
        {"u2028",
         "before\xe2\x80\xa8"
         "after",
         "string"},
        {"u2029",
         "before\xe2\x80\xa9"
         "after",
         "string"},
        {"u0085",
         "before\xc2\x85"
         "after",
         "string"},
        {"ufeff",
         "\xef\xbb\xbf"
         "bom at start and \xef\xbb\xbf in the middle",
         "string"},
        {"nbsp",
         "a\xc2\xa0"
         "b",
         "string"},
        {"non_ascii", "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87", "string"},
        {"controls", "\x01\x07\x08\x0b\x0c\x1b\x1f\x7f", "string"},
        {"c1_controls", "\xc2\x80\xc2\x9f", "string"},
        {"nonchars", "\xef\xbf\xbe\xef\xbf\xbf\xf4\x8f\xbf\xbf", "string"},
        {"event",
         "{\"specversion\": \"1.0\", \"id\": \"A234-1234-1234\", \"source\": \"example.com\", "
         "\"type\": \"com.example.event\", \"time\": \"2024-01-02T03:04:05.123Z\", "
         "\"data\": {\"msg\": \"say \\\"hi\\\", then: bye\", \"path\": \"C:\\\\x\", "
         "\"nested\": {\"list\": [1, \"two\", null, true]}}}",
         "string"},
        {"int_like", "10", "string"},
        {"true_like", "true", "string"},
        {"yes_like", "yes", "string"},
        {"null_like", "null", "string"},
        {"tilde", "~", "string"},
        {"exp_like", "1e3", "string"},
        {"hex_like", "0x10", "string"},
        {"octal_like", "010", "string"},
        {"float_like", ".5", "string"},
        {"inf_like", ".inf", "string"},
        {"date_like", "2024-01-02", "string"},
        {"empty", "", "string"},
        {"spaces", "  leading and trailing  ", "string"},
        {"only_space", " ", "string"},
        {"hash", "# not a comment", "string"},
        {"inner_hash", "a #b", "string"},
        {"colon_space", "key: value", "string"},
        {"dash_space", "- item", "string"},
        {"bracket", "[1, 2", "string"},
        {"brace", "{a: 1", "string"},
        {"anchor", "&anchor", "string"},
        {"alias", "*alias", "string"},
        {"tag", "!tag", "string"},
        {"percent", "%YAML 1.2", "string"},
        {"at", "@home", "string"},
        {"backtick", "`cmd`", "string"},
        {"pipe", "| literal", "string"},
        {"gt", "> folded", "string"},
        {"doc_markers", "---\n...\n", "string"},
        {"question", "? key", "string"},
        {"omegaconf_missing", "???", "string"},
        {"lone_dollar", "$5 and $ {x} and {$} and $", "string"},
    };

    assert_round_trip(f->path, "event00", ps, sizeof ps / sizeof *ps);
}

static void runfile_pipeline_name_arrives_exact(void **state)
{
    fixture *f = *state;
    static const param ps[] = {{"id", "x", "string"}};

    assert_round_trip(f->path, "data \"science\" \xc3\xa9: #1", ps, 1);
}

static void runfile_odd_parameter_names_arrive_exact(void **state)
{
    fixture *f = *state;
    char long_name[201];
    param ps[] = {
        {"true", "t", "string"},
        {"10", "ten", "string"},
        {"~", "tilde", "string"},
        {"a: b", "colon", "string"},
        {"multi\nline", "newline", "string"},
        {"\xe4\xb8\xad", "non-ASCII", "string"},
        {long_name, "a name over libyaml's 128-byte simple-key limit", "string"},
    };

    memset(long_name, 'k', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_round_trip(f->path, "event00", ps, sizeof ps / sizeof *ps);
}

static void runfile_large_value_is_not_folded(void **state)
{
    fixture *f = *state;
    char *big = malloc(BIG_LEN + 1);
    param ps[] = {{"event", NULL, "string"}};
    size_t i;

    assert_non_null(big);
    for (i = 0; i < BIG_LEN; i++) /* words, spaces and the odd newline: what folding breaks */
        big[i] = i % 97 == 96 ? '\n' : i % 7 == 6 ? ' ' : (char)('a' + i % 26);
    big[BIG_LEN] = '\0';
    ps[0].value = big;
    assert_round_trip(f->path, "event00", ps, 1);
    free(big);
}

/* The DESIGN rule: the event JSON carries `\u0024{` where it means `${`, which OmegaConf
 * leaves alone; the parsed event is unchanged. */
static void runfile_escaped_dollar_brace_is_not_interpolated(void **state)
{
    fixture *f = *state;
    static const param ps[] = {
        {"event",
         "{\"specversion\": \"1.0\", \"data\": {\"template\": \"\\u0024{oc.env:HOME}\", "
         "\"twice\": \"\\u0024{a}\\u0024{b}\", \"escaped_backslash\": \"\\\\\\u0024{x}\"}}",
         "string"},
        {"plain", "\\u0024{runfile_probe}", "string"},
    };

    assert_round_trip(f->path, "event00", ps, sizeof ps / sizeof *ps);
}

/* A raw `${` in a value would be resolved by OmegaConf (here: the server's environment);
 * every value is written with OmegaConf's escape (k backslashes before `${` become 2k+1),
 * so each arrives as the exact str, and OmegaConf's MISSING marker `???` as "???". */
static void runfile_dollar_brace_arrives_exact_through_omegaconf(void **state)
{
    fixture *f = *state;
    static const param ps[] = {
        {"p", "${oc.env:KE_RUNFILE_PROBE}", "string"},
        {"one", "\\${x}", "string"},
        {"two", "\\\\${x}", "string"},
        {"three", "a\\\\\\${x}${y}b\\", "string"},
        {"missing", "???", "string"},
        {"open", "${", "string"},
        {"dollars", "$${a}$", "string"},
        {"trailing", "x\\", "string"},
        {"plain", "\\\\no interpolation \\$ {}", "string"},
    };

    if (!have_omegaconf)
        skip();
    assert_int_equal(setenv("KE_RUNFILE_PROBE", "resolved", 1), 0);
    assert_round_trip(f->path, "event00", ps, sizeof ps / sizeof *ps);
    unsetenv("KE_RUNFILE_PROBE");
}

/* The contract: every value is handed over as text, typed static parameters too. */
static void runfile_typed_static_params_arrive_as_their_text(void **state)
{
    fixture *f = *state;
    static const param ps[] = {
        {"level", "3", "int"},        {"negative", "-12", "int"}, {"ratio", "0.25", "float"},
        {"huge", "1e+300", "float"},  {"on", "true", "bool"},     {"off", "false", "bool"},
        {"octal_like", "010", "int"},
    };

    assert_round_trip(f->path, "event00", ps, sizeof ps / sizeof *ps);
}

static void runfile_is_created_private(void **state)
{
    fixture *f = *state;
    static const param ps[] = {{"id", "x", "string"}};
    struct stat st;

    write_run(f->path, "event00", ps, 1);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(count_entries(f->dir), 1); /* no temporary file left */
}

static void runfile_replaces_an_existing_file(void **state)
{
    fixture *f = *state;
    static const param first[] = {{"id", "first", "string"}};
    static const param second[] = {{"id", "second", "string"}, {"extra", "e", "string"}};
    FILE *old = fopen(f->path, "w");
    struct stat st;

    assert_non_null(old);
    fputs("run: {pipeline: stale}\n", old);
    fclose(old);
    assert_int_equal(chmod(f->path, 0644), 0);
    write_run(f->path, "event00", first, 1);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_round_trip(f->path, "other", second, 2);
    assert_int_equal(count_entries(f->dir), 1);
}

static void runfile_unwritable_directory_is_eio_naming_the_path(void **state)
{
    fixture *f = *state;
    char path[192], file[160];
    ke_pipeline p;
    ke_error err;
    FILE *fp;

    assert_int_equal(ke_pipeline_init(&p, "event00", KE_STATE_READY), KE_OK);
    assert_int_equal(ke_pipeline_add_param(&p, "id", "x", "string"), KE_OK);

    snprintf(path, sizeof path, "%s/missing/run.yml", f->dir); /* no such directory */
    ke_error_clear(&err);
    assert_int_equal(ke_runfile_write(path, &p, &err), KE_EIO);
    assert_int_equal(err.code, KE_EIO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, strerror(ENOENT)));

    snprintf(file, sizeof file, "%s/plain", f->dir); /* a file where a directory should be */
    fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/run.yml", file);
    ke_error_clear(&err);
    assert_int_equal(ke_runfile_write(path, &p, &err), KE_EIO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, strerror(ENOTDIR)));

    if (geteuid() != 0) { /* root writes into read-only directories anyway */
        assert_int_equal(chmod(f->dir, 0500), 0);
        ke_error_clear(&err);
        assert_int_equal(ke_runfile_write(f->path, &p, &err), KE_EIO);
        assert_int_equal(chmod(f->dir, 0700), 0);
        assert_non_null(strstr(err.msg, f->path));
        assert_non_null(strstr(err.msg, strerror(EACCES)));
    }
    assert_int_equal(count_entries(f->dir), 1); /* only "plain": nothing half-written */
    ke_pipeline_release(&p);
}

static void runfile_invalid_utf8_is_eio_and_leaves_nothing(void **state)
{
    fixture *f = *state;
    ke_pipeline p;
    ke_error err;

    assert_int_equal(ke_pipeline_init(&p, "event00", KE_STATE_READY), KE_OK);
    assert_int_equal(ke_pipeline_add_param(&p, "id", "x", "string"), KE_OK);
    assert_int_equal(ke_pipeline_add_param(&p, "blob", "bad \xff byte", "string"), KE_OK);
    ke_error_clear(&err);
    assert_int_equal(ke_runfile_write(f->path, &p, &err), KE_EIO);
    assert_non_null(strstr(err.msg, f->path));
    assert_non_null(strstr(err.msg, "parameter \"blob\" has a value that is not UTF-8"));
    assert_int_equal(count_entries(f->dir), 0);
    ke_pipeline_release(&p);

    assert_int_equal(ke_pipeline_init(&p, "bad \xed\xa0\x80 surrogate", KE_STATE_READY), KE_OK);
    ke_error_clear(&err);
    assert_int_equal(ke_runfile_write(f->path, &p, &err), KE_EIO);
    assert_non_null(
        strstr(err.msg, "pipeline name \"bad \\xed\\xa0\\x80 surrogate\" is not UTF-8"));
    assert_int_equal(count_entries(f->dir), 0);
    ke_pipeline_release(&p);
}

static void runfile_first_error_wins(void **state)
{
    fixture *f = *state;
    char path[192];
    ke_pipeline p;
    ke_error err;

    assert_int_equal(ke_pipeline_init(&p, "event00", KE_STATE_READY), KE_OK);
    snprintf(path, sizeof path, "%s/missing/run.yml", f->dir);
    ke_error_clear(&err);
    ke_error_set(&err, KE_EINVAL, "earlier");
    assert_int_equal(ke_runfile_write(path, &p, &err), KE_EIO);
    assert_int_equal(err.code, KE_EINVAL);
    assert_string_equal(err.msg, "earlier");
    ke_pipeline_release(&p);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(runfile_tricky_strings_arrive_exact_as_str),
        T(runfile_pipeline_name_arrives_exact),
        T(runfile_odd_parameter_names_arrive_exact),
        T(runfile_large_value_is_not_folded),
        T(runfile_escaped_dollar_brace_is_not_interpolated),
        T(runfile_dollar_brace_arrives_exact_through_omegaconf),
        T(runfile_typed_static_params_arrive_as_their_text),
        T(runfile_is_created_private),
        T(runfile_replaces_an_existing_file),
        T(runfile_unwritable_directory_is_eio_naming_the_path),
        T(runfile_invalid_utf8_is_eio_and_leaves_nothing),
        T(runfile_first_error_wins),
    };
    char *argv[] = {PYTHON, "-c", "import omegaconf", NULL};
    char *out = access(PYTHON, X_OK) == 0 ? run_capture(argv) : NULL;
    int failed;

    have_omegaconf = out != NULL;
    free(out);
    if (!have_omegaconf)
        print_message("%s cannot import omegaconf: the peer tests are skipped\n", PYTHON);
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed == 0 && !have_omegaconf)
        return 77;
    return failed;
}
