/* pipeline.c -- building, copying and freeing pipeline records. */
#include "pipeline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <uuid/uuid.h>

int64_t ke_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Random bits from getrandom(2), 64 ids' worth a call, per thread (libuuid's
 * uuid_generate_random makes a system call and reseeds random(3) for every id). Falls back to
 * libuuid when getrandom fails. */
static void random_id_bits(uuid_t u)
{
    static _Thread_local unsigned char pool[64 * sizeof(uuid_t)];
    static _Thread_local size_t left;
    ssize_t got;

    if (left == 0) {
        got = getrandom(pool, sizeof pool, 0);
        if (got != (ssize_t)sizeof pool) {
            uuid_generate_random(u);
            return;
        }
        left = sizeof pool;
    }
    left -= sizeof(uuid_t);
    memcpy(u, pool + left, sizeof(uuid_t));
    memset(pool + left, 0, sizeof(uuid_t));       /* a bit handed out once is not kept */
    u[6] = (unsigned char)(0x40 | (u[6] & 0x0f)); /* version 4, as libuuid's */
    u[8] = (unsigned char)(0x80 | (u[8] & 0x3f)); /* variant 10 */
}

/* A version 7 UUID (RFC 9562): the Unix time in milliseconds, then 12 bits of the
 * sub-millisecond time (its method 3), then random bits (random_id_bits). Ids made one after
 * another sort in time order, so the id index takes new ids at its end instead of at random pages:
 * a commit writes a few pages of it, not one per new pipeline. */
void ke_new_id(char id[KE_ID_LEN + 1])
{
    struct timespec ts;
    uint64_t ms;
    unsigned sub;
    uuid_t u;
    int i;

    random_id_bits(u); /* the variant bits are already RFC 9562's */
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    sub = (unsigned)((uint64_t)(ts.tv_nsec % 1000000) * 4096 / 1000000);
    for (i = 0; i < 6; i++)
        u[i] = (unsigned char)(ms >> (40 - 8 * i));
    u[6] = (unsigned char)(0x70 | (sub >> 8));
    u[7] = (unsigned char)(sub & 0xff);
    uuid_unparse_lower(u, id);
}

static char *dup_or_null(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

/* strdup that reports failure through *ok (a NULL input copies as NULL). */
static char *dup_checked(const char *s, int *ok)
{
    char *d = dup_or_null(s);

    if (s != NULL && d == NULL)
        *ok = 0;
    return d;
}

int ke_pipeline_init(ke_pipeline *p, const char *name, ke_state state)
{
    memset(p, 0, sizeof *p);
    ke_new_id(p->id);
    p->created_at = ke_now_us();
    p->name = strdup(name);
    p->status = calloc(1, sizeof *p->status);
    if (p->name == NULL || p->status == NULL) {
        ke_pipeline_release(p);
        return KE_ENOMEM;
    }
    p->n_status = 1;
    p->status[0].state = state;
    p->status[0].changed_at = p->created_at;
    return KE_OK;
}

int ke_pipeline_add_param(ke_pipeline *p, const char *name, const char *value, const char *type)
{
    ke_param *grown = realloc(p->params, (p->n_params + 1) * sizeof *grown);
    int ok = 1;
    ke_param *np;

    if (grown == NULL)
        return KE_ENOMEM;
    p->params = grown;
    np = &p->params[p->n_params];
    np->name = dup_checked(name, &ok);
    np->value = dup_checked(value, &ok);
    np->type = dup_checked(type, &ok);
    p->n_params++;
    return ok ? KE_OK : KE_ENOMEM;
}

int ke_pipeline_add_tag(ke_pipeline *p, const char *key, const char *value)
{
    ke_tag *grown = realloc(p->tags, (p->n_tags + 1) * sizeof *grown);
    int ok = 1;

    if (grown == NULL)
        return KE_ENOMEM;
    p->tags = grown;
    p->tags[p->n_tags].key = dup_checked(key, &ok);
    p->tags[p->n_tags].value = dup_checked(value, &ok);
    p->n_tags++;
    return ok ? KE_OK : KE_ENOMEM;
}

static int copy_status(ke_status *dst, const ke_status *src)
{
    int ok = 1;

    *dst = *src;
    dst->runner = dup_checked(src->runner, &ok);
    dst->error = dup_checked(src->error, &ok);
    dst->log_path = dup_checked(src->log_path, &ok);
    dst->remote_json = dup_checked(src->remote_json, &ok);
    return ok ? KE_OK : KE_ENOMEM;
}

int ke_pipeline_copy(ke_pipeline *dst, const ke_pipeline *src)
{
    int ok = 1;
    size_t i;

    memset(dst, 0, sizeof *dst);
    memcpy(dst->id, src->id, sizeof dst->id);
    dst->created_at = src->created_at;
    dst->name = dup_checked(src->name, &ok);
    dst->parent = dup_checked(src->parent, &ok);
    dst->remote_id = dup_checked(src->remote_id, &ok);
    dst->remote_json = dup_checked(src->remote_json, &ok);
    for (i = 0; ok && i < src->n_params; i++)
        ok = ke_pipeline_add_param(dst, src->params[i].name, src->params[i].value,
                                   src->params[i].type) == KE_OK;
    for (i = 0; ok && i < src->n_tags; i++)
        ok = ke_pipeline_add_tag(dst, src->tags[i].key, src->tags[i].value) == KE_OK;
    if (ok && src->n_status > 0) {
        dst->status = calloc(src->n_status, sizeof *dst->status);
        ok = dst->status != NULL;
        for (i = 0; ok && i < src->n_status; i++) {
            ok = copy_status(&dst->status[i], &src->status[i]) == KE_OK;
            dst->n_status = i + 1;
        }
    }
    if (!ok) {
        ke_pipeline_release(dst);
        return KE_ENOMEM;
    }
    return KE_OK;
}

void ke_pipeline_release(ke_pipeline *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->n_params; i++) {
        free(p->params[i].name);
        free(p->params[i].value);
        free(p->params[i].type);
    }
    for (i = 0; i < p->n_tags; i++) {
        free(p->tags[i].key);
        free(p->tags[i].value);
    }
    for (i = 0; i < p->n_status; i++) {
        free(p->status[i].runner);
        free(p->status[i].error);
        free(p->status[i].log_path);
        free(p->status[i].remote_json);
    }
    free(p->params);
    free(p->tags);
    free(p->status);
    free(p->name);
    free(p->parent);
    free(p->remote_id);
    free(p->remote_json);
    memset(p, 0, sizeof *p);
}

void ke_pipelines_free(ke_pipeline *ps, size_t n)
{
    size_t i;

    if (ps == NULL)
        return;
    for (i = 0; i < n; i++)
        ke_pipeline_release(&ps[i]);
    free(ps);
}

ke_state ke_pipeline_state(const ke_pipeline *p)
{
    return p->n_status == 0 ? KE_STATE_UNSPECIFIED : p->status[p->n_status - 1].state;
}

const char *ke_state_name(ke_state s)
{
    static const char *const names[] = {"UNSPECIFIED", "STAGED",  "READY",  "STARTED",
                                        "SUCCESS",     "FAILURE", "ABORTED"};

    if ((unsigned)s >= sizeof names / sizeof names[0])
        return "UNSPECIFIED";
    return names[s];
}
