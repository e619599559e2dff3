/* progress.c: the progress bar and plain progress lines. */
#include "trainer/progress.h"

#include <math.h>
#include <stdarg.h>
#include <unistd.h>

void mt_progress_init(mt_progress *p, int mode, int epochs, int64_t total_steps, int batch_size)
{
    if (mode == MT_PROGRESS_AUTO)
        mode = isatty(STDERR_FILENO) ? MT_PROGRESS_BAR : MT_PROGRESS_PLAIN;
    p->mode = mode;
    p->epochs = epochs;
    p->total_steps = total_steps;
    p->batch_size = batch_size;
    p->epoch = 0;
    p->batches = 0;
    p->t_start = p->t_last_draw = mt_now();
    p->first_index = 0;
    p->est_from = -1;
    p->est_t0 = 0;
    p->estimated = 0;
}

void mt_progress_epoch_begin(mt_progress *p, int epoch, int batches, int first_index)
{
    p->epoch = epoch;
    p->batches = batches;
    p->first_index = first_index;
    p->t_start = mt_now();
    p->t_last_draw = 0;
}

static void format_duration(char *buf, size_t cap, double s)
{
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, cap, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

/* How long the rest of the run takes at the speed of its first steps, once:
 * timed from the end of the first step (which builds oneDNN's primitives)
 * over at least ESTIMATE_STEPS steps and ESTIMATE_SECONDS. */
enum { ESTIMATE_STEPS = 5 };
static const double ESTIMATE_SECONDS = 2.0;

static void estimate(mt_progress *p, int64_t step, double now)
{
    if (p->est_from < 0) {
        p->est_from = step;
        p->est_t0 = now;
        return;
    }
    int64_t n = step - p->est_from;
    if (n < ESTIMATE_STEPS || now - p->est_t0 < ESTIMATE_SECONDS)
        return;
    p->estimated = 1;
    double per_step = (now - p->est_t0) / (double)n;
    double left = per_step * (double)(p->total_steps - step);
    char when[48];
    if (left >= 3600)
        snprintf(when, sizeof when, "%.0fh %02.0fm", floor(left / 3600),
                 floor(fmod(left, 3600) / 60));
    else if (left >= 60)
        snprintf(when, sizeof when, "%.0f min", ceil(left / 60));
    else
        snprintf(when, sizeof when, "%.0f s", ceil(left));
    int64_t steps_left = p->total_steps - step;
    mt_progress_line(p, "estimate: about %s for %s%d epoch%s (%lld steps at %.3g s a step, "
                        "evaluations not included)",
                     when, p->est_from > 1 ? "the remaining " : "",
                     p->epochs - p->epoch, p->epochs - p->epoch == 1 ? "" : "s",
                     (long long)steps_left, per_step);
}

void mt_progress_step(mt_progress *p, int index, int64_t step, double loss)
{
    if (p->mode == MT_PROGRESS_QUIET)
        return;
    double now = mt_now();
    if (!p->estimated)
        estimate(p, step, now);
    if (p->mode != MT_PROGRESS_BAR)
        return;
    int last = index + 1 == p->batches;
    if (!last && now - p->t_last_draw < 0.1)
        return;
    p->t_last_draw = now;
    int done = index + 1 - p->first_index;
    double el = now - p->t_start;
    double ips = el > 0 ? done * (double)p->batch_size / el : 0;
    double per_step = done > 0 ? el / done : 0;
    char eta[32];
    format_duration(eta, sizeof eta, per_step * (double)(p->total_steps - step));
    enum { W = 24 };
    char bar[W + 1];
    int fill = p->batches ? (int)((long)W * (index + 1) / p->batches) : W;
    for (int i = 0; i < W; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[W] = '\0';
    fprintf(stderr, "\r\033[Kepoch %3d/%d [%s] %d/%d  %.0f img/s  loss %.4f  ETA %s", p->epoch + 1,
            p->epochs, bar, index + 1, p->batches, ips, loss, eta);
    fflush(stderr);
}

void mt_progress_epoch_end(mt_progress *p)
{
    if (p->mode == MT_PROGRESS_BAR) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

void mt_progress_line(mt_progress *p, const char *fmt, ...)
{
    if (p->mode == MT_PROGRESS_QUIET)
        return;
    if (p->mode == MT_PROGRESS_BAR) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}
