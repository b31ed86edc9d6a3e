/* health.c -- grpc.health.v1.Health: Check and Watch over one atomic serving flag; each Watch
 * stream is told of every change of it. */
#include "health.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "text.h"

/* One open Watch stream. */
typedef struct watcher {
    ke_health *h;                /* the service */
    ke_rpc_call *call;           /* the stream (held) */
    char *service;               /* the service it watches */
    ke_health_status last;       /* the status it was last sent */
    struct watcher *prev, *next; /* in h->watchers */
} watcher;

struct ke_health {
    atomic_int serving;   /* 1: known services are SERVING; 0: NOT_SERVING */
    pthread_mutex_t lock; /* guards watchers, and orders each watcher's sends */
    watcher *watchers;    /* open Watch streams */
};

/* The services a Check answers for besides "" (the whole server). */
static const char *const known_services[] = {
    "kedro.events.v1.EventService",
};

int ke_health_new(ke_health **out, ke_error *err)
{
    ke_health *h = malloc(sizeof *h);

    *out = NULL;
    if (h == NULL)
        return ke_error_set(err, KE_ENOMEM, "health service: out of memory");
    atomic_init(&h->serving, 1);
    pthread_mutex_init(&h->lock, NULL);
    h->watchers = NULL;
    *out = h;
    return KE_OK;
}

/* Sends st to a watcher as a HealthCheckResponse. */
static void send_status(ke_rpc_call *call, ke_health_status st)
{
    Grpc__Health__V1__HealthCheckResponse res = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    uint8_t buf[16]; /* a HealthCheckResponse is at most 11 bytes */
    size_t n;

    res.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)st;
    n = grpc__health__v1__health_check_response__pack(&res, buf);
    ke_rpc_stream_send(call, buf, n);
}

void ke_health_set_serving(ke_health *h, int serving)
{
    watcher *w;

    atomic_store(&h->serving, serving ? 1 : 0);
    pthread_mutex_lock(&h->lock);
    for (w = h->watchers; w != NULL; w = w->next) {
        ke_health_status st = ke_health_status_for(h, w->service);

        if (st != w->last) {
            send_status(w->call, st);
            w->last = st;
        }
    }
    pthread_mutex_unlock(&h->lock);
}

ke_health_status ke_health_status_for(const ke_health *h, const char *service)
{
    int known = service[0] == '\0';
    size_t i;

    for (i = 0; !known && i < sizeof known_services / sizeof known_services[0]; i++)
        known = strcmp(service, known_services[i]) == 0;
    if (!known)
        return KE_HEALTH_SERVICE_UNKNOWN;
    return atomic_load(&h->serving) ? KE_HEALTH_SERVING : KE_HEALTH_NOT_SERVING;
}

/* Answers one Check (watch 0) request: the status as a
 * HealthCheckResponse, except that Check of an unknown service ends with
 * NOT_FOUND (the health spec's behaviour) and malformed bytes with
 * INVALID_ARGUMENT. Replies exactly once. */
static void answer(ke_health *h, ke_rpc_call *call, const uint8_t *req, size_t len, int watch)
{
    Grpc__Health__V1__HealthCheckRequest *in;
    Grpc__Health__V1__HealthCheckResponse res = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    uint8_t buf[16]; /* a HealthCheckResponse is at most 11 bytes */
    char name[KE_QUOTE_CAP];
    char msg[KE_QUOTE_CAP + 32];
    ke_health_status st;
    size_t n;

    in = grpc__health__v1__health_check_request__unpack(NULL, len, req);
    if (in == NULL) {
        ke_rpc_reply(call, KE_GRPC_INVALID_ARGUMENT, "malformed grpc.health.v1.HealthCheckRequest",
                     NULL, 0);
        return;
    }
    st = ke_health_status_for(h, in->service);
    if (st == KE_HEALTH_SERVICE_UNKNOWN && !watch) {
        ke_quote(name, in->service);
        snprintf(msg, sizeof msg, "unknown service %s", name);
        grpc__health__v1__health_check_request__free_unpacked(in, NULL);
        ke_rpc_reply(call, KE_GRPC_NOT_FOUND, msg, NULL, 0);
        return;
    }
    grpc__health__v1__health_check_request__free_unpacked(in, NULL);
    res.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)st;
    n = grpc__health__v1__health_check_response__pack(&res, buf);
    ke_rpc_reply(call, KE_GRPC_OK, NULL, buf, n);
}

/* ke_rpc_handler for /grpc.health.v1.Health/Check. */
static void health_check(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    answer(ctx, call, req, len, 0);
}

/* The Watch stream of w is over: forget it. */
static void watcher_gone(void *ctx)
{
    watcher *w = ctx;
    ke_health *h = w->h;

    pthread_mutex_lock(&h->lock);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        h->watchers = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&h->lock);
    ke_rpc_stream_release(w->call);
    free(w->service);
    free(w);
}

/* ke_rpc_handler for /grpc.health.v1.Health/Watch: the current status, then each change of
 * it until the client cancels or the server shuts down (NOT_SERVING first: main.c reports it
 * before ending the streams). */
static void health_watch(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    Grpc__Health__V1__HealthCheckRequest *in;
    ke_health *h = ctx;
    watcher *w;

    in = grpc__health__v1__health_check_request__unpack(NULL, len, req);
    if (in == NULL) {
        ke_rpc_reply(call, KE_GRPC_INVALID_ARGUMENT, "malformed grpc.health.v1.HealthCheckRequest",
                     NULL, 0);
        return;
    }
    w = calloc(1, sizeof *w);
    if (w != NULL && (w->service = strdup(in->service)) == NULL) {
        free(w);
        w = NULL;
    }
    grpc__health__v1__health_check_request__free_unpacked(in, NULL);
    if (w == NULL) {
        ke_rpc_reply(call, KE_GRPC_RESOURCE_EXHAUSTED, "server out of memory", NULL, 0);
        return;
    }
    w->h = h;
    w->call = call;
    ke_rpc_stream_hold(call, watcher_gone, w);
    pthread_mutex_lock(&h->lock);
    w->last = ke_health_status_for(h, w->service);
    send_status(call, w->last);
    w->next = h->watchers;
    if (h->watchers != NULL)
        h->watchers->prev = w;
    h->watchers = w;
    pthread_mutex_unlock(&h->lock);
}

size_t ke_health_methods(ke_health *h, ke_rpc_method *out, size_t cap)
{
    const ke_rpc_method methods[] = {
        {"/grpc.health.v1.Health/Check", KE_RPC_UNARY, health_check, h},
        {"/grpc.health.v1.Health/Watch", KE_RPC_SERVER_STREAM, health_watch, h},
    };
    const size_t n = sizeof methods / sizeof methods[0];
    size_t i;

    for (i = 0; i < n && i < cap; i++)
        out[i] = methods[i];
    return n;
}

void ke_health_free(ke_health *h)
{
    if (h == NULL)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}
