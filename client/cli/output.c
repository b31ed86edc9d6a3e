/* output.c -- how kedro-events prints lists of pipelines: a table for people, tab-separated
 * lines for scripts, and making sure what was printed reached stdout. */
#include <errno.h>
#include <string.h>

#include "cli.h"

#define NAME_WIDTH_MAX 40 /* longer names widen their own row only */

int cli_name_width(const kec_pipeline *ps, size_t n)
{
    size_t i, w = strlen("NAME");

    for (i = 0; i < n; i++)
        if (strlen(ps[i].name) > w)
            w = strlen(ps[i].name);
    return w > NAME_WIDTH_MAX ? NAME_WIDTH_MAX : (int)w;
}

void cli_table_header(int name_width)
{
    printf("%-36s  %-*s  %-7s  %s\n", "ID", name_width, "NAME", "STATE", "CREATED");
}

void cli_pipeline_row(const kec_pipeline *p, int table, int name_width)
{
    char created[KEC_TIME_TEXT_MAX] = "-";
    kec_time t = p->created_at;

    if (!table) {
        printf("%s\t%s\t%s\n", p->id, p->name, kec_state_name(kec_pipeline_state(p)));
        return;
    }
    if (t.set) {
        t.nanos = 0; /* a table shows seconds; --json-out and `get` show the full time */
        kec_time_format(t, created);
    }
    printf("%-36s  %-*s  %-7s  %s\n", p->id, name_width, p->name,
           kec_state_name(kec_pipeline_state(p)), created);
}

int cli_finish_output(const char *cmd, int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s %s: cannot write the output: %s\n", cli_program, cmd,
                strerror(errno != 0 ? errno : EIO));
        return rc != CLI_EXIT_OK ? rc : CLI_EXIT_FAILED;
    }
    return rc;
}
