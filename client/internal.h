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
 * caller frees with cJSON_Delete, so the CLI and the HTTP shim can put it into bigger
 * documents; NULL when out of memory. */
cJSON *kec_pipeline_json(const kec_pipeline *p);

#endif
