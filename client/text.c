/* text.c -- small string helpers the client library's files share: copies, base64, printing
 * cJSON. */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *kec_strdup0(const char *s)
{
    return strdup(s == NULL ? "" : s);
}

char *kec_json_print(const cJSON *v)
{
    char *text = cJSON_PrintUnformatted(v), *copy = NULL;
    size_t n;

    if (text == NULL)
        return NULL;
    n = strlen(text);
    copy = malloc(n + 1);
    if (copy != NULL)
        memcpy(copy, text, n + 1);
    cJSON_free(text);
    return copy;
}

/* The standard alphabet of RFC 4648 section 4. */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *kec_base64_encode(const void *bytes, size_t len)
{
    const uint8_t *in = bytes;
    char *out, *o;
    size_t i;

    if (len / 3 >= (SIZE_MAX - 5) / 4)
        return NULL;
    out = malloc((len + 2) / 3 * 4 + 1);
    if (out == NULL)
        return NULL;
    o = out;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[(v >> 12) & 63];
        *o++ = b64_alphabet[(v >> 6) & 63];
        *o++ = b64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* The value of base64 character c, or -1 when c is not in the alphabet. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Checks that text is strict base64 (see kec_base64_decode) and counts its padding. */
static int b64_check(const char *text, size_t len, size_t *pad, kec_error *err)
{
    size_t i;

    *pad = 0;
    if (len % 4 != 0)
        return kec_error_set(err, KEC_EFORMAT,
                             "%zu characters are not a multiple of 4 (padded base64)", len);
    if (len > 0 && text[len - 1] == '=')
        *pad = len > 1 && text[len - 2] == '=' ? 2 : 1;
    for (i = 0; i < len - *pad; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c == '=')
            return kec_error_set(err, KEC_EFORMAT, "padding '=' at offset %zu before the end", i);
        if (b64_value(c) < 0)
            return kec_error_set(err, KEC_EFORMAT,
                                 c >= 0x21 && c < 0x7f ? "'%c' at offset %zu is not base64"
                                                       : "byte 0x%02x at offset %zu is not base64",
                                 c, i);
    }
    /* the bits after the last byte must be zero, so each byte string has one encoding */
    if (*pad > 0 && (b64_value((unsigned char)text[len - *pad - 1]) & (*pad == 1 ? 3 : 15)) != 0)
        return kec_error_set(err, KEC_EFORMAT,
                             "non-zero unused bits at offset %zu (not canonical base64)",
                             len - *pad - 1);
    return KEC_OK;
}

int kec_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len, kec_error *err)
{
    uint8_t *buf, *o;
    size_t i, pad;
    int rc;

    *out = NULL;
    *out_len = 0;
    rc = b64_check(text, len, &pad, err);
    if (rc != KEC_OK)
        return rc;
    buf = malloc(len / 4 * 3 + 1);
    if (buf == NULL)
        return kec_error_set(err, KEC_ENOMEM, "out of memory decoding base64");
    o = buf;
    for (i = 0; i < len; i += 4) {
        uint32_t v = 0;
        int k;

        for (k = 0; k < 4; k++)
            v = v << 6 | (text[i + k] == '=' ? 0 : (uint32_t)b64_value((unsigned char)text[i + k]));
        *o++ = (uint8_t)(v >> 16);
        *o++ = (uint8_t)(v >> 8);
        *o++ = (uint8_t)v;
    }
    *out = buf;
    *out_len = (size_t)(o - buf) - pad;
    return KEC_OK;
}

size_t kec_utf8_seq(const unsigned char *s, size_t i, size_t n)
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

int kec_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long kec_utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, len;

    while (i < n) {
        len = kec_utf8_seq(u, i, n);
        if (len == 0)
            return (long)i;
        i += len;
    }
    return -1;
}

const char *kec_json_kind(const cJSON *v)
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
    return "null";
}

void kec_format_number(char buf[KEC_NUMBER_TEXT_MAX], double d)
{
    int prec;

    if (d == floor(d) && fabs(d) < 1e17) {
        snprintf(buf, KEC_NUMBER_TEXT_MAX, "%.0f", d);
        return;
    }
    for (prec = 15; prec < 17; prec++) {
        snprintf(buf, KEC_NUMBER_TEXT_MAX, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
    snprintf(buf, KEC_NUMBER_TEXT_MAX, "%.17g", d);
}

const char *kec_json_scalar(const cJSON *v, char buf[KEC_NUMBER_TEXT_MAX], const char **text)
{
    if (cJSON_IsString(v)) {
        *text = v->valuestring;
        return "string";
    }
    if (cJSON_IsBool(v)) {
        *text = cJSON_IsTrue(v) ? "true" : "false";
        return "bool";
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return NULL;
    kec_format_number(buf, v->valuedouble);
    *text = buf;
    return v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) <= 9007199254740992.0
               ? "int"
               : "float";
}
