/* kec_files.h -- reading a small file whole (certificates, keys, token files), shared by
 * kedro-eventd, kedro-event-shim and the library. */
#ifndef KEC_FILES_H
#define KEC_FILES_H

#include <stddef.h>

#include "kedroevents.h"

/* Flags of kec_file_read. */
#define KEC_FILE_PRIVATE 1 /* refuse a file others may read or write, or its group may write */

/* Reads the regular file at path, at most max bytes, into *out: NUL-terminated, *len bytes
 * before the NUL; the caller frees it (wiping it first when it holds a secret). what names
 * the file in messages, which read `WHAT "PATH": problem` (e.g. what "--tls-key" or "token
 * file"). KEC_EIO when the file cannot be opened or read; KEC_EINVAL when it is not a regular
 * file, is larger than max, or, with KEC_FILE_PRIVATE, others may read it (the message gives
 * the chmod that fixes it). On failure *out is NULL and what was read has been wiped. */
int kec_file_read(const char *path, size_t max, int flags, const char *what, char **out,
                  size_t *len, kec_error *err);

#endif
