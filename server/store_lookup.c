/* store_lookup.c -- the read side's duplicate check: a resent event's key looked up on a pool
 * of read connections beside the writer (WAL), and its original pipelines loaded there. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* Read connections the pool opens at most; a lookup finding none idle answers "not found"
 * (the writer then checks), so a burst never opens more. */
#define LOOKUP_MAX_CONNS 16

/* The most a read connection keeps of the last range it loaded (its parameter and tag values,
 * where the rendered event is): a resend loop over small events is answered from memory, and
 * 16 idle connections never hold a few events of several MiB each. */
#define LAST_MAX_BYTES (64 << 10)

/* The keys asked about recently: a direct-mapped table of 2^RECENT_BITS 64-bit key hashes
 * (1 MiB, its pages resident as they are written). A new key takes its slot from whatever key
 * had it, so the table forgets a key after about 2^RECENT_BITS other keys (13 s at 10,000 new
 * events/s); forgetting one only sends its next resend to the writer. */
#define RECENT_BITS 17

/* One read connection and its statements, used by one thread at a time. */
typedef struct lookup_conn {
    sqlite3 *db;              /* opened on the store's database, query_only */
    sqlite3_stmt *find;       /* the key's range of pipelines */
    sqlite3_stmt *range;      /* the pipelines of a range */
    sqlite3_stmt *history;    /* a pipeline's status history (KE_STORE_HISTORY_SQL) */
    struct lookup_conn *next; /* idle list */
    ke_pipeline *last;        /* the last range loaded (n_last records), or NULL */
    size_t n_last;            /* records in last */
    sqlite3_int64 last_first; /* its first seq */
    sqlite3_int64 last_count; /* its key's count */
    unsigned last_version;    /* the database's data version it was read at */
} lookup_conn;

struct ke_store_lookups {
    pthread_mutex_t lock;     /* guards idle and n_open */
    lookup_conn *idle;        /* connections not in use */
    size_t n_open;            /* connections opened (idle or in use) */
    _Atomic uint64_t *recent; /* 2^RECENT_BITS key hashes (0: empty slot); lock-free hints */
};

/* The key's 64-bit FNV-1a hash (source, a NUL, the id: neither holds a NUL), never 0. */
static uint64_t key_hash(const char *source, const char *event_id)
{
    uint64_t h = 14695981039346656037ull;
    const unsigned char *c;

    for (c = (const unsigned char *)source; *c != '\0'; c++)
        h = (h ^ *c) * 1099511628211ull;
    h *= 1099511628211ull; /* the NUL between them */
    for (c = (const unsigned char *)event_id; *c != '\0'; c++)
        h = (h ^ *c) * 1099511628211ull;
    return h != 0 ? h : 1;
}

/* Whether the key was asked about recently; records it when it was not. Two threads racing on
 * one slot may both see "not recent": each then leaves its event to the writer, which is right
 * in any case. */
static int recent_or_note(struct ke_store_lookups *p, uint64_t h)
{
    _Atomic uint64_t *slot = &p->recent[h >> (64 - RECENT_BITS)];

    if (atomic_load_explicit(slot, memory_order_relaxed) == h)
        return 1;
    atomic_store_explicit(slot, h, memory_order_relaxed);
    return 0;
}

static void conn_free(lookup_conn *c)
{
    if (c == NULL)
        return;
    sqlite3_finalize(c->find);
    sqlite3_finalize(c->range);
    sqlite3_finalize(c->history);
    sqlite3_close(c->db);
    ke_pipelines_free(c->last, c->n_last);
    free(c);
}

/* Opens a read connection on s's database (never creating it) with its statements, or NULL.
 * No busy wait: a read that would wait (a WAL recovery under way) fails, and the caller leaves
 * the event to the writer. */
static lookup_conn *conn_open(const ke_store *s)
{
    static const char *const sql[] = {
        KE_STORE_FIND_EVENT_SQL,
        KE_STORE_RANGE_SQL,
        KE_STORE_HISTORY_SQL,
    };
    lookup_conn *c = calloc(1, sizeof *c);
    sqlite3_stmt **at[3];
    size_t i;

    if (c == NULL)
        return NULL;
    at[0] = &c->find;
    at[1] = &c->range;
    at[2] = &c->history;
    if (sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, s->vfs) !=
            SQLITE_OK ||
        ke_store_exec(c->db, "PRAGMA query_only = 1") != KE_OK)
        goto fail;
    sqlite3_extended_result_codes(c->db, 1);
    for (i = 0; i < 3; i++)
        if (sqlite3_prepare_v3(c->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, at[i], NULL) !=
            SQLITE_OK)
            goto fail;
    return c;
fail:
    conn_free(c);
    return NULL;
}

/* s's pool, made at first use (two threads racing: one pool wins, the other is freed). */
static struct ke_store_lookups *pool_of(ke_store *s)
{
    struct ke_store_lookups *p = atomic_load_explicit(&s->lookups, memory_order_acquire), *none;

    if (p != NULL)
        return p;
    p = calloc(1, sizeof *p);
    if (p != NULL)
        p->recent = calloc((size_t)1 << RECENT_BITS, sizeof *p->recent);
    if (p == NULL || p->recent == NULL) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    none = NULL;
    if (atomic_compare_exchange_strong_explicit(&s->lookups, &none, p, memory_order_acq_rel,
                                                memory_order_acquire))
        return p;
    pthread_mutex_destroy(&p->lock);
    free(p->recent);
    free(p);
    return none;
}

/* An idle connection, or a new one while fewer than LOOKUP_MAX_CONNS are open; else NULL. */
static lookup_conn *conn_take(const ke_store *s, struct ke_store_lookups *p)
{
    lookup_conn *c;

    pthread_mutex_lock(&p->lock);
    c = p->idle;
    if (c != NULL) {
        p->idle = c->next;
        pthread_mutex_unlock(&p->lock);
        return c;
    }
    if (p->n_open == LOOKUP_MAX_CONNS) {
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    p->n_open++;
    pthread_mutex_unlock(&p->lock);
    c = conn_open(s); /* outside the lock: opening reads the schema */
    if (c == NULL) {
        pthread_mutex_lock(&p->lock);
        p->n_open--;
        pthread_mutex_unlock(&p->lock);
    }
    return c;
}

static void conn_give_back(struct ke_store_lookups *p, lookup_conn *c)
{
    pthread_mutex_lock(&p->lock);
    c->next = p->idle;
    p->idle = c;
    pthread_mutex_unlock(&p->lock);
}

/* Copies n records into a new array *out; KE_OK or KE_ENOMEM (*out NULL). */
static int copy_all(const ke_pipeline *ps, size_t n, ke_pipeline **out)
{
    ke_pipeline *copy = calloc(n, sizeof *copy);
    size_t i;

    *out = NULL;
    if (copy == NULL)
        return KE_ENOMEM;
    for (i = 0; i < n; i++) {
        if (ke_pipeline_copy(&copy[i], &ps[i]) != KE_OK) {
            ke_pipelines_free(copy, i);
            return KE_ENOMEM;
        }
    }
    *out = copy;
    return KE_OK;
}

/* The bytes of the values of ps's parameters and tags (what makes a record large). */
static size_t values_bytes(const ke_pipeline *ps, size_t n)
{
    size_t bytes = 0, i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < ps[i].n_params; j++)
            bytes += strlen(ps[i].params[j].value);
        for (j = 0; j < ps[i].n_tags; j++)
            bytes += strlen(ps[i].tags[j].value);
    }
    return bytes;
}

/* Loads the count records from seq first into *ps / *n, inside the read transaction the
 * caller's statement holds open. The range c read last is kept with the database's data
 * version: while no connection has changed the database since (SQLite counts every change of
 * the file, by any connection, in the version), the same range is the same records, and a copy
 * of them answers without reading them again -- a sender resending one event in a loop. Only
 * ranges up to LAST_MAX_BYTES are kept. */
static int load_range(lookup_conn *c, sqlite3_int64 first, sqlite3_int64 count, ke_pipeline **ps,
                      size_t *n)
{
    unsigned version = 0;
    int rc, known;

    known = sqlite3_file_control(c->db, "main", SQLITE_FCNTL_DATA_VERSION, &version) == SQLITE_OK;
    if (known && c->last != NULL && c->last_first == first && c->last_count == count &&
        c->last_version == version) {
        rc = copy_all(c->last, c->n_last, ps);
        *n = rc == KE_OK ? c->n_last : 0;
        return rc;
    }
    ke_pipelines_free(c->last, c->n_last);
    c->last = NULL;
    c->n_last = 0;
    sqlite3_bind_int64(c->range, 1, first);
    sqlite3_bind_int64(c->range, 2, first + count);
    rc = ke_store_load_rows(c->history, c->range, (size_t)count, ps, n, NULL);
    sqlite3_reset(c->range);
    if (rc == KE_OK && known && *n > 0 && values_bytes(*ps, *n) <= LAST_MAX_BYTES &&
        copy_all(*ps, *n, &c->last) == KE_OK) {
        c->n_last = *n;
        c->last_first = first;
        c->last_count = count;
        c->last_version = version;
    }
    return rc;
}

/* Looks the key up on c. Returns 1 with the pipelines in *ps / *n when it is committed, 0 when
 * it is not or the read failed. */
static int read_key(lookup_conn *c, const char *source, const char *event_id, ke_pipeline **ps,
                    size_t *n)
{
    sqlite3_int64 first, count;
    int found = 0;

    if (ke_store_bind_text(c->find, 1, source) != SQLITE_OK ||
        ke_store_bind_text(c->find, 2, event_id) != SQLITE_OK)
        goto out;
    if (sqlite3_step(c->find) != SQLITE_ROW)
        goto out;
    first = sqlite3_column_int64(c->find, 0);
    count = sqlite3_column_int64(c->find, 1);
    if (count <= 0) {
        found = 1; /* a key that started nothing: no pipelines to load */
        goto out;
    }
    /* c->find is still running, so its read transaction is too: the range and the history
     * read the snapshot the key was found in (SQLite ends an autocommit read transaction
     * when its last statement is reset), and a retention sweep committing meanwhile cannot
     * take the pipelines away between the key and its rows. */
    found = load_range(c, first, count, ps, n) == KE_OK;
out:
    sqlite3_reset(c->find);
    sqlite3_clear_bindings(c->find);
    return found;
}

int ke_store_find_accepted(ke_store *s, const char *source, const char *event_id, ke_pipeline **ps,
                           size_t *n)
{
    struct ke_store_lookups *p = pool_of(s);
    lookup_conn *c;
    int found;

    *ps = NULL;
    *n = 0;
    if (p == NULL || !recent_or_note(p, key_hash(source, event_id)))
        return 0; /* most keys are new: no read for them, the writer checks anyway */
    c = conn_take(s, p);
    if (c == NULL)
        return 0;
    found = read_key(c, source, event_id, ps, n);
    conn_give_back(p, c);
    return found;
}

void ke_store_lookups_close(ke_store *s)
{
    struct ke_store_lookups *p = atomic_exchange(&s->lookups, NULL);
    lookup_conn *c;

    if (p == NULL)
        return;
    for (c = p->idle; c != NULL; c = p->idle) {
        p->idle = c->next;
        conn_free(c);
    }
    pthread_mutex_destroy(&p->lock);
    free(p->recent);
    free(p);
}
