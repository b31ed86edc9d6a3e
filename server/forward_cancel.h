/* forward_cancel.h -- the cancel requests the local runner holds: queued by any thread, taken
 * by the runner's thread, answered once the run's final status has committed. */
#ifndef KE_FORWARD_CANCEL_H
#define KE_FORWARD_CANCEL_H

#include <pthread.h>

#include "forward.h"
#include "pipeline.h"

/* One cancel request. */
typedef struct ke_cancel_wait {
    char id[KE_ID_LEN + 1];      /* the pipeline to end */
    ke_forwarder_cancel_cb cb;   /* answered exactly once */
    void *ctx;                   /* for cb */
    struct ke_cancel_wait *next; /* list link */
} ke_cancel_wait;

/* The requests: queued (not yet seen by the runner's thread) and waiting (their run is ending). */
typedef struct ke_cancels {
    pthread_mutex_t lock;    /* guards queued and closed */
    ke_cancel_wait *queued;  /* pushed, not yet taken (newest first) */
    ke_cancel_wait *waiting; /* the runner's thread's alone: runs being ended */
    int closed;              /* the runner stopped: pushes are answered at once */
} ke_cancels;

/* Initializes an empty, open list. */
void ke_cancels_init(ke_cancels *c);

/* Queues a request for id (any thread). When the list is closed, or memory runs out, cb is
 * called at once with KE_EUNAVAIL / KE_ENOMEM and 0 is returned; else 1 (wake the runner). */
int ke_cancels_push(ke_cancels *c, const char *id, ke_forwarder_cancel_cb cb, void *ctx);

/* Takes every queued request, oldest first (the runner's thread); the caller answers each with
 * ke_cancels_reply or hands it to ke_cancels_wait. */
ke_cancel_wait *ke_cancels_take(ke_cancels *c);

/* Keeps w until ke_cancels_answer(id) (the runner's thread). */
void ke_cancels_wait(ke_cancels *c, ke_cancel_wait *w);

/* Answers w with rc and frees it. */
void ke_cancels_reply(ke_cancel_wait *w, int rc);

/* Answers every waiting request for id with rc (the run's final status committed: KE_OK). */
void ke_cancels_answer(ke_cancels *c, const char *id, int rc);

/* Closes the list and answers everything queued or waiting with rc (the runner stops). */
void ke_cancels_close(ke_cancels *c, int rc);

/* Frees a closed list's lock. */
void ke_cancels_release(ke_cancels *c);

#endif
