/* framing.c -- strict HTTP/1.x framing: refuses the requests whose body length two HTTP
 * implementations could read differently (request smuggling), and those libmicrohttpd would
 * read into a corrupted header name. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "framing.h"

#define SHOWN_MAX 40 /* bytes of a header name or coding quoted in a message */

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Copies up to SHOWN_MAX bytes of s (len) into out (SHOWN_MAX + 4 bytes), printable ASCII
 * only (anything else as '?'), with "..." when cut. */
static void shown(const char *s, size_t len, char *out)
{
    size_t i, n = len > SHOWN_MAX ? SHOWN_MAX : len;

    for (i = 0; i < n; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    strcpy(out + n, len > n ? "..." : "");
}

static int refuse(kes_frame *out, int status, const char *fmt, const char *arg)
{
    out->status = status;
    snprintf(out->msg, sizeof out->msg, fmt, arg);
    return status;
}

static int is_name(const kes_frame_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* Every name is a token, no line was folded into one, and no value holds a bare CR or LF
 * (RFC 9112 2.2: a line ends at CRLF only). */
static int check_names(const kes_frame_header *h, size_t n, kes_frame *out)
{
    char s[SHOWN_MAX + 4];
    size_t i, j;

    for (i = 0; i < n; i++) {
        shown(h[i].name, h[i].name_len, s);
        if (h[i].folded)
            return refuse(out, 400,
                          "a folded header line (obs-fold) continues header '%s': refused", s);
        if (h[i].name_len == 0)
            return refuse(out, 400, "a header line has an empty name%s", "");
        if (memchr(h[i].value, '\r', h[i].value_len) != NULL ||
            memchr(h[i].value, '\n', h[i].value_len) != NULL)
            return refuse(out, 400, "header '%s' holds a bare CR or LF in its value", s);
        for (j = 0; j < h[i].name_len; j++) {
            if (!is_tchar((unsigned char)h[i].name[j]))
                return refuse(out, 400,
                              "header name '%s' is not a token (whitespace before the colon, "
                              "or a line starting with whitespace)",
                              s);
        }
    }
    return 0;
}

/* A Content-Length value: 1 to 19 digits (RFC 9110 1*DIGIT, within 64 bits). */
static int parse_length(const char *v, size_t len, unsigned long long *out)
{
    unsigned long long n = 0;
    size_t i;

    if (len == 0 || len > 19)
        return -1;
    for (i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (unsigned)(v[i] - '0');
    }
    *out = n;
    return 0;
}

/* The transfer codings of every Transfer-Encoding line, in order: "chunked" exactly once and
 * nothing else (501 for another coding, 400 for a repeated one or none). */
static int check_codings(const kes_frame_header *h, size_t n, kes_frame *out)
{
    char s[SHOWN_MAX + 4];
    size_t i, a, b, end, chunked = 0;
    const char *v;

    for (i = 0; i < n; i++) {
        if (!is_name(&h[i], "Transfer-Encoding"))
            continue;
        v = h[i].value;
        for (a = 0; a < h[i].value_len; a = end + 1) {
            for (end = a; end < h[i].value_len && v[end] != ',';)
                end++;
            b = end;
            while (a < b && (v[a] == ' ' || v[a] == '\t'))
                a++;
            while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
                b--;
            if (a == b)
                continue; /* an empty list element is allowed (RFC 9110 5.6.1) */
            if (b - a != 7 || strncasecmp(v + a, "chunked", 7) != 0) {
                shown(v + a, b - a, s);
                return refuse(out, 501, "transfer coding '%s' is not supported: only chunked is",
                              s);
            }
            chunked++;
        }
    }
    if (chunked == 0)
        return refuse(out, 400, "Transfer-Encoding names no transfer coding%s", "");
    if (chunked > 1)
        return refuse(out, 400, "Transfer-Encoding applies chunked more than once%s", "");
    out->chunked = 1;
    return 0;
}

int kes_framing_check(const char *version, const kes_frame_header *h, size_t n, kes_frame *out)
{
    size_t i, hosts = 0, lengths = 0, encodings = 0;
    const kes_frame_header *cl = NULL;
    int http10 = version != NULL && strcmp(version, "HTTP/1.0") == 0;
    char s[SHOWN_MAX + 4];

    memset(out, 0, sizeof *out);
    if (check_names(h, n, out) != 0)
        return out->status;
    for (i = 0; i < n; i++) {
        if (is_name(&h[i], "Host"))
            hosts++;
        if (is_name(&h[i], "Content-Length")) {
            lengths++;
            cl = &h[i];
        }
        if (is_name(&h[i], "Transfer-Encoding"))
            encodings++;
    }
    if (hosts == 0 && !http10)
        return refuse(out, 400, "an HTTP/1.1 request needs a Host header%s", "");
    if (hosts > 1)
        return refuse(out, 400, "the Host header appears more than once%s", "");
    if (lengths > 1)
        return refuse(out, 400,
                      "the Content-Length header appears more than once: the body's length "
                      "is ambiguous%s",
                      "");
    if (lengths == 1 && encodings > 0)
        return refuse(out, 400,
                      "both Content-Length and Transfer-Encoding: the body's length is "
                      "ambiguous%s",
                      "");
    if (encodings > 0 && http10)
        return refuse(out, 400, "Transfer-Encoding in an HTTP/1.0 request%s", "");
    if (cl != NULL) {
        if (parse_length(cl->value, cl->value_len, &out->length) != 0) {
            shown(cl->value, cl->value_len, s);
            return refuse(out, 400, "Content-Length '%s' is not a number of bytes", s);
        }
        out->has_length = 1;
    }
    if (encodings > 0 && check_codings(h, n, out) != 0)
        return out->status;
    return 0;
}
