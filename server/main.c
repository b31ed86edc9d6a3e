/* main.c -- kedro-eventd: wires configuration, store, services and the gRPC loop, and
 * shuts them down on SIGINT/SIGTERM (SIGHUP re-reads the token files and the event
 * configuration); tells systemd (sd_notify) when it is ready, reloading and stopping. */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "config.h"
#include "health.h"
#include "kec_log.h"
#include "logs.h"
#include "metrics_http.h"
#include "options.h"
#include "reflection.h"
#include "reload.h"
#include "retention.h"
#include "router.h"
#include "rpc.h"
#include "runner.h"
#include "secrets.h"
#include "service.h"
#include "stats.h"
#include "store.h"
#include "watch.h"

extern const unsigned char ke_descriptor_set[];
extern const size_t ke_descriptor_set_len;

#define MAX_METHODS 24

static void warn_stderr(void *ud, const char *msg)
{
    (void)ud;
    kec_log(KEC_LOG_WARN, "%s", msg);
}

/* Loads the event configuration into a router; *router stays NULL when
 * none is set (dispatch disabled). */
static int load_router(const ke_options *o, ke_router **router, ke_error *err)
{
    ke_config *cfg = NULL;
    int rc;

    *router = NULL;
    rc = ke_config_load(o->events_config, o->dotenv, warn_stderr, NULL, &cfg, err);
    if (rc != KE_OK)
        return rc;
    if (cfg == NULL) {
        kec_log(KEC_LOG_WARN, "%s is not set: dispatch is disabled and answers FAILED_PRECONDITION",
                KE_CONFIG_ENV);
        return KE_OK;
    }
    kec_log(KEC_LOG_INFO, "%zu event route(s) from %s", cfg->n_routes, cfg->origin);
    return ke_router_new(cfg, router, err);
}

/* The address a run uses to reach this server: the listen host (loopback
 * for a wildcard) with the port actually bound. */
static void reachable_address(const char *listen, int port, char *out, size_t cap)
{
    const char *colon = strrchr(listen, ':');
    size_t host_len = colon != NULL ? (size_t)(colon - listen) : strlen(listen);

    if (host_len == 0 || strncmp(listen, "0.0.0.0", host_len) == 0 ||
        strncmp(listen, "[::]", host_len) == 0)
        snprintf(out, cap, "127.0.0.1:%d", port);
    else
        snprintf(out, cap, "%.*s:%d", (int)host_len, listen, port);
}

/* Undoes signal state inherited from whoever started us: SIGCHLD ignored (or SA_NOCLDWAIT)
 * would reap the runs behind our back and lose their exit status, and a blocked signal would
 * stay blocked in every thread. Our own handling is set up after this. */
static void reset_inherited_signals(void)
{
    struct sigaction dfl;
    sigset_t none;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGCHLD, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Tells systemd (when it started us with NOTIFY_SOCKET) that a reload begins; READY=1 ends it.
 * MONOTONIC_USEC is what Type=notify-reload (systemd 253) asks for beside RELOADING=1. */
static void notify_reloading(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    sd_notifyf(0, "RELOADING=1\nSTATUS=reloading (SIGHUP)\nMONOTONIC_USEC=%llu",
               (unsigned long long)now.tv_sec * 1000000ull +
                   (unsigned long long)now.tv_nsec / 1000);
}

/* Blocks until SIGINT or SIGTERM arrives; returns the signal. SIGHUP, which must never end
 * the server, re-reads what can be reloaded in between. */
static int wait_for_signal(const sigset_t *set, const ke_options *o, ke_secrets *secrets,
                           ke_runner *runner, ke_service *service)
{
    int sig = 0;

    for (;;) {
        while (sigwait(set, &sig) != 0)
            ;
        if (sig != SIGHUP)
            return sig;
        notify_reloading();
        ke_secrets_reload(secrets, runner->local);
        ke_runner_reload(runner);
        ke_reload_events(o, service->routes, service->metrics);
        sd_notify(0, "READY=1\nSTATUS=serving (reloaded)");
    }
}

/* --metrics-listen: the metrics, fed from the store, served over HTTP (nothing without it). */
static int start_metrics(const ke_options *o, ke_store *store, kec_auth *auth,
                         const ke_router *router, ke_metrics **m, ke_metrics_http **http,
                         ke_error *err)
{
    int rc;

    if (o->metrics_listen == NULL)
        return KE_OK;
    rc = ke_metrics_new(store, m, err);
    if (rc == KE_OK)
        ke_metrics_config(*m, ke_router_config(router));
    if (rc == KE_OK)
        rc = ke_metrics_http_start(o->metrics_listen, *m, auth, http, err);
    return rc;
}

/* The log hub of StreamLogs on DATA_DIR/logs, as many readers as server streams. */
static int start_logs(const ke_options *o, ke_store *store, ke_logs **out, ke_error *err)
{
    char dir[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/logs", o->data_dir);

    if (n < 0 || (size_t)n >= sizeof dir)
        return ke_error_set(err, KE_EINVAL, "data dir \"%s\" is too long", o->data_dir);
    return ke_logs_new(store, dir,
                       o->max_streams > 0 ? (size_t)o->max_streams : KE_RPC_DEFAULT_MAX_STREAMS,
                       out, err);
}

int main(int argc, char **argv)
{
    ke_metrics_http *metrics_http = NULL;
    ke_rpc_method methods[MAX_METHODS];
    ke_reflection *reflection = NULL;
    ke_runner runner = {0};
    ke_retention *retention = NULL;
    char server_addr[300];
    size_t recovered = 0;
    ke_service service = {0};
    ke_secrets secrets = {0};
    ke_stats *stats = NULL;
    ke_health *health = NULL;
    ke_watch *watch = NULL;
    ke_router *router = NULL;
    ke_store *store = NULL;
    ke_logs *logs = NULL;
    ke_rpc *rpc = NULL;
    ke_rpc_options ro = {0};
    ke_options o;
    size_t n = 0;
    sigset_t set;
    ke_error err;
    int status = 1, sig;

    ke_error_clear(&err);
    if (ke_options_parse(argc, argv, &o, &err) != KE_OK) {
        kec_log_setup("kedro-eventd", o.log_format); /* json when given before the bad flag */
        kec_log(KEC_LOG_ERROR, "%s", err.msg);
        return 2;
    }
    kec_log_setup("kedro-eventd", o.log_format);
    if (o.help) {
        ke_options_usage(stdout);
        return 0;
    }
    if (o.version) {
        printf("kedro-eventd %s\n", KE_VERSION);
        return 0;
    }
    reset_inherited_signals();
    /* Signals are taken by sigwait in this thread only: block them before
     * any other thread exists, so every thread inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (ke_stats_new(ke_now_us(), &stats, &err) != KE_OK ||
        ke_secrets_load(&secrets, o.auth_tokens, o.run_token_file, &err) != KE_OK ||
        load_router(&o, &router, &err) != KE_OK ||
        ke_routes_new(router, &service.routes, &err) != KE_OK ||
        ke_store_open(o.data_dir, &store, &err) != KE_OK ||
        ke_store_recover(store, o.requeue_interrupted, &recovered, &err) != KE_OK ||
        ke_health_new(&health, &err) != KE_OK || ke_watch_new(store, &watch, &err) != KE_OK ||
        ke_reflection_new(ke_descriptor_set, ke_descriptor_set_len, &reflection, &err) != KE_OK)
        goto out;
    /* service.routes holds the router now; it stays until a reload (after start-up) */
    if (start_metrics(&o, store, secrets.tokens, router, &service.metrics, &metrics_http, &err) !=
        KE_OK) {
        status = err.code == KE_EINVAL ? 2 : 1; /* a bad --metrics-listen address */
        goto out;
    }
    ke_store_set_max_bytes(store, o.max_store_bytes);
    service.dispatcher.store = store;
    service.dispatcher.max_event_json = KE_EVENT_JSON_FACTOR * o.max_message_bytes;
    service.dispatcher.stats = stats;
    service.store = store;
    service.stats = stats;
    service.runner = &runner; /* started below, before calls are served */
    if (start_logs(&o, store, &logs, &err) != KE_OK)
        goto out;
    service.logs = logs;
    n += ke_service_methods(&service, methods + n, MAX_METHODS - n);
    if (n < MAX_METHODS)
        n += ke_watch_methods(watch, methods + n, MAX_METHODS - n);
    if (n < MAX_METHODS)
        n += ke_health_methods(health, methods + n, MAX_METHODS - n);
    if (n < MAX_METHODS)
        n += ke_reflection_methods(reflection, methods + n, MAX_METHODS - n);
    if (n > MAX_METHODS) { /* a service grew past the table: fail loudly, not silently */
        ke_error_set(&err, KE_EINVAL, "internal: more than %d methods", MAX_METHODS);
        goto out;
    }

    ro.listen = o.listen;
    ro.threads = o.threads;
    ro.max_message_bytes = o.max_message_bytes;
    ro.max_inflight_bytes = o.max_inflight_bytes;
    ro.max_calls = o.max_calls;
    ro.max_streams = o.max_streams;
    ro.memory_quota_bytes = KE_RPC_QUOTA_FACTOR * o.max_inflight_bytes;
    ro.handshake_timeout_ms = o.handshake_timeout * 1000;
    ro.max_idle_ms = o.max_idle * 1000;
    ro.tls_cert = o.tls_cert;
    ro.tls_key = o.tls_key;
    ro.tls_client_ca = o.tls_client_ca;
    ro.auth = secrets.tokens;
    if (ke_rpc_new(&ro, methods, n, &rpc, &err) != KE_OK)
        goto out;
    if (recovered > 0)
        kec_log(KEC_LOG_WARNING, "%zu run(s) left STARTED by a previous server %s", recovered,
                o.requeue_interrupted ? "are READY again" : "marked FAILURE");
    reachable_address(o.listen, ke_rpc_port(rpc), server_addr, sizeof server_addr);
    if (ke_runner_start(&runner, &o, store, server_addr, secrets.run_token, &err) != KE_OK)
        goto out;
    if (o.retain_days > 0 &&
        ke_retention_start(store, o.data_dir, o.retain_days, &retention, &err) != KE_OK)
        goto out;
    if (ke_rpc_start(rpc, &err) != KE_OK)
        goto out;
    kec_log(KEC_LOG_INFO, "store %s/kedro-events.db; runner %s", o.data_dir,
            ke_runner_describe(&o));
    if (o.tls_cert != NULL)
        kec_log(KEC_LOG_INFO, "TLS with %s%s%s", o.tls_cert,
                o.tls_client_ca != NULL ? "; client certificates required, verified against " : "",
                o.tls_client_ca != NULL ? o.tls_client_ca : "");
    /* Tests and scripts read this line to learn the port (e.g. with --listen host:0). */
    printf("kedro-eventd: listening on %s port %d\n", o.listen, ke_rpc_port(rpc));
    if (metrics_http != NULL) /* after the line above, which scripts read first */
        printf("kedro-eventd: metrics on %s port %d\n", o.metrics_listen,
               ke_metrics_http_port(metrics_http));
    fflush(stdout);
    sd_notifyf(0, "READY=1\nSTATUS=serving on %s port %d", o.listen, ke_rpc_port(rpc));

    sig = wait_for_signal(&set, &o, &secrets, &runner, &service);
    sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
    kec_log(KEC_LOG_INFO, "%s received, shutting down (grace %d s)",
            sig == SIGINT ? "SIGINT" : "SIGTERM", o.grace_seconds);
    ke_health_set_serving(health, 0);
    ke_rpc_shutdown(rpc, o.grace_seconds * 1000);
    ke_logs_free(logs); /* after the streams are over, before their calls are freed */
    logs = NULL;
    status = 0;
out:
    if (err.code != KE_OK)
        kec_log(KEC_LOG_ERROR, "%s", err.msg);
    ke_retention_stop(retention);
    ke_runner_stop(&runner, status == 0 ? o.grace_seconds * 1000 : 0);
    ke_logs_free(logs);
    ke_rpc_free(rpc);
    ke_metrics_http_stop(metrics_http);
    ke_watch_free(watch); /* after the server: no stream left to watch */
    ke_reflection_free(reflection);
    ke_health_free(health);
    ke_metrics_free(service.metrics);
    ke_store_close(store);
    ke_routes_free(service.routes);
    ke_secrets_release(&secrets);
    ke_stats_free(stats); /* after the server and the store: nothing counts any more */
    return status;
}
