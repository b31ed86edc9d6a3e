/* service_internal.h -- what the EventService's handler files (service.c, service_logs.c)
 * share: the one request decoder. */
#ifndef KE_SERVICE_INTERNAL_H
#define KE_SERVICE_INTERNAL_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* Unpacks a request of the given type and refuses one whose strings hold NUL; on malformed
 * bytes or a NUL sets err naming the type or the field and returns NULL. Free with
 * protobuf_c_message_free_unpacked. */
ProtobufCMessage *ke_service_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *req,
                                    size_t len, ke_error *err);

#endif
