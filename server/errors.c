/* errors.c -- names, messages and gRPC statuses of the server's error codes. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>

void ke_error_clear(ke_error *err)
{
    if (err == NULL)
        return;
    err->code = KE_OK;
    err->msg[0] = '\0';
}

int ke_error_set(ke_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != KE_OK)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *ke_err_name(int code)
{
    switch (code) {
    case KE_OK:
        return "OK";
#define KE_X_NAME(name, value, msg, status)                                                        \
    case KE_##name:                                                                                \
        return #name;
        KE_ERRNO_MAP(KE_X_NAME)
#undef KE_X_NAME
    }
    return "UNKNOWN";
}

const char *ke_strerror(int code)
{
    switch (code) {
    case KE_OK:
        return "success";
#define KE_X_MSG(name, value, msg, status)                                                         \
    case KE_##name:                                                                                \
        return msg;
        KE_ERRNO_MAP(KE_X_MSG)
#undef KE_X_MSG
    }
    return "unknown error";
}

int ke_err_grpc_status(int code)
{
    switch (code) {
    case KE_OK:
        return 0;
#define KE_X_STATUS(name, value, msg, status)                                                      \
    case KE_##name:                                                                                \
        return status;
        KE_ERRNO_MAP(KE_X_STATUS)
#undef KE_X_STATUS
    }
    return 2;
}
