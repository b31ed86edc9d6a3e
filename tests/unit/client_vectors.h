/* client_vectors.h -- building a kec_event from a conformance vector written in protobuf's
 * JSON mapping (the files of cloudevents-format/protobuf/), for the client library's tests. */
#ifndef KE_TEST_CLIENT_VECTORS_H
#define KE_TEST_CLIENT_VECTORS_H

#include <cjson/cJSON.h>

#include "conformance.h"
#include "kedroevents.h"

/* Sets one attribute of ev from {"ceString"|"ceUri"|...: value}; 0, or -1 when the vector
 * holds a member this loader does not know. */
static inline int vec_attr(kec_event *ev, const char *name, const cJSON *a)
{
    const cJSON *x = a->child;
    kec_attr v = {.name = name};
    uint8_t *buf = NULL;
    int rc;

    if (x == NULL)
        return -1;
    if (strcmp(x->string, "ceBoolean") == 0) {
        v.type = KEC_ATTR_BOOLEAN;
        v.boolean = cJSON_IsTrue(x);
    } else if (strcmp(x->string, "ceInteger") == 0) {
        v.type = KEC_ATTR_INTEGER;
        v.integer = (int32_t)x->valuedouble;
    } else if (strcmp(x->string, "ceString") == 0 || strcmp(x->string, "ceUri") == 0 ||
               strcmp(x->string, "ceUriRef") == 0) {
        v.type = strcmp(x->string, "ceString") == 0 ? KEC_ATTR_STRING
                 : strcmp(x->string, "ceUri") == 0  ? KEC_ATTR_URI
                                                    : KEC_ATTR_URI_REF;
        v.text = x->valuestring;
    } else if (strcmp(x->string, "ceBytes") == 0) {
        v.type = KEC_ATTR_BYTES;
        if (conf_base64_decode(x->valuestring, &buf, &v.len) != 0)
            return -1;
        v.bytes = buf;
    } else if (strcmp(x->string, "ceTimestamp") == 0) {
        v.type = KEC_ATTR_TIMESTAMP;
        if (kec_time_parse(x->valuestring, &v.time, NULL) != KEC_OK)
            return -1;
    } else {
        return -1;
    }
    rc = kec_event_set_attr(ev, &v, NULL);
    free(buf);
    return rc == KEC_OK ? 0 : -1;
}

/* A new event holding the vector o (a CloudEvent in protobuf's JSON mapping); NULL when it
 * holds something this loader does not know (e.g. protoData). */
static inline kec_event *vec_event(const cJSON *o)
{
    const cJSON *m, *a;
    kec_event *ev = NULL;
    uint8_t *buf;
    size_t n;

    if (kec_event_new("-", NULL, NULL, &ev, NULL) != KEC_OK)
        return NULL;
#define VEC_STR(member, setter)                                                                    \
    m = cJSON_GetObjectItemCaseSensitive(o, member);                                               \
    setter(ev, cJSON_IsString(m) ? m->valuestring : "", NULL)
    VEC_STR("id", kec_event_set_id);
    VEC_STR("source", kec_event_set_source);
    VEC_STR("specVersion", kec_event_set_spec_version);
    VEC_STR("type", kec_event_set_type);
#undef VEC_STR
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(o, "attributes"))
    {
        if (vec_attr(ev, a->string, a) != 0)
            goto fail;
    }
    if ((m = cJSON_GetObjectItemCaseSensitive(o, "textData")) != NULL ||
        (m = cJSON_GetObjectItemCaseSensitive(o, "text_data")) != NULL) {
        kec_event_set_text_data(ev, m->valuestring, strlen(m->valuestring), NULL);
    } else if ((m = cJSON_GetObjectItemCaseSensitive(o, "binaryData")) != NULL ||
               (m = cJSON_GetObjectItemCaseSensitive(o, "binary_data")) != NULL) {
        if (conf_base64_decode(m->valuestring, &buf, &n) != 0)
            goto fail;
        kec_event_set_binary_data(ev, buf, n, NULL);
        free(buf);
    } else if (cJSON_GetObjectItemCaseSensitive(o, "protoData") != NULL) {
        goto fail;
    }
    return ev;
fail:
    kec_event_free(ev);
    return NULL;
}

#endif
