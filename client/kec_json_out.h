/* kec_json_out.h -- the shared JSON writer (client/json_out.c): text appended straight into a
 * growing buffer, strings escaped byte for byte as cJSON_PrintUnformatted escapes them. Part
 * of libkedroevents and linked by kedro-eventd too, so the pipeline dicts the library prints
 * and the rows the server stores are written the same way, without building a cJSON tree. */
#ifndef KEC_JSON_OUT_H
#define KEC_JSON_OUT_H

#include <stddef.h>

/* JSON text being written: zero it to begin. Out of memory frees the text and marks it
 * failed; every later write is then ignored. */
typedef struct kec_json_out {
    char *text; /* len bytes and a NUL, malloc'd; NULL before the first write */
    size_t len; /* bytes written */
    size_t cap; /* bytes allocated */
    int failed; /* out of memory: the text is gone */
} kec_json_out;

/* Appends the n bytes of s as they are (JSON the caller has made). */
void kec_json_out_raw(kec_json_out *o, const char *s, size_t n);

/* A literal: its length known at compile time. */
#define KEC_JSON_OUT_LIT(o, lit) kec_json_out_raw((o), (lit), sizeof(lit) - 1)

/* Appends s as a JSON string, escaped as cJSON prints it: \" \\ \b \f \n \r \t, \u00XX for
 * the other control characters, every other byte as it is. */
void kec_json_out_string(kec_json_out *o, const char *s);

/* The same for the n bytes at s (which may hold no NUL). */
void kec_json_out_string_n(kec_json_out *o, const char *s, size_t n);

struct kec_time; /* kedroevents.h */

/* "name": with a comma before it unless first (the first member of its object). */
void kec_json_out_key(kec_json_out *o, const char *name, int first);

/* v as a JSON number. */
void kec_json_out_int(kec_json_out *o, long long v);

/* *t as an RFC 3339 string (kec_time_format), or null when t is unset. */
void kec_json_out_time(kec_json_out *o, const struct kec_time *t);

/* Marks o failed (what it holds is freed), as running out of memory does: for a writer that
 * cannot go on. */
void kec_json_out_fail(kec_json_out *o);

/* The text written (NUL-terminated, its length in *len when len is not NULL), the caller's to
 * free(); "" when nothing was written; NULL when out of memory. Leaves o zeroed. */
char *kec_json_out_take(kec_json_out *o, size_t *len);

#endif
