/* test_client_event.c -- unit tests of the client library's event builder (client/event.c) and
 * its RFC 3339 reader and writer (client/time.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kedroevents.h"

static kec_event *new_event(void)
{
    kec_event *ev = NULL;

    assert_int_equal(kec_event_new("e-1", "https://example.com/src", "com.example.t", &ev, NULL),
                     KEC_OK);
    assert_non_null(ev);
    return ev;
}

/* Asserts that the attribute names of ev are names, in this order (NULL-terminated). */
static void assert_attr_order(const kec_event *ev, const char *const *names)
{
    size_t n, i;
    const kec_attr *attrs = kec_event_attrs(ev, &n);

    for (i = 0; names[i] != NULL; i++) {
        if (i >= n)
            fail_msg("attribute %zu (%s) missing: the event has %zu", i, names[i], n);
        assert_string_equal(attrs[i].name, names[i]);
    }
    assert_int_equal(n, i);
}

/* Asserts s is a lowercase random (version 4) UUID. */
static void assert_uuid4(const char *s)
{
    size_t i;

    assert_int_equal(strlen(s), 36);
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(s[i], '-');
        else
            assert_true(isxdigit((unsigned char)s[i]) && !isupper((unsigned char)s[i]));
    }
    assert_int_equal(s[14], '4');
    assert_non_null(strchr("89ab", s[19]));
}

/* ---- the builder ---- */

static void new_event_copies_strings_and_defaults_spec_version(void **state)
{
    char id[] = "id-1", source[] = "src", type[] = "t";
    kec_event *ev = NULL;

    (void)state;
    assert_int_equal(kec_event_new(id, source, type, &ev, NULL), KEC_OK);
    id[0] = source[0] = type[0] = 'X';
    assert_string_equal(kec_event_id(ev), "id-1");
    assert_string_equal(kec_event_source(ev), "src");
    assert_string_equal(kec_event_type(ev), "t");
    assert_string_equal(kec_event_spec_version(ev), "1.0");
    kec_event_free(ev);
}

static void new_event_generates_a_uuid_id_when_given_null_or_empty(void **state)
{
    kec_event *a = NULL, *b = NULL;

    (void)state;
    assert_int_equal(kec_event_new(NULL, "s", "t", &a, NULL), KEC_OK);
    assert_int_equal(kec_event_new("", NULL, NULL, &b, NULL), KEC_OK);
    assert_uuid4(kec_event_id(a));
    assert_uuid4(kec_event_id(b));
    assert_string_not_equal(kec_event_id(a), kec_event_id(b));
    assert_string_equal(kec_event_source(b), ""); /* NULL means "" */
    assert_string_equal(kec_event_type(b), "");
    kec_event_free(a);
    kec_event_free(b);
}

static void required_setters_replace_and_null_means_empty(void **state)
{
    kec_event *ev = new_event();

    (void)state;
    assert_int_equal(kec_event_set_id(ev, "other", NULL), KEC_OK);
    assert_int_equal(kec_event_set_source(ev, "/s", NULL), KEC_OK);
    assert_int_equal(kec_event_set_type(ev, "t2", NULL), KEC_OK);
    assert_int_equal(kec_event_set_spec_version(ev, "0.3", NULL), KEC_OK);
    assert_string_equal(kec_event_id(ev), "other");
    assert_string_equal(kec_event_source(ev), "/s");
    assert_string_equal(kec_event_type(ev), "t2");
    assert_string_equal(kec_event_spec_version(ev), "0.3");
    assert_int_equal(kec_event_set_id(ev, NULL, NULL), KEC_OK);
    assert_int_equal(kec_event_set_spec_version(ev, NULL, NULL), KEC_OK);
    assert_string_equal(kec_event_id(ev), "");
    assert_string_equal(kec_event_spec_version(ev), "");
    kec_event_free(ev);
}

static void attributes_of_each_type_read_back(void **state)
{
    kec_event *ev = new_event();
    kec_time t = {.seconds = 1522949460, .nanos = 5, .set = 0};
    const kec_attr *a;
    char text[] = "changes after set";

    (void)state;
    assert_int_equal(kec_event_set_boolean(ev, "extbool", 7, NULL), KEC_OK);
    assert_int_equal(kec_event_set_integer(ev, "extint", INT32_MIN, NULL), KEC_OK);
    assert_int_equal(kec_event_set_string(ev, "subject", text, NULL), KEC_OK);
    assert_int_equal(kec_event_set_uri(ev, "dataschema", "https://x.example/s", NULL), KEC_OK);
    assert_int_equal(kec_event_set_uri_ref(ev, "exturiref", "//a/p", NULL), KEC_OK);
    assert_int_equal(kec_event_set_bytes(ev, "extbin", "\x00\x01\xff", 3, NULL), KEC_OK);
    assert_int_equal(kec_event_set_bytes(ev, "extempty", NULL, 0, NULL), KEC_OK);
    assert_int_equal(kec_event_set_time(ev, "time", t, NULL), KEC_OK);
    text[0] = 'X';

    a = kec_event_attr(ev, "extbool");
    assert_true(a->type == KEC_ATTR_BOOLEAN && a->boolean == 1); /* normalised to 0/1 */
    a = kec_event_attr(ev, "extint");
    assert_true(a->type == KEC_ATTR_INTEGER && a->integer == INT32_MIN);
    a = kec_event_attr(ev, "subject");
    assert_int_equal(a->type, KEC_ATTR_STRING);
    assert_string_equal(a->text, "changes after set");
    a = kec_event_attr(ev, "dataschema");
    assert_int_equal(a->type, KEC_ATTR_URI);
    assert_string_equal(a->text, "https://x.example/s");
    a = kec_event_attr(ev, "exturiref");
    assert_int_equal(a->type, KEC_ATTR_URI_REF);
    assert_string_equal(a->text, "//a/p");
    a = kec_event_attr(ev, "extbin");
    assert_true(a->type == KEC_ATTR_BYTES && a->len == 3);
    assert_memory_equal(a->bytes, "\x00\x01\xff", 3);
    a = kec_event_attr(ev, "extempty");
    assert_true(a->type == KEC_ATTR_BYTES && a->len == 0 && a->bytes != NULL);
    a = kec_event_attr(ev, "time");
    assert_int_equal(a->type, KEC_ATTR_TIMESTAMP);
    assert_true(a->time.seconds == 1522949460 && a->time.nanos == 5 && a->time.set == 1);
    assert_null(kec_event_attr(ev, "absent"));
    kec_event_free(ev);
}

static void set_replace_and_remove_keep_first_set_order(void **state)
{
    static const char *const first[] = {"a", "b", "c", NULL};
    static const char *const after_remove[] = {"a", "c", NULL};
    static const char *const after_add[] = {"a", "c", "b", NULL};
    kec_event *ev = new_event();
    const kec_attr *a;

    (void)state;
    assert_int_equal(kec_event_set_string(ev, "a", "1", NULL), KEC_OK);
    assert_int_equal(kec_event_set_string(ev, "b", "2", NULL), KEC_OK);
    assert_int_equal(kec_event_set_string(ev, "c", "3", NULL), KEC_OK);
    assert_attr_order(ev, first);
    /* replacing keeps the place, and may change the type */
    assert_int_equal(kec_event_set_integer(ev, "b", 42, NULL), KEC_OK);
    assert_attr_order(ev, first);
    a = kec_event_attr(ev, "b");
    assert_true(a->type == KEC_ATTR_INTEGER && a->integer == 42);
    assert_int_equal(kec_event_remove_attr(ev, "b"), 1);
    assert_int_equal(kec_event_remove_attr(ev, "b"), 0);
    assert_attr_order(ev, after_remove);
    assert_string_equal(kec_event_attr(ev, "c")->text, "3");
    assert_int_equal(kec_event_set_boolean(ev, "b", 0, NULL), KEC_OK);
    assert_attr_order(ev, after_add);
    kec_event_free(ev);
}

static void many_attributes_grow_the_table(void **state)
{
    kec_event *ev = new_event();
    char name[16];
    size_t n;
    int i;

    (void)state;
    for (i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "ext%d", i);
        assert_int_equal(kec_event_set_integer(ev, name, i, NULL), KEC_OK);
    }
    assert_int_equal(kec_event_attrs(ev, &n)[99].integer, 99);
    assert_int_equal(n, 100);
    assert_int_equal(kec_event_attr(ev, "ext57")->integer, 57);
    kec_event_free(ev);
}

static void set_attr_rejects_missing_name_unknown_type_and_missing_text(void **state)
{
    kec_event *ev = new_event();
    kec_attr a = {.name = "x", .type = (kec_attr_type)9};
    kec_error err;
    size_t n;

    (void)state;
    kec_error_clear(&err);
    assert_int_equal(kec_event_set_string(ev, NULL, "v", &err), KEC_EINVAL);
    assert_string_equal(err.msg, "an attribute needs a name");
    kec_error_clear(&err);
    assert_int_equal(kec_event_set_string(ev, "", "v", &err), KEC_EINVAL);
    kec_error_clear(&err);
    assert_int_equal(kec_event_set_attr(ev, NULL, &err), KEC_EINVAL);
    kec_error_clear(&err);
    assert_int_equal(kec_event_set_attr(ev, &a, &err), KEC_EINVAL);
    assert_int_equal(err.code, KEC_EINVAL);
    assert_non_null(strstr(err.msg, "\"x\" has unknown type 9"));
    kec_error_clear(&err);
    assert_int_equal(kec_event_set_uri(ev, "u", NULL, &err), KEC_EINVAL);
    assert_non_null(strstr(err.msg, "\"u\" has no text value"));
    /* a failed set leaves the event as it was */
    kec_event_attrs(ev, &n);
    assert_int_equal(n, 0);
    kec_event_free(ev);
}

static void the_first_error_is_kept(void **state)
{
    kec_event *ev = new_event();
    kec_error err;

    (void)state;
    kec_error_clear(&err);
    assert_int_equal(kec_event_set_string(ev, "", "v", &err), KEC_EINVAL);
    assert_int_equal(kec_event_set_text_data(ev, "a\0b", 3, &err), KEC_EINVAL);
    assert_string_equal(err.msg, "an attribute needs a name");
    kec_event_free(ev);
}

static void data_of_each_kind_reads_back_nul_terminated(void **state)
{
    kec_event *ev = new_event();
    kec_data_kind kind;
    const char *url = "unset";
    const char *d;
    size_t len;

    (void)state;
    d = kec_event_data(ev, &kind, &len, &url);
    assert_true(d == NULL && kind == KEC_DATA_NONE && len == 0 && url == NULL);

    assert_int_equal(kec_event_set_text_data(ev, "hello world", 5, NULL), KEC_OK);
    d = kec_event_data(ev, &kind, &len, NULL);
    assert_true(kind == KEC_DATA_TEXT && len == 5);
    assert_string_equal(d, "hello"); /* NUL past len */

    assert_int_equal(kec_event_set_binary_data(ev, "\x00\x01\x02", 3, NULL), KEC_OK);
    d = kec_event_data(ev, &kind, &len, &url);
    assert_true(kind == KEC_DATA_BINARY && len == 3 && url == NULL);
    assert_memory_equal(d, "\x00\x01\x02", 3);
    assert_int_equal(d[3], '\0');

    assert_int_equal(kec_event_set_proto_data(ev, "type.googleapis.com/x.Y", "\x0a\x02hi", 4, NULL),
                     KEC_OK);
    d = kec_event_data(ev, &kind, &len, &url);
    assert_true(kind == KEC_DATA_PROTO && len == 4);
    assert_memory_equal(d, "\x0a\x02hi", 4);
    assert_string_equal(url, "type.googleapis.com/x.Y");

    assert_int_equal(kec_event_set_text_data(ev, "", 0, NULL), KEC_OK);
    d = kec_event_data(ev, &kind, &len, NULL);
    assert_true(kind == KEC_DATA_TEXT && len == 0 && d != NULL && d[0] == '\0');

    kec_event_clear_data(ev);
    d = kec_event_data(ev, &kind, &len, &url);
    assert_true(d == NULL && kind == KEC_DATA_NONE && len == 0 && url == NULL);
    kec_event_free(ev);
}

static void text_data_with_nul_is_rejected_naming_the_offset(void **state)
{
    kec_event *ev = new_event();
    kec_data_kind kind;
    kec_error err;
    size_t len;
    const char *d;

    (void)state;
    assert_int_equal(kec_event_set_text_data(ev, "keep", 4, NULL), KEC_OK);
    kec_error_clear(&err);
    assert_int_equal(kec_event_set_text_data(ev, "abc\0def", 7, &err), KEC_EINVAL);
    assert_int_equal(err.code, KEC_EINVAL);
    assert_non_null(strstr(err.msg, "NUL byte at offset 3"));
    assert_non_null(strstr(err.msg, "binary"));
    d = kec_event_data(ev, &kind, &len, NULL); /* the old data stays */
    assert_true(kind == KEC_DATA_TEXT && len == 4);
    assert_string_equal(d, "keep");
    /* the same bytes are fine as binary data */
    assert_int_equal(kec_event_set_binary_data(ev, "abc\0def", 7, NULL), KEC_OK);
    kec_event_free(ev);
}

static void clone_is_deep(void **state)
{
    kec_event *ev = new_event(), *c = NULL;
    kec_data_kind kind;
    const char *url;
    const char *d;
    size_t len, n;
    const kec_attr *attrs;

    (void)state;
    assert_int_equal(kec_event_set_spec_version(ev, "0.3", NULL), KEC_OK);
    assert_int_equal(kec_event_set_string(ev, "subject", "s", NULL), KEC_OK);
    assert_int_equal(kec_event_set_bytes(ev, "extbin", "\x01\x02", 2, NULL), KEC_OK);
    assert_int_equal(kec_event_set_integer(ev, "extint", 3, NULL), KEC_OK);
    assert_int_equal(kec_event_set_proto_data(ev, "t/u", "\x08\x01", 2, NULL), KEC_OK);
    assert_int_equal(kec_event_clone(ev, &c, NULL), KEC_OK);

    /* change and free the original: the clone keeps its own copies */
    assert_int_equal(kec_event_set_id(ev, "changed", NULL), KEC_OK);
    assert_int_equal(kec_event_set_string(ev, "subject", "changed", NULL), KEC_OK);
    assert_int_equal(kec_event_remove_attr(ev, "extbin"), 1);
    kec_event_clear_data(ev);
    kec_event_free(ev);

    assert_string_equal(kec_event_id(c), "e-1");
    assert_string_equal(kec_event_spec_version(c), "0.3");
    attrs = kec_event_attrs(c, &n);
    assert_int_equal(n, 3);
    assert_string_equal(attrs[0].text, "s");
    assert_true(attrs[1].len == 2 && memcmp(attrs[1].bytes, "\x01\x02", 2) == 0);
    assert_int_equal(attrs[2].integer, 3);
    d = kec_event_data(c, &kind, &len, &url);
    assert_true(kind == KEC_DATA_PROTO && len == 2 && memcmp(d, "\x08\x01", 2) == 0);
    assert_string_equal(url, "t/u");
    kec_event_free(c);
}

static void clone_copies_text_and_binary_data(void **state)
{
    kec_event *ev = new_event(), *c = NULL;
    kec_data_kind kind;
    const char *d;
    size_t len;

    (void)state;
    assert_int_equal(kec_event_set_text_data(ev, "{\"a\":1}", 7, NULL), KEC_OK);
    assert_int_equal(kec_event_clone(ev, &c, NULL), KEC_OK);
    d = kec_event_data(c, &kind, &len, NULL);
    assert_true(kind == KEC_DATA_TEXT && len == 7 && d != kec_event_data(ev, &kind, &len, NULL));
    assert_string_equal(d, "{\"a\":1}");
    kec_event_free(c);
    assert_int_equal(kec_event_set_binary_data(ev, "", 0, NULL), KEC_OK);
    assert_int_equal(kec_event_clone(ev, &c, NULL), KEC_OK);
    kec_event_data(c, &kind, &len, NULL);
    assert_true(kind == KEC_DATA_BINARY && len == 0);
    kec_event_free(c);
    kec_event_free(ev);
}

static void free_accepts_null(void **state)
{
    (void)state;
    kec_event_free(NULL);
    kec_events_free(NULL, 3);
}

/* ---- kec_time_parse ---- */

/* One valid RFC 3339 text and the instant it is. */
typedef struct time_case {
    const char *text; /* the input */
    int64_t seconds;  /* since the epoch */
    int32_t nanos;    /* the fraction */
} time_case;

static const time_case valid_times[] = {
    {"1970-01-01T00:00:00Z", 0, 0},
    {"2018-04-05T17:31:00Z", 1522949460, 0},
    {"2018-04-05t17:31:00z", 1522949460, 0}, /* RFC 3339 5.6 allows lowercase */
    {"2018-04-05T18:31:00+01:00", 1522949460, 0},
    {"2018-04-05T16:31:00-01:00", 1522949460, 0},
    {"2018-04-05T17:31:00+00:00", 1522949460, 0},
    {"2018-04-05T17:31:00-00:00", 1522949460, 0},
    {"2018-04-06T03:01:00+09:30", 1522949460, 0},
    {"2000-01-01T00:00:00+23:59", 946598460, 0},
    {"2018-04-05T17:31:00.000000000Z", 1522949460, 0},
    {"2018-04-05T17:31:00.1Z", 1522949460, 100000000},
    {"2018-04-05T17:31:00.12Z", 1522949460, 120000000},
    {"2018-04-05T17:31:00.123Z", 1522949460, 123000000},
    {"2018-04-05T17:31:00.1234Z", 1522949460, 123400000},
    {"2018-04-05T17:31:00.12345Z", 1522949460, 123450000},
    {"2018-04-05T17:31:00.123456Z", 1522949460, 123456000},
    {"2018-04-05T17:31:00.1234567Z", 1522949460, 123456700},
    {"2018-04-05T17:31:00.12345678Z", 1522949460, 123456780},
    {"2018-04-05T17:31:00.123456789Z", 1522949460, 123456789},
    {"2018-04-05T17:31:00.1234567891234Z", 1522949460, 123456789}, /* beyond 9: cut */
    {"2018-04-05T17:31:00.000000001+01:00", 1522945860, 1},
    {"1969-12-31T23:59:59Z", -1, 0},
    {"1969-12-31T23:59:59.5Z", -1, 500000000},
    {"2024-02-29T00:00:00Z", 1709164800, 0}, /* leap day */
    {"2000-02-29T00:00:00Z", 951782400, 0},  /* divisible by 400: leap */
    {"2024-03-01T00:00:00Z", 1709251200, 0},
    {"2023-03-31T15:12:00Z", 1680275520, 0},
    {"0001-01-01T00:00:00Z", -62135596800LL, 0},
    {"0001-01-01T01:00:00+01:00", -62135596800LL, 0},
    {"9999-12-31T23:59:59Z", 253402300799LL, 0},
    {"9999-12-31T23:59:59.999999999Z", 253402300799LL, 999999999},
    {"9999-12-31T22:59:59-01:00", 253402300799LL, 0},
};

/* One text kec_time_parse refuses and what its message says. */
typedef struct bad_time {
    const char *text;   /* the input */
    const char *reason; /* a part of the message */
} bad_time;

static const bad_time invalid_times[] = {
    {"", "is not an RFC 3339 date-time"},
    {"lunchtime", "is not an RFC 3339 date-time"},
    {"2018-04-05T18:31Z", "is not an RFC 3339 date-time"}, /* no seconds */
    {"2018-04-05T18:31", "is not an RFC 3339 date-time"},
    {"2018-04-05", "is not an RFC 3339 date-time"},
    {"2018-04-05 18:31:00Z", "is not an RFC 3339 date-time"},
    {"2018-4-05T18:31:00Z", "is not an RFC 3339 date-time"},
    {"18-04-05T18:31:00Z", "is not an RFC 3339 date-time"},
    {"+2018-04-05T18:31:00Z", "is not an RFC 3339 date-time"},
    {"2018-04-05T18:31:00", "lacks its offset"},
    {"2018-04-05T18:31:00X", "lacks its offset"},
    {"2018-04-05T18:31:00 Z", "lacks its offset"},
    {"2018-04-05T18:31:00+05", "offset that is not +hh:mm"},
    {"2018-04-05T18:31:00+0500", "offset that is not +hh:mm"},
    {"2018-04-05T18:31:00+xx:00", "offset that is not +hh:mm"},
    {"2018-04-05T18:31:00+5:00", "offset that is not +hh:mm"},
    {"2018-04-05T18:31:00+25:00", "out of range"},
    {"2018-04-05T18:31:00+01:60", "out of range"},
    {"2018-04-05T18:31:00.Z", "no digits after '.'"},
    {"2018-04-05T18:31:00,5Z", "lacks its offset"},
    {"2018-04-05T18:31:00Zjunk", "text after its offset"},
    {"2018-04-05T18:31:00+01:00 ", "text after its offset"},
    {"2023-02-29T00:00:00Z", "out of range"}, /* not a leap year */
    {"1900-02-29T00:00:00Z", "out of range"}, /* divisible by 100, not 400 */
    {"2018-04-31T00:00:00Z", "out of range"},
    {"2018-13-01T00:00:00Z", "out of range"},
    {"2018-00-01T00:00:00Z", "out of range"},
    {"2018-01-00T00:00:00Z", "out of range"},
    {"2018-01-01T24:00:00Z", "out of range"},
    {"2018-01-01T23:60:00Z", "out of range"},
    {"2018-01-01T23:59:60Z", "out of range"}, /* leap seconds are not kept */
    {"0000-12-31T23:59:59Z", "out of range"},
    {"0001-01-01T00:30:00+01:00", "outside 0001-01-01 to 9999-12-31"},
    {"9999-12-31T23:30:00-01:00", "outside 0001-01-01 to 9999-12-31"},
};

static void time_parse_reads_valid_rfc3339(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof valid_times / sizeof valid_times[0]; i++) {
        kec_time t = {0};
        kec_error err;

        kec_error_clear(&err);
        if (kec_time_parse(valid_times[i].text, &t, &err) != KEC_OK)
            fail_msg("%s: refused: %s", valid_times[i].text, err.msg);
        if (t.seconds != valid_times[i].seconds || t.nanos != valid_times[i].nanos || !t.set)
            fail_msg("%s: read as %lld.%09d (set %d), want %lld.%09d", valid_times[i].text,
                     (long long)t.seconds, (int)t.nanos, t.set, (long long)valid_times[i].seconds,
                     (int)valid_times[i].nanos);
    }
}

static void time_parse_refuses_invalid_text_saying_why(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof invalid_times / sizeof invalid_times[0]; i++) {
        kec_time t = {.seconds = 7, .nanos = 7, .set = 0};
        kec_error err;

        kec_error_clear(&err);
        if (kec_time_parse(invalid_times[i].text, &t, &err) != KEC_EINVAL)
            fail_msg("\"%s\": accepted as %lld", invalid_times[i].text, (long long)t.seconds);
        assert_int_equal(err.code, KEC_EINVAL);
        if (strstr(err.msg, invalid_times[i].reason) == NULL)
            fail_msg("\"%s\": message \"%s\" does not say \"%s\"", invalid_times[i].text, err.msg,
                     invalid_times[i].reason);
        /* the message quotes the text (up to 40 characters) */
        if (invalid_times[i].text[0] != '\0' && strstr(err.msg, invalid_times[i].text) == NULL)
            fail_msg("\"%s\": message \"%s\" does not quote it", invalid_times[i].text, err.msg);
        assert_true(t.seconds == 7 && t.nanos == 7 && t.set == 0); /* untouched */
    }
}

static void time_parse_refuses_null(void **state)
{
    kec_time t;
    kec_error err;

    (void)state;
    kec_error_clear(&err);
    assert_int_equal(kec_time_parse(NULL, &t, &err), KEC_EINVAL);
    assert_string_equal(err.msg, "no time given");
    assert_int_equal(kec_time_parse("x", &t, NULL), KEC_EINVAL); /* err may be NULL */
}

/* ---- kec_time_format ---- */

static void time_format_writes_utc_with_0_3_6_or_9_fraction_digits(void **state)
{
    /* One instant and its text. */
    static const struct {
        int64_t seconds;  /* since the epoch */
        int32_t nanos;    /* the fraction */
        const char *text; /* what kec_time_format writes */
    } cases[] = {
        {0, 0, "1970-01-01T00:00:00Z"},
        {1522949460, 0, "2018-04-05T17:31:00Z"},
        {1522949460, 500000000, "2018-04-05T17:31:00.500Z"},
        {1522949460, 120000000, "2018-04-05T17:31:00.120Z"},
        {1522949460, 1000000, "2018-04-05T17:31:00.001Z"},
        {1522949460, 123456000, "2018-04-05T17:31:00.123456Z"},
        {1522949460, 1000, "2018-04-05T17:31:00.000001Z"},
        {1522949460, 123456789, "2018-04-05T17:31:00.123456789Z"},
        {1522949460, 1, "2018-04-05T17:31:00.000000001Z"},
        {-1, 0, "1969-12-31T23:59:59Z"},
        {-1, 999999999, "1969-12-31T23:59:59.999999999Z"},
        {1709164800, 0, "2024-02-29T00:00:00Z"},
        {-62135596800LL, 0, "0001-01-01T00:00:00Z"},
        {253402300799LL, 999999999, "9999-12-31T23:59:59.999999999Z"},
    };
    char buf[KEC_TIME_TEXT_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kec_time t = {.seconds = cases[i].seconds, .nanos = cases[i].nanos, .set = 1};

        assert_ptr_equal(kec_time_format(t, buf), buf);
        assert_string_equal(buf, cases[i].text);
    }
}

static void time_format_and_parse_round_trip(void **state)
{
    char buf[KEC_TIME_TEXT_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof valid_times / sizeof valid_times[0]; i++) {
        kec_time t, back;

        assert_int_equal(kec_time_parse(valid_times[i].text, &t, NULL), KEC_OK);
        kec_time_format(t, buf);
        if (kec_time_parse(buf, &back, NULL) != KEC_OK || back.seconds != t.seconds ||
            back.nanos != t.nanos)
            fail_msg("%s: written as %s, which reads back differently", valid_times[i].text, buf);
        /* canonical texts come back unchanged */
        if (strcmp(valid_times[i].text, "2018-04-05T17:31:00.123Z") == 0 ||
            strcmp(valid_times[i].text, "9999-12-31T23:59:59.999999999Z") == 0 ||
            strcmp(valid_times[i].text, "0001-01-01T00:00:00Z") == 0)
            assert_string_equal(buf, valid_times[i].text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_event_copies_strings_and_defaults_spec_version),
        cmocka_unit_test(new_event_generates_a_uuid_id_when_given_null_or_empty),
        cmocka_unit_test(required_setters_replace_and_null_means_empty),
        cmocka_unit_test(attributes_of_each_type_read_back),
        cmocka_unit_test(set_replace_and_remove_keep_first_set_order),
        cmocka_unit_test(many_attributes_grow_the_table),
        cmocka_unit_test(set_attr_rejects_missing_name_unknown_type_and_missing_text),
        cmocka_unit_test(the_first_error_is_kept),
        cmocka_unit_test(data_of_each_kind_reads_back_nul_terminated),
        cmocka_unit_test(text_data_with_nul_is_rejected_naming_the_offset),
        cmocka_unit_test(clone_is_deep),
        cmocka_unit_test(clone_copies_text_and_binary_data),
        cmocka_unit_test(free_accepts_null),
        cmocka_unit_test(time_parse_reads_valid_rfc3339),
        cmocka_unit_test(time_parse_refuses_invalid_text_saying_why),
        cmocka_unit_test(time_parse_refuses_null),
        cmocka_unit_test(time_format_writes_utc_with_0_3_6_or_9_fraction_digits),
        cmocka_unit_test(time_format_and_parse_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
