/* tls.c -- the shim's TLS material and the check of a client's certificate: PEM files read
 * once at start-up, and GnuTLS's verdict on the certificate an HTTPS client presented. Only
 * this file sees GnuTLS; http.c hands over the session libmicrohttpd keeps. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kec_files.h"
#include "shim.h"

/* Frees p after zeroing its len bytes (a private key must not linger in freed memory). */
static void free_wiped(char *p, size_t len)
{
    if (p == NULL)
        return;
    explicit_bzero(p, len);
    free(p);
}

int kes_pem_read(const char *path, const char *flag, char **out, char *msg, size_t cap)
{
    kec_error e;
    size_t n;

    kec_error_clear(&e);
    if (kec_file_read(path, KES_PEM_MAX_BYTES, 0, flag, out, &n, &e) != KEC_OK) {
        snprintf(msg, cap, "%s", e.msg);
        return -1;
    }
    if (memchr(*out, '\0', n) != NULL || strstr(*out, "-----BEGIN ") == NULL) {
        snprintf(msg, cap, "%s \"%s\": not a PEM file (no -----BEGIN line)", flag, path);
        free_wiped(*out, n);
        *out = NULL;
        return -1;
    }
    return 0;
}

void kes_pem_free(char *pem)
{
    if (pem != NULL)
        free_wiped(pem, strlen(pem));
}

int kes_tls_client_verified(void *session, char *msg, size_t cap)
{
    gnutls_session_t s = session;
    gnutls_typed_vdata_st purpose;
    gnutls_datum_t text;
    unsigned status = 0;
    size_t n;
    int rc;

    if (s == NULL) {
        snprintf(msg, cap, "no TLS session");
        return 0;
    }
    if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 ||
        gnutls_certificate_get_peers(s, &(unsigned){0}) == NULL) {
        snprintf(msg, cap, "no client certificate was presented");
        return 0;
    }
    /* the chain must end at --tls-client-ca and the certificate be meant for clients */
    memset(&purpose, 0, sizeof purpose);
    purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
    purpose.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT;
    rc = gnutls_certificate_verify_peers(s, &purpose, 1, &status);
    if (rc != GNUTLS_E_SUCCESS) {
        snprintf(msg, cap, "the client certificate cannot be verified: %s", gnutls_strerror(rc));
        return 0;
    }
    if (status == 0)
        return 1;
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
        n = strlen((const char *)text.data);
        while (n > 0 && text.data[n - 1] == ' ')
            n--;
        snprintf(msg, cap, "the client certificate is not accepted: %.*s", (int)n,
                 (const char *)text.data);
        gnutls_free(text.data);
    } else {
        snprintf(msg, cap, "the client certificate is not accepted");
    }
    return 0;
}

int kes_tls_check(const char *cert, const char *key, const char *client_ca, char *msg, size_t cap)
{
    gnutls_certificate_credentials_t cred;
    gnutls_datum_t c, k, ca;
    int rc;

    if (gnutls_certificate_allocate_credentials(&cred) != GNUTLS_E_SUCCESS) {
        snprintf(msg, cap, "out of memory reading the TLS files");
        return -1;
    }
    c = (gnutls_datum_t){(unsigned char *)cert, (unsigned)strlen(cert)};
    k = (gnutls_datum_t){(unsigned char *)key, (unsigned)strlen(key)};
    rc = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        snprintf(msg, cap, "--tls-cert and --tls-key are refused: %s", gnutls_strerror(rc));
    } else if (client_ca != NULL) {
        ca = (gnutls_datum_t){(unsigned char *)client_ca, (unsigned)strlen(client_ca)};
        rc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        if (rc <= 0)
            snprintf(msg, cap, "--tls-client-ca holds no CA certificate GnuTLS can read%s%s",
                     rc < 0 ? ": " : "", rc < 0 ? gnutls_strerror(rc) : "");
        rc = rc <= 0 ? -1 : 0;
    }
    gnutls_certificate_free_credentials(cred);
    return rc < 0 ? -1 : 0;
}
