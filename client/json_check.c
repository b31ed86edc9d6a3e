/* json_check.c -- the one strict JSON (RFC 8259) checker: grammar, UTF-8, escapes, the nesting
 * limit, and the byte spans of a container's children (cJSON is lenient and keeps no offsets).
 *
 * The checker is iterative (a bit per open container), so hostile nesting costs no C stack. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One scan of text: where it is, how deep, and the first fault. */
typedef struct scan {
    const unsigned char *s; /* the text */
    size_t n;               /* its length */
    size_t i;               /* the next byte to read */
    size_t depth;           /* containers open */
    size_t max_depth;       /* how many may be open */
    unsigned flags;         /* KEC_JSON_RAW_CONTROLS or 0 */
    unsigned char is_obj[(KEC_JSON_MAX_DEPTH + KEC_JSON_ENVELOPE_DEPTH) / 8 +
                         1]; /* bit d: container d is an object */
    unsigned char *deep;     /* the same bits past the limit (heap), to finish the scan */
    size_t deep_cap;         /* bytes allocated at deep */
    int too_deep;            /* the limit was passed at f->offset (reported if the rest is JSON) */
    kec_json_fault *f;       /* where the first fault goes */
} scan;

/* Records the fault at offset at with a reason (printf format) and returns code. */
static int fail(scan *sc, int code, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(scan *sc, int code, size_t at, const char *fmt, ...)
{
    va_list ap;

    sc->f->offset = at;
    va_start(ap, fmt);
    vsnprintf(sc->f->reason, sizeof sc->f->reason, fmt, ap);
    va_end(ap);
    return code;
}

/* The byte at offset at, described for a message: 'x' when printable ASCII, else its hex. */
static const char *describe(const scan *sc, size_t at, char buf[16])
{
    unsigned char c = sc->s[at];

    if (c >= 0x21 && c < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "byte 0x%02x", c);
    return buf;
}

/* 1 when c is JSON whitespace: SP, HT, LF, CR (nothing else, RFC 8259 section 2). */
static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(scan *sc)
{
    while (sc->i < sc->n && is_ws(sc->s[sc->i]))
        sc->i++;
}

/* The code unit of the \uXXXX escape at offset at (the backslash), or -1 when it is not one. */
static long u_escape(const scan *sc, size_t at)
{
    long v = 0;
    int k, d;

    if (sc->n - at < 6 || sc->s[at] != '\\' || sc->s[at + 1] != 'u')
        return -1;
    for (k = 2; k < 6; k++) {
        d = kec_hex_value(sc->s[at + k]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Checks the escape at sc->i (the backslash) and steps past it. Surrogates must pair: a lone
 * one has no UTF-8 form (cJSON refuses it too). */
static int scan_escape(scan *sc)
{
    size_t at = sc->i;
    long u, low;
    char b[16];

    if (at + 1 >= sc->n)
        return fail(sc, KEC_JSON_ESYNTAX, at, "unterminated string");
    if (strchr("\"\\/bfnrt", sc->s[at + 1]) != NULL && sc->s[at + 1] != '\0') {
        sc->i += 2;
        return KEC_JSON_OK;
    }
    if (sc->s[at + 1] != 'u')
        return fail(sc, KEC_JSON_ESYNTAX, at, "invalid escape \\%s in a string",
                    describe(sc, at + 1, b));
    u = u_escape(sc, at);
    if (u < 0)
        return fail(sc, KEC_JSON_ESYNTAX, at, "\\u not followed by four hex digits");
    if (u >= 0xdc00 && u <= 0xdfff)
        return fail(sc, KEC_JSON_ESYNTAX, at, "lone low surrogate \\u%04lx", u);
    if (u >= 0xd800 && u <= 0xdbff) {
        low = u_escape(sc, at + 6);
        if (low < 0xdc00 || low > 0xdfff)
            return fail(sc, KEC_JSON_ESYNTAX, at,
                        "lone high surrogate \\u%04lx (not followed by a low surrogate escape)", u);
        sc->i += 6;
    }
    sc->i += 6;
    return KEC_JSON_OK;
}

/* Checks the string at sc->i (the opening quote) and steps past its closing quote. */
static int scan_string(scan *sc)
{
    size_t start = sc->i, len;
    unsigned char c;
    int rc;

    sc->i++;
    while (sc->i < sc->n) {
        c = sc->s[sc->i];
        if (c == '"') {
            sc->i++;
            return KEC_JSON_OK;
        }
        if (c == '\\') {
            rc = scan_escape(sc);
            if (rc != KEC_JSON_OK)
                return rc;
            continue;
        }
        if (c < 0x20 && (c == 0 || !(sc->flags & KEC_JSON_RAW_CONTROLS)))
            return fail(sc, KEC_JSON_ESYNTAX, sc->i,
                        "control character 0x%02x in a string (it must be escaped)", c);
        if (c < 0x80) { /* ASCII, most of any text: no sequence to check */
            sc->i++;
            continue;
        }
        len = kec_utf8_seq(sc->s, sc->i, sc->n);
        if (len == 0)
            return fail(sc, KEC_JSON_ESYNTAX, sc->i, "invalid UTF-8 in a string");
        sc->i += len;
    }
    return fail(sc, KEC_JSON_ESYNTAX, start, "unterminated string");
}

/* Steps over digits; the count stepped over. */
static size_t digits(scan *sc)
{
    size_t from = sc->i;

    while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
        sc->i++;
    return sc->i - from;
}

/* Checks the number at sc->i: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, any length. */
static int scan_number(scan *sc)
{
    size_t start = sc->i;

    if (sc->s[sc->i] == '-')
        sc->i++;
    if (sc->i < sc->n && sc->s[sc->i] == '0') {
        sc->i++;
        if (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
            return fail(sc, KEC_JSON_ESYNTAX, start, "number with a leading zero");
    } else if (digits(sc) == 0) {
        return fail(sc, KEC_JSON_ESYNTAX, start, "'-' not followed by a digit");
    }
    if (sc->i < sc->n && sc->s[sc->i] == '.') {
        sc->i++;
        if (digits(sc) == 0)
            return fail(sc, KEC_JSON_ESYNTAX, sc->i - 1, "'.' not followed by a digit");
    }
    if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
        sc->i++;
        if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
            sc->i++;
        if (digits(sc) == 0)
            return fail(sc, KEC_JSON_ESYNTAX, start, "exponent without digits");
    }
    return KEC_JSON_OK;
}

/* Checks the literal word (true, false or null) at sc->i. */
static int scan_literal(scan *sc, const char *word)
{
    size_t len = strlen(word);

    if (sc->n - sc->i < len || memcmp(sc->s + sc->i, word, len) != 0)
        return fail(sc, KEC_JSON_ESYNTAX, sc->i, "invalid literal (expected %s)", word);
    sc->i += len;
    return KEC_JSON_OK;
}

/* The byte holding container d's bit, or NULL when out of memory. Past the limit the bits live
 * in sc->deep, grown as needed: the scan goes on so that text that is not JSON at all is told
 * apart from JSON that nests too deep. */
static unsigned char *bit_byte(scan *sc, size_t d)
{
    size_t fixed = sizeof sc->is_obj * 8, k;
    unsigned char *grown;

    if (d < fixed)
        return &sc->is_obj[d / 8];
    k = (d - fixed) / 8;
    if (k >= sc->deep_cap) {
        grown = realloc(sc->deep, 2 * k + 64);
        if (grown == NULL)
            return NULL;
        sc->deep = grown;
        sc->deep_cap = 2 * k + 64;
    }
    return &sc->deep[k];
}

/* Opens a container at sc->i. Past the limit the first place is remembered (the fault when the
 * whole text turns out to be JSON) and the scan goes on. */
static int push(scan *sc, int is_obj)
{
    size_t d = sc->depth;
    unsigned char *b;

    if (d == sc->max_depth && !sc->too_deep) {
        sc->too_deep = 1;
        fail(sc, KEC_JSON_EDEPTH, sc->i, "nested deeper than the limit of %zu", sc->max_depth);
    }
    b = bit_byte(sc, d);
    if (b == NULL)
        return KEC_JSON_EDEPTH; /* out of memory that deep: refused for its depth */
    if (is_obj)
        *b |= (unsigned char)(1u << (d % 8));
    else
        *b &= (unsigned char)~(1u << (d % 8));
    sc->depth++;
    sc->i++;
    return KEC_JSON_OK;
}

/* 1 when the innermost open container is an object. */
static int top_is_obj(scan *sc)
{
    size_t d = sc->depth - 1;

    return (*bit_byte(sc, d) >> (d % 8)) & 1; /* allocated by push: cannot fail */
}

/* Checks one scalar at sc->i, or opens the container there (*opened = 1). */
static int scan_value(scan *sc, int *opened)
{
    char b[16];
    unsigned char c;

    *opened = 0;
    skip_ws(sc);
    if (sc->i == sc->n)
        return fail(sc, KEC_JSON_ESYNTAX, sc->i, "end of text where a value was expected");
    c = sc->s[sc->i];
    if (c == '{' || c == '[') {
        *opened = 1;
        return push(sc, c == '{');
    }
    if (c == '"')
        return scan_string(sc);
    if (c == '-' || (c >= '0' && c <= '9'))
        return scan_number(sc);
    if (c == 't')
        return scan_literal(sc, "true");
    if (c == 'f')
        return scan_literal(sc, "false");
    if (c == 'n')
        return scan_literal(sc, "null");
    if (sc->i == 0 && sc->n >= 3 && memcmp(sc->s, "\xef\xbb\xbf", 3) == 0)
        return fail(sc, KEC_JSON_ESYNTAX, 0, "a byte order mark before the value");
    return fail(sc, KEC_JSON_ESYNTAX, sc->i, "%s where a value was expected",
                describe(sc, sc->i, b));
}

/* Checks a member name and its ':' at sc->i (after '{' or ','). */
static int scan_key(scan *sc)
{
    char b[16];
    int rc;

    skip_ws(sc);
    if (sc->i == sc->n)
        return fail(sc, KEC_JSON_ESYNTAX, sc->i, "end of text where a member name was expected");
    if (sc->s[sc->i] != '"')
        return fail(sc, KEC_JSON_ESYNTAX, sc->i, "%s where a member name (a string) was expected",
                    describe(sc, sc->i, b));
    rc = scan_string(sc);
    if (rc != KEC_JSON_OK)
        return rc;
    skip_ws(sc);
    if (sc->i == sc->n || sc->s[sc->i] != ':')
        return fail(sc, KEC_JSON_ESYNTAX, sc->i, "':' expected after a member name");
    sc->i++;
    return KEC_JSON_OK;
}

/* After a value: closes containers and steps over ','. *more = 1 when another value (or
 * member) follows, 0 when the text's value is complete. */
static int scan_after(scan *sc, int *more)
{
    char b[16];
    unsigned char c;
    int obj;

    *more = 0;
    for (;;) {
        skip_ws(sc);
        if (sc->depth == 0)
            return KEC_JSON_OK;
        obj = top_is_obj(sc);
        if (sc->i == sc->n)
            return fail(sc, KEC_JSON_ESYNTAX, sc->i, "end of text inside %s",
                        obj ? "an object" : "an array");
        c = sc->s[sc->i];
        if (c == ',') {
            sc->i++;
            *more = 1;
            return obj ? scan_key(sc) : KEC_JSON_OK;
        }
        if (c != (obj ? '}' : ']'))
            return fail(sc, KEC_JSON_ESYNTAX, sc->i, "%s where ',' or '%c' was expected",
                        describe(sc, sc->i, b), obj ? '}' : ']');
        sc->i++;
        sc->depth--;
    }
}

int kec_json_check(const char *text, size_t len, kec_json_fault *fault)
{
    return kec_json_check_depth(text, len, KEC_JSON_MAX_DEPTH, fault);
}

/* Scans sc's whole text: the first syntax fault, or KEC_JSON_OK (sc->too_deep says whether the
 * limit was passed on the way). */
static int scan_text(scan *sc)
{
    int rc, opened, more;

    if (sc->n == 0)
        return fail(sc, KEC_JSON_ESYNTAX, 0, "empty text where a value was expected");
    for (;;) {
        rc = scan_value(sc, &opened);
        if (rc != KEC_JSON_OK)
            return rc;
        if (opened) {
            skip_ws(sc);
            if (sc->i < sc->n && sc->s[sc->i] == (top_is_obj(sc) ? '}' : ']')) {
                sc->i++;
                sc->depth--;
            } else if (top_is_obj(sc)) {
                rc = scan_key(sc);
                if (rc != KEC_JSON_OK)
                    return rc;
                continue;
            } else {
                continue;
            }
        }
        rc = scan_after(sc, &more);
        if (rc != KEC_JSON_OK)
            return rc;
        if (!more)
            break;
    }
    if (sc->i < sc->n)
        return fail(sc, KEC_JSON_ESYNTAX, sc->i, "text after the JSON value");
    return KEC_JSON_OK;
}

int kec_json_check_depth(const char *text, size_t len, int max_depth, kec_json_fault *fault)
{
    return kec_json_check_flags(text, len, max_depth, 0, fault);
}

int kec_json_check_flags(const char *text, size_t len, int max_depth, unsigned flags,
                         kec_json_fault *fault)
{
    kec_json_fault ignored;
    scan sc;
    int rc;

    memset(&sc, 0, sizeof sc);
    sc.max_depth = max_depth < 0 ? 0 : (size_t)max_depth;
    sc.flags = flags;
    if (sc.max_depth > KEC_JSON_MAX_DEPTH + KEC_JSON_ENVELOPE_DEPTH)
        sc.max_depth = KEC_JSON_MAX_DEPTH + KEC_JSON_ENVELOPE_DEPTH;
    sc.s = (const unsigned char *)text;
    sc.n = text != NULL ? len : 0;
    sc.f = fault != NULL ? fault : &ignored;
    sc.f->offset = 0;
    sc.f->reason[0] = '\0';
    rc = scan_text(&sc);
    free(sc.deep);
    if (rc == KEC_JSON_OK && sc.too_deep)
        return KEC_JSON_EDEPTH; /* JSON, too deep: the fault push recorded */
    return rc;
}

/* ---- spans of valid JSON ---- */

/* The offset just past the value that starts at i in text (valid JSON, per kec_json_check). */
static size_t value_end(const char *s, size_t n, size_t i)
{
    size_t depth = 0;

    do {
        switch (s[i]) {
        case '"':
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            i++;
            break;
        case '{':
        case '[':
            depth++;
            i++;
            break;
        case '}':
        case ']':
            depth--;
            i++;
            break;
        default:
            if (depth == 0) { /* a scalar: runs to a delimiter */
                while (i < n && strchr(",]} \t\r\n", s[i]) == NULL)
                    i++;
                return i;
            }
            i++;
        }
    } while (depth > 0 && i < n);
    return i;
}

size_t kec_json_children(const char *text, kec_json_span span, kec_json_span *out, size_t max)
{
    const char *s = text;
    size_t i = span.start, n = span.end, count = 0, end;
    int obj;

    while (i < n && is_ws((unsigned char)s[i]))
        i++;
    if (i == n || (s[i] != '{' && s[i] != '['))
        return 0;
    obj = s[i] == '{';
    i++;
    for (;;) {
        while (i < n && is_ws((unsigned char)s[i]))
            i++;
        if (i == n || s[i] == '}' || s[i] == ']')
            return count;
        if (s[i] == ',')
            i++;
        while (i < n && is_ws((unsigned char)s[i]))
            i++;
        if (obj) { /* the name, then ':' */
            i = value_end(s, n, i);
            while (i < n && (is_ws((unsigned char)s[i]) || s[i] == ':'))
                i++;
        }
        end = value_end(s, n, i);
        if (count < max) {
            out[count].start = i;
            out[count].end = end;
        }
        count++;
        i = end;
    }
}

kec_json_span kec_json_trim(const char *text, size_t len)
{
    kec_json_span sp = {0, len};

    while (sp.start < sp.end && is_ws((unsigned char)text[sp.start]))
        sp.start++;
    while (sp.end > sp.start && is_ws((unsigned char)text[sp.end - 1]))
        sp.end--;
    return sp;
}

size_t kec_json_nul_escape(const char *text, kec_json_span span, kec_json_span skip)
{
    size_t i;

    for (i = span.start; i < span.end; i++) {
        if (i >= skip.start && i < skip.end) {
            i = skip.end - 1;
            continue;
        }
        if (text[i] != '\\')
            continue;
        if (i + 5 < span.end && text[i + 1] == 'u' && memcmp(text + i + 2, "0000", 4) == 0)
            return i;
        i++; /* the escaped character: "\\u0000" is a backslash and "u0000" */
    }
    return span.end;
}
