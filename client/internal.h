/* internal.h -- what the client library's files share and do not export. */
#ifndef KEC_INTERNAL_H
#define KEC_INTERNAL_H

#include <cjson/cJSON.h>

#include "kec_json_out.h"
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

/* Appends [dict, ...] of the count pipelines, each dict as kec_pipeline_to_json writes it. */
void kec_json_out_pipelines(kec_json_out *o, const kec_pipeline *p, size_t count);

#endif
