/* test_text.c -- unit tests of the shared text helpers (server/text.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "text.h"

static void utf8_accepts_valid_text_and_names_the_first_bad_byte(void **state)
{
    (void)state;
    assert_int_equal(kec_utf8_invalid_at("", 0), -1);
    assert_int_equal(kec_utf8_invalid_at("plain ascii", 11), -1);
    assert_int_equal(kec_utf8_invalid_at("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9), -1);
    assert_int_equal(kec_utf8_invalid_at("ab\xff", 3), 2);
    assert_int_equal(kec_utf8_invalid_at("a\xc3", 2), 1);            /* cut short */
    assert_int_equal(kec_utf8_invalid_at("\xc0\xaf", 2), 0);         /* overlong */
    assert_int_equal(kec_utf8_invalid_at("x\xed\xa0\x80", 4), 1);    /* surrogate */
    assert_int_equal(kec_utf8_invalid_at("\xf4\x90\x80\x80", 4), 0); /* above U+10FFFF */
}

static void quote_escapes_and_cuts_on_a_character_boundary(void **state)
{
    char buf[KE_QUOTE_CAP], in[100];

    (void)state;
    assert_string_equal(ke_quote(buf, "a\"b\\c"), "\"a\\\"b\\\\c\"");
    assert_string_equal(ke_quote(buf, "t\x01\x7f\xff"), "\"t\\x01\\x7f\\xff\"");
    assert_string_equal(ke_quote(buf, "\xc3\xa9t\xc3\xa9"), "\"\xc3\xa9t\xc3\xa9\"");
    memset(in, 'a', sizeof in);
    in[39] = '\xc3'; /* a two-byte character straddling the 40-byte cut */
    in[40] = '\xa9';
    in[99] = '\0';
    ke_quote(buf, in);
    assert_non_null(strstr(buf, "\xc3\xa9\"..."));
    assert_int_equal(strlen(buf), 1 + 39 + 2 + 1 + 3);
}

static void format_number_reads_back_exactly_and_keeps_integers_integral(void **state)
{
    static const double values[] = {0,
                                    1,
                                    -7,
                                    150,
                                    0.1,
                                    1.5,
                                    1e300,
                                    -2.5e-8,
                                    9007199254740992.0,
                                    12345678901234567890.0,
                                    4.9e-324,
                                    123456.789};
    char buf[KEC_NUMBER_TEXT_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof values / sizeof values[0]; i++) {
        kec_format_number(buf, values[i]);
        assert_true(strtod(buf, NULL) == values[i]);
    }
    kec_format_number(buf, 150);
    assert_string_equal(buf, "150");
    kec_format_number(buf, 9007199254740992.0);
    assert_string_equal(buf, "9007199254740992");
    kec_format_number(buf, 0.1);
    assert_string_equal(buf, "0.1");
}

static void nul_escape_is_found_unless_its_backslash_is_escaped(void **state)
{
    (void)state;
    assert_true(ke_json_has_nul_escape("\"a\\u0000b\"", 10));
    assert_false(ke_json_has_nul_escape("\"a\\\\u0000b\"", 11)); /* \\ then u0000 */
    assert_true(ke_json_has_nul_escape("\"a\\\\\\u0000\"", 11)); /* \\ then \u0000 */
    assert_false(ke_json_has_nul_escape("\"u0000\"", 7));
    assert_false(ke_json_has_nul_escape("", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_accepts_valid_text_and_names_the_first_bad_byte),
        cmocka_unit_test(quote_escapes_and_cuts_on_a_character_boundary),
        cmocka_unit_test(format_number_reads_back_exactly_and_keeps_integers_integral),
        cmocka_unit_test(nul_escape_is_found_unless_its_backslash_is_escaped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
