/* auth.c -- who may use the shim: a client certificate issued by --tls-client-ca and a bearer
 * token of --auth-tokens, and the answers that refuse a request without them (RFC 6750). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "shim.h"

#define REALM "Bearer realm=\"kedro-events\"" /* the challenge of every 401 */

/* 401 with the challenge (error="invalid_token" when a Bearer token was sent but is not
 * accepted). */
static void unauthorized(kes_answer *a, int invalid, const char *msg)
{
    kes_answer_release(a);
    kes_answer_detail(a, 401, "%s", msg);
    kes_answer_header(a, "WWW-Authenticate", invalid ? REALM ", error=\"invalid_token\"" : REALM);
}

/* Whether c carries exactly one Authorization header with a token of auth; else the
 * refusal is left in *a. */
static int bearer_allowed(kec_auth *auth, const kes_credentials *c, kes_answer *a)
{
    if (c->n_authorization > 1) {
        kes_answer_release(a);
        kes_answer_detail(a, 400, "more than one Authorization header");
        kes_answer_header(a, "WWW-Authenticate", REALM ", error=\"invalid_request\"");
        return 0;
    }
    if (c->authorization == NULL) {
        unauthorized(a, 0, "this endpoint needs an Authorization: Bearer <token> header");
        return 0;
    }
    if (kec_auth_check(auth, c->authorization, c->authorization_len))
        return 1;
    if (c->authorization_len < 7 || strncasecmp(c->authorization, "Bearer ", 7) != 0)
        unauthorized(a, 0, "the Authorization header does not hold a Bearer token");
    else
        unauthorized(a, 1, "the bearer token is not accepted");
    return 0;
}

int kes_access_check(kec_auth *auth, int client_ca, int exempt, const kes_credentials *c,
                     kes_answer *a)
{
    char why[256];

    if (client_ca && !kes_tls_client_verified(c->tls_session, why, sizeof why)) {
        kes_answer_release(a);
        kes_answer_detail(a, 403,
                          "a client certificate issued by the shim's --tls-client-ca is "
                          "required: %s",
                          why);
        return -1;
    }
    if (auth == NULL || exempt)
        return 1;
    return bearer_allowed(auth, c, a);
}
