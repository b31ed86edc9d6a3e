/* store.h -- where pipeline records live: SQLite in the data dir, written by one thread
 * that commits queued requests together. */
#ifndef KE_STORE_H
#define KE_STORE_H

#include <stddef.h>

#include "errors.h"
#include "pipeline.h"

#define KE_LIST_DEFAULT_LIMIT 50         /* ListPipelines page size when none is asked for */
#define KE_LIST_MAX_LIMIT 1000           /* largest page ListPipelines answers */
#define KE_STORE_MIN_MAX_BYTES (1 << 20) /* smallest size cap: the schema and some events */
#define KE_STORE_WAL_LIMIT (4 << 20)     /* the WAL is truncated to this after a checkpoint */

typedef struct ke_store ke_store;

/* A ListPipelines query; NULL/empty/0 members match everything. */
typedef struct ke_list_query {
    const char *name;       /* only this pipeline name */
    const char *parent;     /* only children of this id */
    ke_state state;         /* only this current state; UNSPECIFIED = any */
    size_t limit;           /* page size, 1..KE_LIST_MAX_LIMIT */
    const char *page_token; /* from the previous page, or NULL/"" */
} ke_list_query;

/* Opens the store: the SQLite database kedro-events.db in data_dir (created
 * if missing; WAL, synchronous=FULL, schema migrated to the current
 * version), or a private in-memory database when data_dir is NULL (tests).
 * data_dir is created 0700 (an existing one we own that is empty or holds
 * our files is set to 0700); the database, its WAL and SHM are 0600,
 * whatever the umask. The server holds data_dir/kedro-events.lock (flock,
 * exclusive, not inherited by children, our pid written in it) until
 * ke_store_close, so one server at a time uses a data dir. Starts the writer
 * thread. Returns KE_OK; KE_EUNAVAIL naming the dir and the holder's pid
 * when another process holds the lock; KE_ESTORE or KE_EUNAVAIL (I/O) with
 * err naming the path and SQLite's message. */
int ke_store_open(const char *data_dir, ke_store **out, ke_error *err);

/* Caps the database at max_bytes (0: no cap, the default); callable at any time. An accept or
 * insert that would take the database (its pages, with what the transaction wrote before it)
 * past the cap stores nothing and fails with KE_EFULL, "store full: " naming the database, its
 * size and the cap; a duplicate event, which stores nothing, is still answered. Statuses of
 * runs already stored (claims, final statuses, recovery) are never refused for the cap: they
 * may take the database past it by a few hundred bytes per run, plus each run's error text
 * (at most the log tail). A real full disk stays KE_EUNAVAIL "disk full". The WAL is cut back
 * to KE_STORE_WAL_LIMIT bytes after each checkpoint (PRAGMA journal_size_limit), cap or not. */
void ke_store_set_max_bytes(ke_store *s, long long max_bytes);

/* Called once per accept request from the writer thread, after the
 * transaction holding it committed (rc KE_OK) or failed (rc and err set).
 * KE_OK means committed: when any step of a group commit fails and SQLite
 * ends the transaction, every request of it fails. A full disk or another
 * I/O condition answers KE_EUNAVAIL (retryable; the message names the
 * database and says "disk full" when it is); the next request simply tries
 * again, nothing stays failed once space returns.
 * ps/n: the pipelines the event started (on a duplicate, the originals);
 * the callee owns them (ke_pipelines_free). */
typedef void (*ke_store_accept_cb)(void *ctx, int rc, const ke_error *err, ke_pipeline *ps,
                                   size_t n, int duplicate);

/* Queues the n pipelines an event (source, event_id) started, to be
 * recorded atomically with the event's key -- unless that key was accepted
 * before, when nothing is recorded and cb gets the original pipelines with
 * duplicate = 1. Takes ownership of ps (an array of n from malloc, or NULL
 * for 0). Requests queued together commit in one transaction (group
 * commit). cb is called exactly once, from the writer thread. */
void ke_store_accept_async(ke_store *s, const char *source, const char *event_id, ke_pipeline *ps,
                           size_t n, ke_store_accept_cb cb, void *ctx);

/* Called once per insert request from the writer thread. */
typedef void (*ke_store_insert_cb)(void *ctx, int rc, const ke_error *err);

/* Queues one pipeline (CreatePipeline); a non-empty parent must name a
 * stored pipeline (else KE_ENOTFOUND). Takes over what *p owns (*p is
 * zeroed). cb is called exactly once, from the writer thread. A new record
 * is not forwarded yet: its remote_id and remote_json are not stored (nor
 * by accept); ke_store_apply_remote records them. */
void ke_store_insert_async(ke_store *s, ke_pipeline *p, ke_store_insert_cb cb, void *ctx);

/* Synchronous forms of the two above, for callers that may block until the
 * commit. ke_store_accept copies ps (the caller keeps it) and answers copies
 * in *orig (ke_pipelines_free); ke_store_insert copies p. Return KE_OK,
 * KE_ENOTFOUND (insert's parent), KE_ENOMEM, KE_EUNAVAIL (disk full, I/O:
 * retryable) or KE_ESTORE. */
int ke_store_accept(ke_store *s, const char *source, const char *event_id, const ke_pipeline *ps,
                    size_t n, ke_pipeline **orig, size_t *n_orig, int *duplicate, ke_error *err);
int ke_store_insert(ke_store *s, const ke_pipeline *p, ke_error *err);

/* A resent event answered without the writer: looks the key (source, event_id) up on a read
 * connection of a small pool beside the writer (WAL: it never waits for the writer, nor the
 * writer for it). Returns 1 when an event with that key was accepted and committed, with *ps
 * and *n receiving copies of the pipelines it started, as they are now, read in one snapshot
 * (the originals ke_store_accept_async answers a duplicate with; free with ke_pipelines_free).
 * Returns 0 (*ps NULL, *n 0) when the key is not committed -- or when the read could not be
 * made (no idle connection, out of memory, a read error), or without reading when the key was
 * not asked about recently (the first time since the store opened, or since about 2^17 other
 * keys: a read for every new event would cost more than it saves). The caller then queues the
 * event to the writer, which looks the key up again inside its transaction, so a resend
 * racing its original's commit still gets the original pipelines. Callable from any thread. */
int ke_store_find_accepted(ke_store *s, const char *source, const char *event_id, ke_pipeline **ps,
                           size_t *n);

/* Copies the pipeline with this id into *out (release with
 * ke_pipeline_release). Returns KE_OK, KE_ENOTFOUND or KE_ESTORE. */
int ke_store_get(ke_store *s, const char *id, ke_pipeline *out, ke_error *err);

/* Lists pipelines newest first. *out receives up to q->limit copies (free
 * with ke_pipelines_free) and *next a token for the next page, or NULL on the
 * last page (free with free()). Tokens are opaque positions; one that names
 * no position in this store -> KE_EINVAL. */
int ke_store_list(ke_store *s, const ke_list_query *q, ke_pipeline **out, size_t *n, char **next,
                  ke_error *err);

/* ---- the runner's side */

/* Claims the oldest READY pipeline not forwarded to kedro-graphql
 * (forward < 2): appends a STARTED status (runner, started_at now) and
 * commits, then copies it into *out. Sets *found to 0
 * (out untouched) when nothing is READY. A claim that fails to commit
 * (KE_EUNAVAIL, KE_ESTORE) leaves the pipeline READY, to be claimed again. */
int ke_store_claim(ke_store *s, const char *runner, ke_pipeline *out, int *found, ke_error *err);

/* Appends a final status (SUCCESS, FAILURE or ABORTED, with exit code or
 * signal, error, log path, finished_at; changed_at is set now) to the
 * pipeline with this id and commits. The store copies id and st. When the
 * commit fails for a reason that may pass (a full disk, an I/O error), the
 * store keeps the status in memory and retries it on the writer thread, with
 * a pause doubling from KE_STORE_RETRY_MIN_MS to KE_STORE_RETRY_MAX_MS
 * (store_internal.h; at once after any other commit succeeds), until it
 * commits, and returns KE_OK: the caller need not retry (it must not, or the
 * status would be recorded twice). Only ke_store_close gives up on one still
 * failing (logged; the next start marks the run interrupted). Returns KE_OK,
 * KE_ENOTFOUND or KE_ENOMEM. */
int ke_store_finish(ke_store *s, const char *id, const ke_status *st, ke_error *err);

/* At start-up: every STARTED pipeline (a previous server died while it ran)
 * becomes FAILURE "interrupted", or READY again when requeue is set --
 * except forwarded ones (forward = 2), whose run is kedro-graphql's: the
 * mirror goes on polling them. *n receives how many were changed. */
int ke_store_recover(ke_store *s, int requeue, size_t *n, ke_error *err);

/* How many pipelines are currently in state st. */
int ke_store_count(ke_store *s, ke_state st, size_t *n, ke_error *err);

/* ---- activity (store_stats.c), for GetStats */

/* The runs that ended in one bucket of time, by final state. */
typedef struct ke_store_ended {
    int64_t success; /* statuses SUCCESS recorded in the bucket */
    int64_t failure; /* FAILURE */
    int64_t aborted; /* ABORTED */
} ke_store_ended;

/* What the store tells GetStats, read in one snapshot. */
typedef struct ke_store_activity {
    ke_store_ended *ended; /* n buckets, filled by ke_store_activity_read (the caller's array) */
    size_t n;              /* buckets of step_us from from_us */
    int64_t from_us;       /* the first bucket's start, microseconds since the epoch */
    int64_t step_us;       /* bucket width, microseconds (> 0) */
    int64_t staged;        /* out: pipelines STAGED now */
    int64_t ready;         /* out: READY now */
    int64_t started;       /* out: STARTED now */
} ke_store_activity;

/* Fills a->ended[i] with the final statuses whose changed_at lies in
 * [from_us + i * step_us, from_us + (i + 1) * step_us), and the STAGED, READY and STARTED
 * counts, on the readers' connection in one read transaction. The ended runs are a range of
 * the partial index status_ended (its cost grows with the runs ended in the window, not with
 * the store); the counts a range of pipelines_state each. Returns KE_OK, or KE_ESTORE /
 * KE_EUNAVAIL / KE_ENOMEM with err naming the database (a->ended then zeroed). */
int ke_store_activity_read(ke_store *s, ke_store_activity *a, ke_error *err);

/* fn(ctx) is called from the writer thread after each commit that added
 * READY pipelines, before their callers are answered (the forwarder's
 * wake-up). fn must be quick and must not call the store. Once this returns,
 * the previous fn is no longer running or going to run. */
void ke_store_on_ready(ke_store *s, void (*fn)(void *ctx), void *ctx);

/* ---- cancelling (store_ops.c) */

#define KE_CANCEL_ERROR "cancelled" /* the error text of a status a cancel recorded */

/* Called once per ke_store_cancel_async from the writer thread. rc KE_OK: *p is the record
 * (valid during the call only: copy what is kept) and running says what was found: 0 = it was READY
 * and is now ABORTED (committed); 1 = it is STARTED under the local runner (nothing written:
 * the runner must end it). Else p is NULL and err says why: KE_ENOTFOUND, KE_ESTATE (it has
 * already ended, or it was handed to kedro-graphql), or a store error. */
typedef void (*ke_store_cancel_cb)(void *ctx, int rc, const ke_error *err, ke_pipeline *p,
                                   int running);

/* Queues a cancel of pipeline id: one writer request that reads the pipeline's state inside
 * the transaction, so a claim racing with it either claimed first (running = 1) or finds it
 * ABORTED. A READY pipeline not handed to kedro-graphql (forward = 0) gets an ABORTED status
 * with error KE_CANCEL_ERROR and finished_at now. cb is called exactly once. */
void ke_store_cancel_async(ke_store *s, const char *id, ke_store_cancel_cb cb, void *ctx);
/* An observer of commits: called on the writer thread after each transaction that committed,
 * with how long BEGIN..COMMIT took and how many requests it held (group commit). Must be quick
 * and must not call the store. */
typedef void (*ke_store_commit_fn)(void *ctx, double seconds, size_t requests);

/* Sets (fn NULL: removes) the commit observer. Once this returns, the previous one is no
 * longer running or going to run. */
void ke_store_on_commit(ke_store *s, ke_store_commit_fn fn, void *ctx);

/* ---- the change feed (store_changes.c): who learns of every state change */

#define KE_STORE_MAX_SUBSCRIBERS 8 /* change subscribers at once */

/* One state change a commit made: a pipeline stored (prev UNSPECIFIED) or a status appended to
 * one (prev its state before; equal to state when a status repeats it, e.g. kedro-graphql's
 * hand-over READY after READY). Strings live only during the callback. */
typedef struct ke_change {
    long long seq;      /* the pipeline's position */
    const char *id;     /* its id */
    const char *name;   /* its Kedro pipeline name */
    const char *parent; /* its parent's id, or "" */
    ke_state prev;      /* the state before, or KE_STATE_UNSPECIFIED for a new pipeline */
    ke_state state;     /* the state entered */
} ke_change;

/* A subscriber: called on the writer thread after each commit that changed states, with every
 * change of that commit in the order made, before the commit's callers are answered (so a
 * caller that subscribed before its call sees its own changes first). Must be quick (copy
 * what it needs and hand it to its own thread) and must not call the store. */
typedef void (*ke_store_change_fn)(void *ctx, const ke_change *changes, size_t n);

/* Adds fn(ctx) to the subscribers. Returns KE_OK, or KE_EINVAL when KE_STORE_MAX_SUBSCRIBERS
 * are subscribed already. */
int ke_store_subscribe(ke_store *s, ke_store_change_fn fn, void *ctx, ke_error *err);

/* Removes fn(ctx); once this returns, it is no longer running or going to run. */
void ke_store_unsubscribe(ke_store *s, ke_store_change_fn fn, void *ctx);

/* ---- the kedro-graphql forwarder's side (docs/kedro-graphql.md) */

/* A READY pipeline taken to be forwarded. */
typedef struct ke_forward_item {
    ke_pipeline p;          /* the record (a copy) */
    long long seq;          /* its position; the next take goes on after the largest taken */
    int attempted;          /* a create may have reached kedro-graphql before (an earlier
                             * attempt, or a crash mid-forward): look it up by tag first */
    char *parent_remote_id; /* the parent's kedro-graphql id when it has a forwarded parent,
                             * else NULL */
} ke_forward_item;

/* Takes up to max READY pipelines not yet forwarded (forward < 2) with seq > after_seq,
 * oldest first, marks those not yet attempted as attempted (forward = 1) and commits before
 * returning them, so that a crash after this makes the next take look them up instead of
 * creating them again. A taken row stays READY and forward < 2 until ke_store_apply_remote
 * records its remote id (or a final status ends it): a take from an earlier cursor returns it
 * again, with attempted = 1. A child's parent_remote_id is NULL while its parent is not
 * forwarded yet (the parent may be in the same take). A group-committed writer request, like
 * an accept; an index seek (partial index pipelines_to_forward) whatever the number of rows
 * forwarded before. *out receives an array of *n (NULL and 0 when none, or max is 0; free
 * with ke_forward_items_free). Returns KE_OK, KE_ENOMEM, KE_EUNAVAIL or KE_ESTORE (nothing
 * taken, nothing marked). */
int ke_store_take_forward(ke_store *s, long long after_seq, size_t max, ke_forward_item **out,
                          size_t *n, ke_error *err);

/* Releases n items (their records and parent ids) and the array; NULL is fine. */
void ke_forward_items_free(ke_forward_item *items, size_t n);

/* One change learned from kedro-graphql. */
typedef struct ke_remote_update {
    const char *id;          /* our pipeline id */
    const char *remote_id;   /* non-NULL: the pipeline was forwarded under this kedro-graphql id:
                              * stored with forward = 2 and a tag kedro_graphql_id (a pipeline
                              * that already has a remote id keeps its first one) */
    const char *remote_json; /* non-NULL: replaces the pipeline's remote_json */
    ke_status st;            /* the status to append (state UNSPECIFIED: none) */
} ke_remote_update;

/* Applies n updates in one transaction and commits (a writer request, group-committed with
 * others; never refused by the size cap, like final statuses). For each: records remote_id
 * and remote_json as above, then appends st (changed_at now when 0; the store copies it)
 * unless the pipeline has ended (SUCCESS, FAILURE, ABORTED), or st.state is before its
 * current state (a stale READY after STARTED), or st.state is its current state -- except
 * that the status is appended when this update is the one that recorded remote_id (the
 * hand-over: READY after the READY it was stored with). So applying the same update twice
 * changes nothing. Adds no READY work (on_ready is not called). Unknown ids (and NULL ones)
 * are skipped (*applied counts the rest; may be NULL). Returns KE_OK (n = 0: at once), or
 * KE_ENOMEM / KE_EUNAVAIL / KE_ESTORE with nothing applied (the caller tries again later). */
int ke_store_apply_remote(ke_store *s, const ke_remote_update *u, size_t n, size_t *applied,
                          ke_error *err);

/* A forwarded pipeline that has not ended, as the mirror polls it. */
typedef struct ke_remote_ref {
    long long seq;          /* its position (page cursor) */
    char id[KE_ID_LEN + 1]; /* our id */
    char *remote_id;        /* kedro-graphql's id */
    ke_state state;         /* our current state: READY or STARTED */
} ke_remote_ref;

/* Lists up to max forwarded pipelines that have not ended (forward = 2, state READY or
 * STARTED) with seq > after_seq, oldest first, into a new array *out of *n (NULL and 0 when
 * none; free with ke_remote_refs_free). Reads on the readers' connection (beside the writer);
 * an index seek (partial index pipelines_forwarded) whatever the number of ended runs.
 * Returns KE_OK, KE_ENOMEM or KE_ESTORE. */
int ke_store_list_remote(ke_store *s, long long after_seq, size_t max, ke_remote_ref **out,
                         size_t *n, ke_error *err);

/* Releases n refs and the array; NULL is fine. */
void ke_remote_refs_free(ke_remote_ref *refs, size_t n);

/* Stops the writer once the requests already queued are done (their
 * callbacks run) and closes the database; NULL is fine. No other call on s
 * (ke_store_find_accepted included) may be running. */
void ke_store_close(ke_store *s);

#endif
