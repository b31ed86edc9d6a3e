/* supervise_child.c -- what kedro-eventd's and the supervisor's children do between fork and
 * exec: async-signal-safe calls only. */
#include "supervise.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void ke_child_reset_signals(void)
{
    struct sigaction dfl;
    sigset_t none;
    int sig;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* the C library's own signals refuse: fine */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* write(2) of a NUL-terminated string; a failure has nowhere to go. */
static void child_write(int fd, const char *s)
{
    ssize_t w = write(fd, s, strlen(s));

    (void)w;
}

_Noreturn void ke_child_fail(int report_fd, int stage, int e, const char *what, const char *subject)
{
    const char *desc = strerrordesc_np(e);
    ke_child_report r;
    ssize_t w;

    child_write(2, "kedro-eventd: cannot ");
    child_write(2, what);
    child_write(2, " \"");
    child_write(2, subject);
    child_write(2, "\": ");
    child_write(2, desc != NULL ? desc : "unknown error");
    child_write(2, "\n");
    r.stage = stage;
    r.err = e;
    w = write(report_fd, &r, sizeof r);
    (void)w;
    _exit(KE_CHILD_EXIT);
}

int ke_child_exec(char *const exe[], char *const argv[], char *const envp[])
{
    int e = ENOENT, eacces = 0;
    size_t i;

    for (i = 0; exe[i] != NULL; i++) {
        execve(exe[i], argv, envp);
        e = errno;
        if (e == EACCES)
            eacces = 1;
        else if (e != ENOENT && e != ENOTDIR && e != ESTALE && e != ENODEV && e != ETIMEDOUT)
            return e;
    }
    return eacces ? EACCES : e;
}
