/* test_dispatch.c -- unit tests of dispatch: which pipeline records an event starts, with
 * which parameters and tags, and what a repeated event answers (server/dispatch.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloudevents/v1/cloudevents.pb-c.h"
#include "config.h"
#include "dispatch.h"
#include "event.h"
#include "pipeline.h"
#include "router.h"
#include "store.h"

#define SOURCE "example.com"
#define TYPE "com.example.event"
#define RECEIVED_SEC 1704164645 /* 2024-01-02T03:04:05Z */
#define RECEIVED_NSEC 123000000 /* .123 */
#define RECEIVED_TEXT "2024-01-02T03:04:05.123Z"

static const char config_json[] =
    "{\"event00\": {\"source\": \"example.com\", \"type\": \"com.example.event\"},"
    " \"other\": {\"source\": \"example.com\", \"type\": \"com.example.other\"},"
    " \"audit\": {\"source\": \"example.com\", \"type\": \"com.example.event\","
    " \"parameters\": {\"level\": 3}, \"tags\": {\"team\": \"data\"}}}";

/* What every test gets: a dispatcher over config_json and an empty store. */
typedef struct fixture {
    ke_router *router;   /* routing table (owns the config) */
    ke_store *store;     /* in-memory store */
    ke_dispatcher d;     /* router + store */
    struct timespec now; /* the receive time handed to every dispatch */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    ke_config *cfg = NULL;
    ke_error err;

    if (f == NULL)
        return -1;
    ke_error_clear(&err);
    if (ke_config_parse(config_json, strlen(config_json), "test", &cfg, &err) != KE_OK ||
        ke_router_new(cfg, &f->router, &err) != KE_OK ||
        ke_store_open(NULL, &f->store, &err) != KE_OK) {
        print_error("setup: %s\n", err.msg);
        ke_router_free(f->router);
        free(f);
        return -1;
    }
    f->d.router = f->router;
    f->d.store = f->store;
    f->now.tv_sec = RECEIVED_SEC;
    f->now.tv_nsec = RECEIVED_NSEC;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    ke_store_close(f->store);
    ke_router_free(f->router);
    free(f);
    return 0;
}

/* Encodes a CloudEvent (no optional attributes; text data when data is non-NULL) with
 * protobuf-c and decodes it with ke_event_decode. Free with ke_event_free. */
static ke_event *event_with_data(const char *source, const char *type, const char *id,
                                 const char *data)
{
    Io__Cloudevents__V1__CloudEvent pb = IO__CLOUDEVENTS__V1__CLOUD_EVENT__INIT;
    ke_event *ev = NULL;
    uint8_t *buf;
    size_t len;
    ke_error err;

    pb.id = (char *)id;
    pb.source = (char *)source;
    pb.spec_version = "1.0";
    pb.type = (char *)type;
    if (data != NULL) {
        pb.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_TEXT_DATA;
        pb.text_data = (char *)data;
    }
    len = io__cloudevents__v1__cloud_event__get_packed_size(&pb);
    buf = malloc(len ? len : 1);
    assert_non_null(buf);
    assert_int_equal(io__cloudevents__v1__cloud_event__pack(&pb, buf), len);
    ke_error_clear(&err);
    if (ke_event_decode(buf, len, &ev, &err) != KE_OK)
        fail_msg("decode: %s", err.msg);
    free(buf);
    assert_non_null(ev);
    return ev;
}

static ke_event *event(const char *source, const char *type, const char *id)
{
    return event_with_data(source, type, id, NULL);
}

/* Dispatches ev and asserts it answers KE_OK. */
static void dispatch_ok(fixture *f, const ke_event *ev, ke_dispatch_result *res)
{
    ke_error err;

    ke_error_clear(&err);
    if (ke_dispatch(&f->d, ev, &f->now, res, &err) != KE_OK)
        fail_msg("dispatch: %s", err.msg);
    assert_int_equal(err.code, KE_OK);
}

/* The number of records in the store. */
static size_t stored(fixture *f)
{
    ke_list_query q = {0};
    ke_pipeline *out = NULL;
    char *next = NULL;
    size_t n = 0;

    q.limit = KE_LIST_MAX_LIMIT;
    assert_int_equal(ke_store_list(f->store, &q, &out, &n, &next, NULL), KE_OK);
    assert_null(next);
    ke_pipelines_free(out, n);
    return n;
}

static void assert_param(const ke_param *p, const char *name, const char *value, const char *type)
{
    assert_string_equal(p->name, name);
    if (value != NULL)
        assert_string_equal(p->value, value);
    assert_string_equal(p->type, type);
}

static void assert_tag(const ke_tag *t, const char *key, const char *value)
{
    assert_string_equal(t->key, key);
    assert_string_equal(t->value, value);
}

/* Checks the "event" parameter: CloudEvents JSON of (SOURCE, type, id) at RECEIVED_TEXT. */
static void assert_event_json(const char *json, const char *type, const char *id)
{
    cJSON *root = cJSON_Parse(json);

    assert_non_null(root);
    assert_true(cJSON_IsObject(root));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "specversion")),
                        "1.0");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "id")), id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "source")),
                        SOURCE);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "type")), type);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "time")),
                        RECEIVED_TEXT);
    cJSON_Delete(root);
}

/* ---- tests ---- */

static void dispatch_without_router_is_disabled_and_names_the_variable(void **state)
{
    fixture *f = *state;
    ke_dispatcher d = {NULL, f->store, 0, NULL, NULL};
    ke_dispatch_result res;
    ke_event *ev = event(SOURCE, TYPE, "e1");
    ke_error err;

    memset(&res, 0x5a, sizeof res);
    ke_error_clear(&err);
    assert_int_equal(ke_dispatch(&d, ev, &f->now, &res, &err), KE_EDISABLED);
    assert_int_equal(err.code, KE_EDISABLED);
    assert_non_null(strstr(err.msg, "KEDRO_GRAPHQL_EVENTS_CONFIG"));
    assert_string_equal(err.msg, ke_dispatch_disabled_msg);
    assert_null(res.pipelines);
    assert_int_equal(res.n, 0);
    assert_int_equal(res.duplicate, 0);
    assert_int_equal(stored(f), 0);
    ke_dispatch_result_release(&res);
    ke_event_free(ev);
}

static void dispatch_matching_nothing_answers_ok_with_no_pipelines(void **state)
{
    fixture *f = *state;
    ke_dispatch_result res;
    ke_event *ev = event("nobody.example", TYPE, "e1");

    dispatch_ok(f, ev, &res);
    assert_int_equal(res.n, 0);
    assert_int_equal(res.duplicate, 0);
    assert_int_equal(stored(f), 0);
    ke_dispatch_result_release(&res);
    ke_event_free(ev);
}

static void dispatch_two_matches_build_two_ready_pipelines_in_config_order(void **state)
{
    fixture *f = *state;
    ke_dispatch_result res;
    ke_event *ev = event(SOURCE, TYPE, "e1");
    ke_pipeline got;
    size_t i;

    dispatch_ok(f, ev, &res);
    assert_int_equal(res.duplicate, 0);
    assert_int_equal(res.n, 2);
    assert_string_equal(res.pipelines[0].name, "event00");
    assert_string_equal(res.pipelines[1].name, "audit");
    assert_string_not_equal(res.pipelines[0].id, res.pipelines[1].id);
    for (i = 0; i < 2; i++) {
        assert_int_equal(strlen(res.pipelines[i].id), KE_ID_LEN);
        assert_null(res.pipelines[i].parent);
        assert_int_equal(res.pipelines[i].n_status, 1);
        assert_int_equal(ke_pipeline_state(&res.pipelines[i]), KE_STATE_READY);
        /* What dispatch answers is what the store holds. */
        assert_int_equal(ke_store_get(f->store, res.pipelines[i].id, &got, NULL), KE_OK);
        assert_string_equal(got.name, res.pipelines[i].name);
        assert_int_equal(got.n_params, res.pipelines[i].n_params);
        assert_int_equal(got.n_tags, res.pipelines[i].n_tags);
        assert_int_equal(ke_pipeline_state(&got), KE_STATE_READY);
        ke_pipeline_release(&got);
    }
    assert_int_equal(stored(f), 2);
    ke_dispatch_result_release(&res);
    assert_null(res.pipelines);
    assert_int_equal(res.n, 0);
    ke_event_free(ev);
}

static void dispatch_params_are_id_event_then_the_routes_static_ones(void **state)
{
    fixture *f = *state;
    ke_dispatch_result res;
    ke_event *ev = event(SOURCE, TYPE, "e1");
    const ke_pipeline *plain, *audit;

    dispatch_ok(f, ev, &res);
    assert_int_equal(res.n, 2);
    plain = &res.pipelines[0];
    audit = &res.pipelines[1];

    assert_int_equal(plain->n_params, 2);
    assert_param(&plain->params[0], "id", plain->id, "string");
    assert_param(&plain->params[1], "event", NULL, "string");
    assert_event_json(plain->params[1].value, TYPE, "e1");

    assert_int_equal(audit->n_params, 3);
    assert_param(&audit->params[0], "id", audit->id, "string");
    assert_param(&audit->params[1], "event", NULL, "string");
    assert_event_json(audit->params[1].value, TYPE, "e1");
    assert_param(&audit->params[2], "level", "3", "int");

    /* Both runs see the same event text. */
    assert_string_equal(plain->params[1].value, audit->params[1].value);
    ke_dispatch_result_release(&res);
    ke_event_free(ev);
}

static void dispatch_tags_are_event_id_source_type_then_the_routes_static_ones(void **state)
{
    fixture *f = *state;
    ke_dispatch_result res;
    ke_event *ev = event(SOURCE, TYPE, "e1");
    const ke_pipeline *plain, *audit;

    dispatch_ok(f, ev, &res);
    assert_int_equal(res.n, 2);
    plain = &res.pipelines[0];
    audit = &res.pipelines[1];

    assert_int_equal(plain->n_tags, 3);
    assert_tag(&plain->tags[0], "event_id", "e1");
    assert_tag(&plain->tags[1], "event_source", SOURCE);
    assert_tag(&plain->tags[2], "event_type", TYPE);

    assert_int_equal(audit->n_tags, 4);
    assert_tag(&audit->tags[0], "event_id", "e1");
    assert_tag(&audit->tags[1], "event_source", SOURCE);
    assert_tag(&audit->tags[2], "event_type", TYPE);
    assert_tag(&audit->tags[3], "team", "data");
    ke_dispatch_result_release(&res);
    ke_event_free(ev);
}

static void dispatch_event_param_never_holds_an_interpolation(void **state)
{
    fixture *f = *state;
    ke_dispatch_result res;
    ke_event *ev = event_with_data(SOURCE, TYPE, "e${x}", "{\"path\": \"${oc.env:HOME}\"}");
    cJSON *root, *data;

    dispatch_ok(f, ev, &res);
    assert_int_equal(res.n, 2);
    assert_null(strstr(res.pipelines[0].params[1].value, "${"));
    root = cJSON_Parse(res.pipelines[0].params[1].value);
    assert_non_null(root);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "id")),
                        "e${x}");
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    assert_true(cJSON_IsObject(data));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "path")),
                        "${oc.env:HOME}");
    cJSON_Delete(root);
    ke_dispatch_result_release(&res);
    ke_event_free(ev);
}

/* The rendered event is capped (2 x --max-message-bytes in kedro-eventd): text data of control
 * characters grows 6-fold as \u00XX; past the cap the event is refused and nothing stored, so
 * a retry is not a duplicate. At the cap exactly it passes. */
static void dispatch_refuses_a_rendering_past_the_cap_and_stores_nothing(void **state)
{
    fixture *f = *state;
    char data[1001];
    ke_dispatch_result res, ok;
    ke_event *ev;
    ke_error err;
    size_t len;

    memset(data, 0x01, 1000);
    data[1000] = '\0';
    ev = event_with_data(SOURCE, TYPE, "ctl", data);
    f->d.max_event_json = 2000; /* 1000 bytes render as 6000 */
    ke_error_clear(&err);
    memset(&res, 0x5a, sizeof res);
    assert_int_equal(ke_dispatch(&f->d, ev, &f->now, &res, &err), KE_ETOOBIG);
    assert_int_equal(ke_err_grpc_status(err.code), 8); /* RESOURCE_EXHAUSTED */
    assert_non_null(strstr(err.msg, "more than the cap of 2000 bytes"));
    assert_non_null(strstr(err.msg, "--max-message-bytes"));
    assert_null(res.pipelines);
    assert_int_equal(stored(f), 0);
    f->d.max_event_json = 0; /* the default cap, 8 MiB */
    dispatch_ok(f, ev, &ok);
    assert_int_equal(ok.duplicate, 0);
    len = strlen(ok.pipelines[0].params[1].value);
    assert_true(len > 6000);
    f->d.max_event_json = len; /* exactly at the cap: accepted (a duplicate now) */
    ke_dispatch_result_release(&ok);
    dispatch_ok(f, ev, &ok);
    assert_int_equal(ok.duplicate, 1);
    ke_dispatch_result_release(&ok);
    ke_event_free(ev);
}

static void dispatch_duplicate_event_returns_original_pipelines(void **state)
{
    fixture *f = *state;
    ke_dispatch_result first, again;
    ke_event *ev = event(SOURCE, TYPE, "e1");
    ke_event *same = event(SOURCE, TYPE, "e1");
    size_t i;

    dispatch_ok(f, ev, &first);
    assert_int_equal(first.duplicate, 0);
    assert_int_equal(first.n, 2);
    f->now.tv_sec += 60; /* arrives later: still the same event */
    dispatch_ok(f, same, &again);
    assert_int_equal(again.duplicate, 1);
    assert_int_equal(again.n, 2);
    for (i = 0; i < 2; i++) {
        assert_string_equal(again.pipelines[i].id, first.pipelines[i].id);
        assert_string_equal(again.pipelines[i].name, first.pipelines[i].name);
        /* The original parameters, received time included. */
        assert_string_equal(again.pipelines[i].params[0].value, first.pipelines[i].id);
        assert_string_equal(again.pipelines[i].params[1].value, first.pipelines[i].params[1].value);
    }
    assert_int_equal(stored(f), 2);
    ke_dispatch_result_release(&first);
    ke_dispatch_result_release(&again);
    ke_event_free(ev);
    ke_event_free(same);
}

static void dispatch_duplicate_of_an_event_that_matched_nothing_is_a_duplicate(void **state)
{
    fixture *f = *state;
    ke_dispatch_result res;
    ke_event *ev = event(SOURCE, "com.example.unrouted", "e1");

    dispatch_ok(f, ev, &res);
    assert_int_equal(res.n, 0);
    assert_int_equal(res.duplicate, 0);
    ke_dispatch_result_release(&res);
    dispatch_ok(f, ev, &res);
    assert_int_equal(res.n, 0);
    assert_int_equal(res.duplicate, 1);
    ke_dispatch_result_release(&res);
    ke_event_free(ev);
}

static void dispatch_same_id_from_another_source_is_a_new_event(void **state)
{
    fixture *f = *state;
    ke_dispatch_result first, second;
    ke_event *ev = event(SOURCE, TYPE, "e1");
    ke_event *other = event("elsewhere.example", TYPE, "e1");

    dispatch_ok(f, ev, &first);
    dispatch_ok(f, other, &second);
    assert_int_equal(second.duplicate, 0);
    assert_int_equal(second.n, 0); /* no route for that source */
    ke_dispatch_result_release(&second);
    dispatch_ok(f, ev, &second);
    assert_int_equal(second.duplicate, 1);
    ke_dispatch_result_release(&first);
    ke_dispatch_result_release(&second);
    ke_event_free(ev);
    ke_event_free(other);
}

static void dispatch_different_type_with_same_source_matches_nothing_else(void **state)
{
    fixture *f = *state;
    ke_dispatch_result res;
    ke_event *unrouted = event(SOURCE, "com.example.unrouted", "e1");
    ke_event *cased = event(SOURCE, "COM.EXAMPLE.EVENT", "e2");
    ke_event *other = event(SOURCE, "com.example.other", "e3");

    dispatch_ok(f, unrouted, &res);
    assert_int_equal(res.n, 0);
    ke_dispatch_result_release(&res);
    dispatch_ok(f, cased, &res); /* matching is case-sensitive */
    assert_int_equal(res.n, 0);
    ke_dispatch_result_release(&res);
    assert_int_equal(stored(f), 0);

    /* The one route for that other type, and only it. */
    dispatch_ok(f, other, &res);
    assert_int_equal(res.n, 1);
    assert_string_equal(res.pipelines[0].name, "other");
    assert_tag(&res.pipelines[0].tags[2], "event_type", "com.example.other");
    ke_dispatch_result_release(&res);
    assert_int_equal(stored(f), 1);
    ke_event_free(unrouted);
    ke_event_free(cased);
    ke_event_free(other);
}

static void dispatch_result_release_of_a_zeroed_result_is_fine(void **state)
{
    ke_dispatch_result res = {0};

    (void)state;
    ke_dispatch_result_release(&res);
    assert_null(res.pipelines);
}

/* Pipeline ids are version 7 UUIDs: RFC 9562's layout, the current Unix milliseconds first,
 * so ids made later sort after earlier ones (the id index grows at its end). */
static void pipeline_ids_are_uuid7_in_time_order(void **state)
{
    char a[KE_ID_LEN + 1], b[KE_ID_LEN + 1];
    struct timespec ts, pause = {0, 2000000};
    unsigned long long ms, before;
    int i;

    (void)state;
    clock_gettime(CLOCK_REALTIME, &ts);
    before = (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
    ke_new_id(a);
    assert_int_equal(strlen(a), 36);
    assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
    assert_int_equal(a[14], '7');                                 /* version */
    assert_non_null(strchr("89ab", a[19]));                       /* variant 10 */
    ms = strtoull(a, NULL, 16) << 16 | strtoull(a + 9, NULL, 16); /* first 48 bits */
    assert_true(ms >= before && ms < before + 1000);
    for (i = 0; i < 3; i++) {
        nanosleep(&pause, NULL); /* the next millisecond at least */
        ke_new_id(b);
        assert_true(strcmp(a, b) < 0);
        assert_string_not_equal(a, b);
        memcpy(a, b, sizeof a);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(dispatch_without_router_is_disabled_and_names_the_variable),
        T(dispatch_matching_nothing_answers_ok_with_no_pipelines),
        T(dispatch_two_matches_build_two_ready_pipelines_in_config_order),
        T(dispatch_params_are_id_event_then_the_routes_static_ones),
        T(dispatch_tags_are_event_id_source_type_then_the_routes_static_ones),
        T(dispatch_event_param_never_holds_an_interpolation),
        T(dispatch_refuses_a_rendering_past_the_cap_and_stores_nothing),
        T(dispatch_duplicate_event_returns_original_pipelines),
        T(dispatch_duplicate_of_an_event_that_matched_nothing_is_a_duplicate),
        T(dispatch_same_id_from_another_source_is_a_new_event),
        T(dispatch_different_type_with_same_source_matches_nothing_else),
        cmocka_unit_test(dispatch_result_release_of_a_zeroed_result_is_fine),
        cmocka_unit_test(pipeline_ids_are_uuid7_in_time_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
