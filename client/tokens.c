/* tokens.c -- bearer tokens: reading token files, and checking an Authorization value
 * against the accepted set in constant time (kec_tokens.h). */
#include "kec_tokens.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kec_files.h"
#include "kec_text.h"

/* The accepted tokens, each in a zero-padded slot of KEC_TOKEN_MAX_BYTES, so every check
 * compares the same number of bytes whatever the tokens are. Immutable once built. */
typedef struct token_set {
    size_t n;             /* tokens */
    size_t *len;          /* their lengths */
    unsigned char *slots; /* n slots of KEC_TOKEN_MAX_BYTES */
} token_set;

struct kec_auth {
    char *path;            /* the file, re-read by kec_auth_reload */
    pthread_rwlock_t lock; /* checks read set; a reload swaps it */
    token_set *set;        /* what is accepted now */
};

static void set_free(token_set *s)
{
    if (s == NULL)
        return;
    free(s->len);
    free(s->slots);
    free(s);
}

static int is_b64token_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

/* KEC_OK when the n bytes at t are a token by the rules of kec_tokens.h. */
static int check_syntax(const char *t, size_t n, const char *what, kec_error *err)
{
    size_t i = 0;

    if (n < KEC_TOKEN_MIN_BYTES)
        return kec_error_set(err, KEC_EINVAL, "%s is %zu characters: at least %d are needed", what,
                             n, KEC_TOKEN_MIN_BYTES);
    if (n > KEC_TOKEN_MAX_BYTES)
        return kec_error_set(err, KEC_EINVAL, "%s is %zu characters: at most %d are allowed", what,
                             n, KEC_TOKEN_MAX_BYTES);
    while (i < n && is_b64token_char((unsigned char)t[i]))
        i++;
    if (i == 0)
        return kec_error_set(err, KEC_EINVAL, "%s starts with '=': padding only ends a token",
                             what);
    while (i < n && t[i] == '=')
        i++;
    if (i < n)
        return kec_error_set(err, KEC_EINVAL,
                             "%s has a character outside letters, digits, \"-._~+/\" and "
                             "trailing '=' at position %zu",
                             what, i + 1);
    return KEC_OK;
}

int kec_token_check_syntax(const char *token, const char *what, kec_error *err)
{
    return check_syntax(token, strlen(token), what, err);
}

/* The next line of text[*pos, len) that is not blank or a comment, trimmed of spaces, tabs
 * and a CR; *line_no counts lines. 0 at the end. */
static int next_token_line(const char *text, size_t len, size_t *pos, size_t *line_no,
                           const char **start, size_t *n)
{
    while (*pos < len) {
        size_t b = *pos, e;
        const char *nl = memchr(text + b, '\n', len - b);

        e = nl != NULL ? (size_t)(nl - text) : len;
        *pos = nl != NULL ? e + 1 : len;
        (*line_no)++;
        while (b < e && (text[b] == ' ' || text[b] == '\t'))
            b++;
        while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r'))
            e--;
        if (b == e || text[b] == '#')
            continue;
        *start = text + b;
        *n = e - b;
        return 1;
    }
    return 0;
}

/* Builds the set of the tokens in the file at path. */
static int set_load(const char *path, token_set **out, kec_error *err)
{
    token_set *s = NULL;
    size_t len = 0, pos = 0, line = 0, n, cap = 0;
    const char *t;
    char *text = NULL, what[300];
    int rc;

    *out = NULL;
    rc = kec_file_read(path, KEC_TOKENS_FILE_MAX, KEC_FILE_PRIVATE, "token file", &text, &len, err);
    if (rc != KEC_OK)
        return rc;
    if ((s = calloc(1, sizeof *s)) == NULL) {
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory reading token file %s", path);
        goto out;
    }
    while (next_token_line(text, len, &pos, &line, &t, &n)) {
        snprintf(what, sizeof what, "token file \"%s\": the token on line %zu", path, line);
        if ((rc = check_syntax(t, n, what, err)) != KEC_OK)
            goto out;
        if (s->n == KEC_TOKENS_MAX_COUNT) {
            rc = kec_error_set(err, KEC_EINVAL, "token file \"%s\" holds more than %d tokens", path,
                               KEC_TOKENS_MAX_COUNT);
            goto out;
        }
        if (s->n == cap) {
            size_t ncap = cap == 0 ? 4 : cap * 2;
            size_t *l = realloc(s->len, ncap * sizeof *l);
            unsigned char *sl;

            if (l != NULL)
                s->len = l;
            sl = l != NULL ? realloc(s->slots, ncap * KEC_TOKEN_MAX_BYTES) : NULL;
            if (sl == NULL) {
                rc = kec_error_set(err, KEC_ENOMEM, "out of memory reading token file %s", path);
                goto out;
            }
            s->slots = sl;
            cap = ncap;
        }
        memset(s->slots + s->n * KEC_TOKEN_MAX_BYTES, 0, KEC_TOKEN_MAX_BYTES);
        memcpy(s->slots + s->n * KEC_TOKEN_MAX_BYTES, t, n);
        s->len[s->n++] = n;
    }
    if (s->n == 0) {
        rc = kec_error_set(err, KEC_EINVAL,
                           "token file \"%s\" holds no token (one per line; blank lines and '#' "
                           "comments are ignored): every call would be refused",
                           path);
        goto out;
    }
    *out = s;
    s = NULL;
out:
    explicit_bzero(text, len);
    free(text);
    if (s != NULL && s->slots != NULL)
        explicit_bzero(s->slots, s->n * KEC_TOKEN_MAX_BYTES);
    set_free(s);
    return rc;
}

int kec_auth_new(const char *path, kec_auth **out, kec_error *err)
{
    kec_auth *a;
    int rc;

    *out = NULL;
    if ((a = calloc(1, sizeof *a)) == NULL || (a->path = strdup(path)) == NULL) {
        free(a);
        return kec_error_set(err, KEC_ENOMEM, "out of memory reading token file %s", path);
    }
    pthread_rwlock_init(&a->lock, NULL);
    if ((rc = set_load(path, &a->set, err)) != KEC_OK) {
        kec_auth_free(a);
        return rc;
    }
    *out = a;
    return KEC_OK;
}

int kec_auth_reload(kec_auth *a, size_t *count, kec_error *err)
{
    token_set *s, *old;
    int rc;

    if ((rc = set_load(a->path, &s, err)) != KEC_OK)
        return rc;
    pthread_rwlock_wrlock(&a->lock);
    old = a->set;
    a->set = s;
    pthread_rwlock_unlock(&a->lock);
    if (count != NULL)
        *count = s->n;
    explicit_bzero(old->slots, old->n * KEC_TOKEN_MAX_BYTES);
    set_free(old);
    return KEC_OK;
}

size_t kec_auth_count(kec_auth *a)
{
    size_t n;

    pthread_rwlock_rdlock(&a->lock);
    n = a->set->n;
    pthread_rwlock_unlock(&a->lock);
    return n;
}

/* The token of an Authorization value "Bearer <token>": *t and *n, or 0 when value is not
 * one (no scheme, another scheme, no token, or a token too long to be accepted). */
static int bearer_token(const char *v, size_t len, const char **t, size_t *n)
{
    size_t b = 0, e = len;

    while (b < e && (v[b] == ' ' || v[b] == '\t'))
        b++;
    while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
        e--;
    if (e - b < 7 || strncasecmp(v + b, "bearer", 6) != 0 || (v[b + 6] != ' ' && v[b + 6] != '\t'))
        return 0;
    b += 7;
    while (b < e && (v[b] == ' ' || v[b] == '\t'))
        b++;
    if (b == e || e - b > KEC_TOKEN_MAX_BYTES)
        return 0;
    *t = v + b;
    *n = e - b;
    return 1;
}

int kec_auth_check(kec_auth *a, const char *value, size_t len)
{
    unsigned char presented[KEC_TOKEN_MAX_BYTES];
    const unsigned char *slot;
    const char *t;
    size_t n, i, k;
    unsigned ok = 0;

    if (value == NULL || !bearer_token(value, len, &t, &n))
        return 0;
    memset(presented, 0, sizeof presented);
    memcpy(presented, t, n);
    pthread_rwlock_rdlock(&a->lock);
    for (k = 0; k < a->set->n; k++) {
        unsigned diff = (unsigned)(a->set->len[k] ^ n);

        slot = a->set->slots + k * KEC_TOKEN_MAX_BYTES;
        for (i = 0; i < KEC_TOKEN_MAX_BYTES; i++)
            diff |= slot[i] ^ presented[i];
        ok |= (unsigned)(diff == 0);
    }
    pthread_rwlock_unlock(&a->lock);
    explicit_bzero(presented, sizeof presented);
    return (int)ok;
}

void kec_auth_free(kec_auth *a)
{
    if (a == NULL)
        return;
    if (a->set != NULL)
        explicit_bzero(a->set->slots, a->set->n * KEC_TOKEN_MAX_BYTES);
    set_free(a->set);
    pthread_rwlock_destroy(&a->lock);
    free(a->path);
    free(a);
}

int kec_token_file_read(const char *path, char **out, kec_error *err)
{
    size_t len = 0, pos = 0, line = 0, n;
    const char *t;
    char *text = NULL, what[300];
    int rc;

    *out = NULL;
    if ((rc = kec_file_read(path, KEC_TOKENS_FILE_MAX, 0, "token file", &text, &len, err)) !=
        KEC_OK)
        return rc;
    snprintf(what, sizeof what, "the token in \"%s\"", path);
    if (!next_token_line(text, len, &pos, &line, &t, &n)) {
        rc = kec_error_set(err, KEC_EINVAL, "token file \"%s\" holds no token", path);
    } else if ((rc = check_syntax(t, n, what, err)) != KEC_OK) {
        /* err says which rule the token breaks */
    } else if ((*out = strndup(t, n)) == NULL) {
        rc = kec_error_set(err, KEC_ENOMEM, "out of memory reading token file %s", path);
    }
    explicit_bzero(text, len);
    free(text);
    return rc;
}
