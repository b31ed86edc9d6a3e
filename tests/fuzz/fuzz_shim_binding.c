/* fuzz_shim_binding.c -- libFuzzer target: arbitrary requests through kedro-event-shim's
 * CloudEvents HTTP binding reader (client/shim/binding.c), then the events it accepts through
 * the protobuf encoder.
 *
 * Input: a head and a body split at the first "\n\n". The head's first line is the
 * Content-Type ("-" for none); each further line is one header, "name:value". Invariant
 * checked: a failure leaves nothing behind and has a message; in binary mode every string
 * attribute read from a header is well-formed UTF-8 without NUL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "shim.h"

#define MAX_HEADERS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Binary mode's promise: header-borne strings are valid UTF-8. */
static void check_binary(const kec_event *ev)
{
    const kec_attr *a;
    size_t n, i;

    a = kec_event_attrs(ev, &n);
    for (i = 0; i < n; i++)
        if (a[i].type == KEC_ATTR_STRING && strcmp(a[i].name, "datacontenttype") != 0 &&
            kec_utf8_invalid_at(a[i].text, strlen(a[i].text)) >= 0)
            abort();
    if (kec_utf8_invalid_at(kec_event_id(ev), strlen(kec_event_id(ev))) >= 0 ||
        kec_utf8_invalid_at(kec_event_source(ev), strlen(kec_event_source(ev))) >= 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kes_header headers[MAX_HEADERS];
    kes_post p;
    kes_events out;
    kes_error err;
    char *copy = malloc(size + 1), *head, *body, *line, *next, *colon, *ctype;
    uint8_t *buf;
    size_t n = 0, len, i;
    int rc;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    head = copy;
    body = strstr(copy, "\n\n");
    if (body != NULL) {
        *body = '\0';
        body += 2;
    } else {
        body = copy + size;
    }
    len = (size_t)(copy + size - body);
    ctype = head;
    next = strchr(head, '\n');
    if (next != NULL)
        *next++ = '\0';
    for (line = next; line != NULL && n < MAX_HEADERS; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        headers[n].name = line;
        headers[n].value = colon + 1;
        headers[n++].len = strlen(colon + 1);
    }
    p.headers = headers;
    p.n_headers = n;
    p.content_type = strcmp(ctype, "-") == 0 ? NULL : ctype;
    p.body = body;
    p.len = len;
    memset(&err, 0, sizeof err);
    rc = kes_binding_read(&p, &out, &err);
    if (rc != KES_OK) {
        if (out.events != NULL || out.count != 0 || err.code != rc || err.msg[0] == '\0')
            abort();
    } else {
        for (i = 0; i < out.count; i++) {
            if (kec_event_encode(out.events[i], &buf, &len, NULL) == KEC_OK)
                free(buf);
        }
        if (!out.batch && out.count == 1 &&
            (p.content_type == NULL || strcasestr(ctype, "cloudevents") == NULL))
            check_binary(out.events[0]);
        kes_events_release(&out);
    }
    free(copy);
    return 0;
}
