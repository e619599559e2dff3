/* progress.c: a sweep's progress lines (see progress.h). */
#include "sweep/progress.h"

#include "core/clock.h"
#include "sweep/estimate.h"
#include "trainer/config.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

void mt_sweep_progress_init(mt_sweep_progress *p, int mode, int total, int done_before, int jobs)
{
    if (mode == MT_PROGRESS_AUTO)
        mode = isatty(STDERR_FILENO) ? MT_PROGRESS_BAR : MT_PROGRESS_PLAIN;
    *p = (mt_sweep_progress){.mode = mode, .total = total, .done_before = done_before,
                             .jobs = jobs, .t0 = mt_now(), .est_cell = NAN};
}

void mt_sweep_progress_show(mt_sweep_progress *p, const char *event)
{
    if (p->mode == MT_PROGRESS_QUIET)
        return;
    char el[32], eta[32];
    double elapsed = mt_now() - p->t0;
    int left = p->total - p->done_before - p->finished;
    /* Cells still to finish, at the pace measured so far once there is one. */
    double per = p->measured_n ? p->measured_sum / p->measured_n : p->est_cell;
    double eta_s = left > 0 ? per * left / p->jobs : 0;
    if (p->measured_n && left > 0)
        eta_s = fmax(0, eta_s - 0.5 * per * (p->running > 0)); /* the running ones are part way */
    mt_sweep_format_duration(el, sizeof el, elapsed);
    mt_sweep_format_duration(eta, sizeof eta, eta_s);
    char status[256];
    snprintf(status, sizeof status,
             "[%d/%d cells done, %d running, %d diverged, %d failed] elapsed %s, ETA %s",
             p->done_before + p->finished, p->total, p->running, p->diverged, p->failed, el, eta);
    if (p->mode == MT_PROGRESS_BAR) {
        fprintf(stderr, "\r\033[K");
        if (event)
            fprintf(stderr, "%s\n", event);
        fprintf(stderr, "%s", status);
    } else if (event) {
        fprintf(stderr, "%s  %s\n", event, status);
    }
    fflush(stderr);
}

void mt_sweep_progress_end(mt_sweep_progress *p)
{
    if (p->mode == MT_PROGRESS_BAR)
        fprintf(stderr, "\n");
}
