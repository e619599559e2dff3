/* dc_asgd.c: the delay-compensated gradient in momentum SGD (see dc_asgd.h). */
#include "optim/dc_asgd.h"

#include "core/status.h"

#include <math.h>

void mt_dc_asgd_config_default(mt_dc_asgd_config *c)
{
    c->lambda0 = 2.0;
    c->adaptive = 1;
    c->decay = 0.95;
    c->eps = 1e-7;
}

int mt_dc_asgd_config_check(const mt_dc_asgd_config *c)
{
    if (!(c->lambda0 >= 0) || !isfinite(c->lambda0))
        return mt_error(MT_ERR_ARG, "dc-asgd lambda: %g is not a finite number >= 0", c->lambda0);
    if (!(c->decay >= 0 && c->decay < 1))
        return mt_error(MT_ERR_ARG, "dc-asgd mean-square decay: %g is not in [0, 1)", c->decay);
    if (!(c->eps > 0) || !isfinite(c->eps))
        return mt_error(MT_ERR_ARG, "dc-asgd eps: %g is not a finite number > 0", c->eps);
    return MT_OK;
}

void mt_dc_asgd_step(const mt_dc_asgd_config *c, float *restrict theta, float *restrict velocity,
                     float *restrict mean_square, const float *restrict grad,
                     const float *restrict theta_read, size_t n, double lr, double mu, double wd,
                     int nesterov)
{
    /* Single precision like msgd.c, the same expression for the step, so that
     * a zero correction leaves exactly msgd's arithmetic. */
    const float eta = (float)lr, m = (float)mu, l = (float)wd, lam0 = (float)c->lambda0;
    const float a = (float)c->decay, b = (float)(1.0 - c->decay), eps = (float)c->eps;
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        float lam = lam0;
        if (mean_square) {
            float ms = a * mean_square[i] + b * (g * g);
            mean_square[i] = ms;
            lam = lam0 / sqrtf(ms + eps);
        }
        float gc = g + lam * g * g * (theta[i] - theta_read[i]);
        if (nesterov) {
            float d = gc + l * theta[i];
            float v = m * velocity[i] - eta * d;
            velocity[i] = v;
            theta[i] += m * v - eta * d;
        } else {
            float v = m * velocity[i] - eta * (gc + l * theta[i]);
            velocity[i] = v;
            theta[i] += v;
        }
    }
}
