/* msgd.c: the momentum SGD update (see msgd.h for the equation and the state). */
#include "optim/msgd.h"

#include "core/status.h"

#include <math.h>
#include <stdlib.h>

int mt_msgd_config_check(const mt_msgd_config *c)
{
    if (!(c->momentum >= 0.0 && c->momentum < 1.0))
        return mt_error(MT_ERR_ARG, "momentum: %g is not in [0, 1)", c->momentum);
    if (!(c->weight_decay >= 0.0) || !isfinite(c->weight_decay))
        return mt_error(MT_ERR_ARG, "weight decay: %g is not a finite number >= 0",
                        c->weight_decay);
    return MT_OK;
}

int mt_msgd_ranges_init(mt_msgd_ranges *r, size_t n)
{
    r->ranges = NULL;
    r->n_ranges = 0;
    r->cap = 0;
    r->n = n;
    return MT_OK;
}

int mt_msgd_ranges_add(mt_msgd_ranges *r, size_t offset, size_t count, int decay)
{
    if (count == 0)
        return MT_OK;
    size_t end_prev = 0;
    if (r->n_ranges > 0) {
        mt_msgd_range *last = &r->ranges[r->n_ranges - 1];
        end_prev = last->offset + last->count;
        if (offset == end_prev && (last->decay != 0) == (decay != 0)) {
            if (offset + count > r->n)
                goto out_of_range;
            last->count += count;
            return MT_OK;
        }
    }
    if (offset < end_prev)
        return mt_error(MT_ERR_ARG, "weight-decay ranges: offset %zu overlaps or precedes %zu",
                        offset, end_prev);
    if (offset + count > r->n)
        goto out_of_range;
    if (r->n_ranges == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        mt_msgd_range *p = realloc(r->ranges, (size_t)cap * sizeof *p);
        if (!p)
            return mt_error(MT_ERR_NOMEM, "weight-decay ranges: out of memory");
        r->ranges = p;
        r->cap = cap;
    }
    r->ranges[r->n_ranges++] = (mt_msgd_range){offset, count, decay != 0};
    return MT_OK;
out_of_range:
    return mt_error(MT_ERR_ARG, "weight-decay ranges: [%zu, %zu) is outside the buffer of %zu",
                    offset, offset + count, r->n);
}

void mt_msgd_ranges_free(mt_msgd_ranges *r)
{
    free(r->ranges);
    r->ranges = NULL;
    r->n_ranges = r->cap = 0;
}

size_t mt_msgd_ranges_decayed(const mt_msgd_ranges *r)
{
    size_t s = 0;
    for (int i = 0; i < r->n_ranges; i++)
        if (r->ranges[i].decay)
            s += r->ranges[i].count;
    return s;
}

void mt_msgd_step(float *restrict theta, float *restrict velocity, const float *restrict grad,
                  size_t n, double lr, double mu, double wd, int nesterov)
{
    /* Single precision throughout, so the loop vectorises; the hyperparameters
     * are rounded once. */
    const float eta = (float)lr, m = (float)mu, l = (float)wd;
    if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            float d = grad[i] + l * theta[i];
            float v = m * velocity[i] - eta * d;
            velocity[i] = v;
            theta[i] += m * v - eta * d;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float v = m * velocity[i] - eta * (grad[i] + l * theta[i]);
            velocity[i] = v;
            theta[i] += v;
        }
    }
}

void mt_msgd_step_prev(float *restrict theta, float *restrict prev, const float *restrict grad,
                       size_t n, double lr, double mu, double wd)
{
    const float eta = (float)lr, m = (float)mu, l = (float)wd;
    for (size_t i = 0; i < n; i++) {
        float t = theta[i];
        theta[i] = t - eta * (grad[i] + l * t) + m * (t - prev[i]);
        prev[i] = t;
    }
}

void mt_msgd_ranges_walk(const mt_msgd_ranges *r, size_t begin, size_t end, double weight_decay,
                         void (*fn)(void *ctx, size_t b, size_t e, double wd), void *ctx)
{
    size_t pos = begin;
    for (int i = 0; i < r->n_ranges && pos < end; i++) {
        size_t lo = r->ranges[i].offset, hi = lo + r->ranges[i].count;
        if (hi <= pos)
            continue;
        if (lo > pos) { /* a gap: not listed, so not decayed */
            size_t e = lo < end ? lo : end;
            fn(ctx, pos, e, 0.0);
            pos = e;
            if (pos >= end)
                break;
        }
        size_t e = hi < end ? hi : end;
        fn(ctx, pos, e, r->ranges[i].decay ? weight_decay : 0.0);
        pos = e;
    }
    if (pos < end)
        fn(ctx, pos, end, 0.0);
}

struct msgd_walk {
    const mt_msgd_config *c;
    float *theta, *velocity;
    const float *grad;
    double lr;
};

static void msgd_piece(void *ctx, size_t b, size_t e, double wd)
{
    const struct msgd_walk *w = ctx;
    mt_msgd_step(w->theta + b, w->velocity + b, w->grad + b, e - b, w->lr, w->c->momentum, wd,
                 w->c->nesterov);
}

void mt_msgd_apply(const mt_msgd_config *c, const mt_msgd_ranges *r, float *theta,
                   float *velocity, const float *grad, size_t begin, size_t end, double lr)
{
    struct msgd_walk w = {c, theta, velocity, grad, lr};
    mt_msgd_ranges_walk(r, begin, end, c->weight_decay, msgd_piece, &w);
}
