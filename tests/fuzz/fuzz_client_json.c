/* fuzz_client_json.c -- libFuzzer target: arbitrary bytes through the client library's
 * CloudEvents JSON format reader (an event or a batch), and every event it reads written back
 * as JSON and read again, its JSON data unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kedroevents.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0 when a's text data is JSON (per the strict checker) and b's data differs from it. */
static int same_json_data(const kec_event *a, const kec_event *b)
{
    kec_data_kind ka, kb;
    size_t la, lb;
    const char *da = kec_event_data(a, &ka, &la, NULL), *db = kec_event_data(b, &kb, &lb, NULL);

    if (ka != KEC_DATA_TEXT || kec_json_check(da, la, NULL) != KEC_JSON_OK)
        return 1;
    return kb == KEC_DATA_TEXT && la == lb && memcmp(da, db, la) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kec_event **evs = NULL, *back = NULL;
    size_t count = 0, i;
    int is_batch;
    char *json;
    kec_error err;

    kec_error_clear(&err);
    /* data is not NUL-terminated: the reader must stop at size */
    if (kec_json_read((const char *)data, size, &evs, &count, &is_batch, &err) != KEC_OK)
        return 0;
    for (i = 0; i < count; i++) {
        json = kec_event_to_json(evs[i], NULL);
        /* what the writer writes, the reader reads (unless it names a member that clashes) */
        if (json != NULL && kec_event_from_json(json, strlen(json), &back, NULL) != KEC_OK)
            abort();
        /* and JSON data comes back exactly: its own text, never re-printed */
        if (back != NULL && !same_json_data(evs[i], back))
            abort();
        kec_event_free(back);
        back = NULL;
        free(json);
    }
    kec_events_free(evs, count);
    return 0;
}
