/* test_router.c -- unit tests of the routing table: which routes a (source, type) pair
 * starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "router.h"

/* A router over the given JSON configuration. */
static ke_router *router_from(const char *json)
{
    ke_config *cfg = NULL;
    ke_router *r = NULL;
    ke_error err;

    ke_error_clear(&err);
    if (ke_config_parse(json, strlen(json), "test", &cfg, &err) != KE_OK)
        fail_msg("parse failed: %s", err.msg);
    if (ke_router_new(cfg, &r, &err) != KE_OK)
        fail_msg("router failed: %s", err.msg);
    assert_non_null(r);
    return r;
}

/* Asserts that (source, type) starts exactly the listed pipelines (NULL-terminated), in
 * that order. */
static void assert_routes(const ke_router *r, const char *source, const char *type, ...)
{
    const ke_route *const *routes;
    const char *name;
    size_t n, i = 0;
    va_list ap;

    routes = ke_router_match(r, source, type, &n);
    va_start(ap, type);
    while ((name = va_arg(ap, const char *)) != NULL) {
        if (i >= n)
            fail_msg("(%s, %s): %zu routes, expected %s too", source, type, n, name);
        assert_string_equal(routes[i]->pipeline, name);
        assert_string_equal(routes[i]->source, source);
        assert_string_equal(routes[i]->type, type);
        i++;
    }
    va_end(ap);
    assert_int_equal(n, i);
    if (n == 0)
        assert_null(routes);
}

/* A configuration of `distinct` entries p<i> with source s<i>, followed by `shared`
 * entries q<i> that all share the pair ("shared", "t"). Caller frees. */
static char *generated(size_t distinct, size_t shared)
{
    char *json = malloc((distinct + shared) * 56 + 3), *o = json;
    size_t i;

    assert_non_null(json);
    *o++ = '{';
    for (i = 0; i < distinct; i++)
        o += sprintf(o, "%s\"p%zu\":{\"source\":\"s%zu\",\"type\":\"t%zu\"}", i ? "," : "", i, i,
                     i % 7);
    for (i = 0; i < shared; i++)
        o += sprintf(o, "%s\"q%zu\":{\"source\":\"shared\",\"type\":\"t\"}",
                     i || distinct ? "," : "", i);
    strcpy(o, "}");
    return json;
}

static void router_empty_configuration_matches_nothing(void **state)
{
    ke_router *r = router_from("{}");

    (void)state;
    assert_routes(r, "example.com", "com.example.event", NULL);
    assert_routes(r, "", "", NULL);
    assert_int_equal(ke_router_config(r)->n_routes, 0);
    ke_router_free(r);
}

static void router_matches_one_pipeline(void **state)
{
    ke_router *r = router_from(
        "{\"event00\": {\"source\": \"example.com\", \"type\": \"com.example.event\"}}");

    (void)state;
    assert_routes(r, "example.com", "com.example.event", "event00", NULL);
    ke_router_free(r);
}

static void router_returns_null_when_nothing_matches(void **state)
{
    ke_router *r = router_from(
        "{\"event00\": {\"source\": \"example.com\", \"type\": \"com.example.event\"}}");

    (void)state;
    assert_routes(r, "example.org", "com.example.event", NULL);
    assert_routes(r, "example.com", "com.example.other", NULL);
    assert_routes(r, "example.com", "", NULL);
    assert_routes(r, "com.example.event", "example.com", NULL); /* swapped */
    assert_routes(r, "example.com ", "com.example.event", NULL);
    ke_router_free(r);
}

static void router_matches_two_pipelines_for_one_pair(void **state)
{
    ke_router *r = router_from("{\"second\": {\"source\": \"s\", \"type\": \"t\"},"
                               " \"other\": {\"source\": \"s\", \"type\": \"u\"},"
                               " \"first\": {\"source\": \"s\", \"type\": \"t\"}}");

    (void)state;
    /* Both start, in configuration order. */
    assert_routes(r, "s", "t", "second", "first", NULL);
    assert_routes(r, "s", "u", "other", NULL);
    ke_router_free(r);
}

static void router_tells_types_of_one_source_apart(void **state)
{
    ke_router *r =
        router_from("{\"created\": {\"source\": \"s\", \"type\": \"com.x.created\"},"
                    " \"deleted\": {\"source\": \"s\", \"type\": \"com.x.deleted\"},"
                    " \"elsewhere\": {\"source\": \"s2\", \"type\": \"com.x.created\"}}");

    (void)state;
    assert_routes(r, "s", "com.x.created", "created", NULL);
    assert_routes(r, "s", "com.x.deleted", "deleted", NULL);
    assert_routes(r, "s2", "com.x.created", "elsewhere", NULL);
    assert_routes(r, "s2", "com.x.deleted", NULL);
    ke_router_free(r);
}

static void router_is_case_sensitive(void **state)
{
    ke_router *r = router_from(
        "{\"event00\": {\"source\": \"Example.com\", \"type\": \"com.example.Event\"}}");

    (void)state;
    assert_routes(r, "Example.com", "com.example.Event", "event00", NULL);
    assert_routes(r, "example.com", "com.example.Event", NULL);
    assert_routes(r, "Example.com", "com.example.event", NULL);
    assert_routes(r, "EXAMPLE.COM", "COM.EXAMPLE.EVENT", NULL);
    ke_router_free(r);
}

static void router_keeps_source_and_type_apart(void **state)
{
    ke_router *r = router_from("{\"a\": {\"source\": \"ab\", \"type\": \"c\"},"
                               " \"b\": {\"source\": \"a\", \"type\": \"bc\"}}");

    (void)state;
    assert_routes(r, "ab", "c", "a", NULL);
    assert_routes(r, "a", "bc", "b", NULL);
    assert_routes(r, "abc", "", NULL);
    ke_router_free(r);
}

static void router_matches_non_ascii_exactly(void **state)
{
    ke_router *r =
        router_from("{\"e\": {\"source\": \"urn:caf\\u00e9\", \"type\": \"t\\ud83d\\ude00\"}}");

    (void)state;
    assert_routes(r, "urn:caf\xc3\xa9", "t\xf0\x9f\x98\x80", "e", NULL);
    assert_routes(r, "urn:cafe\xcc\x81", "t\xf0\x9f\x98\x80", NULL); /* other normal form */
    ke_router_free(r);
}

static void router_finds_all_of_10000_routes(void **state)
{
    char *json = generated(KE_CONFIG_MAX_ROUTES, 0);
    ke_router *r = router_from(json);
    char source[32], type[32], name[32];
    size_t i;

    (void)state;
    for (i = 0; i < KE_CONFIG_MAX_ROUTES; i++) {
        snprintf(source, sizeof source, "s%zu", i);
        snprintf(type, sizeof type, "t%zu", i % 7);
        snprintf(name, sizeof name, "p%zu", i);
        assert_routes(r, source, type, name, NULL);
        snprintf(type, sizeof type, "t%zu", (i + 1) % 7);
        assert_routes(r, source, type, NULL);
    }
    snprintf(source, sizeof source, "s%d", KE_CONFIG_MAX_ROUTES);
    assert_routes(r, source, "t0", NULL);
    ke_router_free(r);
    free(json);
}

static void router_gives_every_pipeline_of_a_crowded_pair(void **state)
{
    char *json = generated(3000, 5000);
    ke_router *r = router_from(json);
    const ke_route *const *routes;
    char name[32];
    size_t n, i;

    (void)state;
    routes = ke_router_match(r, "shared", "t", &n);
    assert_int_equal(n, 5000);
    for (i = 0; i < n; i++) {
        snprintf(name, sizeof name, "q%zu", i);
        assert_string_equal(routes[i]->pipeline, name);
    }
    assert_routes(r, "s2999", "t3", "p2999", NULL);
    ke_router_free(r);
    free(json);
}

static void router_exposes_its_configuration(void **state)
{
    ke_router *r = router_from("{\"e\": {\"source\": \"s\", \"type\": \"t\", \"parameters\": "
                               "{\"p\": 1}, \"tags\": {\"k\": \"v\"}}}");
    const ke_route *const *routes;
    const ke_config *cfg = ke_router_config(r);
    size_t n;

    (void)state;
    assert_string_equal(cfg->origin, "test");
    assert_int_equal(cfg->n_routes, 1);
    routes = ke_router_match(r, "s", "t", &n);
    assert_int_equal(n, 1);
    assert_ptr_equal(routes[0], &cfg->routes[0]); /* routes are the configuration's own */
    assert_string_equal(routes[0]->params[0].value, "1");
    assert_string_equal(routes[0]->tags[0].key, "k");
    ke_router_free(r);
}

static void router_tolerates_null_arguments(void **state)
{
    ke_router *r = router_from("{\"e\": {\"source\": \"s\", \"type\": \"t\"}}");
    ke_error err;
    size_t n = 99;

    (void)state;
    assert_null(ke_router_match(r, NULL, "t", &n));
    assert_int_equal(n, 0);
    n = 99;
    assert_null(ke_router_match(r, "s", NULL, &n));
    assert_int_equal(n, 0);
    n = 99;
    assert_null(ke_router_match(NULL, "s", "t", &n));
    assert_int_equal(n, 0);
    assert_null(ke_router_config(NULL));
    ke_router_free(r);
    ke_router_free(NULL);
    ke_error_clear(&err);
    r = (ke_router *)1;
    assert_int_equal(ke_router_new(NULL, &r, &err), KE_EINVAL);
    assert_null(r);
}

/* A reload swaps the router: a holder keeps the one it took (still matching, not freed: ASan
 * would report a use after free) until it lets go; later acquirers get the new one. */
static void routes_swap_keeps_a_held_router_until_its_last_user_lets_go(void **state)
{
    ke_router *held, *now;
    ke_routes *rs = NULL;
    ke_error err;

    (void)state;
    ke_error_clear(&err);
    assert_int_equal(ke_routes_new(NULL, &rs, &err), KE_OK);
    assert_null(ke_routes_acquire(rs)); /* dispatch disabled */
    ke_routes_swap(rs, router_from("{\"old\": {\"source\": \"s\", \"type\": \"t\"}}"));
    held = ke_routes_acquire(rs);
    assert_non_null(held);
    ke_routes_swap(rs, router_from("{\"new\": {\"source\": \"s\", \"type\": \"t\"}}"));
    assert_routes(held, "s", "t", "old", NULL);
    now = ke_routes_acquire(rs);
    assert_routes(now, "s", "t", "new", NULL);
    ke_router_free(now);
    ke_router_free(held); /* the last user of "old": freed here */
    ke_routes_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(router_empty_configuration_matches_nothing),
        cmocka_unit_test(router_matches_one_pipeline),
        cmocka_unit_test(router_returns_null_when_nothing_matches),
        cmocka_unit_test(router_matches_two_pipelines_for_one_pair),
        cmocka_unit_test(router_tells_types_of_one_source_apart),
        cmocka_unit_test(router_is_case_sensitive),
        cmocka_unit_test(router_keeps_source_and_type_apart),
        cmocka_unit_test(router_matches_non_ascii_exactly),
        cmocka_unit_test(router_finds_all_of_10000_routes),
        cmocka_unit_test(router_gives_every_pipeline_of_a_crowded_pair),
        cmocka_unit_test(router_exposes_its_configuration),
        cmocka_unit_test(router_tolerates_null_arguments),
        cmocka_unit_test(routes_swap_keeps_a_held_router_until_its_last_user_lets_go),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
