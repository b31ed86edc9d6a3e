/* fuzz_json_check.c -- libFuzzer target: the strict JSON checker (client/json_check.c) and the
 * reader built on it (kec_json_parse, client/json_parse.c) against cJSON. What the checker
 * accepts, cJSON must read as the same single value (cJSON is lenient, never stricter) and
 * kec_json_parse as the same tree cJSON builds; what it refuses, kec_json_parse refuses with the
 * same fault; with KEC_JSON_RAW_CONTROLS, what kec_json_parse reads cJSON reads as the same tree;
 * the spans the checker gives for a container's children must each read, alone, as the child
 * cJSON found at that place; and cJSON's parse of what the checker refuses is not judged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when a and b print the same (cJSON_PrintUnformatted). */
static int same_printed(const cJSON *a, const cJSON *b)
{
    char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);
    int same = pa != NULL && pb != NULL && strcmp(pa, pb) == 0;

    cJSON_free(pa);
    cJSON_free(pb);
    return same;
}

/* 1 when a and b (and their children, and the items after them) agree in type, name and
 * valueint: what printing does not show. */
static int same_types(const cJSON *a, const cJSON *b)
{
    for (; a != NULL && b != NULL; a = a->next, b = b->next)
        if (a->type != b->type || a->valueint != b->valueint ||
            (a->string == NULL) != (b->string == NULL) ||
            (a->string != NULL && strcmp(a->string, b->string) != 0) ||
            !same_types(a->child, b->child))
            return 0;
    return a == NULL && b == NULL;
}

/* Checks each child span of the container v (whose text is span of text) against cJSON. */
static void check_children(const char *text, kec_json_span span, const cJSON *v)
{
    kec_json_span spans[64];
    const cJSON *c;
    size_t n = kec_json_children(text, span, spans, 64), k = 0;
    cJSON *alone;

    if (n != (size_t)cJSON_GetArraySize(v))
        abort();
    for (c = v->child; c != NULL && k < 64; c = c->next, k++) {
        alone = cJSON_ParseWithLength(text + spans[k].start, spans[k].end - spans[k].start);
        /* a span is a whole value: it reads alone as cJSON's child there (compared printed:
         * cJSON_Compare finds no number equal to infinity, even itself) */
        if (alone == NULL || !same_printed(alone, c))
            abort();
        if (kec_json_check(text + spans[k].start, spans[k].end - spans[k].start, NULL) ==
            KEC_JSON_ESYNTAX)
            abort();
        cJSON_Delete(alone);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    kec_json_fault fault, ours_fault;
    kec_json_span sp;
    cJSON *v, *ours = NULL;
    int rc;

    /* with raw control characters allowed, as the server's configuration reads */
    if (kec_json_parse(text, size, KEC_JSON_MAX_DEPTH, KEC_JSON_RAW_CONTROLS, &ours, NULL) ==
        KEC_JSON_OK) {
        v = cJSON_ParseWithLength(text, size);
        if (v == NULL || !same_printed(ours, v) || !same_types(ours, v))
            abort();
        cJSON_Delete(v);
        cJSON_Delete(ours);
    }
    rc = kec_json_check(text, size, &fault);
    if (kec_json_parse(text, size, KEC_JSON_MAX_DEPTH, 0, &ours, &ours_fault) != rc)
        abort();
    if (rc != KEC_JSON_OK) {
        if (fault.offset > size || fault.reason[0] == '\0' || ours != NULL ||
            ours_fault.offset != fault.offset || strcmp(ours_fault.reason, fault.reason) != 0)
            abort();
        return 0;
    }
    v = cJSON_ParseWithLength(text, size);
    if (v == NULL) /* valid JSON within the limit is JSON to cJSON */
        abort();
    if (ours == NULL || !same_printed(ours, v) || !same_types(ours, v))
        abort();
    cJSON_Delete(ours);
    sp = kec_json_trim(text, size);
    if (sp.start >= sp.end)
        abort();
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        check_children(text, sp, v);
    else if (kec_json_children(text, sp, NULL, 0) != 0)
        abort();
    cJSON_Delete(v);
    return 0;
}
