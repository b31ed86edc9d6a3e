/* secret_box.h -- a secret (a token) handed from one thread to another: any thread puts a new
 * value, the owning thread takes it when it next needs it. Values are wiped when replaced. */
#ifndef KE_SECRET_BOX_H
#define KE_SECRET_BOX_H

#include <pthread.h>

#include "errors.h"

typedef struct ke_secret_box {
    pthread_mutex_t lock; /* guards next and changed */
    char *next;           /* put, not yet taken */
    int changed;          /* next replaces current at the next take */
    char *current;        /* what the owner uses (owner's thread only) */
} ke_secret_box;

/* Starts b holding a copy of value (NULL: none). KE_ENOMEM when it cannot be copied. */
int ke_secret_box_init(ke_secret_box *b, const char *value);

/* Leaves a copy of value (NULL: none) for the owner's next take. Any thread. KE_ENOMEM keeps
 * what was there. */
int ke_secret_box_put(ke_secret_box *b, const char *value);

/* The value the owner uses from now on: what was put last, else what it used before.
 * Borrowed from b until the next take or release. Owner's thread only. */
const char *ke_secret_box_take(ke_secret_box *b);

/* Wipes and frees what b holds. */
void ke_secret_box_release(ke_secret_box *b);

#endif
