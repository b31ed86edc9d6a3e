/* runfile.c -- the YAML run file that `kedro run --config` reads, written with libyaml. */
#include "runfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "text.h"

/* Where the emitter's output goes: a file descriptor, and the first write error. */
typedef struct sink {
    int fd;     /* the temporary file */
    int errno_; /* errno of the first failed write, or 0 */
} sink;

/* libyaml's write handler: writes all of buf to the sink's fd. Returns 1, or 0 (with
 * s->errno_ set) when a write fails. */
static int sink_write(void *data, unsigned char *buf, size_t size)
{
    sink *s = data;
    ssize_t n;

    while (size > 0) {
        n = write(s->fd, buf, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            s->errno_ = errno;
            return 0;
        }
        buf += n;
        size -= (size_t)n;
    }
    return 1;
}

/* Emits one scalar: double-quoted and untagged, so it loads as the exact str whatever its
 * text (a typed parameter too: "3" stays "3"), or plain for our own keys.
 * Returns 1, or 0 when the text is not UTF-8 (libyaml's own check lets surrogates and
 * overlong forms through), too long for libyaml, or the emitter failed. */
static int emit_scalar(yaml_emitter_t *e, const char *text, int quoted)
{
    size_t len = strlen(text);
    yaml_event_t ev;

    if (len > INT_MAX || kec_utf8_invalid_at(text, len) >= 0)
        return 0;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)len, !quoted, 1,
                                      quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                             : YAML_PLAIN_SCALAR_STYLE))
        return 0;
    return yaml_emitter_emit(e, &ev); /* the emitter frees ev, even on failure */
}

/* Emits the start / the end of a block mapping. Return 1, or 0 when the emitter failed. */
static int emit_mapping_start(yaml_emitter_t *e)
{
    yaml_event_t ev;

    if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE))
        return 0;
    return yaml_emitter_emit(e, &ev);
}

static int emit_mapping_end(yaml_emitter_t *e)
{
    yaml_event_t ev;

    if (!yaml_mapping_end_event_initialize(&ev))
        return 0;
    return yaml_emitter_emit(e, &ev);
}

/* OmegaConf's escape of a value: every "${" preceded by k backslashes (k >= 0) is written
 * with 2k+1 of them, so OmegaConf reads back the k backslashes and a literal "${" instead
 * of an interpolation (checked against omegaconf 2.2 / Debian's python3-omegaconf).
 * Returns a new string (caller frees), or NULL when out of memory. */
static char *escape_interpolation(const char *v)
{
    size_t len = strlen(v), extra = 0, run = 0, i, o = 0;
    char *out;

    for (i = 0; i < len; i++) {
        if (v[i] == '$' && v[i + 1] == '{')
            extra += run + 1;
        run = v[i] == '\\' ? run + 1 : 0;
    }
    out = malloc(len + extra + 1);
    if (out == NULL)
        return NULL;
    run = 0;
    for (i = 0; i < len; i++) {
        if (v[i] == '$' && v[i + 1] == '{') {
            memset(out + o, '\\', run + 1); /* the run itself is already written */
            o += run + 1;
        }
        run = v[i] == '\\' ? run + 1 : 0;
        out[o++] = v[i];
    }
    out[o] = '\0';
    return out;
}

/* Emits a parameter value: double-quoted, with OmegaConf's escape of "${" (the value must
 * reach the node as the exact str). Returns 1, or 0 as emit_scalar does. */
static int emit_value(yaml_emitter_t *e, const char *value)
{
    char *escaped;
    int ok;

    if (strstr(value, "${") == NULL)
        return emit_scalar(e, value, 1);
    escaped = escape_interpolation(value);
    if (escaped == NULL)
        return 0;
    ok = emit_scalar(e, escaped, 1);
    free(escaped);
    return ok;
}

#define BAD_NONE (-2) /* emit_document: the emitter failed, not a value */
#define BAD_NAME (-1) /* emit_document: libyaml refused the pipeline name */

/* Emits the whole document for p. Returns 1, or 0 with *bad the index of the parameter
 * libyaml refused (its name or value is not UTF-8), BAD_NAME for the pipeline name, or
 * BAD_NONE when the emitter itself failed (see its error, or the sink's). */
static int emit_document(yaml_emitter_t *e, const ke_pipeline *p, long *bad)
{
    yaml_event_t ev;
    size_t i;

    *bad = BAD_NONE;
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(e, &ev))
        return 0;
    if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
        !yaml_emitter_emit(e, &ev))
        return 0;
    if (!emit_mapping_start(e) || !emit_scalar(e, "run", 0) || !emit_mapping_start(e) ||
        !emit_scalar(e, "pipeline", 0))
        return 0;
    *bad = BAD_NAME;
    if (!emit_scalar(e, p->name, 1))
        return 0;
    *bad = BAD_NONE;
    if (!emit_scalar(e, "params", 0) || !emit_mapping_start(e))
        return 0;
    for (i = 0; i < p->n_params; i++) {
        *bad = (long)i;
        if (!emit_scalar(e, p->params[i].name, 1) || !emit_value(e, p->params[i].value))
            return 0;
    }
    *bad = BAD_NONE;
    if (!emit_mapping_end(e) || !emit_mapping_end(e) || !emit_mapping_end(e))
        return 0;
    if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(e, &ev))
        return 0;
    if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev))
        return 0;
    return yaml_emitter_flush(e);
}

/* Why emit_scalar refused a name or its value (value may be NULL). */
static const char *why_refused(const char *name, const char *value)
{
    if (kec_utf8_invalid_at(name, strlen(name)) >= 0)
        return "is not UTF-8";
    if (value != NULL && kec_utf8_invalid_at(value, strlen(value)) >= 0)
        return "has a value that is not UTF-8";
    return "is too long";
}

/* Records why emit_document failed, as KE_EIO naming path. */
static int emit_error(const char *path, const ke_pipeline *p, const yaml_emitter_t *e,
                      const sink *s, long bad, ke_error *err)
{
    char q[KE_QUOTE_CAP];

    if (s->errno_ != 0)
        return ke_error_set(err, KE_EIO, "cannot write run file %s: %s", path, strerror(s->errno_));
    if (e->error != YAML_NO_ERROR && e->problem != NULL)
        return ke_error_set(err, KE_EIO, "cannot write run file %s: libyaml: %s", path, e->problem);
    if (bad == BAD_NAME)
        return ke_error_set(err, KE_EIO, "cannot write run file %s: pipeline name %s %s", path,
                            ke_quote(q, p->name), why_refused(p->name, NULL));
    if (bad >= 0)
        return ke_error_set(err, KE_EIO, "cannot write run file %s: parameter %s %s", path,
                            ke_quote(q, p->params[bad].name),
                            why_refused(p->params[bad].name, p->params[bad].value));
    return ke_error_set(err, KE_EIO, "cannot write run file %s: libyaml failed", path);
}

int ke_runfile_write(const char *path, const ke_pipeline *p, ke_error *err)
{
    yaml_emitter_t e;
    int have_emitter = 0, rc = KE_OK, e2;
    sink s = {-1, 0};
    char *tmp = NULL;
    long bad;
    size_t n = strlen(path);

    tmp = malloc(n + sizeof ".XXXXXX");
    if (tmp == NULL) {
        rc = ke_error_set(err, KE_EIO, "cannot write run file %s: out of memory", path);
        goto out;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", sizeof ".XXXXXX");
    s.fd = mkstemp(tmp); /* in path's directory so rename() stays atomic */
    /* 0600 whatever the umask (runs inherit it, so it is left alone): the events are private. */
    if (s.fd >= 0 && fchmod(s.fd, 0600) != 0) {
        e2 = errno;
        close(s.fd);
        unlink(tmp);
        s.fd = -1;
        errno = e2;
    }
    if (s.fd < 0) {
        rc = ke_error_set(err, KE_EIO, "cannot write run file %s: %s", path, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    if (!yaml_emitter_initialize(&e)) {
        rc = ke_error_set(err, KE_EIO, "cannot write run file %s: out of memory", path);
        goto out;
    }
    have_emitter = 1;
    yaml_emitter_set_output(&e, sink_write, &s);
    yaml_emitter_set_encoding(&e, YAML_UTF8_ENCODING);
    yaml_emitter_set_unicode(&e, 1); /* raw UTF-8, escapes only where YAML needs them */
    yaml_emitter_set_width(&e, -1);  /* never fold a long value */
    yaml_emitter_set_break(&e, YAML_LN_BREAK);
    if (!emit_document(&e, p, &bad)) {
        rc = emit_error(path, p, &e, &s, bad, err);
        goto out;
    }
    if (close(s.fd) != 0) {
        s.fd = -1;
        rc = ke_error_set(err, KE_EIO, "cannot write run file %s: %s", path, strerror(errno));
        goto out;
    }
    s.fd = -1;
    if (rename(tmp, path) != 0) {
        rc = ke_error_set(err, KE_EIO, "cannot write run file %s: %s", path, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL; /* renamed: nothing left to remove */
out:
    if (have_emitter)
        yaml_emitter_delete(&e);
    if (s.fd >= 0)
        close(s.fd);
    if (tmp != NULL) {
        unlink(tmp);
        free(tmp);
    }
    return rc;
}
