/* run.c: a whole sweep (see run.h). */
#include "sweep/run.h"

#include "core/meminfo.h"
#include "core/signals.h"
#include "core/status.h"
#include "ps/ps.h"
#include "sweep/cell.h"
#include "sweep/estimate.h"
#include "sweep/launcher.h"
#include "sweep/plan.h"
#include "sweep/progress.h"
#include "sweep/report.h"
#include "sweep/results.h"
#include "sweep/scheduler.h"
#include "sweep/spawn.h"
#include "sweep/sweepdir.h"
#include "sweep/trial.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a run shares between its steps. */
typedef struct {
    const mt_sweep_run_opts *o;
    const mt_sweep_spec *s;
    char exe[PATH_MAX];
    int cores, jobs, threads, jobs_given;
    int saved;  /* sweep.json recorded by this run */
    int n, n_todo, n_resume;
    int *todo;
    enum mt_cell_state *states;
    mt_sweep_result *res;
} sweep;

/* The cells still to do, and their states. */
static int find_todo(sweep *w)
{
    int rc = mt_sweep_results_read(w->s, w->o->dir, &w->res);
    if (rc != MT_OK)
        return rc;
    w->todo = malloc(sizeof *w->todo * (size_t)w->n);
    w->states = malloc(sizeof *w->states * (size_t)w->n);
    if (!w->todo || !w->states)
        return mt_error(MT_ERR_NOMEM, "sweep: out of memory");
    for (int i = 0; i < w->n; i++) {
        w->states[i] = mt_cell_state_of(w->o->dir, &w->res[i]);
        if (w->states[i] == MT_CELL_DONE)
            continue;
        w->todo[w->n_todo++] = i;
        w->n_resume += w->states[i] == MT_CELL_RESUME;
    }
    return MT_OK;
}

static void print_header(const sweep *w)
{
    const mt_sweep_spec *s = w->s;
    char ws[512], ms[512], qs[128] = "";
    mt_sweep_format_ints(ws, sizeof ws, s->workers, s->n_workers);
    mt_sweep_format_momenta(ms, sizeof ms, s->momentum, s->n_momentum);
    /* msgd alone: the header of sweeps made before the method axis. */
    if (s->n_methods > 1 || s->methods[0] != MT_METHOD_MSGD) {
        char q[96];
        mt_sweep_format_methods(q, sizeof q, s->methods, s->n_methods);
        snprintf(qs, sizeof qs, " x method {%s}", q);
    }
    printf("sweep %s: %d cells = workers {%s} x momentum {%s}%s x %d repeat%s, mode %s%s\n",
           w->o->dir, w->n, ws, ms, qs, s->repeats, s->repeats == 1 ? "" : "s", mt_sweep_mode(s),
           mt_sweep_uses_ps(s) ? "" : " (single-process runs)");
    char th[64];
    if (w->threads > 0)
        snprintf(th, sizeof th, "%d thread%s each", w->threads, w->threads == 1 ? "" : "s");
    else
        snprintf(th, sizeof th, "each rank's threads its node's cores / its ranks there");
    printf("%d to train (%d resuming from checkpoints), %d finished before; %d side by side, "
           "%s\n",
           w->n_todo, w->n_resume, w->n - w->n_todo, w->jobs, th);
    if (w->s->transport[0]) {
        printf("cells over MPI (%d server rank%s) through:", w->s->server_ranks,
               w->s->server_ranks == 1 ? "" : "s");
        for (int i = 0; i < w->s->launcher->n; i++)
            printf(" %s", w->s->launcher->words[i]);
        printf("\n");
    }
    fflush(stdout);
}

/* What the machine can give: MT_OK with *have, or a warning and not MT_OK. */
static int memory_available(uint64_t *have)
{
    mt_mem_avail a;
    int rc = mt_mem_available(&a);
    if (rc == MT_ERR_ARG)
        fprintf(stderr, "mutau sweep: warning: %s; memory not checked\n", mt_errmsg());
    if (rc == MT_OK)
        *have = a.budget ? a.budget : a.available;
    return rc;
}

/* The trial at the grid's largest worker count (checks that mutau train
 * takes every cell's flags and measures the largest cell), then the
 * estimate; *est_cell gets a fresh cell's seconds. */
static int estimate(sweep *w, double *est_cell)
{
    const mt_sweep_spec *s = w->s;
    mt_sweep_cell c;
    mt_sweep_cell_at(s, w->todo[0], &c);
    for (int i = 0; i < s->n_workers; i++)
        if (s->workers[i] > c.workers)
            c.workers = s->workers[i];
    mt_sweep_cell_name(&c);
    mt_sweep_cost cost;
    printf("timing %d steps of the model...\n", w->o->trial_steps);
    fflush(stdout);
    int rc = mt_sweep_trial(s, &c, w->o->dir, w->exe, w->threads, w->o->trial_steps, NULL, &cost);
    if (rc != MT_OK)
        return rc;
    uint64_t have;
    if (cost.peak_bytes && memory_available(&have) == MT_OK)
        mt_sweep_plan_memory(stdout, cost.peak_bytes, have, &w->jobs, w->jobs_given);
    double total = 0;
    for (int i = 0; i < w->n_todo; i++)
        total += mt_sweep_cost_cell(&cost, w->res[w->todo[i]].epochs_done);
    *est_cell = mt_sweep_cost_cell(&cost, 0);
    char tot[32], one[32];
    mt_sweep_format_duration(tot, sizeof tot, total / w->jobs);
    mt_sweep_format_duration(one, sizeof one, *est_cell);
    printf("estimate: %.3g s per step x %d steps per epoch x %d epochs: about %s per cell, "
           "%s in all with %d side by side (a busy machine is slower)\n",
           cost.step_seconds, cost.steps_per_epoch, cost.epochs, one, tot, w->jobs);
    fflush(stdout);
    return MT_OK;
}

/* The dry run's trial runs here, in one process even for a sweep over MPI
 * (it times the computation, which the transport does not change): `out`
 * is s without the launcher and the flags only an MPI cell takes. Shares
 * s's strings: not to be freed. */
static void local_spec(const mt_sweep_spec *s, mt_sweep_spec *out)
{
    *out = *s;
    out->transport[0] = '\0';
    out->launcher = NULL;
    out->n_train_args = 0;
    for (int i = 0; i < s->n_train_args; i++) {
        const char *a = s->train_args[i];
        if (strcmp(a, "--server-ranks") == 0 && s->transport[0]) {
            i++;
            continue;
        }
        if (strncmp(a, "--server-ranks=", 15) == 0)
            continue;
        out->train_args[out->n_train_args++] = s->train_args[i];
    }
}

/* A dry run's estimate: one compute thread timed and measured, then per
 * worker count the time and memory of a cell and how many fit at once. */
static int estimate_dry(sweep *w)
{
    const mt_sweep_spec *s = w->s;
    mt_sweep_cell c;
    mt_sweep_cell_at(s, w->todo[0], &c);
    /* Delay mode with delay 1: one network, as one worker computes, and the
     * trainer records the network's measured bytes. Its memory check would
     * refuse what the table below is to say. */
    static const char *const one_thread[] = {"--workers", "2", "--mode", "delay", "--delay", "1",
                                             "--delay-dist", "fixed", "--ignore-memory", NULL};
    mt_sweep_spec local;
    local_spec(s, &local);
    const int ps = mt_sweep_uses_ps(&local);
    printf("timing %d steps of the model (one compute thread)...\n", w->o->trial_steps);
    fflush(stdout);
    mt_sweep_cost cost;
    int rc = mt_sweep_trial(&local, &c, w->o->dir, w->exe, w->threads > 0 ? w->threads : 1,
                            w->o->trial_steps, ps ? one_thread : NULL, &cost);
    uint64_t have = 0;
    int mem = cost.peak_bytes && memory_available(&have) == MT_OK;
    char s_have[32];
    mt_mem_format(s_have, sizeof s_have, have);
    if (rc == MT_ERR_NOMEM) {
        /* Not a refusal: what the dry run is for. */
        printf("memory: %s; %s is available, so no cell fits: a smaller --batch or "
               "--eval-batch needs less\n",
               mt_errmsg(), mem ? s_have : "less");
        return MT_OK;
    }
    if (rc != MT_OK)
        return rc;
    printf("estimate: %.3g s per step (%d thread%s) x %d steps per epoch x %d epochs; per worker "
           "count:\n",
           cost.step_seconds, w->threads > 0 ? w->threads : 1, w->threads > 1 ? "s" : "",
           cost.steps_per_epoch,
           cost.epochs);
    printf("  %7s  %14s  %10s  %s\n", "workers", "time per cell", "memory",
           mem ? "cells side by side that fit" : "");
    double total = 0;
    int jobs = w->jobs;
    for (int i = 0; i < s->n_workers; i++) {
        int W = s->workers[i];
        double secs = mt_sweep_cell_seconds(s, &cost, W, w->cores, w->jobs, w->threads);
        uint64_t peak = mt_sweep_cell_peak(s, &cost, W);
        char t[32], p[32], fit[96] = "";
        mt_sweep_format_duration(t, sizeof t, secs);
        mt_mem_format(p, sizeof p, peak);
        if (mem) {
            uint64_t k = peak ? have / peak : 0;
            if (k == 0)
                snprintf(fit, sizeof fit, "0: does not fit in %s (mutau train refuses it)", s_have);
            else
                snprintf(fit, sizeof fit, "%llu", (unsigned long long)k);
            if (k >= 1 && (int)k < jobs && !w->jobs_given)
                jobs = (int)k;
        }
        printf("  %7d  %14s  %10s  %s\n", W, t, p, fit);
        for (int j = 0; j < w->n_todo; j++) {
            mt_sweep_cell cj;
            mt_sweep_cell_at(s, w->todo[j], &cj);
            if (cj.workers == W)
                total += secs;
        }
    }
    char tot[32];
    mt_sweep_format_duration(tot, sizeof tot, total / jobs);
    printf("about %s in all for %d cell%s with %d side by side%s%s%s (a busy machine is slower)\n",
           tot, w->n_todo, w->n_todo == 1 ? "" : "s", jobs, mem ? ", " : "", mem ? s_have : "",
           mem ? " available" : "");
    if (ps && strcmp(mt_sweep_mode(s), "delay") != 0)
        printf("(async and sync cells: time as if the workers scaled perfectly over the cores)\n");
    fflush(stdout);
    return MT_OK;
}

static void print_table(const sweep *w)
{
    const mt_sweep_spec *s = w->s;
    mt_sweep_stat *stats = calloc((size_t)mt_sweep_stat_count(s), sizeof *stats);
    if (!stats)
        return;
    mt_sweep_stats(s, w->res, stats);
    printf("\nfinal test top-1 (%%), mean ± sd over repeats, * = best momentum per worker "
           "count:\n");
    mt_sweep_table_print(stdout, s, stats, 0);
    if (s->n_methods > 1 || mt_sweep_auto_index(s) >= 0) {
        printf("\n");
        mt_sweep_methods_table_print(stdout, s, stats, 0);
    }
    free(stats);
}

/* After the cells: results.csv, the table, and whether any failed. */
static int summary(sweep *w)
{
    int rc = mt_sweep_results_update(w->s, w->o->dir, &w->res);
    if (rc != MT_OK)
        return rc;
    int failed = 0, interrupted = 0;
    for (int i = 0; i < w->n; i++) {
        failed += strcmp(w->res[i].status, "failed") == 0;
        interrupted += strcmp(w->res[i].status, "interrupted") == 0;
    }
    print_table(w);
    printf("\nresults: %s/results.csv; figures and report.md: mutau report %s\n", w->o->dir,
           w->o->dir);
    if (failed)
        return mt_error(MT_ERR_LIB,
                        "%d cell%s failed (status \"failed\" in results.csv, output in each "
                        "cell's train.out); rerun the command to retry them",
                        failed, failed == 1 ? "" : "s");
    if (interrupted) /* killed from outside while the sweep went on */
        return mt_error(MT_ERR_INTERRUPTED,
                        "%d cell%s interrupted (killed; status \"interrupted\" in results.csv); "
                        "rerun the command to resume %s from %s checkpoint%s",
                        interrupted, interrupted == 1 ? "" : "s", interrupted == 1 ? "it" : "them",
                        interrupted == 1 ? "its" : "their", interrupted == 1 ? "" : "s");
    return MT_OK;
}

/* Trains what is left; is_new: sweep.json is recorded first. */
static int train_cells(sweep *w, int is_new, double est_cell)
{
    const mt_sweep_run_opts *o = w->o;
    int rc;
    if (is_new) {
        if ((rc = mt_sweep_spec_save(o->dir, w->s)) != MT_OK)
            return rc;
        w->saved = 1;
    }
    if (w->n_todo == 0)
        return summary(w);
    mt_sweep_progress p;
    mt_sweep_progress_init(&p, o->progress, w->n, w->n - w->n_todo, w->jobs);
    p.est_cell = est_cell;
    mt_sweep_slots sl = {.spec = w->s, .dir = o->dir, .exe = w->exe, .jobs = w->jobs,
                         .threads = w->threads};
    int refused = 0;
    rc = mt_sweep_schedule(&sl, w->todo, w->n_todo, w->states, &p, &refused);
    if (rc != MT_OK)
        return rc;
    if (mt_signals_pending()) {
        int left = w->n - p.done_before - p.finished;
        mt_sweep_results_update(w->s, o->dir, &w->res);
        return mt_error(MT_ERR_INTERRUPTED, "stopped by %s: %d of %d cells finished, %d to go",
                        mt_signal_name(mt_signals_pending()), w->n - left, w->n, left);
    }
    if (refused) {
        mt_sweep_results_update(w->s, o->dir, &w->res);
        return mt_error(MT_ERR_ARG, "a cell's settings were refused by mutau train (see the "
                                    "message above); no further cells started");
    }
    return summary(w);
}

/* J and T. Over MPI the cells' ranks run where the launcher puts them, so
 * this machine's cores say nothing: one cell at a time unless --jobs, and
 * --threads only when given (each rank then takes its node's cores divided
 * by its ranks there). */
static void plan(sweep *w)
{
    if (w->s->transport[0]) {
        w->jobs = w->o->jobs > 0 ? w->o->jobs : 1;
        w->threads = w->o->threads;
        return;
    }
    mt_sweep_plan_threads(w->s, w->cores, w->o->jobs, w->o->threads, &w->jobs, &w->threads);
}

int mt_sweep_run(const mt_sweep_run_opts *o)
{
    sweep w = {.o = o, .s = o->spec, .n = mt_sweep_cell_count(o->spec), .cores = mt_ps_cores(),
               .jobs_given = o->jobs > 0};
    int lock_fd = -1, is_new = 0;
    int rc = mt_sweep_dir_open(o->dir, w.s, &lock_fd, &is_new);
    if (rc != MT_OK)
        return rc;
    plan(&w);
    int demand = mt_sweep_grid_demand(w.s);
    if (!w.s->transport[0] && w.jobs * demand * w.threads > w.cores)
        fprintf(stderr,
                "mutau sweep: note: %d job%s x %d worker thread%s x %d OpenMP thread%s > %d "
                "cores: the threads will wait for each other and the estimate is short\n",
                w.jobs, w.jobs == 1 ? "" : "s", demand, demand == 1 ? "" : "s", w.threads,
                w.threads == 1 ? "" : "s", w.cores);
    rc = mt_spawn_self_exe(w.exe, sizeof w.exe);
    if (rc == MT_OK)
        rc = find_todo(&w);
    if (rc == MT_OK) {
        print_header(&w);
        mt_signals_install();
        double est_cell = NAN;
        if (w.n_todo > 0)
            rc = o->dry_run ? estimate_dry(&w) : estimate(&w, &est_cell);
        if (rc == MT_OK && !o->dry_run)
            rc = train_cells(&w, is_new, est_cell);
        mt_signals_restore();
    }
    /* A new directory whose settings did not train (or a dry run's) keeps nothing. */
    if (is_new && !w.saved)
        mt_sweep_dir_forget(o->dir);
    close(lock_fd);
    mt_sweep_results_free(w.res, w.n);
    free(w.todo);
    free(w.states);
    return rc;
}

/* ---- one cell, and the list ------------------------------------------------ */

/* The grid index of o->cell or o->cell_index; MT_ERR_ARG naming the flag. */
static int cell_index(const mt_sweep_run_opts *o, int n, int *index)
{
    if (!o->cell) {
        if (o->cell_index < 0 || o->cell_index >= n)
            return mt_error(MT_ERR_ARG, "--cell-index: %d is not in [0, %d] (%d cells)",
                            o->cell_index, n - 1, n);
        *index = o->cell_index;
        return MT_OK;
    }
    mt_sweep_cell c;
    for (int i = 0; i < n; i++) {
        mt_sweep_cell_at(o->spec, i, &c);
        if (strcmp(c.name, o->cell) == 0) {
            *index = i;
            return MT_OK;
        }
    }
    mt_sweep_cell_at(o->spec, 0, &c);
    return mt_error(MT_ERR_ARG, "--cell: %s is not a cell of this sweep (%d cells, e.g. %s; "
                                "--list-cells lists them)",
                    o->cell, n, c.name);
}

int mt_sweep_run_cell(const mt_sweep_run_opts *o)
{
    sweep w = {.o = o, .s = o->spec, .n = mt_sweep_cell_count(o->spec), .cores = mt_ps_cores()};
    int idx, lock_fd = -1, cell_fd = -1;
    int rc = cell_index(o, w.n, &idx);
    mt_sweep_cell c;
    if (rc == MT_OK) {
        mt_sweep_cell_at(w.s, idx, &c);
        rc = mt_sweep_dir_open_cell(o->dir, w.s, c.name, &lock_fd, &cell_fd);
    }
    if (rc == MT_OK)
        rc = mt_spawn_self_exe(w.exe, sizeof w.exe);
    if (rc == MT_OK)
        rc = mt_sweep_results_read(w.s, o->dir, &w.res);
    if (rc != MT_OK)
        goto done;
    /* One cell per process: the threads of --jobs 1. */
    if (w.s->transport[0])
        w.threads = o->threads;
    else
        mt_sweep_plan_threads(w.s, w.cores, 1, o->threads, &w.jobs, &w.threads);
    enum mt_cell_state st = mt_cell_state_of(o->dir, &w.res[idx]);
    if (st == MT_CELL_DONE) {
        printf("%s/%s: %s before; nothing to do\n", o->dir, c.name, w.res[idx].status);
        goto done;
    }
    static const char *const how[] = {"", "training", "resuming from its checkpoint",
                                      "training again (no checkpoint)"};
    printf("cell %d of %d: %s/%s, %s\n", idx, w.n, o->dir, c.name, how[st]);
    fflush(stdout);
    mt_sweep_progress p;
    mt_sweep_progress_init(&p, o->progress, 1, 0, 1);
    mt_sweep_slots sl = {.spec = w.s, .dir = o->dir, .exe = w.exe, .jobs = 1,
                         .threads = w.threads};
    enum mt_cell_state *states = calloc((size_t)w.n, sizeof *states);
    if (!states) {
        rc = mt_error(MT_ERR_NOMEM, "sweep: out of memory");
        goto done;
    }
    states[idx] = st;
    int refused = 0;
    mt_signals_install();
    rc = mt_sweep_schedule(&sl, &idx, 1, states, &p, &refused);
    mt_signals_restore();
    free(states);
    if (rc == MT_OK && mt_signals_pending())
        rc = mt_error(MT_ERR_INTERRUPTED, "stopped by %s: %s's checkpoint saved",
                      mt_signal_name(mt_signals_pending()), c.name);
    else if (rc == MT_OK && refused)
        rc = mt_error(MT_ERR_ARG, "%s: its settings were refused by mutau train (see %s/%s/"
                                  "train.out)",
                      c.name, o->dir, c.name);
    else if (rc == MT_OK && p.failed)
        rc = mt_error(MT_ERR_LIB, "%s failed (see %s/%s/train.out); run it again to retry",
                      c.name, o->dir, c.name);
done:
    if (cell_fd >= 0)
        close(cell_fd);
    if (lock_fd >= 0)
        close(lock_fd);
    mt_sweep_results_free(w.res, w.n);
    return rc;
}

int mt_sweep_list_cells(const mt_sweep_run_opts *o, FILE *out)
{
    const mt_sweep_spec *s = o->spec;
    int n = mt_sweep_cell_count(s);
    int rc = mt_sweep_dir_check(o->dir, s);
    if (rc != MT_OK)
        return rc;
    mt_sweep_result *res = NULL;
    rc = mt_sweep_results_read(s, o->dir, &res);
    if (rc != MT_OK)
        return rc;
    for (int i = 0; i < n; i++)
        fprintf(out, "%s %s\n", res[i].cell.name, res[i].status);
    mt_sweep_results_free(res, n);
    return MT_OK;
}
