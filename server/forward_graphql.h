/* forward_graphql.h -- the kedro-graphql forwarder: hands READY pipelines to a kedro-graphql
 * server and mirrors their runs' states back (docs/kedro-graphql.md). */
#ifndef KE_FORWARD_GRAPHQL_H
#define KE_FORWARD_GRAPHQL_H

#include <stddef.h>

#include "errors.h"
#include "store.h"

#define KE_GQL_RUNNER "kedro-graphql"       /* the runner name forwarded runs' statuses carry */
#define KE_GQL_DEFAULT_TIMEOUT 30           /* --graphql-timeout: seconds per HTTP request */
#define KE_GQL_DEFAULT_MAX_FORWARDS 64      /* --max-forwards: pipelines in hand at once */
#define KE_GQL_MAX_MAX_FORWARDS 4096        /* its largest value */
#define KE_GQL_DEFAULT_POLL_MS 2000         /* --graphql-poll-interval */
#define KE_GQL_MIN_POLL_MS 50               /* its smallest value */
#define KE_GQL_BACKOFF_MIN_MS 250           /* the first pause after kedro-graphql failed ... */
#define KE_GQL_BACKOFF_MAX_MS 30000         /* ... doubling up to this */
#define KE_GQL_HEADERS_FILE_MAX (64u << 10) /* bytes a --graphql-headers-file may hold */
#define KE_GQL_MAX_REQUESTS 8               /* forwarding HTTP requests in flight at once */

/* Settings of the kedro-graphql runner. */
typedef struct ke_graphql_options {
    const char *url;            /* http:// or https:// URL of its /graphql endpoint */
    const char *const *headers; /* "Name: value" each (--graphql-header), checked */
    size_t n_headers;           /* how many */
    const char *ca_file;        /* PEM roots to verify https with, or NULL: the system's */
    int timeout_seconds;        /* per HTTP request, >= 1 */
    int max_forwards;           /* pipelines in hand at once, 1..KE_GQL_MAX_MAX_FORWARDS */
    int poll_ms;                /* the mirror's interval, >= KE_GQL_MIN_POLL_MS */
} ke_graphql_options;

typedef struct ke_graphql_forwarder ke_graphql_forwarder;

/* Starts the forwarder thread (options copied). Returns KE_OK, or KE_EINVAL / KE_ENOMEM /
 * KE_EIO (libcurl could not start) with err saying why. */
int ke_graphql_forwarder_start(ke_store *s, const ke_graphql_options *o, ke_graphql_forwarder **out,
                               ke_error *err);

/* There may be new READY work (ke_store_on_ready hook); cheap, any thread. */
void ke_graphql_forwarder_wake(void *forwarder);

/* Requests from now on carry these headers (the --graphql-headers-file set; copied) besides
 * the options' own. Any thread. KE_ENOMEM keeps the previous set. */
int ke_graphql_forwarder_set_headers(ke_graphql_forwarder *f, char *const *headers, size_t n);

/* Stops: abandons the HTTP requests in flight (their pipelines stay READY and attempted, so
 * the next start looks them up) and joins the thread. */
void ke_graphql_forwarder_stop(ke_graphql_forwarder *f);

/* Frees a forwarder (stopping it first); NULL is fine. */
void ke_graphql_forwarder_free(ke_graphql_forwarder *f);

#endif
