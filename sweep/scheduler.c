/* scheduler.c: running a sweep's cells J at a time (see scheduler.h). */
#include "sweep/scheduler.h"

#include "core/clock.h"
#include "core/meminfo.h"
#include "core/signals.h"
#include "core/status.h"
#include "sweep/results.h"
#include "sweep/spawn.h"
#include "sweep/sweepdir.h"
#include "trainer/config.h"

#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;  /* 0: free */
    int cell;
    double t0;
} slot;

static double cpu_seconds(const struct rusage *u)
{
    return (double)u->ru_utime.tv_sec + 1e-6 * (double)u->ru_utime.tv_usec +
           (double)u->ru_stime.tv_sec + 1e-6 * (double)u->ru_stime.tv_usec;
}

/* The child in slot j ended with wait status st: records and shows how. */
static void finish_cell(const mt_sweep_slots *sl, const slot *sj, enum mt_cell_state was, int st,
                        const struct rusage *use, int stopping, mt_sweep_progress *p,
                        int *refused)
{
    mt_sweep_cell c;
    mt_sweep_cell_at(sl->spec, sj->cell, &c);
    char how[96], line[1024], log[PATH_MAX * 2 + 16], event[PATH_MAX * 3 + 1400];
    mt_spawn_describe(st, how, sizeof how);
    snprintf(log, sizeof log, "%s/%s/train.out", sl->dir, c.name);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    double secs = mt_now() - sj->t0, cpu = cpu_seconds(use);
    /* mutau train's exit codes: 0 done, 2 bad settings, 3 diverged, 4 stopped. */
    if (code == 0 || code == 3) {
        mt_sweep_result r;
        mt_sweep_result_read(sl->spec, &c, sl->dir, &r);
        mt_cell_record(sl->dir, &c, code == 0 ? "completed" : "diverged", r.message, cpu);
        char peak[32];
        mt_mem_format(peak, sizeof peak, (uint64_t)use->ru_maxrss * 1024);
        if (code == 0)
            snprintf(event, sizeof event,
                     "%s: completed, test top-1 %.2f%% (%.0f s, %.0f s CPU, peak %s)", c.name,
                     100 * r.final_top1, secs, cpu, peak);
        else
            snprintf(event, sizeof event, "%s: diverged: %s", c.name, r.message);
        mt_sweep_result_free(&r);
        p->finished++;
        p->diverged += code == 3;
        if (was == MT_CELL_FRESH) {
            p->measured_sum += secs;
            p->measured_n++;
        }
    } else if (code == 4 && stopping) {
        mt_cell_record(sl->dir, &c, "interrupted", "stopped with the sweep", cpu);
        snprintf(event, sizeof event, "%s: stopped, checkpoint saved", c.name);
    } else if (stopping && ((WIFSIGNALED(st) && WTERMSIG(st) == mt_sweep_stop_signal(sl->spec)) ||
                            (sl->spec->transport[0] && code != 2))) {
        /* Asked to stop while it was still starting, before train's own
         * handler was in place (over MPI: a rank ended by SIGUSR1 makes
         * mpirun exit non-zero): not a failure; the rerun resumes it, or
         * starts it again. */
        mt_cell_record(sl->dir, &c, "interrupted", "stopped with the sweep while starting", cpu);
        snprintf(event, sizeof event, "%s: stopped while starting (no checkpoint yet)", c.name);
    } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
        /* Killed from outside (the OOM killer, a user): not the cell's
         * failure. Its last checkpoint stands; the rerun resumes from it. */
        mt_cell_record(sl->dir, &c, "interrupted",
                       "killed by SIGKILL; a rerun of the sweep resumes it from its checkpoint",
                       cpu);
        snprintf(event, sizeof event, "%s: killed by SIGKILL, interrupted (a rerun resumes it)",
                 c.name);
    } else {
        mt_cell_last_line(log, line, sizeof line);
        char msg[1200];
        snprintf(msg, sizeof msg, "%s: %s", how, line[0] ? line : "no message");
        mt_cell_record(sl->dir, &c, "failed", msg, cpu);
        snprintf(event, sizeof event, "%s: failed (%s; see %s)", c.name, msg, log);
        p->failed++;
        p->finished++;
        /* Bad input is the same for every cell: start no more. */
        if (code == 2)
            *refused = 1;
    }
    mt_sweep_progress_show(p, event);
    mt_sweep_result *res = NULL;
    /* --cell runs on other nodes may end cells at the same time. */
    int lock = mt_sweep_dir_lock_results(sl->dir);
    if (mt_sweep_results_update(sl->spec, sl->dir, &res) != MT_OK)
        fprintf(stderr, "mutau sweep: warning: results.csv: %s\n", mt_errmsg());
    if (lock >= 0)
        close(lock);
    mt_sweep_results_free(res, mt_sweep_cell_count(sl->spec));
}

/* Asks every running child once to stop (they save their checkpoints). */
static void stop_all(const mt_sweep_slots *sl, slot *slots, mt_sweep_progress *p)
{
    mt_sweep_progress_end(p);
    fprintf(stderr, "mutau sweep: %s: stopping the %d running cell%s (checkpoints)...\n",
            mt_signal_name(mt_signals_pending()), p->running, p->running == 1 ? "" : "s");
    for (int j = 0; j < sl->jobs; j++)
        if (slots[j].pid > 0)
            mt_spawn_stop(slots[j].pid, mt_sweep_stop_signal(sl->spec));
}

int mt_sweep_schedule(const mt_sweep_slots *sl, const int *todo, int n_todo,
                      const enum mt_cell_state *states, mt_sweep_progress *p, int *refused)
{
    slot *slots = calloc((size_t)sl->jobs, sizeof *slots);
    if (!slots)
        return mt_error(MT_ERR_NOMEM, "sweep: out of memory");
    int next = 0, stopping = 0, rc = MT_OK;
    mt_sweep_progress_show(p, NULL);
    double last_tick = mt_now();
    for (;;) {
        if (!stopping && mt_signals_pending()) {
            stopping = 1;
            stop_all(sl, slots, p);
        }
        /* Fill the free slots. */
        for (int j = 0; !stopping && !*refused && j < sl->jobs && next < n_todo; j++) {
            if (slots[j].pid > 0)
                continue;
            mt_sweep_cell c;
            mt_sweep_cell_at(sl->spec, todo[next], &c);
            rc = mt_cell_start(sl->spec, &c, states[todo[next]], sl->dir, sl->exe, sl->threads,
                               &slots[j].pid);
            if (rc != MT_OK) {
                stopping = 1;
                break;
            }
            slots[j].cell = todo[next++];
            slots[j].t0 = mt_now();
            p->running++;
        }
        if (p->running == 0)
            break;
        int st;
        struct rusage use;
        pid_t pid = wait4(-1, &st, WNOHANG, &use);
        if (pid < 0 && errno != EINTR) {
            rc = mt_error(MT_ERR_LIB, "waitpid: %s", strerror(errno));
            break;
        }
        if (pid <= 0) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (p->mode == MT_PROGRESS_BAR && mt_now() - last_tick >= 1) {
                mt_sweep_progress_show(p, NULL);
                last_tick = mt_now();
            }
            continue;
        }
        int j = 0;
        while (j < sl->jobs && slots[j].pid != pid)
            j++;
        if (j == sl->jobs)
            continue; /* not one of ours */
        slots[j].pid = 0;
        p->running--;
        finish_cell(sl, &slots[j], states[slots[j].cell], st, &use, stopping, p, refused);
    }
    mt_sweep_progress_end(p);
    free(slots);
    return rc;
}
