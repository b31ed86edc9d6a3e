/* fuzz_graphql_answer.c -- libFuzzer target: the kedro-graphql forwarder's reading of answers
 * (server/graphql.c): whatever body comes back, under any HTTP status, every accessor the
 * forwarder and its mirror use must neither crash nor leak, and classify it as one of the
 * four outcomes. The first byte picks the status; the headers-file parser gets the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graphql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = {200, 200, 200, 400, 401, 408, 429, 500, 503, 0};

static void read_one(const ke_gql_answer *a)
{
    static const char *const aliases[] = {"c0", "c1", "u0", "u31"};
    const void *obj, *ps, *p, *st;
    const char *msg, *state;
    int64_t t;
    int more;
    size_t i;

    for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (ke_gql_alias(a, aliases[i], &obj, &msg) > KE_GQL_UNKNOWN || msg == NULL)
            abort();
        st = ke_gql_last_status(obj, &state);
        (void)ke_gql_str(obj, "id");
        free(ke_gql_status_json(st));
        free(ke_gql_pipeline_json(obj));
    }
    ps = ke_gql_read_pipelines(a, &more);
    p = ke_gql_find(ps, "a", NULL);
    (void)ke_gql_find(ps, "a", "b");
    st = ke_gql_last_status(p, &state);
    (void)ke_gql_state(state);
    (void)ke_gql_parse_time(ke_gql_str(st, "startedAt"), &t);
    free(ke_gql_status_error(st));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), msg[300], **h = NULL;
    ke_gql_answer a;
    size_t n = 0;

    if (text == NULL || size == 0) {
        free(text);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    ke_gql_answer_read(&a, statuses[data[0] % 10], "transport", text + 1, size - 1);
    read_one(&a);
    ke_gql_answer_release(&a);
    (void)ke_gql_parse_time(text + 1, &(int64_t){0});
    if (ke_gql_headers_parse(text + 1, &h, &n, msg, sizeof msg) == 0)
        ke_gql_headers_free(h, n);
    free(text);
    return 0;
}
