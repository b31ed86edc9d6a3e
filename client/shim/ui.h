/* ui.h -- GET /ui/...: the web console's static files, embedded into the binary at build time
 * (ui_embed.cmake writes the table) or read from --ui-dir on each request (ui.c). */
#ifndef KES_UI_H
#define KES_UI_H

#include <microhttpd.h>
#include <stddef.h>

#define KES_UI_FILE_MAX (8u << 20) /* largest file served from --ui-dir */
#define KES_UI_PATH_MAX 255        /* longest path below /ui/ looked up as a file */

/* One embedded file (the table ui_embed.cmake generates; ends with an all-NULL row). */
typedef struct kes_ui_asset {
    const char *path;           /* below the console's directory, e.g. "app.js" */
    const char *content_type;   /* by its extension */
    const unsigned char *bytes; /* len bytes (and a NUL not counted) */
    size_t len;                 /* length of bytes */
    const char *etag;           /* strong ETag, quoted */
} kes_ui_asset;

extern const kes_ui_asset kes_ui_assets[];
extern const size_t kes_ui_asset_count;

typedef struct kes_ui kes_ui; /* where the console's files come from */

/* The console served from dir (read on each request), or from the embedded files when dir is
 * NULL; *out is the caller's (kes_ui_free). -1 with msg (cap bytes) naming dir when it is not
 * a directory that can be read, or when out of memory. */
int kes_ui_new(const char *dir, kes_ui **out, char *msg, size_t cap);

/* Frees ui; NULL is fine. */
void kes_ui_free(kes_ui *ui);

/* Whether url (decoded, without its query) is the console's: "/", "/ui" or "/ui/...". */
int kes_ui_path(const char *url);

/* Answers a GET or HEAD of url (kes_ui_path holds) on conn: 308 to /ui/ for "/" and "/ui";
 * the file below /ui/, or index.html for any path that is not one of the files (the page
 * routes itself), with ETag, Cache-Control: no-cache and the security headers, or 304 when
 * If-None-Match names its ETag; 404 when there is no index.html, 500 for a --ui-dir file
 * larger than KES_UI_FILE_MAX. *status is the status queued. A path with a segment that is
 * empty, starts with '.', or holds a byte outside [A-Za-z0-9._-] is never a file, so no path
 * leaves the directory. */
enum MHD_Result kes_ui_answer(const kes_ui *ui, struct MHD_Connection *conn, const char *url,
                              int *status);

#endif
