/* dana.c: DANA-Zero's per-worker momentum and look-ahead (see dana.h). */
#include "optim/dana.h"

void mt_dana_step(float *restrict theta, float *restrict u, float *restrict u_sum,
                  const float *restrict grad, size_t n, double lr, double mu, double wd)
{
    const float eta = (float)lr, m = (float)mu, l = (float)wd;
    for (size_t i = 0; i < n; i++) {
        float old = u[i];
        float v = m * old - eta * (grad[i] + l * theta[i]);
        u[i] = v;
        theta[i] += v;
        u_sum[i] += v - old;
    }
}

void mt_dana_lookahead(float *restrict out, const float *restrict theta,
                       const float *restrict u_sum, size_t n, double mu)
{
    const float m = (float)mu;
    for (size_t i = 0; i < n; i++)
        out[i] = theta[i] + m * u_sum[i];
}
