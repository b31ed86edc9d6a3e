/* test_dotenv.c -- unit tests of the .env reader (ke_dotenv_parse, ke_dotenv_read) and of
 * ke_read_file, through their public API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dotenv.h"

/* ---- helpers */

/* The variables asked of every .env text below, by index. */
enum { CANONICAL, ALIAS, TYPO, N_VARS };
static const char *const var_names[N_VARS] = {
    "KEDRO_GRAPHQL_EVENTS_CONFIG", "KEDRO_GRAPHQL_EVENT_CONFIG", "KEDROG_GRAPHQL_EVENTS_CONFIG"};

/* Fails the test unless hay contains needle. */
static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

/* Sets each var to ask for its name, with no value yet. */
static void init_vars(ke_dotenv_var vars[N_VARS])
{
    int v;

    memset(vars, 0, N_VARS * sizeof *vars);
    for (v = 0; v < N_VARS; v++)
        vars[v].name = var_names[v];
}

static void free_vars(ke_dotenv_var vars[N_VARS])
{
    int v;

    for (v = 0; v < N_VARS; v++)
        free(vars[v].value);
}

/* Parses .env text, expecting success; vars freed with free_vars. */
static void dotenv_ok(const char *text, ke_dotenv_var vars[N_VARS])
{
    ke_error err;

    ke_error_clear(&err);
    init_vars(vars);
    if (ke_dotenv_parse(".env", text, vars, N_VARS, &err) != KE_OK)
        fail_msg("dotenv failed: %s", err.msg);
}

/* Expects the .env text to be refused, naming ".env:<line>". */
static void dotenv_fails(const char *text, const char *where)
{
    ke_dotenv_var vars[N_VARS];
    ke_error err;

    ke_error_clear(&err);
    init_vars(vars);
    assert_int_equal(ke_dotenv_parse(".env", text, vars, N_VARS, &err), KE_ECONFIG);
    assert_int_equal(err.code, KE_ECONFIG);
    assert_contains(err.msg, where);
    free_vars(vars);
}

/* Writes the n bytes of text to a new temporary file whose name goes to path (>= 32 bytes). */
static void write_temp_n(char *path, const char *text, size_t n)
{
    int fd;

    strcpy(path, "/tmp/ke_test_dotenv_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static void write_temp(char *path, const char *text)
{
    write_temp_n(path, text, strlen(text));
}

/* ---- ke_dotenv_parse */

static void dotenv_skips_blank_lines_and_comments(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("# a comment\n\n   \n  # KEDRO_GRAPHQL_EVENTS_CONFIG=no\n"
              "KEDRO_GRAPHQL_EVENTS_CONFIG=yes\n",
              v);
    assert_string_equal(v[CANONICAL].value, "yes");
    assert_int_equal(v[CANONICAL].line, 5);
    assert_null(v[ALIAS].value);
    free_vars(v);
}

static void dotenv_accepts_export_prefix(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("export KEDRO_GRAPHQL_EVENTS_CONFIG={}\nexport\tKEDRO_GRAPHQL_EVENT_CONFIG=x", v);
    assert_string_equal(v[CANONICAL].value, "{}");
    assert_string_equal(v[ALIAS].value, "x");
    assert_int_equal(v[ALIAS].line, 2);
    free_vars(v);
}

static void dotenv_tolerates_whitespace_around_key_and_equals(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("  KEDRO_GRAPHQL_EVENTS_CONFIG \t=  {\"a\": 1}  \n", v);
    assert_string_equal(v[CANONICAL].value, "{\"a\": 1}");
    free_vars(v);
}

static void dotenv_unquoted_value_is_trimmed_and_comment_stripped(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG= a b  # a comment\n"
              "KEDRO_GRAPHQL_EVENT_CONFIG=a#b\n"
              "KEDROG_GRAPHQL_EVENTS_CONFIG=#x",
              v);
    assert_string_equal(v[CANONICAL].value, "a b");
    assert_string_equal(v[ALIAS].value, "a#b");
    assert_string_equal(v[TYPO].value, "#x");
    free_vars(v);
}

static void dotenv_single_quoted_value_keeps_json(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG='{\"event00\": {\"source\": \"example.com\", \"type\": "
              "\"com.example.event\"}}'  # comment\n",
              v);
    assert_string_equal(v[CANONICAL].value, "{\"event00\": {\"source\": \"example.com\", \"type\": "
                                            "\"com.example.event\"}}");
    free_vars(v);
}

static void dotenv_single_quotes_decode_only_backslash_and_quote(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    /* As python-dotenv: \\ and \' decoded, \n and others kept. */
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG='a\\\\b\\'c\\n\\u0041 #x'\n", v);
    assert_string_equal(v[CANONICAL].value, "a\\b'c\\n\\u0041 #x");
    free_vars(v);
}

static void dotenv_double_quoted_value_decodes_escapes(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG=\"{\\\"a\\\": \\\"b\\\"}\\n\\t\\\\x\\q\\u0041'\"\n", v);
    assert_string_equal(v[CANONICAL].value, "{\"a\": \"b\"}\n\t\\x\\q\\u0041'");
    free_vars(v);
}

static void dotenv_quoted_value_may_span_lines(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("OTHER=1\nKEDRO_GRAPHQL_EVENTS_CONFIG='{\n  \"e\": 1\n}'\n"
              "KEDRO_GRAPHQL_EVENT_CONFIG=\"x\ny\"\nKEDROG_GRAPHQL_EVENTS_CONFIG=z\n",
              v);
    assert_string_equal(v[CANONICAL].value, "{\n  \"e\": 1\n}");
    assert_int_equal(v[CANONICAL].line, 2);
    assert_string_equal(v[ALIAS].value, "x\ny");
    assert_int_equal(v[ALIAS].line, 5);
    assert_int_equal(v[TYPO].line, 7);
    free_vars(v);
}

static void dotenv_counts_crlf_lines(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok(
        "# c\r\nA=1\r\n\r\nKEDRO_GRAPHQL_EVENTS_CONFIG='{}'\r\nKEDRO_GRAPHQL_EVENT_CONFIG=x\r\n",
        v);
    assert_string_equal(v[CANONICAL].value, "{}");
    assert_int_equal(v[CANONICAL].line, 4);
    assert_string_equal(v[ALIAS].value, "x");
    assert_int_equal(v[ALIAS].line, 5);
    free_vars(v); /* As Python's universal newlines: \r\n and \r read as \n, inside quotes too. */
    dotenv_ok("A=1\rKEDRO_GRAPHQL_EVENTS_CONFIG='a\r\nb\rc'\r\nKEDRO_GRAPHQL_EVENT_CONFIG=x", v);
    assert_string_equal(v[CANONICAL].value, "a\nb\nc");
    assert_int_equal(v[CANONICAL].line, 2);
    assert_int_equal(v[ALIAS].line, 5);
    free_vars(v);
}

static void dotenv_last_assignment_wins_and_bare_name_unsets(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG=1\nKEDRO_GRAPHQL_EVENTS_CONFIG=2\n"
              "KEDRO_GRAPHQL_EVENT_CONFIG=3\nKEDRO_GRAPHQL_EVENT_CONFIG\n",
              v);
    assert_string_equal(v[CANONICAL].value, "2");
    assert_int_equal(v[CANONICAL].line, 2);
    assert_null(v[ALIAS].value);
    free_vars(v);
}

static void dotenv_ignores_other_names(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("PATH=/x\nKEDRO_GRAPHQL_EVENTS_CONFIGX=1\nXKEDRO_GRAPHQL_EVENTS_CONFIG=2\n"
              "kedro_graphql_events_config=3\nEMPTY=\n",
              v);
    assert_null(v[CANONICAL].value);
    assert_null(v[ALIAS].value);
    assert_null(v[TYPO].value);
    free_vars(v);
}

static void dotenv_reads_empty_values(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG=\nKEDRO_GRAPHQL_EVENT_CONFIG=''\n"
              "KEDROG_GRAPHQL_EVENTS_CONFIG=   ",
              v);
    assert_string_equal(v[CANONICAL].value, "");
    assert_string_equal(v[ALIAS].value, "");
    assert_string_equal(v[TYPO].value, "");
    free_vars(v);
}

static void dotenv_accepts_quoted_name(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("'KEDRO_GRAPHQL_EVENTS_CONFIG' = '{}'", v);
    assert_string_equal(v[CANONICAL].value, "{}");
    free_vars(v);
}

static void dotenv_finds_closing_quote_like_python_dotenv(void **state)
{
    ke_dotenv_var v[N_VARS];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENT_CONFIG='a\\'b'\n", v);
    assert_string_equal(v[ALIAS].value, "a'b");
    free_vars(v);
    /* No unescaped quote follows: the regex backtracks to the last escaped one. */
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG='C:\\dir\\'\n", v);
    assert_string_equal(v[CANONICAL].value, "C:\\dir\\");
    free_vars(v);
    /* An unescaped quote on a later line closes the value there, text after it is refused. */
    dotenv_fails("KEDRO_GRAPHQL_EVENTS_CONFIG='C:\\dir\\'\nB='x'\n", ".env:1: cannot parse");
}

static void dotenv_rejects_malformed_lines(void **state)
{
    (void)state;
    dotenv_fails("A=1\nKEDRO_GRAPHQL_EVENTS_CONFIG='{\"a\": 1}\n",
                 ".env:2: cannot parse this line: "
                 "unterminated single-quoted");
    dotenv_fails("A=\"abc\n", ".env:1: cannot parse this line: unterminated double-quoted");
    dotenv_fails("\n\nA='x' y\n", ".env:3: cannot parse this line: unexpected text after");
    dotenv_fails("# c\nthis is not an assignment\n", ".env:2: cannot parse this line: expected "
                                                     "NAME=VALUE");
    dotenv_fails("=value\n", ".env:1");
    dotenv_fails("'' = x\n", ".env:1");
}

static void dotenv_asks_only_for_the_names_given(void **state)
{
    ke_dotenv_var v[2] = {{.name = "A"}, {.name = "B_C"}};
    ke_error err;

    (void)state;
    ke_error_clear(&err);
    assert_int_equal(ke_dotenv_parse(".env", "A=1\nB=2\nB_C='x y'\nAB=3\n", v, 2, &err), KE_OK);
    assert_string_equal(v[0].value, "1");
    assert_int_equal(v[0].line, 1);
    assert_string_equal(v[1].value, "x y");
    assert_int_equal(v[1].line, 3);
    free(v[0].value);
    free(v[1].value);
    /* Asking for nothing still checks the syntax. */
    assert_int_equal(ke_dotenv_parse(".env", "A=1\n", NULL, 0, &err), KE_OK);
    assert_int_equal(ke_dotenv_parse(".env", "A='x\n", NULL, 0, &err), KE_ECONFIG);
    assert_contains(err.msg, ".env:1: cannot parse this line");
}

static void dotenv_values_are_freed_by_the_caller_on_failure(void **state)
{
    ke_dotenv_var v[N_VARS];
    ke_error err;

    (void)state;
    /* A value set before the broken line is the caller's to free (valgrind checks). */
    ke_error_clear(&err);
    init_vars(v);
    assert_int_equal(
        ke_dotenv_parse(".env", "KEDRO_GRAPHQL_EVENTS_CONFIG=x\nA='y\n", v, N_VARS, &err),
        KE_ECONFIG);
    assert_contains(err.msg, ".env:2: cannot parse this line: unterminated single-quoted");
    free_vars(v);
}

/* ---- ke_dotenv_read and ke_read_file */

static void read_takes_variables_from_the_file(void **state)
{
    ke_dotenv_var v[N_VARS];
    char path[64];
    ke_error err;

    (void)state;
    write_temp(path, "# events\n\nexport KEDRO_GRAPHQL_EVENTS_CONFIG='{}'\r\n"
                     "KEDRO_GRAPHQL_EVENT_CONFIG=x\n");
    ke_error_clear(&err);
    init_vars(v);
    assert_int_equal(ke_dotenv_read(path, v, N_VARS, &err), KE_OK);
    assert_string_equal(v[CANONICAL].value, "{}");
    assert_int_equal(v[CANONICAL].line, 3);
    assert_string_equal(v[ALIAS].value, "x");
    assert_int_equal(v[ALIAS].line, 4);
    assert_null(v[TYPO].value);
    free_vars(v);
    unlink(path);
}

static void read_missing_file_sets_nothing(void **state)
{
    ke_dotenv_var v[N_VARS];
    ke_error err;

    (void)state;
    ke_error_clear(&err);
    init_vars(v);
    assert_int_equal(ke_dotenv_read("/nonexistent/ke-test/.env", v, N_VARS, &err), KE_OK);
    assert_null(v[CANONICAL].value);
    assert_null(v[ALIAS].value);
    assert_null(v[TYPO].value);
}

static void read_names_path_and_line_of_errors(void **state)
{
    char path[64], where[256];
    ke_dotenv_var v[N_VARS];
    ke_error err;

    (void)state;
    write_temp(path, "A=1\n\nKEDRO_GRAPHQL_EVENTS_CONFIG='{}' trailing\n");
    ke_error_clear(&err);
    init_vars(v);
    assert_int_equal(ke_dotenv_read(path, v, N_VARS, &err), KE_ECONFIG);
    snprintf(where, sizeof where, "%s:3: cannot parse this line", path);
    assert_contains(err.msg, where);
    assert_contains(err.msg, "unexpected text after the quoted value");
    free_vars(v);
    unlink(path);
}

static void read_refuses_nul_byte(void **state)
{
    static const char text[] = "A=1\nKEDRO_GRAPHQL_EVENTS_CONFIG='a\0b'\n";
    char path[64], where[256];
    ke_dotenv_var v[N_VARS];
    ke_error err;

    (void)state;
    write_temp_n(path, text, sizeof text - 1);
    ke_error_clear(&err);
    init_vars(v);
    assert_int_equal(ke_dotenv_read(path, v, N_VARS, &err), KE_ECONFIG);
    snprintf(where, sizeof where, "%s:2: NUL byte", path);
    assert_contains(err.msg, where);
    assert_null(v[CANONICAL].value);
    free_vars(v);
    unlink(path);
}

static void read_unreadable_file_is_refused(void **state)
{
    ke_dotenv_var v[N_VARS];
    ke_error err;

    (void)state;
    ke_error_clear(&err);
    init_vars(v);
    assert_int_equal(ke_dotenv_read("/tmp", v, N_VARS, &err), KE_ECONFIG);
    assert_contains(err.msg, "/tmp: cannot read");
    assert_contains(err.msg, "directory");
    free_vars(v);
}

static void read_file_reads_whole_file_up_to_the_limit(void **state)
{
    char path[64], *buf = (char *)1;
    size_t len = 1;

    (void)state;
    write_temp(path, "");
    assert_int_equal(ke_read_file(path, 8, &buf, &len), 0);
    assert_int_equal(len, 0);
    assert_string_equal(buf, ""); /* an empty file still gets its NUL */
    free(buf);
    unlink(path);

    write_temp(path, "12345678");
    assert_int_equal(ke_read_file(path, 8, &buf, &len), 0);
    assert_int_equal(len, 8);
    assert_string_equal(buf, "12345678");
    free(buf);
    assert_int_equal(ke_read_file(path, 7, &buf, &len), EFBIG);
    assert_null(buf);
    assert_int_equal(len, 0);
    unlink(path);

    assert_int_equal(ke_read_file("/nonexistent/ke-test/x", 8, &buf, &len), ENOENT);
    assert_null(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dotenv_skips_blank_lines_and_comments),
        cmocka_unit_test(dotenv_accepts_export_prefix),
        cmocka_unit_test(dotenv_tolerates_whitespace_around_key_and_equals),
        cmocka_unit_test(dotenv_unquoted_value_is_trimmed_and_comment_stripped),
        cmocka_unit_test(dotenv_single_quoted_value_keeps_json),
        cmocka_unit_test(dotenv_single_quotes_decode_only_backslash_and_quote),
        cmocka_unit_test(dotenv_double_quoted_value_decodes_escapes),
        cmocka_unit_test(dotenv_quoted_value_may_span_lines),
        cmocka_unit_test(dotenv_counts_crlf_lines),
        cmocka_unit_test(dotenv_last_assignment_wins_and_bare_name_unsets),
        cmocka_unit_test(dotenv_ignores_other_names),
        cmocka_unit_test(dotenv_reads_empty_values),
        cmocka_unit_test(dotenv_accepts_quoted_name),
        cmocka_unit_test(dotenv_finds_closing_quote_like_python_dotenv),
        cmocka_unit_test(dotenv_rejects_malformed_lines),
        cmocka_unit_test(dotenv_asks_only_for_the_names_given),
        cmocka_unit_test(dotenv_values_are_freed_by_the_caller_on_failure),
        cmocka_unit_test(read_takes_variables_from_the_file),
        cmocka_unit_test(read_missing_file_sets_nothing),
        cmocka_unit_test(read_names_path_and_line_of_errors),
        cmocka_unit_test(read_refuses_nul_byte),
        cmocka_unit_test(read_unreadable_file_is_refused),
        cmocka_unit_test(read_file_reads_whole_file_up_to_the_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
