/* test_client_pipeline_json.c -- unit tests of the pipeline dicts of client/pipeline_json.c:
 * every key of kedro-graphql's /event/ answer in its order, nulls for a local run, and a
 * forwarded run's kedro-graphql values merged in from kedro_graphql_json; and GetStats's JSON
 * (client/stats.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kedroevents.h"

/* The keys of kedro-graphql's pipeline dict in its order, then ours. */
static const char *const pipeline_keys[] = {"id",
                                            "name",
                                            "data_catalog",
                                            "describe",
                                            "nodes",
                                            "parameters",
                                            "status",
                                            "tags",
                                            "created_at",
                                            "parent",
                                            "project_version",
                                            "pipeline_version",
                                            "kedro_graphql_version",
                                            "kedro_graphql_id",
                                            NULL};

/* The keys of kedro-graphql's status entry in its order, then ours. */
static const char *const status_keys[] = {"state",          "session",      "runner",
                                          "filtered_nodes", "started_at",   "finished_at",
                                          "task_id",        "task_name",    "task_args",
                                          "task_kwargs",    "task_request", "task_exception",
                                          "task_traceback", "task_einfo",   "task_result",
                                          "changed_at",     "exit_code",    "signal",
                                          "error",          "log_path",     NULL};

/* The nulls of a local run's status entry between state and runner, and after finished_at. */
#define SESSION "\"session\":null,"
#define TASKS                                                                                      \
    "\"task_id\":null,\"task_name\":null,\"task_args\":null,\"task_kwargs\":null,"                 \
    "\"task_request\":null,\"task_exception\":null,\"task_traceback\":null,\"task_einfo\":null,"   \
    "\"task_result\":null,"

/* Fails unless o's members are named keys (NULL-terminated), in that order. */
static void assert_keys(const cJSON *o, const char *const *keys)
{
    const cJSON *m;
    size_t i = 0;

    cJSON_ArrayForEach(m, o)
    {
        if (keys[i] == NULL)
            fail_msg("unexpected member \"%s\" after the last key", m->string);
        if (strcmp(m->string, keys[i]) != 0)
            fail_msg("member %zu is \"%s\", not \"%s\"", i, m->string, keys[i]);
        i++;
    }
    if (keys[i] != NULL)
        fail_msg("member \"%s\" is missing", keys[i]);
}

/* o's member name as compact JSON text, in a static buffer. */
static const char *member_text(const cJSON *o, const char *name)
{
    static char buf[512];
    char *s = kec_json_print(cJSON_GetObjectItemCaseSensitive(o, name));

    assert_non_null(s);
    snprintf(buf, sizeof buf, "%s", s);
    free(s);
    return buf;
}

static void
pipeline_json_has_every_kedro_graphql_key_in_order_with_nulls_for_a_local_run(void **state)
{
    kec_param params[] = {{"event", "{\"a\":1}", "string"}, {"empty", "", "string"}};
    kec_tag tags[] = {{"event_source", "example.com"}};
    kec_status status[] = {
        {.state = KEC_STATE_READY,
         .changed_at = {.seconds = 1522949460, .set = 1},
         .runner = "",
         .error = "",
         .log_path = "",
         .kedro_graphql_json = ""},
        {.state = KEC_STATE_FAILURE,
         .changed_at = {.seconds = 1522949462, .nanos = 5000000, .set = 1},
         .started_at = {.seconds = 1522949461, .set = 1},
         .finished_at = {.seconds = 1522949462, .set = 1},
         .runner = "local",
         .has_exit_code = 1,
         .exit_code = 2,
         .has_signal = 1,
         .signal = 9,
         .error = "boom",
         .log_path = "/tmp/run.log"}, /* kedro_graphql_json NULL: the same as "" */
    };
    kec_pipeline p = {.id = "p-1",
                      .name = "example00",
                      .parent = "",
                      .params = params,
                      .n_params = 2,
                      .tags = tags,
                      .n_tags = 1,
                      .status = status,
                      .n_status = 2,
                      .created_at = {.seconds = 1522949460, .set = 1},
                      .kedro_graphql_id = "",
                      .kedro_graphql_json = ""};
    static const char want[] =
        "{\"id\":\"p-1\",\"name\":\"example00\",\"data_catalog\":[],\"describe\":null,"
        "\"nodes\":null,\"parameters\":[{\"name\":\"event\",\"value\":\"{\\\"a\\\":1}\","
        "\"type\":\"string\"},{\"name\":\"empty\",\"value\":\"\",\"type\":\"string\"}],"
        "\"status\":[{\"state\":\"READY\"," SESSION "\"runner\":null,\"filtered_nodes\":null,"
        "\"started_at\":null,\"finished_at\":null," TASKS "\"changed_at\":\"2018-04-05T17:31:00Z\","
        "\"exit_code\":null,\"signal\":null,\"error\":null,\"log_path\":null},"
        "{\"state\":\"FAILURE\"," SESSION "\"runner\":\"local\",\"filtered_nodes\":null,"
        "\"started_at\":\"2018-04-05T17:31:01Z\",\"finished_at\":\"2018-04-05T17:31:02Z\"," TASKS
        "\"changed_at\":\"2018-04-05T17:31:02.005Z\",\"exit_code\":2,\"signal\":9,"
        "\"error\":\"boom\",\"log_path\":\"/tmp/run.log\"}],"
        "\"tags\":[{\"key\":\"event_source\",\"value\":\"example.com\"}],"
        "\"created_at\":\"2018-04-05T17:31:00Z\",\"parent\":null,\"project_version\":null,"
        "\"pipeline_version\":null,\"kedro_graphql_version\":null,\"kedro_graphql_id\":null}";
    kec_dispatch_result r = {.pipelines = &p, .count = 1, .duplicate = 1};
    char *s, want_result[sizeof want + 64];
    cJSON *o;

    (void)state;
    s = kec_pipeline_to_json(&p);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
    o = kec_pipeline_json(&p);
    assert_true(cJSON_IsObject(o));
    assert_keys(o, pipeline_keys);
    assert_keys(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "status"), 0), status_keys);
    cJSON_Delete(o);

    snprintf(want_result, sizeof want_result, "{\"pipelines\":[%s],\"duplicate\":true}", want);
    s = kec_dispatch_result_to_json(&r);
    assert_string_equal(s, want_result);
    free(s);
    p.parent = "p-0";
    p.created_at.set = 0;
    p.n_params = p.n_tags = p.n_status = 0;
    p.kedro_graphql_id = NULL; /* a struct not from the library: NULL is taken as "" */
    p.kedro_graphql_json = NULL;
    s = kec_pipeline_to_json(&p);
    assert_string_equal(s, "{\"id\":\"p-1\",\"name\":\"example00\",\"data_catalog\":[],"
                           "\"describe\":null,\"nodes\":null,\"parameters\":[],\"status\":[],"
                           "\"tags\":[],\"created_at\":null,\"parent\":\"p-0\","
                           "\"project_version\":null,\"pipeline_version\":null,"
                           "\"kedro_graphql_version\":null,\"kedro_graphql_id\":null}");
    free(s);
}

static void dispatch_result_json_without_pipelines(void **state)
{
    kec_dispatch_result r = {0};
    char *s;

    (void)state;
    s = kec_dispatch_result_to_json(&r);
    assert_string_equal(s, "{\"pipelines\":[],\"duplicate\":false}");
    free(s);
}

static void pipeline_json_puts_kedro_graphql_values_in_place_of_the_nulls(void **state)
{
    kec_status status[] = {
        {.state = KEC_STATE_READY,
         .runner = "kedro-graphql",
         .error = "",
         .log_path = "",
         .kedro_graphql_json = "{\"state\":\"READY\",\"session\":null,\"task_id\":\"t-1\"}"},
        {.state = KEC_STATE_FAILURE,
         .runner = "kedro-graphql",
         .error = "ValueError: x",
         .log_path = "",
         /* its own keys merged (any JSON value), others -- ours, unknown -- left alone */
         .kedro_graphql_json =
             "{\"state\":\"FAILURE\",\"runner\":\"theirs\",\"session\":\"s-9\","
             "\"filtered_nodes\":[\"a\",\"b\"],\"task_id\":\"t-2\",\"task_name\":"
             "\"kedro_graphql.tasks.run_pipeline\",\"task_args\":\"[]\",\"task_kwargs\":"
             "{\"k\":1},\"task_request\":null,\"task_exception\":\"ValueError('x')\","
             "\"task_traceback\":\"Traceback ...\",\"task_einfo\":\"einfo\",\"task_result\":"
             "{\"r\":[1,2.5,true]},\"error\":\"theirs\",\"unknown\":1}"},
    };
    kec_pipeline p = {
        .id = "p-1",
        .name = "example00",
        .parent = "",
        .status = status,
        .n_status = 2,
        .kedro_graphql_id = "65a1b2c3d4e5f60718293a4b",
        .kedro_graphql_json =
            "{\"id\":\"65a1b2c3d4e5f60718293a4b\",\"name\":\"theirs\",\"parent\":\"x\","
            "\"data_catalog\":[{\"name\":\"rows\",\"config\":{\"type\":\"pandas.CSVDataset\"}}],"
            "\"describe\":\"#### Pipeline execution order ####\",\"nodes\":[{\"name\":\"n1\"}],"
            "\"project_version\":\"0.1\",\"pipeline_version\":null,"
            "\"kedro_graphql_version\":\"1.5.1\",\"extra\":true}"};
    cJSON *o = NULL, *s0, *s1;

    (void)state;
    o = kec_pipeline_json(&p);
    assert_non_null(o);
    assert_keys(o, pipeline_keys);
    assert_string_equal(member_text(o, "id"), "\"p-1\""); /* ours, not kedro-graphql's */
    assert_string_equal(member_text(o, "name"), "\"example00\"");
    assert_string_equal(member_text(o, "parent"), "null");
    assert_string_equal(member_text(o, "data_catalog"),
                        "[{\"name\":\"rows\",\"config\":{\"type\":\"pandas.CSVDataset\"}}]");
    assert_string_equal(member_text(o, "describe"), "\"#### Pipeline execution order ####\"");
    assert_string_equal(member_text(o, "nodes"), "[{\"name\":\"n1\"}]");
    assert_string_equal(member_text(o, "project_version"), "\"0.1\"");
    assert_string_equal(member_text(o, "pipeline_version"), "null");
    assert_string_equal(member_text(o, "kedro_graphql_version"), "\"1.5.1\"");
    assert_string_equal(member_text(o, "kedro_graphql_id"), "\"65a1b2c3d4e5f60718293a4b\"");

    s0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "status"), 0);
    s1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "status"), 1);
    assert_keys(s0, status_keys);
    assert_keys(s1, status_keys);
    assert_string_equal(member_text(s0, "task_id"), "\"t-1\"");
    assert_string_equal(member_text(s0, "session"), "null");
    assert_string_equal(member_text(s0, "task_name"), "null");
    assert_string_equal(member_text(s1, "state"), "\"FAILURE\"");
    assert_string_equal(member_text(s1, "runner"), "\"kedro-graphql\"");
    assert_string_equal(member_text(s1, "error"), "\"ValueError: x\"");
    assert_string_equal(member_text(s1, "session"), "\"s-9\"");
    assert_string_equal(member_text(s1, "filtered_nodes"), "[\"a\",\"b\"]");
    assert_string_equal(member_text(s1, "task_id"), "\"t-2\"");
    assert_string_equal(member_text(s1, "task_name"), "\"kedro_graphql.tasks.run_pipeline\"");
    assert_string_equal(member_text(s1, "task_args"), "\"[]\"");
    assert_string_equal(member_text(s1, "task_kwargs"), "{\"k\":1}");
    assert_string_equal(member_text(s1, "task_request"), "null");
    assert_string_equal(member_text(s1, "task_exception"), "\"ValueError('x')\"");
    assert_string_equal(member_text(s1, "task_traceback"), "\"Traceback ...\"");
    assert_string_equal(member_text(s1, "task_einfo"), "\"einfo\"");
    assert_string_equal(member_text(s1, "task_result"), "{\"r\":[1,2.5,true]}");
    cJSON_Delete(o);
}

static void pipeline_json_ignores_kedro_graphql_json_that_is_not_an_object(void **state)
{
    static const char *const bad[] = {
        "{\"session\":\"s\"",     "{\"session\":\"s\",}",    "not json",
        "[{\"session\":\"s\"}]",  "\"{\\\"session\\\":1}\"", "null",
        "{\"session\":\"s\"} {}", "{\"session\":\"\xff\"}"};
    kec_status st = {.state = KEC_STATE_STARTED, .runner = "", .error = "", .log_path = ""};
    kec_pipeline p = {.id = "p-1",
                      .name = "n",
                      .parent = "",
                      .status = &st,
                      .n_status = 1,
                      .kedro_graphql_id = "",
                      .kedro_graphql_json = ""};
    char *plain, *s;
    size_t i;

    (void)state;
    plain = kec_pipeline_to_json(&p);
    assert_non_null(plain);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st.kedro_graphql_json = (char *)bad[i];
        p.kedro_graphql_json = (char *)bad[i];
        s = kec_pipeline_to_json(&p);
        if (s == NULL || strcmp(s, plain) != 0)
            fail_msg("%s: answered %s, not the dict without it", bad[i], s ? s : "NULL");
        free(s);
    }
    free(plain);
}

/* "{\"task_result\":" + levels "[" ... "]" + "}": a status object nesting levels + 1 deep. */
static char *nested_status(int levels)
{
    size_t n = strlen("{\"task_result\":}") + 2 * (size_t)levels + 1;
    char *s = malloc(n);
    int i;

    assert_non_null(s);
    strcpy(s, "{\"task_result\":");
    for (i = 0; i < levels; i++)
        strcat(s, "[");
    for (i = 0; i < levels; i++)
        strcat(s, "]");
    strcat(s, "}");
    return s;
}

static void pipeline_json_bounds_kedro_graphql_nesting_so_its_documents_read_back(void **state)
{
    /* a status entry sits two containers deep (the dict, its status array): its JSON may nest
     * KEC_JSON_MAX_DEPTH - 2, so the dict nests at most KEC_JSON_MAX_DEPTH */
    char *fits = nested_status(KEC_JSON_MAX_DEPTH - 3),
         *deeper = nested_status(KEC_JSON_MAX_DEPTH - 2);
    kec_status st = {.state = KEC_STATE_SUCCESS, .runner = "", .error = "", .log_path = ""};
    kec_pipeline p = {.id = "p-1", .name = "n", .parent = "", .status = &st, .n_status = 1};
    kec_dispatch_result r = {.pipelines = &p, .count = 1};
    cJSON *o, *back = NULL;
    char *s;

    (void)state;
    st.kedro_graphql_json = fits;
    o = kec_pipeline_json(&p);
    assert_non_null(o);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "status"), 0), "task_result")));
    cJSON_Delete(o);
    s = kec_pipeline_to_json(&p);
    assert_int_equal(kec_json_parse(s, strlen(s), KEC_JSON_MAX_DEPTH, 0, &back, NULL), KEC_JSON_OK);
    cJSON_Delete(back);
    free(s);
    s = kec_dispatch_result_to_json(&r); /* a document of dicts: the envelope's depth more */
    assert_int_equal(
        kec_json_parse(s, strlen(s), KEC_JSON_MAX_DEPTH + KEC_JSON_ENVELOPE_DEPTH, 0, &back, NULL),
        KEC_JSON_OK);
    cJSON_Delete(back);
    free(s);

    st.kedro_graphql_json = deeper; /* one level more: ignored, the entry keeps its null */
    o = kec_pipeline_json(&p);
    assert_non_null(o);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "status"), 0), "task_result")));
    cJSON_Delete(o);
    free(fits);
    free(deeper);
}

/* The dict is written as text, not printed by cJSON: every string must come out escaped
 * exactly as cJSON_PrintUnformatted escapes it, and read back to the same bytes. */
static void pipeline_json_escapes_strings_as_cjson_prints_them(void **state)
{
    static const char *const texts[] = {"",
                                        "plain",
                                        "q\"uote\\back/slash",
                                        "ctl\x01\x1f\x7f\b\f\n\r\t end",
                                        "utf8 \xe2\x82\xac\xf0\x9f\x98\x80 \xe2\x80\xa8",
                                        "{\"a\":[1,2.5,\"$\"]}"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        kec_param param = {"event", (char *)texts[i], "string"};
        kec_tag tag = {(char *)texts[i], "v"};
        kec_pipeline p = {.id = "p-1",
                          .name = (char *)texts[i],
                          .parent = "",
                          .params = &param,
                          .n_params = 1,
                          .tags = &tag,
                          .n_tags = 1};
        char *s = kec_pipeline_to_json(&p), *again;
        cJSON *back = NULL;

        assert_non_null(s);
        assert_int_equal(kec_json_parse(s, strlen(s), KEC_JSON_MAX_DEPTH, 0, &back, NULL),
                         KEC_JSON_OK);
        again = kec_json_print(back);
        assert_string_equal(again, s);
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(back, "parameters"), 0),
                "value")
                ->valuestring,
            texts[i]);
        free(again);
        cJSON_Delete(back);
        free(s);
    }
}

/* GET /stats's answer (client/stats.c): the keys of docs/console.md in order, times as in the
 * pipeline dicts, every bucket, an unset time as null. */
static void stats_json_is_the_console_contract_byte_for_byte(void **state)
{
    kec_stats_bucket b[2] = {
        {{1800000000, 0, 1}, 12, 10, 1, 0},
        {{1800000060, 0, 1}, 0, 0, 0, 3},
    };
    kec_stats s = {{1800000065, 123456000, 1}, {0, 0, 0}, 120, 60, b, 2, 0, 3, 1};
    char *text = kec_stats_to_json(&s);

    (void)state;
    assert_non_null(text);
    assert_string_equal(text,
                        "{\"now\":\"2027-01-15T08:01:05.123456Z\",\"window\":120,\"step\":60,"
                        "\"events_since\":null,\"buckets\":[{\"start\":\"2027-01-15T08:00:00Z\","
                        "\"events\":12,\"success\":10,\"failure\":1,\"aborted\":0},"
                        "{\"start\":\"2027-01-15T08:01:00Z\",\"events\":0,\"success\":0,"
                        "\"failure\":0,\"aborted\":3}],\"staged\":0,\"ready\":3,\"started\":1}");
    free(text);
    s.count = 0;
    text = kec_stats_to_json(&s);
    assert_non_null(strstr(text, "\"buckets\":[],"));
    free(text);
    /* counts past 15 digits (and past a double's 2^53) are written exactly */
    s.staged = INT64_MAX;
    s.ready = 9007199254740993;
    text = kec_stats_to_json(&s);
    assert_non_null(strstr(text, "\"staged\":9223372036854775807,\"ready\":9007199254740993,"));
    free(text);
    kec_stats_release(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            pipeline_json_has_every_kedro_graphql_key_in_order_with_nulls_for_a_local_run),
        cmocka_unit_test(dispatch_result_json_without_pipelines),
        cmocka_unit_test(pipeline_json_puts_kedro_graphql_values_in_place_of_the_nulls),
        cmocka_unit_test(pipeline_json_ignores_kedro_graphql_json_that_is_not_an_object),
        cmocka_unit_test(pipeline_json_bounds_kedro_graphql_nesting_so_its_documents_read_back),
        cmocka_unit_test(pipeline_json_escapes_strings_as_cjson_prints_them),
        cmocka_unit_test(stats_json_is_the_console_contract_byte_for_byte),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
