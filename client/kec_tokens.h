/* kec_tokens.h -- bearer tokens, shared by kedro-eventd, kedro-event-shim and the library.
 *
 * A server keeps the tokens it accepts in a kec_auth: read from a file (one token per line;
 * blank lines and lines starting with '#' ignored), re-read on demand (SIGHUP) with the old
 * set kept when the new file is refused, and checked against an Authorization value
 * ("Bearer <token>") in time that does not depend on any accepted token's bytes. A client
 * reads the one token it sends with kec_token_file_read.
 *
 * A token is 16 to KEC_TOKEN_MAX_BYTES characters of RFC 6750's b64token (letters, digits,
 * "-._~+/", then '=' padding), so it travels unchanged in an HTTP header and gRPC metadata.
 * No function here ever puts a token's text in an error message. */
#ifndef KEC_TOKENS_H
#define KEC_TOKENS_H

#include <stddef.h>

#include "kedroevents.h"

#define KEC_TOKEN_MIN_BYTES 16         /* shorter is guessable: refused */
#define KEC_TOKEN_MAX_BYTES 512        /* a check compares this many bytes per token */
#define KEC_TOKENS_MAX_COUNT 1024      /* tokens one file may hold */
#define KEC_TOKENS_FILE_MAX (1u << 20) /* bytes one token file may hold */

typedef struct kec_auth kec_auth;

/* Reads the tokens of the file at path into a new kec_auth (free with kec_auth_free).
 * KEC_EIO when the file cannot be read; KEC_EINVAL when others may read or write it, or the
 * group may write it (the message says which chmod fixes it), when a line is not a token
 * (naming the line number, never its text), or when it holds no token. */
int kec_auth_new(const char *path, kec_auth **out, kec_error *err);

/* Re-reads the file a was created from. On success the new set replaces the old one for
 * every check that starts afterwards and *count (when not NULL) is its size; on failure the
 * old set stays and err says why. Safe while other threads call kec_auth_check. */
int kec_auth_reload(kec_auth *a, size_t *count, kec_error *err);

/* How many tokens a accepts now. */
size_t kec_auth_count(kec_auth *a);

/* 1 when value (len bytes, not NUL-terminated; an HTTP Authorization header or the gRPC
 * `authorization` metadata) is "Bearer <token>" for a token of a (the scheme's case is
 * ignored; spaces may surround the token); else 0. Every accepted token is compared in full,
 * whatever matches, so the time taken says nothing about their bytes. */
int kec_auth_check(kec_auth *a, const char *value, size_t len);

/* Frees a; NULL is fine. */
void kec_auth_free(kec_auth *a);

/* A client's token: the first line of the file at path that is not blank or a '#' comment,
 * trimmed. *out is the caller's to free. KEC_EIO when the file cannot be read; KEC_EINVAL
 * when it holds no token or the token breaks the rules above. */
int kec_token_file_read(const char *path, char **out, kec_error *err);

/* KEC_OK when token (NUL-terminated) follows the rules above; else KEC_EINVAL with err saying
 * which rule it breaks (never quoting it). what names it in the message, e.g. "the token". */
int kec_token_check_syntax(const char *token, const char *what, kec_error *err);

#endif
