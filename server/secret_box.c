/* secret_box.c -- a secret handed between threads (secret_box.h). */
#include "secret_box.h"

#include <stdlib.h>
#include <string.h>

/* Frees a secret, wiping it first. */
static void secret_free(char *s)
{
    if (s != NULL)
        explicit_bzero(s, strlen(s));
    free(s);
}

int ke_secret_box_init(ke_secret_box *b, const char *value)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->lock, NULL);
    if (value != NULL && (b->current = strdup(value)) == NULL)
        return KE_ENOMEM;
    return KE_OK;
}

int ke_secret_box_put(ke_secret_box *b, const char *value)
{
    char *copy = value != NULL ? strdup(value) : NULL, *old;

    if (value != NULL && copy == NULL)
        return KE_ENOMEM;
    pthread_mutex_lock(&b->lock);
    old = b->next;
    b->next = copy;
    b->changed = 1;
    pthread_mutex_unlock(&b->lock);
    secret_free(old);
    return KE_OK;
}

const char *ke_secret_box_take(ke_secret_box *b)
{
    char *old = NULL;

    pthread_mutex_lock(&b->lock);
    if (b->changed) {
        old = b->current;
        b->current = b->next;
        b->next = NULL;
        b->changed = 0;
    }
    pthread_mutex_unlock(&b->lock);
    secret_free(old);
    return b->current;
}

void ke_secret_box_release(ke_secret_box *b)
{
    secret_free(b->current);
    secret_free(b->next);
    pthread_mutex_destroy(&b->lock);
    memset(b, 0, sizeof *b);
}
