/* test_graphql.c -- unit tests of the kedro-graphql forwarder's GraphQL: the requests it
 * builds and its reading of canned answers (partial data, classification, bad bodies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "graphql.h"

static ke_param params[] = {
    {"id", "11111111-2222-3333-4444-555555555555", "string"},
    {"event", "{\"id\": \"e1\", \"x\": \"${oc.env:HOME}\"}", "string"},
    {"n", "3", "int"},
    {"f", "0.5", "float"},
    {"b", "true", "bool"},
};
static ke_tag tags[] = {{"event_id", "e1"}, {"event_source", "s"}};

static ke_pipeline pipeline(void)
{
    ke_pipeline p;

    memset(&p, 0, sizeof p);
    strcpy(p.id, "11111111-2222-3333-4444-555555555555");
    p.name = "event00";
    p.params = params;
    p.n_params = sizeof params / sizeof params[0];
    p.tags = tags;
    p.n_tags = 2;
    return p;
}

static cJSON *parse(char *text)
{
    cJSON *j;

    assert_non_null(text);
    j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static const char *str_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void create_request_sends_values_as_variables_without_id(void **state)
{
    ke_pipeline p = pipeline(), q = pipeline();
    ke_gql_input in[2] = {{&p, NULL, NULL}, {&q, NULL, "65f0a1b2c3d4e5f6a7b8c9d0"}};
    cJSON *j, *v, *p0, *prm, *tg;
    const char *query;

    (void)state;
    strcpy(q.id, "99999999-2222-3333-4444-555555555555");
    j = parse(ke_gql_create_request(in, 2));
    query = str_at(j, "query");
    assert_non_null(strstr(query, "mutation Create2($p0: PipelineInput!, $p1: PipelineInput!)"));
    assert_non_null(strstr(query, "c0: createPipeline(pipeline: $p0)"));
    assert_non_null(strstr(query, "c1: createPipeline(pipeline: $p1)"));
    assert_null(strstr(query, "event00")); /* no value spliced into the query */
    assert_null(strstr(query, "oc.env"));
    v = cJSON_GetObjectItemCaseSensitive(j, "variables");
    p0 = cJSON_GetObjectItemCaseSensitive(v, "p0");
    assert_string_equal(str_at(p0, "name"), "event00");
    assert_string_equal(str_at(p0, "state"), "STAGED");
    assert_null(cJSON_GetObjectItemCaseSensitive(p0, "parent"));
    prm = cJSON_GetObjectItemCaseSensitive(p0, "parameters");
    assert_int_equal(cJSON_GetArraySize(prm), 4); /* `id` left out */
    assert_string_equal(str_at(cJSON_GetArrayItem(prm, 0), "name"), "event");
    assert_string_equal(str_at(cJSON_GetArrayItem(prm, 0), "value"), params[1].value);
    assert_string_equal(str_at(cJSON_GetArrayItem(prm, 0), "type"), "STRING");
    assert_string_equal(str_at(cJSON_GetArrayItem(prm, 1), "type"), "INTEGER");
    assert_string_equal(str_at(cJSON_GetArrayItem(prm, 2), "type"), "FLOAT");
    assert_string_equal(str_at(cJSON_GetArrayItem(prm, 3), "type"), "BOOLEAN");
    tg = cJSON_GetObjectItemCaseSensitive(p0, "tags");
    assert_int_equal(cJSON_GetArraySize(tg), 3);
    assert_string_equal(str_at(cJSON_GetArrayItem(tg, 2), "key"), KE_GQL_ID_TAG);
    assert_string_equal(str_at(cJSON_GetArrayItem(tg, 2), "value"), p.id);
    assert_string_equal(str_at(cJSON_GetObjectItemCaseSensitive(v, "p1"), "parent"),
                        "65f0a1b2c3d4e5f6a7b8c9d0");
    cJSON_Delete(j);
}

static void query_text_depends_only_on_batch_size(void **state)
{
    ke_pipeline p = pipeline(), q = pipeline();
    ke_gql_input a = {&p, NULL, NULL}, b = {&q, NULL, "x"};
    cJSON *ja, *jb;

    (void)state;
    q.name = "other";
    ja = parse(ke_gql_create_request(&a, 1));
    jb = parse(ke_gql_create_request(&b, 1));
    assert_string_equal(str_at(ja, "query"), str_at(jb, "query"));
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    a.remote_id = "r1";
    b.remote_id = "r2";
    ja = parse(ke_gql_update_request(&a, 1));
    jb = parse(ke_gql_update_request(&b, 1));
    assert_string_equal(str_at(ja, "query"), str_at(jb, "query"));
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    assert_null(ke_gql_create_request(&a, 0));
    assert_null(ke_gql_create_request(&a, KE_GQL_MAX_BATCH + 1));
}

static void update_request_sends_ready_with_remote_id_first_in_our_order(void **state)
{
    ke_pipeline p = pipeline();
    ke_gql_input in = {&p, "65f0a1b2c3d4e5f6a7b8c9d0", NULL};
    cJSON *j = parse(ke_gql_update_request(&in, 1)), *v, *p0, *prm;

    (void)state;
    assert_non_null(strstr(str_at(j, "query"), "u0: updatePipeline(id: $i0, pipeline: $p0)"));
    /* The launch answers with its status entry only (the mirror brings describe, nodes, ...). */
    assert_non_null(strstr(str_at(j, "query"), "taskId"));
    assert_null(strstr(str_at(j, "query"), "describe"));
    assert_non_null(strstr(str_at(j, "query"), "$i0: String!"));
    v = cJSON_GetObjectItemCaseSensitive(j, "variables");
    assert_string_equal(str_at(v, "i0"), "65f0a1b2c3d4e5f6a7b8c9d0");
    p0 = cJSON_GetObjectItemCaseSensitive(v, "p0");
    assert_string_equal(str_at(p0, "state"), "READY");
    prm = cJSON_GetObjectItemCaseSensitive(p0, "parameters");
    assert_int_equal(cJSON_GetArraySize(prm), 5);
    assert_string_equal(str_at(cJSON_GetArrayItem(prm, 0), "name"), "id");
    assert_string_equal(str_at(cJSON_GetArrayItem(prm, 0), "value"), "65f0a1b2c3d4e5f6a7b8c9d0");
    assert_string_equal(str_at(cJSON_GetArrayItem(prm, 1), "name"), "event");
    cJSON_Delete(j);
}

static void read_request_filters_by_our_id_tag(void **state)
{
    const char *ids[] = {"a\"b", "c"};
    cJSON *j = parse(ke_gql_read_request(ids, 2, 12, 1)), *v, *root, *f, *in;

    (void)state;
    assert_non_null(strstr(str_at(j, "query"), "readPipelines(limit: $l, filter: $f)"));
    assert_non_null(strstr(str_at(j, "query"), "taskException"));
    v = cJSON_GetObjectItemCaseSensitive(j, "variables");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(v, "l")->valueint, 12);
    root = cJSON_Parse(str_at(v, "f"));
    assert_non_null(root);
    f = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "tags"),
                                         "$elemMatch");
    assert_string_equal(str_at(f, "key"), KE_GQL_ID_TAG);
    in = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "value"), "$in");
    assert_int_equal(cJSON_GetArraySize(in), 2);
    assert_string_equal(cJSON_GetArrayItem(in, 0)->valuestring, "a\"b");
    cJSON_Delete(root);
    cJSON_Delete(j);
}

static ke_gql_class answer(long status, const char *body, ke_gql_answer *a)
{
    ke_gql_answer_read(a, status, "connect refused", body, body != NULL ? strlen(body) : 0);
    return a->cls;
}

static void partial_data_errors_go_to_their_alias(void **state)
{
    const char *body =
        "{\"data\": {\"c0\": {\"id\": \"r0\"}, \"c1\": null}, \"errors\": [{\"message\": "
        "\"Pipeline nope does not exist in the project.\", \"path\": [\"c1\"]}]}";
    ke_gql_answer a;
    const void *obj;
    const char *msg;

    (void)state;
    assert_int_equal(answer(200, body, &a), KE_GQL_OK);
    assert_int_equal(ke_gql_alias(&a, "c0", &obj, &msg), KE_GQL_OK);
    assert_string_equal(ke_gql_str(obj, "id"), "r0");
    assert_int_equal(ke_gql_alias(&a, "c1", &obj, &msg), KE_GQL_PERMANENT);
    assert_string_equal(msg, "Pipeline nope does not exist in the project.");
    assert_int_equal(ke_gql_alias(&a, "c2", &obj, &msg), KE_GQL_UNKNOWN);
    ke_gql_answer_release(&a);
    /* data null because a later alias failed: the others are unknown, not failed */
    assert_int_equal(answer(200,
                            "{\"data\": null, \"errors\": [{\"message\": \"bad\", \"path\": "
                            "[\"c1\", \"id\"]}]}",
                            &a),
                     KE_GQL_OK);
    assert_int_equal(ke_gql_alias(&a, "c0", &obj, &msg), KE_GQL_UNKNOWN);
    assert_int_equal(ke_gql_alias(&a, "c1", &obj, &msg), KE_GQL_PERMANENT);
    ke_gql_answer_release(&a);
}

static void classification_retries_transport_http_and_timeouts(void **state)
{
    ke_gql_answer a;
    const void *obj;
    const char *msg;

    (void)state;
    assert_int_equal(answer(0, NULL, &a), KE_GQL_RETRY);
    assert_non_null(strstr(a.msg, "connect refused"));
    ke_gql_answer_release(&a);
    assert_int_equal(answer(503, "{\"detail\": \"x\"}", &a), KE_GQL_RETRY);
    ke_gql_answer_release(&a);
    assert_int_equal(answer(502, "{\"errors\": [{\"message\": \"m\"}]}", &a), KE_GQL_RETRY);
    ke_gql_answer_release(&a);
    assert_int_equal(answer(429, "", &a), KE_GQL_RETRY);
    ke_gql_answer_release(&a);
    assert_int_equal(answer(408, "{}", &a), KE_GQL_RETRY);
    ke_gql_answer_release(&a);
    assert_int_equal(answer(401, "Unauthorized", &a), KE_GQL_RETRY);
    ke_gql_answer_release(&a);
    /* A body limit (a proxy's HTML page, or JSON errors): the request was not read. */
    assert_int_equal(answer(413, "<html>413 Request Entity Too Large</html>", &a),
                     KE_GQL_TOO_LARGE);
    assert_non_null(strstr(a.msg, "too large (HTTP 413)"));
    ke_gql_answer_release(&a);
    assert_int_equal(answer(413, "{\"errors\": [{\"message\": \"big\"}]}", &a), KE_GQL_TOO_LARGE);
    ke_gql_answer_release(&a);
    assert_int_equal(answer(400, "{\"errors\": [{\"message\": \"Syntax Error: x\"}]}", &a),
                     KE_GQL_PERMANENT);
    assert_string_equal(a.msg, "Syntax Error: x");
    ke_gql_answer_release(&a);
    assert_int_equal(answer(200,
                            "{\"data\": null, \"errors\": [{\"message\": \"connection to the "
                            "database timed out\"}]}",
                            &a),
                     KE_GQL_RETRY);
    assert_int_equal(ke_gql_alias(&a, "c0", &obj, &msg), KE_GQL_RETRY);
    ke_gql_answer_release(&a);
    assert_int_equal(answer(200,
                            "{\"data\": null, \"errors\": [{\"message\": \"Service Unavailable\", "
                            "\"path\": [\"u0\"]}]}",
                            &a),
                     KE_GQL_OK);
    assert_int_equal(ke_gql_alias(&a, "u0", &obj, &msg), KE_GQL_RETRY);
    ke_gql_answer_release(&a);
    assert_int_equal(ke_gql_classify_message("Read time-out"), KE_GQL_RETRY);
    assert_int_equal(ke_gql_classify_message("invalid input"), KE_GQL_PERMANENT);
    assert_int_equal(ke_gql_classify_message(NULL), KE_GQL_PERMANENT);
}

static void wrong_shapes_never_crash(void **state)
{
    static const char *const bodies[] = {
        "",
        "not json",
        "[]",
        "null",
        "{\"data\": 3}",
        "{\"data\": [], \"errors\": {}}",
        "{\"errors\": []}",
        "{\"errors\": [3, null, {\"path\": 7}, {\"path\": [1]}, {\"message\": 5}]}",
        "{\"data\": {\"readPipelines\": 5}}",
        "{\"data\": {\"readPipelines\": {\"pipelines\": [1, {\"tags\": 3}, {\"id\": 5, \"tags\": "
        "[{\"key\": \"kedro_events_id\", \"value\": 1}], \"status\": {}}]}}}",
        "{\"data\": {\"c0\": {\"id\": 7, \"status\": [1, {\"state\": null}]}}}",
        "{\"data\": {\"c0\": [1,2]}}",
        "{\"data\": {\"readPipelines\": {\"pipelines\": [{\"id\": \"x\", \"tags\": [{\"key\": "
        "\"kedro_events_id\", \"value\": \"a\"}], \"status\": [{\"state\": 1, \"startedAt\": "
        "5}]}], \"pageMeta\": []}}}",
        "{\"data\": {\"c0\": null}}}}}",
    };
    const void *obj, *ps, *p, *st;
    const char *msg, *state_name;
    char *s;
    int64_t t;
    int more;
    size_t i;
    ke_gql_answer a;

    (void)state;
    for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        answer(200, bodies[i], &a);
        ke_gql_alias(&a, "c0", &obj, &msg);
        if (obj != NULL) {
            (void)ke_gql_str(obj, "id");
            st = ke_gql_last_status(obj, &state_name);
            s = ke_gql_status_json(st);
            free(s);
        }
        ps = ke_gql_read_pipelines(&a, &more);
        p = ke_gql_find(ps, "a", NULL);
        st = ke_gql_last_status(p, &state_name);
        assert_non_null(state_name);
        ke_gql_parse_time(ke_gql_str(st, "startedAt"), &t);
        free(ke_gql_pipeline_json(p));
        free(ke_gql_status_error(st));
        ke_gql_answer_release(&a);
    }
    answer(200, "{\"data\": {\"readPipelines\": 5}}", &a);
    assert_null(ke_gql_read_pipelines(&a, &more));
    ke_gql_answer_release(&a);
    assert_int_equal(answer(200, "{\"errors\": []}", &a), KE_GQL_RETRY);
    ke_gql_answer_release(&a);
    assert_int_equal(answer(200, "nope", &a), KE_GQL_RETRY);
    ke_gql_answer_release(&a);
}

static void read_answer_finds_pipelines_and_maps_states(void **state)
{
    const char *body =
        "{\"data\": {\"readPipelines\": {\"pipelines\": ["
        "{\"id\": \"r1\", \"tags\": [{\"key\": \"kedro_events_id\", \"value\": \"a\"}], "
        "\"describe\": \"#### Pipeline execution order ####\", \"projectVersion\": \"0.19\", "
        "\"status\": [{\"state\": \"READY\"}, {\"state\": \"FAILURE\", \"taskException\": "
        "\"ValueError('boom')\", \"taskTraceback\": \"Traceback:\\n  l1\\n  l2\\nValueError: "
        "boom\\n\", \"startedAt\": \"2026-12-02T04:05:06.123456\", \"taskId\": \"t\"}]},"
        "{\"id\": \"r2\", \"tags\": [{\"key\": \"kedro_events_id\", \"value\": \"b\"}], "
        "\"status\": [{\"state\": \"STAGED\"}]}], \"pageMeta\": {\"nextCursor\": \"abc\"}}}}";
    const void *ps, *p, *st;
    const char *sn;
    ke_gql_answer a;
    cJSON *j;
    char *s;
    int more;

    (void)state;
    assert_int_equal(answer(200, body, &a), KE_GQL_OK);
    ps = ke_gql_read_pipelines(&a, &more);
    assert_non_null(ps);
    assert_int_equal(more, 1);
    assert_null(ke_gql_find(ps, "c", NULL));
    assert_null(ke_gql_find(ps, "a", "r2"));
    p = ke_gql_find(ps, "a", "r1");
    assert_non_null(p);
    st = ke_gql_last_status(p, &sn);
    assert_string_equal(sn, "FAILURE");
    assert_int_equal(ke_gql_state(sn), KE_STATE_FAILURE);
    s = ke_gql_status_error(st);
    assert_string_equal(s, "ValueError('boom')\nTraceback:\n  l1\n  l2\nValueError: boom");
    free(s);
    j = parse(ke_gql_status_json(st));
    assert_string_equal(str_at(j, "task_id"), "t");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "session")));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "task_result"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "filtered_nodes"));
    cJSON_Delete(j);
    j = parse(ke_gql_pipeline_json(p));
    assert_string_equal(str_at(j, "project_version"), "0.19");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "kedro_graphql_version")));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "data_catalog"));
    cJSON_Delete(j);
    /* r2's answer selected none of the pipeline's own keys: nothing to record for them. */
    assert_null(ke_gql_pipeline_json(ke_gql_find(ps, "b", NULL)));
    st = ke_gql_last_status(ke_gql_find(ps, "b", NULL), &sn);
    assert_string_equal(sn, "STAGED");
    ke_gql_answer_release(&a);
    assert_int_equal(ke_gql_state("REVOKED"), KE_STATE_ABORTED);
    assert_int_equal(ke_gql_state("RECIEVED"), KE_STATE_READY);
    assert_int_equal(ke_gql_state("PENDING"), KE_STATE_READY);
    assert_int_equal(ke_gql_state("STARTED"), KE_STATE_STARTED);
    assert_int_equal(ke_gql_state("what"), KE_STATE_UNSPECIFIED);
}

static void times_parse_as_utf_without_offset(void **state)
{
    int64_t t;

    (void)state;
    assert_int_equal(ke_gql_parse_time("1970-01-01T00:00:01.5", &t), 0);
    assert_true(t == 1500000);
    assert_int_equal(ke_gql_parse_time("2026-12-02T04:05:06.123456", &t), 0);
    assert_true(t == 1796184306123456LL);
    assert_int_equal(ke_gql_parse_time("2026-12-02T05:05:06.123456+01:00", &t), 0);
    assert_true(t == 1796184306123456LL);
    assert_int_equal(ke_gql_parse_time("2026-12-02T04:05:06Z", &t), 0);
    assert_true(t == 1796184306000000LL);
    assert_int_equal(ke_gql_parse_time("2026-12-02", &t), -1);
    assert_int_equal(ke_gql_parse_time("2026-13-02T04:05:06", &t), -1);
    assert_int_equal(ke_gql_parse_time("2026-12-02T04:05:06x", &t), -1);
    assert_int_equal(ke_gql_parse_time(NULL, &t), -1);
}

static void headers_are_checked_and_files_parsed(void **state)
{
    char msg[200], **h;
    size_t n;
    char big[KE_GQL_HEADER_MAX + 10];

    (void)state;
    assert_int_equal(ke_gql_header_check("Authorization: Bearer x", 23, msg, sizeof msg), 0);
    assert_int_equal(ke_gql_header_check("Bad Name: x", 11, msg, sizeof msg), -1);
    assert_int_equal(ke_gql_header_check("NoColon", 7, msg, sizeof msg), -1);
    assert_int_equal(ke_gql_header_check("X: a\rb", 6, msg, sizeof msg), -1);
    assert_null(strstr(msg, "a\rb"));
    assert_non_null(strstr(msg, "CR, LF or NUL"));
    assert_int_equal(ke_gql_header_check("X-Empty: \t ", 11, msg, sizeof msg), -1);
    assert_string_equal(msg, "header X-Empty has an empty value");
    assert_int_equal(ke_gql_header_check("X:v", 3, msg, sizeof msg), 0);
    memset(big, 'a', sizeof big);
    memcpy(big, "X: ", 3);
    assert_int_equal(ke_gql_header_check(big, sizeof big, msg, sizeof msg), -1);
    assert_int_equal(
        ke_gql_headers_parse("# c\n\nX-A:  one \r\nX-B:two\n", &h, &n, msg, sizeof msg), 0);
    assert_int_equal(n, 2);
    assert_string_equal(h[0], "X-A: one");
    assert_string_equal(h[1], "X-B: two");
    ke_gql_headers_free(h, n);
    assert_int_equal(ke_gql_headers_parse("X-A: 1\nbad line\n", &h, &n, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "line 2"));
    assert_null(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_request_sends_values_as_variables_without_id),
        cmocka_unit_test(query_text_depends_only_on_batch_size),
        cmocka_unit_test(update_request_sends_ready_with_remote_id_first_in_our_order),
        cmocka_unit_test(read_request_filters_by_our_id_tag),
        cmocka_unit_test(partial_data_errors_go_to_their_alias),
        cmocka_unit_test(classification_retries_transport_http_and_timeouts),
        cmocka_unit_test(wrong_shapes_never_crash),
        cmocka_unit_test(read_answer_finds_pipelines_and_maps_states),
        cmocka_unit_test(times_parse_as_utf_without_offset),
        cmocka_unit_test(headers_are_checked_and_files_parsed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
