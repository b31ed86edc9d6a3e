/* nanopb_bytes.h -- how the client's nanopb code holds a protobuf bytes field: as a span of
 * bytes that client/codec.c encodes and decodes itself (FT_CALLBACK with this datatype, see
 * proto/nanopb.options), because nanopb's own pb_bytes_array_t counts in pb_size_t, 16 bits in
 * Debian's libprotobuf-nanopb, which caps a field at 65,535 bytes. proto/generate.sh copies
 * this file into gen/nanopb/, where the generated headers include it. */
#ifndef KEC_NANOPB_BYTES_H
#define KEC_NANOPB_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* Shaped so that nanopb's generated initializer for a callback field, {{NULL}, NULL}, fits. */
typedef struct kec_pb_bytes {
    struct {
        const uint8_t *bytes; /* the first byte (borrowed: the caller's data when encoding,
                                 the received message when decoding); NULL when empty */
        size_t size;          /* how many bytes */
    } at;                     /* the field's value */
    void *unused;             /* always NULL: keeps nanopb's initializer valid */
} kec_pb_bytes;

#endif
