/* wire.c -- a small reader of the protobuf wire format: fields, and strings holding NUL. */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a varint; returns false when it runs past end or past 10 bytes. */
static bool wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    unsigned shift = 0;

    *v = 0;
    while (*p < end && shift < 64) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0)
            return true;
        shift += 7;
    }
    return false;
}

bool ke_wire_next(const uint8_t **p, const uint8_t *end, ke_wire_field *f)
{
    uint64_t key, len;

    if (!wire_varint(p, end, &key))
        return false;
    f->num = key >> 3;
    f->type = (unsigned)(key & 7);
    f->buf = NULL;
    f->len = 0;
    switch (f->type) {
    case 0:
        return wire_varint(p, end, &len);
    case 1:
    case 5:
        len = f->type == 1 ? 8 : 4;
        if ((uint64_t)(end - *p) < len)
            return false;
        *p += len;
        return true;
    case 2:
        if (!wire_varint(p, end, &len) || (uint64_t)(end - *p) < len)
            return false;
        f->buf = *p;
        f->len = (size_t)len;
        *p += len;
        return true;
    }
    return false;
}

bool ke_wire_has_nul(const ke_wire_field *f)
{
    return f->type == 2 && f->len > 0 && memchr(f->buf, 0, f->len) != NULL;
}

/* Appends ".name" or "name" (at the start), and "[i]" for a repeated field, to path at off.
 * Returns the new length (clamped to the buffer). */
static size_t path_append(char *path, size_t off, const ProtobufCFieldDescriptor *fd, size_t i)
{
    int n;

    if (off >= KE_WIRE_PATH_CAP - 1)
        return off;
    if (fd->label == PROTOBUF_C_LABEL_REPEATED)
        n = snprintf(path + off, KE_WIRE_PATH_CAP - off, "%s%s[%zu]", off ? "." : "", fd->name, i);
    else
        n = snprintf(path + off, KE_WIRE_PATH_CAP - off, "%s%s", off ? "." : "", fd->name);
    if (n < 0)
        return off;
    off += (size_t)n;
    return off < KE_WIRE_PATH_CAP ? off : KE_WIRE_PATH_CAP - 1;
}

/* ke_wire_find_nul for one message at depth, its path so far ending at off. */
static int scan(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
                char *path, size_t off, unsigned depth)
{
    size_t *seen = NULL; /* occurrences per field, for repeated indexes */
    const ProtobufCFieldDescriptor *fd;
    ke_wire_field f;
    size_t at;
    int rc = 0;

    if (depth > KE_WIRE_MAX_DEPTH) {
        snprintf(path, KE_WIRE_PATH_CAP, "messages nested deeper than %d", KE_WIRE_MAX_DEPTH);
        return -1;
    }
    if (d->n_fields > 0) {
        seen = calloc(d->n_fields, sizeof *seen);
        if (seen == NULL) {
            snprintf(path, KE_WIRE_PATH_CAP, "out of memory");
            return -1;
        }
    }
    while (rc == 0 && p < end) {
        if (!ke_wire_next(&p, end, &f)) {
            snprintf(path, KE_WIRE_PATH_CAP, "malformed protobuf encoding of %s", d->name);
            rc = -1;
            break;
        }
        fd = f.num <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)f.num)
                                 : NULL;
        if (fd == NULL || f.type != 2)
            continue; /* unknown fields and scalars hold no strings */
        at = path_append(path, off, fd, seen[fd - d->fields]++);
        if (fd->type == PROTOBUF_C_TYPE_STRING && ke_wire_has_nul(&f))
            rc = 1;
        else if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
            rc = scan(fd->descriptor, f.buf, f.buf + f.len, path, at, depth + 1);
        if (rc == 0)
            path[off] = '\0';
    }
    free(seen);
    return rc;
}

int ke_wire_find_nul(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                     char path[KE_WIRE_PATH_CAP])
{
    path[0] = '\0';
    if (buf == NULL || len == 0)
        return 0;
    return scan(d, buf, buf + len, path, 0, 0);
}
