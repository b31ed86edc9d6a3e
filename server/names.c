/* names.c -- the rules for pipeline and parameter names, shared by every place that takes one. */
#include "names.h"

#include <string.h>

#include "text.h"

const char ke_param_reserved_msg[] =
    "is set by the server on every run (its own id, and the event that started it); "
    "choose another name";

int ke_pipeline_name_check(const char *name, const char *what, ke_error *err)
{
    static const char allowed[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
    char q[KE_QUOTE_CAP];
    size_t n = strlen(name);

    if (n >= 1 && n <= KE_PIPELINE_NAME_MAX && strspn(name, allowed) == n && name[0] != '-' &&
        name[0] != '.')
        return KE_OK;
    return ke_error_set(err, KE_EINVAL,
                        "%s %s: a pipeline name must be 1 to %d characters of letters, digits, "
                        "'_', '.' and '-', not starting with '-' or '.'",
                        what, ke_quote(q, name), KE_PIPELINE_NAME_MAX);
}

int ke_param_name_reserved(const char *name)
{
    return strcmp(name, "id") == 0 || strcmp(name, "event") == 0;
}
