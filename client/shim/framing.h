/* framing.h -- kedro-event-shim's strict reading of a request's framing (framing.c): what
 * libmicrohttpd 0.9.75 accepts but a proxy in front of the shim may read differently, refused
 * before any body is read. No libmicrohttpd types: http.c hands the headers over as parsed. */
#ifndef KES_FRAMING_H
#define KES_FRAMING_H

#include <stdarg.h>
#include <stddef.h>

/* One request header as the HTTP library parsed it. */
typedef struct kes_frame_header {
    const char *name;  /* as received (the library keeps whitespace before the colon) */
    size_t name_len;   /* bytes of name */
    const char *value; /* the value, optional whitespace trimmed */
    size_t value_len;  /* bytes of value */
    int folded;        /* the library rebuilt the name apart from the line: an obs-fold line */
} kes_frame_header;

/* The framing a request announces, once it has been found unambiguous. */
typedef struct kes_frame {
    int status;                /* 0: acceptable; else the HTTP status to answer (400, 501) */
    int chunked;               /* the body is chunked (Transfer-Encoding: chunked) */
    int has_length;            /* a Content-Length was given */
    unsigned long long length; /* its value */
    char msg[200];             /* status != 0: what is wrong, naming the header */
} kes_frame;

/* Checks the headers h[0..n) of a request of HTTP version `version` ("HTTP/1.1"): every
 * name a token (no whitespace before the colon, no folded line); Host present once (HTTP/1.0
 * may omit it); at most one Content-Length, all digits; no Content-Length beside a
 * Transfer-Encoding; no Transfer-Encoding in HTTP/1.0; no bare CR or LF in a value; "chunked" as
 * the one transfer coding. Fills *out and returns out->status: 400 for ambiguous or malformed
 * framing, 501 for a transfer coding other than chunked, 0 when the request may be read. The
 * connection must be closed after a non-zero answer: its body's length is unknown. */
int kes_framing_check(const char *version, const kes_frame_header *h, size_t n, kes_frame *out);

/* ---- rate-limited log lines (ratelog.c)
 * ---------------------------------------------------------------- */

#define KES_LOG_PER_S 10 /* stderr lines per second for malformed requests; the rest counted */

/* Writes "kedro-event-shim: <message>" to stderr unless KES_LOG_PER_S lines were written
 * this second already; those are counted and reported in one "... suppressed" line when the
 * next line is written or kes_log_flush runs. Thread-safe. A trailing newline is dropped. */
void kes_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* kes_log with a va_list and a prefix before the message (libmicrohttpd's error log comes
 * through here). */
void kes_vlog(const char *prefix, const char *fmt, va_list ap);

/* Reports lines still suppressed. */
void kes_log_flush(void);

#endif
