/* store.h -- where pipeline records live: the interface every store backend offers. */
#ifndef KE_STORE_H
#define KE_STORE_H

#include <stddef.h>

#include "errors.h"
#include "pipeline.h"

#define KE_LIST_DEFAULT_LIMIT 50 /* ListPipelines page size when none is asked for */
#define KE_LIST_MAX_LIMIT 1000   /* largest page ListPipelines answers */

typedef struct ke_store ke_store;

/* A ListPipelines query; NULL/empty/0 members match everything. */
typedef struct ke_list_query {
    const char *name;       /* only this pipeline name */
    const char *parent;     /* only children of this id */
    ke_state state;         /* only this current state; UNSPECIFIED = any */
    size_t limit;           /* page size, 1..KE_LIST_MAX_LIMIT */
    const char *page_token; /* from the previous page, or NULL/"" */
} ke_list_query;

/* Opens the store under data_dir. The in-memory backend keeps records for the
 * life of the process and writes nothing there. Returns KE_OK, or KE_ESTORE
 * with err naming the path. */
int ke_store_open(const char *data_dir, ke_store **out, ke_error *err);

/* Records the n pipelines an event (source, event_id) started, atomically
 * with the event's key — unless that key was accepted before: then nothing is
 * recorded, *duplicate is 1, and *orig receives copies of the pipelines the
 * first acceptance recorded. On a fresh event *duplicate is 0 and *orig
 * receives copies of ps. The caller frees *orig with ke_pipelines_free.
 * Thread-safe. Returns KE_OK, KE_ENOMEM or KE_ESTORE. */
int ke_store_accept(ke_store *s, const char *source, const char *event_id, const ke_pipeline *ps,
                    size_t n, ke_pipeline **orig, size_t *n_orig, int *duplicate, ke_error *err);

/* Records one pipeline (CreatePipeline). A non-NULL parent must name a stored
 * pipeline (else KE_ENOTFOUND). Returns KE_OK, KE_ENOTFOUND, KE_ENOMEM or KE_ESTORE. */
int ke_store_insert(ke_store *s, const ke_pipeline *p, ke_error *err);

/* Copies the pipeline with this id into *out (release with
 * ke_pipeline_release). Returns KE_OK or KE_ENOTFOUND. */
int ke_store_get(ke_store *s, const char *id, ke_pipeline *out, ke_error *err);

/* Lists pipelines newest first. *out receives up to q->limit copies (free
 * with ke_pipelines_free) and *next a token for the next page, or NULL on the
 * last page (free with free()). Tokens are opaque positions; one that names
 * no position in this store → KE_EINVAL. */
int ke_store_list(ke_store *s, const ke_list_query *q, ke_pipeline **out, size_t *n, char **next,
                  ke_error *err);

/* Closes the store; NULL is fine. */
void ke_store_close(ke_store *s);

#endif
