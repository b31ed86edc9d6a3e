/* test_config.c -- unit tests of the event configuration: JSON validation, the .env reader
 * and where the configuration is taken from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.c" /* reaches the static .env reader */

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

/* Parses .env text, expecting success; vars freed with free_vars. */
static void dotenv_ok(const char *text, dotenv_var vars[VAR_COUNT])
{
    ke_error err;

    ke_error_clear(&err);
    memset(vars, 0, VAR_COUNT * sizeof *vars);
    if (dotenv_parse(".env", text, vars, &err) != KE_OK)
        fail_msg("dotenv failed: %s", err.msg);
}

static void free_vars(dotenv_var vars[VAR_COUNT])
{
    int v;

    for (v = 0; v < VAR_COUNT; v++)
        free(vars[v].value);
}

/* Expects the .env text to be refused, naming ".env:<line>". */
static void dotenv_fails(const char *text, const char *where)
{
    dotenv_var vars[VAR_COUNT] = {{0}};
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(dotenv_parse(".env", text, vars, &err), KE_ECONFIG);
    assert_contains(err.msg, where);
    free_vars(vars);
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
        parse_ok("\xEF\xBB\xBF{\"\xc3\xa9v\": {\"source\": \"\\u00e9\\ud83d\\ude00\", \"type\": "
                 "\"t\\u2028\"}}");

    (void)state;
    assert_string_equal(cfg->routes[0].pipeline, "\xc3\xa9v");
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
    parse_fails("{} {}", "not valid JSON at line 1, column 4", "text after the value", NULL);
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
                "entry \"\": the pipeline name must be non-empty", NULL);
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
    assert_param(r, "big", "12345678901234567890", "int");
    assert_param(r, "half", "1.5", "float");
    assert_param(r, "one", "1.0", "float");
    assert_param(r, "exp", "1e3", "float");
    assert_param(r, "Exp", "2E-2", "float");
    assert_param(r, "yes", "true", "bool");
    assert_param(r, "no", "false", "bool");
    ke_config_free(cfg);
}

static void parse_takes_number_text_past_digits_in_strings(void **state)
{
    /* Digits in names and strings, and numbers in earlier entries, must not shift which
     * token a number's text is taken from. */
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
    parse_entry_fails("\"parameters\": {\"id\": \"x\"}", "parameter \"id\" is reserved", NULL);
    parse_entry_fails("\"parameters\": {\"a\": 1, \"event\": \"{}\"}",
                      "parameter \"event\" is reserved", NULL);
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

static void parse_rejects_nul_escape_and_raw_control_characters(void **state)
{
    ke_config *cfg;

    (void)state;
    parse_fails("{\"e\": {\"source\": \"a\\u0000b\", \"type\": \"t\"}}",
                "\\u0000 in a string at line 1, column 20", NULL);
    parse_fails("{\"e\": {\"source\": \"a\tb\", \"type\": \"t\"}}",
                "raw control character in a string at line 1, column 20", NULL);
    /* An escaped backslash followed by u0000 is plain text. */
    cfg = parse_ok("{\"e\": {\"source\": \"a\\\\u0000\", \"type\": \"t\"}}");
    assert_string_equal(cfg->routes[0].source, "a\\u0000");
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
    assert_contains(err.msg, "aaaa...\" must be an object");
    assert_true(strlen(err.msg) < 200);
    parse_fails("{\"a\\\"b\\n\": 1}", "entry \"a\\\"b\\x0a\" must be an object", NULL);
}

/* ---- the .env reader */

static void dotenv_skips_blank_lines_and_comments(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("# a comment\n\n   \n  # KEDRO_GRAPHQL_EVENTS_CONFIG=no\n"
              "KEDRO_GRAPHQL_EVENTS_CONFIG=yes\n",
              v);
    assert_string_equal(v[VAR_CANONICAL].value, "yes");
    assert_int_equal(v[VAR_CANONICAL].line, 5);
    assert_null(v[VAR_ALIAS].value);
    free_vars(v);
}

static void dotenv_accepts_export_prefix(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("export KEDRO_GRAPHQL_EVENTS_CONFIG={}\nexport\tKEDRO_GRAPHQL_EVENT_CONFIG=x", v);
    assert_string_equal(v[VAR_CANONICAL].value, "{}");
    assert_string_equal(v[VAR_ALIAS].value, "x");
    assert_int_equal(v[VAR_ALIAS].line, 2);
    free_vars(v);
}

static void dotenv_tolerates_whitespace_around_key_and_equals(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("  KEDRO_GRAPHQL_EVENTS_CONFIG \t=  {\"a\": 1}  \n", v);
    assert_string_equal(v[VAR_CANONICAL].value, "{\"a\": 1}");
    free_vars(v);
}

static void dotenv_unquoted_value_is_trimmed_and_comment_stripped(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG= a b  # a comment\n"
              "KEDRO_GRAPHQL_EVENT_CONFIG=a#b\n"
              "KEDROG_GRAPHQL_EVENTS_CONFIG=#x",
              v);
    assert_string_equal(v[VAR_CANONICAL].value, "a b");
    assert_string_equal(v[VAR_ALIAS].value, "a#b");
    assert_string_equal(v[VAR_TYPO].value, "#x");
    free_vars(v);
}

static void dotenv_single_quoted_value_keeps_json(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG='{\"event00\": {\"source\": \"example.com\", \"type\": "
              "\"com.example.event\"}}'  # comment\n",
              v);
    assert_string_equal(v[VAR_CANONICAL].value,
                        "{\"event00\": {\"source\": \"example.com\", \"type\": "
                        "\"com.example.event\"}}");
    free_vars(v);
}

static void dotenv_single_quotes_decode_only_backslash_and_quote(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    /* As python-dotenv: \\ and \' decoded, \n and others kept. */
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG='a\\\\b\\'c\\n\\u0041 #x'\n", v);
    assert_string_equal(v[VAR_CANONICAL].value, "a\\b'c\\n\\u0041 #x");
    free_vars(v);
}

static void dotenv_double_quoted_value_decodes_escapes(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG=\"{\\\"a\\\": \\\"b\\\"}\\n\\t\\\\x\\q\\u0041'\"\n", v);
    assert_string_equal(v[VAR_CANONICAL].value, "{\"a\": \"b\"}\n\t\\x\\q\\u0041'");
    free_vars(v);
}

static void dotenv_quoted_value_may_span_lines(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("OTHER=1\nKEDRO_GRAPHQL_EVENTS_CONFIG='{\n  \"e\": 1\n}'\n"
              "KEDRO_GRAPHQL_EVENT_CONFIG=\"x\ny\"\nKEDROG_GRAPHQL_EVENTS_CONFIG=z\n",
              v);
    assert_string_equal(v[VAR_CANONICAL].value, "{\n  \"e\": 1\n}");
    assert_int_equal(v[VAR_CANONICAL].line, 2);
    assert_string_equal(v[VAR_ALIAS].value, "x\ny");
    assert_int_equal(v[VAR_ALIAS].line, 5);
    assert_int_equal(v[VAR_TYPO].line, 7);
    free_vars(v);
}

static void dotenv_counts_crlf_lines(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok(
        "# c\r\nA=1\r\n\r\nKEDRO_GRAPHQL_EVENTS_CONFIG='{}'\r\nKEDRO_GRAPHQL_EVENT_CONFIG=x\r\n",
        v);
    assert_string_equal(v[VAR_CANONICAL].value, "{}");
    assert_int_equal(v[VAR_CANONICAL].line, 4);
    assert_string_equal(v[VAR_ALIAS].value, "x");
    assert_int_equal(v[VAR_ALIAS].line, 5);
    free_vars(v); /* As Python's universal newlines: \r\n and \r read as \n, inside quotes too. */
    dotenv_ok("A=1\rKEDRO_GRAPHQL_EVENTS_CONFIG='a\r\nb\rc'\r\nKEDRO_GRAPHQL_EVENT_CONFIG=x", v);
    assert_string_equal(v[VAR_CANONICAL].value, "a\nb\nc");
    assert_int_equal(v[VAR_CANONICAL].line, 2);
    assert_int_equal(v[VAR_ALIAS].line, 5);
    free_vars(v);
}

static void dotenv_last_assignment_wins_and_bare_name_unsets(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG=1\nKEDRO_GRAPHQL_EVENTS_CONFIG=2\n"
              "KEDRO_GRAPHQL_EVENT_CONFIG=3\nKEDRO_GRAPHQL_EVENT_CONFIG\n",
              v);
    assert_string_equal(v[VAR_CANONICAL].value, "2");
    assert_int_equal(v[VAR_CANONICAL].line, 2);
    assert_null(v[VAR_ALIAS].value);
    free_vars(v);
}

static void dotenv_ignores_other_names(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("PATH=/x\nKEDRO_GRAPHQL_EVENTS_CONFIGX=1\nXKEDRO_GRAPHQL_EVENTS_CONFIG=2\n"
              "kedro_graphql_events_config=3\nEMPTY=\n",
              v);
    assert_null(v[VAR_CANONICAL].value);
    assert_null(v[VAR_ALIAS].value);
    assert_null(v[VAR_TYPO].value);
    free_vars(v);
}

static void dotenv_reads_empty_values(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG=\nKEDRO_GRAPHQL_EVENT_CONFIG=''\n"
              "KEDROG_GRAPHQL_EVENTS_CONFIG=   ",
              v);
    assert_string_equal(v[VAR_CANONICAL].value, "");
    assert_string_equal(v[VAR_ALIAS].value, "");
    assert_string_equal(v[VAR_TYPO].value, "");
    free_vars(v);
}

static void dotenv_accepts_quoted_name(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("'KEDRO_GRAPHQL_EVENTS_CONFIG' = '{}'", v);
    assert_string_equal(v[VAR_CANONICAL].value, "{}");
    free_vars(v);
}

static void dotenv_finds_closing_quote_like_python_dotenv(void **state)
{
    dotenv_var v[VAR_COUNT];

    (void)state;
    dotenv_ok("KEDRO_GRAPHQL_EVENT_CONFIG='a\\'b'\n", v);
    assert_string_equal(v[VAR_ALIAS].value, "a'b");
    free_vars(v);
    /* No unescaped quote follows: the regex backtracks to the last escaped one. */
    dotenv_ok("KEDRO_GRAPHQL_EVENTS_CONFIG='C:\\dir\\'\n", v);
    assert_string_equal(v[VAR_CANONICAL].value, "C:\\dir\\");
    free_vars(v);
    /* An unescaped quote on a later line closes the value there, text after it is refused. */
    dotenv_fails("KEDRO_GRAPHQL_EVENTS_CONFIG='C:\\dir\\'\nB='x'\n", ".env:1: cannot parse");
}

static void dotenv_rejects_malformed_lines(void **state)
{
    (void)state;
    dotenv_fails("A=1\nKEDRO_GRAPHQL_EVENTS_CONFIG='{\"a\": 1}\n",
                 ".env:2: cannot parse this line: "
                 "unterminated single-quoted");
    dotenv_fails("A=\"abc\n", ".env:1: cannot parse this line: unterminated double-quoted");
    dotenv_fails("\n\nA='x' y\n", ".env:3: cannot parse this line: unexpected text after");
    dotenv_fails("# c\nthis is not an assignment\n", ".env:2: cannot parse this line: expected "
                                                     "NAME=VALUE");
    dotenv_fails("=value\n", ".env:1");
    dotenv_fails("'' = x\n", ".env:1");
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
        T(parse_rejects_nul_escape_and_raw_control_characters),
        T(parse_quotes_names_safely_in_messages),
        T(dotenv_skips_blank_lines_and_comments),
        T(dotenv_accepts_export_prefix),
        T(dotenv_tolerates_whitespace_around_key_and_equals),
        T(dotenv_unquoted_value_is_trimmed_and_comment_stripped),
        T(dotenv_single_quoted_value_keeps_json),
        T(dotenv_single_quotes_decode_only_backslash_and_quote),
        T(dotenv_double_quoted_value_decodes_escapes),
        T(dotenv_quoted_value_may_span_lines),
        T(dotenv_counts_crlf_lines),
        T(dotenv_last_assignment_wins_and_bare_name_unsets),
        T(dotenv_ignores_other_names),
        T(dotenv_reads_empty_values),
        T(dotenv_accepts_quoted_name),
        T(dotenv_finds_closing_quote_like_python_dotenv),
        T(dotenv_rejects_malformed_lines),
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
