/* conformance.h -- finding and reading the CloudEvents conformance vectors in unit tests. */
#ifndef KE_TEST_CONFORMANCE_H
#define KE_TEST_CONFORMANCE_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Returns "$KE_CONFORMANCE_DIR/<sub>" (the caller frees it) when that
 * directory exists; otherwise prints why and returns NULL, and the test
 * should report itself skipped. */
static inline char *conf_dir(const char *sub)
{
    const char *root = getenv("KE_CONFORMANCE_DIR");
    struct stat st;
    char *path;
    size_t n;

    if (root == NULL || root[0] == '\0') {
        printf("conformance vectors skipped: KE_CONFORMANCE_DIR is not set\n");
        return NULL;
    }
    n = strlen(root) + strlen(sub) + 2;
    path = malloc(n);
    if (path == NULL)
        return NULL;
    snprintf(path, n, "%s/%s", root, sub);
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("conformance vectors skipped: %s is not a directory\n", path);
        free(path);
        return NULL;
    }
    return path;
}

/* Reads and parses dir/file as JSON; NULL (after printing why) on failure.
 * The caller frees the tree with cJSON_Delete. */
static inline cJSON *conf_load(const char *dir, const char *file)
{
    char path[4096];
    FILE *f = NULL;
    char *text = NULL;
    long size;
    cJSON *doc = NULL;

    snprintf(path, sizeof path, "%s/%s", dir, file);
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        goto out;
    text = malloc((size_t)size + 1);
    if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size)
        goto out;
    text[size] = '\0';
    doc = cJSON_Parse(text);
out:
    if (doc == NULL)
        printf("cannot read %s as JSON\n", path);
    free(text);
    if (f != NULL)
        fclose(f);
    return doc;
}

/* Decodes standard, padded base64 into a buffer the caller frees (*out,
 * *len). Returns 0, or -1 on bad input or no memory. */
static inline int conf_base64_decode(const char *s, uint8_t **out, size_t *len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    size_t i, o = 0;
    uint8_t *buf;

    *out = NULL;
    *len = 0;
    if (n % 4 != 0)
        return -1;
    buf = malloc(n / 4 * 3 + 1);
    if (buf == NULL)
        return -1;
    for (i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int k, pad = 0;
        for (k = 0; k < 4; k++) {
            const char *p = s[i + k] != '\0' ? strchr(abc, s[i + k]) : NULL;
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                pad++;
                v <<= 6;
                continue;
            }
            if (p == NULL || pad > 0) {
                free(buf);
                return -1;
            }
            v = v << 6 | (uint32_t)(p - abc);
        }
        buf[o++] = (uint8_t)(v >> 16);
        if (pad < 2)
            buf[o++] = (uint8_t)(v >> 8);
        if (pad < 1)
            buf[o++] = (uint8_t)v;
    }
    *out = buf;
    *len = o;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static inline int64_t conf_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Parses an RFC 3339 date-time ("2018-04-05T17:31:00.5+01:00") into seconds
 * since the epoch and nanoseconds. Returns 0, or -1 when s is not one (*sec and
 * *nanos are 0 then). */
static inline int conf_rfc3339(const char *s, int64_t *sec, int32_t *nanos)
{
    unsigned y, mo, d, h, mi, se;
    int used = 0;
    int32_t ns = 0;
    int64_t offset = 0;
    const char *p;
    int digits = 0;

    *sec = 0;
    *nanos = 0;
    if (strlen(s) < 19 || /* the date and time, before the fraction and offset */
        sscanf(s, "%4u-%2u-%2u%*1[Tt]%2u:%2u:%2u%n", &y, &mo, &d, &h, &mi, &se, &used) != 6 ||
        used != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    p = s + used;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 9)
                ns = ns * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 9; digits++)
            ns *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        unsigned oh, om;
        if (sscanf(p + 1, "%2u:%2u%n", &oh, &om, &used) != 2 || used != 5 || oh > 23 || om > 59)
            return -1;
        offset = ((int64_t)oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *sec = conf_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
    *nanos = ns;
    return 0;
}

#endif
