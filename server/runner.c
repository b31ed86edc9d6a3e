/* runner.c -- kedro-eventd's runner selection: starts the local or the kedro-graphql forwarder,
 * re-reads the kedro-graphql headers file on SIGHUP, and stops whichever runs. */
#include "runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kec_files.h"
#include "kec_log.h"

/* Reads the headers file into *h / *n. KE_OK, or KE_EIO / KE_EINVAL with err naming the file
 * and the line (never a value). */
static int read_headers(const char *path, char ***h, size_t *n, ke_error *err)
{
    char *text = NULL, why[300];
    size_t len = 0;
    kec_error kerr;
    int rc;

    *h = NULL;
    *n = 0;
    kec_error_clear(&kerr);
    if (kec_file_read(path, KE_GQL_HEADERS_FILE_MAX, KEC_FILE_PRIVATE, "--graphql-headers-file",
                      &text, &len, &kerr) != KEC_OK)
        return ke_error_set(err, kerr.code == KEC_EIO ? KE_EIO : KE_EINVAL, "%s", kerr.msg);
    rc = KE_OK;
    if (strlen(text) != len)
        rc = ke_error_set(err, KE_EINVAL, "--graphql-headers-file \"%s\": holds a NUL byte", path);
    else if (ke_gql_headers_parse(text, h, n, why, sizeof why) != 0)
        rc = ke_error_set(err, KE_EINVAL, "--graphql-headers-file \"%s\": %s", path, why);
    explicit_bzero(text, len);
    free(text);
    return rc;
}

static int start_graphql(ke_runner *r, const ke_options *o, ke_store *store, ke_error *err)
{
    ke_graphql_options go = {0};
    char **h = NULL;
    size_t n = 0;
    int rc;

    /* libcurl reads it at each connection: a missing file would fail every request. */
    if (o->graphql_ca != NULL && access(o->graphql_ca, R_OK) != 0)
        return ke_error_set(err, KE_EIO, "--graphql-ca \"%s\": %s", o->graphql_ca, strerror(errno));
    if (o->graphql_headers_file != NULL) {
        rc = read_headers(o->graphql_headers_file, &h, &n, err);
        if (rc != KE_OK)
            return rc;
    }
    go.url = o->graphql_url;
    go.headers = o->graphql_headers;
    go.n_headers = o->n_graphql_headers;
    go.ca_file = o->graphql_ca;
    go.timeout_seconds = o->graphql_timeout;
    go.max_forwards = o->max_forwards;
    go.poll_ms = o->graphql_poll_ms;
    rc = ke_graphql_forwarder_start(store, &go, &r->graphql, err);
    if (rc == KE_OK && n > 0 && ke_graphql_forwarder_set_headers(r->graphql, h, n) != KE_OK)
        rc = ke_error_set(err, KE_ENOMEM, "--graphql-headers-file: out of memory");
    ke_gql_headers_free(h, n);
    if (rc != KE_OK)
        return rc;
    if (n > 0)
        kec_log(KEC_LOG_INFO, "%zu header(s) from %s", n, o->graphql_headers_file);
    r->headers_file = o->graphql_headers_file;
    ke_store_on_ready(store, ke_graphql_forwarder_wake, r->graphql);
    ke_graphql_forwarder_wake(r->graphql); /* READY pipelines left from before */
    return KE_OK;
}

int ke_runner_start(ke_runner *r, const ke_options *o, ke_store *store, const char *server_addr,
                    const char *run_token, ke_error *err)
{
    ke_forward_options fo = {0};
    int rc;

    memset(r, 0, sizeof *r);
    r->store = store;
    if (o->run_graphql)
        return start_graphql(r, o, store, err);
    if (!o->run_local)
        return KE_OK;
    fo.kedro_bin = o->kedro_bin;
    fo.project_dir = o->kedro_project;
    fo.kedro_env = o->kedro_env;
    fo.data_dir = o->data_dir;
    fo.server_addr = server_addr;
    fo.http_url = o->http_url[0] != '\0' ? o->http_url : NULL;
    fo.max_runs = o->max_runs;
    fo.timeout_seconds = o->run_timeout;
    fo.cancel_grace = o->cancel_grace;
    fo.run_token = run_token;
    rc = ke_forwarder_start(store, &fo, &r->local, err);
    if (rc != KE_OK)
        return rc;
    ke_store_on_ready(store, ke_forwarder_wake, r->local);
    ke_forwarder_wake(r->local); /* READY runs left from before */
    return KE_OK;
}

void ke_runner_reload(ke_runner *r)
{
    char **h = NULL;
    size_t n = 0;
    ke_error err;

    if (r->graphql == NULL || r->headers_file == NULL)
        return;
    ke_error_clear(&err);
    if (read_headers(r->headers_file, &h, &n, &err) != KE_OK)
        kec_log(KEC_LOG_ERROR, "SIGHUP: %s; the headers read before stay", err.msg);
    else if (ke_graphql_forwarder_set_headers(r->graphql, h, n) != KE_OK)
        kec_log(KEC_LOG_ERROR, "SIGHUP: out of memory; the headers read before stay");
    else
        kec_log(KEC_LOG_INFO, "SIGHUP: %zu header(s) from %s", n, r->headers_file);
    ke_gql_headers_free(h, n);
}

const char *ke_runner_describe(const ke_options *o)
{
    if (o->run_graphql)
        return "kedro-graphql";
    return o->run_local ? "local" : "none (runs are recorded, not executed)";
}

void ke_runner_stop(ke_runner *r, int grace_ms)
{
    if (r->local == NULL && r->graphql == NULL)
        return;
    ke_store_on_ready(r->store, NULL, NULL);
    if (r->local != NULL) {
        ke_forwarder_stop(r->local, grace_ms);
        ke_forwarder_free(r->local);
    }
    ke_graphql_forwarder_free(r->graphql);
    memset(r, 0, sizeof *r);
}
