/* send.c -- `kedro-events send`: builds one CloudEvent from flags, or reads a CloudEvents JSON
 * event or batch, dispatches it and shows the pipelines it started. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

static const char *const CMD_HELP =
    "Usage: %s send --source SOURCE --type TYPE [OPTIONS]\n"
    "       %s send --json FILE|- [OPTIONS]\n\n"
    "Sends one CloudEvent to kedro-eventd (Dispatch) and shows the pipelines it started; an\n"
    "event whose (source, id) was accepted before shows the pipelines it started then.\n\n"
    "The event:\n"
    "  --source SOURCE        the event's source (required without --json)\n"
    "  --type TYPE            the event's type (required without --json)\n"
    "  --id ID                the event's id (default: a new random UUID)\n"
    "  --data TEXT            text data\n"
    "  --data-file FILE|-     data read from FILE (- : standard input): text when it is UTF-8\n"
    "                         without NUL bytes and --content-type is absent, text/*, or JSON\n"
    "                         (application/json, *+json); else binary\n"
    "  --content-type TYPE    the datacontenttype attribute, e.g. application/json\n"
    "  --ext NAME[:KIND]=VALUE  an optional or extension attribute (repeatable), KIND one of\n"
    "                         string (default), boolean (true|false), integer (32-bit),\n"
    "                         uri, uriref, timestamp (RFC 3339), binary (base64);\n"
    "                         e.g. --ext subject=orders --ext time:timestamp=2018-04-05T17:31:00Z\n"
    "  --json FILE|-          send the event, or the batch (a JSON array: DispatchBatch), in\n"
    "                         the CloudEvents JSON format read from FILE instead\n\n"
    "Output:\n"
    "  on a terminal, a table (ID, NAME, STATE, CREATED); otherwise one line per pipeline:\n"
    "  id<TAB>name<TAB>state\n"
    "  --json-out             {\"pipelines\": [...], \"duplicate\": false} instead (a batch:\n"
    "                         {\"results\": [...]}, one per event)\n\n";

enum {
    OPT_SOURCE = CLI_OPT_FIRST_FREE,
    OPT_TYPE,
    OPT_ID,
    OPT_DATA,
    OPT_DATA_FILE,
    OPT_CONTENT_TYPE,
    OPT_EXT,
    OPT_JSON,
    OPT_JSON_OUT
};

/* What the flags asked for; strings point into argv. */
typedef struct send_args {
    const char *source;       /* --source, or NULL */
    const char *type;         /* --type, or NULL */
    const char *id;           /* --id, or NULL for a random one */
    const char *data;         /* --data, or NULL */
    const char *data_file;    /* --data-file, or NULL */
    const char *content_type; /* --content-type, or NULL */
    const char *json;         /* --json, or NULL */
    const char **exts;        /* n_exts --ext values, in order */
    size_t n_exts;            /* count of exts */
    int json_out;             /* --json-out */
} send_args;

/* Reads all of path ("-": standard input), at most max bytes, into a new NUL-terminated *buf
 * of *len bytes (free() it). On failure fills msg and returns -1. */
static int read_input(const char *path, size_t max, char **buf, size_t *len, char *msg,
                      size_t msg_size)
{
    int fd = -1, rc = -1;
    char *b = NULL, *grown;
    size_t n = 0, cap = 0;
    ssize_t got;

    *buf = NULL;
    *len = 0;
    fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, msg_size, "cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        if (cap - n < 2) {
            cap = cap == 0 ? 65536 : cap * 2;
            if (cap > max + 2)
                cap = max + 2; /* room for one byte past max, to see it, and the NUL */
            grown = realloc(b, cap);
            if (grown == NULL) {
                snprintf(msg, msg_size, "cannot read '%s': out of memory", path);
                goto out;
            }
            b = grown;
        }
        got = read(fd, b + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(msg, msg_size, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > max) {
            snprintf(msg, msg_size, "'%s' is larger than %zu bytes", path, max);
            goto out;
        }
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    b = NULL;
    rc = 0;
out:
    if (fd > STDIN_FILENO)
        close(fd);
    free(b);
    return rc;
}

/* 1 when s (len bytes) is well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) holding no NUL byte. */
static int is_utf8_text(const unsigned char *s, size_t len)
{
    size_t i = 0, k, n;
    uint32_t cp;

    while (i < len) {
        if (s[i] == 0)
            return 0;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if (s[i] >= 0xc2 && s[i] <= 0xdf) {
            n = 1;
            cp = s[i] & 0x1f;
        } else if (s[i] >= 0xe0 && s[i] <= 0xef) {
            n = 2;
            cp = s[i] & 0x0f;
        } else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
            n = 3;
            cp = s[i] & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* 1 when data of content type ct (NULL or "": absent) is sent as text if it can be: absent,
 * text/ *, application/json or a +json type, compared without case and parameters. */
static int is_text_type(const char *ct)
{
    size_t n;

    if (ct == NULL)
        return 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == 0)
        return 1;
    if (n >= 5 && strncasecmp(ct, "text/", 5) == 0)
        return 1;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

static int base64_value(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Decodes standard base64 (RFC 4648, padding optional) into a new *out of *len bytes (free()
 * it). Returns -1 for anything else, including stray bits in the last character. */
static int base64_decode(const char *s, uint8_t **out, size_t *len)
{
    size_t n = strlen(s), i, o = 0, pad = 0, digits;
    unsigned acc = 0;
    int bits = 0, v;
    uint8_t *b;

    *out = NULL;
    *len = 0;
    while (pad < 2 && n > pad && s[n - 1 - pad] == '=')
        pad++;
    digits = n - pad;
    if (digits % 4 == 1 || (pad > 0 && n % 4 != 0))
        return -1;
    b = malloc(digits / 4 * 3 + 3);
    if (b == NULL)
        return -1;
    for (i = 0; i < digits; i++) {
        v = base64_value((unsigned char)s[i]);
        if (v < 0) {
            free(b);
            return -1;
        }
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (uint8_t)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0) {
        free(b);
        return -1;
    }
    *out = b;
    *len = o;
    return 0;
}

/* Sets the attribute --ext spec (NAME[:KIND]=VALUE) on ev. Returns 0, or the exit code after
 * printing why spec is invalid. */
static int add_ext(kec_event *ev, const char *spec, const char *cmd)
{
    const char *eq = strchr(spec, '='), *colon, *kind = "string", *value;
    char *name = NULL;
    uint8_t *bytes = NULL;
    size_t len, kind_len = strlen("string");
    kec_error err;
    kec_time t;
    long long n;
    char *end;
    int rc = CLI_EXIT_USAGE, set;

    kec_error_clear(&err);
    if (eq == NULL)
        return cli_usage_error(cmd, "--ext '%s' is not NAME[:KIND]=VALUE", spec);
    colon = memchr(spec, ':', (size_t)(eq - spec));
    name = strndup(spec, (size_t)((colon != NULL ? colon : eq) - spec));
    if (name == NULL)
        return cli_usage_error(cmd, "--ext '%s': out of memory", spec);
    if (colon != NULL) {
        kind = colon + 1;
        kind_len = (size_t)(eq - kind);
    }
    value = eq + 1;
#define KIND_IS(k) (kind_len == strlen(k) && strncmp(kind, k, kind_len) == 0)
    if (KIND_IS("string")) {
        set = kec_event_set_string(ev, name, value, &err);
    } else if (KIND_IS("boolean")) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            cli_usage_error(cmd, "--ext %s: boolean '%s' is not true or false", name, value);
            goto out;
        }
        set = kec_event_set_boolean(ev, name, value[0] == 't', &err);
    } else if (KIND_IS("integer")) {
        errno = 0;
        n = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || n < INT32_MIN || n > INT32_MAX) {
            cli_usage_error(cmd, "--ext %s: '%s' is not an integer from %d to %d", name, value,
                            INT32_MIN, INT32_MAX);
            goto out;
        }
        set = kec_event_set_integer(ev, name, (int32_t)n, &err);
    } else if (KIND_IS("uri")) {
        set = kec_event_set_uri(ev, name, value, &err);
    } else if (KIND_IS("uriref")) {
        set = kec_event_set_uri_ref(ev, name, value, &err);
    } else if (KIND_IS("timestamp")) {
        if (kec_time_parse(value, &t, &err) != KEC_OK) {
            cli_usage_error(cmd, "--ext %s: %s", name, err.msg);
            goto out;
        }
        set = kec_event_set_time(ev, name, t, &err);
    } else if (KIND_IS("binary")) {
        if (base64_decode(value, &bytes, &len) != 0) {
            cli_usage_error(cmd, "--ext %s: '%.60s' is not base64", name, value);
            goto out;
        }
        set = kec_event_set_bytes(ev, name, bytes, len, &err);
    } else {
        cli_usage_error(cmd,
                        "--ext '%s': kind '%.*s' is not string, boolean, integer, uri, uriref, "
                        "timestamp or binary",
                        spec, (int)kind_len, kind);
        goto out;
    }
#undef KIND_IS
    if (set != KEC_OK) {
        cli_usage_error(cmd, "--ext '%s': %s", spec, err.msg);
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    free(bytes);
    free(name);
    return rc;
}

/* Builds the event the flags describe into *out. Returns an exit code. */
static int build_event(const send_args *a, const char *cmd, kec_event **out)
{
    kec_event *ev = NULL;
    const kec_attr *ct;
    kec_error err;
    char *buf = NULL, msg[600];
    size_t i, len;
    int rc;

    *out = NULL;
    kec_error_clear(&err);
    if (kec_event_new(a->id, a->source, a->type, &ev, &err) != KEC_OK ||
        (a->id != NULL && kec_event_set_id(ev, a->id, &err) != KEC_OK)) {
        fprintf(stderr, "%s %s: %s\n", cli_program, cmd, err.msg);
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    for (i = 0; i < a->n_exts; i++) {
        rc = add_ext(ev, a->exts[i], cmd);
        if (rc != CLI_EXIT_OK)
            goto out;
    }
    if (a->content_type != NULL &&
        kec_event_set_string(ev, "datacontenttype", a->content_type, &err) != KEC_OK) {
        rc = cli_usage_error(cmd, "--content-type: %s", err.msg);
        goto out;
    }
    if (a->data != NULL && kec_event_set_text_data(ev, a->data, strlen(a->data), &err) != KEC_OK) {
        rc = cli_usage_error(cmd, "--data: %s", err.msg);
        goto out;
    }
    if (a->data_file != NULL) {
        if (read_input(a->data_file, KEC_JSON_MAX_BYTES, &buf, &len, msg, sizeof msg) != 0) {
            fprintf(stderr, "%s %s: --data-file: %s\n", cli_program, cmd, msg);
            rc = CLI_EXIT_INPUT;
            goto out;
        }
        ct = kec_event_attr(ev, "datacontenttype");
        if (is_text_type(ct != NULL && ct->type == KEC_ATTR_STRING ? ct->text : NULL) &&
            is_utf8_text((const unsigned char *)buf, len))
            rc = kec_event_set_text_data(ev, buf, len, &err);
        else
            rc = kec_event_set_binary_data(ev, buf, len, &err);
        if (rc != KEC_OK) {
            fprintf(stderr, "%s %s: --data-file: %s\n", cli_program, cmd, err.msg);
            rc = CLI_EXIT_FAILED;
            goto out;
        }
    }
    *out = ev;
    ev = NULL;
    rc = CLI_EXIT_OK;
out:
    free(buf);
    kec_event_free(ev);
    return rc;
}

/* Reads --json into *events (*count of them; *is_batch for an array). Returns an exit code. */
static int read_json(const char *path, const char *cmd, kec_event ***events, size_t *count,
                     int *is_batch)
{
    char *buf = NULL, msg[600];
    size_t len;
    kec_error err;
    int rc = CLI_EXIT_OK;

    kec_error_clear(&err);
    if (read_input(path, KEC_JSON_MAX_BYTES, &buf, &len, msg, sizeof msg) != 0) {
        fprintf(stderr, "%s %s: --json: %s\n", cli_program, cmd, msg);
        return CLI_EXIT_INPUT;
    }
    if (kec_json_read(buf, len, events, count, is_batch, &err) != KEC_OK) {
        fprintf(stderr, "%s %s: --json '%s': %s\n", cli_program, cmd, path, err.msg);
        rc = err.code == KEC_ENOMEM ? CLI_EXIT_FAILED : CLI_EXIT_INPUT;
    }
    free(buf);
    return rc;
}

/* Prints a note about the answer: on a terminal to stdout, otherwise to stderr (so scripts
 * read only pipelines from stdout), prefixed with the program's name. */
static void note(int tty, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(int tty, const char *fmt, ...)
{
    va_list ap;

    if (!tty)
        fprintf(stderr, "%s send: ", cli_program);
    va_start(ap, fmt);
    vfprintf(tty ? stdout : stderr, fmt, ap);
    va_end(ap);
}

/* Shows one event's result: on a terminal a table, else id/name/state lines; notes for a
 * duplicate and for an event that matched nothing. */
static void show_result(const kec_event *ev, const kec_dispatch_result *r, int tty)
{
    size_t i;
    int w;

    if (r->duplicate)
        note(tty, "duplicate: this (source, id) was accepted before; these are the pipelines it "
                  "started\n");
    if (r->count == 0) {
        note(tty, "no pipeline matches source %s and type %s\n", kec_event_source(ev),
             kec_event_type(ev));
        return;
    }
    w = cli_name_width(r->pipelines, r->count);
    if (tty)
        cli_table_header(w);
    for (i = 0; i < r->count; i++)
        cli_pipeline_row(&r->pipelines[i], tty, w);
}

/* Prints kec_dispatch_result_to_json(r) (without a newline). Returns an exit code. */
static int print_result_json(const char *cmd, const kec_dispatch_result *r)
{
    char *s = kec_dispatch_result_to_json(r);

    if (s == NULL) {
        fprintf(stderr, "%s %s: cannot render the answer as JSON: out of memory\n", cli_program,
                cmd);
        return CLI_EXIT_FAILED;
    }
    fputs(s, stdout);
    free(s);
    return CLI_EXIT_OK;
}

/* Parses the flags into a. Returns -1 to go on, or the exit code to end with. */
static int parse_args(int argc, char **argv, send_args *a, kec_client_options *o)
{
    static const struct option longopts[] = {
        {"source", required_argument, NULL, OPT_SOURCE},
        {"type", required_argument, NULL, OPT_TYPE},
        {"id", required_argument, NULL, OPT_ID},
        {"data", required_argument, NULL, OPT_DATA},
        {"data-file", required_argument, NULL, OPT_DATA_FILE},
        {"content-type", required_argument, NULL, OPT_CONTENT_TYPE},
        {"ext", required_argument, NULL, OPT_EXT},
        {"json", required_argument, NULL, OPT_JSON},
        {"json-out", no_argument, NULL, OPT_JSON_OUT},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *cmd = argv[0];
    int opt, r;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        r = cli_common_option(opt, optarg, o, cmd);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        switch (opt) {
        case 'h':
            printf(CMD_HELP, cli_program, cli_program);
            fputs(CLI_COMMON_HELP, stdout);
            return cli_finish_output(cmd, CLI_EXIT_OK);
        case OPT_SOURCE:
            a->source = optarg;
            break;
        case OPT_TYPE:
            a->type = optarg;
            break;
        case OPT_ID:
            a->id = optarg;
            break;
        case OPT_DATA:
            a->data = optarg;
            break;
        case OPT_DATA_FILE:
            a->data_file = optarg;
            break;
        case OPT_CONTENT_TYPE:
            a->content_type = optarg;
            break;
        case OPT_EXT:
            a->exts[a->n_exts++] = optarg;
            break;
        case OPT_JSON:
            a->json = optarg;
            break;
        case OPT_JSON_OUT:
            a->json_out = 1;
            break;
        default:
            return cli_option_error(cmd, opt, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (a->json != NULL) {
        if (a->source != NULL || a->type != NULL || a->id != NULL || a->data != NULL ||
            a->data_file != NULL || a->content_type != NULL || a->n_exts > 0)
            return cli_usage_error(cmd, "--json reads the whole event: it excludes --source, "
                                        "--type, --id, --data, --data-file, --content-type "
                                        "and --ext");
        return -1;
    }
    if (a->source == NULL || a->type == NULL)
        return cli_usage_error(cmd, "--source and --type are required (or --json FILE)");
    if (a->data != NULL && a->data_file != NULL)
        return cli_usage_error(cmd, "--data and --data-file exclude each other");
    return -1;
}

int cli_send(int argc, char **argv)
{
    const char *cmd = argv[0];
    kec_client_options o;
    send_args a;
    kec_event **events = NULL;
    size_t count = 0, i;
    int is_batch = 0, rc, tty = isatty(STDOUT_FILENO);
    kec_client *c = NULL;
    kec_dispatch_result r, *results = NULL;
    kec_error err;

    memset(&a, 0, sizeof a);
    memset(&r, 0, sizeof r);
    kec_error_clear(&err);
    kec_client_options_init(&o);
    a.exts = calloc((size_t)argc, sizeof *a.exts);
    if (a.exts == NULL) {
        fprintf(stderr, "%s %s: out of memory\n", cli_program, cmd);
        return CLI_EXIT_FAILED;
    }
    rc = parse_args(argc, argv, &a, &o);
    if (rc >= 0)
        goto out;

    if (a.json != NULL) {
        rc = read_json(a.json, cmd, &events, &count, &is_batch);
    } else {
        events = calloc(1, sizeof *events);
        count = 1;
        rc = events == NULL ? CLI_EXIT_FAILED : build_event(&a, cmd, &events[0]);
        if (events == NULL)
            fprintf(stderr, "%s %s: out of memory\n", cli_program, cmd);
    }
    if (rc != CLI_EXIT_OK)
        goto out;

    rc = cli_connect(&o, cmd, &c);
    if (rc != CLI_EXIT_OK)
        goto out;
    if (is_batch) {
        if (kec_dispatch_batch(c, events, count, &results, &err) != KEC_OK) {
            rc = cli_report(cmd, c, &err);
            goto out;
        }
        if (a.json_out) {
            fputs("{\"results\":[", stdout);
            for (i = 0; i < count && rc == CLI_EXIT_OK; i++) {
                if (i > 0)
                    fputc(',', stdout);
                rc = print_result_json(cmd, &results[i]);
            }
            fputs("]}\n", stdout);
        } else {
            if (count == 0)
                note(tty, "the batch holds no events\n");
            for (i = 0; i < count; i++) {
                if (tty)
                    printf("%sevent %zu: source %s, id %s\n", i > 0 ? "\n" : "", i,
                           kec_event_source(events[i]), kec_event_id(events[i]));
                show_result(events[i], &results[i], tty);
            }
        }
    } else {
        if (kec_dispatch(c, events[0], &r, &err) != KEC_OK) {
            rc = cli_report(cmd, c, &err);
            goto out;
        }
        if (a.json_out) {
            rc = print_result_json(cmd, &r);
            fputc('\n', stdout);
        } else {
            show_result(events[0], &r, tty);
        }
    }
    rc = cli_finish_output(cmd, rc);
out:
    kec_dispatch_results_free(results, count);
    kec_dispatch_result_release(&r);
    kec_client_free(c);
    kec_events_free(events, count);
    free(a.exts);
    return rc;
}
