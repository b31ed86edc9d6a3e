/* forward_cancel.c -- the cancel requests the local runner holds (forward_cancel.h). */
#include "forward_cancel.h"

#include <stdlib.h>
#include <string.h>

void ke_cancels_init(ke_cancels *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
}

int ke_cancels_push(ke_cancels *c, const char *id, ke_forwarder_cancel_cb cb, void *ctx)
{
    ke_cancel_wait *w = calloc(1, sizeof *w);
    int closed;

    if (w == NULL) {
        cb(ctx, KE_ENOMEM);
        return 0;
    }
    strncpy(w->id, id, KE_ID_LEN);
    w->cb = cb;
    w->ctx = ctx;
    pthread_mutex_lock(&c->lock);
    closed = c->closed;
    if (!closed) {
        w->next = c->queued;
        c->queued = w;
    }
    pthread_mutex_unlock(&c->lock);
    if (closed)
        ke_cancels_reply(w, KE_EUNAVAIL);
    return !closed;
}

ke_cancel_wait *ke_cancels_take(ke_cancels *c)
{
    ke_cancel_wait *w, *next, *out = NULL;

    pthread_mutex_lock(&c->lock);
    w = c->queued;
    c->queued = NULL;
    pthread_mutex_unlock(&c->lock);
    for (; w != NULL; w = next) { /* reverse: oldest first */
        next = w->next;
        w->next = out;
        out = w;
    }
    return out;
}

void ke_cancels_wait(ke_cancels *c, ke_cancel_wait *w)
{
    w->next = c->waiting;
    c->waiting = w;
}

void ke_cancels_reply(ke_cancel_wait *w, int rc)
{
    w->cb(w->ctx, rc);
    free(w);
}

void ke_cancels_answer(ke_cancels *c, const char *id, int rc)
{
    ke_cancel_wait **link = &c->waiting, *w;

    while (*link != NULL) {
        w = *link;
        if (strcmp(w->id, id) == 0) {
            *link = w->next;
            ke_cancels_reply(w, rc);
        } else {
            link = &w->next;
        }
    }
}

void ke_cancels_close(ke_cancels *c, int rc)
{
    ke_cancel_wait *w, *next;

    pthread_mutex_lock(&c->lock);
    c->closed = 1;
    pthread_mutex_unlock(&c->lock);
    for (w = ke_cancels_take(c); w != NULL; w = next) {
        next = w->next;
        ke_cancels_reply(w, rc);
    }
    for (w = c->waiting; w != NULL; w = next) {
        next = w->next;
        ke_cancels_reply(w, rc);
    }
    c->waiting = NULL;
}

void ke_cancels_release(ke_cancels *c)
{
    pthread_mutex_destroy(&c->lock);
}
