/* fuzz_event.c -- libFuzzer target: arbitrary bytes as a CloudEvent and as a batch through
 * decoding, validation and JSON rendering. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct timespec received = {1704164645, 123000000};
    ke_event *ev = NULL;
    ke_batch *b = NULL;
    char *json = NULL;
    ke_error err;
    size_t i;

    ke_error_clear(&err);
    if (ke_event_decode(data, size, &ev, &err) == KE_OK &&
        ke_event_to_json(ev, &received, &json, &err) == KE_OK)
        free(json);
    ke_event_free(ev);
    ke_error_clear(&err);
    if (ke_batch_decode(data, size, &b, &err) == KE_OK) {
        for (i = 0; i < ke_batch_count(b); i++) {
            json = NULL;
            if (ke_event_to_json(ke_batch_event(b, i), &received, &json, &err) == KE_OK)
                free(json);
        }
    }
    ke_batch_free(b);
    return 0;
}
