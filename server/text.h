/* text.h -- UTF-8 checks and quoting of client-supplied text in messages. */
#ifndef KE_TEXT_H
#define KE_TEXT_H

#include <stddef.h>

#include "kec_text.h" /* kec_utf8_invalid_at: UTF-8 validity, shared with the client library */

#define KE_QUOTE_SHOWN 40 /* bytes of a quoted value shown before "..." */
#define KE_QUOTE_CAP 200  /* room ke_quote needs: every shown byte as \xHH, quotes, "...", NUL */

/* Writes s[0..n) into buf (KE_QUOTE_CAP bytes) as a double-quoted string fit
 * for an error message: '"' and '\\' escaped, control characters and bytes
 * that are not UTF-8 as \xHH (so the message is valid UTF-8 whatever came
 * in), cut at a character boundary after KE_QUOTE_SHOWN bytes with "..."
 * after the closing quote. Returns buf. */
const char *ke_quote_n(char buf[KE_QUOTE_CAP], const char *s, size_t n);

/* ke_quote_n of a NUL-terminated string. */
const char *ke_quote(char buf[KE_QUOTE_CAP], const char *s);

/* Whether the JSON text s[0..n) holds the escape \u0000 (an escaped
 * backslash followed by "u0000" is not one). cJSON cuts a string there. */
int ke_json_has_nul_escape(const char *s, size_t n);

#endif
