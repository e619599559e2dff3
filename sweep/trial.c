/* trial.c: the trial run of a sweep (see trial.h). */
#include "sweep/trial.h"

#include "core/clock.h"
#include "core/files.h"
#include "core/signals.h"
#include "core/status.h"
#include "sweep/cell.h"
#include "sweep/spawn.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void remove_trial(const char *dir)
{
    static const char *const files[] = {"config.json", "log.csv", "final.json", "checkpoint.bin",
                                        "checkpoint.bin.tmp", "train.out", "cell.json",
                                        "steps.csv", NULL};
    char p[PATH_MAX * 2];
    for (int i = 0; files[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Waits for the trial, stopping it when a signal arrives; its resources in *use. */
static int wait_trial(pid_t pid, int sig, int *st, struct rusage *use)
{
    memset(use, 0, sizeof *use);
    while (wait4(pid, st, 0, use) < 0) {
        if (errno != EINTR)
            return mt_error(MT_ERR_LIB, "waiting for the trial run: %s", strerror(errno));
        if (mt_signals_pending())
            mt_spawn_stop(pid, sig);
    }
    return MT_OK;
}

int mt_sweep_trial(const mt_sweep_spec *s, const mt_sweep_cell *c, const char *dir,
                   const char *exe, int threads, int steps, const char *const *extra,
                   mt_sweep_cost *cost)
{
    char tdir[PATH_MAX + 16], log[PATH_MAX + 32], nsteps[16];
    snprintf(tdir, sizeof tdir, "%s/.trial", dir);
    snprintf(log, sizeof log, "%s/train.out", tdir);
    remove_trial(tdir);
    int rc = mt_mkdirs(tdir);
    if (rc != MT_OK)
        return rc;
    char *argv[MT_CELL_ARGV_CAP];
    char buf[MT_CELL_ARGBUF_CAP];
    int n_extra = 0;
    while (extra && extra[n_extra])
        n_extra++;
    int n = mt_cell_argv(s, c, MT_CELL_FRESH, exe, tdir, threads, argv,
                         MT_CELL_ARGV_CAP - 4 - n_extra, buf, sizeof buf);
    if (n < 0)
        return n;
    for (int i = 0; i < n_extra; i++)
        argv[n++] = (char *)extra[i];
    snprintf(nsteps, sizeof nsteps, "%d", steps);
    argv[n++] = "--stop-after";
    argv[n++] = nsteps;
    argv[n] = NULL;
    memset(cost, 0, sizeof *cost);
    double t0 = mt_now();
    pid_t pid;
    if ((rc = mt_spawn(&pid, argv, log)) != MT_OK)
        return rc;
    int st;
    struct rusage use; /* the trial's peak resident size */
    if ((rc = wait_trial(pid, mt_sweep_stop_signal(s), &st, &use)) != MT_OK)
        return rc;
    double wall = mt_now() - t0;
    uint64_t peak = (uint64_t)use.ru_maxrss * 1024; /* Linux: kilobytes */
    cost->peak_bytes = peak;
    if (mt_signals_pending()) {
        remove_trial(tdir);
        return mt_error(MT_ERR_INTERRUPTED, "stopped by %s during the trial run; nothing trained yet",
                        mt_signal_name(mt_signals_pending()));
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    /* mutau train's exit codes: 0 done, 3 diverged, 4 stopped (--stop-after). */
    if (code != 0 && code != 3 && code != 4) {
        char line[1024], how[96];
        mt_cell_last_line(log, line, sizeof line);
        mt_spawn_describe(st, how, sizeof how);
        remove_trial(tdir);
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
            return mt_error(MT_ERR_NOMEM, "the trial run of %s was killed by SIGKILL at %.1f GB "
                                          "(the kernel's out-of-memory killer sends it): one cell "
                                          "of these settings does not fit in memory",
                            c->name, peak / 1e9);
        /* 127: the program (a launcher) could not be started. */
        return mt_error(code == 2 || code == 127 ? MT_ERR_ARG : MT_ERR_LIB,
                        "the cells' settings do not train (trial run of %s: %s): %s", c->name, how,
                        line[0] ? line : "no message");
    }
    rc = mt_sweep_cost_read(tdir, wall, cost);
    if (rc == MT_OK && peak > cost->peak_bytes)
        cost->peak_bytes = peak;
    remove_trial(tdir);
    return rc;
}
