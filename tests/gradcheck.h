/* gradcheck.h: finite-difference gradient checks for tests.
 *
 * gc_compare() is generic: a scalar function of a float vector and the
 * vector's analytic gradient, compared by central differences at sampled
 * coordinates. gc_net_check() applies it to one tensor of an mt_net: the
 * scalar is sum(out .* R) for a fixed random R, its gradient comes from
 * mt_net_backward_from(), and every parameter and the input are checked.
 *
 * The forward runs in fp32, so a difference quotient carries rounding of
 * about 1e-7 |f| / eps: tolerances are per coordinate, |a - n| <= atol + rtol
 * max(|a|, |n|), and the report names the worst coordinate. Not a test
 * framework: callers assert on the report.
 */
#ifndef MT_GRADCHECK_H
#define MT_GRADCHECK_H

#include "nn/net.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gc_report {
    size_t checked;   /* coordinates compared */
    size_t failed;    /* coordinates outside tolerance */
    double max_err;   /* the worst |a - n| - rtol max(|a|, |n|) seen */
    size_t worst;     /* its index */
    double worst_analytic, worst_numeric;
    char what[64];    /* which buffer ("input", "conv1.weight", ...) */
} gc_report;

/* f(ctx) evaluates the scalar at the current x. Checks min(n, max_points)
 * coordinates (all when n <= max_points, else a seeded sample), restoring x.
 * Returns the number of failures (also in rep). */
typedef double (*gc_fn)(void *ctx);
size_t gc_compare(gc_fn f, void *ctx, float *x, const float *analytic, size_t n, float eps,
                  size_t max_points, uint64_t seed, double atol, double rtol, gc_report *rep);

/* Checks the gradients of sum(tensor(out_id) .* R) w.r.t. the input x (NCHW,
 * batch images, kept by the caller) and every parameter of a finalized net
 * built with mt_net_want_input_grad(net, 1). Forward runs in training mode.
 * Fills rep (the worst of all buffers) and returns the failure count; on a
 * net error returns (size_t)-1 with the message in mt_errmsg(). */
size_t gc_net_check(mt_net *net, int out_id, float *x, const int *labels, float eps,
                    size_t max_points, uint64_t seed, double atol, double rtol, gc_report *rep);

/* Fills x[0..n) with N(0, 1) draws of (seed, stream). */
void gc_fill_normal(float *x, size_t n, uint64_t seed, uint64_t stream);

#endif
