/* staleness_lr.h: the staleness-aware learning rate of Zhang, Gupta, Lian and
 * Liu 2016 ("Staleness-aware Async-SGD for distributed deep learning", IJCAI):
 * a gradient that arrives tau_k versions late is applied with the step
 *
 *     eta_k = eta / max(1, tau_k)
 *
 * and otherwise exactly as momentum SGD (optim/msgd.h, eq. 1.3 of Liu et al.
 * 2018): theta_{k+1} = theta_k - eta_k (g + wd theta_k) + mu (theta_k - theta_{k-1}).
 * The paper divides by the staleness itself; max(1, .) keeps tau = 0 (a fresh
 * gradient, sync mode, one worker) at the full step, so for tau <= 1 the rule
 * is msgd bit for bit. No state, no extra memory, one division per push.
 */
#ifndef MT_OPTIM_STALENESS_LR_H
#define MT_OPTIM_STALENESS_LR_H

#include <stdint.h>

/* eta / max(1, tau); tau < 0 is treated as 0. */
double mt_staleness_lr(double lr, int64_t tau);

#endif
