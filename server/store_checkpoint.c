/* store_checkpoint.c -- the store's checkpointer: copies the write-ahead log back into the
 * database on its own thread and connection, so the writer never does it between two commits.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold, on the
 * committing connection: the writer thread, with every queued request waiting behind it. Here
 * the writer's WAL hook only notes the log's size and wakes this thread past the threshold;
 * the checkpoint is PASSIVE (it never waits for the writer or a reader, and copies what it
 * can). The writer restarts the log from its beginning at its next transaction once everything
 * was copied, and cuts the file back to KE_STORE_WAL_LIMIT (journal_size_limit) at that commit. */
#include <stdlib.h>

#include "kec_log.h"
#include "store_internal.h"

#define CHECKPOINT_PAGES 1000 /* frames in the WAL that start a checkpoint (SQLite's default) */

/* The writer's WAL hook, after each commit (on the writer thread). */
static int on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
    ke_store *s = arg;

    (void)db;
    (void)name;
    if (frames < s->ckpt_pages)
        return SQLITE_OK;
    pthread_mutex_lock(&s->ckpt_lock);
    s->ckpt_due = 1;
    pthread_cond_signal(&s->ckpt_cond);
    pthread_mutex_unlock(&s->ckpt_lock);
    return SQLITE_OK;
}

static void *checkpointer_main(void *arg)
{
    ke_store *s = arg;
    int rc;

    pthread_mutex_lock(&s->ckpt_lock);
    for (;;) {
        while (!s->ckpt_due && !s->ckpt_stopping)
            pthread_cond_wait(&s->ckpt_cond, &s->ckpt_lock);
        if (s->ckpt_stopping)
            break;
        s->ckpt_due = 0;
        pthread_mutex_unlock(&s->ckpt_lock);
        rc = sqlite3_wal_checkpoint_v2(s->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            kec_log(KEC_LOG_WARN, "store: %s: checkpoint: %s (tried again after the next commit)",
                    s->path, sqlite3_errmsg(s->cdb));
        pthread_mutex_lock(&s->ckpt_lock);
    }
    pthread_mutex_unlock(&s->ckpt_lock);
    return NULL;
}

int ke_store_checkpointer_start(ke_store *s, const ke_store_options *o, ke_error *err)
{
    s->ckpt_pages =
        o != NULL && o->wal_autocheckpoint > 0 ? o->wal_autocheckpoint : CHECKPOINT_PAGES;
    if (pthread_create(&s->checkpointer, NULL, checkpointer_main, s) != 0)
        return ke_error_set(err, KE_ESTORE, "store: cannot start the checkpoint thread");
    s->checkpointer_started = 1;
    pthread_setname_np(s->checkpointer, "ke-checkpoint");
    sqlite3_wal_hook(s->wdb, on_wal, s); /* replaces the automatic checkpoint */
    return KE_OK;
}

void ke_store_checkpointer_stop(ke_store *s)
{
    if (!s->checkpointer_started)
        return;
    sqlite3_wal_hook(s->wdb, NULL, NULL);
    pthread_mutex_lock(&s->ckpt_lock);
    s->ckpt_stopping = 1;
    pthread_cond_signal(&s->ckpt_cond);
    pthread_mutex_unlock(&s->ckpt_lock);
    pthread_join(s->checkpointer, NULL);
    s->checkpointer_started = 0;
}
