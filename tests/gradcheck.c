/* gradcheck.c: central finite differences against analytic gradients (see
 * gradcheck.h). */
#include "tests/gradcheck.h"

#include "core/rng.h"
#include "core/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void gc_fill_normal(float *x, size_t n, uint64_t seed, uint64_t stream)
{
    mt_rng r;
    mt_rng_seed(&r, seed, stream);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)mt_rng_normal(&r);
}

size_t gc_compare(gc_fn f, void *ctx, float *x, const float *analytic, size_t n, float eps,
                  size_t max_points, uint64_t seed, double atol, double rtol, gc_report *rep)
{
    mt_rng r;
    mt_rng_seed(&r, seed, 77);
    memset(rep, 0, sizeof *rep);
    rep->max_err = -INFINITY;
    size_t m = n <= max_points ? n : max_points;
    for (size_t j = 0; j < m; j++) {
        size_t i = n <= max_points ? j : (size_t)mt_rng_below(&r, n);
        float v = x[i];
        x[i] = v + eps;
        double fp = f(ctx);
        x[i] = v - eps;
        double fm = f(ctx);
        x[i] = v;
        /* The step actually taken in float, not the nominal one. */
        double h = (double)(v + eps) - (double)(v - eps);
        double num = (fp - fm) / h, a = analytic[i];
        double err = fabs(a - num) - rtol * fmax(fabs(a), fabs(num));
        rep->checked++;
        if (!(err <= atol))
            rep->failed++;
        if (err > rep->max_err || isnan(err)) {
            rep->max_err = isnan(err) ? INFINITY : err;
            rep->worst = i;
            rep->worst_analytic = a;
            rep->worst_numeric = num;
        }
    }
    return rep->failed;
}

typedef struct {
    mt_net *net;
    int out_id;
    const float *x;
    const int *labels;
    const float *R;
    float *out;
    size_t n_out;
    int status;
} net_ctx;

static double net_dot(void *p)
{
    net_ctx *c = p;
    int rc = mt_net_set_input(c->net, c->x, mt_net_batch(c->net), c->labels);
    if (rc >= 0)
        rc = mt_net_forward(c->net, 1);
    if (rc >= 0)
        rc = mt_net_read(c->net, c->out_id, c->out);
    if (rc < 0) {
        c->status = rc;
        return NAN;
    }
    double s = 0;
    for (size_t i = 0; i < c->n_out; i++)
        s += (double)c->out[i] * c->R[i];
    return s;
}

static void keep_worst(gc_report *all, const gc_report *one, const char *what)
{
    size_t checked = all->checked + one->checked, failed = all->failed + one->failed;
    if (one->max_err > all->max_err || all->checked == 0) {
        *all = *one;
        snprintf(all->what, sizeof all->what, "%s", what);
    }
    all->checked = checked;
    all->failed = failed;
}

size_t gc_net_check(mt_net *net, int out_id, float *x, const int *labels, float eps,
                    size_t max_points, uint64_t seed, double atol, double rtol, gc_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->max_err = -INFINITY;
    int shape[4], in_shape[4];
    if (mt_net_shape(net, out_id, shape) < 0 || mt_net_shape(net, mt_net_input(net), in_shape) < 0)
        return (size_t)-1;
    size_t n_out = (size_t)shape[0] * shape[1] * shape[2] * shape[3];
    size_t n_in = (size_t)in_shape[0] * in_shape[1] * in_shape[2] * in_shape[3];
    size_t np = mt_net_param_count(net);
    float *R = malloc(n_out * sizeof *R), *out = malloc(n_out * sizeof *out);
    float *gx = malloc(n_in * sizeof *gx), *gp = malloc((np ? np : 1) * sizeof *gp);
    size_t result = (size_t)-1;
    if (!R || !out || !gx || !gp) {
        mt_error(MT_ERR_NOMEM, "gradcheck: out of memory");
        goto done;
    }
    gc_fill_normal(R, n_out, seed, 1);
    net_ctx c = {net, out_id, x, labels, R, out, n_out, 0};
    if (isnan(net_dot(&c)) || mt_net_backward_from(net, out_id, R) < 0)
        goto done;
    memcpy(gp, mt_net_grads(net), np * sizeof *gp);
    int has_input_grad = mt_net_read_diff(net, mt_net_input(net), gx) >= 0;
    mt_clear_error();
    gc_report one;
    if (has_input_grad) {
        gc_compare(net_dot, &c, x, gx, n_in, eps, max_points, seed, atol, rtol, &one);
        keep_worst(rep, &one, "input");
    }
    const mt_param_seg *segs;
    int ns = mt_net_segments(net, &segs);
    float *params = mt_net_params(net);
    for (int s = 0; s < ns; s++) {
        if (segs[s].in_state)
            continue;
        gc_compare(net_dot, &c, params + segs[s].offset, gp + segs[s].offset, segs[s].count, eps,
                   max_points, seed + (uint64_t)s + 1, atol, rtol, &one);
        keep_worst(rep, &one, segs[s].name);
    }
    if (c.status < 0)
        goto done;
    result = rep->failed;
done:
    free(R);
    free(out);
    free(gx);
    free(gp);
    return result;
}
