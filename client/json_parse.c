/* json_parse.c -- the one way the project reads JSON text into cJSON: the strict checker first,
 * then a tree built here, never by cJSON's parser (which writes a process-wide error position).
 *
 * cJSON 1.7's parse functions reset its global error position on every call and set it on every
 * failure, so two threads parsing at once (gRPC workers, the shim's HTTP threads) race on it.
 * The builder below only ever sees text kec_json_check accepted, so it checks nothing but memory,
 * and it nests no deeper than the checker's limit (at most KEC_JSON_MAX_DEPTH +
 * KEC_JSON_ENVELOPE_DEPTH levels of recursion). */
#include "internal.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room on the stack for a number's text; longer ones (valid JSON: any length) go on the heap. */
#define NUMBER_STACK 64

/* One build over checked text. */
typedef struct build {
    const char *s; /* the text (valid JSON per kec_json_check) */
    size_t n;      /* its length */
    size_t i;      /* the next byte to read */
    locale_t c;    /* the C locale for strtod_l, made at the first number; 0 until then */
} build;

static void skip_ws(build *b)
{
    while (b->i < b->n &&
           (b->s[b->i] == ' ' || b->s[b->i] == '\t' || b->s[b->i] == '\n' || b->s[b->i] == '\r'))
        b->i++;
}

/* The code unit of the four hex digits at s (checked: they are hex). */
static unsigned long hex4(const char *s)
{
    unsigned long v = 0;
    int k;

    for (k = 0; k < 4; k++)
        v = v * 16 + (unsigned long)kec_hex_value((unsigned char)s[k]);
    return v;
}

/* Writes code point cp as UTF-8 at out; the bytes written. */
static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The escape after the backslash at s (checked: one of RFC 8259's, surrogates paired), decoded
 * into out; *used the bytes of text it took (after the backslash), the bytes written returned. */
static size_t unescape(const char *s, char *out, size_t *used)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    unsigned long cp, low;

    if (s[0] != 'u') {
        *used = 1;
        out[0] = to[strchr(from, s[0]) - from];
        return 1;
    }
    cp = hex4(s + 1);
    *used = 5;
    if (cp >= 0xd800 && cp <= 0xdbff) { /* a high surrogate: "\uDC00".."\uDFFF" follows */
        low = hex4(s + 7);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        *used = 11;
    }
    return put_utf8(out, cp);
}

/* The string at b->i (the opening quote), decoded into a new NUL-terminated string (free() it),
 * and steps past its closing quote; NULL when out of memory. A "\u0000" ends the C string early,
 * as it does in cJSON. */
static char *read_string(build *b)
{
    size_t from = b->i + 1, end = from, o = 0, used, run;
    char *out;

    while (b->s[end] != '"')
        end += b->s[end] == '\\' ? 2 : 1;
    out = malloc(end - from + 1); /* every escape decodes to fewer bytes than it takes */
    if (out == NULL)
        return NULL;
    for (b->i = from; b->i < end;) {
        if (b->s[b->i] == '\\') {
            o += unescape(b->s + b->i + 1, out + o, &used);
            b->i += 1 + used;
            continue;
        }
        for (run = b->i + 1; run < end && b->s[run] != '\\'; run++)
            ;
        memcpy(out + o, b->s + b->i, run - b->i); /* the bytes up to the next escape */
        o += run - b->i;
        b->i = run;
    }
    out[o] = '\0';
    b->i = end + 1;
    return out;
}

/* The number at b->i as a cJSON number (strtod in the C locale, whatever the program's locale;
 * valueint saturated by cJSON_CreateNumber, as cJSON's parser does); NULL when out of memory. */
static cJSON *read_number(build *b)
{
    char small[NUMBER_STACK], *text = small;
    size_t from = b->i, len;
    cJSON *v = NULL;
    double d;

    while (b->i < b->n && strchr("+-.eE0123456789", b->s[b->i]) != NULL && b->s[b->i] != '\0')
        b->i++;
    len = b->i - from;
    if (b->c == (locale_t)0)
        b->c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (b->c == (locale_t)0)
        return NULL;
    if (len >= sizeof small)
        text = malloc(len + 1);
    if (text == NULL)
        return NULL;
    memcpy(text, b->s + from, len); /* the text need not end in NUL: strtod reads a copy */
    text[len] = '\0';
    d = strtod_l(text, NULL, b->c);
    v = cJSON_CreateNumber(d);
    if (text != small)
        free(text);
    return v;
}

static cJSON *read_value(build *b);

/* The members of the object or the elements of the array at b->i (its opening bracket) added
 * to c; 0 when out of memory. */
static int read_children(build *b, cJSON *c)
{
    int is_obj = b->s[b->i] == '{';
    char *name = NULL;
    cJSON *v;
    int ok;

    b->i++;
    skip_ws(b);
    while (b->s[b->i] != (is_obj ? '}' : ']')) {
        if (is_obj) {
            name = read_string(b);
            if (name == NULL)
                return 0;
            skip_ws(b);
            b->i++; /* the ':' */
        }
        v = read_value(b);
        ok = v != NULL && (is_obj ? cJSON_AddItemToObject(c, name, v) : cJSON_AddItemToArray(c, v));
        free(name);
        name = NULL;
        if (!ok) {
            cJSON_Delete(v);
            return 0;
        }
        skip_ws(b);
        if (b->s[b->i] == ',') {
            b->i++;
            skip_ws(b);
        }
    }
    b->i++;
    return 1;
}

/* The value at b->i (after any whitespace) as a new cJSON item; NULL when out of memory. */
static cJSON *read_value(build *b)
{
    cJSON *v = NULL;
    char *text;

    skip_ws(b);
    switch (b->s[b->i]) {
    case '{':
    case '[':
        v = b->s[b->i] == '{' ? cJSON_CreateObject() : cJSON_CreateArray();
        if (v != NULL && !read_children(b, v)) {
            cJSON_Delete(v);
            v = NULL;
        }
        return v;
    case '"':
        text = read_string(b);
        if (text != NULL)
            v = cJSON_CreateString(text);
        free(text);
        return v;
    case 't':
        b->i += 4;
        v = cJSON_CreateTrue();
        if (v != NULL)
            v->valueint = 1; /* as cJSON's parser sets it */
        return v;
    case 'f':
        b->i += 5;
        return cJSON_CreateFalse();
    case 'n':
        b->i += 4;
        return cJSON_CreateNull();
    default:
        return read_number(b);
    }
}

int kec_json_parse(const char *text, size_t len, int max_depth, unsigned flags, cJSON **out,
                   kec_json_fault *fault)
{
    kec_json_fault ignored;
    build b;
    int rc;

    *out = NULL;
    if (fault == NULL)
        fault = &ignored;
    rc = kec_json_check_flags(text, len, max_depth, flags, fault);
    if (rc != KEC_JSON_OK)
        return rc;
    memset(&b, 0, sizeof b);
    b.s = text;
    b.n = len;
    *out = read_value(&b);
    if (b.c != (locale_t)0)
        freelocale(b.c);
    if (*out == NULL) {
        fault->offset = 0;
        snprintf(fault->reason, sizeof fault->reason, "out of memory reading %zu bytes of JSON",
                 len);
        return KEC_JSON_ENOMEM;
    }
    return KEC_JSON_OK;
}
