/* dc_asgd.h: delay-compensated asynchronous SGD (Zheng, Meng, Wang, Chen, Yu,
 * Ma, Liu 2017, "Asynchronous stochastic gradient descent with delay
 * compensation", ICML). A gradient g computed at the parameters the worker
 * read, theta_r = theta_{k-tau_k}, is corrected towards the gradient at the
 * current theta_k by a first-order Taylor step whose Hessian is approximated
 * by lambda g (.) g (the outer product of the gradient, kept diagonal):
 *
 *     g~ = g + lambda (.) g (.) g (.) (theta_k - theta_r)           (elementwise)
 *
 * and g~ replaces g in momentum SGD (optim/msgd.h; the paper's DC-ASGD has
 * mu = 0, and mu > 0 is momentum SGD on the compensated gradient):
 *
 *     theta_{k+1} = theta_k - eta (g~ + wd theta_k) + mu (theta_k - theta_{k-1})
 *
 * lambda is either a constant lambda_0 (the paper's DC-ASGD-c) or, the paper's
 * adaptive variant DC-ASGD-a, per coordinate
 *
 *     MeanSquare_k = m MeanSquare_{k-1} + (1 - m) g (.) g,     MeanSquare_{-1} = 0
 *     lambda_k     = lambda_0 / sqrt(MeanSquare_k + eps)
 *
 * with this push's g included before lambda is formed, one MeanSquare for the
 * server (not per worker), m in [0, 1); eps (1e-7) only guards the division.
 * Defaults: adaptive, lambda_0 = 2, m = 0.95. With lambda_0 = 0 the rule is
 * msgd bit for bit (the correction is an exact zero).
 *
 * theta_r: the server must have the parameters each gradient was computed at.
 * In delay mode they are the delay ring's slot of version k - tau (already
 * kept: no extra memory). With in-process workers they are the worker's own
 * copy of the parameters, which holds exactly what it pulled until its push
 * (no extra memory either). A server that cannot see the workers' memory (over
 * MPI) keeps a copy per worker of what it pulled: W n floats. The adaptive
 * variant adds the MeanSquare buffer, n floats. Time per push: one more read
 * of theta_r and, adaptive, a read-modify-write of MeanSquare and a square
 * root per coordinate.
 */
#ifndef MT_OPTIM_DC_ASGD_H
#define MT_OPTIM_DC_ASGD_H

#include <stddef.h>

typedef struct {
    double lambda0; /* lambda_0 >= 0 */
    int adaptive;   /* 1: DC-ASGD-a (lambda_0 / sqrt(MeanSquare + eps)); 0: DC-ASGD-c */
    double decay;   /* m in [0, 1), the MeanSquare average */
    double eps;     /* > 0 */
} mt_dc_asgd_config;

/* Adaptive, lambda_0 = 2, m = 0.95, eps = 1e-7. */
void mt_dc_asgd_config_default(mt_dc_asgd_config *c);

/* Checks the ranges above; names the field at fault. */
int mt_dc_asgd_config_check(const mt_dc_asgd_config *c);

/* The update on n coordinates with one weight decay wd: velocity holds
 * theta_k - theta_{k-1} (Nesterov: msgd.h's velocity), mean_square the
 * MeanSquare (adaptive; NULL for the constant variant), theta_read theta_r. */
void mt_dc_asgd_step(const mt_dc_asgd_config *c, float *theta, float *velocity, float *mean_square,
                     const float *grad, const float *theta_read, size_t n, double lr, double mu,
                     double wd, int nesterov);

#endif
