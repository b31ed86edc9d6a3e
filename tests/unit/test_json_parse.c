/* test_json_parse.c -- unit tests of kec_json_parse (client/json_parse.c): the tree it builds is
 * the one cJSON_Parse builds, it refuses what the strict checker refuses, and no parse, failing
 * or not, in one thread or in many, touches cJSON's process-wide error position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define THREADS 4              /* parsing at once */
#define PARSES_PER_THREAD 2000 /* failing parses each */

/* Texts of valid JSON, each read by kec_json_parse and cJSON_Parse alike. */
static const char *const valid[] = {
    "{}",
    "[]",
    " \t\r\n[ ] ",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "-12.5e+3",
    "1E-2",
    "2147483647",
    "2147483648",
    "-2147483649",
    "1e400",
    "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
    "0.000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
    "\"\"",
    "\"plain\"",
    "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
    "\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"",
    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"",
    "\"a\\u0000b\"",
    "{\"a\":1,\"a\":2,\"b\":[1,\"x\",{\"c\":null}],\"\":true}",
    "{\"k\\u00e9y\\n\":\"v\"}",
    "[[[[[[[[[[1]]]]]]]]]]",
    "{ \"sp\" : [ 1 , 2 ] , \"o\" : { } }",
};

/* Texts the checker refuses, each with the offset of its fault. */
static const struct {
    const char *text;
    size_t offset;
} invalid[] = {
    {"[1,", 3},         {"{\"a\" 1}", 5},   {"01", 0},    {"[1,]", 3},
    {"\"\\ud800\"", 1}, {"\"\\udc00\"", 1}, {"{} {}", 3}, {"\xef\xbb\xbf[]", 0},
    {"[\"\x01\"]", 2},  {"tru", 0},         {"", 0},      {"[\"\xff\"]", 2},
};

/* The compact text of v as cJSON prints it (cJSON_free it). */
static char *printed(const cJSON *v)
{
    char *p = cJSON_PrintUnformatted(v);

    assert_non_null(p);
    return p;
}

/* Fails unless a and b are the same tree: types, names, strings, numbers (valuedouble, and
 * valueint as cJSON's parser sets it), children in order. */
static void assert_same_tree(const char *text, const cJSON *a, const cJSON *b)
{
    for (; a != NULL && b != NULL; a = a->next, b = b->next) {
        if (a->type != b->type || a->valueint != b->valueint ||
            !(a->valuedouble == b->valuedouble) ||
            strcmp(a->string != NULL ? a->string : "-", b->string != NULL ? b->string : "-") != 0 ||
            strcmp(a->valuestring != NULL ? a->valuestring : "-",
                   b->valuestring != NULL ? b->valuestring : "-") != 0)
            fail_msg("%s: an item differs from cJSON's (type %d/%d, valueint %d/%d, name %s/%s)",
                     text, a->type, b->type, a->valueint, b->valueint,
                     a->string != NULL ? a->string : "-", b->string != NULL ? b->string : "-");
        assert_same_tree(text, a->child, b->child);
    }
    if (a != NULL || b != NULL)
        fail_msg("%s: not as many items as cJSON reads", text);
}

static void json_parse_builds_the_tree_cjson_builds(void **state)
{
    cJSON *ours, *theirs;
    char *a, *b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        ours = (cJSON *)&ours; /* must be replaced */
        if (kec_json_parse(valid[i], strlen(valid[i]), KEC_JSON_MAX_DEPTH, 0, &ours, NULL) !=
            KEC_JSON_OK)
            fail_msg("%s: refused", valid[i]);
        theirs = cJSON_Parse(valid[i]);
        assert_non_null(ours);
        assert_non_null(theirs);
        a = printed(ours);
        b = printed(theirs);
        if (strcmp(a, b) != 0)
            fail_msg("%s: read as %s, cJSON reads %s", valid[i], a, b);
        assert_same_tree(valid[i], ours, theirs);
        cJSON_free(a);
        cJSON_free(b);
        cJSON_Delete(ours);
        cJSON_Delete(theirs);
    }
}

static void json_parse_reads_only_len_bytes(void **state)
{
    cJSON *v = NULL;

    (void)state;
    /* "12" of "123": the byte after the text is never read as a digit */
    assert_int_equal(kec_json_parse("123", 2, KEC_JSON_MAX_DEPTH, 0, &v, NULL), KEC_JSON_OK);
    assert_true(cJSON_IsNumber(v) && v->valuedouble == 12.0 && v->valueint == 12);
    cJSON_Delete(v);
    assert_int_equal(kec_json_parse("[\"ab\"]]", 6, KEC_JSON_MAX_DEPTH, 0, &v, NULL), KEC_JSON_OK);
    assert_string_equal(cJSON_GetArrayItem(v, 0)->valuestring, "ab");
    cJSON_Delete(v);
    assert_int_equal(kec_json_parse(NULL, 0, KEC_JSON_MAX_DEPTH, 0, &v, NULL), KEC_JSON_ESYNTAX);
    assert_null(v);
}

static void json_parse_decodes_strings_and_numbers(void **state)
{
    cJSON *v = NULL;
    const char *t = "[\"\\ud83d\\ude00\\u00e9\\n\",2147483648,-2147483649,1.5,\"a\\u0000b\"]";

    (void)state;
    assert_int_equal(kec_json_parse(t, strlen(t), KEC_JSON_MAX_DEPTH, 0, &v, NULL), KEC_JSON_OK);
    assert_string_equal(cJSON_GetArrayItem(v, 0)->valuestring, "\xf0\x9f\x98\x80\xc3\xa9\n");
    assert_int_equal(cJSON_GetArrayItem(v, 1)->valueint, INT_MAX);
    assert_int_equal(cJSON_GetArrayItem(v, 2)->valueint, INT_MIN);
    assert_true(cJSON_GetArrayItem(v, 3)->valuedouble == 1.5);
    assert_string_equal(cJSON_GetArrayItem(v, 4)->valuestring, "a"); /* as cJSON: a C string */
    cJSON_Delete(v);
}

static void json_parse_refuses_what_the_checker_refuses(void **state)
{
    kec_json_fault f, g;
    cJSON *v;
    size_t i, len;
    int rc;

    (void)state;
    for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        len = strlen(invalid[i].text);
        v = (cJSON *)&v;
        rc = kec_json_parse(invalid[i].text, len, KEC_JSON_MAX_DEPTH, 0, &v, &f);
        assert_int_equal(rc, kec_json_check(invalid[i].text, len, &g));
        assert_int_equal(rc, KEC_JSON_ESYNTAX);
        assert_null(v);
        if (f.offset != invalid[i].offset)
            fail_msg("%s: fault at %zu (%s), want %zu", invalid[i].text, f.offset, f.reason,
                     invalid[i].offset);
        assert_string_equal(f.reason, g.reason);
    }
    /* JSON, nested past the limit given */
    v = (cJSON *)&v;
    assert_int_equal(kec_json_parse("[[[1]]]", 7, 2, 0, &v, &f), KEC_JSON_EDEPTH);
    assert_null(v);
    assert_int_equal(f.offset, 2);
}

static void json_parse_takes_raw_controls_only_when_asked(void **state)
{
    const char *t = "{\"a\tb\x01\":\"\x1f\r\n\"}";
    cJSON *v, *theirs;
    kec_json_fault f;

    (void)state;
    assert_int_equal(kec_json_parse(t, strlen(t), KEC_JSON_MAX_DEPTH, 0, &v, &f), KEC_JSON_ESYNTAX);
    assert_int_equal(f.offset, 3);
    assert_int_equal(
        kec_json_parse(t, strlen(t), KEC_JSON_MAX_DEPTH, KEC_JSON_RAW_CONTROLS, &v, &f),
        KEC_JSON_OK);
    theirs = cJSON_Parse(t);
    assert_same_tree(t, v, theirs);
    assert_string_equal(v->child->string, "a\tb\x01");
    cJSON_Delete(v);
    cJSON_Delete(theirs);
    /* NUL is never a raw control character */
    assert_int_equal(
        kec_json_parse("[\"\0\"]", 5, KEC_JSON_MAX_DEPTH, KEC_JSON_RAW_CONTROLS, &v, &f),
        KEC_JSON_ESYNTAX);
    assert_int_equal(f.offset, 2);
}

/* The texts of valid and invalid, and text after a parse that fails in cJSON, must leave
 * cJSON_GetErrorPtr where it was: cJSON_Parse sets it on failure and resets it to NULL on
 * success. */
static void json_parse_never_touches_cjson_error_ptr(void **state)
{
    const char *before;
    cJSON *v;
    size_t i;

    (void)state;
    assert_null(cJSON_Parse("[1,")); /* cJSON's own position: somewhere in that literal */
    before = cJSON_GetErrorPtr();
    assert_non_null(before);
    for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        kec_json_parse(invalid[i].text, strlen(invalid[i].text), KEC_JSON_MAX_DEPTH, 0, &v, NULL);
        assert_ptr_equal(cJSON_GetErrorPtr(), before);
    }
    for (i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        assert_int_equal(
            kec_json_parse(valid[i], strlen(valid[i]), KEC_JSON_MAX_DEPTH, 0, &v, NULL),
            KEC_JSON_OK);
        cJSON_Delete(v);
        assert_ptr_equal(cJSON_GetErrorPtr(), before);
    }
}

/* One thread's share: failing and succeeding parses of texts of its own; each failure's offset
 * must be its own text's. */
static void *parse_many(void *arg)
{
    const size_t k = (size_t)(uintptr_t)arg;
    char bad[64], good[64];
    kec_json_fault f;
    cJSON *v;
    long wrong = 0;
    int n;

    /* thread k's fault sits at offset 2 + k: "[ " then k spaces, then '}' */
    snprintf(bad, sizeof bad, "[ %*s}", (int)k, "");
    snprintf(good, sizeof good, "[%zu]", k);
    for (n = 0; n < PARSES_PER_THREAD; n++) {
        if (kec_json_parse(bad, strlen(bad), KEC_JSON_MAX_DEPTH, 0, &v, &f) != KEC_JSON_ESYNTAX ||
            f.offset != 2 + k)
            wrong++;
        if (kec_json_parse(good, strlen(good), KEC_JSON_MAX_DEPTH, 0, &v, &f) != KEC_JSON_OK ||
            !cJSON_IsNumber(cJSON_GetArrayItem(v, 0)) ||
            cJSON_GetArrayItem(v, 0)->valueint != (int)k)
            wrong++;
        cJSON_Delete(v);
    }
    return (void *)wrong;
}

static void json_parse_concurrent_failures_share_nothing(void **state)
{
    pthread_t t[THREADS];
    const char *before;
    void *wrong;
    size_t k;

    (void)state;
    assert_null(cJSON_Parse("{\"x\":"));
    before = cJSON_GetErrorPtr();
    for (k = 0; k < THREADS; k++)
        assert_int_equal(pthread_create(&t[k], NULL, parse_many, (void *)(uintptr_t)k), 0);
    for (k = 0; k < THREADS; k++) {
        assert_int_equal(pthread_join(t[k], &wrong), 0);
        assert_int_equal((long)wrong, 0);
    }
    assert_ptr_equal(cJSON_GetErrorPtr(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_parse_builds_the_tree_cjson_builds),
        cmocka_unit_test(json_parse_reads_only_len_bytes),
        cmocka_unit_test(json_parse_decodes_strings_and_numbers),
        cmocka_unit_test(json_parse_refuses_what_the_checker_refuses),
        cmocka_unit_test(json_parse_takes_raw_controls_only_when_asked),
        cmocka_unit_test(json_parse_never_touches_cjson_error_ptr),
        cmocka_unit_test(json_parse_concurrent_failures_share_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
