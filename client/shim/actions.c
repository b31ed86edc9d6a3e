/* actions.c -- POST /pipelines/{id}/cancel and POST /pipelines/{id}/retry: CancelPipeline and
 * RetryPipeline, each one blocking call of libkedroevents. */
#include <stdio.h>
#include <string.h>

#include "kec_text.h"
#include "shim.h"

void kes_pipelines_act(kec_client *c, kes_action act, const char *id, kes_answer *a)
{
    char location[512];
    kec_pipeline p;
    kec_error err;
    int rc, connected = 0;

    if (kec_utf8_invalid_at(id, strlen(id)) >= 0) {
        kes_answer_detail(a, 400,
                          "pipeline id: must be valid UTF-8 without a NUL character (%%00)");
        return;
    }
    kec_error_clear(&err);
    rc = act == KES_ACT_CANCEL ? kec_cancel_pipeline(c, id, &p, &err)
                               : kec_retry_pipeline(c, id, &p, &err);
    if (rc == KEC_ESTATUS && err.status == KEC_STATUS_FAILED_PRECONDITION) {
        kes_answer_detail(a, 409, "%s", err.msg); /* ended / not ended / kedro-graphql's */
        return;
    }
    if (rc != KEC_OK) {
        if (rc == KEC_ESTATUS && err.status == KEC_STATUS_UNAVAILABLE)
            connected = kec_client_connected(c, 1);
        kes_answer_call_error(a, rc, &err, connected, kec_client_target(c));
        return;
    }
    kes_answer_pipeline(a, act == KES_ACT_CANCEL ? 200 : 201, &p);
    if (act == KES_ACT_RETRY && a->status == 201) {
        snprintf(location, sizeof location, "/pipelines/%s", p.id);
        kes_answer_header(a, "Location", location);
    }
    kec_pipeline_release(&p);
}
