/* kec_log.h -- the daemons' log on stderr (client/log.c), shared by kedro-eventd and
 * kedro-event-shim: one line a message, as text ("PROGRAM: message", the lines they have always
 * written) or as one JSON object a line (--log-format json). Each line goes out in one write(2)
 * under a lock, so lines of different threads never interleave. */
#ifndef KEC_LOG_H
#define KEC_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* The formats of --log-format. */
typedef enum kec_log_format {
    KEC_LOG_TEXT, /* "PROGRAM: message" (the default) */
    KEC_LOG_JSON  /* {"time":..., "level":..., "program":..., "message":..., fields...} */
} kec_log_format;

/* Levels (the JSON "level": debug, info, warning, error). */
#define KEC_LOG_DEBUG 0
#define KEC_LOG_INFO 1
#define KEC_LOG_WARNING 2
#define KEC_LOG_ERROR 3
/* Or'ed into a level: the text line says "warning: " before the message, as the lines that
 * have always said it do (JSON has the level instead). */
#define KEC_LOG_SAY_WARNING 0x100
/* A warning whose text line starts "PROGRAM: warning: ". */
#define KEC_LOG_WARN (KEC_LOG_WARNING | KEC_LOG_SAY_WARNING)

/* Messages longer than this are cut (JSON: and end with "..."). */
#define KEC_LOG_MAX_MESSAGE 65536

/* A field of a JSON line beside the message (e.g. {"pipeline_id", id}); text lines leave
 * fields out. A NULL value leaves the field out. */
typedef struct kec_log_field {
    const char *key;   /* the member name, e.g. "pipeline_id" */
    const char *value; /* its value (any bytes: invalid UTF-8 is replaced), or NULL */
} kec_log_field;

/* Sets the program name lines carry (a string that outlives every log call) and the format.
 * Call it once in main before other threads start; until then lines are text from
 * "kedro-events". */
void kec_log_setup(const char *program, kec_log_format format);

/* Reads a --log-format value ("text" or "json") into *out; 0, or -1 when name is neither. */
int kec_log_format_parse(const char *name, kec_log_format *out);

/* Logs one line at level (KEC_LOG_* or'ed with KEC_LOG_SAY_WARNING) from a printf format.
 * A trailing newline of the message is dropped. Never fails: out of memory, the JSON line
 * says so instead of the message. Thread-safe. */
void kec_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* kec_log with n fields for the JSON line. */
void kec_log_fields(int level, const kec_log_field *fields, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* kec_log_fields with a va_list. */
void kec_logv(int level, const kec_log_field *fields, size_t n, const char *fmt, va_list ap);

#endif
