/* results.c: a cell's run directory -> one results row; results.csv; the
 * statistics over repeats (see results.h). */
#include "sweep/results.h"

#include "core/status.h"
#include "trainer/config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads dir/name/file as JSON; NULL when absent or malformed (msg says which). */
static json_t *read_json(const char *dir, const char *name, const char *file, char *msg, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", dir, name, file);
    if (access(path, F_OK) != 0)
        return NULL;
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j && msg)
        snprintf(msg, cap, "%s/%s: line %d: %s", name, file, e.line, e.text);
    return j;
}

/* The first value under key `key` anywhere in object j (depth first). */
static json_t *find_key(json_t *j, const char *key)
{
    if (!json_is_object(j))
        return NULL;
    json_t *v = json_object_get(j, key);
    if (v)
        return v;
    const char *k;
    json_t *sub;
    json_object_foreach(j, k, sub)
    {
        json_t *f = find_key(sub, key);
        if (f)
            return f;
    }
    return NULL;
}

static double number_or_nan(const json_t *j)
{
    return json_is_number(j) ? json_number_value(j) : NAN;
}

/* The column of `name` (or of `alt`) in a CSV header, or -1. */
static int column_of(char *const *cols, int n, const char *name, const char *alt)
{
    for (int i = 0; i < n; i++)
        if (strcmp(cols[i], name) == 0 || (alt && strcmp(cols[i], alt) == 0))
            return i;
    return -1;
}

/* Splits line at commas in place; returns the field count (at most cap). */
static int split_csv(char *line, char **f, int cap)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < cap;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static double field(char **f, int n, int col)
{
    if (col < 0 || col >= n || !f[col][0])
        return NAN;
    char *end;
    double v = strtod(f[col], &end);
    return end == f[col] ? NAN : v;
}

enum { MAX_COLS = 64 };

/* An epoch column's value as an int, or `row` when it is no epoch a run
 * reaches (a corrupt log.csv: converting it could be undefined, and the
 * report's curves are sized by the last epoch). */
static int epoch_or(double ep, int row)
{
    return ep >= 0 && ep <= MT_TRAIN_MAX_EPOCHS ? (int)ep : row;
}

/* An epoch count from config.json or final.json; 0 (unknown) when absent or
 * beyond any run. */
static int epochs_of(const json_t *v)
{
    json_int_t x = json_integer_value(v);
    return x >= 0 && x <= MT_TRAIN_MAX_EPOCHS ? (int)x : 0;
}

/* log.csv: best accuracy, speed, time, staleness and the curve. */
static int read_log(const char *dir, mt_sweep_result *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/log.csv", dir, r->cell.name);
    FILE *f = fopen(path, "r");
    if (!f)
        return MT_OK;
    char header[2048], line[4096];
    char *cols[MAX_COLS], *v[MAX_COLS];
    if (!fgets(header, sizeof header, f)) {
        fclose(f);
        return MT_OK;
    }
    int nc = split_csv(header, cols, MAX_COLS);
    /* eval_*: the evaluation split's columns (val_* in runs made before they
     * were named for what they hold). */
    int c_epoch = column_of(cols, nc, "epoch", NULL),
        c_top1 = column_of(cols, nc, "eval_top1", "val_top1"),
        c_top5 = column_of(cols, nc, "eval_top5", "val_top5"),
        c_ips = column_of(cols, nc, "images_per_s", NULL),
        c_sec = column_of(cols, nc, "seconds", NULL),
        c_vloss = column_of(cols, nc, "eval_loss", "val_loss"),
        c_tmean = column_of(cols, nc, "staleness_mean", "tau_mean"),
        c_tmax = column_of(cols, nc, "staleness_max", "tau_max"),
        c_mu = column_of(cols, nc, "momentum", NULL);
    int cap = 0, rows = 0;
    double ips_sum = 0, sec_sum = 0, tmean_sum = 0, tmax = NAN, mu_sum = 0;
    int n_ips = 0, n_sec = 0, n_tmean = 0, n_mu = 0;
    int rc = MT_OK;
    while (fgets(line, sizeof line, f)) {
        int n = split_csv(line, v, MAX_COLS);
        if (n < 2)
            continue;
        rows++;
        double ep = field(v, n, c_epoch), t1 = field(v, n, c_top1), t5 = field(v, n, c_top5);
        double x;
        if (isfinite(x = field(v, n, c_ips)))
            ips_sum += x, n_ips++;
        if (isfinite(x = field(v, n, c_sec)))
            sec_sum += x, n_sec++;
        if (isfinite(x = field(v, n, c_tmean)))
            tmean_sum += x, n_tmean++;
        if (isfinite(x = field(v, n, c_tmax)) && !(x <= tmax))
            tmax = x;
        if (isfinite(x = field(v, n, c_mu)))
            mu_sum += x, n_mu++;
        /* An evaluation with a non-finite loss scored non-finite outputs:
         * its accuracy means nothing. */
        if (!isfinite(t1) || (c_vloss >= 0 && c_vloss < n && v[c_vloss][0] &&
                              !isfinite(field(v, n, c_vloss))))
            continue;
        if (!(t1 <= r->best_top1)) {
            r->best_top1 = t1;
            r->best_epoch = epoch_or(ep, rows);
        }
        if (isfinite(t5) && !(t5 <= r->best_top5))
            r->best_top5 = t5;
        if (r->n_curve == cap) {
            cap = cap ? 2 * cap : 64;
            int *e = realloc(r->curve_epoch, (size_t)cap * sizeof *e);
            double *a = e ? realloc(r->curve_top1, (size_t)cap * sizeof *a) : NULL;
            if (e)
                r->curve_epoch = e;
            if (a)
                r->curve_top1 = a;
            if (!e || !a) {
                rc = mt_error(MT_ERR_NOMEM, "sweep: out of memory reading %s", path);
                break;
            }
        }
        r->curve_epoch[r->n_curve] = epoch_or(ep, rows);
        r->curve_top1[r->n_curve++] = t1;
    }
    fclose(f);
    if (n_ips)
        r->images_per_s = ips_sum / n_ips;
    if (n_sec)
        r->wall_seconds = sec_sum;
    if (n_tmean) {
        r->tau_mean = tmean_sum / n_tmean;
        r->tau_max = tmax;
    }
    if (n_mu)
        r->momentum_used = mu_sum / n_mu;
    if (r->epochs_done == 0)
        r->epochs_done = rows;
    return rc;
}

int mt_sweep_result_read(const mt_sweep_spec *s, const mt_sweep_cell *c, const char *dir,
                         mt_sweep_result *r)
{
    memset(r, 0, sizeof *r);
    r->cell = *c;
    r->final_top1 = r->final_top5 = r->best_top1 = r->best_top5 = NAN;
    r->tau_mean = r->tau_max = r->images_per_s = r->wall_seconds = r->cpu_seconds = NAN;
    r->momentum_used = NAN;
    r->delay = s->delay;
    snprintf(r->mode, sizeof r->mode, "%s", mt_sweep_mode(s));
    snprintf(r->status, sizeof r->status, "pending");

    char msg[256] = "";
    json_t *cfg = read_json(dir, c->name, "config.json", NULL, 0);
    json_t *fin = read_json(dir, c->name, "final.json", msg, sizeof msg);
    json_t *cell = read_json(dir, c->name, "cell.json", NULL, 0);

    json_t *settings = cfg ? json_object_get(cfg, "settings") : NULL;
    r->epochs = epochs_of(find_key(settings, "epochs"));
    /* The trainer's own record of the mode and the delay wins, once it has one. */
    const char *mode = json_string_value(find_key(settings, "mode"));
    if (mode)
        snprintf(r->mode, sizeof r->mode, "%s", mode);
    json_t *delay = find_key(settings, "delay");
    if (json_is_integer(delay))
        r->delay = (long)json_integer_value(delay);
    if (r->delay < 0 && strcmp(r->mode, "delay") == 0)
        r->delay = c->workers - 1; /* the delay W equal workers served in turn produce */

    if (fin) {
        const char *st = json_string_value(json_object_get(fin, "status"));
        snprintf(r->status, sizeof r->status, "%s", st ? st : "running");
        const char *m = json_string_value(json_object_get(fin, "message"));
        if (m && m[0])
            snprintf(r->message, sizeof r->message, "%s", m);
        json_t *fj = json_object_get(fin, "final");
        r->final_top1 = number_or_nan(json_object_get(fj, "top1"));
        r->final_top5 = number_or_nan(json_object_get(fj, "top5"));
        r->epochs_done = epochs_of(json_object_get(fin, "epochs_completed"));
        if (!r->epochs)
            r->epochs = epochs_of(json_object_get(fin, "epochs"));
        json_t *tau = json_object_get(fin, "staleness");
        if (tau) {
            r->tau_mean = number_or_nan(json_object_get(tau, "mean"));
            r->tau_max = number_or_nan(json_object_get(tau, "max"));
        }
    } else if (msg[0]) {
        snprintf(r->status, sizeof r->status, "failed");
        snprintf(r->message, sizeof r->message, "%s", msg);
    }
    /* A process that ended without a final status of its own failed. */
    json_t *cpu = json_object_get(cell, "cpu_seconds");
    if (json_is_number(cpu) && json_number_value(cpu) > 0)
        r->cpu_seconds = json_number_value(cpu);
    const char *outcome = json_string_value(json_object_get(cell, "outcome"));
    if (outcome && strcmp(outcome, "failed") == 0 && strcmp(r->status, "completed") &&
        strcmp(r->status, "diverged")) {
        snprintf(r->status, sizeof r->status, "failed");
        const char *m = json_string_value(json_object_get(cell, "message"));
        snprintf(r->message, sizeof r->message, "%s", m ? m : "the train process failed");
    } else if (outcome && strcmp(outcome, "interrupted") == 0 &&
               strcmp(r->status, "running") == 0) {
        /* Killed before it could say so itself (SIGKILL): the sweep's record. */
        snprintf(r->status, sizeof r->status, "interrupted");
        const char *m = json_string_value(json_object_get(cell, "message"));
        snprintf(r->message, sizeof r->message, "%s", m ? m : "interrupted");
    }
    json_decref(cfg);
    json_decref(fin);
    json_decref(cell);

    int rc = read_log(dir, r);
    /* One process computing every gradient at the current parameters has no staleness. */
    if (!isfinite(r->tau_mean) && !mt_sweep_uses_ps(s) && r->epochs_done > 0)
        r->tau_mean = r->tau_max = 0;
    return rc;
}

void mt_sweep_result_free(mt_sweep_result *r)
{
    free(r->curve_epoch);
    free(r->curve_top1);
    r->curve_epoch = NULL;
    r->curve_top1 = NULL;
    r->n_curve = 0;
}

int mt_sweep_results_read(const mt_sweep_spec *s, const char *dir, mt_sweep_result **out)
{
    int n = mt_sweep_cell_count(s);
    mt_sweep_result *r = calloc((size_t)n, sizeof *r);
    if (!r)
        return mt_error(MT_ERR_NOMEM, "sweep: out of memory for %d results", n);
    for (int i = 0; i < n; i++) {
        mt_sweep_cell c;
        mt_sweep_cell_at(s, i, &c);
        int rc = mt_sweep_result_read(s, &c, dir, &r[i]);
        if (rc != MT_OK) {
            mt_sweep_results_free(r, i + 1);
            return rc;
        }
    }
    *out = r;
    return MT_OK;
}

void mt_sweep_results_free(mt_sweep_result *r, int n)
{
    if (!r)
        return;
    for (int i = 0; i < n; i++)
        mt_sweep_result_free(&r[i]);
    free(r);
}

/* A number for the CSV: empty when unknown. */
static void put_num(FILE *f, double v, const char *fmt)
{
    fputc(',', f);
    if (isfinite(v))
        fprintf(f, fmt, v);
}

int mt_sweep_results_write_csv(const char *path, const mt_sweep_result *r, int n)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: %s", tmp, strerror(errno));
    fprintf(f, "%s\n", MT_SWEEP_RESULTS_HEADER);
    for (int i = 0; i < n; i++) {
        const mt_sweep_result *x = &r[i];
        fprintf(f, "%s,%d,", x->cell.name, x->cell.workers);
        if (!mt_sweep_mu_is_auto(x->cell.momentum))
            fprintf(f, "%g", x->cell.momentum);
        fprintf(f, ",%s", mt_method_name(x->cell.method));
        put_num(f, x->momentum_used, "%.4g");
        fprintf(f, ",%s,", x->mode);
        if (x->delay >= 0)
            fprintf(f, "%ld", x->delay);
        fprintf(f, ",%d,%" PRIu64, x->cell.repeat, x->cell.seed);
        put_num(f, x->final_top1, "%.6f");
        put_num(f, x->final_top5, "%.6f");
        put_num(f, x->best_top1, "%.6f");
        put_num(f, x->best_top5, "%.6f");
        fprintf(f, ",");
        if (x->best_epoch > 0)
            fprintf(f, "%d", x->best_epoch);
        fprintf(f, ",%d,%d", x->epochs_done, x->epochs);
        put_num(f, x->tau_mean, "%.4g");
        put_num(f, x->tau_max, "%.0f");
        put_num(f, x->images_per_s, "%.1f");
        put_num(f, x->wall_seconds, "%.2f");
        put_num(f, x->cpu_seconds, "%.2f");
        fprintf(f, ",%s\n", x->status);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        unlink(tmp);
        return mt_error(MT_ERR_IO, "%s: write failed", tmp);
    }
    if (rename(tmp, path) != 0)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    return MT_OK;
}

int mt_sweep_results_update(const mt_sweep_spec *s, const char *dir, mt_sweep_result **res)
{
    int n = mt_sweep_cell_count(s);
    if (*res)
        mt_sweep_results_free(*res, n);
    *res = NULL;
    int rc = mt_sweep_results_read(s, dir, res);
    if (rc == MT_OK) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s/results.csv", dir);
        rc = mt_sweep_results_write_csv(p, *res, n);
    }
    return rc;
}

int mt_sweep_stat_count(const mt_sweep_spec *s)
{
    return s->n_methods * s->n_workers * s->n_momentum;
}

const mt_sweep_stat *mt_sweep_stats_of(const mt_sweep_spec *s, const mt_sweep_stat *stats, int q)
{
    return stats + (size_t)q * (size_t)(s->n_workers * s->n_momentum);
}

/* Whether result x is a repeat of the cell st describes. */
static int same_cell(const mt_sweep_result *x, const mt_sweep_stat *st)
{
    return x->cell.workers == st->workers && x->cell.momentum == st->momentum &&
           x->cell.method == st->method;
}

void mt_sweep_stats(const mt_sweep_spec *s, const mt_sweep_result *r, mt_sweep_stat *stats)
{
    int n = mt_sweep_cell_count(s);
    for (int q = 0; q < s->n_methods; q++)
        for (int w = 0; w < s->n_workers; w++)
            for (int m = 0; m < s->n_momentum; m++) {
                mt_sweep_stat *st = &stats[(q * s->n_workers + w) * s->n_momentum + m];
                memset(st, 0, sizeof *st);
                st->method = s->methods[q];
                st->workers = s->workers[w];
                st->momentum = s->momentum[m];
                double sum = 0, best_sum = 0, used_sum = 0;
                int n_used = 0;
                for (int i = 0; i < n; i++) {
                    const mt_sweep_result *x = &r[i];
                    if (!same_cell(x, st))
                        continue;
                    if (strcmp(x->status, "completed") == 0 && isfinite(x->final_top1)) {
                        st->n++;
                        sum += x->final_top1;
                        best_sum += isfinite(x->best_top1) ? x->best_top1 : x->final_top1;
                        if (isfinite(x->momentum_used))
                            used_sum += x->momentum_used, n_used++;
                    } else if (strcmp(x->status, "diverged") == 0) {
                        st->diverged++;
                    } else {
                        st->other++;
                    }
                }
                st->mean = st->n ? sum / st->n : NAN;
                st->best_mean = st->n ? best_sum / st->n : NAN;
                st->used = n_used ? used_sum / n_used : NAN;
                double ss = 0;
                for (int i = 0; st->n > 1 && i < n; i++) {
                    const mt_sweep_result *x = &r[i];
                    if (same_cell(x, st) && strcmp(x->status, "completed") == 0 &&
                        isfinite(x->final_top1))
                        ss += (x->final_top1 - st->mean) * (x->final_top1 - st->mean);
                }
                st->sd = st->n > 1 ? sqrt(ss / (st->n - 1)) : NAN;
            }
}

static int best_of_row(const mt_sweep_spec *s, const mt_sweep_stat *block, int w, int fixed_only)
{
    int best = -1;
    for (int m = 0; m < s->n_momentum; m++) {
        const mt_sweep_stat *st = &block[w * s->n_momentum + m];
        if (fixed_only && mt_sweep_mu_is_auto(st->momentum))
            continue;
        if (st->n > 0 && (best < 0 || st->mean > block[w * s->n_momentum + best].mean))
            best = m;
    }
    return best;
}

int mt_sweep_best_momentum(const mt_sweep_spec *s, const mt_sweep_stat *block, int w)
{
    return best_of_row(s, block, w, 0);
}

int mt_sweep_best_fixed_momentum(const mt_sweep_spec *s, const mt_sweep_stat *block, int w)
{
    return best_of_row(s, block, w, 1);
}

int mt_sweep_auto_index(const mt_sweep_spec *s)
{
    for (int m = 0; m < s->n_momentum; m++)
        if (mt_sweep_mu_is_auto(s->momentum[m]))
            return m;
    return -1;
}
