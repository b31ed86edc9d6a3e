/* errors.h -- the server's error codes, their names, messages and gRPC statuses. */
#ifndef KE_ERRORS_H
#define KE_ERRORS_H

#include <stddef.h>

/* X(NAME, value, message, gRPC status code number). One table, so a code
 * cannot lose its name, message or status mapping. */
#define KE_ERRNO_MAP(X)                                                                            \
    X(EINVAL, -1, "invalid argument", 3 /* INVALID_ARGUMENT */)                                    \
    X(EDISABLED, -2, "dispatch disabled", 9 /* FAILED_PRECONDITION */)                             \
    X(ENOTFOUND, -3, "not found", 5 /* NOT_FOUND */)                                               \
    X(ETOOBIG, -4, "too large", 8 /* RESOURCE_EXHAUSTED */)                                        \
    X(EUNAVAIL, -5, "unavailable", 14 /* UNAVAILABLE */)                                           \
    X(ENOMEM, -6, "out of memory", 8 /* RESOURCE_EXHAUSTED */)                                     \
    X(ESTORE, -7, "store failure", 13 /* INTERNAL */)                                              \
    X(ECONFIG, -8, "invalid configuration", 13 /* INTERNAL */)                                     \
    X(EIO, -9, "input/output error", 13 /* INTERNAL */)                                            \
    X(EFULL, -10, "store full", 8 /* RESOURCE_EXHAUSTED: --max-store-bytes reached */)             \
    X(ESTATE, -11, "wrong state", 9 /* FAILED_PRECONDITION: e.g. cancel of an ended run */)

enum {
    KE_OK = 0,
#define KE_X_ENUM(name, value, msg, status) KE_##name = value,
    KE_ERRNO_MAP(KE_X_ENUM)
#undef KE_X_ENUM
};

/* The first error of an operation, as a code and a message naming the subject. */
typedef struct ke_error {
    int code;      /* KE_OK or a negative KE_E* code */
    char msg[512]; /* human-readable, names what failed and why */
} ke_error;

/* Resets err to "no error". */
void ke_error_clear(ke_error *err);

/* Records an error unless err already holds one (the first error wins), and
 * returns code, so `return ke_error_set(err, KE_EINVAL, "...")` reads well.
 * err may be NULL. */
int ke_error_set(ke_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "EINVAL" for KE_EINVAL, "UNKNOWN" for anything else. */
const char *ke_err_name(int code);

/* "invalid argument" for KE_EINVAL. */
const char *ke_strerror(int code);

/* The gRPC status code number a code answers with (0 for KE_OK, 2 UNKNOWN
 * for codes outside the table). */
int ke_err_grpc_status(int code);

#endif
