/* reflection.h -- gRPC server reflection (v1alpha and v1) over an embedded descriptor set. */
#ifndef KE_REFLECTION_H
#define KE_REFLECTION_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "rpc.h"

typedef struct ke_reflection ke_reflection;

/* The server's google.protobuf.FileDescriptorSet, imports included
 * (gen/descriptor/kedro_events_desc.c). */
extern const unsigned char ke_descriptor_set[];
extern const size_t ke_descriptor_set_len;

/* Parses a serialized FileDescriptorSet once (nothing points into the bytes) and
 * indexes its files by name, its symbols (messages and enums, nested ones
 * too, fields, oneofs, enum values, extensions, services and their methods)
 * by fully-qualified name, and its services. Sets *out and returns KE_OK; on
 * failure *out is NULL and it returns KE_EINVAL (malformed set, a file
 * without a name, a symbol defined twice, an import the set does not hold)
 * or KE_ENOMEM, with err naming the subject. Free with ke_reflection_free. */
int ke_reflection_new(const uint8_t *descriptor_set, size_t len, ke_reflection **out,
                      ke_error *err);

/* Writes up to cap method entries (ServerReflectionInfo of
 * grpc.reflection.v1alpha and of grpc.reflection.v1, both bidi-streaming) to
 * out and returns how many the service offers (2), so cap 0 asks the count.
 * The entries point at r and at static paths: r must outlive the server. */
size_t ke_reflection_methods(ke_reflection *r, ke_rpc_method *out, size_t cap);

/* Answers one serialized ServerReflectionRequest with a serialized
 * ServerReflectionResponse that echoes valid_host and original_request:
 * list_services, file_by_filename and file_containing_symbol (the file
 * first, then its transitive imports, each once), file_containing_extension
 * and all_extension_numbers_of_type. An unknown file, symbol, type or
 * extension is answered with error_response NOT_FOUND (5) naming it, a
 * request with none of these set with error_response UNIMPLEMENTED (12).
 * On KE_OK *resp is malloc'd (the caller frees it) and *resp_len set. Returns
 * KE_EINVAL when req is not a ServerReflectionRequest, or KE_ENOMEM; *resp is
 * then NULL and *resp_len 0. Thread-safe: r never changes after creation. */
int ke_reflection_answer(const ke_reflection *r, const uint8_t *req, size_t len, uint8_t **resp,
                         size_t *resp_len, ke_error *err);

/* Frees r; NULL is fine. */
void ke_reflection_free(ke_reflection *r);

#endif
