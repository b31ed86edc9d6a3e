/* json_out.c -- the shared JSON writer (kec_json_out.h). */
#include "kec_json_out.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kedroevents.h" /* kec_time, kec_time_format */

#define SHRINK_SLACK (64 << 10) /* unused bytes past which take() shrinks the text */

/* Makes room for n more bytes (and a NUL); 0 when out of memory (o marked failed). */
static int reserve(kec_json_out *o, size_t n)
{
    size_t cap;
    char *t;

    if (o->failed)
        return 0;
    if (n < o->cap - o->len)
        return 1;
    cap = o->cap > 0 ? o->cap : 1024;
    while (cap - o->len <= n) {
        if (cap > SIZE_MAX / 2)
            goto fail;
        cap *= 2;
    }
    if ((t = realloc(o->text, cap)) == NULL)
        goto fail;
    o->text = t;
    o->cap = cap;
    return 1;
fail:
    free(o->text);
    memset(o, 0, sizeof *o);
    o->failed = 1;
    return 0;
}

void kec_json_out_fail(kec_json_out *o)
{
    free(o->text);
    memset(o, 0, sizeof *o);
    o->failed = 1;
}

void kec_json_out_raw(kec_json_out *o, const char *s, size_t n)
{
    if (!reserve(o, n))
        return;
    memcpy(o->text + o->len, s, n);
    o->len += n;
    o->text[o->len] = '\0';
}

void kec_json_out_key(kec_json_out *o, const char *name, int first)
{
    if (!first)
        KEC_JSON_OUT_LIT(o, ",");
    kec_json_out_string(o, name);
    KEC_JSON_OUT_LIT(o, ":");
}

void kec_json_out_int(kec_json_out *o, long long v)
{
    char buf[24];

    kec_json_out_raw(o, buf, (size_t)snprintf(buf, sizeof buf, "%lld", v));
}

void kec_json_out_time(kec_json_out *o, const struct kec_time *t)
{
    char buf[KEC_TIME_TEXT_MAX];

    if (!t->set)
        KEC_JSON_OUT_LIT(o, "null");
    else
        kec_json_out_string(o, kec_time_format(*t, buf));
}

char *kec_json_out_take(kec_json_out *o, size_t *len)
{
    char *t = o->failed ? NULL : o->text, *fit;

    if (t == NULL && !o->failed && (t = calloc(1, 1)) == NULL)
        o->len = 0;
    /* A string reserves room for its every byte escaped: a text kept for long (a request's
     * rendered event) gives back what it did not use. */
    if (t != NULL && o->cap - o->len > SHRINK_SLACK && (fit = realloc(t, o->len + 1)) != NULL)
        t = fit;
    if (len != NULL)
        *len = t != NULL ? o->len : 0;
    memset(o, 0, sizeof *o);
    return t;
}

void kec_json_out_string(kec_json_out *o, const char *s)
{
    kec_json_out_string_n(o, s, strlen(s));
}

void kec_json_out_string_n(kec_json_out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i;
    char *w;

    if (!reserve(o, n * 6 + 2))
        return;
    w = o->text + o->len;
    *w++ = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = p[i];

        if (c >= 32 && c != '"' && c != '\\') {
            *w++ = (char)c;
            continue;
        }
        *w++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *w++ = (char)c;
            break;
        case '\b':
            *w++ = 'b';
            break;
        case '\f':
            *w++ = 'f';
            break;
        case '\n':
            *w++ = 'n';
            break;
        case '\r':
            *w++ = 'r';
            break;
        case '\t':
            *w++ = 't';
            break;
        default:
            memcpy(w, "u00", 3);
            w[3] = hex[c >> 4];
            w[4] = hex[c & 15];
            w += 5;
        }
    }
    *w++ = '"';
    *w = '\0';
    o->len = (size_t)(w - o->text);
}
