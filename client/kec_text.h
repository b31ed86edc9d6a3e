/* kec_text.h -- the shared text module: errors, UTF-8, hex, base64, RFC 3339 time, numbers
 * and the strict JSON checker and reader (client/errors.c, text.c, time.c, json_check.c,
 * json_parse.c). Part of libkedroevents and linked by kedro-eventd and kedro-event-shim too,
 * so every component writes and reads these the same way. */
#ifndef KEC_TEXT_H
#define KEC_TEXT_H

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

/* The value of hex digit c (0-9, a-f, A-F), or -1. */
int kec_hex_value(int c);

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

/* The one nesting limit of JSON: the library's CloudEvents JSON reader and writer and the
 * server's data rendering refuse containers nested deeper than this (a Kedro node parsing the
 * event on its own stack stays far from Python's ~1000). */
#define KEC_JSON_MAX_DEPTH 256

/* Levels a CloudEvents JSON document adds around its data: the batch array and the event
 * object. The reader checks a document against KEC_JSON_MAX_DEPTH + this, then the data itself
 * against KEC_JSON_MAX_DEPTH, so data nests as deep in every mode. */
#define KEC_JSON_ENVELOPE_DEPTH 2

/* What kec_json_check answers. */
#define KEC_JSON_OK 0      /* one valid JSON text */
#define KEC_JSON_EDEPTH 1  /* JSON, but nested deeper than KEC_JSON_MAX_DEPTH */
#define KEC_JSON_ESYNTAX 2 /* not JSON */
#define KEC_JSON_ENOMEM 3  /* out of memory (kec_json_parse only) */

/* The first fault kec_json_check found. */
typedef struct kec_json_fault {
    size_t offset;   /* byte offset of the fault in the text */
    char reason[96]; /* what is wrong there, e.g. "number with a leading zero" */
} kec_json_fault;

/* A byte range [start, end) of a text. */
typedef struct kec_json_span {
    size_t start; /* first byte */
    size_t end;   /* one past the last byte */
} kec_json_span;

/* Checks that text[0..len) (not necessarily NUL-terminated; text may be NULL when len is 0) is
 * exactly one JSON text per RFC 8259: the grammar (no leading zeros, no "+1", "1.", ".5", no
 * trailing commas, only SP/HT/LF/CR as whitespace, no byte order mark, nothing after the value),
 * valid UTF-8 with no control character inside strings, escapes of RFC 8259 with surrogates in
 * pairs, and no more than KEC_JSON_MAX_DEPTH nested containers. Numbers of any length and range
 * are valid. Returns KEC_JSON_OK; KEC_JSON_ESYNTAX for the first fault when the text is not JSON
 * (however deep it nests); KEC_JSON_EDEPTH when it is JSON but nests too deep (*fault, which may
 * be NULL, says where and why: the first container past the limit). "\u0000" is valid JSON: callers
 * that turn strings into C strings refuse it themselves (kec_json_nul_escape). */
int kec_json_check(const char *text, size_t len, kec_json_fault *fault);

/* kec_json_check with another nesting limit, at most KEC_JSON_MAX_DEPTH +
 * KEC_JSON_ENVELOPE_DEPTH (a larger one is taken as that). */
int kec_json_check_depth(const char *text, size_t len, int max_depth, kec_json_fault *fault);

/* A flag of kec_json_check_flags and kec_json_parse: control characters other than NUL
 * (U+0001 to U+001F) may stand raw in strings, as cJSON takes them (the server's event
 * configuration, which accepted them before it was read strictly). */
#define KEC_JSON_RAW_CONTROLS 1u

/* kec_json_check_depth with flags (KEC_JSON_RAW_CONTROLS or 0). */
int kec_json_check_flags(const char *text, size_t len, int max_depth, unsigned flags,
                         kec_json_fault *fault);

/* The one way to read JSON text into cJSON (client/json_parse.c; never call cJSON_Parse*):
 * checks text[0..len) as kec_json_check_flags(max_depth, flags) does and builds the JSON into a new
 * tree *out (cJSON_Delete it). cJSON's own parser writes a process-wide error position
 * (cJSON_GetErrorPtr) on every call, success or failure, a data race between threads parsing at
 * once; this touches no shared state. The tree is the one cJSON_Parse builds: members in order,
 * duplicates kept; strings as UTF-8 ("\u0000" ends the C string, as in cJSON: callers that care
 * refuse it with kec_json_nul_escape); numbers as strtod reads them in the C locale, of any
 * length. Returns KEC_JSON_OK; KEC_JSON_ESYNTAX or KEC_JSON_EDEPTH as the checker does, with
 * *fault (which may be NULL); KEC_JSON_ENOMEM, *fault saying so. *out is NULL on failure. */
int kec_json_parse(const char *text, size_t len, int max_depth, unsigned flags, cJSON **out,
                   kec_json_fault *fault);

/* For the object or array at span of text (valid per kec_json_check), the spans of its members'
 * values or its elements, in order, without surrounding whitespace (cJSON walks the same members
 * in the same order, so the k-th cJSON child's original text is out[k]). Writes at most max
 * spans and returns how many children there are; 0 for a scalar. */
size_t kec_json_children(const char *text, kec_json_span span, kec_json_span *out, size_t max);

/* The span of text[0..len) without leading and trailing JSON whitespace. */
kec_json_span kec_json_trim(const char *text, size_t len);

/* The offset of the first "\u0000" escape in text's span (valid JSON, starting at a value)
 * outside the span skip (give {0, 0} to skip nothing), or span.end when there is none. cJSON
 * ends a C string there, silently dropping the rest. */
size_t kec_json_nul_escape(const char *text, kec_json_span span, kec_json_span skip);

/* "an object", "an array", "a string", "a number", "a boolean" or "null": the kind of v, for
 * messages about a value of the wrong kind. */
const char *kec_json_kind(const cJSON *v);

/* The compact JSON text of v as a new string to free() (not cJSON_free, so a program's own
 * cJSON_InitHooks cannot break our contract); NULL when out of memory. */
char *kec_json_print(const cJSON *v);

#endif
