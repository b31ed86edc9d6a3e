/* service_ops.c -- the EventService's operator methods: CancelPipeline (the store's
 * check-and-abort, or the local runner ending a run) and RetryPipeline (an ended pipeline
 * again, as a new READY one). */
#include <stdlib.h>
#include <string.h>

#include "kedro/events/v1/events.pb-c.h"
#include "runner.h"
#include "service_internal.h"

#define RETRY_OF_TAG "retry_of"          /* the tag naming the pipeline a retry reruns */
#define REMOTE_ID_TAG "kedro_graphql_id" /* kedro-graphql's id of a forwarded pipeline */

/* A CancelPipeline in flight. */
typedef struct cancel_call {
    ke_rpc_call *call;      /* to answer */
    ke_service *svc;        /* the store and runner */
    char id[KE_ID_LEN + 1]; /* the pipeline */
} cancel_call;

static int ended(ke_state st)
{
    return st == KE_STATE_SUCCESS || st == KE_STATE_FAILURE || st == KE_STATE_ABORTED;
}

/* Answers a cancel whose run the local runner ended (or found ended): the stored record when
 * it is ABORTED, else why not. */
static void answer_ended(cancel_call *cc, int rc)
{
    ke_pipeline p = {0};
    ke_error err;
    ke_state st;

    ke_error_clear(&err);
    if (rc == KE_EUNAVAIL)
        ke_error_set(&err, KE_EUNAVAIL,
                     "pipeline %s: the server is shutting down; its run ends with it", cc->id);
    else if (rc == KE_ENOMEM)
        ke_error_set(&err, KE_ENOMEM, "server out of memory");
    else if (ke_store_get(cc->svc->store, cc->id, &p, &err) == KE_OK) {
        st = ke_pipeline_state(&p);
        if (st == KE_STATE_ABORTED && rc == KE_OK)
            ke_service_reply_pipeline(cc->call, &p);
        else if (ended(st))
            ke_error_set(&err, KE_ESTATE, "pipeline %s has already ended (%s)", cc->id,
                         ke_state_name(st));
        else /* its outcome did not commit yet: the store keeps retrying it */
            ke_error_set(&err, KE_EUNAVAIL,
                         "pipeline %s: its run ended but its status is not recorded yet; "
                         "retry later",
                         cc->id);
    }
    if (err.code != KE_OK)
        ke_service_reply_error(cc->call, &err);
    ke_pipeline_release(&p);
    free(cc);
}

/* The local runner's answer (its thread): the run's final status committed, or why not. */
static void on_run_ended(void *ctx, int rc)
{
    answer_ended(ctx, rc);
}

/* The store's answer (writer thread): aborted, running, or refused. */
static void on_cancel_checked(void *ctx, int rc, const ke_error *err, ke_pipeline *p, int running)
{
    cancel_call *cc = ctx;
    ke_runner *runner = cc->svc->runner;
    ke_error e;

    if (rc != KE_OK) {
        ke_service_reply_error(cc->call, err);
    } else if (!running) {
        ke_service_reply_pipeline(cc->call, p);
    } else if (runner != NULL && runner->local != NULL) {
        ke_forwarder_cancel(runner->local, cc->id, on_run_ended, cc);
        return; /* cc answered by on_run_ended */
    } else {
        ke_error_clear(&e);
        ke_error_set(&e, KE_ESTATE,
                     "pipeline %s is STARTED but this server runs no local runner to end it "
                     "(--runner is not local)",
                     cc->id);
        ke_service_reply_error(cc->call, &e);
    }
    free(cc);
}

/* Reads the required id of a Cancel/RetryPipelineRequest (same shape) into id. */
static int request_id(const ProtobufCMessageDescriptor *d, const uint8_t *req, size_t len,
                      char id[KE_ID_LEN + 1], ke_error *err)
{
    ProtobufCMessage *m = ke_service_unpack(d, req, len, err);
    const char *s;
    int rc = KE_OK;

    if (m == NULL)
        return KE_EINVAL;
    /* Both messages hold only `string id = 1`. */
    s = d == &kedro__events__v1__cancel_pipeline_request__descriptor
            ? ((Kedro__Events__V1__CancelPipelineRequest *)m)->id
            : ((Kedro__Events__V1__RetryPipelineRequest *)m)->id;
    if (s[0] == '\0')
        rc = ke_error_set(err, KE_EINVAL, "id is required");
    else if (strlen(s) > KE_ID_LEN) /* no stored id is longer: it cannot name one */
        rc = ke_error_set(err, KE_ENOTFOUND, "pipeline \"%.64s\" not found", s);
    else
        memcpy(id, s, strlen(s) + 1);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

void ke_service_cancel(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    ke_service *svc = ctx;
    cancel_call *cc = calloc(1, sizeof *cc);
    ke_error err;

    ke_error_clear(&err);
    if (cc == NULL) {
        ke_error_set(&err, KE_ENOMEM, "server out of memory");
    } else if (request_id(&kedro__events__v1__cancel_pipeline_request__descriptor, req, len, cc->id,
                          &err) == KE_OK) {
        cc->call = call;
        cc->svc = svc;
        ke_store_cancel_async(svc->store, cc->id, on_cancel_checked, cc);
        return;
    }
    free(cc);
    ke_service_reply_error(call, &err);
}

/* ---- RetryPipeline */

/* Builds in *np the retry of the ended pipeline old: same name, parent, parameters (the `id`
 * one set to np's own id), tags but earlier retry_of and kedro_graphql_id ones, plus retry_of.
 * Returns KE_OK or KE_ENOMEM (np released). */
static int retry_of(ke_pipeline *np, const ke_pipeline *old)
{
    const char *value;
    size_t i;
    int rc;

    rc = ke_pipeline_init(np, old->name, KE_STATE_READY);
    if (rc == KE_OK && old->parent != NULL && old->parent[0] != '\0') {
        np->parent = strdup(old->parent);
        rc = np->parent != NULL ? KE_OK : KE_ENOMEM;
    }
    for (i = 0; rc == KE_OK && i < old->n_params; i++) {
        const ke_param *x = &old->params[i];

        value = strcmp(x->name, "id") == 0 ? np->id : x->value;
        rc = ke_pipeline_add_param(np, x->name, value, x->type != NULL ? x->type : "string");
    }
    for (i = 0; rc == KE_OK && i < old->n_tags; i++) {
        if (strcmp(old->tags[i].key, RETRY_OF_TAG) == 0 ||
            strcmp(old->tags[i].key, REMOTE_ID_TAG) == 0)
            continue;
        rc = ke_pipeline_add_tag(np, old->tags[i].key, old->tags[i].value);
    }
    if (rc == KE_OK)
        rc = ke_pipeline_add_tag(np, RETRY_OF_TAG, old->id);
    if (rc != KE_OK)
        ke_pipeline_release(np);
    return rc;
}

/* A RetryPipeline waiting for its insert to commit. */
typedef struct retry_call {
    ke_rpc_call *call; /* to answer */
    ke_pipeline p;     /* a copy of what was stored */
} retry_call;

static void on_retried(void *ctx, int rc, const ke_error *err)
{
    retry_call *rc_ = ctx;

    if (rc != KE_OK)
        ke_service_reply_error(rc_->call, err);
    else
        ke_service_reply_pipeline(rc_->call, &rc_->p);
    ke_pipeline_release(&rc_->p);
    free(rc_);
}

void ke_service_retry(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    ke_service *svc = ctx;
    char id[KE_ID_LEN + 1];
    ke_pipeline old = {0}, np = {0};
    retry_call *rc_ = NULL;
    ke_error err;
    ke_state st;

    ke_error_clear(&err);
    if (request_id(&kedro__events__v1__retry_pipeline_request__descriptor, req, len, id, &err) !=
            KE_OK ||
        ke_store_get(svc->store, id, &old, &err) != KE_OK)
        goto fail;
    st = ke_pipeline_state(&old);
    if (!ended(st)) {
        ke_error_set(&err, KE_ESTATE,
                     "pipeline %s has not ended (%s): only an ended pipeline can be retried "
                     "(cancel it first)",
                     id, ke_state_name(st));
        goto fail;
    }
    rc_ = calloc(1, sizeof *rc_);
    if (rc_ == NULL || retry_of(&np, &old) != KE_OK || ke_pipeline_copy(&rc_->p, &np) != KE_OK) {
        ke_error_set(&err, KE_ENOMEM, "server out of memory");
        goto fail;
    }
    rc_->call = call;
    ke_store_insert_async(svc->store, &np, on_retried, rc_); /* takes np */
    ke_pipeline_release(&old);
    return;
fail:
    if (rc_ != NULL)
        ke_pipeline_release(&rc_->p); /* a copy that failed half way */
    free(rc_);
    ke_pipeline_release(&np);
    ke_pipeline_release(&old);
    ke_service_reply_error(call, &err);
}
