/* momentum_auto.c: the momentum from the mean staleness (see momentum_auto.h). */
#include "optim/momentum_auto.h"

double mt_momentum_auto_rule(double target, double tau_mean)
{
    double q = tau_mean > 0 ? tau_mean / (1.0 + tau_mean) : 0.0;
    double mu = target - q;
    return mu > 0 ? mu : 0.0;
}

void mt_momentum_auto_init(mt_momentum_auto *a, double target)
{
    a->target = target;
    a->tau_sum = 0;
    a->count = 0;
}

double mt_momentum_auto_observe(mt_momentum_auto *a, int64_t tau)
{
    a->tau_sum += (double)(tau > 0 ? tau : 0);
    a->count++;
    return mt_momentum_auto_current(a);
}

double mt_momentum_auto_current(const mt_momentum_auto *a)
{
    if (a->count == 0)
        return a->target;
    return mt_momentum_auto_rule(a->target, a->tau_sum / (double)a->count);
}
