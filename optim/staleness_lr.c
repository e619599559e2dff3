/* staleness_lr.c: eta / max(1, tau) (see staleness_lr.h). */
#include "optim/staleness_lr.h"

double mt_staleness_lr(double lr, int64_t tau)
{
    return tau > 1 ? lr / (double)tau : lr;
}
