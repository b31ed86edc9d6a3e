/* test_tokens.c -- unit tests of the bearer-token module (client/tokens.c): the token file's
 * rules, the Authorization check, reloading, and a client's token file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kec_tokens.h"

#define TOKEN_A "alpha-0123456789abcdef"
#define TOKEN_B "bravo.token_~+/xyz0123=="
#define TOKEN_C "charlie-0123456789ABCDEF"

static char dir[] = "/tmp/kec-tokens-XXXXXX";

/* Writes text to dir/name with mode; returns the path (static buffer). */
static const char *write_file(const char *name, const char *text, mode_t mode)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static int check(kec_auth *a, const char *value)
{
    return kec_auth_check(a, value, strlen(value));
}

static void reads_tokens_skipping_blanks_comments_and_crlf(void **state)
{
    const char *p =
        write_file("t", "# tokens\n\n  " TOKEN_A "  \r\n#" TOKEN_C "\n\t" TOKEN_B, 0600);
    kec_auth *a = NULL;
    kec_error err;

    (void)state;
    kec_error_clear(&err);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(p, &a, &err), KEC_OK);
    assert_int_equal(kec_auth_count(a), 2);
    assert_true(check(a, "Bearer " TOKEN_A));
    assert_true(check(a, "bearer " TOKEN_B));
    assert_true(check(a, "BEARER   " TOKEN_A "  "));
    assert_false(check(a, "Bearer " TOKEN_C)); /* commented out */
    assert_false(check(a, "Bearer " TOKEN_A "x"));
    assert_false(check(a, "Bearer alpha-0123456789abcde")); /* a prefix */
    assert_false(check(a, "Basic " TOKEN_A));
    assert_false(check(a, "Bearer"));
    assert_false(check(a, "Bearer "));
    assert_false(check(a, TOKEN_A));
    assert_false(check(a, "Bearer" TOKEN_A));
    assert_false(check(a, ""));
    assert_false(kec_auth_check(a, NULL, 0));
    /* a value with a NUL inside is compared as bytes, not cut at the NUL */
    assert_false(kec_auth_check(a, "Bearer " TOKEN_A "\0zz", sizeof("Bearer " TOKEN_A) + 2));
    kec_auth_free(a);
}

static void refuses_files_others_can_read_or_the_group_can_write(void **state)
{
    kec_auth *a = NULL;
    char fifo[300];
    kec_error err;

    (void)state;
    kec_error_clear(&err);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(write_file("t", TOKEN_A "\n", 0644), &a, &err), KEC_EINVAL);
    assert_null(a);
    assert_non_null(strstr(err.msg, "readable or writable by others (mode 0644)"));
    assert_non_null(strstr(err.msg, "chmod 600"));
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(write_file("t", TOKEN_A "\n", 0620), &a, &err), KEC_EINVAL);
    assert_non_null(strstr(err.msg, "writable by its group (mode 0620)"));
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(write_file("t", TOKEN_A "\n", 0640), &a, &err), KEC_OK);
    kec_auth_free(a);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new("/nonexistent/tokens", &a, &err), KEC_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/tokens"));
    /* a FIFO nobody writes to is refused at once, not waited on */
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(fifo, &a, &err), KEC_EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(dir, &a, &err), KEC_EINVAL);
    unlink(fifo);
}

static void refuses_bad_lines_naming_the_line_never_the_token(void **state)
{
    kec_auth *a = NULL;
    kec_error err;

    (void)state;
    kec_error_clear(&err);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(write_file("t", TOKEN_A "\nshort-secret\n", 0600), &a, &err),
                     KEC_EINVAL);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_non_null(strstr(err.msg, "at least 16"));
    assert_null(strstr(err.msg, "short-secret"));
    kec_error_clear(&err);
    assert_int_equal(
        kec_auth_new(write_file("t", "\n\nsecret with spaces inside\n", 0600), &a, &err),
        KEC_EINVAL);
    assert_non_null(strstr(err.msg, "line 3"));
    assert_non_null(strstr(err.msg, "position 7"));
    assert_null(strstr(err.msg, "secret"));
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(write_file("t", "==0123456789abcdefgh\n", 0600), &a, &err),
                     KEC_EINVAL);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(write_file("t", "0123456789abcdef=x\n", 0600), &a, &err),
                     KEC_EINVAL);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(write_file("t", "# only a comment\n\n", 0600), &a, &err),
                     KEC_EINVAL);
    assert_non_null(strstr(err.msg, "holds no token"));
    assert_null(a);
}

static void reload_swaps_the_set_and_keeps_the_old_one_on_failure(void **state)
{
    const char *p = write_file("t", TOKEN_A "\n", 0600);
    kec_auth *a = NULL;
    kec_error err;
    size_t n = 0;

    (void)state;
    kec_error_clear(&err);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(p, &a, &err), KEC_OK);
    write_file("t", TOKEN_B "\n" TOKEN_C "\n", 0600);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_reload(a, &n, &err), KEC_OK);
    assert_int_equal(n, 2);
    assert_false(check(a, "Bearer " TOKEN_A));
    assert_true(check(a, "Bearer " TOKEN_C));
    write_file("t", TOKEN_A "\n", 0644); /* refused: the old set stays */
    kec_error_clear(&err);
    assert_int_equal(kec_auth_reload(a, &n, &err), KEC_EINVAL);
    assert_true(check(a, "Bearer " TOKEN_B));
    assert_false(check(a, "Bearer " TOKEN_A));
    unlink(p);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_reload(a, NULL, &err), KEC_EIO);
    assert_int_equal(kec_auth_count(a), 2);
    kec_auth_free(a);
}

typedef struct checker {
    kec_auth *a;
    int wrong; /* checks that refused TOKEN_A, which every set holds */
} checker;

static void *check_loop(void *arg)
{
    checker *c = arg;
    int i;

    for (i = 0; i < 20000; i++)
        if (!check(c->a, "Bearer " TOKEN_A))
            c->wrong++;
    return NULL;
}

static void reload_while_checking_never_refuses_a_token_both_sets_hold(void **state)
{
    const char *p = write_file("t", TOKEN_A "\n", 0600);
    pthread_t threads[3];
    checker c = {NULL, 0};
    kec_error err;
    int i;

    (void)state;
    kec_error_clear(&err);
    kec_error_clear(&err);
    assert_int_equal(kec_auth_new(p, &c.a, &err), KEC_OK);
    for (i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, check_loop, &c), 0);
    for (i = 0; i < 200; i++) {
        write_file("t", i % 2 ? TOKEN_A "\n" TOKEN_B "\n" : TOKEN_C "\n" TOKEN_A "\n", 0600);
        kec_error_clear(&err);
        assert_int_equal(kec_auth_reload(c.a, NULL, &err), KEC_OK);
    }
    for (i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(c.wrong, 0);
    kec_auth_free(c.a);
}

static void a_clients_token_file_gives_its_first_token(void **state)
{
    char *t = NULL;
    kec_error err;

    (void)state;
    kec_error_clear(&err);
    kec_error_clear(&err);
    assert_int_equal(kec_token_file_read(
                         write_file("c", "# mine\n " TOKEN_B " \n" TOKEN_A "\n", 0644), &t, &err),
                     KEC_OK);
    assert_string_equal(t, TOKEN_B);
    free(t);
    kec_error_clear(&err);
    assert_int_equal(kec_token_file_read(write_file("c", "\n# none\n", 0600), &t, &err),
                     KEC_EINVAL);
    assert_null(t);
    kec_error_clear(&err);
    assert_int_equal(kec_token_file_read(write_file("c", "has a space in it ok\n", 0600), &t, &err),
                     KEC_EINVAL);
    assert_null(strstr(err.msg, "space"));
    kec_error_clear(&err);
    assert_int_equal(kec_token_check_syntax("x", "the token", &err), KEC_EINVAL);
    kec_error_clear(&err);
    assert_int_equal(kec_token_check_syntax(TOKEN_A, "the token", &err), KEC_OK);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_tokens_skipping_blanks_comments_and_crlf),
        cmocka_unit_test(refuses_files_others_can_read_or_the_group_can_write),
        cmocka_unit_test(refuses_bad_lines_naming_the_line_never_the_token),
        cmocka_unit_test(reload_swaps_the_set_and_keeps_the_old_one_on_failure),
        cmocka_unit_test(reload_while_checking_never_refuses_a_token_both_sets_hold),
        cmocka_unit_test(a_clients_token_file_gives_its_first_token),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
