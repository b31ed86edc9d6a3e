/* test_client_json.c -- unit tests of the client library's CloudEvents JSON format reader and
 * writer (client/event_json.c) and its base64 (client/text.c); the JSON conformance vectors
 * against the protobuf ones and, for invalid events the reader lets through, the server's own
 * validation (server/event.c). Pipeline JSON: test_client_pipeline_json.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "event.h"
#include "internal.h"
#include "kedroevents.h"

#define HEAD "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"/s\",\"type\":\"t\""

static int conformance_missing; /* the vectors were absent: report the run as skipped */

/* ---- helpers ---- */

/* Reads text as one event, failing the test when it is refused. */
static kec_event *read_ok(const char *text)
{
    kec_event *ev = NULL;
    kec_error err;

    kec_error_clear(&err);
    if (kec_event_from_json(text, strlen(text), &ev, &err) != KEC_OK)
        fail_msg("%s: refused: %s", text, err.msg);
    assert_non_null(ev);
    return ev;
}

/* Asserts kec_event_from_json refuses text (len bytes) with code, *out NULL, and a message
 * holding want. */
static void refuse_len(const char *text, size_t len, int code, const char *want)
{
    kec_event *ev = (kec_event *)&ev; /* must be reset */
    kec_error err;
    int rc;

    kec_error_clear(&err);
    rc = kec_event_from_json(text, len, &ev, &err);
    if (rc != code)
        fail_msg("%.200s: returned %s (%s), want %s", text, kec_err_name(rc), err.msg,
                 kec_err_name(code));
    assert_null(ev);
    assert_int_equal(err.code, code);
    if (strstr(err.msg, want) == NULL)
        fail_msg("%.200s: message \"%s\" does not say \"%s\"", text, err.msg, want);
}

static void refuse(const char *text, const char *want)
{
    refuse_len(text, strlen(text), KEC_EFORMAT, want);
}

/* The event's text data (asserting it has text data), NUL-terminated. */
static const char *text_data(const kec_event *ev)
{
    kec_data_kind kind;
    size_t len;
    const char *d = kec_event_data(ev, &kind, &len, NULL);

    assert_int_equal(kind, KEC_DATA_TEXT);
    assert_int_equal(strlen(d), len);
    return d;
}

/* Asserts ev written as JSON is want. */
static void assert_json(const kec_event *ev, const char *want)
{
    kec_error err;
    char *got;

    kec_error_clear(&err);
    got = kec_event_to_json(ev, &err);
    if (got == NULL)
        fail_msg("not written: %s", err.msg);
    if (strcmp(got, want) != 0)
        fail_msg("written as\n  %s\nwant\n  %s", got, want);
    free(got);
}

static kec_event *new_event(void)
{
    kec_event *ev = NULL;

    assert_int_equal(kec_event_new("e-1", "/s", "t", &ev, NULL), KEC_OK);
    return ev;
}

/* How compare_events treats attributes the JSON format cannot type. */
enum { STRICT = 0, EXT_AS_STRINGS = 1 };

/* Asserts that got holds want's attribute a (by name, type and value; times as instants). With
 * EXT_AS_STRINGS, an extension want types as URI, URI-reference, timestamp or bytes may arrive
 * as a string of its text form. Returns 1 when it was compared that way. */
static int compare_attr(const kec_attr *a, const kec_event *got, int mode, const char *id)
{
    const kec_attr *b = kec_event_attr(got, a->name);
    uint8_t *bytes = NULL;
    size_t n;
    kec_time t;

    if (b == NULL)
        fail_msg("%s: attribute \"%s\" missing", id, a->name);
    if (mode == EXT_AS_STRINGS && b->type == KEC_ATTR_STRING && a->type != KEC_ATTR_STRING &&
        strcmp(a->name, "time") != 0 && strcmp(a->name, "dataschema") != 0) {
        if (a->type == KEC_ATTR_URI || a->type == KEC_ATTR_URI_REF) {
            assert_string_equal(b->text, a->text);
        } else if (a->type == KEC_ATTR_TIMESTAMP) {
            assert_int_equal(kec_time_parse(b->text, &t, NULL), KEC_OK);
            assert_true(t.seconds == a->time.seconds && t.nanos == a->time.nanos);
        } else if (a->type == KEC_ATTR_BYTES) {
            assert_int_equal(conf_base64_decode(b->text, &bytes, &n), 0);
            assert_true(n == a->len && memcmp(bytes, a->bytes, n) == 0);
            free(bytes);
        } else {
            fail_msg("%s: attribute \"%s\" is a string, want type %d", id, a->name, a->type);
        }
        return 1;
    }
    if (b->type != a->type)
        fail_msg("%s: attribute \"%s\" has type %d, want %d", id, a->name, b->type, a->type);
    switch (a->type) {
    case KEC_ATTR_BOOLEAN:
        assert_int_equal(b->boolean, a->boolean);
        break;
    case KEC_ATTR_INTEGER:
        assert_int_equal(b->integer, a->integer);
        break;
    case KEC_ATTR_BYTES:
        assert_true(b->len == a->len && memcmp(b->bytes, a->bytes, a->len) == 0);
        break;
    case KEC_ATTR_TIMESTAMP:
        if (b->time.seconds != a->time.seconds || b->time.nanos != a->time.nanos)
            fail_msg("%s: time \"%s\" differs", id, a->name);
        break;
    default:
        assert_string_equal(b->text, a->text);
    }
    return 0;
}

/* Asserts got is want: required attributes, every attribute (and no other), and the data.
 * Appends the names of attributes compared as strings (see compare_attr) to notes (of cap
 * bytes; NULL: none) and returns how many there were. */
static int compare_events(const kec_event *want, const kec_event *got, int mode, const char *id,
                          char *notes, size_t cap)
{
    size_t n_want, n_got, i, len_want, len_got;
    const kec_attr *attrs = kec_event_attrs(want, &n_want);
    kec_data_kind k_want, k_got;
    const char *d_want = kec_event_data(want, &k_want, &len_want, NULL);
    const char *d_got = kec_event_data(got, &k_got, &len_got, NULL);
    int as_strings = 0;

    assert_string_equal(kec_event_spec_version(got), kec_event_spec_version(want));
    assert_string_equal(kec_event_id(got), kec_event_id(want));
    assert_string_equal(kec_event_source(got), kec_event_source(want));
    assert_string_equal(kec_event_type(got), kec_event_type(want));
    kec_event_attrs(got, &n_got);
    if (n_got != n_want)
        fail_msg("%s: %zu attributes, want %zu", id, n_got, n_want);
    for (i = 0; i < n_want; i++)
        if (compare_attr(&attrs[i], got, mode, id)) {
            as_strings++;
            if (notes != NULL)
                snprintf(notes + strlen(notes), cap - strlen(notes), " %s", attrs[i].name);
        }
    if (k_got != k_want || len_got != len_want ||
        (len_want > 0 && memcmp(d_got, d_want, len_want) != 0))
        fail_msg("%s: data differs (kind %d, %zu bytes; want kind %d, %zu bytes)", id, k_got,
                 len_got, k_want, len_want);
    return as_strings;
}

/* ---- reading: members ---- */

static void read_minimal_event_holds_required_attributes_only(void **state)
{
    kec_event *ev = read_ok(HEAD "}");
    kec_data_kind kind;
    size_t n, len;

    (void)state;
    assert_string_equal(kec_event_spec_version(ev), "1.0");
    assert_string_equal(kec_event_id(ev), "e-1");
    assert_string_equal(kec_event_source(ev), "/s");
    assert_string_equal(kec_event_type(ev), "t");
    kec_event_attrs(ev, &n);
    assert_int_equal(n, 0);
    assert_null(kec_event_data(ev, &kind, &len, NULL));
    assert_int_equal(kind, KEC_DATA_NONE);
    kec_event_free(ev);
}

static void read_keeps_missing_required_members_empty_for_the_server_to_reject(void **state)
{
    kec_event *ev = read_ok("{}");

    (void)state;
    /* no generated id and no default specversion: the server names what is missing */
    assert_string_equal(kec_event_spec_version(ev), "");
    assert_string_equal(kec_event_id(ev), "");
    assert_string_equal(kec_event_source(ev), "");
    assert_string_equal(kec_event_type(ev), "");
    kec_event_free(ev);
}

static void read_treats_null_as_absent_for_every_member(void **state)
{
    kec_event *ev = read_ok("{\"specversion\":null,\"id\":null,\"source\":null,\"type\":null,"
                            "\"datacontenttype\":null,\"dataschema\":null,\"subject\":null,"
                            "\"time\":null,\"data\":null,\"data_base64\":null,\"ext\":null}");
    kec_data_kind kind;
    size_t n, len;

    (void)state;
    assert_string_equal(kec_event_spec_version(ev), "");
    assert_string_equal(kec_event_id(ev), "");
    kec_event_attrs(ev, &n);
    assert_int_equal(n, 0);
    kec_event_data(ev, &kind, &len, NULL);
    assert_int_equal(kind, KEC_DATA_NONE);
    kec_event_free(ev);
}

static void read_refuses_required_members_that_are_not_strings(void **state)
{
    static const char *const members[] = {"specversion", "id", "source", "type"};
    /* One value that is not a string and how the message calls it. */
    static const struct {
        const char *json; /* the value */
        const char *kind; /* its kind in the message */
    } values[] = {{"25", "a number"},
                  {"{\"xyz\":\"abc\"}", "an object"},
                  {"[\"a\"]", "an array"},
                  {"true", "a boolean"}};
    char text[200], want[100];
    size_t i, j;

    (void)state;
    for (i = 0; i < 4; i++)
        for (j = 0; j < 4; j++) {
            snprintf(text, sizeof text, "{\"%s\":%s}", members[i], values[j].json);
            snprintf(want, sizeof want, "member \"%s\" must be a string, not %s", members[i],
                     values[j].kind);
            refuse(text, want);
        }
}

static void read_types_the_core_optional_attributes(void **state)
{
    kec_event *ev = read_ok(HEAD ",\"datacontenttype\":\"text/plain\",\"dataschema\":"
                                 "\"https://x.example/schema\",\"subject\":\"tests\",\"time\":"
                                 "\"2018-04-05T18:31:00.5+01:00\"}");
    const kec_attr *a;

    (void)state;
    a = kec_event_attr(ev, "datacontenttype");
    assert_int_equal(a->type, KEC_ATTR_STRING);
    assert_string_equal(a->text, "text/plain");
    a = kec_event_attr(ev, "dataschema");
    assert_int_equal(a->type, KEC_ATTR_URI);
    assert_string_equal(a->text, "https://x.example/schema");
    a = kec_event_attr(ev, "subject");
    assert_int_equal(a->type, KEC_ATTR_STRING);
    assert_string_equal(a->text, "tests");
    a = kec_event_attr(ev, "time");
    assert_int_equal(a->type, KEC_ATTR_TIMESTAMP);
    assert_true(a->time.seconds == 1522949460 && a->time.nanos == 500000000);
    kec_event_free(ev);
}

static void read_refuses_core_optional_attributes_that_are_not_strings(void **state)
{
    (void)state;
    refuse(HEAD ",\"datacontenttype\":1}", "member \"datacontenttype\" must be a string, not a "
                                           "number");
    refuse(HEAD ",\"subject\":{}}", "member \"subject\" must be a string, not an object");
    refuse(HEAD ",\"dataschema\":[]}", "member \"dataschema\" must be a string, not an array");
    refuse(HEAD ",\"time\":1522949460}", "member \"time\" must be a string, not a number");
}

static void read_refuses_bad_time_with_the_parsers_message(void **state)
{
    (void)state;
    refuse(HEAD ",\"time\":\"lunchtime\"}",
           "member \"time\": time \"lunchtime\" is not an RFC 3339 date-time");
    refuse(HEAD ",\"time\":\"2018-04-05T18:31Z\"}", "member \"time\": time \"2018-04-05T18:31Z\"");
    refuse(HEAD ",\"time\":\"2018-04-05T18:31:00+05\"}",
           "member \"time\": time \"2018-04-05T18:31:00+05\" has an offset that is not");
    refuse(HEAD ",\"time\":\"2023-02-29T00:00:00Z\"}", "is out of range");
}

static void read_types_extensions_by_their_json_value(void **state)
{
    kec_event *ev = read_ok(HEAD ",\"extt\":true,\"extf\":false,\"exti\":10,\"extd\":10.0,"
                                 "\"extmin\":-2147483648,\"extmax\":2147483647,\"extz\":-0,"
                                 "\"exte\":1e3,\"exts\":\"text\",\"exturi\":\"https://x\","
                                 "\"exttime\":\"2023-03-31T15:12:00Z\",\"extbin\":\"TWE=\"}");
    /* One extension and what it reads as. */
    static const struct {
        const char *name;   /* the member */
        kec_attr_type type; /* its type */
        int32_t value;      /* BOOLEAN, INTEGER: the value */
        const char *text;   /* STRING: the value */
    } want[] = {
        {"extt", KEC_ATTR_BOOLEAN, 1, NULL},
        {"extf", KEC_ATTR_BOOLEAN, 0, NULL},
        {"exti", KEC_ATTR_INTEGER, 10, NULL},
        {"extd", KEC_ATTR_INTEGER, 10, NULL},
        {"extmin", KEC_ATTR_INTEGER, INT32_MIN, NULL},
        {"extmax", KEC_ATTR_INTEGER, INT32_MAX, NULL},
        {"extz", KEC_ATTR_INTEGER, 0, NULL},
        {"exte", KEC_ATTR_INTEGER, 1000, NULL},
        {"exts", KEC_ATTR_STRING, 0, "text"},
        /* the format does not say which strings are URIs, timestamps or bytes */
        {"exturi", KEC_ATTR_STRING, 0, "https://x"},
        {"exttime", KEC_ATTR_STRING, 0, "2023-03-31T15:12:00Z"},
        {"extbin", KEC_ATTR_STRING, 0, "TWE="},
    };
    const kec_attr *attrs;
    size_t n, i;

    (void)state;
    attrs = kec_event_attrs(ev, &n);
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (i = 0; i < n; i++) {
        assert_string_equal(attrs[i].name, want[i].name); /* in member order */
        assert_int_equal(attrs[i].type, want[i].type);
        if (want[i].type == KEC_ATTR_BOOLEAN)
            assert_int_equal(attrs[i].boolean, want[i].value);
        else if (want[i].type == KEC_ATTR_INTEGER)
            assert_int_equal(attrs[i].integer, want[i].value);
        else
            assert_string_equal(attrs[i].text, want[i].text);
    }
    kec_event_free(ev);
}

static void read_refuses_extension_numbers_outside_int32_or_fractional(void **state)
{
    (void)state;
    refuse(HEAD ",\"x\":1.5}", "extension \"x\": 1.5 is not an integer within int32");
    refuse(HEAD ",\"big\":2147483648}",
           "extension \"big\": 2147483648 is not an integer within int32");
    refuse(HEAD ",\"small\":-2147483649}",
           "extension \"small\": -2147483649 is not an integer within int32");
    refuse(HEAD ",\"tiny\":1e-7}", "extension \"tiny\": 1e-07 is not an integer within int32");
    refuse(HEAD ",\"huge\":1e300}", "extension \"huge\": 1e+300 is not an integer within int32");
    refuse(HEAD ",\"pi\":3.141592653589793}",
           "extension \"pi\": 3.141592653589793 is not an integer within int32");
}

static void read_refuses_object_and_array_extensions(void **state)
{
    (void)state;
    refuse(HEAD ",\"obj\":{\"a\":1}}", "extension \"obj\": an object is not an extension value");
    refuse(HEAD ",\"arr\":[1]}", "extension \"arr\": an array is not an extension value");
}

static void read_leaves_attribute_name_rules_to_the_server(void **state)
{
    kec_event *ev = read_ok(HEAD ",\"MyExtension\":\"bad\",\"my.extension\":\"bad\","
                                 "\"averyveryverylongextensionname\":1}");
    size_t n;

    (void)state;
    kec_event_attrs(ev, &n);
    assert_int_equal(n, 3);
    assert_non_null(kec_event_attr(ev, "MyExtension"));
    kec_event_free(ev);
    refuse(HEAD ",\"\":\"x\"}", "a member with an empty name is not an attribute");
}

static void read_refuses_duplicate_members(void **state)
{
    (void)state;
    refuse(HEAD ",\"id\":\"e-2\"}", "member \"id\" appears more than once");
    refuse(HEAD ",\"subject\":null,\"subject\":\"s\"}",
           "member \"subject\" appears more than once");
    refuse(HEAD ",\"ext\":1,\"a\":2,\"ext\":3}", "member \"ext\" appears more than once");
}

static void read_bounds_members_per_event(void **state)
{
    size_t cap = 16 * 1002, n = 0;
    char *text = malloc(cap);
    kec_event *ev;
    size_t count;
    int i;

    (void)state;
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "{");
    for (i = 0; i < 1000; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"e%d\":%d", i ? "," : "", i, i);
    snprintf(text + n, cap - n, "}");
    ev = read_ok(text);
    kec_event_attrs(ev, &count);
    assert_int_equal(count, 1000);
    kec_event_free(ev);
    snprintf(text + n, cap - n, ",\"e1000\":1}");
    refuse(text, "more than 1000 members in one event");
    free(text);
}

/* ---- reading: data ---- */

static void read_data_base64_as_binary(void **state)
{
    kec_event *ev = read_ok(HEAD ",\"data_base64\":\"AAEC/w==\"}");
    kec_data_kind kind;
    size_t len;
    const char *d = kec_event_data(ev, &kind, &len, NULL);

    (void)state;
    assert_true(kind == KEC_DATA_BINARY && len == 4);
    assert_memory_equal(d, "\x00\x01\x02\xff", 4);
    kec_event_free(ev);
    ev = read_ok(HEAD ",\"data_base64\":\"\"}");
    kec_event_data(ev, &kind, &len, NULL);
    assert_true(kind == KEC_DATA_BINARY && len == 0);
    kec_event_free(ev);
}

static void read_refuses_data_base64_that_is_not_strict_base64(void **state)
{
    (void)state;
    refuse(HEAD ",\"data_base64\":\"AAE\"}",
           "member \"data_base64\": 3 characters are not a multiple of 4");
    refuse(HEAD ",\"data_base64\":\"AAEC/w\"}", "member \"data_base64\": 6 characters");
    refuse(HEAD ",\"data_base64\":\"AA-_\"}", "member \"data_base64\": '-' at offset 2");
    refuse(HEAD ",\"data_base64\":\"AA E\"}", "member \"data_base64\": byte 0x20 at offset 2");
    refuse(HEAD ",\"data_base64\":\"AA\\nC\"}", "byte 0x0a at offset 2 is not base64");
    refuse(HEAD ",\"data_base64\":\"A=EC\"}", "padding '=' at offset 1 before the end");
    refuse(HEAD ",\"data_base64\":\"TWF=\"}", "non-zero unused bits at offset 2");
    refuse(HEAD ",\"data_base64\":12}", "member \"data_base64\" must be a string of base64, not "
                                        "a number");
}

static void read_refuses_both_data_and_data_base64(void **state)
{
    kec_event *ev;

    (void)state;
    refuse(HEAD ",\"data\":\"text\",\"data_base64\":\"eyAieHl6IjogMTIzIH0=\"}",
           "members \"data\" and \"data_base64\" are both set");
    /* one of them null is fine */
    ev = read_ok(HEAD ",\"data\":null,\"data_base64\":\"TWE=\"}");
    kec_event_free(ev);
    ev = read_ok(HEAD ",\"data\":\"x\",\"data_base64\":null}");
    kec_event_free(ev);
}

/* One data member, the datacontenttype beside it, and the text data it reads as. */
typedef struct data_case {
    const char *ct;   /* the datacontenttype member's JSON value, or NULL for none */
    const char *data; /* the data member's JSON value */
    const char *text; /* the text data */
} data_case;

static const data_case data_cases[] = {
    /* absent or JSON datacontenttype: the value's own text, as sent */
    {NULL, "{ \"a\" : [1, 2.5, true, null] }", "{ \"a\" : [1, 2.5, true, null] }"},
    {NULL, "\"hello\"", "\"hello\""},
    {NULL, "42", "42"},
    {NULL, "\"caf\\u00e9 \\\"q\\\" \\/\"", "\"caf\\u00e9 \\\"q\\\" \\/\""},
    {"null", "\"hello\"", "\"hello\""},
    {"\"application/json\"", "\"hello\"", "\"hello\""},
    {"\"application/json\"", "[1, {}]", "[1, {}]"},
    {"\"Application/JSON; charset=utf-8\"", "\"x\"", "\"x\""},
    {"\"application/cloudevents+json\"", "{}", "{}"},
    {"\"application/vnd.api+JSON ; q=1\"", "\"x\"", "\"x\""},
    {"\"text/json\"", "\"x\"", "\"x\""},
    /* other types: a string's contents; another value's JSON text */
    {"\"text/plain\"", "\"Simple text\"", "Simple text"},
    {"\"text/plain\"", "\"line\\nnext\\t\\u00e9\"", "line\nnext\t\xc3\xa9"},
    {"\"text/plain\"", "{\"a\": 1}", "{\"a\": 1}"},
    {"\"application/xml\"", "\"<a/>\"", "<a/>"},
    {"\"application/jsonx\"", "\"x\"", "x"},
    {"\"application/json-seq\"", "\"x\"", "x"},
    {"\"image/json+x\"", "\"x\"", "x"},
    {"\"text/plain\"", "\"a\\\\u0000b\"", "a\\u0000b"}, /* an escaped backslash, no NUL */
};

static void read_data_as_text_per_datacontenttype(void **state)
{
    char text[300];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof data_cases / sizeof data_cases[0]; i++) {
        const data_case *c = &data_cases[i];
        kec_event *ev;

        /* datacontenttype before and after data: it applies either way */
        if (c->ct != NULL)
            snprintf(text, sizeof text, HEAD ",\"datacontenttype\":%s,\"data\":%s}", c->ct,
                     c->data);
        else
            snprintf(text, sizeof text, HEAD ",\"data\":%s}", c->data);
        ev = read_ok(text);
        if (strcmp(text_data(ev), c->text) != 0)
            fail_msg("%s: text data %s, want %s", text, text_data(ev), c->text);
        kec_event_free(ev);
        if (c->ct == NULL)
            continue;
        snprintf(text, sizeof text, HEAD ",\"data\":%s,\"datacontenttype\":%s}", c->data, c->ct);
        ev = read_ok(text);
        assert_string_equal(text_data(ev), c->text);
        kec_event_free(ev);
    }
}

static void read_json_data_numbers_arrive_as_sent(void **state)
{
    static const char *const numbers[] = {
        "9007199254740993",
        "12345678901234567890123",
        "-0",
        "0.30000000000000004",
        "1.7976931348623157e308",
        "1e400",
        "5e-324",
        "1E+2",
        "-1e999",
        "1234567890123456789012345678901234567890123456789012345678901234567890.5e-1"};
    char text[400], want[200];
    kec_event *ev;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        snprintf(text, sizeof text, HEAD ",\"data\": %s }", numbers[i]);
        ev = read_ok(text);
        assert_string_equal(text_data(ev), numbers[i]);
        kec_event_free(ev);
        snprintf(want, sizeof want, "{\"n\" : [ %s ]}", numbers[i]);
        snprintf(text, sizeof text, HEAD ",\"datacontenttype\":\"application/json\",\"data\":%s}",
                 want);
        ev = read_ok(text);
        assert_string_equal(text_data(ev), want);
        kec_event_free(ev);
    }
    /* as a string's contents it is just text */
    ev = read_ok(HEAD ",\"datacontenttype\":\"text/plain\",\"data\":\"1e999\"}");
    assert_string_equal(text_data(ev), "1e999");
    kec_event_free(ev);
}

static void read_json_data_found_by_member_order_not_raw_name(void **state)
{
    kec_event **evs = NULL;
    kec_event *ev;
    size_t count = 0;
    int is_batch = 0;
    static const char batch[] = "[ " HEAD ",\"d\\u0061ta\":[1.0, 2E0]} ,\n" HEAD
                                ",\"x\":\"data\",\"data\" :\t{\"data\": 9007199254740993}\n} ]";

    (void)state;
    ev = read_ok(HEAD ",\"d\\u0061ta\" : 1.50 }");
    assert_string_equal(text_data(ev), "1.50");
    kec_event_free(ev);
    refuse(HEAD ",\"data\":1,\"d\\u0061ta\":2}", "member \"data\" appears more than once");
    assert_int_equal(kec_json_read(batch, sizeof batch - 1, &evs, &count, &is_batch, NULL), KEC_OK);
    assert_int_equal(count, 2);
    assert_string_equal(text_data(evs[0]), "[1.0, 2E0]");
    assert_string_equal(text_data(evs[1]), "{\"data\": 9007199254740993}");
    kec_events_free(evs, count);
}

static void read_refuses_nul_outside_json_data(void **state)
{
    kec_event *ev;
    static const char with_nul[] = "{\"id\":\"a\0b\"}";

    (void)state;
    refuse("{\"id\":\"a\\u0000b\"}", "JSON text holds \\u0000 at offset 8");
    refuse("{\"i\\u0000d\":\"a\"}", "JSON text holds \\u0000 at offset 3"); /* a member name */
    refuse(HEAD ",\"datacontenttype\":\"text/plain\",\"data\":\"x\\u0000\"}", "\\u0000 at offset");
    refuse(HEAD ",\"data\":[1],\"ext\":\"\\u0000\"}", "\\u0000 at offset");
    refuse("{\"id\":\"\\\\\\u0000\"}", "\\u0000 at offset 9"); /* "\\" then "\u0000" */
    refuse_len(with_nul, sizeof with_nul - 1, KEC_EFORMAT, "NUL byte at offset 8");
    /* "\\u0000" is a backslash and "u0000", not NUL */
    ev = read_ok("{\"id\":\"a\\\\u0000b\"}");
    assert_string_equal(kec_event_id(ev), "a\\u0000b");
    kec_event_free(ev);
    /* inside JSON data it is valid JSON and travels as those six characters, never a NUL */
    ev = read_ok(HEAD ",\"data\":\"x\\u0000\"}");
    assert_string_equal(text_data(ev), "\"x\\u0000\"");
    kec_event_free(ev);
    ev = read_ok(HEAD ",\"datacontenttype\":\"text/plain\",\"data\":{\"k\":\"\\u0000\"}}");
    assert_string_equal(text_data(ev), "{\"k\":\"\\u0000\"}");
    kec_event_free(ev);
}

/* ---- reading: the text ---- */

static void read_refuses_what_is_not_one_json_value(void **state)
{
    kec_event *ev;

    (void)state;
    refuse("{\"id\":}", "not JSON");
    refuse("{\"id\":\"a\"", "not JSON");
    refuse("{'id':'a'}", "not JSON");
    refuse("{\"id\":\"a\"}\n{}", "text after the JSON value at offset 11 (line 2, column 1)");
    refuse("{} x", "text after the JSON value at offset 3");
    refuse_len("", 0, KEC_EFORMAT, "the JSON text is empty");
    refuse_len(NULL, 0, KEC_EFORMAT, "the JSON text is empty");
    refuse_len(NULL, 5, KEC_EINVAL, "no JSON text given");
    refuse("[]", "the JSON text is an array, not an object (an event)");
    refuse("\"event\"", "the JSON text is a string, not an object");
    refuse("null", "the JSON text is null, not an object");
    /* whitespace around the value is fine */
    ev = read_ok(" \t\r\n{\"id\":\"a\"}\n\n ");
    assert_string_equal(kec_event_id(ev), "a");
    kec_event_free(ev);
}

static void read_stops_at_len_without_a_nul_terminator(void **state)
{
    static const char text[] = "{\"id\":\"a\"}GARBAGE";
    kec_event *ev = NULL;

    (void)state;
    assert_int_equal(kec_event_from_json(text, 10, &ev, NULL), KEC_OK);
    assert_string_equal(kec_event_id(ev), "a");
    kec_event_free(ev);
    refuse_len(text, 9, KEC_EFORMAT, "not JSON");
}

/* HEAD with data nested depth arrays deep; the caller frees it. */
static char *nested_event(size_t depth)
{
    static const char head[] = HEAD ",\"data\":";
    size_t n = sizeof head - 1;
    char *text = malloc(n + depth * 2 + 2);

    assert_non_null(text);
    memcpy(text, head, n);
    memset(text + n, '[', depth);
    memset(text + n + depth, ']', depth);
    memcpy(text + n + 2 * depth, "}", 2);
    return text;
}

static void read_refuses_nesting_deeper_than_the_limit(void **state)
{
    static const size_t deep[] = {KEC_JSON_MAX_DEPTH + 1, 999, 2000, 100000};
    char *text, *batch, want[120];
    kec_event **evs = NULL;
    kec_event *ev;
    kec_error err;
    size_t i, n, count;
    int is_batch;

    (void)state;
    /* the data itself may nest KEC_JSON_MAX_DEPTH deep, alone or in a batch */
    text = nested_event(KEC_JSON_MAX_DEPTH);
    ev = read_ok(text);
    assert_int_equal(strlen(text_data(ev)), 2 * KEC_JSON_MAX_DEPTH);
    kec_event_free(ev);
    n = strlen(text);
    batch = malloc(n + 3);
    assert_non_null(batch);
    batch[0] = '[';
    memcpy(batch + 1, text, n);
    memcpy(batch + 1 + n, "]", 2);
    assert_int_equal(kec_json_read(batch, n + 2, &evs, &count, &is_batch, NULL), KEC_OK);
    assert_int_equal(count, 1);
    assert_int_equal(strlen(text_data(evs[0])), 2 * KEC_JSON_MAX_DEPTH);
    kec_events_free(evs, count);
    free(batch);
    free(text);
    for (i = 0; i < sizeof deep / sizeof deep[0]; i++) {
        text = nested_event(deep[i]);
        if (i == 0)
            snprintf(want, sizeof want, "data nested deeper than the limit of %d at offset %zu",
                     KEC_JSON_MAX_DEPTH, strlen(HEAD ",\"data\":") + KEC_JSON_MAX_DEPTH);
        else
            snprintf(want, sizeof want, "data nested deeper than the limit of %d at offset",
                     KEC_JSON_MAX_DEPTH);
        refuse(text, want);
        /* in a batch too */
        n = strlen(text);
        batch = malloc(n + 3);
        assert_non_null(batch);
        batch[0] = '[';
        memcpy(batch + 1, text, n);
        memcpy(batch + 1 + n, "]", 2);
        kec_error_clear(&err);
        assert_int_equal(kec_json_read(batch, n + 2, &evs, &count, &is_batch, &err), KEC_EFORMAT);
        if (strstr(err.msg, "data nested deeper than the limit of 256") == NULL)
            fail_msg("batch of %zu deep: %s", deep[i], err.msg);
        free(batch);
        free(text);
    }
}

static void read_refuses_what_rfc8259_does_not_allow(void **state)
{
    static const struct {
        const char *text; /* an event with something invalid */
        const char *want; /* the message */
    } cases[] = {
        {HEAD ",\"data\":01}", "not JSON: number with a leading zero at offset 64 (line 1, "
                               "column 65)"},
        {HEAD ",\"data\":\"a\x01\"}", "control character 0x01 in a string"},
        {HEAD ",\"data\":[1,]}", "']' where a value was expected at offset 67"},
        {HEAD ",\"data\":{\"a\":1,}}", "'}' where a member name (a string) was expected"},
        {HEAD ",\"data\":\"\\ud800x\"}", "lone high surrogate \\ud800"},
        {HEAD ",\"data\":+1}", "'+' where a value was expected"},
        {HEAD ",\"data\":.5}", "'.' where a value was expected"},
        {HEAD ",\"data\":1.}", "'.' not followed by a digit"},
        {"\xef\xbb\xbf" HEAD "}", "byte order mark before the value at offset 0"},
        {HEAD ",\f\"x\":1}", "byte 0x0c where a member name"},
        {HEAD ",\"id2\":\"\xc3\x28\"}", "invalid UTF-8 in a string"},
        {"{\"id\":\"a\",}", "'}' where a member name (a string) was expected at offset 10"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        refuse(cases[i].text, cases[i].want);
}

/* ---- the strict checker (client/json_check.c) ---- */

/* JSONTestSuite-style cases: y_ must pass, n_ must fail (with the offset given, or any when
 * it is (size_t)-1). Written here: nothing is downloaded. */
static const char *const y_cases[] = {"[]",
                                      "{}",
                                      "0",
                                      "-0",
                                      "-0.0e-0",
                                      "1E+2",
                                      "1e400",
                                      "5e-324",
                                      "[-1]",
                                      "[1E22]",
                                      "[0e1]",
                                      "12345678901234567890123",
                                      "\"\"",
                                      "\" \"",
                                      "\"\\u0000\"",
                                      "\"\\ud83d\\ude00\"",
                                      "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
                                      "\"\\uFFFF\"",
                                      "\"\xf0\x9f\x98\x80\"",
                                      "\"\xe2\x80\xa8\"",
                                      "\"\\u002F\"",
                                      " [1] ",
                                      "\n\r\t{}",
                                      "true",
                                      "false",
                                      "null",
                                      "[[], {}, [{}]]",
                                      "{\"a\":{\"a\":{\"a\":[]}}}",
                                      "{\"\":0}",
                                      "{\"a\":1,\"a\":2}",
                                      "[1,\n2 , 3]",
                                      "\"\x7f\"",
                                      "[\"a\",\"b\"]",
                                      "{\"\\u0061\":\"\\u00e9\"}"};

static const struct {
    const char *text; /* invalid JSON */
    size_t at;        /* where the fault is */
} n_cases[] = {{"", 0},
               {" ", 1},
               {"01", 0},
               {"-01", 0},
               {"+1", 0},
               {"1.", 1},
               {".5", 0},
               {"-", 0},
               {"1e", 0},
               {"1e+", 0},
               {"0x1", 1},
               {"1.0e", 0},
               {"NaN", 0},
               {"Infinity", 0},
               {"-Infinity", 0},
               {"[1,]", 3},
               {"{\"a\":1,}", 7},
               {"[,1]", 1},
               {"[1 2]", 3},
               {"{\"a\" 1}", 5},
               {"{a:1}", 1},
               {"{'a':1}", 1},
               {"{\"a\":}", 5},
               {"{1:1}", 1},
               {"[", 1},
               {"]", 0},
               {"{", 1},
               {"[1", 2},
               {"[1}", 2},
               {"{\"a\":1]", 6},
               {"\"abc", 0},
               {"\"\\x\"", 1},
               {"\"\\u12\"", 1},
               {"\"\\uD800\"", 1},
               {"\"\\uDC00\"", 1},
               {"\"\\uD800\\u0041\"", 1},
               {"\"\\uD800\\\"", 1},
               {"\"a\tb\"", 2},
               {"\"a\nb\"", 2},
               {"\"\x1f\"", 1},
               {"\"\xff\"", 1},
               {"\"\xc0\xaf\"", 1},
               {"\"\xed\xa0\x80\"", 1},
               {"\"\xe2\x80\"", 1},
               {"\xef\xbb\xbf[]", 0},
               {"[]\f", 2},
               {"\f[]", 0},
               {"[]\xc2\xa0", 2},
               {"tru", 0},
               {"nul", 0},
               {"True", 0},
               {"[1] [2]", 4},
               {"{}x", 2},
               {"[\"a\"\"b\"]", 4},
               {"\xff", 0},
               {"[-]", 1},
               {"[- 1]", 1},
               {"[1.e1]", 2},
               {"[.1]", 1},
               {"[012]", 1},
               {"[1,,2]", 3},
               {"{\"a\":1,,}", 7},
               {"{\"a\"::1}", 5},
               {"[\"\\\"]", 1}};

static void checker_accepts_y_cases_and_refuses_n_cases_at_their_offset(void **state)
{
    kec_json_fault f;
    size_t i, len;
    int rc;

    (void)state;
    for (i = 0; i < sizeof y_cases / sizeof y_cases[0]; i++) {
        rc = kec_json_check(y_cases[i], strlen(y_cases[i]), &f);
        if (rc != KEC_JSON_OK)
            fail_msg("y case %zu %s refused: %s at %zu", i, y_cases[i], f.reason, f.offset);
    }
    for (i = 0; i < sizeof n_cases / sizeof n_cases[0]; i++) {
        len = strlen(n_cases[i].text);
        rc = kec_json_check(n_cases[i].text, len, &f);
        if (rc != KEC_JSON_ESYNTAX)
            fail_msg("n case %zu %s: %d, want a syntax fault", i, n_cases[i].text, rc);
        if (f.offset != n_cases[i].at)
            fail_msg("n case %zu %s: fault at %zu (%s), want %zu", i, n_cases[i].text, f.offset,
                     f.reason, n_cases[i].at);
        assert_true(f.reason[0] != '\0');
    }
    /* a NUL byte is a control character like any other, never the end of the text */
    assert_int_equal(kec_json_check("[\0]", 3, &f), KEC_JSON_ESYNTAX);
    assert_int_equal(f.offset, 1);
    assert_int_equal(kec_json_check("\"\0\"", 3, &f), KEC_JSON_ESYNTAX);
    assert_string_equal(f.reason, "control character 0x00 in a string (it must be escaped)");
    assert_int_equal(kec_json_check("[]\0", 3, &f), KEC_JSON_ESYNTAX);
    assert_int_equal(kec_json_check(NULL, 0, &f), KEC_JSON_ESYNTAX);
}

/* n nested arrays, plus a tail. */
static char *arrays(size_t n, const char *tail)
{
    char *t = malloc(2 * n + strlen(tail) + 1);

    assert_non_null(t);
    memset(t, '[', n);
    memset(t + n, ']', n);
    strcpy(t + 2 * n, tail);
    return t;
}

static void checker_nesting_limit_is_one_constant(void **state)
{
    kec_json_fault f;
    char *t;

    (void)state;
    assert_int_equal(KEC_JSON_MAX_DEPTH, 256);
    t = arrays(KEC_JSON_MAX_DEPTH, "");
    assert_int_equal(kec_json_check(t, strlen(t), &f), KEC_JSON_OK);
    free(t);
    t = arrays(KEC_JSON_MAX_DEPTH + 1, "");
    assert_int_equal(kec_json_check(t, strlen(t), &f), KEC_JSON_EDEPTH);
    assert_int_equal(f.offset, KEC_JSON_MAX_DEPTH);
    assert_string_equal(f.reason, "nested deeper than the limit of 256");
    free(t);
    /* a document's envelope (batch, event) may add KEC_JSON_ENVELOPE_DEPTH levels, no more */
    t = arrays(KEC_JSON_MAX_DEPTH + KEC_JSON_ENVELOPE_DEPTH, "");
    assert_int_equal(kec_json_check(t, strlen(t), &f), KEC_JSON_EDEPTH);
    assert_int_equal(kec_json_check_depth(t, strlen(t), KEC_JSON_MAX_DEPTH + 2, &f), KEC_JSON_OK);
    free(t);
    t = arrays(KEC_JSON_MAX_DEPTH + KEC_JSON_ENVELOPE_DEPTH + 1, "");
    assert_int_equal(kec_json_check_depth(t, strlen(t), 100000, &f), KEC_JSON_EDEPTH);
    assert_int_equal(f.offset, KEC_JSON_MAX_DEPTH + KEC_JSON_ENVELOPE_DEPTH);
    free(t);
    t = arrays(999, "");
    t[500] = '{'; /* not JSON at all: a syntax fault, however deep it nests */
    assert_int_equal(kec_json_check(t, strlen(t), &f), KEC_JSON_ESYNTAX);
    assert_int_equal(f.offset, 501); /* a '[' where the object wants a member name */
    free(t);
    t = arrays(100000, "");
    assert_int_equal(kec_json_check(t, strlen(t), &f), KEC_JSON_EDEPTH);
    assert_int_equal(f.offset, KEC_JSON_MAX_DEPTH);
    t[strlen(t) - 1] = '\0'; /* one ']' short: not JSON */
    assert_int_equal(kec_json_check(t, strlen(t), &f), KEC_JSON_ESYNTAX);
    free(t);
    t = arrays(10, "x");
    assert_int_equal(kec_json_check(t, strlen(t), &f), KEC_JSON_ESYNTAX);
    assert_int_equal(f.offset, 20);
    free(t);
    /* objects count the same as arrays */
    t = malloc(7 * (KEC_JSON_MAX_DEPTH + 1) + 2);
    assert_non_null(t);
    t[0] = '\0';
    for (size_t i = 0; i <= KEC_JSON_MAX_DEPTH; i++)
        strcat(t, "{\"a\":");
    strcat(t, "1");
    assert_int_equal(kec_json_check(t, strlen(t), &f), KEC_JSON_ESYNTAX); /* never closed */
    for (size_t i = 0; i <= KEC_JSON_MAX_DEPTH; i++)
        strcat(t, "}");
    assert_int_equal(kec_json_check(t, strlen(t), &f), KEC_JSON_EDEPTH);
    assert_int_equal(f.offset, 5 * KEC_JSON_MAX_DEPTH);
    free(t);
}

static void checker_spans_give_each_childs_original_text(void **state)
{
    static const char text[] = " { \"a\" : [1, 2.50] ,\"b\\\"}\":\"x]}\" , \"c\":{\"d\":[]},"
                               "\"e\":-1e400,\"f\":true} ";
    static const char *const want[] = {"[1, 2.50]", "\"x]}\"", "{\"d\":[]}", "-1e400", "true"};
    kec_json_span spans[8], sp = kec_json_trim(text, sizeof text - 1);
    size_t n, i;

    (void)state;
    assert_int_equal(kec_json_check(text, sizeof text - 1, NULL), KEC_JSON_OK);
    assert_int_equal(sp.start, 1);
    assert_int_equal(sp.end, sizeof text - 2);
    n = kec_json_children(text, sp, spans, 8);
    assert_int_equal(n, 5);
    for (i = 0; i < n; i++) {
        if (spans[i].end - spans[i].start != strlen(want[i]) ||
            memcmp(text + spans[i].start, want[i], strlen(want[i])) != 0)
            fail_msg("child %zu: %.*s, want %s", i, (int)(spans[i].end - spans[i].start),
                     text + spans[i].start, want[i]);
    }
    assert_int_equal(kec_json_children(text, spans[0], spans + 5, 3), 2);
    assert_int_equal(kec_json_children(text, spans[3], spans + 5, 3), 0); /* a scalar */
    assert_int_equal(kec_json_children("[]", (kec_json_span){0, 2}, spans, 8), 0);
    assert_int_equal(kec_json_children("[ ]", (kec_json_span){0, 3}, spans, 8), 0);
    /* more children than room: counted, not written past max */
    assert_int_equal(kec_json_children("[1,2,3]", (kec_json_span){0, 7}, spans, 1), 3);
}

static void read_bounds_the_text_at_kec_json_max_bytes(void **state)
{
    static const char event[] = "{\"id\":\"big\"}";
    char *text = malloc((size_t)KEC_JSON_MAX_BYTES + 1);
    kec_event *ev = NULL;
    char want[100];

    (void)state;
    assert_non_null(text);
    memset(text, ' ', (size_t)KEC_JSON_MAX_BYTES + 1);
    memcpy(text, event, sizeof event - 1);
    assert_int_equal(kec_event_from_json(text, KEC_JSON_MAX_BYTES, &ev, NULL), KEC_OK);
    assert_string_equal(kec_event_id(ev), "big");
    kec_event_free(ev);
    snprintf(want, sizeof want, "JSON text of %zu bytes is over the limit of %u",
             (size_t)KEC_JSON_MAX_BYTES + 1, KEC_JSON_MAX_BYTES);
    refuse_len(text, (size_t)KEC_JSON_MAX_BYTES + 1, KEC_EFORMAT, want);
    free(text);
}

/* ---- reading: batches ---- */

static void batch_reads_events_in_order(void **state)
{
    static const char text[] = "[" HEAD "}, {\"id\":\"second\",\"ext\":1}, {}]";
    kec_event **evs = NULL;
    size_t count = 0;

    (void)state;
    assert_int_equal(kec_batch_from_json(text, strlen(text), &evs, &count, NULL), KEC_OK);
    assert_int_equal(count, 3);
    assert_string_equal(kec_event_id(evs[0]), "e-1");
    assert_string_equal(kec_event_id(evs[1]), "second");
    assert_int_equal(kec_event_attr(evs[1], "ext")->integer, 1);
    assert_string_equal(kec_event_id(evs[2]), "");
    kec_events_free(evs, count);
}

static void batch_empty_is_zero_events(void **state)
{
    kec_event **evs = NULL;
    size_t count = 7;

    (void)state;
    assert_int_equal(kec_batch_from_json(" [ ] ", 5, &evs, &count, NULL), KEC_OK);
    assert_int_equal(count, 0);
    kec_events_free(evs, count);
}

/* Asserts kec_batch_from_json refuses text with a message holding want, outputs reset. */
static void batch_refuse(const char *text, const char *want)
{
    kec_event **evs = (kec_event **)&evs;
    size_t count = 7;
    kec_error err;

    kec_error_clear(&err);
    if (kec_batch_from_json(text, strlen(text), &evs, &count, &err) != KEC_EFORMAT)
        fail_msg("%.200s: not refused", text);
    assert_null(evs);
    assert_int_equal(count, 0);
    if (strstr(err.msg, want) == NULL)
        fail_msg("%.200s: message \"%s\" does not say \"%s\"", text, err.msg, want);
}

static void batch_error_names_the_event_index(void **state)
{
    (void)state;
    batch_refuse("[\"not an object\"," HEAD "}]", "batch[0]: not a JSON object");
    batch_refuse("[{}, 5]", "batch[1]: not a JSON object");
    batch_refuse("[{}, {}, {\"id\":25}]", "batch[2]: member \"id\" must be a string, not a number");
    batch_refuse("[{}, {\"time\":\"noon\"}]", "batch[1]: member \"time\": time \"noon\"");
    batch_refuse("[{\"x\":1.5}]", "batch[0]: extension \"x\": 1.5 is not an integer within int32");
    batch_refuse("{}", "the JSON text is an object, not an array (a batch)");
    batch_refuse("[{}] []", "text after the JSON value");
}

static void batch_bounds_events_at_kec_batch_max_events(void **state)
{
    size_t cap = 3 * (KEC_BATCH_MAX_EVENTS + 1) + 8, n = 0, count = 0;
    char *text = malloc(cap);
    kec_event **evs = NULL;
    char want[100];
    int i;

    (void)state;
    assert_non_null(text);
    text[n++] = '[';
    for (i = 0; i < KEC_BATCH_MAX_EVENTS; i++) {
        memcpy(text + n, i ? ",{}" : "{}", i ? 3 : 2);
        n += i ? 3 : 2;
    }
    strcpy(text + n, "]");
    assert_int_equal(kec_batch_from_json(text, strlen(text), &evs, &count, NULL), KEC_OK);
    assert_int_equal(count, KEC_BATCH_MAX_EVENTS);
    kec_events_free(evs, count);
    strcpy(text + n, ",{}]");
    snprintf(want, sizeof want, "a batch of more than %d events is over the limit",
             KEC_BATCH_MAX_EVENTS);
    batch_refuse(text, want);
    free(text);
}

static void json_read_takes_an_event_or_a_batch(void **state)
{
    kec_event **evs = NULL;
    size_t count = 0;
    int is_batch = 7;
    kec_error err;

    (void)state;
    assert_int_equal(kec_json_read(HEAD "}", strlen(HEAD "}"), &evs, &count, &is_batch, NULL),
                     KEC_OK);
    assert_true(count == 1 && is_batch == 0);
    assert_string_equal(kec_event_id(evs[0]), "e-1");
    kec_events_free(evs, count);

    assert_int_equal(kec_json_read("[{},{}]", 7, &evs, &count, &is_batch, NULL), KEC_OK);
    assert_true(count == 2 && is_batch == 1);
    kec_events_free(evs, count);

    assert_int_equal(kec_json_read("[]", 2, &evs, &count, &is_batch, NULL), KEC_OK);
    assert_true(count == 0 && is_batch == 1);
    kec_events_free(evs, count);

    kec_error_clear(&err);
    assert_int_equal(kec_json_read("17", 2, &evs, &count, &is_batch, &err), KEC_EFORMAT);
    assert_true(evs == NULL && count == 0 && is_batch == 0);
    assert_string_equal(err.msg, "the JSON text is a number, neither an object (an event) nor "
                                 "an array (a batch)");
    kec_error_clear(&err);
    assert_int_equal(kec_json_read("[{\"id\":1}]", 10, &evs, &count, &is_batch, &err), KEC_EFORMAT);
    assert_true(evs == NULL && count == 0 && is_batch == 0);
    assert_string_equal(err.msg, "batch[0]: member \"id\" must be a string, not a number");
    kec_error_clear(&err);
    assert_int_equal(kec_json_read("{\"id\":1}", 8, &evs, &count, &is_batch, &err), KEC_EFORMAT);
    assert_string_equal(err.msg, "member \"id\" must be a string, not a number");
}

/* ---- writing ---- */

static void write_orders_keys_core_first_then_data_then_extensions_by_name(void **state)
{
    kec_event *ev = new_event();
    kec_time t = {.seconds = 1522949460};

    (void)state;
    /* set in an order unlike the output's */
    assert_int_equal(kec_event_set_string(ev, "zeta", "z", NULL), KEC_OK);
    assert_int_equal(kec_event_set_integer(ev, "alpha", 1, NULL), KEC_OK);
    assert_int_equal(kec_event_set_time(ev, "time", t, NULL), KEC_OK);
    assert_int_equal(kec_event_set_string(ev, "subject", "sub", NULL), KEC_OK);
    assert_int_equal(kec_event_set_boolean(ev, "mid", 1, NULL), KEC_OK);
    assert_int_equal(kec_event_set_uri(ev, "dataschema", "https://x.example/s", NULL), KEC_OK);
    assert_int_equal(kec_event_set_string(ev, "datacontenttype", "application/json", NULL), KEC_OK);
    assert_int_equal(kec_event_set_text_data(ev, "{\"k\":\"v\"}", 9, NULL), KEC_OK);
    assert_json(ev, HEAD ",\"datacontenttype\":\"application/json\",\"dataschema\":"
                         "\"https://x.example/s\",\"subject\":\"sub\",\"time\":"
                         "\"2018-04-05T17:31:00Z\",\"data\":{\"k\":\"v\"},\"alpha\":1,\"mid\":"
                         "true,\"zeta\":\"z\"}");
    kec_event_free(ev);
}

static void write_renders_each_attribute_type(void **state)
{
    kec_event *ev = new_event();
    kec_time t = {.seconds = -62135596800LL, .nanos = 500000000};

    (void)state;
    assert_int_equal(kec_event_set_bytes(ev, "extbin", "\x00\x01\xff", 3, NULL), KEC_OK);
    assert_int_equal(kec_event_set_bytes(ev, "extempty", "", 0, NULL), KEC_OK);
    assert_int_equal(kec_event_set_time(ev, "exttime", t, NULL), KEC_OK);
    assert_int_equal(kec_event_set_uri(ev, "exturi", "https://cloudevents.io", NULL), KEC_OK);
    assert_int_equal(kec_event_set_uri_ref(ev, "exturiref", "//authority/path", NULL), KEC_OK);
    assert_int_equal(kec_event_set_string(ev, "extstr", "tab\there \"q\" \xc3\xa9", NULL), KEC_OK);
    assert_int_equal(kec_event_set_integer(ev, "extmin", INT32_MIN, NULL), KEC_OK);
    assert_int_equal(kec_event_set_boolean(ev, "extno", 0, NULL), KEC_OK);
    assert_json(ev, HEAD ",\"extbin\":\"AAH/\",\"extempty\":\"\",\"extmin\":-2147483648,"
                         "\"extno\":false,\"extstr\":\"tab\\there \\\"q\\\" \xc3\xa9\","
                         "\"exttime\":\"0001-01-01T00:00:00.500Z\",\"exturi\":"
                         "\"https://cloudevents.io\",\"exturiref\":\"//authority/path\"}");
    kec_event_free(ev);
}

/* One event's data and datacontenttype, and the member it is written as. */
typedef struct write_case {
    const char *ct;     /* datacontenttype, or NULL for none */
    kec_data_kind kind; /* the data's kind */
    const char *data;   /* its bytes (NUL-terminated here) */
    const char *member; /* what follows the core members in the JSON */
} write_case;

static const write_case write_cases[] = {
    {NULL, KEC_DATA_TEXT, "{\"a\": [1, 2]}", "\"data\":{\"a\": [1, 2]}"},
    {NULL, KEC_DATA_TEXT, "\"q\"", "\"data\":\"q\""},
    {NULL, KEC_DATA_TEXT, "hello", "\"data\":\"hello\""},
    {NULL, KEC_DATA_TEXT, "", "\"data\":\"\""},
    {NULL, KEC_DATA_TEXT, " 12 ", "\"data\":12"},
    {NULL, KEC_DATA_TEXT, "9007199254740993", "\"data\":9007199254740993"},
    {NULL, KEC_DATA_TEXT, "[0.30000000000000004, 1e400, -0]",
     "\"data\":[0.30000000000000004, 1e400, -0]"},
    {NULL, KEC_DATA_TEXT, "01", "\"data\":\"01\""},
    {"application/json", KEC_DATA_TEXT, "[true, null]", "\"data\":[true, null]"},
    {"application/json", KEC_DATA_TEXT, "not json", "\"data\":\"not json\""},
    {"application/json", KEC_DATA_TEXT, "{} {}", "\"data\":\"{} {}\""},
    {"application/json", KEC_DATA_TEXT, "{\"a\":\"\\u0000\"}", "\"data\":{\"a\":\"\\u0000\"}"},
    {"application/json; charset=utf-8", KEC_DATA_TEXT, "false", "\"data\":false"},
    {"application/cloudevents+json", KEC_DATA_TEXT, "{}", "\"data\":{}"},
    {"text/plain", KEC_DATA_TEXT, "{\"a\":1}", "\"data\":\"{\\\"a\\\":1}\""},
    {"text/plain", KEC_DATA_TEXT, "line\nnext", "\"data\":\"line\\nnext\""},
    {"application/octet-stream", KEC_DATA_BINARY, "\x01\x02\x03", "\"data_base64\":\"AQID\""},
    {NULL, KEC_DATA_BINARY, "{}", "\"data_base64\":\"e30=\""},
    {"application/protobuf", KEC_DATA_PROTO, "\x0a\x02hi", "\"data_base64\":\"CgJoaQ==\""},
};

static void write_renders_data_per_kind_and_datacontenttype(void **state)
{
    char want[300];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof write_cases / sizeof write_cases[0]; i++) {
        const write_case *c = &write_cases[i];
        kec_event *ev = new_event();
        size_t len = strlen(c->data);

        if (c->ct != NULL)
            assert_int_equal(kec_event_set_string(ev, "datacontenttype", c->ct, NULL), KEC_OK);
        if (c->kind == KEC_DATA_TEXT)
            assert_int_equal(kec_event_set_text_data(ev, c->data, len, NULL), KEC_OK);
        else if (c->kind == KEC_DATA_BINARY)
            assert_int_equal(kec_event_set_binary_data(ev, c->data, len, NULL), KEC_OK);
        else
            assert_int_equal(kec_event_set_proto_data(ev, "t/x", c->data, len, NULL), KEC_OK);
        if (c->ct != NULL)
            snprintf(want, sizeof want, HEAD ",\"datacontenttype\":\"%s\",%s}", c->ct, c->member);
        else
            snprintf(want, sizeof want, HEAD ",%s}", c->member);
        assert_json(ev, want);
        kec_event_free(ev);
    }
}

static void write_leaves_out_empty_required_attributes(void **state)
{
    kec_event *ev = new_event();

    (void)state;
    assert_int_equal(kec_event_set_id(ev, "", NULL), KEC_OK);
    assert_int_equal(kec_event_set_spec_version(ev, NULL, NULL), KEC_OK);
    assert_json(ev, "{\"source\":\"/s\",\"type\":\"t\"}");
    assert_int_equal(kec_event_set_source(ev, "", NULL), KEC_OK);
    assert_int_equal(kec_event_set_type(ev, "", NULL), KEC_OK);
    assert_json(ev, "{}");
    kec_event_free(ev);
}

static void write_refuses_attributes_named_like_format_members(void **state)
{
    static const char *const names[] = {"specversion", "id",   "source",
                                        "type",        "data", "data_base64"};
    char want[100];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        kec_event *ev = new_event();
        kec_error err;

        assert_int_equal(kec_event_set_string(ev, names[i], "x", NULL), KEC_OK);
        kec_error_clear(&err);
        assert_null(kec_event_to_json(ev, &err));
        assert_int_equal(err.code, KEC_EFORMAT);
        snprintf(want, sizeof want, "attribute \"%s\" cannot be written", names[i]);
        assert_non_null(strstr(err.msg, want));
        kec_event_free(ev);
    }
}

/* ---- round trips ---- */

/* Texts in the writer's form: reading and writing gives them back byte for byte. */
static const char *const canonical[] = {
    HEAD "}",
    HEAD ",\"datacontenttype\":\"application/json\",\"dataschema\":\"https://x.example/s\","
         "\"subject\":\"sub\",\"time\":\"2018-04-05T17:31:00.123Z\",\"data\":{\"a\":[1,2.5,\"x\","
         "true,null],\"e\":{},\"f\":[]},\"extb\":false,\"exti\":-5,\"exts\":\"v\"}",
    HEAD ",\"data\":\"hello\"}",
    HEAD ",\"data\":1.5}",
    HEAD ",\"time\":\"9999-12-31T23:59:59.999999999Z\",\"data\":[]}",
    HEAD ",\"datacontenttype\":\"text/plain\",\"data\":\"line\\nnext \xc3\xa9 \\\"q\\\"\"}",
    HEAD ",\"datacontenttype\":\"text/plain\",\"data\":\"\"}",
    HEAD ",\"datacontenttype\":\"application/octet-stream\",\"data_base64\":\"AAEC/w==\"}",
    HEAD ",\"data_base64\":\"\"}",
    ("{\"specversion\":\"0.3\",\"id\":\"\\u0001\",\"source\":\"#fragment\",\"type\":\"t\","
     "\"MyExtension\":\"bad\"}"), /* one text on two lines */
};

static void json_event_json_round_trips_byte_for_byte(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof canonical / sizeof canonical[0]; i++) {
        kec_event *ev = read_ok(canonical[i]);

        assert_json(ev, canonical[i]);
        kec_event_free(ev);
    }
}

static void event_json_event_round_trips_readable_types(void **state)
{
    kec_event *ev = new_event(), *back;
    kec_time t = {.seconds = 1522949460, .nanos = 1};
    char *text;

    (void)state;
    assert_int_equal(kec_event_set_string(ev, "datacontenttype", "text/csv", NULL), KEC_OK);
    assert_int_equal(kec_event_set_uri(ev, "dataschema", "urn:x", NULL), KEC_OK);
    assert_int_equal(kec_event_set_time(ev, "time", t, NULL), KEC_OK);
    assert_int_equal(kec_event_set_string(ev, "subject", "s", NULL), KEC_OK);
    assert_int_equal(kec_event_set_boolean(ev, "extb", 1, NULL), KEC_OK);
    assert_int_equal(kec_event_set_integer(ev, "exti", INT32_MAX, NULL), KEC_OK);
    assert_int_equal(kec_event_set_string(ev, "exts", "\xf0\x9f\x98\x80", NULL), KEC_OK);
    assert_int_equal(kec_event_set_text_data(ev, "a,b\n1,2\n", 8, NULL), KEC_OK);
    text = kec_event_to_json(ev, NULL);
    assert_non_null(text);
    back = read_ok(text);
    compare_events(ev, back, STRICT, "csv", NULL, 0);
    kec_event_free(back);
    free(text);

    assert_int_equal(kec_event_set_binary_data(ev, "\x00\xff", 2, NULL), KEC_OK);
    text = kec_event_to_json(ev, NULL);
    back = read_ok(text);
    compare_events(ev, back, STRICT, "binary", NULL, 0);
    kec_event_free(back);
    free(text);
    kec_event_free(ev);
}

/* ---- base64 ---- */

static void base64_matches_rfc4648_vectors_and_round_trips_every_byte(void **state)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    uint8_t all[256], *out;
    size_t i, n;
    char *s;

    (void)state;
    for (i = 0; i < 7; i++) {
        s = kec_base64_encode(plain[i], strlen(plain[i]));
        assert_string_equal(s, coded[i]);
        free(s);
        assert_int_equal(kec_base64_decode(coded[i], strlen(coded[i]), &out, &n, NULL), KEC_OK);
        assert_non_null(out);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(out, plain[i], n);
        free(out);
    }
    for (i = 0; i < 256; i++)
        all[i] = (uint8_t)(255 - i);
    for (n = 250; n <= 256; n++) {
        size_t m;

        s = kec_base64_encode(all, n);
        assert_int_equal(kec_base64_decode(s, strlen(s), &out, &m, NULL), KEC_OK);
        assert_int_equal(m, n);
        assert_memory_equal(out, all, n);
        free(out);
        free(s);
    }
}

static void base64_decode_is_strict_and_says_where(void **state)
{
    /* One text that is not strict base64 and the message. */
    static const struct {
        const char *text; /* the input */
        const char *msg;  /* the whole message */
    } bad[] = {
        {"Zg=", "3 characters are not a multiple of 4 (padded base64)"},
        {"Zg", "2 characters are not a multiple of 4 (padded base64)"},
        {"Z===", "padding '=' at offset 1 before the end"},
        {"=Zg=", "padding '=' at offset 0 before the end"},
        {"Zg==Zg==", "padding '=' at offset 2 before the end"},
        {"Zh==", "non-zero unused bits at offset 1 (not canonical base64)"},
        {"Zm9=", "non-zero unused bits at offset 2 (not canonical base64)"},
        {"Zm 9", "byte 0x20 at offset 2 is not base64"},
        {"Zm-_", "'-' at offset 2 is not base64"},
        {"Zm9v\r\nZm9v", "10 characters are not a multiple of 4 (padded base64)"},
        {"Zm9\xff", "byte 0xff at offset 3 is not base64"},
    };
    size_t i, n = 9;
    uint8_t *out = (uint8_t *)&n;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kec_error err;

        kec_error_clear(&err);
        assert_int_equal(kec_base64_decode(bad[i].text, strlen(bad[i].text), &out, &n, &err),
                         KEC_EFORMAT);
        assert_true(out == NULL && n == 0);
        assert_string_equal(err.msg, bad[i].msg);
    }
}

/* ---- media types ---- */

static void media_type_is_json_ignores_case_blanks_and_parameters(void **state)
{
    static const char *const json[] = {"application/json",
                                       "Application/JSON",
                                       " application/json ; charset=utf-8",
                                       "text/json",
                                       "application/cloudevents+json",
                                       "application/vnd.x+JSON;v=1",
                                       "image/+json"};
    static const char *const other[] = {
        "",           "json",          "application",          "application/jsonx",
        "text/plain", "application/x", "application/json-seq", "image/json+x",
        "+json",      "/json",         "application/ json"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof json / sizeof json[0]; i++)
        if (!kec_media_type_is_json(json[i]))
            fail_msg("\"%s\" is JSON", json[i]);
    for (i = 0; i < sizeof other / sizeof other[0]; i++)
        if (kec_media_type_is_json(other[i]))
            fail_msg("\"%s\" is not JSON", other[i]);
}

/* ---- conformance vectors ---- */

/* The test whose sampleId is sample in the protobuf vector file doc, or NULL. */
static const cJSON *proto_sample(const cJSON *doc, const char *sample)
{
    const cJSON *t;

    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, "tests"))
    {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(t, "sampleId");

        if (cJSON_IsString(s) && strcmp(s->valuestring, sample) == 0)
            return t;
    }
    return NULL;
}

/* Sets the attribute a ({"ceString": ...} etc., in protobuf's JSON mapping) on ev with the
 * public API; the values are read with conformance.h's own base64 and RFC 3339 readers. */
static void proto_attr(kec_event *ev, const char *name, const cJSON *a)
{
    const cJSON *x = a->child;
    kec_time t = {0};
    uint8_t *buf;
    size_t n;

    assert_non_null(x);
    if (strcmp(x->string, "ceBoolean") == 0) {
        assert_int_equal(kec_event_set_boolean(ev, name, cJSON_IsTrue(x), NULL), KEC_OK);
    } else if (strcmp(x->string, "ceInteger") == 0) {
        assert_int_equal(kec_event_set_integer(ev, name, (int32_t)x->valuedouble, NULL), KEC_OK);
    } else if (strcmp(x->string, "ceString") == 0) {
        assert_int_equal(kec_event_set_string(ev, name, x->valuestring, NULL), KEC_OK);
    } else if (strcmp(x->string, "ceUri") == 0) {
        assert_int_equal(kec_event_set_uri(ev, name, x->valuestring, NULL), KEC_OK);
    } else if (strcmp(x->string, "ceUriRef") == 0) {
        assert_int_equal(kec_event_set_uri_ref(ev, name, x->valuestring, NULL), KEC_OK);
    } else if (strcmp(x->string, "ceBytes") == 0) {
        assert_int_equal(conf_base64_decode(x->valuestring, &buf, &n), 0);
        assert_int_equal(kec_event_set_bytes(ev, name, buf, n, NULL), KEC_OK);
        free(buf);
    } else if (strcmp(x->string, "ceTimestamp") == 0) {
        assert_int_equal(conf_rfc3339(x->valuestring, &t.seconds, &t.nanos), 0);
        assert_int_equal(kec_event_set_time(ev, name, t, NULL), KEC_OK);
    } else {
        fail_msg("attribute \"%s\": unknown member %s in the vector", name, x->string);
    }
}

/* A new event built from a CloudEvent in protobuf's JSON mapping. */
static kec_event *proto_event(const cJSON *o)
{
    const cJSON *m, *a;
    kec_event *ev = NULL;
    uint8_t *buf;
    size_t n;

    assert_int_equal(kec_event_new("-", NULL, NULL, &ev, NULL), KEC_OK);
#define PROTO_STR(member, setter)                                                                  \
    m = cJSON_GetObjectItemCaseSensitive(o, member);                                               \
    assert_int_equal(setter(ev, cJSON_IsString(m) ? m->valuestring : "", NULL), KEC_OK)
    PROTO_STR("specVersion", kec_event_set_spec_version);
    PROTO_STR("id", kec_event_set_id);
    PROTO_STR("source", kec_event_set_source);
    PROTO_STR("type", kec_event_set_type);
#undef PROTO_STR
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(o, "attributes"))
    {
        proto_attr(ev, a->string, a);
    }
    /* protobuf's JSON mapping takes both the lowerCamel and the original field names */
    if ((m = cJSON_GetObjectItemCaseSensitive(o, "textData")) != NULL ||
        (m = cJSON_GetObjectItemCaseSensitive(o, "text_data")) != NULL) {
        assert_int_equal(kec_event_set_text_data(ev, m->valuestring, strlen(m->valuestring), NULL),
                         KEC_OK);
    } else if ((m = cJSON_GetObjectItemCaseSensitive(o, "binaryData")) != NULL ||
               (m = cJSON_GetObjectItemCaseSensitive(o, "binary_data")) != NULL) {
        assert_int_equal(conf_base64_decode(m->valuestring, &buf, &n), 0);
        assert_int_equal(kec_event_set_binary_data(ev, buf, n, NULL), KEC_OK);
        free(buf);
    } else if (cJSON_GetObjectItemCaseSensitive(o, "protoData") != NULL ||
               cJSON_GetObjectItemCaseSensitive(o, "proto_data") != NULL) {
        fail_msg("protoData in a vector: this loader does not build google.protobuf.Any");
    }
    return ev;
}

/* 1 when the server's validation accepts ev encoded; else 0, with its message in why. */
static int server_accepts(const kec_event *ev, char *why, size_t cap)
{
    uint8_t *buf = NULL;
    size_t len;
    ke_event *kev = NULL;
    ke_error err;
    int rc;

    assert_int_equal(kec_event_encode(ev, &buf, &len, NULL), KEC_OK);
    ke_error_clear(&err);
    rc = ke_event_decode(buf, len, &kev, &err);
    snprintf(why, cap, "%s", err.msg);
    ke_event_free(kev);
    free(buf);
    return rc == KE_OK;
}

/* The same for a batch of count events. */
static int server_accepts_batch(kec_event **evs, size_t count, char *why, size_t cap)
{
    uint8_t *buf = NULL;
    size_t len;
    ke_batch *b = NULL;
    ke_error err;
    int rc;

    assert_int_equal(kec_batch_encode(evs, count, &buf, &len, NULL), KEC_OK);
    ke_error_clear(&err);
    rc = ke_batch_decode(buf, len, &b, &err);
    snprintf(why, cap, "%s", err.msg);
    ke_batch_free(b);
    free(buf);
    return rc == KE_OK;
}

/* Writes ev as JSON, reads that back, and asserts it is the same event. */
static void check_written_reads_back(const kec_event *ev, const char *id)
{
    kec_error err;
    char *text;
    kec_event *back;

    kec_error_clear(&err);
    text = kec_event_to_json(ev, &err);
    if (text == NULL)
        fail_msg("%s: not written: %s", id, err.msg);
    back = read_ok(text);
    compare_events(ev, back, STRICT, id, NULL, 0);
    kec_event_free(back);
    free(text);
}

/* Compares the JSON reading evs (count events) of a valid test with its protobuf vector
 * (events: the protobuf CloudEvents), prints what was compared as strings, and checks that
 * the server accepts them. */
static void check_valid(const char *id, kec_event **evs, size_t count, const cJSON *events,
                        int flagged)
{
    const cJSON *e;
    char why[512], notes[200] = "";
    size_t i = 0;
    int as_strings = 0;

    assert_int_equal(count, (size_t)cJSON_GetArraySize(events));
    cJSON_ArrayForEach(e, events)
    {
        kec_event *want = proto_event(e);

        as_strings += compare_events(want, evs[i], flagged ? EXT_AS_STRINGS : STRICT, id, notes,
                                     sizeof notes);
        check_written_reads_back(evs[i], id);
        kec_event_free(want);
        i++;
    }
    if (as_strings > 0)
        printf("  %-42s note: sampleExtensionAttributes: the reader cannot know the sample's "
               "extension types, so%s (%d) arrive as strings and are compared with the protobuf "
               "value's text\n",
               id, notes, as_strings);
    if (count == 1 && !server_accepts(evs[0], why, sizeof why))
        fail_msg("%s: the server refuses the event read: %s", id, why);
    if (count != 1 && !server_accepts_batch(evs, count, why, sizeof why))
        fail_msg("%s: the server refuses the batch read: %s", id, why);
}

/* Runs one test of a JSON vector file; is_batch says which member holds it. */
static void run_json_test(const cJSON *test, int valid, int is_batch, const cJSON *proto_doc)
{
    const char *id = cJSON_GetObjectItemCaseSensitive(test, "id")->valuestring;
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(test, is_batch ? "batch" : "event");
    int flagged = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(test, "sampleExtensionAttributes"));
    char *text = cJSON_Print(value); /* formatted: whitespace between every token */
    kec_event **evs = NULL;
    size_t count = 0;
    kec_error err;
    char why[512];
    int rc;

    assert_non_null(value);
    assert_non_null(text);
    if (cJSON_GetObjectItemCaseSensitive(test, "extensionConstraints") != NULL)
        printf("  %-42s note: extensionConstraints not checked by the reader (it knows no "
               "extension types)\n",
               id);
    kec_error_clear(&err);
    if (is_batch) {
        rc = kec_batch_from_json(text, strlen(text), &evs, &count, &err);
    } else {
        evs = calloc(1, sizeof *evs);
        assert_non_null(evs);
        rc = kec_event_from_json(text, strlen(text), &evs[0], &err);
        count = rc == KEC_OK;
    }
    if (valid) {
        const cJSON *p = proto_sample(
            proto_doc, cJSON_GetObjectItemCaseSensitive(test, "sampleId")->valuestring);
        const cJSON *pv;

        if (rc != KEC_OK)
            fail_msg("%s: valid vector refused: %s", id, err.msg);
        if (p == NULL)
            fail_msg("%s: no protobuf vector of its sampleId", id);
        pv = cJSON_GetObjectItemCaseSensitive(p, is_batch ? "validBatch" : "validSingle");
        if (is_batch) {
            check_valid(id, evs, count, cJSON_GetObjectItemCaseSensitive(pv, "events"), flagged);
        } else {
            cJSON *one = cJSON_CreateArray();

            assert_true(cJSON_AddItemToArray(one, cJSON_Duplicate(pv, 1)));

            check_valid(id, evs, count, one, flagged);
            cJSON_Delete(one);
        }
        printf("  %-42s accepted; equals protobuf sample \"%s\"\n", id,
               cJSON_GetObjectItemCaseSensitive(test, "sampleId")->valuestring);
    } else if (rc != KEC_OK) {
        printf("  %-42s rejected by the JSON reader: %s\n", id, err.msg);
    } else if (is_batch ? !server_accepts_batch(evs, count, why, sizeof why)
                        : !server_accepts(evs[0], why, sizeof why)) {
        printf("  %-42s rejected by the server's validation: %s\n", id, why);
    } else {
        fail_msg("%s: invalid vector accepted by both the reader and the server", id);
    }
    kec_events_free(evs, count);
    cJSON_free(text);
}

/* Runs the JSON vector file against the protobuf file of valid samples; returns its tests. */
static size_t run_json_file(const char *dir, const char *file, int valid, int is_batch,
                            const cJSON *proto_doc)
{
    cJSON *doc = conf_load(dir, file);
    const cJSON *test;
    size_t n = 0;

    assert_non_null(doc);
    printf("%s:\n", file);
    cJSON_ArrayForEach(test, cJSON_GetObjectItemCaseSensitive(doc, "tests"))
    {
        run_json_test(test, valid, is_batch, proto_doc);
        n++;
    }
    cJSON_Delete(doc);
    return n;
}

static void conformance_json_vectors_read_as_their_protobuf_samples(void **state)
{
    char *json_dir = conf_dir("cloudevents-format/json");
    char *proto_dir = json_dir != NULL ? conf_dir("cloudevents-format/protobuf") : NULL;
    cJSON *events, *batches;

    (void)state;
    if (proto_dir == NULL) {
        free(json_dir);
        conformance_missing = 1;
        skip();
    }
    events = conf_load(proto_dir, "valid-events.json");
    batches = conf_load(proto_dir, "valid-batches.json");
    assert_non_null(events);
    assert_non_null(batches);
    assert_int_equal(run_json_file(json_dir, "valid-events.json", 1, 0, events), 10);
    assert_int_equal(run_json_file(json_dir, "invalid-events.json", 0, 0, NULL), 25);
    assert_int_equal(run_json_file(json_dir, "valid-batches.json", 1, 1, batches), 5);
    assert_int_equal(run_json_file(json_dir, "invalid-batches.json", 0, 1, NULL), 3);
    cJSON_Delete(events);
    cJSON_Delete(batches);
    free(json_dir);
    free(proto_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_minimal_event_holds_required_attributes_only),
        cmocka_unit_test(read_keeps_missing_required_members_empty_for_the_server_to_reject),
        cmocka_unit_test(read_treats_null_as_absent_for_every_member),
        cmocka_unit_test(read_refuses_required_members_that_are_not_strings),
        cmocka_unit_test(read_types_the_core_optional_attributes),
        cmocka_unit_test(read_refuses_core_optional_attributes_that_are_not_strings),
        cmocka_unit_test(read_refuses_bad_time_with_the_parsers_message),
        cmocka_unit_test(read_types_extensions_by_their_json_value),
        cmocka_unit_test(read_refuses_extension_numbers_outside_int32_or_fractional),
        cmocka_unit_test(read_refuses_object_and_array_extensions),
        cmocka_unit_test(read_leaves_attribute_name_rules_to_the_server),
        cmocka_unit_test(read_refuses_duplicate_members),
        cmocka_unit_test(read_bounds_members_per_event),
        cmocka_unit_test(read_data_base64_as_binary),
        cmocka_unit_test(read_refuses_data_base64_that_is_not_strict_base64),
        cmocka_unit_test(read_refuses_both_data_and_data_base64),
        cmocka_unit_test(read_data_as_text_per_datacontenttype),
        cmocka_unit_test(read_json_data_numbers_arrive_as_sent),
        cmocka_unit_test(read_json_data_found_by_member_order_not_raw_name),
        cmocka_unit_test(read_refuses_nul_outside_json_data),
        cmocka_unit_test(read_refuses_what_is_not_one_json_value),
        cmocka_unit_test(read_stops_at_len_without_a_nul_terminator),
        cmocka_unit_test(read_refuses_nesting_deeper_than_the_limit),
        cmocka_unit_test(read_refuses_what_rfc8259_does_not_allow),
        cmocka_unit_test(checker_accepts_y_cases_and_refuses_n_cases_at_their_offset),
        cmocka_unit_test(checker_nesting_limit_is_one_constant),
        cmocka_unit_test(checker_spans_give_each_childs_original_text),
        cmocka_unit_test(read_bounds_the_text_at_kec_json_max_bytes),
        cmocka_unit_test(batch_reads_events_in_order),
        cmocka_unit_test(batch_empty_is_zero_events),
        cmocka_unit_test(batch_error_names_the_event_index),
        cmocka_unit_test(batch_bounds_events_at_kec_batch_max_events),
        cmocka_unit_test(json_read_takes_an_event_or_a_batch),
        cmocka_unit_test(write_orders_keys_core_first_then_data_then_extensions_by_name),
        cmocka_unit_test(write_renders_each_attribute_type),
        cmocka_unit_test(write_renders_data_per_kind_and_datacontenttype),
        cmocka_unit_test(write_leaves_out_empty_required_attributes),
        cmocka_unit_test(write_refuses_attributes_named_like_format_members),
        cmocka_unit_test(json_event_json_round_trips_byte_for_byte),
        cmocka_unit_test(event_json_event_round_trips_readable_types),
        cmocka_unit_test(base64_matches_rfc4648_vectors_and_round_trips_every_byte),
        cmocka_unit_test(base64_decode_is_strict_and_says_where),
        cmocka_unit_test(media_type_is_json_ignores_case_blanks_and_parameters),
        cmocka_unit_test(conformance_json_vectors_read_as_their_protobuf_samples),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    /* ctest counts exit 77 as skipped: say so when the vectors were absent */
    if (failed == 0 && conformance_missing)
        return 77;
    return failed;
}
