/* config.c -- the event configuration: finds its text (flag, environment, .env file) and
 * validates it into a ke_config. */
#include "config.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_SHOWN 64                     /* bytes of a name quoted in a message */
#define QUOTED_SIZE (NAME_SHOWN * 4 + 16) /* room for quote(): \xNN per byte, "...", quotes */
#define DOTENV_MAX_BYTES (8 << 20)        /* largest .env file read */
#define ALLOWED_KEYS "source, type, parameters, tags"
#define OBJECT_SHAPE "{\"source\", \"type\"}"

/* The variables the configuration may come from, indexed by enum var. */
enum var { VAR_CANONICAL, VAR_ALIAS, VAR_TYPO, VAR_COUNT };
static const char *const var_names[VAR_COUNT] = {KE_CONFIG_ENV, KE_CONFIG_ENV_ALIAS,
                                                 KE_CONFIG_ENV_TYPO};

/* One of our variables as a .env file sets it. */
typedef struct dotenv_var {
    char *value;   /* its value (heap), NULL when not set */
    unsigned line; /* line of the assignment that set it */
} dotenv_var;

/* State of a JSON configuration parse. */
typedef struct parser {
    const char *origin; /* where the text came from, for messages */
    const char *text;   /* the JSON text (valid JSON once cJSON accepted it) */
    size_t len;         /* its length */
    size_t num;         /* where to look for the next number token */
    ke_error *err;      /* receives the first error */
} parser;

/* A .env file being read. */
typedef struct dotenv {
    const char *path; /* file name, for messages and origins */
    const char *s;    /* its text, NUL-terminated */
    size_t i;         /* read position */
    unsigned line;    /* line of s[i], from 1 */
    ke_error *err;    /* receives the first error */
} dotenv;

/* ---- small helpers */

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *dup_s(const char *s)
{
    return dup_n(s, strlen(s));
}

/* Writes s into buf as a double-quoted name fit for a message: quotes, backslashes and
 * control characters escaped, cut after NAME_SHOWN bytes with "...". Returns buf. */
static const char *quote(char buf[QUOTED_SIZE], const char *s)
{
    size_t o = 0, i;

    buf[o++] = '"';
    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];

        if (i >= NAME_SHOWN && (c & 0xC0) != 0x80) { /* cut between characters */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, QUOTED_SIZE - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* "an array", "a string"... for messages about a value of the wrong kind. */
static const char *kind(const cJSON *v)
{
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    return "an unknown value";
}

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

/* The offset of the first byte of s that is NUL or not part of valid UTF-8 (no overlong
 * forms, surrogates or code points above U+10FFFF), or len when there is none. */
static size_t utf8_invalid(const unsigned char *s, size_t len)
{
    size_t i = 0, n, k;
    unsigned char lo, hi;

    while (i < len) {
        unsigned char c = s[i];

        lo = 0x80;
        hi = 0xBF;
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return i;
        }
        if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += n + 1;
    }
    return len;
}

/* The offset just past the JSON string that opens at s[i] == '"' (s is valid JSON). */
static size_t skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len && s[i] != '"'; i++)
        if (s[i] == '\\')
            i++;
    return i + 1;
}

/* Checks what cJSON lets through but JSON (and the rest of our pipeline) does not: a
 * string holding \u0000 (cJSON cuts the string there) or a raw control character. */
static int check_strings(const parser *p)
{
    const char *s = p->text;
    unsigned line, col;
    size_t i = 0, j;

    while (i < p->len) {
        if (s[i] != '"') {
            i++;
            continue;
        }
        for (j = i + 1; j < p->len && s[j] != '"'; j++) {
            if ((unsigned char)s[j] < 0x20) {
                position(s, j, &line, &col);
                return ke_error_set(p->err, KE_ECONFIG,
                                    "%s: raw control character in a string at line %u, column "
                                    "%u (write it as an escape)",
                                    p->origin, line, col);
            }
            if (s[j] != '\\')
                continue;
            if (p->len - j >= 6 && memcmp(s + j + 1, "u0000", 5) == 0) {
                position(s, j, &line, &col);
                return ke_error_set(p->err, KE_ECONFIG,
                                    "%s: \\u0000 in a string at line %u, column %u is not "
                                    "allowed",
                                    p->origin, line, col);
            }
            j++;
        }
        i = j + 1;
    }
    return KE_OK;
}

/* The next number token of the text after p->num: cJSON keeps only a double, so the
 * parameter's value is taken from the token as written (10 stays "10"). The walk over the
 * parsed tree visits every value in document order, so the n-th number it meets is the
 * n-th number token. Returns its length, 0 when there is none. */
static size_t next_number(parser *p, const char **tok)
{
    const char *s = p->text;
    size_t start;

    *tok = s + p->len;
    while (p->num < p->len) {
        char c = s[p->num];

        if (c == '"') {
            p->num = skip_string(s, p->len, p->num);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            start = p->num;
            while (p->num < p->len && s[p->num] != '\0' && strchr("+-.eE0123456789", s[p->num]))
                p->num++;
            *tok = s + start;
            return p->num - start;
        } else {
            p->num++;
        }
    }
    return 0;
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
    kv->key = dup_s(key);
    kv->value = dup_n(value, value_len);
    kv->type = dup_s(type);
    if (kv->key == NULL || kv->value == NULL || kv->type == NULL)
        return ke_error_set(err, KE_ENOMEM, "out of memory reading the event configuration");
    return KE_OK;
}

/* Validates an entry's "parameters" or "tags" object (what names "parameter" or "tag")
 * into *kvs / *n. Parameters take strings, numbers and booleans; tags only strings. */
static int parse_extras(parser *p, const char *entry, const cJSON *obj, int tags, ke_kv **kvs,
                        size_t *n)
{
    static const char *const reserved_params[] = {"id", "event", NULL};
    static const char *const reserved_tags[] = {"event_id", "event_source", "event_type", NULL};
    const char *what = tags ? "tag" : "parameter", *key = tags ? "tags" : "parameters";
    char q[QUOTED_SIZE];
    const cJSON *v;
    size_t count = 0, i;
    const char *tok;
    size_t tok_len;
    int rc, is_float;

    if (!cJSON_IsObject(obj))
        return ke_error_set(
            p->err, KE_ECONFIG, "%s: entry %s: \"%s\" must be an object of %s, got %s", p->origin,
            entry, key, tags ? "keys to strings" : "names to strings, numbers or booleans",
            kind(obj));
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

        quote(q, v->string);
        if (v->string[0] == '\0')
            return ke_error_set(p->err, KE_ECONFIG, "%s: entry %s: a %s name must be non-empty",
                                p->origin, entry, what);
        if (is_one_of(v->string, tags ? reserved_tags : reserved_params))
            return ke_error_set(p->err, KE_ECONFIG,
                                "%s: entry %s: %s %s is reserved: every run gets its own",
                                p->origin, entry, what, q);
        for (i = 0; i < *n; i++)
            if (strcmp((*kvs)[i].key, v->string) == 0)
                return ke_error_set(p->err, KE_ECONFIG, "%s: entry %s: %s %s appears twice",
                                    p->origin, entry, what, q);
        ++*n;
        if (cJSON_IsString(v)) {
            rc = set_kv(kv, v->string, v->valuestring, strlen(v->valuestring), "string", p->err);
        } else if (!tags && cJSON_IsBool(v)) {
            tok = cJSON_IsTrue(v) ? "true" : "false";
            rc = set_kv(kv, v->string, tok, strlen(tok), "bool", p->err);
        } else if (!tags && cJSON_IsNumber(v)) {
            tok_len = next_number(p, &tok);
            assert(tok_len > 0); /* the walk and the token scan stay in step */
            is_float =
                memchr(tok, '.', tok_len) || memchr(tok, 'e', tok_len) || memchr(tok, 'E', tok_len);
            rc = set_kv(kv, v->string, tok, tok_len, is_float ? "float" : "int", p->err);
        } else {
            return ke_error_set(p->err, KE_ECONFIG, "%s: entry %s: %s %s must be %s, got %s",
                                p->origin, entry, what, q,
                                tags ? "a string" : "a string, number or boolean", kind(v));
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
        what = kind(v);
    } else if (v->valuestring[0] == '\0') {
        got = ", got an empty string";
    } else {
        return KE_OK;
    }
    return ke_error_set(p->err, KE_ECONFIG, "%s: entry %s: \"%s\" must be a non-empty string%s%s",
                        p->origin, entry, key, got, what);
}

/* Validates one entry (e: its key is the pipeline name) into r. Values are visited in
 * document order, which keeps next_number in step. On failure r holds what it got. */
static int parse_entry(parser *p, const cJSON *e, ke_route *r)
{
    const cJSON *source = NULL, *type = NULL, *params = NULL, *tags = NULL, *k, **slot;
    char q[QUOTED_SIZE], qk[QUOTED_SIZE];
    int rc;

    quote(q, e->string);
    if (e->string[0] == '\0')
        return ke_error_set(p->err, KE_ECONFIG,
                            "%s: entry \"\": the pipeline name must be non-empty", p->origin);
    if (!cJSON_IsObject(e))
        return ke_error_set(p->err, KE_ECONFIG,
                            "%s: entry %s must be an object with \"source\" and \"type\", got %s",
                            p->origin, q, kind(e));
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
                                p->origin, q, quote(qk, k->string));
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
    r->pipeline = dup_s(e->string);
    r->source = dup_s(source->valuestring);
    r->type = dup_s(type->valuestring);
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
    char q[QUOTED_SIZE];
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
                              p->origin, quote(q, names[i]));
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
                            p->origin, kind(root));
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
    const char *end = NULL;
    unsigned line, col;
    size_t off;
    int rc = KE_OK;

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
    off = utf8_invalid((const unsigned char *)json, len);
    if (off < len) {
        position(json, off, &line, &col);
        rc = ke_error_set(err, KE_ECONFIG, "%s: %s at line %u, column %u", origin,
                          json[off] == '\0' ? "NUL byte" : "not valid UTF-8", line, col);
        goto out;
    }
    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    off = end == NULL ? 0 : (size_t)(end - json);
    if (off > len)
        off = len;
    if (root == NULL) {
        position(json, off, &line, &col);
        rc = ke_error_set(err, KE_ECONFIG, "%s: not valid JSON at line %u, column %u", origin, line,
                          col);
        goto out;
    }
    while (off < len && is_json_space(json[off]))
        off++;
    if (off < len) {
        position(json, off, &line, &col);
        rc = ke_error_set(err, KE_ECONFIG,
                          "%s: not valid JSON at line %u, column %u: text after the value", origin,
                          line, col);
        goto out;
    }
    rc = check_strings(&p);
    if (rc != KE_OK)
        goto out;
    cfg = calloc(1, sizeof *cfg);
    if (cfg != NULL)
        cfg->origin = dup_s(origin);
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

/* ---- files */

/* Reads the whole of path, at most max bytes, into a NUL-terminated heap buffer *buf
 * (owned by the caller) of *len bytes. Returns 0, or an errno value: EFBIG when the file
 * is larger than max, ENOMEM, or what fopen/fread said. */
static int read_file(const char *path, size_t max, char **buf, size_t *len)
{
    FILE *f = NULL;
    char *b = NULL, *nb;
    size_t n = 0, cap = 0, got;
    int e = 0;

    *buf = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        e = errno;
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                e = EFBIG;
                goto out;
            }
            cap = cap == 0 ? 4096 : cap * 2;
            if (cap > max + 1)
                cap = max + 1; /* one byte more than allowed tells "too large" */
            nb = realloc(b, cap + 1);
            if (nb == NULL) {
                e = ENOMEM;
                goto out;
            }
            b = nb;
        }
        errno = 0;
        got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                e = errno != 0 ? errno : EIO;
            break;
        }
    }
out:
    if (f != NULL)
        fclose(f);
    if (e != 0) {
        free(b);
        return e;
    }
    if (b == NULL)
        b = malloc(1); /* an empty file still gets its NUL */
    if (b == NULL)
        return ENOMEM;
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* ---- .env files, read the way python-dotenv reads them (kedro-graphql shares the file):
 * KEY=VALUE lines, optional `export `, `#` comments, values unquoted (trimmed, ` #` starts
 * a comment), single-quoted (only \\ and \' decoded) or double-quoted (\\ \' \" \a \b \f
 * \n \r \t \v decoded), quoted ones over several lines if need be; line ends read as
 * "\n" whatever they were (Python's universal newlines). ${VAR} expansion is not done. */

static int is_hspace(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

static int is_eol(char c)
{
    return c == '\n' || c == '\0';
}

/* Moves the read position to `to`, counting the lines passed. */
static void dotenv_move(dotenv *d, size_t to)
{
    for (; d->i < to; d->i++)
        if (d->s[d->i] == '\n')
            d->line++;
}

/* The offset of the quote q closing a value that starts at s[i], the way python-dotenv's
 * pattern '((?:\\'|[^'])*)' finds it: the first q no backslash escapes, else (the regex
 * backtracks) the last escaped one. Returns SIZE_MAX when there is none. */
static size_t closing_quote(const char *s, size_t i, char q)
{
    size_t last = SIZE_MAX;

    while (s[i] != '\0') {
        if (s[i] == '\\' && s[i + 1] == q) {
            last = i + 1;
            i += 2;
        } else if (s[i] == q) {
            return i;
        } else {
            i++;
        }
    }
    return last;
}

/* A heap copy of the n bytes at s with backslash escapes decoded: for single quotes only
 * \\ and \', for double quotes also \" \a \b \f \n \r \t \v; others stay as written. */
static char *unescape(const char *s, size_t n, char q)
{
    static const char from[] = "\\'\"abfnrtv", to[] = "\\'\"\a\b\f\n\r\t\v";
    char *d = malloc(n + 1), *o = d;
    const char *hit;
    size_t i;

    if (d == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        hit = i + 1 < n && s[i] == '\\' && s[i + 1] != '\0' ? strchr(from, s[i + 1]) : NULL;
        if (hit != NULL && (q == '"' || hit - from < 2)) {
            *o++ = to[hit - from];
            i++;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return d;
}

/* A heap copy of the unquoted value at s up to the end of its line: cut where whitespace
 * followed by '#' starts a comment, trailing whitespace removed. *n gets the bytes
 * consumed. */
static char *unquoted_value(const char *s, size_t *n)
{
    size_t end = 0, len;

    while (!is_eol(s[end]))
        end++;
    *n = end;
    for (len = 1; len < end; len++) {
        if (s[len] == '#' && is_hspace(s[len - 1])) {
            end = len;
            break;
        }
    }
    while (end > 0 && is_hspace(s[end - 1]))
        end--;
    return dup_n(s, end);
}

static int dotenv_malformed(dotenv *d, unsigned line, const char *why)
{
    return ke_error_set(d->err, KE_ECONFIG, "%s:%u: cannot parse this line: %s", d->path, line,
                        why);
}

/* Reads one binding (a KEY=VALUE, a bare KEY or a comment) starting at d->i, past the
 * leading whitespace, and records it in vars when KEY is one of ours. */
static int dotenv_binding(dotenv *d, dotenv_var vars[VAR_COUNT])
{
    const char *s = d->s, *key = NULL;
    unsigned line = d->line;
    size_t key_len = 0, j, n;
    char *value = NULL;
    int has_value = 0, v;

    if (strncmp(s + d->i, "export", 6) == 0 && is_hspace(s[d->i + 6])) {
        for (j = d->i + 6; is_hspace(s[j]); j++)
            ;
        dotenv_move(d, j);
    }
    if (s[d->i] == '\'') {
        for (j = d->i + 1; s[j] != '\0' && s[j] != '\''; j++)
            ;
        if (s[j] != '\'' || j == d->i + 1)
            return dotenv_malformed(d, line, "unterminated or empty quoted name");
        key = s + d->i + 1;
        key_len = j - d->i - 1;
        dotenv_move(d, j + 1);
    } else if (s[d->i] != '#') {
        for (j = d->i;
             s[j] != '\0' && s[j] != '=' && s[j] != '#' && !is_hspace(s[j]) && !is_eol(s[j]); j++)
            ;
        if (j == d->i)
            return dotenv_malformed(d, line, "expected NAME=VALUE");
        key = s + d->i;
        key_len = j - d->i;
        dotenv_move(d, j);
    }
    for (j = d->i; is_hspace(s[j]); j++)
        ;
    dotenv_move(d, j);
    if (key != NULL && s[d->i] == '=') {
        for (j = d->i + 1; is_hspace(s[j]); j++)
            ;
        dotenv_move(d, j);
        has_value = 1;
        if (s[j] == '\'' || s[j] == '"') {
            n = closing_quote(s, j + 1, s[j]);
            if (n == SIZE_MAX)
                return dotenv_malformed(d, line,
                                        s[j] == '"' ? "unterminated double-quoted value"
                                                    : "unterminated single-quoted value");
            value = unescape(s + j + 1, n - j - 1, s[j]);
            dotenv_move(d, n + 1);
        } else {
            value = unquoted_value(s + j, &n);
            dotenv_move(d, j + n);
        }
        if (value == NULL)
            return ke_error_set(d->err, KE_ENOMEM, "out of memory reading %s", d->path);
    }
    /* An optional comment, then the end of the line. */
    for (j = d->i; is_hspace(s[j]); j++)
        ;
    if (s[j] == '#')
        while (!is_eol(s[j]))
            j++;
    if (!is_eol(s[j])) {
        free(value);
        return dotenv_malformed(
            d, line, has_value ? "unexpected text after the quoted value" : "expected NAME=VALUE");
    }
    dotenv_move(d, s[j] == '\0' ? j : j + 1);
    for (v = 0; v < VAR_COUNT && key != NULL; v++) {
        if (strlen(var_names[v]) != key_len || memcmp(var_names[v], key, key_len) != 0)
            continue;
        /* The last assignment wins; a bare NAME unsets, as in python-dotenv. */
        free(vars[v].value);
        vars[v].value = value;
        vars[v].line = line;
        return KE_OK;
    }
    free(value);
    return KE_OK;
}

/* Reads our variables from the .env text s (path names it in messages) into vars, whose
 * values the caller frees (also on failure). A line that cannot be parsed is KE_ECONFIG
 * naming path:line. */
static int dotenv_parse(const char *path, const char *text, dotenv_var vars[VAR_COUNT],
                        ke_error *err)
{
    dotenv d = {path, NULL, 0, 1, err};
    char *s = malloc(strlen(text) + 1), *o = s;
    size_t j;
    int rc = KE_OK;

    if (s == NULL)
        return ke_error_set(err, KE_ENOMEM, "out of memory reading %s", path);
    for (; *text != '\0'; text++) { /* \r\n and \r become \n */
        if (*text == '\r' && text[1] == '\n')
            continue;
        *o++ = *text == '\r' ? '\n' : *text;
    }
    *o = '\0';
    d.s = s;
    for (;;) {
        for (j = d.i; is_hspace(s[j]) || s[j] == '\n'; j++)
            ;
        dotenv_move(&d, j);
        if (s[d.i] == '\0')
            break;
        rc = dotenv_binding(&d, vars);
        if (rc != KE_OK)
            break;
    }
    free(s);
    return rc;
}

/* Reads our variables from the .env file at path into vars (values freed by the caller,
 * also on failure). A missing file sets nothing. */
static int dotenv_read(const char *path, dotenv_var vars[VAR_COUNT], ke_error *err)
{
    char *text = NULL;
    size_t len, off;
    unsigned line, col;
    int e, rc;

    e = read_file(path, DOTENV_MAX_BYTES, &text, &len);
    if (e == ENOENT)
        return KE_OK;
    if (e == ENOMEM)
        return ke_error_set(err, KE_ENOMEM, "out of memory reading %s", path);
    if (e == EFBIG)
        return ke_error_set(err, KE_ECONFIG, "%s: larger than the limit of %d bytes", path,
                            DOTENV_MAX_BYTES);
    if (e != 0)
        return ke_error_set(err, KE_ECONFIG, "%s: cannot read: %s", path, strerror(e));
    off = strlen(text);
    if (off < len) {
        position(text, off, &line, &col);
        rc = ke_error_set(err, KE_ECONFIG, "%s:%u: NUL byte at column %u", path, line, col);
    } else {
        rc = dotenv_parse(path, text, vars, err);
    }
    free(text);
    return rc;
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
    e = read_file(flag + 1, KE_CONFIG_MAX_BYTES, &text, &len);
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
    dotenv_var dot[VAR_COUNT] = {{0}};
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
        rc = dotenv_read(dotenv_path, dot, err);
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
