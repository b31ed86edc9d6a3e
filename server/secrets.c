/* secrets.c -- kedro-eventd's token files: loading them at start and re-reading them on
 * SIGHUP, keeping what was read before when a new file is refused. */
#include "secrets.h"
#include "kec_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Warns when runs would present a token this server does not accept: their child pipelines
 * would be refused. */
static void warn_unaccepted_run_token(const ke_secrets *s)
{
    char value[KEC_TOKEN_MAX_BYTES + sizeof "Bearer "];

    if (s->tokens == NULL || s->run_token == NULL)
        return;
    snprintf(value, sizeof value, "Bearer %s", s->run_token);
    if (!kec_auth_check(s->tokens, value, strlen(value)))
        kec_log(KEC_LOG_WARN,
                "the token of --run-token-file %s is not in --auth-tokens %s: child pipelines "
                "the runs create here will be refused",
                s->run_token_path, s->tokens_path);
    explicit_bzero(value, sizeof value);
}

static void free_token(char *t)
{
    if (t != NULL)
        explicit_bzero(t, strlen(t));
    free(t);
}

int ke_secrets_load(ke_secrets *s, const char *tokens_path, const char *run_token_path,
                    ke_error *err)
{
    kec_error kerr;

    memset(s, 0, sizeof *s);
    kec_error_clear(&kerr);
    s->tokens_path = tokens_path;
    s->run_token_path = run_token_path;
    if (tokens_path != NULL && kec_auth_new(tokens_path, &s->tokens, &kerr) != KEC_OK)
        return ke_error_set(err, kerr.code == KEC_EIO ? KE_EIO : KE_EINVAL, "--auth-tokens: %s",
                            kerr.msg);
    if (tokens_path != NULL)
        kec_log(KEC_LOG_INFO,
                "%zu bearer token(s) from %s: every call but grpc.health.v1.Health needs one",
                kec_auth_count(s->tokens), tokens_path);
    if (run_token_path != NULL &&
        kec_token_file_read(run_token_path, &s->run_token, &kerr) != KEC_OK)
        return ke_error_set(err, kerr.code == KEC_EIO ? KE_EIO : KE_EINVAL, "--run-token-file: %s",
                            kerr.msg);
    warn_unaccepted_run_token(s);
    return KE_OK;
}

void ke_secrets_reload(ke_secrets *s, ke_forwarder *forwarder)
{
    kec_error kerr;
    size_t n = 0;
    char *token = NULL;

    if (s->tokens == NULL && s->run_token_path == NULL) {
        kec_log(KEC_LOG_INFO, "SIGHUP: nothing to reload (no --auth-tokens, no "
                              "--run-token-file)");
        return;
    }
    kec_error_clear(&kerr);
    if (s->tokens != NULL && kec_auth_reload(s->tokens, &n, &kerr) == KEC_OK)
        kec_log(KEC_LOG_INFO, "SIGHUP: %zu token(s) from %s", n, s->tokens_path);
    else if (s->tokens != NULL)
        kec_log(KEC_LOG_ERROR, "SIGHUP: %s; the %zu token(s) read before stay", kerr.msg,
                kec_auth_count(s->tokens));
    kec_error_clear(&kerr);
    if (s->run_token_path != NULL &&
        kec_token_file_read(s->run_token_path, &token, &kerr) != KEC_OK) {
        kec_log(KEC_LOG_ERROR, "SIGHUP: --run-token-file: %s; runs keep the token read before",
                kerr.msg);
    } else if (s->run_token_path != NULL) {
        if (forwarder != NULL && ke_forwarder_set_run_token(forwarder, token) != KE_OK) {
            kec_log(KEC_LOG_ERROR, "SIGHUP: out of memory: runs keep the token read before");
            free_token(token);
        } else {
            free_token(s->run_token);
            s->run_token = token;
            kec_log(KEC_LOG_INFO, "SIGHUP: the run token from %s", s->run_token_path);
        }
    }
    warn_unaccepted_run_token(s);
}

void ke_secrets_release(ke_secrets *s)
{
    kec_auth_free(s->tokens);
    free_token(s->run_token);
    memset(s, 0, sizeof *s);
}
