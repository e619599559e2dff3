/* progress.c: the progress bar and plain progress lines. */
#include "trainer/progress.h"

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

void mt_progress_step(mt_progress *p, int index, int64_t step, double loss)
{
    if (p->mode != MT_PROGRESS_BAR)
        return;
    double now = mt_now();
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
