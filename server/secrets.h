/* secrets.h -- kedro-eventd's bearer tokens: the set callers must present (--auth-tokens) and
 * the token runs are given (--run-token-file), read at start and re-read on SIGHUP. */
#ifndef KE_SECRETS_H
#define KE_SECRETS_H

#include "errors.h"
#include "forward.h"
#include "kec_tokens.h"

/* The token files and what was read from them. */
typedef struct ke_secrets {
    const char *tokens_path;    /* --auth-tokens FILE, or NULL (borrowed) */
    kec_auth *tokens;           /* the accepted tokens, or NULL without tokens_path */
    const char *run_token_path; /* --run-token-file FILE, or NULL (borrowed) */
    char *run_token;            /* its token, or NULL without run_token_path */
} ke_secrets;

/* Reads both files (each path may be NULL) into s, which the caller ke_secrets_releases
 * either way. Returns KE_OK, or KE_EIO / KE_EINVAL / KE_ENOMEM with err naming the file and
 * what is wrong with it (never a token's text). Warns on stderr when runs would get a token
 * the server itself does not accept. */
int ke_secrets_load(ke_secrets *s, const char *tokens_path, const char *run_token_path,
                    ke_error *err);

/* SIGHUP: re-reads both files. A file refused keeps what was read before; each outcome is
 * one line on stderr. A new run token goes to forwarder (may be NULL) for runs started from
 * then on. Never fails. */
void ke_secrets_reload(ke_secrets *s, ke_forwarder *forwarder);

/* Frees what s holds (wiping the run token); s may be reused with ke_secrets_load. */
void ke_secrets_release(ke_secrets *s);

#endif
