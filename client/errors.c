/* errors.c -- the client library's error codes, their names and messages, and gRPC status names. */
#include "kedroevents.h"

#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void kec_error_clear(kec_error *err)
{
    if (err == NULL)
        return;
    err->code = KEC_OK;
    err->status = 0;
    err->msg[0] = '\0';
}

int kec_error_set(kec_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != KEC_OK)
        return code;
    err->code = code;
    err->status = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *kec_err_name(int code)
{
    switch (code) {
    case KEC_OK:
        return "OK";
#define KEC_X_NAME(name, value, msg)                                                               \
    case KEC_##name:                                                                               \
        return #name;
        KEC_ERRNO_MAP(KEC_X_NAME)
#undef KEC_X_NAME
    }
    return "UNKNOWN";
}

const char *kec_strerror(int code)
{
    switch (code) {
    case KEC_OK:
        return "no error";
#define KEC_X_MSG(name, value, msg)                                                                \
    case KEC_##name:                                                                               \
        return msg;
        KEC_ERRNO_MAP(KEC_X_MSG)
#undef KEC_X_MSG
    }
    return "unknown error";
}

const char *kec_status_name(int status)
{
    static const char *const names[] = {"OK",
                                        "CANCELLED",
                                        "UNKNOWN",
                                        "INVALID_ARGUMENT",
                                        "DEADLINE_EXCEEDED",
                                        "NOT_FOUND",
                                        "ALREADY_EXISTS",
                                        "PERMISSION_DENIED",
                                        "RESOURCE_EXHAUSTED",
                                        "FAILED_PRECONDITION",
                                        "ABORTED",
                                        "OUT_OF_RANGE",
                                        "UNIMPLEMENTED",
                                        "INTERNAL",
                                        "UNAVAILABLE",
                                        "DATA_LOSS",
                                        "UNAUTHENTICATED"};

    if (status < 0 || status >= (int)(sizeof names / sizeof names[0]))
        return "UNKNOWN";
    return names[status];
}

int kec_error_status(kec_error *err, int status, const char *msg, size_t len)
{
    if (err == NULL || err->code != KEC_OK)
        return KEC_ESTATUS;
    err->code = KEC_ESTATUS;
    err->status = status;
    if (len >= sizeof err->msg)
        len = sizeof err->msg - 1;
    if (len == 0) {
        snprintf(err->msg, sizeof err->msg, "%s", kec_status_name(status));
        return KEC_ESTATUS;
    }
    memcpy(err->msg, msg, len);
    err->msg[len] = '\0';
    return KEC_ESTATUS;
}
