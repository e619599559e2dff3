/* momentum_auto.h: `--momentum auto`, the explicit momentum chosen during the
 * run from the staleness measured so far:
 *
 *     mu_k = clamp(mu_target - tau_bar_k / (1 + tau_bar_k), 0, mu_target)
 *
 * where tau_bar_k is the mean staleness of pushes 0..k (this one included) and
 * mu_target the momentum one would use without asynchrony (0.9 by default).
 *
 * Why (Mitliagkas, Zhang, Hadjis, Re 2016, "Asynchrony begets momentum"): when
 * the staleness is geometric, P(tau = t) = p q^t with q = 1 - p, the expected
 * update of asynchronous SGD with explicit momentum mu_e on a quadratic is, in
 * the backshift operator B (B x_k = x_{k-1}),
 *
 *     (1 - B)(1 - mu_e B)(1 - q B) theta_{k+1} = -eta p grad(theta_k)
 *
 * (the delayed gradient sum_t p q^t grad(theta_{k-t}) is p / (1 - q B) applied
 * to the gradient). With mu_e = 0 that is heavy ball with momentum q and step
 * eta p: asynchrony alone acts as momentum q = 1 - 1/M for M = 1/p workers,
 * the paper's implicit momentum. With both, (1 - mu_e B)(1 - q B) =
 * 1 - (mu_e + q) B + mu_e q B^2: the one-step momentum coefficient is
 * mu_e + q (the second-order term mu_e q is small exactly where the rule makes
 * mu_e small). Asking the total to equal the momentum that is right without
 * asynchrony, mu_e + q = mu_target, gives mu_e = mu_target - q, clamped at 0
 * (negative momentum, which the paper also considers, is outside eq. 1.3's
 * mu in [0, 1)). The mean of the geometric law is q / p = q / (1 - q), so
 * q = tau_bar / (1 + tau_bar) from the measured mean staleness; W equal async
 * workers have tau_bar = W - 1 and q = 1 - 1/W. The low-frequency gain, the
 * effective step eta / (1 - mu_e), is what it is without delays, so the rule
 * does not change the step the schedule meant.
 *
 * For mu_target = 0.9 it gives 0.9 at tau_bar = 0, 0.4 at 1 (2 workers), 0.15
 * at 3 (4 workers) and 0 from tau_bar = 9 on. The paper's law tau ~ (1 - mu)^2
 * (Liu et al. 2018) would need its constant, which depends on the step and the
 * curvature; the rule above needs nothing but the measured tau.
 *
 * State: the count and the sum of the staleness so far (16 bytes, saved in
 * checkpoints); one division per push.
 */
#ifndef MT_OPTIM_MOMENTUM_AUTO_H
#define MT_OPTIM_MOMENTUM_AUTO_H

#include <stdint.h>

typedef struct {
    double target;  /* mu_target in [0, 1) */
    double tau_sum; /* sum of the staleness observed (exact for integers below 2^53) */
    int64_t count;  /* pushes observed */
} mt_momentum_auto;

/* The rule for a mean staleness tau_mean >= 0. */
double mt_momentum_auto_rule(double target, double tau_mean);

void mt_momentum_auto_init(mt_momentum_auto *a, double target);

/* Records the staleness of one push and returns the momentum for it. */
double mt_momentum_auto_observe(mt_momentum_auto *a, int64_t tau);

/* The momentum the next push would get if its staleness were the mean so far
 * (mu_target before any push): what to report, and DANA's look-ahead. */
double mt_momentum_auto_current(const mt_momentum_auto *a);

#endif
