/* dana.h: DANA-Zero (Hakimi, Barkai, Gabel, Schuster 2019, "Taming momentum in
 * a distributed asynchronous environment"): the server keeps one momentum
 * vector per worker, and a worker computes its gradient at the server's
 * estimate of where the parameters will be when that gradient lands.
 *
 * The paper, in gradient units (v^i worker i's momentum, gamma the momentum):
 *
 *     push of g by worker i:  v^i <- gamma v^i + g,   theta <- theta - eta v^i
 *     pull by worker i:       theta^ = theta - eta gamma sum_j v^j
 *
 * Here in displacement units like optim/msgd.h (u^i = -eta v^i, weight decay
 * folded into the gradient at the current theta):
 *
 *     u^i <- mu u^i - eta (g + wd theta),   theta <- theta + u^i,   U <- U + (u^i_new - u^i_old)
 *     theta^ = theta + mu U,                U = sum_j u^j
 *
 * identical to the paper's while eta is constant (a schedule changes eta
 * without rescaling the momentum already built up, as in msgd.h). Each worker
 * pulls right after its own push, so in steady state the other W - 1 workers
 * each apply one update before its gradient lands, and each such update is on
 * average its momentum part mu u^j plus a fresh gradient step: theta^ is theta
 * moved by the momentum parts. With W = 1 the rule is Nesterov's momentum in
 * Sutskever's form (the gradient taken at theta + mu u).
 *
 * U is kept incrementally (the paper's efficient form, one extra buffer)
 * rather than summed at each pull (W n reads). Memory: W n floats for the u^i
 * and n for U (the parameter server keeps U in its velocity buffer). Time per
 * push: msgd's plus one read-modify-write of U; per pull: one
 * multiply-add per coordinate instead of a copy.
 */
#ifndef MT_OPTIM_DANA_H
#define MT_OPTIM_DANA_H

#include <stddef.h>

/* Worker i's push on n coordinates with one weight decay wd: u holds u^i,
 * u_sum holds U; both are updated. */
void mt_dana_step(float *theta, float *u, float *u_sum, const float *grad, size_t n, double lr,
                  double mu, double wd);

/* The look-ahead theta^ = theta + mu U on n coordinates. */
void mt_dana_lookahead(float *out, const float *theta, const float *u_sum, size_t n, double mu);

#endif
