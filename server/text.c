/* text.c -- quoting client-supplied text in error messages, and JSON number text. (UTF-8
 * validity is the client library's kec_utf8_invalid_at, shared with the clients.) */
#include "text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ke_quote_n(char buf[KE_QUOTE_CAP], const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, i = 0, len;

    buf[o++] = '"';
    while (i < n && i < KE_QUOTE_SHOWN) {
        len = kec_utf8_seq(u, i, n);
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
