/* store_changes.c -- the change feed: the writer notes each state change of its transaction
 * and, once the transaction commits, hands them to the subscribers (store.h). */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* One noted change; its strings live in the log's text buffer (offsets, since it grows). */
typedef struct noted {
    long long seq;
    size_t id, name, parent; /* offsets into text */
    size_t end;              /* the text's length after this change's strings */
    ke_state prev, state;
} noted;

struct ke_change_log {
    noted *v;          /* changes, in order */
    size_t n, cap;     /* used, allocated */
    char *text;        /* their strings, NUL-terminated, back to back */
    size_t used, tcap; /* bytes used, allocated */
    ke_change *out;    /* the array handed to subscribers */
    size_t out_cap;    /* allocated entries of out */
};

static int subscribed(const ke_store *s)
{
    return atomic_load(&((ke_store *)s)->n_subs) > 0;
}

static struct ke_change_log *log_of(ke_store *s)
{
    if (s->changes == NULL)
        s->changes = calloc(1, sizeof *s->changes);
    return s->changes;
}

/* Copies str (len bytes) into the log's text; *at receives its offset. */
static int put_text(struct ke_change_log *l, const char *str, size_t len, size_t *at)
{
    if (l->used + len + 1 > l->tcap) {
        size_t cap = l->tcap ? l->tcap : 4096;
        char *grown;

        while (cap < l->used + len + 1)
            cap *= 2;
        grown = realloc(l->text, cap);
        if (grown == NULL)
            return KE_ENOMEM;
        l->text = grown;
        l->tcap = cap;
    }
    memcpy(l->text + l->used, str, len);
    l->text[l->used + len] = '\0';
    *at = l->used;
    l->used += len + 1;
    return KE_OK;
}

static int note(ke_store *s, long long seq, const char *id, size_t id_len, const char *name,
                size_t name_len, const char *parent, size_t parent_len, ke_state prev,
                ke_state state)
{
    struct ke_change_log *l = log_of(s);
    noted *c;

    if (l == NULL)
        return KE_ENOMEM;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        noted *grown = realloc(l->v, cap * sizeof *grown);

        if (grown == NULL)
            return KE_ENOMEM;
        l->v = grown;
        l->cap = cap;
    }
    c = &l->v[l->n];
    c->seq = seq;
    c->prev = prev;
    c->state = state;
    if (put_text(l, id, id_len, &c->id) != KE_OK ||
        put_text(l, name, name_len, &c->name) != KE_OK ||
        put_text(l, parent, parent_len, &c->parent) != KE_OK)
        return KE_ENOMEM;
    c->end = l->used;
    l->n++;
    return KE_OK;
}

int ke_store_note_new(ke_store *s, long long seq, const ke_pipeline *p)
{
    const char *parent = p->parent != NULL ? p->parent : "";

    if (!subscribed(s))
        return KE_OK;
    return note(s, seq, p->id, strlen(p->id), p->name, strlen(p->name), parent, strlen(parent),
                KE_STATE_UNSPECIFIED, ke_pipeline_state(p));
}

static size_t column_len(sqlite3_stmt *q, int i)
{
    return (size_t)sqlite3_column_bytes(q, i);
}

static const char *column_text(sqlite3_stmt *q, int i)
{
    const char *t = (const char *)sqlite3_column_text(q, i);

    return t != NULL ? t : "";
}

int ke_store_note_state(ke_store *s, long long seq, ke_state state)
{
    sqlite3_stmt *q = s->st_ident;
    int rc = KE_ESTORE;

    if (!subscribed(s))
        return KE_OK;
    sqlite3_bind_int64(q, 1, seq);
    if (sqlite3_step(q) == SQLITE_ROW) {
        /* text first, then its length: sqlite3_column_bytes after sqlite3_column_text */
        const char *id = column_text(q, 0), *name = column_text(q, 1), *parent = column_text(q, 2);

        rc = note(s, seq, id, column_len(q, 0), name, column_len(q, 1), parent, column_len(q, 2),
                  (ke_state)sqlite3_column_int(q, 3), state);
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

size_t ke_store_changes_mark(const ke_store *s)
{
    return s->changes != NULL ? s->changes->n : 0;
}

void ke_store_changes_rewind(ke_store *s, size_t mark)
{
    struct ke_change_log *l = s->changes;

    if (l == NULL || mark >= l->n)
        return;
    l->n = mark;
    l->used = mark > 0 ? l->v[mark - 1].end : 0;
}

void ke_store_changes_deliver(ke_store *s)
{
    struct ke_change_log *l = s->changes;
    size_t i;
    int k;

    if (l == NULL || l->n == 0)
        return;
    if (l->out_cap < l->n) {
        ke_change *grown = realloc(l->out, l->n * sizeof *grown);

        if (grown == NULL) { /* out of memory: the subscribers miss this commit's changes */
            ke_store_changes_rewind(s, 0);
            return;
        }
        l->out = grown;
        l->out_cap = l->n;
    }
    for (i = 0; i < l->n; i++) {
        l->out[i].seq = l->v[i].seq;
        l->out[i].id = l->text + l->v[i].id;
        l->out[i].name = l->text + l->v[i].name;
        l->out[i].parent = l->text + l->v[i].parent;
        l->out[i].prev = l->v[i].prev;
        l->out[i].state = l->v[i].state;
    }
    pthread_mutex_lock(&s->qlock);
    for (k = 0; k < atomic_load(&s->n_subs); k++)
        s->subs[k](s->subs_ctx[k], l->out, l->n);
    pthread_mutex_unlock(&s->qlock);
    ke_store_changes_rewind(s, 0);
}

void ke_store_changes_free(ke_store *s)
{
    if (s->changes == NULL)
        return;
    free(s->changes->v);
    free(s->changes->text);
    free(s->changes->out);
    free(s->changes);
    s->changes = NULL;
}

int ke_store_subscribe(ke_store *s, ke_store_change_fn fn, void *ctx, ke_error *err)
{
    int n;

    pthread_mutex_lock(&s->qlock);
    n = atomic_load(&s->n_subs);
    if (n == KE_STORE_MAX_SUBSCRIBERS) {
        pthread_mutex_unlock(&s->qlock);
        return ke_error_set(err, KE_EINVAL, "store: more than %d change subscribers",
                            KE_STORE_MAX_SUBSCRIBERS);
    }
    s->subs[n] = fn;
    s->subs_ctx[n] = ctx;
    atomic_store(&s->n_subs, n + 1);
    pthread_mutex_unlock(&s->qlock);
    return KE_OK;
}

void ke_store_unsubscribe(ke_store *s, ke_store_change_fn fn, void *ctx)
{
    int n, k;

    pthread_mutex_lock(&s->qlock);
    n = atomic_load(&s->n_subs);
    for (k = 0; k < n; k++)
        if (s->subs[k] == fn && s->subs_ctx[k] == ctx) {
            memmove(&s->subs[k], &s->subs[k + 1], (size_t)(n - k - 1) * sizeof s->subs[0]);
            memmove(&s->subs_ctx[k], &s->subs_ctx[k + 1],
                    (size_t)(n - k - 1) * sizeof s->subs_ctx[0]);
            atomic_store(&s->n_subs, n - 1);
            break;
        }
    pthread_mutex_unlock(&s->qlock);
}
