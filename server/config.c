/* config.c -- the event configuration: finds its text (flag, environment, .env file) and
 * validates it into a ke_config. */
#include "config.h"
#include "dotenv.h"
#include "names.h"
#include "text.h" /* and the client library's kec_json_kind */

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALLOWED_KEYS "source, type, parameters, tags"
#define OBJECT_SHAPE "{\"source\", \"type\"}"

/* The variables the configuration may come from, indexed by enum var. */
enum var { VAR_CANONICAL, VAR_ALIAS, VAR_TYPO, VAR_COUNT };
static const char *const var_names[VAR_COUNT] = {KE_CONFIG_ENV, KE_CONFIG_ENV_ALIAS,
                                                 KE_CONFIG_ENV_TYPO};

/* State of a JSON configuration parse. */
typedef struct parser {
    const char *origin; /* where the text came from, for messages */
    const char *text;   /* the JSON text (valid JSON once cJSON accepted it) */
    size_t len;         /* its length */
    ke_error *err;      /* receives the first error */
} parser;

/* ---- small helpers */

/* The 1-based line and column (in characters) of byte off of text. */
static void position(const char *text, size_t off, unsigned *line, unsigned *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    for (i = 0; i < off; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

static int is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether text holds nothing but whitespace. */
static int is_blank(const char *text, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (!is_json_space(text[i]) && text[i] != '\f' && text[i] != '\v')
            return 0;
    return 1;
}

/* ---- JSON configuration */

/* Whether s equals one of the NULL-terminated names. */
static int is_one_of(const char *s, const char *const *names)
{
    for (; *names != NULL; names++)
        if (strcmp(s, *names) == 0)
            return 1;
    return 0;
}

/* Fills kv with copies of key, value and type; KE_ENOMEM when a copy fails (kv keeps
 * what it got, for ke_config_free). */
static int set_kv(ke_kv *kv, const char *key, const char *value, size_t value_len, const char *type,
                  ke_error *err)
{
    kv->key = strdup(key);
    kv->value = strndup(value, value_len);
    kv->type = strdup(type);
    if (kv->key == NULL || kv->value == NULL || kv->type == NULL)
        return ke_error_set(err, KE_ENOMEM, "out of memory reading the event configuration");
    return KE_OK;
}

/* Validates an entry's "parameters" or "tags" object (what names "parameter" or "tag")
 * into *kvs / *n. Parameters take strings, numbers and booleans; tags only strings. */
static int parse_extras(parser *p, const char *entry, const cJSON *obj, int tags, ke_kv **kvs,
                        size_t *n)
{
    static const char *const reserved_tags[] = {"event_id", "event_source", "event_type", NULL};
    const char *what = tags ? "tag" : "parameter", *key = tags ? "tags" : "parameters";
    char q[KE_QUOTE_CAP];
    const cJSON *v;
    size_t count = 0, i;
    const char *tok, *type;
    char num[KEC_NUMBER_TEXT_MAX];
    int rc;

    if (!cJSON_IsObject(obj))
        return ke_error_set(
            p->err, KE_ECONFIG, "%s: entry %s: \"%s\" must be an object of %s, got %s", p->origin,
            entry, key, tags ? "keys to strings" : "names to strings, numbers or booleans",
            kec_json_kind(obj));
    for (v = obj->child; v != NULL; v = v->next)
        count++;
    if (count > KE_CONFIG_MAX_EXTRAS)
        return ke_error_set(p->err, KE_ECONFIG,
                            "%s: entry %s: \"%s\" has %zu entries, more than the limit of %d",
                            p->origin, entry, key, count, KE_CONFIG_MAX_EXTRAS);
    if (count == 0)
        return KE_OK;
    *kvs = calloc(count, sizeof **kvs);
    if (*kvs == NULL)
        return ke_error_set(p->err, KE_ENOMEM, "out of memory reading the event configuration");
    for (v = obj->child; v != NULL; v = v->next) {
        ke_kv *kv = &(*kvs)[*n];

        ke_quote(q, v->string);
        if (v->string[0] == '\0')
            return ke_error_set(p->err, KE_ECONFIG, "%s: entry %s: a %s name must be non-empty",
                                p->origin, entry, what);
        if (!tags && ke_param_name_reserved(v->string))
            return ke_error_set(p->err, KE_ECONFIG, "%s: entry %s: parameter %s %s", p->origin,
                                entry, q, ke_param_reserved_msg);
        if (tags && is_one_of(v->string, reserved_tags))
            return ke_error_set(p->err, KE_ECONFIG,
                                "%s: entry %s: tag %s is reserved: every run gets its own",
                                p->origin, entry, q);
        for (i = 0; i < *n; i++)
            if (strcmp((*kvs)[i].key, v->string) == 0)
                return ke_error_set(p->err, KE_ECONFIG, "%s: entry %s: %s %s appears twice",
                                    p->origin, entry, what, q);
        ++*n;
        if (!tags && cJSON_IsNumber(v) && !isfinite(v->valuedouble))
            return ke_error_set(p->err, KE_ECONFIG,
                                "%s: entry %s: parameter %s is out of a double's range", p->origin,
                                entry, q);
        /* Typed by value, as the shim types CreatePipeline's: integral numbers that a double
         * holds exactly are ints ("1.0" too), others floats, written back exactly. */
        type = tags && !cJSON_IsString(v) ? NULL : kec_json_scalar(v, num, &tok);
        if (type != NULL) {
            rc = set_kv(kv, v->string, tok, strlen(tok), type, p->err);
        } else {
            return ke_error_set(
                p->err, KE_ECONFIG, "%s: entry %s: %s %s must be %s, got %s", p->origin, entry,
                what, q, tags ? "a string" : "a string, number or boolean", kec_json_kind(v));
        }
        if (rc != KE_OK)
            return rc;
    }
    return KE_OK;
}

/* Checks that an entry's "source" or "type" (v, NULL when missing) is a non-empty string. */
static int check_match_key(const parser *p, const char *entry, const char *key, const cJSON *v)
{
    const char *got, *what = "";

    if (v == NULL) {
        got = ", but is missing";
    } else if (!cJSON_IsString(v)) {
        got = ", got ";
        what = kec_json_kind(v);
    } else if (v->valuestring[0] == '\0') {
        got = ", got an empty string";
    } else {
        return KE_OK;
    }
    return ke_error_set(p->err, KE_ECONFIG, "%s: entry %s: \"%s\" must be a non-empty string%s%s",
                        p->origin, entry, key, got, what);
}

/* Validates one entry (e: its key is the pipeline name) into r. Values are visited in
 * document order. On failure r holds what it got. */
static int parse_entry(parser *p, const cJSON *e, ke_route *r)
{
    const cJSON *source = NULL, *type = NULL, *params = NULL, *tags = NULL, *k, **slot;
    char q[KE_QUOTE_CAP], qk[KE_QUOTE_CAP];
    ke_error bad;
    int rc;

    ke_quote(q, e->string);
    if (!cJSON_IsObject(e))
        return ke_error_set(p->err, KE_ECONFIG,
                            "%s: entry %s must be an object with \"source\" and \"type\", got %s",
                            p->origin, q, kec_json_kind(e));
    ke_error_clear(&bad);
    if (ke_pipeline_name_check(e->string, "entry", &bad) != KE_OK)
        return ke_error_set(p->err, KE_ECONFIG, "%s: %s", p->origin, bad.msg);
    for (k = e->child; k != NULL; k = k->next) {
        if (strcmp(k->string, "source") == 0)
            slot = &source;
        else if (strcmp(k->string, "type") == 0)
            slot = &type;
        else if (strcmp(k->string, "parameters") == 0)
            slot = &params;
        else if (strcmp(k->string, "tags") == 0)
            slot = &tags;
        else
            return ke_error_set(p->err, KE_ECONFIG,
                                "%s: entry %s: unknown key %s (allowed: " ALLOWED_KEYS ")",
                                p->origin, q, ke_quote(qk, k->string));
        if (*slot != NULL)
            return ke_error_set(p->err, KE_ECONFIG, "%s: entry %s: key \"%s\" appears twice",
                                p->origin, q, k->string);
        *slot = k;
        if (slot == &source || slot == &type)
            rc = check_match_key(p, q, k->string, k);
        else
            rc = parse_extras(p, q, k, slot == &tags, slot == &tags ? &r->tags : &r->params,
                              slot == &tags ? &r->n_tags : &r->n_params);
        if (rc != KE_OK)
            return rc;
    }
    rc = check_match_key(p, q, "source", source);
    if (rc == KE_OK)
        rc = check_match_key(p, q, "type", type);
    if (rc != KE_OK)
        return rc;
    r->pipeline = strdup(e->string);
    r->source = strdup(source->valuestring);
    r->type = strdup(type->valuestring);
    if (r->pipeline == NULL || r->source == NULL || r->type == NULL)
        return ke_error_set(p->err, KE_ENOMEM, "out of memory reading the event configuration");
    return KE_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Refuses a pipeline named by two entries (cJSON keeps both); sorting keeps it
 * O(n log n) for the largest configurations. */
static int check_unique_pipelines(const parser *p, const ke_config *cfg)
{
    const char **names = NULL;
    char q[KE_QUOTE_CAP];
    size_t i;
    int rc = KE_OK;

    if (cfg->n_routes < 2)
        return KE_OK;
    names = malloc(cfg->n_routes * sizeof *names);
    if (names == NULL)
        return ke_error_set(p->err, KE_ENOMEM, "out of memory reading the event configuration");
    for (i = 0; i < cfg->n_routes; i++)
        names[i] = cfg->routes[i].pipeline;
    qsort(names, cfg->n_routes, sizeof *names, compare_names);
    for (i = 1; i < cfg->n_routes; i++) {
        if (strcmp(names[i - 1], names[i]) == 0) {
            rc = ke_error_set(p->err, KE_ECONFIG,
                              "%s: pipeline %s is listed twice (one entry per pipeline; several "
                              "pipelines may share a source and type)",
                              p->origin, ke_quote(q, names[i]));
            break;
        }
    }
    free(names);
    return rc;
}

/* Validates the parsed top-level object into cfg. */
static int parse_routes(parser *p, const cJSON *root, ke_config *cfg)
{
    const cJSON *e;
    size_t n = 0;
    int rc;

    if (!cJSON_IsObject(root))
        return ke_error_set(p->err, KE_ECONFIG,
                            "%s: must be a JSON object mapping pipeline names to " OBJECT_SHAPE
                            ", got %s",
                            p->origin, kec_json_kind(root));
    for (e = root->child; e != NULL; e = e->next)
        n++;
    if (n > KE_CONFIG_MAX_ROUTES)
        return ke_error_set(p->err, KE_ECONFIG, "%s: %zu entries, more than the limit of %d",
                            p->origin, n, KE_CONFIG_MAX_ROUTES);
    if (n == 0)
        return KE_OK;
    cfg->routes = calloc(n, sizeof *cfg->routes);
    if (cfg->routes == NULL)
        return ke_error_set(p->err, KE_ENOMEM, "out of memory reading the event configuration");
    for (e = root->child; e != NULL; e = e->next) {
        /* Counted before it is filled, so ke_config_free sees a partial entry. */
        rc = parse_entry(p, e, &cfg->routes[cfg->n_routes++]);
        if (rc != KE_OK)
            return rc;
    }
    return check_unique_pipelines(p, cfg);
}

int ke_config_parse(const char *json, size_t len, const char *origin, ke_config **out,
                    ke_error *err)
{
    parser p = {0};
    ke_config *cfg = NULL;
    cJSON *root = NULL;
    kec_json_fault fault;
    unsigned line, col;
    size_t off, bom;
    int rc = KE_OK, jrc;

    *out = NULL;
    if (origin == NULL)
        origin = "event configuration";
    if (json == NULL)
        len = 0;
    p.origin = origin;
    p.text = json;
    p.len = len;
    p.err = err;
    if (len > KE_CONFIG_MAX_BYTES) {
        rc = ke_error_set(err, KE_ECONFIG, "%s: %zu bytes, more than the limit of %d bytes", origin,
                          len, KE_CONFIG_MAX_BYTES);
        goto out;
    }
    if (is_blank(json, len)) {
        rc = ke_error_set(
            err, KE_ECONFIG,
            "%s: is empty: expected a JSON object mapping pipeline names to " OBJECT_SHAPE, origin);
        goto out;
    }
    if (memchr(json, '\0', len) != NULL || kec_utf8_invalid_at(json, len) >= 0) {
        off = memchr(json, '\0', len) != NULL
                  ? (size_t)((const char *)memchr(json, '\0', len) - json)
                  : (size_t)kec_utf8_invalid_at(json, len);
        position(json, off, &line, &col);
        rc = ke_error_set(err, KE_ECONFIG, "%s: %s at line %u, column %u", origin,
                          json[off] == '\0' ? "NUL byte" : "not valid UTF-8", line, col);
        goto out;
    }
    bom = len >= 3 && memcmp(json, "\xef\xbb\xbf", 3) == 0 ? 3 : 0; /* allowed, as ever */
    jrc = kec_json_parse(json + bom, len - bom, KEC_JSON_MAX_DEPTH, KEC_JSON_RAW_CONTROLS, &root,
                         &fault);
    if (jrc == KEC_JSON_ENOMEM) {
        rc = ke_error_set(err, KE_ENOMEM, "%s: %s", origin, fault.reason);
        goto out;
    }
    if (jrc != KEC_JSON_OK) {
        position(json, bom + fault.offset, &line, &col);
        rc = ke_error_set(err, KE_ECONFIG, "%s: not valid JSON at line %u, column %u: %s", origin,
                          line, col, fault.reason);
        goto out;
    }
    if (ke_json_has_nul_escape(json, len)) {
        /* cJSON would cut the string there, silently changing a name or value */
        rc = ke_error_set(err, KE_ECONFIG, "%s: \\u0000 in a string is not allowed", origin);
        goto out;
    }
    cfg = calloc(1, sizeof *cfg);
    if (cfg != NULL)
        cfg->origin = strdup(origin);
    if (cfg == NULL || cfg->origin == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "out of memory reading the event configuration");
        goto out;
    }
    rc = parse_routes(&p, root, cfg);
out:
    cJSON_Delete(root);
    if (rc != KE_OK) {
        ke_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return KE_OK;
}

static void free_kvs(ke_kv *kvs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(kvs[i].key);
        free(kvs[i].value);
        free(kvs[i].type);
    }
    free(kvs);
}

void ke_config_free(ke_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < cfg->n_routes; i++) {
        ke_route *r = &cfg->routes[i];

        free(r->pipeline);
        free(r->source);
        free(r->type);
        free_kvs(r->params, r->n_params);
        free_kvs(r->tags, r->n_tags);
    }
    free(cfg->routes);
    free(cfg->origin);
    free(cfg);
}

/* ---- finding the configuration */

static void warn_msg(ke_warn_fn warn, void *ud, const char *msg)
{
    if (warn != NULL)
        warn(ud, msg);
}

/* Parses text (NUL-terminated) from origin, refusing a value that is set but empty. */
static int parse_text(const char *text, const char *origin, ke_config **out, ke_error *err)
{
    size_t len = strlen(text);

    if (is_blank(text, len))
        return ke_error_set(err, KE_ECONFIG, "%s is set but empty", origin);
    return ke_config_parse(text, len, origin, out, err);
}

/* The configuration given by --events-config: JSON text, or @FILE. */
static int load_flag(const char *flag, ke_config **out, ke_error *err)
{
    char *origin = NULL, *text = NULL;
    size_t len;
    int e, rc;

    if (flag[0] != '@')
        return parse_text(flag, "--events-config", out, err);
    if (flag[1] == '\0')
        return ke_error_set(err, KE_ECONFIG, "--events-config @: a file name must follow '@'");
    if (asprintf(&origin, "--events-config %s", flag) < 0)
        return ke_error_set(err, KE_ENOMEM, "out of memory reading the event configuration");
    e = ke_read_file(flag + 1, KE_CONFIG_MAX_BYTES, &text, &len);
    if (e == ENOMEM)
        rc = ke_error_set(err, KE_ENOMEM, "out of memory reading %s", flag + 1);
    else if (e == EFBIG)
        rc = ke_error_set(err, KE_ECONFIG, "%s: larger than the limit of %d bytes", origin,
                          KE_CONFIG_MAX_BYTES);
    else if (e != 0)
        rc = ke_error_set(err, KE_ECONFIG, "%s: cannot read: %s", origin, strerror(e));
    else if (is_blank(text, len))
        rc = ke_error_set(err, KE_ECONFIG, "%s: the file is empty", origin);
    else
        rc = ke_config_parse(text, len, origin, out, err);
    free(text);
    free(origin);
    return rc;
}

/* Picks the canonical variable, or else the alias, from values (NULL: not set), warning
 * about the alias. Returns the index picked, or -1 when neither is set. */
static int pick(const char *const values[VAR_COUNT], ke_warn_fn warn, void *ud)
{
    if (values[VAR_CANONICAL] != NULL) {
        if (values[VAR_ALIAS] != NULL)
            warn_msg(warn, ud, KE_CONFIG_ENV_ALIAS " is ignored: " KE_CONFIG_ENV " is set");
        return VAR_CANONICAL;
    }
    if (values[VAR_ALIAS] != NULL) {
        warn_msg(warn, ud, KE_CONFIG_ENV_ALIAS " is read as " KE_CONFIG_ENV "; rename it");
        return VAR_ALIAS;
    }
    return -1;
}

int ke_config_load(const char *flag, const char *dotenv_path, ke_warn_fn warn, void *ud,
                   ke_config **out, ke_error *err)
{
    static const char typo_msg[] = KE_CONFIG_ENV_TYPO " is not read (typo?): set " KE_CONFIG_ENV;
    ke_dotenv_var dot[VAR_COUNT] = {{0}};
    const char *values[VAR_COUNT];
    char *origin = NULL;
    int rc = KE_OK, v, picked, n;

    *out = NULL;
    if (flag != NULL)
        return load_flag(flag, out, err);
    for (v = 0; v < VAR_COUNT; v++)
        values[v] = getenv(var_names[v]);
    if (values[VAR_TYPO] != NULL)
        warn_msg(warn, ud, typo_msg);
    picked = pick(values, warn, ud);
    if (picked >= 0) {
        n = asprintf(&origin, "%s (environment)", var_names[picked]);
    } else {
        /* Only when the environment has no configuration: an unrelated broken .env
         * must not stop a server configured through the environment. */
        if (dotenv_path == NULL)
            goto out;
        for (v = 0; v < VAR_COUNT; v++)
            dot[v].name = var_names[v];
        rc = ke_dotenv_read(dotenv_path, dot, VAR_COUNT, err);
        if (rc != KE_OK)
            goto out;
        if (dot[VAR_TYPO].value != NULL && values[VAR_TYPO] == NULL)
            warn_msg(warn, ud, typo_msg);
        for (v = 0; v < VAR_COUNT; v++)
            values[v] = dot[v].value;
        picked = pick(values, warn, ud);
        if (picked < 0)
            goto out;
        n = asprintf(&origin, "%s (%s:%u)", var_names[picked], dotenv_path, dot[picked].line);
    }
    if (n < 0) {
        origin = NULL;
        rc = ke_error_set(err, KE_ENOMEM, "out of memory reading the event configuration");
        goto out;
    }
    rc = parse_text(values[picked], origin, out, err);
out:
    for (v = 0; v < VAR_COUNT; v++)
        free(dot[v].value);
    free(origin);
    return rc;
}
