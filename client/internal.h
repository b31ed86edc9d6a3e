/* internal.h -- what the client library's files share and do not export. */
#ifndef KEC_INTERNAL_H
#define KEC_INTERNAL_H

#include <cjson/cJSON.h>

#include "kec_text.h"
#include "kedroevents.h"

/* 1 when the media type s (case-insensitive, parameters ignored) says JSON: application/json,
 * text/json (as the server treats it), or a subtype with the suffix "+json"; else 0. The JSON
 * format's rule for `data`; the one copy of it in the client. */
int kec_media_type_is_json(const char *s);

/* p as kedro-graphql's pipeline dict (see kec_pipeline_to_json), as a new cJSON object the
 * caller frees with cJSON_Delete: the text read back with kec_json_parse, for looking at its
 * members (the tests); NULL when out of memory, or when a string of p is not UTF-8 (which the
 * text keeps as it is and the strict reader refuses). */
cJSON *kec_pipeline_json(const kec_pipeline *p);

/* JSON text being written (pipeline_json.c): zero it to begin. Out of memory frees the text
 * and marks it failed; every later write is then ignored. */
typedef struct kec_json_out {
    char *text; /* len bytes and a NUL, malloc'd; NULL before the first write */
    size_t len; /* bytes written */
    size_t cap; /* bytes allocated */
    int failed; /* out of memory: the text is gone */
} kec_json_out;

/* Appends the n bytes of s as they are (JSON the caller has made). */
void kec_json_out_raw(kec_json_out *o, const char *s, size_t n);

/* Appends [dict, ...] of the count pipelines, each dict as kec_pipeline_to_json writes it. */
void kec_json_out_pipelines(kec_json_out *o, const kec_pipeline *p, size_t count);

/* The text written (NUL-terminated, its length in *len when len is not NULL), the caller's to
 * free(); "" when nothing was written; NULL when out of memory. Leaves o zeroed. */
char *kec_json_out_take(kec_json_out *o, size_t *len);

#endif
