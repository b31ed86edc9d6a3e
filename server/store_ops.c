/* store_ops.c -- the store's operator requests: CancelPipeline's check-and-abort, run by the
 * writer inside its transaction so that it and a runner's claim are ordered. */
#include <sqlite3.h>
#include <stdlib.h>

#include "store_internal.h"

#define CANCEL_SQL "SELECT seq, state, forward, remote_id FROM pipelines WHERE id = ?1"

/* Loads the record at seq into r->ps / r->n (writer's statements). */
static int load_seq(ke_store *s, ke_req *r, sqlite3_int64 seq)
{
    sqlite3_stmt *row = s->st_by_seq;
    int rc;

    sqlite3_bind_int64(row, 1, seq);
    rc = ke_store_load_rows(s->st_history_w, row, 1, &r->ps, &r->n, NULL);
    sqlite3_reset(row);
    if (rc == KE_OK && r->n != 1)
        rc = KE_ESTORE; /* the row was there a moment ago, in this transaction */
    return rc;
}

/* Sets r->err for a pipeline that cannot be cancelled here: state and forward as stored,
 * remote its kedro-graphql id or NULL. Returns KE_ESTATE, or KE_OK when it can. */
static int refuse(ke_req *r, ke_state state, int forward, const char *remote)
{
    if (state == KE_STATE_SUCCESS || state == KE_STATE_FAILURE || state == KE_STATE_ABORTED)
        return ke_error_set(&r->err, KE_ESTATE, "pipeline %s has already ended (%s)", r->id,
                            ke_state_name(state));
    if (forward >= 2)
        return ke_error_set(&r->err, KE_ESTATE,
                            "pipeline %s was handed to kedro-graphql as %.64s: cancel it there",
                            r->id, remote != NULL ? remote : "(unknown id)");
    if (forward == 1)
        return ke_error_set(&r->err, KE_ESTATE,
                            "pipeline %s is being handed to kedro-graphql (its kedro-graphql id "
                            "is not known yet): cancel it there once it has one",
                            r->id);
    return KE_OK;
}

int ke_store_do_cancel(ke_store *s, ke_req *r)
{
    sqlite3_stmt *q = NULL;
    sqlite3_int64 seq = 0;
    ke_status st = {0};
    ke_state state = KE_STATE_UNSPECIFIED;
    int forward = 0, step, rc;

    if (sqlite3_prepare_v2(s->wdb, CANCEL_SQL, -1, &q, NULL) != SQLITE_OK)
        return KE_ESTORE;
    if (ke_store_bind_text(q, 1, r->id) != SQLITE_OK) {
        sqlite3_finalize(q);
        return KE_ESTORE;
    }
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        seq = sqlite3_column_int64(q, 0);
        state = (ke_state)sqlite3_column_int(q, 1);
        forward = sqlite3_column_int(q, 2);
        rc = refuse(r, state, forward, (const char *)sqlite3_column_text(q, 3));
    } else if (step == SQLITE_DONE) {
        rc = ke_error_set(&r->err, KE_ENOTFOUND, "pipeline \"%.64s\" not found", r->id);
    } else {
        rc = KE_ESTORE;
    }
    sqlite3_finalize(q);
    if (rc != KE_OK)
        return rc;
    if (state == KE_STATE_STARTED) {
        r->count = 1; /* the local runner's: it ends the run and records ABORTED */
        return load_seq(s, r, seq);
    }
    st.state = KE_STATE_ABORTED;
    st.changed_at = st.finished_at = ke_now_us();
    st.error = KE_CANCEL_ERROR;
    rc = ke_store_append_status(s, seq, &st);
    return rc == KE_OK ? load_seq(s, r, seq) : rc;
}
