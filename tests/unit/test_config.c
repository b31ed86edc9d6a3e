/* test_config.c -- unit tests of the event configuration: JSON validation and where the
 * configuration is taken from (flag, environment, .env file). The .env reader itself is
 * tested in test_dotenv.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "config.c" /* reaches var_names and VAR_COUNT */

/* ---- helpers */

/* Warnings received through the callback. */
typedef struct warnings {
    int n;           /* how many */
    char text[2048]; /* all of them, one per line */
} warnings;

static void capture(void *ud, const char *msg)
{
    warnings *w = ud;

    w->n++;
    strncat(w->text, msg, sizeof w->text - strlen(w->text) - 2);
    strcat(w->text, "\n");
}

/* Fails the test unless hay contains needle. */
static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

static ke_config *parse_ok(const char *json)
{
    ke_config *cfg = NULL;
    ke_error err;

    ke_error_clear(&err);
    if (ke_config_parse(json, strlen(json), "test", &cfg, &err) != KE_OK)
        fail_msg("parse failed: %s", err.msg);
    assert_non_null(cfg);
    return cfg;
}

/* Asserts that json is refused with KE_ECONFIG and a message naming the origin and holding
 * every string of the NULL-terminated list. */
static void parse_fails(const char *json, ...)
{
    ke_config *cfg = (ke_config *)1;
    const char *needle;
    ke_error err;
    va_list ap;

    ke_error_clear(&err);
    assert_int_equal(ke_config_parse(json, strlen(json), "test", &cfg, &err), KE_ECONFIG);
    assert_int_equal(err.code, KE_ECONFIG);
    assert_null(cfg);
    assert_contains(err.msg, "test");
    va_start(ap, json);
    while ((needle = va_arg(ap, const char *)) != NULL)
        assert_contains(err.msg, needle);
    va_end(ap);
}

/* An entry with the given extra members, e.g. "\"parameters\": {...}". */
static void parse_entry_fails(const char *extra, const char *needle1, const char *needle2)
{
    char json[4096];

    snprintf(json, sizeof json, "{\"event00\": {\"source\": \"s\", \"type\": \"t\", %s}}", extra);
    parse_fails(json, "entry \"event00\"", needle1, needle2, NULL);
}

/* Writes text to a new temporary file whose name goes to path (>= 32 bytes). */
static void write_temp(char *path, const char *text)
{
    int fd;

    strcpy(path, "/tmp/ke_test_config_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static const ke_kv *find_kv(const ke_kv *kvs, size_t n, const char *key)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(kvs[i].key, key) == 0)
            return &kvs[i];
    fail_msg("no %s", key);
    return NULL;
}

static void assert_param(const ke_route *r, const char *key, const char *value, const char *type)
{
    const ke_kv *kv = find_kv(r->params, r->n_params, key);

    assert_string_equal(kv->value, value);
    assert_string_equal(kv->type, type);
}

/* A configuration of n entries "p<i>": {"source": "s<i>", "type": "t"}; caller frees. */
static char *many_entries(size_t n)
{
    char *json = malloc(n * 48 + 3), *o = json;
    size_t i;

    assert_non_null(json);
    *o++ = '{';
    for (i = 0; i < n; i++)
        o += sprintf(o, "%s\"p%zu\":{\"source\":\"s%zu\",\"type\":\"t\"}", i ? "," : "", i, i);
    strcpy(o, "}");
    return json;
}

/* A "parameters" or "tags" member with n string values named k<i>; caller frees. */
static char *many_extras(const char *member, size_t n)
{
    char *s = malloc(n * 24 + 32), *o = s;
    size_t i;

    assert_non_null(s);
    o += sprintf(o, "\"%s\": {", member);
    for (i = 0; i < n; i++)
        o += sprintf(o, "%s\"k%zu\": \"v\"", i ? "," : "", i);
    strcpy(o, "}");
    return s;
}

/* The three variables as the process had them, restored at the end. */
static char *saved_env[VAR_COUNT];

static void unset_vars(void)
{
    int v;

    for (v = 0; v < VAR_COUNT; v++)
        unsetenv(var_names[v]);
}

static int save_env(void **state)
{
    int v;

    (void)state;
    for (v = 0; v < VAR_COUNT; v++)
        saved_env[v] = getenv(var_names[v]) ? strdup(getenv(var_names[v])) : NULL;
    unset_vars();
    return 0;
}

static int restore_env(void **state)
{
    int v;

    (void)state;
    for (v = 0; v < VAR_COUNT; v++) {
        if (saved_env[v] != NULL)
            setenv(var_names[v], saved_env[v], 1);
        free(saved_env[v]);
    }
    return 0;
}

/* Each load test starts and ends with none of the variables set. */
static int clean_env(void **state)
{
    (void)state;
    unset_vars();
    return 0;
}

#define ENTRY "{\"event00\": {\"source\": \"example.com\", \"type\": \"com.example.event\"}}"
#define ENTRY_B "{\"b\": {\"source\": \"s\", \"type\": \"t\"}}"
#define NO_DOTENV "/nonexistent/ke-test/.env"

/* Runs ke_config_load, expecting success; returns the configuration (may be NULL). */
static ke_config *load_ok(const char *flag, const char *dotenv_path, warnings *w)
{
    ke_config *cfg = (ke_config *)1;
    ke_error err;

    ke_error_clear(&err);
    if (ke_config_load(flag, dotenv_path, capture, w, &cfg, &err) != KE_OK)
        fail_msg("load failed: %s", err.msg);
    return cfg;
}

/* Runs ke_config_load, expecting KE_ECONFIG with a message holding needle1 and needle2. */
static void load_fails(const char *flag, const char *dotenv_path, const char *needle1,
                       const char *needle2)
{
    ke_config *cfg = (ke_config *)1;
    warnings w = {0};
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_config_load(flag, dotenv_path, capture, &w, &cfg, &err), KE_ECONFIG);
    assert_null(cfg);
    assert_contains(err.msg, needle1);
    assert_contains(err.msg, needle2);
}

/* ---- parsing */

static void parse_accepts_minimal_entry(void **state)
{
    ke_config *cfg = parse_ok(ENTRY);

    (void)state;
    assert_int_equal(cfg->n_routes, 1);
    assert_string_equal(cfg->origin, "test");
    assert_string_equal(cfg->routes[0].pipeline, "event00");
    assert_string_equal(cfg->routes[0].source, "example.com");
    assert_string_equal(cfg->routes[0].type, "com.example.event");
    assert_int_equal(cfg->routes[0].n_params, 0);
    assert_null(cfg->routes[0].params);
    assert_int_equal(cfg->routes[0].n_tags, 0);
    assert_null(cfg->routes[0].tags);
    ke_config_free(cfg);
}

static void parse_keeps_json_object_order(void **state)
{
    ke_config *cfg = parse_ok("{\"c\": {\"source\": \"s\", \"type\": \"t\"},"
                              " \"a\": {\"type\": \"t2\", \"source\": \"s2\"},"
                              " \"b\": {\"source\": \"s\", \"type\": \"t\"}}");

    (void)state;
    assert_int_equal(cfg->n_routes, 3);
    assert_string_equal(cfg->routes[0].pipeline, "c");
    assert_string_equal(cfg->routes[1].pipeline, "a");
    assert_string_equal(cfg->routes[1].source, "s2");
    assert_string_equal(cfg->routes[1].type, "t2");
    assert_string_equal(cfg->routes[2].pipeline, "b");
    ke_config_free(cfg);
}

static void parse_accepts_empty_object(void **state)
{
    ke_config *cfg = parse_ok(" {\n} \n");

    (void)state;
    assert_int_equal(cfg->n_routes, 0);
    assert_null(cfg->routes);
    ke_config_free(cfg);
}

static void parse_accepts_utf8_bom_and_unicode(void **state)
{
    ke_config *cfg =
        parse_ok("\xEF\xBB\xBF{\"ev\": {\"source\": \"\\u00e9\\ud83d\\ude00\", \"type\": "
                 "\"t\\u2028\"}}");

    (void)state;
    assert_string_equal(cfg->routes[0].pipeline, "ev");
    assert_string_equal(cfg->routes[0].source, "\xc3\xa9\xf0\x9f\x98\x80");
    assert_string_equal(cfg->routes[0].type, "t\xe2\x80\xa8");
    ke_config_free(cfg);
}

static void parse_reports_json_syntax_error_line_and_column(void **state)
{
    (void)state;
    parse_fails("{\n  \"event00\": {\"source\" \"x\"}\n}", "not valid JSON at line 2, column 24",
                NULL);
    parse_fails("{\"event00\": {\"source\": tru}}", "line 1, column 24", NULL);
    /* Columns count characters, not bytes. */
    parse_fails("{\"\xc3\xa9\": x}", "line 1, column 7", NULL);
}

static void parse_rejects_text_after_the_value(void **state)
{
    (void)state;
    parse_fails("{} {}", "not valid JSON at line 1, column 4", "text after the JSON value", NULL);
}

static void parse_rejects_oversized_text(void **state)
{
    size_t len = KE_CONFIG_MAX_BYTES + 1;
    char *big = malloc(len);
    ke_config *cfg = NULL;
    ke_error err;

    (void)state;
    assert_non_null(big);
    memset(big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    ke_error_clear(&err);
    assert_int_equal(ke_config_parse(big, len, "test", &cfg, &err), KE_ECONFIG);
    assert_null(cfg);
    assert_contains(err.msg, "more than the limit of 1048576 bytes");
    free(big);
}

static void parse_rejects_empty_text(void **state)
{
    ke_config *cfg = NULL;
    ke_error err;

    (void)state;
    parse_fails("", "is empty", NULL);
    parse_fails(" \n\t", "is empty", NULL);
    ke_error_clear(&err);
    assert_int_equal(ke_config_parse(NULL, 0, NULL, &cfg, &err), KE_ECONFIG);
    assert_contains(err.msg, "event configuration: is empty");
}

static void parse_rejects_top_level_that_is_not_an_object(void **state)
{
    (void)state;
    parse_fails("[]",
                "must be a JSON object mapping pipeline names to {\"source\", \"type\"}, got an "
                "array",
                NULL);
    parse_fails("\"x\"", "got a string", NULL);
    parse_fails("null", "got null", NULL);
    parse_fails("12", "got a number", NULL);
}

static void parse_rejects_entry_that_is_not_an_object(void **state)
{
    (void)state;
    parse_fails("{\"event00\": \"example.com\"}",
                "entry \"event00\" must be an object with \"source\" and \"type\", got a string",
                NULL);
    parse_fails("{\"event00\": [\"s\", \"t\"]}", "entry \"event00\"", "got an array", NULL);
}

static void parse_rejects_entry_without_source(void **state)
{
    (void)state;
    parse_fails("{\"event00\": {\"type\": \"t\"}}",
                "test: entry \"event00\": \"source\" must be a non-empty string, but is missing",
                NULL);
}

static void parse_rejects_entry_without_type(void **state)
{
    (void)state;
    parse_fails("{\"event00\": {\"source\": \"s\"}}",
                "entry \"event00\": \"type\" must be a non-empty string, but is missing", NULL);
}

static void parse_rejects_source_that_is_not_a_string(void **state)
{
    (void)state;
    parse_fails("{\"event00\": {\"source\": 5, \"type\": \"t\"}}",
                "entry \"event00\": \"source\" must be a non-empty string, got a number", NULL);
    parse_fails("{\"event00\": {\"source\": \"s\", \"type\": null}}",
                "\"type\" must be a non-empty string, got null", NULL);
}

static void parse_rejects_empty_source_or_type(void **state)
{
    (void)state;
    parse_fails("{\"event00\": {\"source\": \"\", \"type\": \"t\"}}",
                "entry \"event00\": \"source\" must be a non-empty string, got an empty string",
                NULL);
    parse_fails("{\"event00\": {\"source\": \"s\", \"type\": \"\"}}",
                "\"type\" must be a non-empty string", NULL);
}

static void parse_rejects_unknown_key(void **state)
{
    (void)state;
    parse_entry_fails("\"Source\": \"x\"",
                      "unknown key \"Source\" (allowed: source, type, parameters, tags)", NULL);
    parse_entry_fails("\"params\": {}", "unknown key \"params\"", NULL);
}

static void parse_rejects_repeated_key_in_entry(void **state)
{
    (void)state;
    parse_entry_fails("\"source\": \"s2\"", "key \"source\" appears twice", NULL);
    parse_entry_fails("\"tags\": {}, \"tags\": {}", "key \"tags\" appears twice", NULL);
}

static void parse_rejects_duplicate_pipeline(void **state)
{
    (void)state;
    parse_fails("{\"event00\": {\"source\": \"s\", \"type\": \"t\"}, \"x\": {\"source\": \"s\", "
                "\"type\": \"t\"}, \"event00\": {\"source\": \"s2\", \"type\": \"t2\"}}",
                "pipeline \"event00\" is listed twice", NULL);
}

static void parse_rejects_empty_pipeline_name(void **state)
{
    (void)state;
    parse_fails("{\"\": {\"source\": \"s\", \"type\": \"t\"}}",
                "entry \"\": a pipeline name must be 1 to 128 characters", NULL);
}

/* Pipeline names follow one rule everywhere (names.h): CreatePipeline refuses the same. */
static void parse_rejects_pipeline_names_outside_the_rule(void **state)
{
    static const char *const bad[] = {"-evil", ".hidden", "a b", "a/b", "\xc3\xa9v", "a;b", "$x"};
    char json[512], name[KE_PIPELINE_NAME_MAX + 2];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(json, sizeof json, "{\"%s\": {\"source\": \"s\", \"type\": \"t\"}}", bad[i]);
        parse_fails(json, "a pipeline name must be 1 to 128 characters of letters, digits",
                    "not starting with '-' or '.'", NULL);
    }
    memset(name, 'a', KE_PIPELINE_NAME_MAX + 1);
    name[KE_PIPELINE_NAME_MAX + 1] = '\0';
    snprintf(json, sizeof json, "{\"%s\": {\"source\": \"s\", \"type\": \"t\"}}", name);
    parse_fails(json, "a pipeline name must be 1 to 128", NULL);
    name[KE_PIPELINE_NAME_MAX] = '\0';
    snprintf(json, sizeof json, "{\"%s\": {\"source\": \"s\", \"type\": \"t\"}}", name);
    ke_config_free(parse_ok(json));
    ke_config_free(parse_ok("{\"__default__\": {\"source\": \"s\", \"type\": \"t\"}, "
                            "\"data_processing.v2-x\": {\"source\": \"s\", \"type\": \"t\"}}"));
}

static void parse_accepts_the_most_routes_allowed(void **state)
{
    char *json = many_entries(KE_CONFIG_MAX_ROUTES);
    ke_config *cfg = parse_ok(json);

    (void)state;
    assert_int_equal(cfg->n_routes, KE_CONFIG_MAX_ROUTES);
    assert_string_equal(cfg->routes[KE_CONFIG_MAX_ROUTES - 1].pipeline, "p9999");
    ke_config_free(cfg);
    free(json);
}

static void parse_rejects_too_many_routes(void **state)
{
    char *json = many_entries(KE_CONFIG_MAX_ROUTES + 1);

    (void)state;
    parse_fails(json, "10001 entries, more than the limit of 10000", NULL);
    free(json);
}

static void parse_types_parameters(void **state)
{
    ke_config *cfg = parse_ok("{\"e\": {\"source\": \"s\", \"type\": \"t\", \"parameters\": {"
                              "\"text\": \"hello, \\\"world\\\"\", \"empty\": \"\", "
                              "\"ten\": 10, \"neg\": -3, \"zero\": 0, "
                              "\"big\": 12345678901234567890, \"half\": 1.5, \"one\": 1.0, "
                              "\"exp\": 1e3, \"Exp\": 2E-2, \"yes\": true, \"no\": false}}}");
    const ke_route *r = &cfg->routes[0];

    (void)state;
    assert_int_equal(r->n_params, 12);
    assert_string_equal(r->params[0].key, "text"); /* file order */
    assert_string_equal(r->params[11].key, "no");
    assert_param(r, "text", "hello, \"world\"", "string");
    assert_param(r, "empty", "", "string");
    assert_param(r, "ten", "10", "int");
    assert_param(r, "neg", "-3", "int");
    assert_param(r, "zero", "0", "int");
    /* Numbers are typed by value: integral ones a double holds exactly are ints, written
     * as integers; others are floats, written as the shortest exact decimal. */
    assert_param(r, "big", "1.2345678901234567e+19", "float");
    assert_param(r, "half", "1.5", "float");
    assert_param(r, "one", "1", "int");
    assert_param(r, "exp", "1000", "int");
    assert_param(r, "Exp", "0.02", "float");
    assert_param(r, "yes", "true", "bool");
    assert_param(r, "no", "false", "bool");
    ke_config_free(cfg);
}

static void parse_types_numbers_at_the_exact_integer_limit(void **state)
{
    ke_config *cfg = parse_ok("{\"e\": {\"source\": \"s\", \"type\": \"t\", \"parameters\": {"
                              "\"max\": 9007199254740992, \"min\": -9007199254740992, "
                              "\"past\": 9007199254740994, \"neg_past\": -9007199254740994, "
                              "\"third\": 0.1, \"tiny\": 5e-324, \"huge\": 1.5e300}}}");
    const ke_route *r = &cfg->routes[0];

    (void)state;
    /* |v| <= 2^53 and integral: int; beyond: float, still written exactly. */
    assert_param(r, "max", "9007199254740992", "int");
    assert_param(r, "min", "-9007199254740992", "int");
    assert_param(r, "past", "9007199254740994", "float");
    assert_param(r, "neg_past", "-9007199254740994", "float");
    assert_param(r, "third", "0.1", "float");
    assert_string_equal(find_kv(r->params, r->n_params, "tiny")->type, "float");
    assert_true(strtod(find_kv(r->params, r->n_params, "tiny")->value, NULL) == 5e-324);
    assert_param(r, "huge", "1.5e+300", "float");
    ke_config_free(cfg);
}

static void parse_takes_number_text_past_digits_in_strings(void **state)
{
    /* Digits in names and strings, and numbers in earlier entries, must not shift which
     * value a parameter gets. */
    ke_config *cfg = parse_ok("{\"p1\": {\"source\": \"s-1.5e3\", \"type\": \"t\\\"2\", "
                              "\"parameters\": {\"a\\\\\": \"9\", \"n\": 7, \"m\": 8.25}}, "
                              "\"p2\": {\"parameters\": {\"x\": -0.5, \"y\": \"3\", \"z\": 4}, "
                              "\"source\": \"s\", \"type\": \"t\"}}");

    (void)state;
    assert_param(&cfg->routes[0], "n", "7", "int");
    assert_param(&cfg->routes[0], "m", "8.25", "float");
    assert_param(&cfg->routes[1], "x", "-0.5", "float");
    assert_param(&cfg->routes[1], "y", "3", "string");
    assert_param(&cfg->routes[1], "z", "4", "int");
    ke_config_free(cfg);
}

static void parse_rejects_parameters_that_are_not_an_object(void **state)
{
    (void)state;
    parse_entry_fails("\"parameters\": [1]", "\"parameters\" must be an object", "got an array");
    parse_entry_fails("\"parameters\": \"a=1\"", "\"parameters\" must be an object",
                      "got a string");
}

static void parse_rejects_parameter_of_wrong_type(void **state)
{
    (void)state;
    parse_entry_fails("\"parameters\": {\"p\": null}",
                      "parameter \"p\" must be a string, number or boolean, got null", NULL);
    parse_entry_fails("\"parameters\": {\"p\": {\"a\": 1}}", "parameter \"p\"", "got an object");
    parse_entry_fails("\"parameters\": {\"p\": [1]}", "parameter \"p\"", "got an array");
}

static void parse_rejects_reserved_parameter_names(void **state)
{
    (void)state;
    parse_entry_fails("\"parameters\": {\"id\": \"x\"}", "parameter \"id\" is set by the server",
                      NULL);
    parse_entry_fails("\"parameters\": {\"a\": 1, \"event\": \"{}\"}",
                      "parameter \"event\" is set by the server", NULL);
}

static void parse_rejects_repeated_or_empty_parameter_name(void **state)
{
    (void)state;
    parse_entry_fails("\"parameters\": {\"p\": 1, \"p\": 2}", "parameter \"p\" appears twice",
                      NULL);
    parse_entry_fails("\"parameters\": {\"\": 1}", "a parameter name must be non-empty", NULL);
}

static void parse_limits_parameters_per_entry(void **state)
{
    char *ok = many_extras("parameters", KE_CONFIG_MAX_EXTRAS);
    char *bad = many_extras("parameters", KE_CONFIG_MAX_EXTRAS + 1);
    char json[8192];
    ke_config *cfg;

    (void)state;
    snprintf(json, sizeof json, "{\"e\": {\"source\": \"s\", \"type\": \"t\", %s}}", ok);
    cfg = parse_ok(json);
    assert_int_equal(cfg->routes[0].n_params, KE_CONFIG_MAX_EXTRAS);
    ke_config_free(cfg);
    parse_entry_fails(bad, "\"parameters\" has 101 entries, more than the limit of 100", NULL);
    free(ok);
    free(bad);
}

static void parse_reads_tags(void **state)
{
    ke_config *cfg = parse_ok("{\"e\": {\"source\": \"s\", \"type\": \"t\", "
                              "\"tags\": {\"team\": \"data\", \"empty\": \"\"}}}");
    const ke_route *r = &cfg->routes[0];

    (void)state;
    assert_int_equal(r->n_tags, 2);
    assert_string_equal(r->tags[0].key, "team");
    assert_string_equal(r->tags[0].value, "data");
    assert_string_equal(r->tags[0].type, "string");
    assert_string_equal(r->tags[1].key, "empty");
    assert_string_equal(r->tags[1].value, "");
    assert_int_equal(r->n_params, 0);
    ke_config_free(cfg);
}

static void parse_rejects_bad_tags(void **state)
{
    char *bad = many_extras("tags", KE_CONFIG_MAX_EXTRAS + 1);

    (void)state;
    parse_entry_fails("\"tags\": [\"a\"]", "\"tags\" must be an object", "got an array");
    parse_entry_fails("\"tags\": {\"n\": 1}", "tag \"n\" must be a string, got a number", NULL);
    parse_entry_fails("\"tags\": {\"b\": true}", "tag \"b\" must be a string, got a boolean", NULL);
    parse_entry_fails("\"tags\": {\"event_id\": \"x\"}", "tag \"event_id\" is reserved", NULL);
    parse_entry_fails("\"tags\": {\"event_source\": \"x\"}", "tag \"event_source\" is reserved",
                      NULL);
    parse_entry_fails("\"tags\": {\"event_type\": \"x\"}", "tag \"event_type\" is reserved", NULL);
    parse_entry_fails("\"tags\": {\"a\": \"1\", \"a\": \"2\"}", "tag \"a\" appears twice", NULL);
    parse_entry_fails("\"tags\": {\"\": \"1\"}", "a tag name must be non-empty", NULL);
    parse_entry_fails(bad, "\"tags\" has 101 entries, more than the limit of 100", NULL);
    free(bad);
}

static void parse_rejects_invalid_utf8(void **state)
{
    (void)state;
    parse_fails("{\"e\xff\": {}}", "not valid UTF-8 at line 1, column 4", NULL);
    parse_fails("{\"\xc0\xaf\": {}}", "not valid UTF-8", NULL);     /* overlong */
    parse_fails("{\"\xed\xa0\x80\": {}}", "not valid UTF-8", NULL); /* surrogate */
    parse_fails("{\"\xf4\x90\x80\x80\": {}}", "not valid UTF-8", NULL);
    parse_fails("{\"\xe2\x82\": {}}", "not valid UTF-8", NULL); /* cut short */
}

static void parse_rejects_nul_byte(void **state)
{
    static const char json[] = "{\"e\": {\"source\": \"a\0b\", \"type\": \"t\"}}";
    ke_config *cfg = NULL;
    ke_error err;

    (void)state;
    ke_error_clear(&err);
    assert_int_equal(ke_config_parse(json, sizeof json - 1, "test", &cfg, &err), KE_ECONFIG);
    assert_contains(err.msg, "test: NUL byte at line 1, column 20");
}

static void parse_rejects_nul_escape(void **state)
{
    (void)state;
    parse_fails("{\"e\": {\"source\": \"a\\u0000b\", \"type\": \"t\"}}",
                "test: \\u0000 in a string is not allowed", NULL);
    parse_fails("{\"e\\u0000\": {\"source\": \"s\", \"type\": \"t\"}}",
                "\\u0000 in a string is not allowed", NULL);
}

/* "${" is kept as it is: the run file escapes it for OmegaConf (runfile.c). */
static void parse_keeps_interpolation_in_a_static_parameter(void **state)
{
    ke_config *cfg = parse_ok("{\"e\": {\"source\": \"s\", \"type\": \"t\", \"parameters\": "
                              "{\"p\": \"${oc.env:X}\", \"q\": \"\\\\${x}\", \"m\": \"???\"}}}");

    (void)state;
    assert_string_equal(cfg->routes[0].params[0].value, "${oc.env:X}");
    assert_string_equal(cfg->routes[0].params[1].value, "\\${x}");
    assert_string_equal(cfg->routes[0].params[2].value, "???");
    ke_config_free(cfg);
}

static void parse_rejects_numbers_beyond_a_double(void **state)
{
    (void)state;
    parse_fails("{\"e\": {\"source\": \"s\", \"type\": \"t\", \"parameters\": {\"big\": 1e400}}}",
                "parameter \"big\" is out of a double's range", NULL);
    parse_fails("{\"e\": {\"source\": \"s\", \"type\": \"t\", \"parameters\": {\"m\": -1e400}}}",
                "\"m\" is out of a double's range", NULL);
}

static void parse_takes_escaped_backslash_before_u0000_as_text(void **state)
{
    ke_config *cfg;

    (void)state;
    /* An escaped backslash followed by u0000 is plain text, not a \u0000 escape. */
    cfg = parse_ok("{\"e\": {\"source\": \"a\\\\u0000\", \"type\": \"t\"}}");
    assert_string_equal(cfg->routes[0].source, "a\\u0000");
    ke_config_free(cfg);
}

static void parse_accepts_raw_control_characters(void **state)
{
    ke_config *cfg;

    (void)state;
    /* cJSON takes them as they are. */
    cfg = parse_ok("{\"ef\": {\"source\": \"a\tb\", \"type\": \"t\\n\x01\", "
                   "\"tags\": {\"k\": \"\x7f\r\"}}}");
    assert_string_equal(cfg->routes[0].pipeline, "ef");
    assert_string_equal(cfg->routes[0].source, "a\tb");
    assert_string_equal(cfg->routes[0].type, "t\n\x01");
    assert_string_equal(cfg->routes[0].tags[0].value, "\x7f\r");
    ke_config_free(cfg);
}

static void parse_quotes_names_safely_in_messages(void **state)
{
    char json[1024], name[301];
    ke_config *cfg = NULL;
    ke_error err;

    (void)state;
    memset(name, 'a', 300);
    name[300] = '\0';
    snprintf(json, sizeof json, "{\"%s\": 1}", name);
    ke_error_clear(&err);
    assert_int_equal(ke_config_parse(json, strlen(json), "test", &cfg, &err), KE_ECONFIG);
    /* At most 40 bytes shown, "..." after the closing quote. */
    assert_contains(err.msg,
                    "entry \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"... must be an object");
    assert_true(strlen(err.msg) < 200);
    /* Exactly 40 bytes: shown whole, no "...". */
    name[40] = '\0';
    snprintf(json, sizeof json, "{\"%s\": 1}", name);
    parse_fails(json, "entry \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" must be an object", NULL);
    /* Cut at a character boundary: a character straddling byte 40 is shown whole. */
    name[39] = '\0';
    snprintf(json, sizeof json, "{\"%s\xc3\xa9\xc3\xa9\": 1}", name);
    parse_fails(json,
                "entry \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\"... must be an object",
                NULL);
    /* Quotes and backslashes escaped, control characters as \xHH, UTF-8 shown as is. */
    parse_fails("{\"a\\\"b\\n\": 1}", "entry \"a\\\"b\\x0a\" must be an object", NULL);
    parse_fails("{\"a\\\\b\x7f\x01\": 1}", "entry \"a\\\\b\\x7f\\x01\" must be an object", NULL);
    parse_fails("{\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80\": 1}",
                "entry \"\xc3\xa9t\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80\" must be an object", NULL);
    parse_entry_fails("\"parameters\": {\"x\\ty\": null}", "parameter \"x\\x09y\" must be", NULL);
}

/* ---- finding the configuration */

static void load_returns_null_when_nothing_is_set(void **state)
{
    warnings w = {0};
    char path[64];

    (void)state;
    assert_null(load_ok(NULL, NO_DOTENV, &w));
    assert_null(load_ok(NULL, NULL, &w));
    write_temp(path, "# nothing here\nOTHER=1\n");
    assert_null(load_ok(NULL, path, &w));
    unlink(path);
    assert_int_equal(w.n, 0);
}

static void load_reads_environment(void **state)
{
    warnings w = {0};
    ke_config *cfg;

    (void)state;
    setenv(KE_CONFIG_ENV, ENTRY, 1);
    cfg = load_ok(NULL, NO_DOTENV, &w);
    assert_non_null(cfg);
    assert_string_equal(cfg->origin, "KEDRO_GRAPHQL_EVENTS_CONFIG (environment)");
    assert_string_equal(cfg->routes[0].pipeline, "event00");
    assert_int_equal(w.n, 0);
    ke_config_free(cfg);
}

static void load_flag_wins_over_environment_and_dotenv(void **state)
{
    warnings w = {0};
    ke_config *cfg;
    char path[64];

    (void)state;
    setenv(KE_CONFIG_ENV, ENTRY, 1);
    write_temp(path, "KEDRO_GRAPHQL_EVENTS_CONFIG='not json'\n");
    cfg = load_ok(ENTRY_B, path, &w);
    assert_string_equal(cfg->origin, "--events-config");
    assert_string_equal(cfg->routes[0].pipeline, "b");
    ke_config_free(cfg);
    unlink(path);
}

static void load_flag_reads_file(void **state)
{
    char path[64], flag[256];
    warnings w = {0};
    ke_config *cfg;

    (void)state;
    write_temp(path, ENTRY_B "\n");
    snprintf(flag, sizeof flag, "@%s", path);
    cfg = load_ok(flag, NO_DOTENV, &w);
    assert_string_equal(cfg->routes[0].pipeline, "b");
    assert_string_equal(cfg->origin + strlen("--events-config @"), path);
    ke_config_free(cfg);
    unlink(path);
}

static void load_flag_missing_file_names_path_and_reason(void **state)
{
    (void)state;
    load_fails("@/nonexistent/ke-test/events.json", NO_DOTENV,
               "--events-config @/nonexistent/ke-test/events.json: cannot read",
               "No such file or directory");
    load_fails("@/tmp", NO_DOTENV, "--events-config @/tmp: cannot read", "directory");
}

static void load_flag_refuses_empty_values(void **state)
{
    char path[64], flag[256];

    (void)state;
    load_fails("", NO_DOTENV, "--events-config is set but empty", "");
    load_fails(" ", NO_DOTENV, "--events-config is set but empty", "");
    load_fails("@", NO_DOTENV, "a file name must follow '@'", "");
    write_temp(path, "\n");
    snprintf(flag, sizeof flag, "@%s", path);
    load_fails(flag, NO_DOTENV, flag, "the file is empty");
    unlink(path);
}

static void load_flag_refuses_oversized_file(void **state)
{
    char path[64], flag[256];
    char *big = malloc(KE_CONFIG_MAX_BYTES + 2);

    (void)state;
    assert_non_null(big);
    memset(big, ' ', KE_CONFIG_MAX_BYTES + 1);
    big[0] = '{';
    big[KE_CONFIG_MAX_BYTES] = '}';
    big[KE_CONFIG_MAX_BYTES + 1] = '\0';
    write_temp(path, big);
    snprintf(flag, sizeof flag, "@%s", path);
    load_fails(flag, NO_DOTENV, flag, "larger than the limit of 1048576 bytes");
    unlink(path);
    free(big);
}

static void load_invalid_configuration_names_origin(void **state)
{
    (void)state;
    load_fails("{\"event00\": {\"source\": \"s\"}}", NO_DOTENV,
               "--events-config: entry \"event00\": \"type\"", "non-empty string");
    setenv(KE_CONFIG_ENV, "{\"event00\": {\"source\" \"x\"}}", 1);
    load_fails(NULL, NO_DOTENV,
               "KEDRO_GRAPHQL_EVENTS_CONFIG (environment): not valid JSON at line 1, column 23",
               "");
    setenv(KE_CONFIG_ENV, "[]", 1);
    load_fails(NULL, NO_DOTENV, "KEDRO_GRAPHQL_EVENTS_CONFIG (environment): must be a JSON object",
               "got an array");
}

static void load_env_wins_over_dotenv(void **state)
{
    warnings w = {0};
    ke_config *cfg;
    char path[64];

    (void)state;
    write_temp(path, "KEDRO_GRAPHQL_EVENTS_CONFIG='" ENTRY_B "'\n");
    setenv(KE_CONFIG_ENV, ENTRY, 1);
    cfg = load_ok(NULL, path, &w);
    assert_string_equal(cfg->origin, "KEDRO_GRAPHQL_EVENTS_CONFIG (environment)");
    assert_string_equal(cfg->routes[0].pipeline, "event00");
    ke_config_free(cfg);
    unlink(path);
}

static void load_reads_dotenv_naming_path_and_line(void **state)
{
    char path[64], origin[256];
    warnings w = {0};
    ke_config *cfg;

    (void)state;
    write_temp(path, "# events\n\nexport KEDRO_GRAPHQL_EVENTS_CONFIG='" ENTRY "'\n");
    cfg = load_ok(NULL, path, &w);
    snprintf(origin, sizeof origin, "KEDRO_GRAPHQL_EVENTS_CONFIG (%s:3)", path);
    assert_string_equal(cfg->origin, origin);
    assert_string_equal(cfg->routes[0].source, "example.com");
    assert_int_equal(w.n, 0);
    ke_config_free(cfg);
    unlink(path);
}

static void load_ignores_broken_dotenv_when_environment_is_set(void **state)
{
    warnings w = {0};
    ke_config *cfg;
    char path[64];

    (void)state;
    write_temp(path, "A='unterminated\n");
    setenv(KE_CONFIG_ENV, ENTRY, 1);
    cfg = load_ok(NULL, path, &w);
    assert_non_null(cfg);
    ke_config_free(cfg);
    unlink(path);
}

static void load_malformed_dotenv_names_path_and_line(void **state)
{
    char path[64], where[256];

    (void)state;
    write_temp(path, "A=1\n\nKEDRO_GRAPHQL_EVENTS_CONFIG='{}' trailing\n");
    snprintf(where, sizeof where, "%s:3: cannot parse this line", path);
    load_fails(NULL, path, where, "unexpected text after the quoted value");
    unlink(path);
}

static void load_unreadable_dotenv_is_refused(void **state)
{
    (void)state;
    load_fails(NULL, "/tmp", "/tmp: cannot read", "directory");
}

static void load_alias_warns_and_is_read(void **state)
{
    warnings w = {0};
    ke_config *cfg;

    (void)state;
    setenv(KE_CONFIG_ENV_ALIAS, ENTRY, 1);
    cfg = load_ok(NULL, NO_DOTENV, &w);
    assert_string_equal(cfg->origin, "KEDRO_GRAPHQL_EVENT_CONFIG (environment)");
    assert_string_equal(cfg->routes[0].pipeline, "event00");
    assert_int_equal(w.n, 1);
    assert_string_equal(w.text,
                        "KEDRO_GRAPHQL_EVENT_CONFIG is read as KEDRO_GRAPHQL_EVENTS_CONFIG; "
                        "rename it\n");
    ke_config_free(cfg);
}

static void load_alias_in_dotenv_warns_and_is_read(void **state)
{
    char path[64], origin[256];
    warnings w = {0};
    ke_config *cfg;

    (void)state;
    write_temp(path, "KEDRO_GRAPHQL_EVENT_CONFIG='" ENTRY "'\n");
    cfg = load_ok(NULL, path, &w);
    snprintf(origin, sizeof origin, "KEDRO_GRAPHQL_EVENT_CONFIG (%s:1)", path);
    assert_string_equal(cfg->origin, origin);
    assert_int_equal(w.n, 1);
    assert_contains(w.text, "is read as KEDRO_GRAPHQL_EVENTS_CONFIG; rename it");
    ke_config_free(cfg);
    unlink(path);
}

static void load_canonical_wins_over_alias_and_warns(void **state)
{
    warnings w = {0};
    ke_config *cfg;
    char path[64];

    (void)state;
    setenv(KE_CONFIG_ENV, ENTRY, 1);
    setenv(KE_CONFIG_ENV_ALIAS, ENTRY_B, 1);
    cfg = load_ok(NULL, NO_DOTENV, &w);
    assert_string_equal(cfg->routes[0].pipeline, "event00");
    assert_int_equal(w.n, 1);
    assert_contains(w.text, "KEDRO_GRAPHQL_EVENT_CONFIG is ignored: KEDRO_GRAPHQL_EVENTS_CONFIG "
                            "is set");
    ke_config_free(cfg);
    unset_vars();

    memset(&w, 0, sizeof w);
    write_temp(path, "KEDRO_GRAPHQL_EVENT_CONFIG='" ENTRY_B "'\nKEDRO_GRAPHQL_EVENTS_CONFIG='" ENTRY
                     "'\n");
    cfg = load_ok(NULL, path, &w);
    assert_string_equal(cfg->routes[0].pipeline, "event00");
    assert_int_equal(w.n, 1);
    assert_contains(w.text, "KEDRO_GRAPHQL_EVENT_CONFIG is ignored");
    ke_config_free(cfg);
    unlink(path);
}

static void load_environment_alias_wins_over_dotenv(void **state)
{
    warnings w = {0};
    ke_config *cfg;
    char path[64];

    (void)state;
    write_temp(path, "KEDRO_GRAPHQL_EVENTS_CONFIG='" ENTRY_B "'\n");
    setenv(KE_CONFIG_ENV_ALIAS, ENTRY, 1);
    cfg = load_ok(NULL, path, &w);
    assert_string_equal(cfg->origin, "KEDRO_GRAPHQL_EVENT_CONFIG (environment)");
    assert_int_equal(w.n, 1);
    ke_config_free(cfg);
    unlink(path);
}

static void load_typo_warns_and_is_ignored(void **state)
{
    warnings w = {0};

    (void)state;
    setenv(KE_CONFIG_ENV_TYPO, ENTRY, 1);
    assert_null(load_ok(NULL, NO_DOTENV, &w));
    assert_int_equal(w.n, 1);
    assert_string_equal(w.text, "KEDROG_GRAPHQL_EVENTS_CONFIG is not read (typo?): set "
                                "KEDRO_GRAPHQL_EVENTS_CONFIG\n");
}

static void load_typo_in_reference_dotenv_warns_and_is_ignored(void **state)
{
    warnings w = {0};
    ke_config *cfg;
    char path[64];

    (void)state;
    /* The reference documentation's own example. */
    write_temp(path, "#.env\n\nKEDROG_GRAPHQL_EVENTS_CONFIG='{\"event00\": {\"source\": "
                     "\"example.com\", \"type\": \"com.example.event\"}}'\n");
    assert_null(load_ok(NULL, path, &w));
    assert_int_equal(w.n, 1);
    assert_contains(w.text, "KEDROG_GRAPHQL_EVENTS_CONFIG is not read (typo?)");

    /* With the right name beside it, the typo still warns and the right one is read. */
    setenv(KE_CONFIG_ENV_TYPO, "x", 1);
    memset(&w, 0, sizeof w);
    unlink(path);
    write_temp(path, "KEDROG_GRAPHQL_EVENTS_CONFIG=x\nKEDRO_GRAPHQL_EVENTS_CONFIG='" ENTRY "'\n");
    cfg = load_ok(NULL, path, &w);
    assert_non_null(cfg);
    assert_int_equal(w.n, 1); /* once, though set in both places */
    ke_config_free(cfg);
    unlink(path);
}

static void load_refuses_variable_set_but_empty(void **state)
{
    char path[64], where[256];

    (void)state;
    setenv(KE_CONFIG_ENV, "", 1);
    load_fails(NULL, NO_DOTENV, "KEDRO_GRAPHQL_EVENTS_CONFIG (environment) is set but empty", "");
    unset_vars();
    write_temp(path, "A=1\nKEDRO_GRAPHQL_EVENTS_CONFIG=\n");
    snprintf(where, sizeof where, "KEDRO_GRAPHQL_EVENTS_CONFIG (%s:2) is set but empty", path);
    load_fails(NULL, path, where, "");
    unlink(path);
}

static void load_warn_callback_may_be_null(void **state)
{
    ke_config *cfg = NULL;
    ke_error err;

    (void)state;
    setenv(KE_CONFIG_ENV_ALIAS, ENTRY, 1);
    setenv(KE_CONFIG_ENV_TYPO, ENTRY, 1);
    ke_error_clear(&err);
    assert_int_equal(ke_config_load(NULL, NO_DOTENV, NULL, NULL, &cfg, &err), KE_OK);
    assert_non_null(cfg);
    ke_config_free(cfg);
    ke_config_free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, clean_env, clean_env)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(parse_accepts_minimal_entry),
        T(parse_keeps_json_object_order),
        T(parse_accepts_empty_object),
        T(parse_accepts_utf8_bom_and_unicode),
        T(parse_rejects_pipeline_names_outside_the_rule),
        T(parse_reports_json_syntax_error_line_and_column),
        T(parse_rejects_text_after_the_value),
        T(parse_rejects_oversized_text),
        T(parse_rejects_empty_text),
        T(parse_rejects_top_level_that_is_not_an_object),
        T(parse_rejects_entry_that_is_not_an_object),
        T(parse_rejects_entry_without_source),
        T(parse_rejects_entry_without_type),
        T(parse_rejects_source_that_is_not_a_string),
        T(parse_rejects_empty_source_or_type),
        T(parse_rejects_unknown_key),
        T(parse_rejects_repeated_key_in_entry),
        T(parse_rejects_duplicate_pipeline),
        T(parse_rejects_empty_pipeline_name),
        T(parse_accepts_the_most_routes_allowed),
        T(parse_rejects_too_many_routes),
        T(parse_types_parameters),
        T(parse_types_numbers_at_the_exact_integer_limit),
        T(parse_takes_number_text_past_digits_in_strings),
        T(parse_rejects_parameters_that_are_not_an_object),
        T(parse_rejects_parameter_of_wrong_type),
        T(parse_rejects_reserved_parameter_names),
        T(parse_rejects_repeated_or_empty_parameter_name),
        T(parse_limits_parameters_per_entry),
        T(parse_reads_tags),
        T(parse_rejects_bad_tags),
        T(parse_rejects_invalid_utf8),
        T(parse_rejects_nul_byte),
        T(parse_rejects_nul_escape),
        T(parse_takes_escaped_backslash_before_u0000_as_text),
        T(parse_rejects_numbers_beyond_a_double),
        T(parse_keeps_interpolation_in_a_static_parameter),
        T(parse_accepts_raw_control_characters),
        T(parse_quotes_names_safely_in_messages),
        T(load_returns_null_when_nothing_is_set),
        T(load_reads_environment),
        T(load_flag_wins_over_environment_and_dotenv),
        T(load_flag_reads_file),
        T(load_flag_missing_file_names_path_and_reason),
        T(load_flag_refuses_empty_values),
        T(load_flag_refuses_oversized_file),
        T(load_invalid_configuration_names_origin),
        T(load_env_wins_over_dotenv),
        T(load_reads_dotenv_naming_path_and_line),
        T(load_ignores_broken_dotenv_when_environment_is_set),
        T(load_malformed_dotenv_names_path_and_line),
        T(load_unreadable_dotenv_is_refused),
        T(load_alias_warns_and_is_read),
        T(load_alias_in_dotenv_warns_and_is_read),
        T(load_canonical_wins_over_alias_and_warns),
        T(load_environment_alias_wins_over_dotenv),
        T(load_typo_warns_and_is_ignored),
        T(load_typo_in_reference_dotenv_warns_and_is_ignored),
        T(load_refuses_variable_set_but_empty),
        T(load_warn_callback_may_be_null),
    };

    return cmocka_run_group_tests(tests, save_env, restore_env);
}
