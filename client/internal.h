/* internal.h -- what the client library's files share and do not export. */
#ifndef KEC_INTERNAL_H
#define KEC_INTERNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "kedroevents.h"

/* Records an error unless err already holds one (the first error wins) and returns code, so
 * `return kec_error_set(err, KEC_EINVAL, "...")` reads well. err may be NULL. */
int kec_error_set(kec_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same for a call that ended with gRPC status (KEC_ESTATUS, err->status = status). */
int kec_error_status(kec_error *err, int status, const char *msg, size_t len);

/* The offset of the first byte of s[0..n) that does not start a valid UTF-8 sequence
 * (overlong forms, surrogates and code points past U+10FFFF are invalid), or -1 when all of it
 * is valid. NUL is valid UTF-8: callers that refuse it check for it themselves. */
long kec_utf8_invalid_at(const char *s, size_t n);

/* The length of the valid UTF-8 sequence at s[i..n) (1 to 4), or 0 when there is none. */
size_t kec_utf8_seq(const unsigned char *s, size_t i, size_t n);

/* strdup of s, or of "" when s is NULL; NULL only when out of memory. */
char *kec_strdup0(const char *s);

/* Standard, padded base64 (RFC 4648 section 4) of len bytes, as a new NUL-terminated string
 * (free() it); NULL when out of memory. */
char *kec_base64_encode(const void *bytes, size_t len);

/* Decodes strict base64 of len characters (RFC 4648 section 4: the standard alphabet, padded
 * to a multiple of 4, no whitespace, zero unused bits) into a new *out of *out_len bytes (free()
 * it; never NULL on success, even when empty). KEC_EFORMAT with err saying what is wrong and
 * where, without naming the subject (callers prefix it), or KEC_ENOMEM; *out NULL then. */
int kec_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len, kec_error *err);

/* Room kec_format_number needs. */
#define KEC_NUMBER_TEXT_MAX 64

/* Writes the shortest decimal that reads back as exactly d (finite): integral values below
 * 1e17 as integers, as Python prints them, others in %g form with 15 to 17 digits. (cJSON's
 * own printer may drop the last digit of 16- and 17-digit numbers.) */
void kec_format_number(char buf[KEC_NUMBER_TEXT_MAX], double d);

/* A JSON scalar as a Kedro parameter: *text its value as text (a string's own, "true" or
 * "false", or the number written into buf by kec_format_number) and, returned, the type it is
 * read as: "string", "bool", "int" (integral and exact in a double, 1.0 too) or "float".
 * NULL for anything else (null, arrays, objects, numbers out of a double's range). */
const char *kec_json_scalar(const cJSON *v, char buf[KEC_NUMBER_TEXT_MAX], const char **text);

/* "an object", "an array", "a string", "a number", "a boolean" or "null": the kind of v, for
 * messages about a value of the wrong kind. */
const char *kec_json_kind(const cJSON *v);

/* The compact JSON text of v as a new string to free() (not cJSON_free, so a program's own
 * cJSON_InitHooks cannot break our contract); NULL when out of memory. */
char *kec_json_print(const cJSON *v);

/* 1 when the media type s (case-insensitive, parameters ignored) says JSON: application/json,
 * text/json (as the server treats it), or a subtype with the suffix "+json"; else 0. The JSON
 * format's rule for `data`; the one copy of it in the client. */
int kec_media_type_is_json(const char *s);

/* p as kedro-graphql's pipeline dict (see kec_pipeline_to_json), as a new cJSON object the
 * caller frees with cJSON_Delete, so the CLI and the HTTP shim can put it into bigger
 * documents; NULL when out of memory. */
cJSON *kec_pipeline_json(const kec_pipeline *p);

#endif
