/* stats.c -- GET /stats?window=&step=: kedro-eventd's GetStats as the JSON of docs/console.md
 * (the console's Overview), one blocking call of libkedroevents. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

/* Reads the query argument name (NULL or "": 0, kedro-eventd's default) into *out. 0 with a
 * 400 in a when it is not a whole number; its range is kedro-eventd's to check, so that the
 * rules live in one place. */
static int read_seconds(const char *name, const char *s, int *out, kes_answer *a)
{
    char *end;
    long v;

    *out = 0;
    if (s == NULL || s[0] == '\0')
        return 1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < INT_MIN || v > INT_MAX) {
        kes_answer_detail(a, 400, "%s \"%.32s\": must be a whole number of seconds", name, s);
        return 0;
    }
    *out = (int)v;
    return 1;
}

void kes_stats(kec_client *c, const char *window, const char *step, kes_answer *a)
{
    kec_stats st;
    kec_error err;
    int rc, w, s, connected = 0;
    char *text;

    if (!read_seconds("window", window, &w, a) || !read_seconds("step", step, &s, a))
        return;
    kec_error_clear(&err);
    rc = kec_get_stats(c, w, s, &st, &err);
    if (rc != KEC_OK) { /* INVALID_ARGUMENT: 400 with the message naming the argument */
        if (rc == KEC_ESTATUS && err.status == KEC_STATUS_UNAVAILABLE)
            connected = kec_client_connected(c, 1);
        kes_answer_call_error(a, rc, &err, connected, kec_client_target(c));
        return;
    }
    text = kec_stats_to_json(&st);
    kec_stats_release(&st);
    free(a->body);
    a->body = text;
    a->len = text != NULL ? strlen(text) : 0;
    a->status = text != NULL ? 200 : 500; /* NULL: send_answer's out of memory body */
    if (text != NULL)
        kes_answer_header(a, "Cache-Control", "no-store");
}
