/* dotenv.c -- reading variables from a .env file the way python-dotenv reads them
 * (kedro-graphql shares the file), and reading a small file whole. */
#include "dotenv.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOTENV_MAX_BYTES (8 << 20) /* largest .env file read */

/* A .env file being read. */
typedef struct dotenv {
    const char *path; /* file name, for messages and origins */
    const char *s;    /* its text, NUL-terminated */
    size_t i;         /* read position */
    unsigned line;    /* line of s[i], from 1 */
    ke_error *err;    /* receives the first error */
} dotenv;

/* The 1-based line of byte off of text. */
static unsigned line_of(const char *text, size_t off)
{
    unsigned line = 1;
    size_t i;

    for (i = 0; i < off; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

/* Reads the whole of path, at most max bytes, into a NUL-terminated heap buffer *buf
 * (owned by the caller) of *len bytes. Returns 0, or an errno value: EFBIG when the file
 * is larger than max, ENOMEM, or what fopen/fread said. */
int ke_read_file(const char *path, size_t max, char **buf, size_t *len)
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
    return strndup(s, end);
}

static int dotenv_malformed(dotenv *d, unsigned line, const char *why)
{
    return ke_error_set(d->err, KE_ECONFIG, "%s:%u: cannot parse this line: %s", d->path, line,
                        why);
}

/* Reads one binding (a KEY=VALUE, a bare KEY or a comment) starting at d->i, past the
 * leading whitespace, and records it in vars when KEY is one of ours. */
static int dotenv_binding(dotenv *d, ke_dotenv_var *vars, size_t n_vars)
{
    const char *s = d->s, *key = NULL;
    unsigned line = d->line;
    size_t key_len = 0, j, n;
    char *value = NULL;
    int has_value = 0;
    size_t v;

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
    for (v = 0; v < n_vars && key != NULL; v++) {
        if (strlen(vars[v].name) != key_len || memcmp(vars[v].name, key, key_len) != 0)
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
int ke_dotenv_parse(const char *path, const char *text, ke_dotenv_var *vars, size_t n_vars,
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
        rc = dotenv_binding(&d, vars, n_vars);
        if (rc != KE_OK)
            break;
    }
    free(s);
    return rc;
}

/* Reads our variables from the .env file at path into vars (values freed by the caller,
 * also on failure). A missing file sets nothing. */
int ke_dotenv_read(const char *path, ke_dotenv_var *vars, size_t n_vars, ke_error *err)
{
    char *text = NULL;
    size_t len, off;
    int e, rc;

    e = ke_read_file(path, DOTENV_MAX_BYTES, &text, &len);
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
        rc = ke_error_set(err, KE_ECONFIG, "%s:%u: NUL byte", path, line_of(text, off));
    } else {
        rc = ke_dotenv_parse(path, text, vars, n_vars, err);
    }
    free(text);
    return rc;
}
