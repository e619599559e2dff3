/* run_delay.c: the delay mode: one compute thread (worker 0), gradients at
 * theta_{k - tau_k} from the ring of past versions (ps/delay.h). Everything
 * happens in the calling thread in a fixed order, so a run is a pure function
 * of its inputs and seed.
 *
 * Copies per step: theta_k into its ring slot (the only copy beyond the
 * transfer), theta_{k - tau_k} (from the ring, or theta_k itself when
 * tau_k = 0) and the BN state into the worker's buffers; the push reads the
 * worker's gradient in place. */
#include "ps/ps_impl.h"

#include "core/clock.h"
#include "core/status.h"

#include <string.h>

struct delay_run {
    struct ps_transport base; /* first: the worker is handed &base.t */
    int64_t k; /* the server's version */
    mt_rng rng_before; /* the delay's draws before step k's */
};

static int delay_pull(mt_transport *t, int worker, float *params, float *state, mt_ticket *tk)
{
    struct delay_run *run = (struct delay_run *)t;
    mt_ps *ps = run->base.ps;
    mt_ps_server *s = ps->server;
    mt_delay *d = &ps->delay;
    struct ps_worker *w = &ps->w[0];
    int64_t k = run->k;
    if (k >= ps->end || ps_should_stop(ps)) {
        w->finished = 1;
        return 0;
    }
    double t0 = mt_now();
    /* What a worker pulling at version k reads (theta_k; dana's look-ahead)
     * goes into the ring. */
    float *slot = mt_delay_slot(d, k);
    if (slot)
        mt_ps_server_read(s, slot);
    run->rng_before = d->rng;
    int64_t tau = mt_delay_draw(d);
    if (tau > k)
        tau = k; /* before step tau: theta_0 */
    if (tau == 0)
        mt_ps_server_read(s, params);
    else
        memcpy(params, mt_delay_slot(d, k - tau), ps->n * sizeof(float));
    w->params = params;
    /* The worker starts from the current state: its push replaces it. */
    if (state && ps->n_state)
        memcpy(state, mt_ps_server_state(s), ps->n_state * sizeof(float));
    tk->version = k - tau;
    tk->batch = k;
    ps_mark_pulled(w, t0);
    return 1;
}

static int delay_push(mt_transport *t, int worker, const float *grad, const float *state,
                      const mt_ticket *tk)
{
    struct delay_run *run = (struct delay_run *)t;
    mt_ps *ps = run->base.ps;
    struct ps_worker *w = &ps->w[0];
    double t2 = mt_now();
    ps_mark_push(w, t2);
    /* dana: worker k mod (N + 1), the round-robin workers a fixed delay N models. */
    int64_t got = mt_ps_push_from(ps->server, (int)(run->k % ps->method_workers), grad, w->params,
                                  tk->version, ps->n_state ? state : NULL, NULL, NULL);
    w->time.push_s += mt_now() - t2;
    if (got < 0)
        return (int)got;
    ps_record_tau(ps, w, got);
    run->k++;
    if (run->k % ps->cfg.steps_per_epoch == 0)
        ps_epoch_close(ps, run->k);
    return MT_OK;
}

/* Step k failed before its push: its delay is drawn again when a resumed
 * run takes step k, as the run that did not fail drew it. */
static void delay_fail(mt_transport *t, int worker, int status)
{
    struct delay_run *run = (struct delay_run *)t;
    run->base.ps->delay.rng = run->rng_before;
    ps_transport_fail(t, worker, status);
}

int ps_run_delay(mt_ps *ps)
{
    struct delay_run run = {.base = {{delay_pull, delay_push, delay_fail}, ps},
                            .k = mt_ps_server_version(ps->server)};
    ps->w[0].t_mark = mt_now();
    ps_run_workers(ps, &run.base.t);
    return MT_OK;
}
