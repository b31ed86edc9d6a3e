/* read.c -- `kedro-events get`, `list` and `watch`: reading pipelines back from kedro-eventd. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "kec_text.h" /* kec_json_parse */

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 100000
#define LIST_PAGE_MAX 1000       /* the server's largest page */
#define WATCH_MAX_INTERVAL 86400 /* seconds */

enum {
    OPT_JSON_OUT = CLI_OPT_FIRST_FREE,
    OPT_NAME,
    OPT_PARENT,
    OPT_STATE,
    OPT_LIMIT,
    OPT_INTERVAL,
    OPT_ALL
};

/* ---- printing one pipeline ----------------------------------------------------------------- */

/* Prints text; its lines after the first are indented by indent spaces. */
static void print_lines(int indent, const char *text)
{
    size_t n;

    for (;;) {
        n = strcspn(text, "\n");
        printf("%.*s\n", (int)n, text);
        if (text[n] == '\0')
            return;
        text += n + 1;
        printf("%*s", indent, "");
    }
}

/* Prints text after a label padded to width, further lines of text indented to match. */
static void print_field(int width, const char *label, const char *text)
{
    printf("%-*s", width, label);
    print_lines(width, text);
}

static void print_time_field(int width, const char *label, kec_time t)
{
    char buf[KEC_TIME_TEXT_MAX];

    if (t.set)
        print_field(width, label, kec_time_format(t, buf));
}

/* Prints "<changed_at>  <STATE>" and, for a final state, how the run ended. */
static void print_status_line(const char *indent, const kec_status *s)
{
    char when[KEC_TIME_TEXT_MAX] = "-";
    int final = kec_state_is_final(s->state);

    if (s->changed_at.set)
        kec_time_format(s->changed_at, when);
    printf("%s%s  %s", indent, when, kec_state_name(s->state));
    if (final && s->has_exit_code)
        printf("  exit %d", s->exit_code);
    else if (final && s->has_signal)
        printf("  signal %d", s->signal);
    if (final && s->error[0] != '\0')
        printf("  %.*s", (int)strcspn(s->error, "\n"), s->error);
    putchar('\n');
}

/* The human view of `get`. */
static void print_pipeline(const kec_pipeline *p)
{
    const kec_status *cur = p->n_status > 0 ? &p->status[p->n_status - 1] : NULL;
    const int w = 12;
    char num[32];
    size_t i;

    print_field(w, "id:", p->id);
    print_field(w, "name:", p->name);
    print_field(w, "parent:", p->parent[0] != '\0' ? p->parent : "-");
    if (p->kedro_graphql_id[0] != '\0')
        print_field(w, "graphql id:", p->kedro_graphql_id);
    print_time_field(w, "created:", p->created_at);
    print_field(w, "state:", kec_state_name(kec_pipeline_state(p)));
    printf("parameters:%s\n", p->n_params == 0 ? " -" : "");
    for (i = 0; i < p->n_params; i++) {
        printf("  %s (%s): ", p->params[i].name, p->params[i].type);
        print_lines(4, p->params[i].value);
    }
    printf("tags:%s\n", p->n_tags == 0 ? " -" : "");
    for (i = 0; i < p->n_tags; i++)
        printf("  %s: %s\n", p->tags[i].key, p->tags[i].value);
    printf("status:%s\n", p->n_status == 0 ? " -" : "");
    for (i = 0; i < p->n_status; i++)
        print_status_line("  ", &p->status[i]);
    if (cur == NULL)
        return;
    if (cur->runner[0] != '\0')
        print_field(w, "runner:", cur->runner);
    print_time_field(w, "started:", cur->started_at);
    print_time_field(w, "finished:", cur->finished_at);
    if (cur->has_exit_code) {
        snprintf(num, sizeof num, "%d", cur->exit_code);
        print_field(w, "exit code:", num);
    }
    if (cur->has_signal) {
        snprintf(num, sizeof num, "%d", cur->signal);
        print_field(w, "signal:", num);
    }
    if (cur->error[0] != '\0')
        print_field(w, "error:", cur->error);
    if (cur->log_path[0] != '\0')
        print_field(w, "log:", cur->log_path);
}

/* Prints kec_pipeline_to_json(p) (no newline). Returns an exit code. */
static int print_pipeline_json(const char *cmd, const kec_pipeline *p)
{
    char *s = kec_pipeline_to_json(p);

    if (s == NULL) {
        fprintf(stderr, "%s %s: cannot render pipeline %s as JSON: out of memory\n", cli_program,
                cmd, p->id);
        return CLI_EXIT_FAILED;
    }
    fputs(s, stdout);
    free(s);
    return CLI_EXIT_OK;
}

/* ---- flags --------------------------------------------------------------------------------- */

/* What get, list and watch accept; strings point into argv. */
typedef struct read_args {
    const char *id;     /* get, watch: the pipeline */
    const char *name;   /* list --name */
    const char *parent; /* list --parent */
    kec_state state;    /* list --state, or KEC_STATE_UNSPECIFIED */
    long limit;         /* list --limit */
    double interval;    /* watch --interval, seconds (accepted; the watch streams now) */
    int all;            /* watch --all: WatchPipelines */
    int json_out;       /* --json-out */
} read_args;

static const struct option get_options[] = {
    {"json-out", no_argument, NULL, OPT_JSON_OUT}, CLI_COMMON_LONG_OPTIONS, {NULL, 0, NULL, 0}};

static const struct option list_options[] = {{"json-out", no_argument, NULL, OPT_JSON_OUT},
                                             {"name", required_argument, NULL, OPT_NAME},
                                             {"parent", required_argument, NULL, OPT_PARENT},
                                             {"state", required_argument, NULL, OPT_STATE},
                                             {"limit", required_argument, NULL, OPT_LIMIT},
                                             CLI_COMMON_LONG_OPTIONS,
                                             {NULL, 0, NULL, 0}};

static const struct option watch_options[] = {{"json-out", no_argument, NULL, OPT_JSON_OUT},
                                              {"interval", required_argument, NULL, OPT_INTERVAL},
                                              {"all", no_argument, NULL, OPT_ALL},
                                              {"name", required_argument, NULL, OPT_NAME},
                                              {"parent", required_argument, NULL, OPT_PARENT},
                                              {"state", required_argument, NULL, OPT_STATE},
                                              CLI_COMMON_LONG_OPTIONS,
                                              {NULL, 0, NULL, 0}};

static const char *const GET_HELP =
    "Usage: %s get ID [OPTIONS]\n\n"
    "Shows one pipeline: its name, parent, kedro-graphql's id once forwarded there, parameters,\n"
    "tags, status history, and how its run ended (exit code or signal, error, log file).\n\n"
    "  --json-out             the pipeline as one JSON object instead\n\n";

static const char *const LIST_HELP =
    "Usage: %s list [OPTIONS]\n\n"
    "Lists pipelines, newest first: on a terminal a table (ID, NAME, STATE, CREATED), otherwise\n"
    "one line per pipeline: id<TAB>name<TAB>state.\n\n"
    "  --name NAME            only pipelines named NAME\n"
    "  --parent ID            only children of pipeline ID\n"
    "  --state STATE          only pipelines now in STATE: STAGED, READY, STARTED, SUCCESS,\n"
    "                         FAILURE or ABORTED (any case)\n"
    "  --limit N              show at most N, 1 to 100000 (default 50)\n"
    "  --json-out             {\"pipelines\": [...]} instead\n\n";

static const char *const WATCH_HELP =
    "Usage: %s watch ID [OPTIONS]\n"
    "       %s watch --all [--name NAME] [--state STATE] [--parent ID] [--json-out]\n\n"
    "Follows a pipeline until its run ends (a WatchPipeline stream: no polling), printing each\n"
    "state it enters as \"<changed_at>  <STATE>\" (with the exit code or signal and the error's\n"
    "first line once it ends). Exits 0 when it ends in SUCCESS, 1 in FAILURE or ABORTED; 130 on\n"
    "Ctrl-C.\n"
    "With --all (WatchPipelines), prints every pipeline whose state changes from now on as\n"
    "id<TAB>name<TAB>state, until interrupted (exit 130).\n\n"
    "  --json-out             watch ID: each status entry as one JSON object per line;\n"
    "                         --all: each pipeline record as one JSON object per line\n"
    "  --name NAME            --all: only pipelines named NAME\n"
    "  --state STATE          --all: only changes into STATE (READY, STARTED, SUCCESS, ...)\n"
    "  --parent ID            --all: only children of pipeline ID\n"
    "  --interval SECONDS     accepted for older scripts; ignored (the server streams changes)\n\n";

/* Parses argv for cmd ("get", "list" or "watch"). Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, const struct option *longopts, const char *help,
                      read_args *a, kec_client_options *o)
{
    const char *cmd = argv[0];
    char *end;
    int opt, r, st;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        r = cli_common_option(opt, optarg, o, cmd);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        switch (opt) {
        case 'h':
            printf(help, cli_program, cli_program);
            fputs(CLI_COMMON_HELP, stdout);
            return cli_finish_output(cmd, CLI_EXIT_OK);
        case OPT_JSON_OUT:
            a->json_out = 1;
            break;
        case OPT_NAME:
            a->name = optarg;
            break;
        case OPT_PARENT:
            a->parent = optarg;
            break;
        case OPT_STATE:
            st = kec_state_parse(optarg);
            if (st < 0)
                return cli_usage_error(cmd,
                                       "--state '%s' is not one of STAGED, READY, STARTED, "
                                       "SUCCESS, FAILURE, ABORTED",
                                       optarg);
            a->state = (kec_state)st;
            break;
        case OPT_LIMIT:
            errno = 0;
            a->limit = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || a->limit < 1 ||
                a->limit > LIST_MAX_LIMIT)
                return cli_usage_error(cmd, "--limit '%s' is not a number from 1 to %d", optarg,
                                       LIST_MAX_LIMIT);
            break;
        case OPT_INTERVAL:
            errno = 0;
            a->interval = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !isfinite(a->interval) ||
                a->interval <= 0 || a->interval > WATCH_MAX_INTERVAL)
                return cli_usage_error(cmd, "--interval '%s' is not a number of seconds in (0, %d]",
                                       optarg, WATCH_MAX_INTERVAL);
            break;
        case OPT_ALL:
            a->all = 1;
            break;
        default:
            return cli_option_error(cmd, opt, argv);
        }
    }
    if (longopts == watch_options && !a->all && (a->name || a->parent || a->state))
        return cli_usage_error(cmd, "--name, --state and --parent go with --all");
    if (longopts == list_options || (longopts == watch_options && a->all)) {
        if (optind < argc)
            return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (optind >= argc)
        return cli_usage_error(cmd, "the pipeline ID is missing");
    if (argv[optind][0] == '\0')
        return cli_usage_error(cmd, "the pipeline ID is empty");
    if (optind + 1 < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    a->id = argv[optind];
    return -1;
}

static void read_args_init(read_args *a)
{
    memset(a, 0, sizeof *a);
    a->state = KEC_STATE_UNSPECIFIED;
    a->limit = LIST_DEFAULT_LIMIT;
    a->interval = 1.0;
}

/* ---- get ----------------------------------------------------------------------------------- */

int cli_get(int argc, char **argv)
{
    const char *cmd = argv[0];
    kec_client_options o;
    kec_client *c = NULL;
    kec_pipeline p;
    kec_error err;
    read_args a;
    int rc;

    memset(&p, 0, sizeof p);
    kec_error_clear(&err);
    kec_client_options_init(&o);
    read_args_init(&a);
    rc = parse_args(argc, argv, get_options, GET_HELP, &a, &o);
    if (rc >= 0)
        return rc;
    rc = cli_connect(&o, cmd, &c);
    if (rc != CLI_EXIT_OK)
        goto out;
    if (kec_get_pipeline(c, a.id, &p, &err) != KEC_OK) {
        rc = cli_report(cmd, c, &err);
        goto out;
    }
    if (a.json_out) {
        rc = print_pipeline_json(cmd, &p);
        putchar('\n');
    } else {
        print_pipeline(&p);
    }
    rc = cli_finish_output(cmd, rc);
out:
    kec_pipeline_release(&p);
    kec_client_free(c);
    return rc;
}

/* ---- list ---------------------------------------------------------------------------------- */

int cli_list(int argc, char **argv)
{
    const char *cmd = argv[0];
    kec_client_options o;
    kec_client *c = NULL;
    kec_list_query q;
    kec_pipeline_page page;
    kec_error err;
    read_args a;
    char *token = NULL;
    size_t shown = 0, i, n;
    int rc, tty = isatty(STDOUT_FILENO), width = 0, started = 0;

    memset(&page, 0, sizeof page);
    kec_error_clear(&err);
    kec_client_options_init(&o);
    read_args_init(&a);
    rc = parse_args(argc, argv, list_options, LIST_HELP, &a, &o);
    if (rc >= 0)
        return rc;
    rc = cli_connect(&o, cmd, &c);
    if (rc != CLI_EXIT_OK)
        goto out;
    memset(&q, 0, sizeof q);
    q.name = a.name;
    q.parent = a.parent;
    q.state = a.state;
    /* Pages are printed as they come, so a long listing never sits in memory whole. */
    do {
        n = (size_t)a.limit - shown;
        q.page_size = n < LIST_PAGE_MAX ? (int)n : LIST_PAGE_MAX;
        q.page_token = token;
        if (kec_list_pipelines(c, &q, &page, &err) != KEC_OK) {
            rc = cli_report(cmd, c, &err);
            goto out;
        }
        if (!started && a.json_out) {
            fputs("{\"pipelines\":[", stdout);
            started = 1;
        } else if (!started && tty && page.count > 0) {
            width = cli_name_width(page.pipelines, page.count);
            cli_table_header(width);
            started = 1;
        }
        for (i = 0; i < page.count && shown < (size_t)a.limit; i++, shown++) {
            if (!a.json_out) {
                cli_pipeline_row(&page.pipelines[i], tty, width);
                continue;
            }
            if (shown > 0)
                fputc(',', stdout);
            rc = print_pipeline_json(cmd, &page.pipelines[i]);
            if (rc != CLI_EXIT_OK)
                goto out;
        }
        free(token);
        token = page.next_page_token; /* taken over from the page */
        page.next_page_token = NULL;
        kec_pipeline_page_release(&page);
        if (token == NULL) {
            fprintf(stderr, "%s %s: out of memory\n", cli_program, cmd);
            rc = CLI_EXIT_FAILED;
            goto out;
        }
    } while (shown < (size_t)a.limit && token[0] != '\0');
    if (a.json_out)
        fputs("]}\n", stdout);
    else if (tty && shown == 0)
        puts("no pipelines");
    rc = cli_finish_output(cmd, rc);
out:
    kec_pipeline_page_release(&page);
    free(token);
    kec_client_free(c);
    return rc;
}

/* ---- watch --------------------------------------------------------------------------------- */

/* Prints status entry i of p as one JSON object: the entry kec_pipeline_to_json renders. */
static int print_status_json(const char *cmd, const kec_pipeline *p, size_t i)
{
    char *text = kec_pipeline_to_json(p), *entry = NULL;
    cJSON *root = NULL;
    int rc = CLI_EXIT_FAILED;

    if (text != NULL)
        kec_json_parse(text, strlen(text), KEC_JSON_MAX_DEPTH + KEC_JSON_ENVELOPE_DEPTH, 0, &root,
                       NULL);
    if (root != NULL)
        entry = cJSON_PrintUnformatted(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "status"), (int)i));
    if (entry == NULL) {
        fprintf(stderr, "%s %s: cannot render the status of pipeline %s as JSON\n", cli_program,
                cmd, p->id);
    } else {
        printf("%s\n", entry);
        rc = CLI_EXIT_OK;
    }
    cJSON_free(entry);
    cJSON_Delete(root);
    free(text);
    return rc;
}

/* One streamed watch: what was printed, and how it ended. */
typedef struct watch_state {
    const char *cmd; /* "watch" */
    int json_out;    /* --json-out */
    int all;         /* --all */
    size_t printed;  /* status entries printed (watch ID) */
    kec_state last;  /* the last record's state */
    int failed;      /* printing failed */
    int done;        /* the stream ended */
    int rc;          /* its code */
    kec_error err;   /* its error */
    pthread_t main;  /* woken with SIGUSR1 at the end */
} watch_state;

/* watch --all: one record as a line or a JSON object. */
static int print_record(watch_state *w, const kec_pipeline *p)
{
    char *text;

    if (!w->json_out) {
        printf("%s\t%s\t%s\n", p->id, p->name, kec_state_name(kec_pipeline_state(p)));
        return CLI_EXIT_OK;
    }
    text = kec_pipeline_to_json(p);
    if (text == NULL) {
        fprintf(stderr, "%s %s: cannot render pipeline %s as JSON\n", cli_program, w->cmd, p->id);
        return CLI_EXIT_FAILED;
    }
    printf("%s\n", text);
    free(text);
    return CLI_EXIT_OK;
}

/* Each record of the stream (the client's thread): the status entries not printed yet. */
static int on_watch_record(void *ctx, const kec_pipeline *p)
{
    watch_state *w = ctx;
    size_t i;

    if (w->all) {
        w->failed = print_record(w, p) != CLI_EXIT_OK;
    } else {
        for (i = w->printed; i < p->n_status && !w->failed; i++) {
            if (!w->json_out)
                print_status_line("", &p->status[i]);
            else
                w->failed = print_status_json(w->cmd, p, i) != CLI_EXIT_OK;
        }
        if (p->n_status > w->printed)
            w->printed = p->n_status;
    }
    w->last = kec_pipeline_state(p);
    fflush(stdout);
    return w->failed;
}

static void on_watch_done(void *ctx, int rc, const kec_error *err)
{
    watch_state *w = ctx;

    w->rc = rc;
    if (rc != KEC_OK)
        w->err = *err;
    w->done = 1;
    pthread_kill(w->main, SIGUSR1);
}

int cli_watch(int argc, char **argv)
{
    const char *cmd = argv[0];
    kec_watch_filter f = {NULL, KEC_STATE_UNSPECIFIED, NULL};
    kec_client_options o;
    kec_client *c = NULL;
    kec_stream *s = NULL;
    watch_state w;
    kec_error err;
    read_args a;
    sigset_t stop, old;
    int rc, sig = 0;

    memset(&w, 0, sizeof w);
    kec_error_clear(&err);
    kec_client_options_init(&o);
    read_args_init(&a);
    rc = parse_args(argc, argv, watch_options, WATCH_HELP, &a, &o);
    if (rc >= 0)
        return rc;
    w.cmd = cmd;
    w.json_out = a.json_out;
    w.all = a.all;
    w.main = pthread_self();
    /* blocked before the client starts its threads (they inherit the mask): SIGINT/SIGTERM
     * and the end's SIGUSR1 all wait for sigwait below */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    rc = cli_connect(&o, cmd, &c);
    if (rc != CLI_EXIT_OK)
        goto out;
    f.name = a.name;
    f.parent = a.parent;
    f.state = a.state;
    if ((a.all ? kec_watch_pipelines_start(c, &f, on_watch_record, on_watch_done, &w, &s, &err)
               : kec_watch_pipeline_start(c, a.id, on_watch_record, on_watch_done, &w, &s, &err)) !=
        KEC_OK) {
        rc = cli_report(cmd, c, &err);
        goto out;
    }
    while (sigwait(&stop, &sig) != 0 || (sig == SIGUSR1 && !w.done))
        ;
    if (sig != SIGUSR1)
        rc = 128 + sig;
    else if (w.rc != KEC_OK)
        rc = cli_report(cmd, c, &w.err);
    else if (w.failed)
        rc = CLI_EXIT_FAILED;
    else if (a.all)
        rc = cli_finish_output(cmd, CLI_EXIT_OK);
    else
        rc = cli_finish_output(cmd, w.last == KEC_STATE_SUCCESS ? CLI_EXIT_OK : CLI_EXIT_FAILED);
    kec_stream_free(s); /* an interrupted watch is cancelled; its end follows */
    kec_client_free(c); /* waits for the stream's last callback */
    c = NULL;
    if (sig != SIGUSR1) { /* take the end's SIGUSR1 before it is unblocked */
        struct timespec now = {0, 0};
        sigset_t usr1;

        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        while (sigtimedwait(&usr1, NULL, &now) > 0)
            ;
    }
out:
    kec_client_free(c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- shared with actions.c (cli.h) --------------------------------------------------------- */

void cli_print_pipeline(const kec_pipeline *p)
{
    print_pipeline(p);
}

int cli_print_pipeline_json(const char *cmd, const kec_pipeline *p)
{
    return print_pipeline_json(cmd, p);
}
