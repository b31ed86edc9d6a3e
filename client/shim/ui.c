/* ui.c -- the web console's static files at /ui/: the embedded table or the files of --ui-dir,
 * with the page's security headers, a strong ETag and 304 for a matching If-None-Match; every
 * other path below /ui/ answers index.html, so a deep link lands on the page. */
#include "ui.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
#define INDEX "index.html"
#define UI_MAX_TEXT "8 MiB" /* KES_UI_FILE_MAX, for messages */

struct kes_ui {
    char *dir; /* --ui-dir, or NULL: the embedded files */
};

/* One file to answer: borrowed bytes (embedded) or owned ones (read from the directory). */
typedef struct ui_file {
    const char *content_type; /* static */
    const void *bytes;        /* len bytes */
    size_t len;               /* length */
    char *owned;              /* bytes when read from the directory (malloc'd), else NULL */
    char etag[24];            /* quoted */
} ui_file;

int kes_ui_new(const char *dir, kes_ui **out, char *msg, size_t cap)
{
    struct stat st;
    kes_ui *ui;

    *out = NULL;
    if (dir != NULL) {
        if (stat(dir, &st) != 0 || access(dir, R_OK | X_OK) != 0) {
            snprintf(msg, cap, "--ui-dir '%s': %s", dir, strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            snprintf(msg, cap, "--ui-dir '%s': not a directory", dir);
            return -1;
        }
    }
    if ((ui = calloc(1, sizeof *ui)) == NULL || (dir != NULL && (ui->dir = strdup(dir)) == NULL)) {
        free(ui);
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    *out = ui;
    return 0;
}

void kes_ui_free(kes_ui *ui)
{
    if (ui == NULL)
        return;
    free(ui->dir);
    free(ui);
}

int kes_ui_path(const char *url)
{
    return strcmp(url, "/") == 0 || strcmp(url, "/ui") == 0 || strncmp(url, "/ui/", 4) == 0;
}

/* Whether rel (the path below /ui/) may name a file: segments of [A-Za-z0-9._-], none empty
 * and none starting with '.', at most KES_UI_PATH_MAX bytes. Everything else (.., //, a NUL
 * decoded as C0 80, any other byte) is no file. */
static int safe_path(const char *rel)
{
    size_t i, n = strlen(rel);
    int start = 1;
    char c;

    if (n == 0 || n > KES_UI_PATH_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        c = rel[i];
        if (c == '/') {
            if (start)
                return 0; /* an empty segment */
            start = 1;
            continue;
        }
        if (start && c == '.')
            return 0;
        start = 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return !start;
}

/* The Content-Type of a file name by its extension (as ui_embed.cmake decides it). */
static const char *content_type(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    size_t i;

    for (i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

/* The embedded file rel; 0 when there is none. */
static int find_embedded(const char *rel, ui_file *f)
{
    size_t i;

    for (i = 0; i < kes_ui_asset_count; i++) {
        if (strcmp(kes_ui_assets[i].path, rel) == 0) {
            f->content_type = kes_ui_assets[i].content_type;
            f->bytes = kes_ui_assets[i].bytes;
            f->len = kes_ui_assets[i].len;
            snprintf(f->etag, sizeof f->etag, "%s", kes_ui_assets[i].etag);
            return 1;
        }
    }
    return 0;
}

/* FNV-1a, 64 bits, of n bytes: the ETag of a file read from --ui-dir. */
static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;

    while (n-- > 0) {
        h ^= *p++;
        h *= 1099511628211ull;
    }
    return h;
}

/* Reads dir/rel when it is a regular file: 1; 0 when it is not one; -1 when it is larger
 * than KES_UI_FILE_MAX or cannot be read (500). */
static int read_file(const char *dir, const char *rel, ui_file *f)
{
    char path[4096];
    struct stat st;
    ssize_t got;
    size_t n = 0;
    int fd, rc = -1;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, rel) >= sizeof path)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    if ((uintmax_t)st.st_size > KES_UI_FILE_MAX ||
        (f->owned = malloc((size_t)st.st_size + 1)) == NULL)
        goto out;
    while (n < (size_t)st.st_size) {
        got = read(fd, f->owned + n, (size_t)st.st_size - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break; /* shorter than it was: serve what is there */
        n += (size_t)got;
    }
    f->bytes = f->owned;
    f->len = n;
    f->content_type = content_type(rel);
    snprintf(f->etag, sizeof f->etag, "\"%016llx\"",
             (unsigned long long)fnv1a((const unsigned char *)f->owned, n));
    rc = 1;
out:
    close(fd);
    return rc;
}

/* Whether the last segment of rel has an extension: a request for a file (a script, a style
 * sheet), not a page of the console, whose addresses have none. */
static int names_file(const char *rel)
{
    const char *last = strrchr(rel, '/');

    return strchr(last != NULL ? last + 1 : rel, '.') != NULL;
}

/* The file rel, else index.html for a page's address: 1; 0 when there is neither (*missing
 * then says whether it was the file rel); -1 (read_file). */
static int find(const kes_ui *ui, const char *rel, ui_file *f, int *missing)
{
    int rc;

    memset(f, 0, sizeof *f);
    *missing = 0;
    if (ui->dir == NULL) {
        if (safe_path(rel) && find_embedded(rel, f))
            return 1;
    } else if (safe_path(rel) && (rc = read_file(ui->dir, rel, f)) != 0) {
        return rc;
    }
    if (names_file(rel)) {
        *missing = 1; /* a missing script answered with the page would fail obscurely */
        return 0;
    }
    return ui->dir == NULL ? find_embedded(INDEX, f) : read_file(ui->dir, INDEX, f);
}

/* Whether If-None-Match (a list of ETags, or *) names etag (weak comparison, RFC 9110). */
static int not_modified(struct MHD_Connection *conn, const char *etag)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    size_t n, elen = strlen(etag);

    while (v != NULL && *v != '\0') {
        v += strspn(v, " \t,");
        if (strncmp(v, "W/", 2) == 0)
            v += 2;
        n = strcspn(v, " \t,");
        if ((n == 1 && v[0] == '*') || (n == elen && strncmp(v, etag, n) == 0))
            return 1;
        v += n;
    }
    return 0;
}

/* Queues resp with status and the headers of every answer of the console. */
static enum MHD_Result queue(struct MHD_Connection *conn, struct MHD_Response *resp, int status,
                             int *out)
{
    enum MHD_Result ret;

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    *out = status;
    return ret;
}

/* A {"detail": ...} answer (404, 500). */
static enum MHD_Result fail(struct MHD_Connection *conn, int status, const char *msg, int *out)
{
    kes_answer a = {0};
    struct MHD_Response *resp;

    kes_answer_detail(&a, status, "%s", msg);
    if (a.body == NULL) {
        kes_answer_release(&a);
        return MHD_NO;
    }
    resp = MHD_create_response_from_buffer_with_free_callback(a.len, a.body, kes_answer_free_body);
    if (resp == NULL)
        free(a.body);
    else
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    a.body = NULL;
    kes_answer_release(&a);
    return queue(conn, resp, status, out);
}

enum MHD_Result kes_ui_answer(const kes_ui *ui, struct MHD_Connection *conn, const char *url,
                              int *status)
{
    struct MHD_Response *resp;
    ui_file f;
    int rc, missing;

    if (strncmp(url, "/ui/", 4) != 0) { /* "/" and "/ui" */
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (resp != NULL)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, "/ui/");
        return queue(conn, resp, 308, status);
    }
    rc = find(ui, url + 4, &f, &missing);
    if (rc == 0)
        return fail(conn, 404,
                    missing ? "the console has no such file" : "the console has no index.html",
                    status);
    if (rc < 0)
        return fail(conn, 500, "a --ui-dir file cannot be read or is larger than " UI_MAX_TEXT,
                    status);
    if (not_modified(conn, f.etag)) {
        free(f.owned);
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        rc = 304;
    } else if (f.owned != NULL) {
        resp = MHD_create_response_from_buffer_with_free_callback(f.len, f.owned, free);
        if (resp == NULL)
            free(f.owned);
        rc = 200;
    } else {
        resp = MHD_create_response_from_buffer(f.len, (void *)f.bytes, MHD_RESPMEM_PERSISTENT);
        rc = 200;
    }
    if (resp != NULL) {
        if (rc == 200)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f.content_type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, f.etag);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    }
    return queue(conn, resp, rc, status);
}
