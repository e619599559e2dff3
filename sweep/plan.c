/* plan.c: threads, cells side by side and memory (see plan.h). */
#include "sweep/plan.h"

#include "core/meminfo.h"
#include "ps/ps.h"
#include "trainer/mem_guard.h"

#include <math.h>
#include <string.h>

int mt_sweep_cell_demand(const mt_sweep_spec *s, int workers)
{
    if (!mt_sweep_uses_ps(s))
        return 1;
    return strcmp(mt_sweep_mode(s), "delay") == 0 ? 1 : workers;
}

int mt_sweep_grid_demand(const mt_sweep_spec *s)
{
    int demand = 1;
    for (int i = 0; i < s->n_workers; i++)
        if (mt_sweep_cell_demand(s, s->workers[i]) > demand)
            demand = mt_sweep_cell_demand(s, s->workers[i]);
    return demand;
}

void mt_sweep_plan_threads(const mt_sweep_spec *s, int cores, int jobs, int threads, int *jobs_out,
                           int *threads_out)
{
    int demand = mt_sweep_grid_demand(s);
    if (jobs < 1)
        jobs = cores / demand > 1 ? cores / demand : 1;
    if (threads < 1)
        threads = cores / (jobs * demand) > 1 ? cores / (jobs * demand) : 1;
    *jobs_out = jobs;
    *threads_out = threads;
}

static int ps_mode(const mt_sweep_spec *s)
{
    const char *m = mt_sweep_mode(s);
    return strcmp(m, "sync") == 0 ? MT_PS_SYNC : strcmp(m, "delay") == 0 ? MT_PS_DELAY : MT_PS_ASYNC;
}

uint64_t mt_sweep_cell_peak(const mt_sweep_spec *s, const mt_sweep_cost *c, int workers)
{
    if (!mt_sweep_uses_ps(s) || workers <= 1)
        return c->peak_bytes;
    int mode = ps_mode(s);
    if (mode == MT_PS_DELAY) {
        /* The trial kept 2 versions (delay 1); a cell keeps delay + 1. */
        long delay = s->delay >= 0 ? s->delay : workers - 1;
        uint64_t more = delay + 1 > 2 ? (uint64_t)(delay - 1) : 0;
        return c->peak_bytes + more * c->params * sizeof(float);
    }
    mt_mem_need m = {.mode = mode,
                     .workers = workers,
                     .batch = c->batch,
                     .params = c->params,
                     .state = c->state,
                     .net_bytes = c->network_bytes,
                     .worker_bytes = (uint64_t)c->train_images * sizeof(uint32_t) +
                                     (uint64_t)c->batch * c->image_bytes};
    return c->peak_bytes + (uint64_t)(workers - 1) * mt_mem_need_per_worker(&m);
}

double mt_sweep_cell_seconds(const mt_sweep_spec *s, const mt_sweep_cost *c, int workers,
                             int cores, int jobs, int threads)
{
    mt_sweep_cost scaled = *c;
    if (mt_sweep_uses_ps(s) && ps_mode(s) != MT_PS_DELAY) {
        double at_once = fmin(workers, fmax(1.0, (double)cores / ((double)jobs * threads)));
        scaled.step_seconds /= at_once;
    }
    return mt_sweep_cost_cell(&scaled, 0);
}

void mt_sweep_plan_memory(FILE *out, uint64_t peak, uint64_t have, int *jobs, int jobs_given)
{
    int fit = mt_sweep_jobs_fitting(peak, have, *jobs);
    char line[256], s_peak[32], s_have[32];
    mt_sweep_memory_line(line, sizeof line, peak, *jobs, have);
    mt_mem_format(s_peak, sizeof s_peak, peak);
    mt_mem_format(s_have, sizeof s_have, have);
    if (fit < *jobs && !jobs_given) {
        fprintf(out, "%s: %d at a time\n", line, fit);
        *jobs = fit;
    } else {
        fprintf(out, "%s\n", line);
    }
    if (peak > have)
        fprintf(stderr,
                "mutau sweep: warning: one cell alone peaked at %s, only %s is available: the "
                "kernel's out-of-memory killer may end cells (SIGKILL, no checkpoint); fewer "
                "--workers or a smaller --batch need less\n",
                s_peak, s_have);
    else if (fit < *jobs)
        fprintf(stderr,
                "mutau sweep: warning: --jobs %d: %d cells side by side need about %d x %s, "
                "only %s is available: the kernel's out-of-memory killer may end cells "
                "(SIGKILL, no checkpoint); --jobs %d fits\n",
                *jobs, *jobs, *jobs, s_peak, s_have, fit);
    fflush(out);
}
