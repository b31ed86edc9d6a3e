/* pipeline.c -- the pipelines the server answers with: state names and releasing them. */
#include "kedroevents.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const state_names[] = {"STATE_UNSPECIFIED", "STAGED",  "READY",  "STARTED",
                                          "SUCCESS",           "FAILURE", "ABORTED"};

#define N_STATES ((int)(sizeof state_names / sizeof state_names[0]))

const char *kec_state_name(kec_state state)
{
    if ((int)state < 0 || (int)state >= N_STATES)
        return state_names[0];
    return state_names[state];
}

int kec_state_parse(const char *name)
{
    int i;

    for (i = 1; name != NULL && i < N_STATES; i++)
        if (strcasecmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

int kec_state_is_final(kec_state state)
{
    return state == KEC_STATE_SUCCESS || state == KEC_STATE_FAILURE || state == KEC_STATE_ABORTED;
}

kec_state kec_pipeline_state(const kec_pipeline *p)
{
    return p->n_status > 0 ? p->status[p->n_status - 1].state : KEC_STATE_UNSPECIFIED;
}

void kec_pipeline_release(kec_pipeline *p)
{
    size_t i;

    if (p == NULL)
        return;
    free(p->id);
    free(p->name);
    free(p->parent);
    free(p->kedro_graphql_id);
    free(p->kedro_graphql_json);
    for (i = 0; i < p->n_params; i++) {
        free(p->params[i].name);
        free(p->params[i].value);
        free(p->params[i].type);
    }
    free(p->params);
    for (i = 0; i < p->n_tags; i++) {
        free(p->tags[i].key);
        free(p->tags[i].value);
    }
    free(p->tags);
    for (i = 0; i < p->n_status; i++) {
        free(p->status[i].runner);
        free(p->status[i].error);
        free(p->status[i].log_path);
        free(p->status[i].kedro_graphql_json);
    }
    free(p->status);
    memset(p, 0, sizeof *p);
}

static void release_pipelines(kec_pipeline *ps, size_t count)
{
    size_t i;

    for (i = 0; i < count; i++)
        kec_pipeline_release(&ps[i]);
    free(ps);
}

void kec_dispatch_result_release(kec_dispatch_result *r)
{
    if (r == NULL)
        return;
    release_pipelines(r->pipelines, r->count);
    memset(r, 0, sizeof *r);
}

void kec_dispatch_results_free(kec_dispatch_result *results, size_t count)
{
    size_t i;

    if (results == NULL)
        return;
    for (i = 0; i < count; i++)
        kec_dispatch_result_release(&results[i]);
    free(results);
}

void kec_pipeline_page_release(kec_pipeline_page *page)
{
    if (page == NULL)
        return;
    release_pipelines(page->pipelines, page->count);
    free(page->next_page_token);
    memset(page, 0, sizeof *page);
}
