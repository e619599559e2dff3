/* run_async.c: the asynchronous mode: W worker threads, each looping
 * pull -> gradient -> push on its own buffers; nothing orders them but the
 * server's locks, so tau is whatever the race produces.
 *
 * Work is handed out as tickets (batch numbers) from one counter under ps->m.
 * Tickets at or beyond the next epoch end (the gate) wait until every earlier
 * ticket has been pushed; the worker whose push completes the epoch then runs
 * the epoch callback on a quiescent server and opens the gate. Apart from
 * that, the lock ps->m is taken twice per step for a few instructions, never
 * across a pull, a gradient or a push.
 *
 * Copies per step: the pull copies theta_v from the server into the worker's
 * parameters (the transfer itself) and the BN state twice (into the worker's
 * state and into the copy the merge needs); the push reads the worker's
 * gradient in place. */
#include "ps/ps_impl.h"

#include "core/clock.h"
#include "core/status.h"

#include <string.h>

struct async_run {
    struct ps_transport base; /* first: the workers are handed &base.t */
    int64_t next; /* next ticket to hand out */
    int64_t done; /* tickets pushed (all below `next`) */
    int64_t gate; /* tickets below it may be handed out: the next epoch end or the run's end */
};

static int64_t next_gate(const mt_ps *ps, int64_t v)
{
    int64_t spe = ps->cfg.steps_per_epoch;
    int64_t g = (v / spe + 1) * spe;
    return g < ps->end ? g : ps->end;
}

/* Takes the next ticket, waiting at an epoch end; -1 when the run is over
 * for this worker. The time since `since` counts as waiting; it is added
 * under the lock because an epoch callback may be reading it. */
static int64_t take_ticket(struct async_run *run, mt_ps_timing *tm, double since)
{
    mt_ps *ps = run->base.ps;
    int64_t t = -1;
    pthread_mutex_lock(&ps->m);
    while (!ps_should_stop(ps) && run->next >= run->gate && run->gate < ps->end)
        pthread_cond_wait(&ps->cv, &ps->m);
    if (!ps_should_stop(ps) && run->next < ps->end)
        t = run->next++;
    tm->wait_s += mt_now() - since;
    pthread_mutex_unlock(&ps->m);
    return t;
}

/* Counts one pushed ticket; the push that completes an epoch closes it. */
static void ticket_done(struct async_run *run)
{
    mt_ps *ps = run->base.ps;
    pthread_mutex_lock(&ps->m);
    run->done++;
    if (run->done == run->gate) {
        /* Every ticket below the gate is pushed and none beyond it handed
         * out: the server is quiescent at version `gate`. */
        if (run->gate % ps->cfg.steps_per_epoch == 0)
            ps_epoch_close(ps, run->gate);
        run->gate = next_gate(ps, run->gate);
        pthread_cond_broadcast(&ps->cv);
    }
    pthread_mutex_unlock(&ps->m);
}

static int async_pull(mt_transport *t, int worker, float *params, float *state, mt_ticket *tk)
{
    struct async_run *run = (struct async_run *)t;
    mt_ps *ps = run->base.ps;
    struct ps_worker *w = &ps->w[worker];
    int64_t ticket = take_ticket(run, &w->time, w->t_mark);
    if (ticket < 0) {
        w->finished = 1;
        return 0;
    }
    double t1 = mt_now();
    /* theta_v straight into the worker's parameters; the state as pulled is
     * kept for the merge at the push. */
    tk->version = mt_ps_pull(ps->server, params, w->state_read);
    w->params = params;
    tk->batch = ticket;
    if (state && ps->n_state)
        memcpy(state, w->state_read, ps->n_state * sizeof(float));
    ps_mark_pulled(w, t1);
    return 1;
}

static int async_push(mt_transport *t, int worker, const float *grad, const float *state,
                      const mt_ticket *tk)
{
    struct async_run *run = (struct async_run *)t;
    mt_ps *ps = run->base.ps;
    struct ps_worker *w = &ps->w[worker];
    double t0 = mt_now();
    ps_mark_push(w, t0);
    int64_t tau = mt_ps_push_from(ps->server, worker, grad, w->params, tk->version,
                                  ps->n_state ? state : NULL, w->state_read, NULL);
    w->t_mark = mt_now();
    w->time.push_s += w->t_mark - t0;
    if (tau < 0)
        return (int)tau;
    ps_record_tau(ps, w, tau);
    ticket_done(run);
    return MT_OK;
}

int ps_run_async(mt_ps *ps)
{
    int64_t v = mt_ps_server_version(ps->server);
    struct async_run run = {.base = {{async_pull, async_push, ps_transport_fail}, ps},
                            .next = v,
                            .done = v,
                            .gate = next_gate(ps, v)};
    double now = mt_now();
    for (int i = 0; i < ps->n_workers; i++)
        ps->w[i].t_mark = now;
    ps_run_workers(ps, &run.base.t);
    return MT_OK;
}
