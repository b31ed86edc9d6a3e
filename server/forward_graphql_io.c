/* forward_graphql_io.c -- the kedro-graphql forwarder's HTTP requests (libcurl easy handles in
 * its multi handle) and its mirror of forwarded runs' states. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward_graphql_internal.h"

/* ---- HTTP */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    req *r = ud;
    size_t n = size * nmemb, cap;
    char *p;

    if (r->resp_len + n > KE_GQL_ANSWER_MAX) {
        r->too_big = 1;
        return 0;
    }
    if (r->resp_len + n + 1 > r->resp_cap) {
        cap = r->resp_cap == 0 ? 16384 : r->resp_cap;
        while (cap < r->resp_len + n + 1)
            cap *= 2;
        p = realloc(r->resp, cap);
        if (p == NULL)
            return 0;
        r->resp = p;
        r->resp_cap = cap;
    }
    memcpy(r->resp + r->resp_len, data, n);
    r->resp_len += n;
    r->resp[r->resp_len] = '\0';
    return n;
}

/* The body goes to libcurl through a read callback, not CURLOPT_POSTFIELDS, so that a second
 * send can be refused: libcurl sends a request again on a new connection when a reused one
 * closed before any byte of the answer, and rewinds the body through on_seek first. A create or
 * update kedro-graphql may have carried out must not run twice (a second pipeline, or a second
 * run): its rewind fails the request, which then counts as unanswered and is looked up by our
 * id's tag. A read may be sent again. */
static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    req *r = ud;
    size_t n = size * nitems;

    if (n > r->body_len - r->body_pos)
        n = r->body_len - r->body_pos;
    memcpy(buf, r->body + r->body_pos, n);
    r->body_pos += n;
    return n;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
    req *r = ud;

    if (origin != SEEK_SET || offset < 0 || (size_t)offset > r->body_len)
        return CURL_SEEKFUNC_FAIL;
    if (r->body_pos > 0 && (r->kind == RK_CREATE || r->kind == RK_UPDATE)) {
        r->resend_refused = 1;
        return CURL_SEEKFUNC_FAIL;
    }
    r->body_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* The request's headers: ours, the flags', the file's. NULL when out of memory. */
static struct curl_slist *build_headers(ke_graphql_forwarder *f)
{
    struct curl_slist *l = NULL, *n;
    size_t i;
    int ok = 1;

    n = curl_slist_append(l, "Content-Type: application/json");
    l = n != NULL ? n : l;
    ok &= n != NULL;
    n = curl_slist_append(l, "Accept: application/json");
    l = n != NULL ? n : l;
    ok &= n != NULL;
    n = curl_slist_append(l, "Expect:");
    l = n != NULL ? n : l;
    ok &= n != NULL;
    for (i = 0; ok && i < f->n_headers; i++) {
        n = curl_slist_append(l, f->headers[i]);
        l = n != NULL ? n : l;
        ok &= n != NULL;
    }
    pthread_mutex_lock(&f->lock);
    for (i = 0; ok && i < f->n_file_headers; i++) {
        n = curl_slist_append(l, f->file_headers[i]);
        l = n != NULL ? n : l;
        ok &= n != NULL;
    }
    pthread_mutex_unlock(&f->lock);
    if (!ok) {
        curl_slist_free_all(l);
        return NULL;
    }
    return l;
}

void ke_gf_req_reset(req *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = r->body_pos = 0;
    r->resend_refused = 0;
    r->resp_len = 0;
    r->too_big = 0;
    r->n = 0;
    ke_remote_refs_free(r->refs, r->n_refs);
    r->refs = NULL;
    r->n_refs = 0;
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    r->active = 0;
}

/* Sends r->body (taken). Returns 0, or -1 (r reset) when it cannot be sent. */
int ke_gf_req_send(ke_graphql_forwarder *f, req *r)
{
    CURL *e = r->easy;

    r->hdrs = build_headers(f);
    if (r->body == NULL || r->hdrs == NULL) {
        ke_gf_req_reset(r);
        return -1;
    }
    r->errbuf[0] = '\0';
    r->body_len = strlen(r->body);
    r->body_pos = 0;
    r->resend_refused = 0;
    curl_easy_setopt(e, CURLOPT_URL, f->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, r);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)f->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)f->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    if (f->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, f->ca_file);
    if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
        ke_gf_req_reset(r);
        return -1;
    }
    r->active = 1;
    return 0;
}

/* ---- the mirror */

/* Fills u (strings owned by bufs[0..2]) with what kedro-graphql says of ref; 0 when nothing
 * changed. */
static int mirror_one(const ke_remote_ref *ref, const void *ps, int more, ke_remote_update *u,
                      char *bufs[3])
{
    const void *p = ke_gql_find(ps, ref->id, ref->remote_id), *st;
    const char *state;
    ke_state s;

    memset(u, 0, sizeof *u);
    u->id = ref->id;
    u->st.runner = (char *)KE_GQL_RUNNER;
    if (p == NULL) {
        if (more)
            return 0;
        if (asprintf(&bufs[2], "kedro-graphql has no pipeline %s any more", ref->remote_id) < 0)
            return bufs[2] = NULL, 0;
        u->st.state = KE_STATE_FAILURE;
        u->st.error = bufs[2];
        u->st.finished_at = ke_now_us();
        return 1;
    }
    st = ke_gql_last_status(p, &state);
    s = ke_gql_state(state);
    if (s != KE_STATE_STARTED && s != KE_STATE_SUCCESS && s != KE_STATE_FAILURE &&
        s != KE_STATE_ABORTED)
        return 0;
    if (s == ref->state)
        return 0;
    u->st.state = s;
    ke_gql_parse_time(ke_gql_str(st, "startedAt"), &u->st.started_at);
    ke_gql_parse_time(ke_gql_str(st, "finishedAt"), &u->st.finished_at);
    bufs[0] = ke_gql_pipeline_json(p);
    bufs[1] = ke_gql_status_json(st);
    u->remote_json = bufs[0];
    u->st.remote_json = bufs[1];
    if (s == KE_STATE_FAILURE || s == KE_STATE_ABORTED)
        bufs[2] = ke_gql_status_error(st);
    u->st.error = bufs[2];
    return 1;
}

void ke_gf_mirror_done(ke_graphql_forwarder *f, req *r, const ke_gql_answer *a, int64_t now)
{
    ke_remote_update u[KE_GQL_MAX_READ];
    char *bufs[KE_GQL_MAX_READ][3];
    int more = 0;
    const void *ps = ke_gql_read_pipelines(a, &more);
    size_t i, n = 0;
    ke_error err;

    f->mirror_due_ms = now + f->poll_ms;
    if (ps == NULL) {
        f->mirror_after = 0;
        return;
    }
    memset(bufs, 0, sizeof bufs);
    for (i = 0; i < r->n_refs; i++)
        n += (size_t)mirror_one(&r->refs[i], ps, more, &u[n], bufs[n]);
    ke_error_clear(&err);
    if (n > 0 && ke_store_apply_remote(f->store, u, n, NULL, &err) != KE_OK) {
        ke_gf_log("recording kedro-graphql's states failed: %s; the next poll tries again%s",
                  err.msg, "");
        f->mirror_after = 0;
    } else if (r->n_refs == KE_GQL_MAX_READ) {
        f->mirror_after = r->refs[r->n_refs - 1].seq;
        f->mirror_due_ms = now; /* the next page at once */
    } else {
        f->mirror_after = 0;
    }
    for (i = 0; i < KE_GQL_MAX_READ; i++) {
        free(bufs[i][0]);
        free(bufs[i][1]);
        free(bufs[i][2]);
    }
}

/* Polls the next page of forwarded pipelines that have not ended, when due. */
void ke_gf_mirror_tick(ke_graphql_forwarder *f, int64_t now)
{
    req *r = &f->reqs[KE_GQL_MAX_REQUESTS];
    const char *ids[KE_GQL_MAX_READ];
    ke_error err;
    size_t i;

    if (r->active || now < f->mirror_due_ms)
        return;
    ke_error_clear(&err);
    if (ke_store_list_remote(f->store, f->mirror_after, KE_GQL_MAX_READ, &r->refs, &r->n_refs,
                             &err) != KE_OK) {
        ke_gf_log("listing forwarded pipelines failed: %s%s", err.msg, "");
        r->refs = NULL;
        r->n_refs = 0;
        f->mirror_due_ms = now + f->poll_ms;
        return;
    }
    if (r->n_refs == 0) {
        f->mirror_after = 0;
        f->mirror_due_ms = now + f->poll_ms;
        return;
    }
    for (i = 0; i < r->n_refs; i++)
        ids[i] = r->refs[i].id;
    r->kind = RK_MIRROR;
    r->body = ke_gql_read_request(ids, r->n_refs, (int)(2 * r->n_refs + 8), 1);
    if (ke_gf_req_send(f, r) != 0)
        f->mirror_due_ms = now + f->poll_ms;
}
