/* test_shim_binding.c -- unit tests of kedro-event-shim's CloudEvents HTTP binding reader
 * (client/shim/binding.c, included to reach its statics): binary mode's header mapping,
 * percent-decoding exactly once, UTF-8 rules, case-insensitive names and media types, the
 * data mapping, structured and batched mode, and what is refused with 400 or 415. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.c"

/* Headers are written {name, value}: a len of 0 means strlen(value). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define EURO_ENCODED "Euro%20%E2%82%AC%20%F0%9F%98%80"
#define EURO_DECODED "Euro \xE2\x82\xAC \xF0\x9F\x98\x80"

/* The required binary-mode headers plus extra ones. */
#define REQUIRED                                                                                   \
    {"ce-specversion", "1.0"}, {"ce-id", "e1"}, {"ce-source", "example.com"},                      \
    {                                                                                              \
        "ce-type", "com.example.event"                                                             \
    }

/* Reads one request; asserts the outcome code; *ev is the event on success (freed by the
 * caller) and err the error otherwise. */
static int read_post(const kes_header *h, size_t n, const char *ctype, const char *body, size_t len,
                     kes_events *out, kes_error *err)
{
    kes_post p = {h, n, ctype, body, len, 0};

    memset(err, 0, sizeof *err);
    return kes_binding_read(&p, out, err);
}

/* Reads a binary-mode request that must succeed; returns its one event (kes_events in out). */
static const kec_event *binary_ok(const kes_header *h, size_t n, const char *ctype,
                                  const char *body, size_t len, kes_events *out)
{
    kes_error err;
    int rc = read_post(h, n, ctype, body, len, out, &err);

    if (rc != KES_OK)
        fail_msg("expected success, got %d: %s", rc, err.msg);
    assert_int_equal(out->count, 1);
    assert_int_equal(out->batch, 0);
    return out->events[0];
}

/* Asserts that the request fails with code, and that the message holds needle. */
static void expect_error(const kes_header *h, size_t n, const char *ctype, const char *body,
                         int code, const char *needle)
{
    kes_events out;
    kes_error err;
    int rc = read_post(h, n, ctype, body, body != NULL ? strlen(body) : 0, &out, &err);

    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_null(out.events);
    assert_int_equal(out.count, 0);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("error \"%s\" does not name \"%s\"", err.msg, needle);
}

static const char *attr_text(const kec_event *ev, const char *name)
{
    const kec_attr *a = kec_event_attr(ev, name);

    assert_non_null(a);
    return a->text;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void binary_mode_maps_the_required_headers(void **state)
{
    kes_header h[] = {REQUIRED, {"Host", "localhost"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);
    size_t n;

    (void)state;
    assert_string_equal(kec_event_spec_version(ev), "1.0");
    assert_string_equal(kec_event_id(ev), "e1");
    assert_string_equal(kec_event_source(ev), "example.com");
    assert_string_equal(kec_event_type(ev), "com.example.event");
    kec_event_attrs(ev, &n);
    assert_int_equal(n, 0); /* Host is not an attribute; no Content-Type, no body */
    kes_events_release(&out);
}

static void binary_mode_header_names_are_case_insensitive(void **state)
{
    kes_header h[] = {{"CE-SpecVersion", "1.0"},
                      {"Ce-Id", "e1"},
                      {"cE-sOuRcE", "example.com"},
                      {"CE-TYPE", "t"},
                      {"Ce-MyExtension", "x"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);

    (void)state;
    assert_string_equal(kec_event_id(ev), "e1");
    assert_string_equal(kec_event_source(ev), "example.com");
    assert_string_equal(kec_event_type(ev), "t");
    assert_string_equal(attr_text(ev, "myextension"), "x");
    kes_events_release(&out);
}

static void binary_mode_percent_decodes_header_values(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-subject", EURO_ENCODED}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);
    const kec_attr *a = kec_event_attr(ev, "subject");

    (void)state;
    assert_non_null(a);
    assert_int_equal(a->type, KEC_ATTR_STRING);
    assert_string_equal(a->text, EURO_DECODED);
    kes_events_release(&out);
}

static void binary_mode_decodes_percent_exactly_once(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-a", "100%25"}, {"ce-b", "%2541"}, {"ce-c", "%252525"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);

    (void)state;
    assert_string_equal(attr_text(ev, "a"), "100%");
    assert_string_equal(attr_text(ev, "b"), "%41"); /* not "A": decoded once */
    assert_string_equal(attr_text(ev, "c"), "%2525");
    kes_events_release(&out);
}

static void binary_mode_keeps_a_percent_without_two_hex_digits(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-a", "50%"}, {"ce-b", "%zz"}, {"ce-c", "%4"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);

    (void)state;
    assert_string_equal(attr_text(ev, "a"), "50%");
    assert_string_equal(attr_text(ev, "b"), "%zz");
    assert_string_equal(attr_text(ev, "c"), "%4");
    kes_events_release(&out);
}

static void binary_mode_accepts_raw_utf8_in_headers(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-subject", "caf\xC3\xA9"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);

    (void)state;
    assert_string_equal(attr_text(ev, "subject"), "caf\xC3\xA9");
    kes_events_release(&out);
}

static void invalid_utf8_after_decoding_is_refused_naming_the_header(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-subject", "bad %FF byte"}};

    (void)state;
    expect_error(h, N(h), NULL, NULL, KES_EBADREQ, "ce-subject");
    expect_error(h, N(h), NULL, NULL, KES_EBADREQ, "UTF-8");
}

static void overlong_utf8_in_a_header_is_refused(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-subject", "%C0%AF"}};

    (void)state;
    expect_error(h, N(h), NULL, NULL, KES_EBADREQ, "ce-subject");
}

static void a_surrogate_in_a_header_is_refused(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-subject", "%ED%A0%80"}};

    (void)state;
    expect_error(h, N(h), NULL, NULL, KES_EBADREQ, "ce-subject");
}

static void raw_invalid_utf8_in_a_header_is_refused(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-Subject", "\xE2\x82"}};

    (void)state;
    expect_error(h, N(h), NULL, NULL, KES_EBADREQ, "ce-subject");
}

static void invalid_utf8_in_a_required_header_is_refused(void **state)
{
    kes_header h[] = {
        {"ce-specversion", "1.0"}, {"ce-id", "%80"}, {"ce-source", "s"}, {"ce-type", "t"}};

    (void)state;
    expect_error(h, N(h), NULL, NULL, KES_EBADREQ, "ce-id");
}

static void a_nul_byte_in_a_header_is_refused(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-subject", "a%00b"}};

    (void)state;
    expect_error(h, N(h), NULL, NULL, KES_EBADREQ, "NUL");
}

static void header_values_lose_optional_whitespace_at_both_ends(void **state)
{
    kes_header h[] = {{"ce-specversion", " 1.0\t"},
                      {"ce-id", "\t e1 "},
                      {"ce-source", "  example.com"},
                      {"ce-type", "com.example.event \t "},
                      {"ce-subject", " %20inner  spaces%20 "}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), " text/plain ", "x", 1, &out);

    (void)state;
    assert_string_equal(kec_event_spec_version(ev), "1.0");
    assert_string_equal(kec_event_id(ev), "e1");
    assert_string_equal(kec_event_source(ev), "example.com");
    assert_string_equal(kec_event_type(ev), "com.example.event");
    /* whitespace that was percent-encoded is the sender's data, kept */
    assert_string_equal(attr_text(ev, "subject"), " inner  spaces ");
    assert_string_equal(attr_text(ev, "datacontenttype"), "text/plain");
    kes_events_release(&out);
}

/* Asserts that the required headers with `name: value` (len bytes, NULs included) replacing
 * the one of that name are refused, naming the header. */
static void expect_raw_nul_refused(const char *name, const char *value, size_t len)
{
    kes_header h[] = {REQUIRED};
    kes_events out;
    kes_error err;
    char needle[64];
    size_t i;
    int rc;

    for (i = 0; i < N(h); i++)
        if (strcmp(h[i].name, name) == 0) {
            h[i].value = value;
            h[i].len = len;
        }
    rc = read_post(h, N(h), NULL, NULL, 0, &out, &err);
    assert_int_equal(rc, KES_EBADREQ);
    assert_null(out.events);
    snprintf(needle, sizeof needle, "header %s: holds a NUL byte", name);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, needle);
}

static void a_raw_nul_in_a_header_value_is_refused_not_cut_at(void **state)
{
    (void)state;
    expect_raw_nul_refused("ce-id", "a\0b", 3);
    expect_raw_nul_refused("ce-source", "example.com\0evil", 16);
    expect_raw_nul_refused("ce-type", "com.example.event\0", 18);
    expect_raw_nul_refused("ce-specversion", "1.0\0", 4);
}

static void a_percent_encoded_nul_in_required_headers_is_refused(void **state)
{
    kes_header id[] = {
        {"ce-specversion", "1.0"}, {"ce-id", "a%00b"}, {"ce-source", "s"}, {"ce-type", "t"}};
    kes_header source[] = {{"ce-specversion", "1.0"},
                           {"ce-id", "e1"},
                           {"ce-source", "example.com%00"},
                           {"ce-type", "t"}};
    kes_header type[] = {{"ce-specversion", "1.0"},
                         {"ce-id", "e1"},
                         {"ce-source", "s"},
                         {"ce-type", "%00com.example.event"}};

    (void)state;
    expect_error(id, N(id), NULL, NULL, KES_EBADREQ, "header ce-id: holds a NUL byte (%00)");
    expect_error(source, N(source), NULL, NULL, KES_EBADREQ,
                 "header ce-source: holds a NUL byte (%00)");
    expect_error(type, N(type), NULL, NULL, KES_EBADREQ, "header ce-type: holds a NUL byte (%00)");
}

static void a_raw_nul_in_content_type_is_refused_in_every_mode(void **state)
{
    static const char *const types[] = {"application/cloudevents+json\0x",
                                        "application/cloudevents-batch+json\0x", "text/plain\0x"};
    kes_header h[] = {REQUIRED};
    kes_events out;
    kes_error err;
    size_t i;

    (void)state;
    for (i = 0; i < N(types); i++) {
        kes_post p = {h, N(h), types[i], "{}", 2, strlen(types[i]) + 2};

        memset(&err, 0, sizeof err);
        assert_int_equal(kes_binding_read(&p, &out, &err), KES_EBADREQ);
        assert_null(out.events);
        assert_non_null(strstr(err.msg, "header Content-Type: holds a NUL byte"));
    }
}

static void ce_time_becomes_a_timestamp(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-time", "2018-04-05T17:31:00.5Z"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);
    const kec_attr *a = kec_event_attr(ev, "time");

    (void)state;
    assert_non_null(a);
    assert_int_equal(a->type, KEC_ATTR_TIMESTAMP);
    assert_int_equal(a->time.seconds, 1522949460);
    assert_int_equal(a->time.nanos, 500000000);
    kes_events_release(&out);
}

static void percent_encoded_ce_time_is_decoded_first(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-time", "2018-04-05T17%3A31%3A00%2B02%3A00"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);

    (void)state;
    assert_int_equal(kec_event_attr(ev, "time")->time.seconds, 1522949460 - 7200);
    kes_events_release(&out);
}

static void a_bad_ce_time_is_refused_naming_the_header(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-time", "yesterday"}};

    (void)state;
    expect_error(h, N(h), NULL, NULL, KES_EBADREQ, "ce-time");
}

static void ce_dataschema_becomes_a_uri(void **state)
{
    kes_header h[] = {REQUIRED, {"CE-DataSchema", "https://example.com/schema"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);
    const kec_attr *a = kec_event_attr(ev, "dataschema");

    (void)state;
    assert_non_null(a);
    assert_int_equal(a->type, KEC_ATTR_URI);
    assert_string_equal(a->text, "https://example.com/schema");
    kes_events_release(&out);
}

static void other_ce_headers_become_string_attributes(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-subject", "s"}, {"ce-Partitionkey", "42"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);

    (void)state;
    assert_int_equal(kec_event_attr(ev, "partitionkey")->type, KEC_ATTR_STRING);
    assert_string_equal(attr_text(ev, "partitionkey"), "42"); /* not an integer: a header */
    assert_string_equal(attr_text(ev, "subject"), "s");
    kes_events_release(&out);
}

static void a_repeated_ce_header_is_refused(void **state)
{
    kes_header h[] = {REQUIRED, {"CE-ID", "e2"}};

    (void)state;
    expect_error(h, N(h), NULL, NULL, KES_EBADREQ, "ce-id appears more than once");
}

static void a_ce_header_without_a_name_is_refused(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-", "x"}};

    (void)state;
    expect_error(h, N(h), NULL, NULL, KES_EBADREQ, "names no attribute");
}

static void a_missing_ce_id_stays_missing(void **state)
{
    kes_header h[] = {{"ce-specversion", "1.0"}, {"ce-source", "s"}, {"ce-type", "t"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, NULL, 0, &out);

    (void)state;
    assert_string_equal(kec_event_id(ev), ""); /* the server names it; none is invented */
    kes_events_release(&out);
}

static void content_type_becomes_datacontenttype_as_sent(void **state)
{
    kes_header h[] = {REQUIRED};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), "Application/JSON; charset=utf-8", "{}", 2, &out);

    (void)state;
    assert_string_equal(attr_text(ev, "datacontenttype"), "Application/JSON; charset=utf-8");
    kes_events_release(&out);
}

/* Asserts the data kind and bytes of a binary-mode request with ctype and body. */
static void expect_data(const char *ctype, const char *body, size_t len, kec_data_kind want)
{
    kes_header h[] = {REQUIRED};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), ctype, body, len, &out);
    kec_data_kind kind;
    size_t n;
    const void *d = kec_event_data(ev, &kind, &n, NULL);

    if (kind != want)
        fail_msg("Content-Type %s: data kind %d, expected %d", ctype ? ctype : "(none)", (int)kind,
                 (int)want);
    assert_int_equal(n, len);
    if (len > 0)
        assert_memory_equal(d, body, len);
    kes_events_release(&out);
}

static void json_and_text_bodies_are_text_data(void **state)
{
    (void)state;
    expect_data("application/json", "{\"k\": \"\xE2\x82\xAC\"}", 12, KEC_DATA_TEXT);
    expect_data("APPLICATION/JSON;charset=UTF-8", "[1]", 3, KEC_DATA_TEXT);
    expect_data("application/vnd.example+json", "{}", 2, KEC_DATA_TEXT);
    expect_data("text/plain", "hello", 5, KEC_DATA_TEXT);
    expect_data(" Text/CSV ; header=present", "a,b", 3, KEC_DATA_TEXT);
}

static void a_body_without_content_type_is_text_when_utf8(void **state)
{
    (void)state;
    expect_data(NULL, "{\"key\": \"value\"}", 16, KEC_DATA_TEXT);
}

static void a_text_body_that_is_not_utf8_is_binary_data(void **state)
{
    (void)state;
    expect_data("text/plain", "caf\xE9", 4, KEC_DATA_BINARY);
    expect_data("application/json", "\xFF\xFE", 2, KEC_DATA_BINARY);
    expect_data(NULL, "\x80", 1, KEC_DATA_BINARY);
}

static void a_body_with_nul_bytes_is_binary_data(void **state)
{
    (void)state;
    expect_data("text/plain", "a\0b", 3, KEC_DATA_BINARY);
    expect_data(NULL, "a\0b", 3, KEC_DATA_BINARY);
}

static void other_media_types_are_binary_data(void **state)
{
    (void)state;
    expect_data("application/octet-stream", "hello", 5, KEC_DATA_BINARY);
    expect_data("application/xml", "<a/>", 4, KEC_DATA_BINARY);
    expect_data("image/png", "\x89PNG", 4, KEC_DATA_BINARY);
}

static void an_empty_body_is_no_data(void **state)
{
    (void)state;
    expect_data("application/json", "", 0, KEC_DATA_NONE);
}

static void ce_datacontenttype_counts_only_without_content_type(void **state)
{
    kes_header h[] = {REQUIRED, {"ce-datacontenttype", "text/plain"}};
    kes_events out;
    const kec_event *ev = binary_ok(h, N(h), NULL, "hi", 2, &out);
    kec_data_kind kind;
    size_t n;

    (void)state;
    assert_string_equal(attr_text(ev, "datacontenttype"), "text/plain");
    kes_events_release(&out);
    ev = binary_ok(h, N(h), "application/octet-stream", "hi", 2, &out);
    assert_string_equal(attr_text(ev, "datacontenttype"), "application/octet-stream");
    kec_event_data(ev, &kind, &n, NULL);
    assert_int_equal(kind, KEC_DATA_BINARY);
    kes_events_release(&out);
}

#define STRUCTURED                                                                                 \
    "{\"specversion\": \"1.0\", \"id\": \"1234\", \"type\": \"com.example.event\", "               \
    "\"source\": \"example.com\", \"data\": {\"key\": \"value\"}}"

static void structured_mode_reads_the_json_format(void **state)
{
    static const char *types[] = {"application/cloudevents+json", "Application/CloudEvents+JSON",
                                  "application/cloudevents+json; charset=UTF-8",
                                  "  APPLICATION/CLOUDEVENTS+JSON ;charset=utf-8"};
    kes_header h[] = {{"ce-id", "ignored"}, {"Content-Length", "100"}};
    kes_events out;
    kes_error err;
    size_t i;

    (void)state;
    for (i = 0; i < N(types); i++) {
        assert_int_equal(read_post(h, N(h), types[i], STRUCTURED, strlen(STRUCTURED), &out, &err),
                         KES_OK);
        assert_int_equal(out.count, 1);
        assert_int_equal(out.batch, 0);
        assert_string_equal(kec_event_id(out.events[0]), "1234");
        assert_string_equal(kec_event_type(out.events[0]), "com.example.event");
        kes_events_release(&out);
    }
}

static void structured_mode_refuses_malformed_json(void **state)
{
    (void)state;
    expect_error(NULL, 0, "application/cloudevents+json", "{\"id\": ", KES_EBADREQ,
                 "structured mode");
}

static void structured_mode_refuses_a_non_object(void **state)
{
    (void)state;
    expect_error(NULL, 0, "application/cloudevents+json", "[1, 2]", KES_EBADREQ, "not an object");
    expect_error(NULL, 0, "application/cloudevents+json", "\"event\"", KES_EBADREQ,
                 "not an object");
}

static void structured_mode_refuses_an_empty_body(void **state)
{
    (void)state;
    expect_error(NULL, 0, "application/cloudevents+json", NULL, KES_EBADREQ, "structured mode");
}

static void batched_mode_reads_an_array(void **state)
{
    const char *body = "[" STRUCTURED ", " STRUCTURED "]";
    kes_events out;
    kes_error err;

    (void)state;
    assert_int_equal(read_post(NULL, 0, "Application/CloudEvents-Batch+Json; charset=utf-8", body,
                               strlen(body), &out, &err),
                     KES_OK);
    assert_int_equal(out.batch, 1);
    assert_int_equal(out.count, 2);
    kes_events_release(&out);
}

static void batched_mode_refuses_a_non_array(void **state)
{
    (void)state;
    expect_error(NULL, 0, "application/cloudevents-batch+json", STRUCTURED, KES_EBADREQ,
                 "batched mode");
}

static void other_structured_formats_are_unsupported_media(void **state)
{
    (void)state;
    expect_error(NULL, 0, "application/cloudevents+avro", "x", KES_EMEDIA,
                 "application/cloudevents+avro");
    expect_error(NULL, 0, "Application/CloudEvents+Protobuf", "x", KES_EMEDIA, "Protobuf");
    expect_error(NULL, 0, "application/cloudevents", "x", KES_EMEDIA, "formats read");
    expect_error(NULL, 0, "application/cloudevents-batch+avro", "x", KES_EMEDIA, "formats read");
    assert_int_equal(kes_err_http(KES_EMEDIA), 415);
}

static void neither_mode_is_refused_naming_what_is_missing(void **state)
{
    kes_header h[] = {{"ce-id", "e1"}, {"ce-source", "s"}, {"ce-type", "t"}};

    (void)state;
    expect_error(h, N(h), "application/json", "{}", KES_EBADREQ, "ce-specversion");
    expect_error(h, N(h), "application/json", "{}", KES_EBADREQ, "application/cloudevents+json");
    expect_error(NULL, 0, NULL, "{}", KES_EBADREQ, "no Content-Type");
    assert_int_equal(kes_err_http(KES_EBADREQ), 400);
}

static void media_types_drop_parameters_and_case(void **state)
{
    char buf[MEDIA_MAX];

    (void)state;
    assert_string_equal(media_type(" Text/Plain ; charset=x", buf), "text/plain");
    assert_string_equal(media_type("application/JSON", buf), "application/json");
    assert_string_equal(media_type(NULL, buf), "");
    assert_true(kec_media_type_is_json("application/json"));
    assert_true(kec_media_type_is_json("application/cloudevents+json"));
    assert_false(kec_media_type_is_json("application/jsonx"));
}

static void percent_decoding_is_a_pure_function(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(kes_percent_decode(EURO_ENCODED, strlen(EURO_ENCODED), out),
                     strlen(EURO_DECODED));
    assert_string_equal(out, EURO_DECODED);
    assert_int_equal(kes_percent_decode("%2", 2, out), 2);
    assert_string_equal(out, "%2");
    assert_int_equal(kes_percent_decode("%41%4a%4A", 9, out), 3);
    assert_string_equal(out, "AJJ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_mode_maps_the_required_headers),
        cmocka_unit_test(binary_mode_header_names_are_case_insensitive),
        cmocka_unit_test(binary_mode_percent_decodes_header_values),
        cmocka_unit_test(binary_mode_decodes_percent_exactly_once),
        cmocka_unit_test(binary_mode_keeps_a_percent_without_two_hex_digits),
        cmocka_unit_test(binary_mode_accepts_raw_utf8_in_headers),
        cmocka_unit_test(invalid_utf8_after_decoding_is_refused_naming_the_header),
        cmocka_unit_test(overlong_utf8_in_a_header_is_refused),
        cmocka_unit_test(a_surrogate_in_a_header_is_refused),
        cmocka_unit_test(raw_invalid_utf8_in_a_header_is_refused),
        cmocka_unit_test(invalid_utf8_in_a_required_header_is_refused),
        cmocka_unit_test(a_nul_byte_in_a_header_is_refused),
        cmocka_unit_test(ce_time_becomes_a_timestamp),
        cmocka_unit_test(percent_encoded_ce_time_is_decoded_first),
        cmocka_unit_test(a_bad_ce_time_is_refused_naming_the_header),
        cmocka_unit_test(ce_dataschema_becomes_a_uri),
        cmocka_unit_test(other_ce_headers_become_string_attributes),
        cmocka_unit_test(a_repeated_ce_header_is_refused),
        cmocka_unit_test(a_ce_header_without_a_name_is_refused),
        cmocka_unit_test(a_missing_ce_id_stays_missing),
        cmocka_unit_test(content_type_becomes_datacontenttype_as_sent),
        cmocka_unit_test(json_and_text_bodies_are_text_data),
        cmocka_unit_test(a_body_without_content_type_is_text_when_utf8),
        cmocka_unit_test(a_text_body_that_is_not_utf8_is_binary_data),
        cmocka_unit_test(a_body_with_nul_bytes_is_binary_data),
        cmocka_unit_test(other_media_types_are_binary_data),
        cmocka_unit_test(an_empty_body_is_no_data),
        cmocka_unit_test(ce_datacontenttype_counts_only_without_content_type),
        cmocka_unit_test(structured_mode_reads_the_json_format),
        cmocka_unit_test(structured_mode_refuses_malformed_json),
        cmocka_unit_test(structured_mode_refuses_a_non_object),
        cmocka_unit_test(structured_mode_refuses_an_empty_body),
        cmocka_unit_test(batched_mode_reads_an_array),
        cmocka_unit_test(batched_mode_refuses_a_non_array),
        cmocka_unit_test(other_structured_formats_are_unsupported_media),
        cmocka_unit_test(neither_mode_is_refused_naming_what_is_missing),
        cmocka_unit_test(media_types_drop_parameters_and_case),
        cmocka_unit_test(percent_decoding_is_a_pure_function),
        cmocka_unit_test(header_values_lose_optional_whitespace_at_both_ends),
        cmocka_unit_test(a_raw_nul_in_a_header_value_is_refused_not_cut_at),
        cmocka_unit_test(a_percent_encoded_nul_in_required_headers_is_refused),
        cmocka_unit_test(a_raw_nul_in_content_type_is_refused_in_every_mode),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
