/* rpc_security.h -- the rpc module's transport security (internal to rpc.c): server
 * credentials from PEM files (TLS, mutual TLS) and the bearer-token check of each call. */
#ifndef KE_RPC_SECURITY_H
#define KE_RPC_SECURITY_H

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <stddef.h>

#include "errors.h"
#include "rpc.h"

/* Methods under this prefix are answered without a token and never refused for load, so
 * probes see the server while it sheds. */
#define KE_RPC_AUTH_EXEMPT_PREFIX "/grpc.health.v1.Health/"

/* The credentials o asks for: insecure without o->tls_cert; else TLS with the certificate
 * chain and key read from the files, and with o->tls_client_ca also requiring a client
 * certificate that chains to those roots. *out is the caller's to release. Returns KE_OK, or
 * KE_EIO (a file cannot be read) / KE_EINVAL (a file is too large or holds no PEM of the kind
 * expected) with err naming the flag and the file, or KE_ENOMEM. */
int ke_rpc_credentials(const ke_rpc_options *o, grpc_server_credentials **out, ke_error *err);

/* 1 when the method path (n bytes) may be called without a token and is never counted
 * against the load budget. */
int ke_rpc_auth_exempt(const char *path, size_t n);

/* Checks the `authorization` metadata of md against auth: NULL when it carries an accepted
 * "Bearer <token>", else a static message saying what is wrong that never holds what was
 * sent. */
const char *ke_rpc_auth_refusal(struct kec_auth *auth, const grpc_metadata_array *md);

#endif
