/* run_delay.c: the delay mode: one compute thread, gradients at
 * theta_{k - tau_k} from the ring of past versions (ps/delay.h). Everything
 * happens in the calling thread in a fixed order, so a run is a pure function
 * of its inputs and seed. */
#include "ps/ps_impl.h"

#include "core/status.h"

#include <omp.h>
#include <string.h>

int ps_run_delay(mt_ps *ps)
{
    mt_ps_server *s = ps->server;
    mt_delay *d = &ps->delay;
    struct ps_worker *w = &ps->w[0];
    const float *theta = mt_ps_server_theta(s);
    const float *state = mt_ps_server_state(s);
    int saved_threads = omp_get_max_threads();
    ps_set_threads(ps);
    int64_t k = mt_ps_server_version(s);
    mt_ps_timing *tm = &w->time;
    while (k < ps->end && !ps_should_stop(ps)) {
        double t0 = ps_now();
        float *slot = mt_delay_slot(d, k);
        if (slot)
            memcpy(slot, theta, ps->n * sizeof(float));
        int64_t tau = mt_delay_draw(d);
        if (tau > k)
            tau = k; /* before step tau: theta_0 */
        const float *at = tau == 0 ? theta : mt_delay_slot(d, k - tau);
        if (ps->n_state)
            memcpy(w->state, state, ps->n_state * sizeof(float));
        double t1 = ps_now();
        int rc = ps->cfg.grad(w->ctx, at, k - tau, k, w->state, w->grad);
        double t2 = ps_now();
        tm->pull_s += t1 - t0;
        tm->grad_s += t2 - t1;
        tm->gradients++;
        if (rc < 0) {
            ps_fail(ps, rc);
            break;
        }
        /* The worker started from the current state: its update replaces it. */
        int64_t got = mt_ps_push(s, w->grad, k - tau, ps->n_state ? w->state : NULL, NULL, NULL);
        tm->push_s += ps_now() - t2;
        if (got < 0) {
            ps_fail(ps, (int)got);
            break;
        }
        mt_tau_hist_add(&w->hist, got);
        k++;
        if (k % ps->cfg.steps_per_epoch == 0)
            ps_epoch_close(ps, k);
    }
    omp_set_num_threads(saved_threads);
    return MT_OK;
}
