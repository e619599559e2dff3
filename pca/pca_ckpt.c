/* pca_ckpt.c: a streaming-PCA grid's progress file (see pca_ckpt.h). */
#include "pca/pca_ckpt.h"

#include "core/checkpoint.h"
#include "core/clock.h"
#include "core/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { FORMAT = 1 };

/* The scalar settings, all 8 bytes wide so the struct has no padding. */
typedef struct {
    int64_t format, d, diagonal, n_mu, n_tau, runs, checkpoints, delay_dist, data, random_init, write_runs,
        iters, seed;
    double lr, blowup, factor, seconds;
} scalars;
_Static_assert(sizeof(scalars) == 17 * 8 && sizeof(double) == 8, "the settings section is 17 8-byte fields");

/* The update rule (a grid without this section, from before methods, is msgd). */
typedef struct {
    int64_t kind, momentum_auto, adaptive;
    double lambda0, decay, eps;
} method_section;
_Static_assert(sizeof(method_section) == 6 * 8, "the method section is 6 8-byte fields");

static uint64_t signature(void) { return mt_hash64_str(MT_HASH64_INIT, "mutau pca grid progress"); }

int mt_pca_ckpt_open(mt_pca_ckpt *w, const char *path, const mt_pca_report *setup,
                     const mt_pca_grid_result *res)
{
    memset(w, 0, sizeof *w);
    if ((size_t)snprintf(w->path, sizeof w->path, "%s", path) >= sizeof w->path)
        return mt_error(MT_ERR_ARG, "%s: path too long", path);
    const mt_pca_grid_cfg *g = setup->grid;
    size_t total = (size_t)g->n_mu * g->n_tau * g->runs, ck = (size_t)g->base.checkpoints;
    w->setup = setup;
    w->error = malloc(total * sizeof *w->error);
    w->diverged = malloc(total);
    w->trace = ck ? malloc(total * ck * sizeof *w->trace) : NULL;
    if (!w->error || !w->diverged || (ck && !w->trace)) {
        mt_pca_ckpt_close(w);
        return mt_error(MT_ERR_NOMEM, "%s: out of memory for the copy of %zu runs", path, total);
    }
    w->seconds_before = res->seconds;
    w->t_open = w->last_end = mt_now();
    return MT_OK;
}

void mt_pca_ckpt_close(mt_pca_ckpt *w)
{
    free(w->error);
    free(w->diverged);
    free(w->trace);
    w->error = w->trace = NULL;
    w->diverged = NULL;
}

int mt_pca_ckpt_save(mt_pca_ckpt *w, const mt_pca_grid_result *res)
{
    double t0 = mt_now();
    const mt_pca_report *s = w->setup;
    const mt_pca_grid_cfg *g = s->grid;
    const mt_pca_cov *cov = g->base.cov;
    const long cells = (long)g->n_mu * g->n_tau;
    const size_t runs = (size_t)g->runs, ck = (size_t)g->base.checkpoints;
    /* Only completed cells are read: the others are being written. */
    size_t done = 0;
    for (long c = 0; c < cells; c++) {
        if (!res->cell_done[c])
            continue;
        memcpy(w->error + done * runs, res->error + c * runs, runs * sizeof *w->error);
        memcpy(w->diverged + done * runs, res->diverged + c * runs, runs);
        if (ck)
            memcpy(w->trace + done * runs * ck, res->trace + c * runs * ck, runs * ck * sizeof *w->trace);
        done++;
    }
    scalars sc = {.format = FORMAT,
                  .d = cov->d,
                  .diagonal = cov->diagonal,
                  .n_mu = g->n_mu,
                  .n_tau = g->n_tau,
                  .runs = g->runs,
                  .checkpoints = g->base.checkpoints,
                  .delay_dist = g->base.delay_dist,
                  .data = g->base.data,
                  .random_init = g->base.v0 == NULL,
                  .write_runs = s->write_runs,
                  .iters = g->base.iters,
                  .seed = (int64_t)g->seed,
                  .lr = g->base.lr,
                  .blowup = g->base.blowup,
                  .factor = s->factor,
                  .seconds = w->seconds_before + (t0 - w->t_open)};
    int32_t *delays = malloc((size_t)g->n_tau * sizeof *delays);
    if (!delays)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", w->path);
    for (int j = 0; j < g->n_tau; j++)
        delays[j] = g->delays[j];
    const char *st = s->sigma_text ? s->sigma_text : "", *it = s->init_text ? s->init_text : "";
    mt_ckpt c;
    mt_ckpt_init(&c, signature());
    int rc = mt_ckpt_add(&c, "settings", &sc, sizeof sc);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "sigma", cov->sigma, (size_t)cov->d * cov->d * sizeof *cov->sigma);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "v0", g->base.v0, g->base.v0 ? (size_t)cov->d * sizeof *g->base.v0 : 0);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "momenta", g->momenta, (size_t)g->n_mu * sizeof *g->momenta);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "delays", delays, (size_t)g->n_tau * sizeof *delays);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "sigma_text", st, strlen(st));
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "init_text", it, strlen(it));
    const mt_pca_method *me = &g->base.method;
    method_section ms = {me->kind, me->momentum_auto, me->dc.adaptive, me->dc.lambda0, me->dc.decay, me->dc.eps};
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "method", &ms, sizeof ms);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "cells", res->cell_done, (size_t)cells);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "error", w->error, done * runs * sizeof *w->error);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "diverged", w->diverged, done * runs);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "trace", w->trace, done * runs * ck * sizeof *w->trace);
    if (rc == MT_OK)
        rc = mt_ckpt_write(&c, w->path);
    mt_ckpt_free(&c);
    free(delays);
    w->last_end = mt_now();
    w->last_cost = w->last_end - t0;
    w->saves++;
    return rc;
}

int mt_pca_ckpt_on_cell(const mt_pca_grid_result *res, long cell, void *ctx)
{
    (void)cell;
    mt_pca_ckpt *w = ctx;
    if (mt_now() - w->last_end < 20 * w->last_cost)
        return MT_OK;
    return mt_pca_ckpt_save(w, res);
}

void mt_pca_saved_free(mt_pca_saved *s)
{
    mt_pca_cov_free(&s->cov);
    free(s->momenta);
    free(s->delays);
    free(s->v0);
    memset(s, 0, sizeof *s);
}

/* An integer setting in [lo, hi], or an error naming the file and the field. */
static int check_int(const char *path, const char *field, int64_t v, int64_t lo, int64_t hi)
{
    if (v < lo || v > hi)
        return mt_error(MT_ERR_FORMAT, "%s: setting '%s' is %lld, expected %lld..%lld", path, field,
                        (long long)v, (long long)lo, (long long)hi);
    return MT_OK;
}

static int check_scalars(const char *path, const scalars *s)
{
    if (s->format != FORMAT)
        return mt_error(MT_ERR_FORMAT, "%s: setting 'format' is %lld, this mutau reads format %d", path,
                        (long long)s->format, FORMAT);
    struct {
        const char *name;
        int64_t v, lo, hi;
    } ints[] = {
        {"d", s->d, 1, MT_PCA_MAX_DIM},
        {"diagonal", s->diagonal, 0, 1},
        {"n_mu", s->n_mu, 1, 1 << 20},
        {"n_tau", s->n_tau, 1, 1 << 20},
        {"runs", s->runs, 1, MT_PCA_MAX_RUNS},
        {"iters", s->iters, 1, MT_PCA_MAX_ITERS},
        {"checkpoints", s->checkpoints, 0, s->iters < MT_PCA_MAX_CHECKPOINTS ? s->iters : MT_PCA_MAX_CHECKPOINTS},
        {"delay_dist", s->delay_dist, MT_PCA_DELAY_FIXED, MT_PCA_DELAY_GEOMETRIC},
        {"data", s->data, MT_PCA_DATA_GAUSSIAN, MT_PCA_DATA_BOUNDED},
        {"random_init", s->random_init, 0, 1},
        {"write_runs", s->write_runs, 0, 1},
        {"seed", s->seed, 0, INT64_MAX},
    };
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
        int rc = check_int(path, ints[k].name, ints[k].v, ints[k].lo, ints[k].hi);
        if (rc < 0)
            return rc;
    }
    /* The size of the grid's results is checked by mt_pca_grid_init, as for a fresh grid. */
    struct {
        const char *name;
        double v, lo;
    } reals[] = {{"lr", s->lr, 0}, {"blowup", s->blowup, 1}, {"factor", s->factor, 1}, {"seconds", s->seconds, 0}};
    for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++)
        if (!isfinite(reals[k].v) || reals[k].v < reals[k].lo)
            return mt_error(MT_ERR_FORMAT, "%s: setting '%s' is %g, expected a finite number >= %g", path,
                            reals[k].name, reals[k].v, reals[k].lo);
    return MT_OK;
}

/* A text section into dst[cap]. */
static int get_text(const mt_ckpt *c, const char *name, char *dst, size_t cap)
{
    const mt_ckpt_section *s = mt_ckpt_find(c, name);
    if (!s)
        return MT_ERR_FORMAT;
    if (s->size >= cap || memchr(s->data, '\0', s->size))
        return mt_error(MT_ERR_FORMAT, "%s: section '%s' is not a text of at most %zu characters", c->path, name,
                        cap - 1);
    memcpy(dst, s->data, s->size);
    dst[s->size] = '\0';
    return MT_OK;
}

/* The settings part of the checkpoint into `out` (the grid not yet checked). */
static int load_settings(const mt_ckpt *c, const scalars *sc, mt_pca_saved *out)
{
    const char *path = c->path;
    const int d = (int)sc->d;
    size_t dd = (size_t)d * d;
    double *sigma = malloc(dd * sizeof *sigma);
    int32_t *delays = malloc((size_t)sc->n_tau * sizeof *delays);
    out->momenta = malloc((size_t)sc->n_mu * sizeof *out->momenta);
    out->delays = malloc((size_t)sc->n_tau * sizeof *out->delays);
    out->v0 = sc->random_init ? NULL : malloc((size_t)d * sizeof *out->v0);
    int rc = MT_OK;
    if (!sigma || !delays || !out->momenta || !out->delays || (!sc->random_init && !out->v0))
        rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
    if (rc == MT_OK)
        rc = mt_ckpt_get(c, "sigma", sigma, dd * sizeof *sigma);
    if (rc == MT_OK)
        rc = mt_ckpt_get(c, "v0", out->v0, sc->random_init ? 0 : (size_t)d * sizeof *out->v0);
    if (rc == MT_OK)
        rc = mt_ckpt_get(c, "momenta", out->momenta, (size_t)sc->n_mu * sizeof *out->momenta);
    if (rc == MT_OK)
        rc = mt_ckpt_get(c, "delays", delays, (size_t)sc->n_tau * sizeof *delays);
    if (rc == MT_OK)
        rc = get_text(c, "sigma_text", out->sigma_text, sizeof out->sigma_text);
    if (rc == MT_OK)
        rc = get_text(c, "init_text", out->init_text, sizeof out->init_text);
    for (int j = 0; rc == MT_OK && j < sc->n_tau; j++) {
        out->delays[j] = delays[j];
        if (delays[j] < 0 || (j > 0 && delays[j] <= delays[j - 1]))
            rc = mt_error(MT_ERR_FORMAT, "%s: setting 'delays' entry %d is %d: delays are >= 0 and ascending", path,
                          j + 1, (int)delays[j]);
    }
    if (rc == MT_OK) {
        /* Rebuilt the way it was built: a diagonal Sigma from its diagonal. */
        char what[1100];
        snprintf(what, sizeof what, "%s: setting 'sigma'", path);
        if (sc->diagonal) {
            for (int i = 0; i < d; i++)
                sigma[i] = sigma[(size_t)i * d + i];
            if (mt_pca_cov_diag(&out->cov, sigma, d) < 0)
                rc = mt_error_context(MT_ERR_FORMAT, "%s", what);
        } else if (mt_pca_cov_full(&out->cov, sigma, d, what) < 0) {
            rc = MT_ERR_FORMAT;
        }
    }
    free(sigma);
    free(delays);
    return rc;
}

/* The completed cells into res (allocated for the grid). */
static int load_cells(const mt_ckpt *c, mt_pca_grid_result *res)
{
    const long cells = (long)res->n_mu * res->n_tau;
    const size_t runs = (size_t)res->runs, ck = (size_t)res->checkpoints;
    int rc = mt_ckpt_get(c, "cells", res->cell_done, (size_t)cells);
    if (rc < 0)
        return rc;
    size_t done = 0;
    for (long k = 0; k < cells; k++) {
        if (res->cell_done[k] > 1)
            return mt_error(MT_ERR_FORMAT, "%s: section 'cells' entry %ld is %d, expected 0 or 1", c->path, k + 1,
                            res->cell_done[k]);
        done += res->cell_done[k];
    }
    const mt_ckpt_section *e = mt_ckpt_find(c, "error"), *v = mt_ckpt_find(c, "diverged"),
                          *t = mt_ckpt_find(c, "trace");
    if (!e || !v || !t)
        return MT_ERR_FORMAT;
    struct {
        const mt_ckpt_section *s;
        size_t want;
    } sizes[] = {{e, done * runs * 8}, {v, done * runs}, {t, done * runs * ck * 8}};
    for (int k = 0; k < 3; k++)
        if (sizes[k].s->size != sizes[k].want)
            return mt_error(MT_ERR_FORMAT,
                            "%s: section '%s' has %llu bytes, %zu completed cells of %zu runs need %zu", c->path,
                            sizes[k].s->name, (unsigned long long)sizes[k].s->size, done, runs, sizes[k].want);
    /* Sections sit at any byte offset in the file: copied as bytes. */
    const unsigned char *err = e->data, *dv = v->data, *tr = t->data;
    size_t p = 0;
    for (long k = 0; k < cells; k++) {
        if (!res->cell_done[k])
            continue;
        memcpy(res->error + k * runs, err + p * runs * 8, runs * 8);
        memcpy(res->diverged + k * runs, dv + p * runs, runs);
        if (ck)
            memcpy(res->trace + k * runs * ck, tr + p * runs * ck * 8, runs * ck * 8);
        for (size_t r = 0; r < runs; r++) {
            double x = res->error[k * runs + r];
            if (!(x >= 0 && x <= 1) || res->diverged[k * runs + r] > 1)
                return mt_error(MT_ERR_FORMAT, "%s: section 'error' or 'diverged': run %zu of cell %ld is %g, %d",
                                c->path, r + 1, k + 1, x, res->diverged[k * runs + r]);
        }
        p++;
    }
    res->cells_done = (long)done;
    return MT_OK;
}

int mt_pca_ckpt_load(const char *path, mt_pca_saved *out, mt_pca_grid_result *res)
{
    memset(out, 0, sizeof *out);
    memset(res, 0, sizeof *res);
    mt_ckpt c;
    int rc = mt_ckpt_read(&c, path, signature(), "a mutau pca grid");
    if (rc < 0)
        return rc;
    scalars sc;
    rc = mt_ckpt_get(&c, "settings", &sc, sizeof sc);
    if (rc == MT_OK)
        rc = check_scalars(path, &sc);
    if (rc == MT_OK)
        rc = load_settings(&c, &sc, out);
    if (rc == MT_OK) {
        out->factor = sc.factor;
        out->write_runs = (int)sc.write_runs;
        out->grid = (mt_pca_grid_cfg){
            .base = {.cov = &out->cov,
                     .lr = sc.lr,
                     .delay_dist = (mt_pca_delay_dist)sc.delay_dist,
                     .data = (mt_pca_data_dist)sc.data,
                     .iters = (long)sc.iters,
                     .v0 = out->v0,
                     .checkpoints = (int)sc.checkpoints,
                     .blowup = sc.blowup},
            .momenta = out->momenta,
            .n_mu = (int)sc.n_mu,
            .delays = out->delays,
            .n_tau = (int)sc.n_tau,
            .runs = (int)sc.runs,
            .seed = (uint64_t)sc.seed,
        };
        if (mt_ckpt_find(&c, "method")) {
            method_section ms;
            rc = mt_ckpt_get(&c, "method", &ms, sizeof ms);
            mt_pca_method *me = &out->grid.base.method;
            *me = (mt_pca_method){.kind = (mt_method_kind)ms.kind,
                                  .momentum_auto = ms.momentum_auto != 0,
                                  .dc = {.lambda0 = ms.lambda0, .adaptive = ms.adaptive != 0,
                                         .decay = ms.decay, .eps = ms.eps}};
        }
        /* Every cell is checked as a fresh grid's would be. */
        if (rc == MT_OK && (rc = mt_pca_grid_init(&out->grid, res)) < 0)
            rc = mt_error_context(MT_ERR_FORMAT, "%s: settings", path);
    }
    if (rc == MT_OK)
        rc = load_cells(&c, res);
    if (rc == MT_OK)
        res->seconds = sc.seconds;
    mt_ckpt_free(&c);
    if (rc < 0) {
        mt_pca_grid_free(res);
        mt_pca_saved_free(out);
    }
    return rc;
}
