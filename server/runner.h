/* runner.h -- starting, reloading and stopping what kedro-eventd hands READY pipelines to: the
 * local runner (forward.h), kedro-graphql (forward_graphql.h), or none. */
#ifndef KE_RUNNER_H
#define KE_RUNNER_H

#include "errors.h"
#include "forward.h"
#include "forward_graphql.h"
#include "options.h"
#include "store.h"

/* The runner that was started. */
typedef struct ke_runner {
    ke_store *store;               /* the store whose on_ready hook it holds */
    ke_forwarder *local;           /* --runner local, else NULL */
    ke_graphql_forwarder *graphql; /* --runner kedro-graphql, else NULL */
    const char *headers_file;      /* --graphql-headers-file, or NULL (borrowed) */
} ke_runner;

/* Starts the runner o selects (nothing for --runner none) and hooks it to the store.
 * server_addr: this server's host:port, given to local runs; run_token: theirs (may be NULL).
 * A --graphql-headers-file is read here: refused when others may read it or a line is not
 * "Name: value". Returns KE_OK, or an error with err saying why (r is then stopped). */
int ke_runner_start(ke_runner *r, const ke_options *o, ke_store *store, const char *server_addr,
                    const char *run_token, ke_error *err);

/* SIGHUP: re-reads --graphql-headers-file; a file refused keeps the headers read before. One
 * line on stderr either way (never a header's value). */
void ke_runner_reload(ke_runner *r);

/* "local", "kedro-graphql (URL)" or "none (...)", for the start-up line. */
const char *ke_runner_describe(const ke_options *o);

/* Unhooks the runner from the store and stops it (the local runner lets runs finish within
 * grace_ms); frees it. r may be zeroed or half started. */
void ke_runner_stop(ke_runner *r, int grace_ms);

#endif
