/* wire.h -- a small reader of the protobuf wire format, used to find what protobuf-c hides.
 *
 * protobuf-c hands string fields over NUL-terminated without their length, so a string holding
 * U+0000 silently loses its tail ("a\0b" reads as "a"). Every request is scanned here, on the
 * bytes protobuf-c already accepted, and such strings are refused instead. */
#ifndef KE_WIRE_H
#define KE_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KE_WIRE_MAX_DEPTH 32 /* nesting of messages the scan follows */
#define KE_WIRE_PATH_CAP 160 /* a field path, e.g. "parameters[2].name" */

/* One field of a protobuf message on the wire. */
typedef struct ke_wire_field {
    uint64_t num;       /* field number */
    unsigned type;      /* wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 */
    const uint8_t *buf; /* payload of a length-delimited field, else NULL */
    size_t len;         /* its length */
} ke_wire_field;

/* Reads the field at *p (not past end) into f and advances *p past it. Returns false at a
 * malformed field (truncated, a varint over 10 bytes, an unknown wire type). */
bool ke_wire_next(const uint8_t **p, const uint8_t *end, ke_wire_field *f);

/* True when f is length-delimited and its payload holds a NUL byte. */
bool ke_wire_has_nul(const ke_wire_field *f);

/* Scans a serialized message of type d for a string field (at any depth of nested messages,
 * repeated fields and maps) holding a NUL byte. Returns 1 with path naming the first such
 * field ("parameters[2].name"), 0 when there is none, or -1 when the bytes are malformed or
 * nest deeper than KE_WIRE_MAX_DEPTH (path then says so). path holds KE_WIRE_PATH_CAP bytes. */
int ke_wire_find_nul(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                     char path[KE_WIRE_PATH_CAP]);

#endif
