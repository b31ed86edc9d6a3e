/* test_errors.c -- unit tests of the error codes: names, messages, gRPC statuses and the
 * first-error-wins record (server/errors.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "errors.h"

/* One row of KE_ERRNO_MAP, as the table itself spells it. */
typedef struct row {
    int code;         /* KE_E* value */
    const char *name; /* the name without KE_ */
    const char *msg;  /* the message */
    int status;       /* the gRPC status number */
} row;

#define ROW(name, value, msg, status) {value, #name, msg, status},
static const row table[] = {KE_ERRNO_MAP(ROW)};
#undef ROW
#define N_ROWS (sizeof table / sizeof table[0])

/* The gRPC status each code is documented to answer with, written out by hand so a change
 * to the table is noticed here. */
static void each_code_answers_its_documented_grpc_status(void **state)
{
    (void)state;
    assert_int_equal(ke_err_grpc_status(KE_OK), 0);
    assert_int_equal(ke_err_grpc_status(KE_EINVAL), 3);    /* INVALID_ARGUMENT */
    assert_int_equal(ke_err_grpc_status(KE_EDISABLED), 9); /* FAILED_PRECONDITION */
    assert_int_equal(ke_err_grpc_status(KE_ENOTFOUND), 5); /* NOT_FOUND */
    assert_int_equal(ke_err_grpc_status(KE_ETOOBIG), 8);   /* RESOURCE_EXHAUSTED */
    assert_int_equal(ke_err_grpc_status(KE_EUNAVAIL), 14); /* UNAVAILABLE */
    assert_int_equal(ke_err_grpc_status(KE_ENOMEM), 8);    /* RESOURCE_EXHAUSTED */
    assert_int_equal(ke_err_grpc_status(KE_ESTORE), 13);   /* INTERNAL */
    assert_int_equal(ke_err_grpc_status(KE_ECONFIG), 13);  /* INTERNAL */
    assert_int_equal(ke_err_grpc_status(KE_EIO), 13);      /* INTERNAL */
    assert_int_equal(ke_err_grpc_status(KE_EFULL), 8);     /* RESOURCE_EXHAUSTED */
    assert_int_equal(ke_err_grpc_status(KE_ESTATE), 9);    /* FAILED_PRECONDITION */
}

static void each_code_has_its_name_message_and_status_from_the_table(void **state)
{
    size_t i;

    (void)state;
    assert_int_equal(N_ROWS, 11);
    for (i = 0; i < N_ROWS; i++) {
        assert_true(table[i].code < 0);
        assert_string_equal(ke_err_name(table[i].code), table[i].name);
        assert_string_equal(ke_strerror(table[i].code), table[i].msg);
        assert_int_equal(ke_err_grpc_status(table[i].code), table[i].status);
    }
}

static void codes_names_and_messages_are_distinct(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < N_ROWS; i++) {
        assert_int_not_equal(table[i].code, KE_OK);
        assert_string_not_equal(ke_err_name(table[i].code), "OK");
        assert_string_not_equal(ke_err_name(table[i].code), "UNKNOWN");
        assert_string_not_equal(ke_strerror(table[i].code), "success");
        assert_string_not_equal(ke_strerror(table[i].code), "unknown error");
        assert_true(ke_strerror(table[i].code)[0] != '\0');
        for (j = i + 1; j < N_ROWS; j++) {
            assert_int_not_equal(table[i].code, table[j].code);
            assert_string_not_equal(ke_err_name(table[i].code), ke_err_name(table[j].code));
            assert_string_not_equal(ke_strerror(table[i].code), ke_strerror(table[j].code));
        }
    }
}

static void ok_is_named_ok_with_status_zero(void **state)
{
    (void)state;
    assert_string_equal(ke_err_name(KE_OK), "OK");
    assert_string_equal(ke_strerror(KE_OK), "success");
    assert_int_equal(ke_err_grpc_status(KE_OK), 0);
}

static void unknown_codes_are_named_unknown_with_status_2(void **state)
{
    static const int unknown[] = {1, 42, -12, -100, -1000000, 2147483647, -2147483647 - 1};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(ke_err_name(unknown[i]), "UNKNOWN");
        assert_string_equal(ke_strerror(unknown[i]), "unknown error");
        assert_int_equal(ke_err_grpc_status(unknown[i]), 2);
    }
}

static void error_clear_resets_to_no_error(void **state)
{
    ke_error err;

    (void)state;
    memset(&err, 'x', sizeof err);
    ke_error_clear(&err);
    assert_int_equal(err.code, KE_OK);
    assert_string_equal(err.msg, "");
}

static void error_clear_accepts_null(void **state)
{
    (void)state;
    ke_error_clear(NULL);
}

static void error_set_records_the_code_and_formatted_message_and_returns_the_code(void **state)
{
    ke_error err;

    (void)state;
    ke_error_clear(&err);
    assert_int_equal(ke_error_set(&err, KE_ENOTFOUND, "pipeline \"%s\" not found (%d)", "p1", 7),
                     KE_ENOTFOUND);
    assert_int_equal(err.code, KE_ENOTFOUND);
    assert_string_equal(err.msg, "pipeline \"p1\" not found (7)");
}

static void error_set_keeps_the_first_error(void **state)
{
    ke_error err;

    (void)state;
    ke_error_clear(&err);
    ke_error_set(&err, KE_EINVAL, "first %s", "problem");
    assert_int_equal(ke_error_set(&err, KE_ESTORE, "second"), KE_ESTORE);
    assert_int_equal(err.code, KE_EINVAL);
    assert_string_equal(err.msg, "first problem");
}

static void error_set_after_clear_records_again(void **state)
{
    ke_error err;

    (void)state;
    ke_error_clear(&err);
    ke_error_set(&err, KE_EINVAL, "first");
    ke_error_clear(&err);
    ke_error_set(&err, KE_EIO, "second");
    assert_int_equal(err.code, KE_EIO);
    assert_string_equal(err.msg, "second");
}

static void error_set_with_null_err_returns_the_code(void **state)
{
    (void)state;
    assert_int_equal(ke_error_set(NULL, KE_ENOMEM, "out of %s", "memory"), KE_ENOMEM);
    assert_int_equal(ke_error_set(NULL, KE_EINVAL, "x"), KE_EINVAL);
}

static void error_set_truncates_a_long_message_and_terminates_it(void **state)
{
    static char big[4096];
    struct {
        ke_error e;      /* the record under test */
        char canary[64]; /* right after msg: an overrun would change it */
    } box;
    ke_error err;
    char *guard;
    size_t i;

    (void)state;
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memset(&box, 0, sizeof box);
    memset(box.canary, 'Z', sizeof box.canary);
    ke_error_clear(&box.e);
    assert_int_equal(ke_error_set(&box.e, KE_ETOOBIG, "%s/%s", big, big), KE_ETOOBIG);
    assert_int_equal(box.e.code, KE_ETOOBIG);
    assert_int_equal(strlen(box.e.msg), sizeof box.e.msg - 1);
    for (i = 0; i < sizeof box.e.msg - 1; i++)
        assert_int_equal(box.e.msg[i], 'a');
    for (guard = box.canary; guard < box.canary + sizeof box.canary; guard++)
        assert_int_equal(*guard, 'Z');

    /* And the same through a plain ke_error. */
    ke_error_clear(&err);
    ke_error_set(&err, KE_EIO, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_code_answers_its_documented_grpc_status),
        cmocka_unit_test(each_code_has_its_name_message_and_status_from_the_table),
        cmocka_unit_test(codes_names_and_messages_are_distinct),
        cmocka_unit_test(ok_is_named_ok_with_status_zero),
        cmocka_unit_test(unknown_codes_are_named_unknown_with_status_2),
        cmocka_unit_test(error_clear_resets_to_no_error),
        cmocka_unit_test(error_clear_accepts_null),
        cmocka_unit_test(error_set_records_the_code_and_formatted_message_and_returns_the_code),
        cmocka_unit_test(error_set_keeps_the_first_error),
        cmocka_unit_test(error_set_after_clear_records_again),
        cmocka_unit_test(error_set_with_null_err_returns_the_code),
        cmocka_unit_test(error_set_truncates_a_long_message_and_terminates_it),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
