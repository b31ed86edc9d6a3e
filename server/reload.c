/* reload.c -- SIGHUP's reload of the event configuration. */
#include "reload.h"

#include <stdlib.h>

#include "kec_log.h"

#define PROG "reload: "

static void warn_stderr(void *ud, const char *msg)
{
    (void)ud;
    kec_log(KEC_LOG_WARNING, PROG "warning: %s", msg);
}

/* Where a configuration that cannot change comes from, or NULL when it can be re-read. */
static const char *fixed_origin(const ke_options *o)
{
    if (o->events_config != NULL)
        return o->events_config[0] == '@' ? NULL : "given inline (--events-config JSON)";
    if (getenv(KE_CONFIG_ENV) != NULL)
        return "from the environment (" KE_CONFIG_ENV ")";
    if (getenv(KE_CONFIG_ENV_ALIAS) != NULL)
        return "from the environment (" KE_CONFIG_ENV_ALIAS ")";
    return NULL;
}

static void refused(ke_metrics *m, const char *why)
{
    kec_log(KEC_LOG_ERROR, PROG "event configuration refused, the old one kept: %s", why);
    ke_metrics_reload(m, 0);
}

void ke_reload_events(const ke_options *o, ke_routes *routes, ke_metrics *m)
{
    const char *fixed = fixed_origin(o);
    ke_router *router = NULL, *cur;
    ke_config *cfg = NULL;
    size_t n_routes;
    ke_error err;

    if (fixed != NULL) {
        kec_log(KEC_LOG_INFO, PROG "the event configuration is %s and cannot change; kept", fixed);
        return;
    }
    ke_error_clear(&err);
    if (ke_config_load(o->events_config, o->dotenv, warn_stderr, NULL, &cfg, &err) != KE_OK) {
        refused(m, err.msg);
        return;
    }
    if (cfg == NULL) {
        cur = ke_routes_acquire(routes);
        ke_router_free(cur);
        if (cur != NULL) {
            refused(m, KE_CONFIG_ENV " is no longer set in the .env file (restart to disable "
                                     "dispatch)");
            return;
        }
        kec_log(KEC_LOG_INFO, PROG "%s is still not set: dispatch stays disabled", KE_CONFIG_ENV);
        ke_metrics_reload(m, 1);
        return;
    }
    n_routes = cfg->n_routes;
    kec_log(KEC_LOG_INFO, PROG "%zu event route(s) from %s", n_routes, cfg->origin);
    if (ke_router_new(cfg, &router, &err) != KE_OK) { /* takes cfg */
        refused(m, err.msg);
        return;
    }
    ke_metrics_config(m, ke_router_config(router));
    ke_routes_swap(routes, router);
    ke_metrics_reload(m, 1);
}
