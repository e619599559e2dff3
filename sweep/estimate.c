/* estimate.c: the cost of a cell from a trial run (see estimate.h). */
#include "sweep/estimate.h"

#include "core/meminfo.h"
#include "core/status.h"
#include "trainer/rundir.h"

#include <math.h>
#include <stdio.h>

static json_t *get_path(json_t *j, const char *a, const char *b)
{
    json_t *x = json_object_get(j, a);
    return b ? json_object_get(x, b) : x;
}

int mt_sweep_cost_read(const char *dir, double wall_seconds, mt_sweep_cost *c)
{
    json_t *cfg = NULL, *fin = NULL;
    int rc = mt_rundir_read_json(dir, "config.json", &cfg);
    if (rc == MT_OK)
        rc = mt_rundir_read_json(dir, "final.json", &fin);
    if (rc != MT_OK) {
        json_decref(cfg);
        return mt_error_context(rc, "the trial run");
    }
    json_t *data = json_object_get(cfg, "data");
    json_t *set = json_object_get(cfg, "settings");
    int steps = (int)json_integer_value(json_object_get(fin, "steps"));
    double seconds = json_number_value(json_object_get(fin, "seconds"));
    c->epochs = (int)json_integer_value(get_path(set, "optim", "epochs"));
    int batch = (int)json_integer_value(get_path(set, "optim", "batch"));
    c->eval_every = (int)json_integer_value(get_path(set, "run", "eval_every"));
    c->steps_per_epoch = (int)json_integer_value(json_object_get(data, "steps_per_epoch"));
    const char *split = json_string_value(json_object_get(data, "eval_split"));
    int eval_n = (int)json_integer_value(json_object_get(data, split ? split : "test"));
    int test_n = (int)json_integer_value(json_object_get(data, "test"));
    json_int_t peak = json_integer_value(json_object_get(fin, "peak_rss_bytes"));
    c->peak_bytes = peak > 0 ? (uint64_t)peak : 0;
    json_int_t net = json_integer_value(get_path(json_object_get(fin, "ps"), "memory", "network_bytes"));
    c->network_bytes = net > 0 ? (uint64_t)net : 0;
    c->params = (uint64_t)json_integer_value(get_path(cfg, "model", "parameters"));
    c->state = (uint64_t)json_integer_value(get_path(cfg, "model", "state"));
    json_t *shape = json_object_get(data, "shape");
    c->image_bytes = sizeof(float);
    for (size_t i = 0; i < json_array_size(shape); i++)
        c->image_bytes *= (uint64_t)json_integer_value(json_array_get(shape, i));
    c->batch = batch;
    c->train_images = (int)json_integer_value(json_object_get(data, "train"));
    json_decref(cfg);
    json_decref(fin);
    if (steps < 1 || !(seconds > 0) || c->epochs < 1 || batch < 1 || c->steps_per_epoch < 1)
        return mt_error(MT_ERR_FORMAT,
                        "the trial run in %s recorded no steps or no timing (steps %d, %g s)", dir,
                        steps, seconds);
    c->trial_steps = steps;
    c->step_seconds = seconds / steps;
    c->startup_seconds = fmax(0, wall_seconds - seconds);
    double per_image = c->step_seconds / batch / 3;
    c->eval_seconds = eval_n * per_image;
    c->test_seconds = test_n * per_image;
    return MT_OK;
}

double mt_sweep_cost_cell(const mt_sweep_cost *c, int epochs_done)
{
    int left = c->epochs - epochs_done;
    if (left < 0)
        left = 0;
    int evals = c->eval_every > 0 ? left / c->eval_every + 1 : 1;
    return c->startup_seconds + (double)left * c->steps_per_epoch * c->step_seconds +
           evals * c->eval_seconds + c->test_seconds;
}

int mt_sweep_jobs_fitting(uint64_t peak, uint64_t available, int jobs)
{
    if (peak == 0)
        return jobs;
    uint64_t fit = available / peak;
    if (fit < 1)
        fit = 1;
    return fit < (uint64_t)jobs ? (int)fit : jobs;
}

void mt_sweep_memory_line(char *buf, size_t cap, uint64_t peak, int jobs, uint64_t available)
{
    char p[32], all[32], have[32];
    mt_mem_format(p, sizeof p, peak);
    mt_mem_format(all, sizeof all, peak * (uint64_t)jobs);
    mt_mem_format(have, sizeof have, available);
    if (jobs == 1)
        snprintf(buf, cap, "memory: a cell peaked at %s in the trial, %s is available", p, have);
    else
        snprintf(buf, cap,
                 "memory: a cell peaked at %s in the trial; %d side by side need about %s, %s "
                 "is available",
                 p, jobs, all, have);
}

void mt_sweep_format_duration(char *buf, unsigned long cap, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, cap, "?");
    else if (s >= 86400)
        snprintf(buf, cap, "%.0f d %.0f h", floor(s / 86400), floor(fmod(s, 86400) / 3600));
    else if (s >= 3600)
        snprintf(buf, cap, "%.0f h %02.0f min", floor(s / 3600), floor(fmod(s, 3600) / 60));
    else if (s >= 60)
        snprintf(buf, cap, "%.0f min %02.0f s", floor(s / 60), floor(fmod(s, 60)));
    else
        snprintf(buf, cap, "%.0f s", ceil(s));
}
