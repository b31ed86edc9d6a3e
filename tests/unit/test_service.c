/* test_service.c -- unit tests of server/service.c's mapping of pipeline records to the
 * kedro.events.v1 messages (the test includes service.c to reach pb_pipeline). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include "../../server/service.c"

/* p as the Pipeline message kedro-eventd answers with: built, packed and unpacked again, as a
 * client reads it. Free with kedro__events__v1__pipeline__free_unpacked. */
static Kedro__Events__V1__Pipeline *answer(const ke_pipeline *p)
{
    pool pl = {0};
    PbPipeline *m = pb_pipeline(&pl, p);
    Kedro__Events__V1__Pipeline *back;
    uint8_t *buf;
    size_t len;

    assert_non_null(m);
    len = kedro__events__v1__pipeline__get_packed_size(m);
    buf = malloc(len ? len : 1);
    assert_non_null(buf);
    kedro__events__v1__pipeline__pack(m, buf);
    back = kedro__events__v1__pipeline__unpack(NULL, len, buf);
    assert_non_null(back);
    free(buf);
    pool_release(&pl);
    return back;
}

static void pipeline_answer_carries_kedro_graphql_id_and_json_of_a_forwarded_run(void **state)
{
    ke_status st[2] = {
        {.state = KE_STATE_READY, .changed_at = 1, .runner = "kedro-graphql"},
        {.state = KE_STATE_STARTED,
         .changed_at = 2,
         .runner = "kedro-graphql",
         .remote_json = "{\"task_id\":\"t-1\",\"session\":\"s-1\"}"},
    };
    ke_pipeline p = {.id = "6f1b0c1e-0000-4000-8000-000000000001",
                     .name = "example00",
                     .status = st,
                     .n_status = 2,
                     .created_at = 1,
                     .remote_id = "65a1b2c3d4e5f60718293a4b",
                     .remote_json = "{\"kedro_graphql_version\":\"1.5.1\"}"};
    Kedro__Events__V1__Pipeline *m;

    (void)state;
    m = answer(&p);
    assert_string_equal(m->kedro_graphql_id, "65a1b2c3d4e5f60718293a4b");
    assert_string_equal(m->kedro_graphql_json, "{\"kedro_graphql_version\":\"1.5.1\"}");
    assert_int_equal(m->n_status, 2);
    assert_string_equal(m->status[0]->kedro_graphql_json, "");
    assert_string_equal(m->status[1]->kedro_graphql_json,
                        "{\"task_id\":\"t-1\",\"session\":\"s-1\"}");
    kedro__events__v1__pipeline__free_unpacked(m, NULL);
}

static void pipeline_answer_of_a_local_run_has_empty_kedro_graphql_fields(void **state)
{
    ke_status st = {.state = KE_STATE_SUCCESS, .changed_at = 1, .runner = "local"};
    ke_pipeline p = {.id = "6f1b0c1e-0000-4000-8000-000000000002",
                     .name = "example00",
                     .status = &st,
                     .n_status = 1,
                     .created_at = 1};
    Kedro__Events__V1__Pipeline *m;

    (void)state;
    m = answer(&p);
    assert_string_equal(m->kedro_graphql_id, "");
    assert_string_equal(m->kedro_graphql_json, "");
    assert_string_equal(m->status[0]->kedro_graphql_json, "");
    kedro__events__v1__pipeline__free_unpacked(m, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipeline_answer_carries_kedro_graphql_id_and_json_of_a_forwarded_run),
        cmocka_unit_test(pipeline_answer_of_a_local_run_has_empty_kedro_graphql_fields),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
