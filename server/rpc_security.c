/* rpc_security.c -- kedro-eventd's transport security: TLS server credentials read from PEM
 * files, and the bearer-token check every call but the exempt ones passes before its handler. */
#include "rpc_security.h"

#include <grpc/slice.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kec_files.h"
#include "kec_tokens.h"

/* What a PEM file must hold. */
typedef enum pem_kind {
    PEM_CERTIFICATE, /* at least one "-----BEGIN CERTIFICATE-----" block */
    PEM_PRIVATE_KEY, /* a "-----BEGIN ... PRIVATE KEY-----" block, not encrypted */
} pem_kind;

/* Reads the whole file at path (at most KE_TLS_PEM_MAX bytes) into *out, NUL-terminated,
 * *len bytes; flag names it in errors. */
static int read_file(const char *flag, const char *path, char **out, size_t *len, ke_error *err)
{
    kec_error e;
    int rc;

    kec_error_clear(&e);
    rc = kec_file_read(path, KE_TLS_PEM_MAX, 0, flag, out, len, &e);
    if (rc == KEC_OK)
        return KE_OK;
    return ke_error_set(err,
                        rc == KEC_EIO      ? KE_EIO
                        : rc == KEC_ENOMEM ? KE_ENOMEM
                                           : KE_EINVAL,
                        "%s", e.msg);
}

/* KE_OK when the NUL-terminated text holds a PEM block of the kind wanted (the first
 * matching BEGIN line decides); else KE_EINVAL saying what the file lacks. */
static int check_pem(const char *flag, const char *path, const char *text, size_t len,
                     pem_kind kind, ke_error *err)
{
    static const char begin[] = "-----BEGIN ";
    const char *p = text, *label, *end;
    size_t n;

    if (strlen(text) != len)
        return ke_error_set(err, KE_EINVAL, "%s \"%s\": holds a NUL byte: not a PEM file", flag,
                            path);
    while ((p = strstr(p, begin)) != NULL) {
        label = p + sizeof begin - 1;
        end = strstr(label, "-----");
        if (end == NULL)
            break;
        n = (size_t)(end - label);
        p = end;
        if (kind == PEM_CERTIFICATE && n == 11 && memcmp(label, "CERTIFICATE", 11) == 0)
            return KE_OK;
        if (kind != PEM_PRIVATE_KEY || n < 11 || memcmp(end - 11, "PRIVATE KEY", 11) != 0)
            continue;
        if (n >= 9 && memcmp(label, "ENCRYPTED", 9) == 0)
            return ke_error_set(err, KE_EINVAL,
                                "%s \"%s\": the private key is encrypted: give an unencrypted "
                                "PEM key (e.g. openssl pkey -in KEY -out PLAIN.key)",
                                flag, path);
        p = end + 5;
        while (*p == '\r' || *p == '\n')
            p++;
        if (strncmp(p, "Proc-Type: 4,ENCRYPTED", 22) == 0)
            return ke_error_set(err, KE_EINVAL,
                                "%s \"%s\": the private key is encrypted: give an unencrypted "
                                "PEM key",
                                flag, path);
        return KE_OK;
    }
    return ke_error_set(err, KE_EINVAL, "%s \"%s\": holds no PEM %s (-----BEGIN %s-----)", flag,
                        path, kind == PEM_CERTIFICATE ? "certificate" : "private key",
                        kind == PEM_CERTIFICATE ? "CERTIFICATE" : "PRIVATE KEY");
}

/* read_file, then check_pem. */
static int read_pem(const char *flag, const char *path, pem_kind kind, char **out, size_t *len,
                    ke_error *err)
{
    int rc = read_file(flag, path, out, len, err);

    if (rc == KE_OK && (rc = check_pem(flag, path, *out, *len, kind, err)) != KE_OK) {
        explicit_bzero(*out, *len);
        free(*out);
        *out = NULL;
    }
    return rc;
}

int ke_rpc_credentials(const ke_rpc_options *o, grpc_server_credentials **out, ke_error *err)
{
    char *cert = NULL, *key = NULL, *ca = NULL;
    size_t cert_len = 0, key_len = 0, ca_len = 0;
    grpc_ssl_pem_key_cert_pair pair;
    int rc;

    *out = NULL;
    if (o->tls_cert == NULL) {
        *out = grpc_insecure_server_credentials_create();
        return KE_OK;
    }
    rc = read_pem("--tls-cert", o->tls_cert, PEM_CERTIFICATE, &cert, &cert_len, err);
    if (rc == KE_OK)
        rc = read_pem("--tls-key", o->tls_key, PEM_PRIVATE_KEY, &key, &key_len, err);
    if (rc == KE_OK && o->tls_client_ca != NULL)
        rc = read_pem("--tls-client-ca", o->tls_client_ca, PEM_CERTIFICATE, &ca, &ca_len, err);
    if (rc != KE_OK)
        goto out;
    pair.private_key = key;
    pair.cert_chain = cert;
    /* grpc copies the PEM text: ours can be wiped once the credentials exist. */
    *out = grpc_ssl_server_credentials_create_ex(
        ca, &pair, 1,
        ca != NULL ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
        NULL);
    if (*out == NULL)
        rc = ke_error_set(err, KE_EINVAL, "--tls-cert \"%s\", --tls-key \"%s\": grpc refused them",
                          o->tls_cert, o->tls_key);
out:
    free(cert);
    free(ca);
    if (key != NULL)
        explicit_bzero(key, key_len);
    free(key);
    return rc;
}

int ke_rpc_auth_exempt(const char *path, size_t n)
{
    size_t k = sizeof KE_RPC_AUTH_EXEMPT_PREFIX - 1;

    return n > k && memcmp(path, KE_RPC_AUTH_EXEMPT_PREFIX, k) == 0;
}

/* 1 when the value (n bytes) starts, after spaces, with the scheme "Bearer" and a space. */
static int is_bearer(const char *v, size_t n)
{
    size_t b = 0;

    while (b < n && (v[b] == ' ' || v[b] == '\t'))
        b++;
    return n - b > 6 && strncasecmp(v + b, "bearer", 6) == 0 &&
           (v[b + 6] == ' ' || v[b + 6] == '\t');
}

const char *ke_rpc_auth_refusal(struct kec_auth *auth, const grpc_metadata_array *md)
{
    const grpc_slice *value = NULL;
    size_t i, found = 0;

    for (i = 0; i < md->count; i++) {
        if (grpc_slice_str_cmp(md->metadata[i].key, "authorization") != 0)
            continue;
        value = &md->metadata[i].value;
        found++;
    }
    if (found == 0)
        return "missing bearer token: send metadata authorization: Bearer <token>";
    if (found > 1)
        return "more than one authorization metadata entry: send one, \"Bearer <token>\"";
    if (!is_bearer((const char *)GRPC_SLICE_START_PTR(*value), GRPC_SLICE_LENGTH(*value)))
        return "the authorization metadata is not \"Bearer <token>\"";
    if (!kec_auth_check(auth, (const char *)GRPC_SLICE_START_PTR(*value),
                        GRPC_SLICE_LENGTH(*value)))
        return "the bearer token is not accepted";
    return NULL;
}
