/* text.c -- UTF-8 validity and quoting client-supplied text in error messages. */
#include "text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s[i..n), or 0 when there is none. */
static size_t utf8_seq(const unsigned char *s, size_t i, size_t n)
{
    unsigned char c = s[i];
    size_t len, k;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n - i < len)
        return 0;
    for (k = 1; k < len; k++) {
        if ((s[i + k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

long ke_utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, len;

    while (i < n) {
        len = utf8_seq(u, i, n);
        if (len == 0)
            return (long)i;
        i += len;
    }
    return -1;
}

const char *ke_quote_n(char buf[KE_QUOTE_CAP], const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, i = 0, len;

    buf[o++] = '"';
    while (i < n && i < KE_QUOTE_SHOWN) {
        len = utf8_seq(u, i, n);
        if (len == 1 && (u[i] == '"' || u[i] == '\\')) {
            buf[o++] = '\\';
            buf[o++] = (char)u[i];
        } else if (len == 0 || (len == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
            o += (size_t)snprintf(buf + o, KE_QUOTE_CAP - o, "\\x%02x", u[i]);
            len = 1;
        } else {
            memcpy(buf + o, u + i, len);
            o += len;
        }
        i += len;
    }
    buf[o++] = '"';
    if (i < n) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

const char *ke_quote(char buf[KE_QUOTE_CAP], const char *s)
{
    return ke_quote_n(buf, s, strlen(s));
}

void ke_format_number(char buf[64], double d)
{
    int prec;

    if (d == floor(d) && fabs(d) < 1e17) {
        snprintf(buf, 64, "%.0f", d);
        return;
    }
    for (prec = 15; prec < 17; prec++) {
        snprintf(buf, 64, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
    snprintf(buf, 64, "%.17g", d);
}

int ke_json_has_nul_escape(const char *s, size_t n)
{
    const char *p = s, *hit, *b;

    while ((hit = memmem(p, n - (size_t)(p - s), "\\u0000", 6)) != NULL) {
        /* an escape only when an odd number of backslashes ends at hit */
        for (b = hit; b > s && b[-1] == '\\'; b--)
            ;
        if ((hit - b) % 2 == 0)
            return 1;
        p = hit + 1;
    }
    return 0;
}
