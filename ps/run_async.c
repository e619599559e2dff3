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
#include "ps/stale_bound.h"

#include <string.h>

struct async_run {
    struct ps_transport base; /* first: the workers are handed &base.t */
    int64_t next; /* next ticket to hand out */
    int64_t done; /* pushes applied */
    int64_t out;  /* tickets handed out and not yet pushed (or dropped) */
    int64_t gate; /* versions the handed-out tickets may reach: the next epoch end or the run's end */
};

/* Bounded staleness (max_staleness S >= 0, ps.h). Every pull and push then
 * happens under ps->m, so the version k seen here is the one the push gets.
 * The wait policy's rule is ps/stale_bound.h's. */
static int bounded(const mt_ps *ps) { return ps->cfg.max_staleness >= 0; }

static int push_admissible(const mt_ps *ps, int worker)
{
    int64_t inflight[ps->n_workers];
    for (int i = 0; i < ps->n_workers; i++)
        inflight[i] = ps->w[i].inflight;
    return ps->w[worker].inflight <=
           mt_stale_admissible_upto(inflight, ps->n_workers, mt_ps_server_version(ps->server),
                                    ps->cfg.max_staleness);
}

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
    int64_t S = ps->cfg.max_staleness;
    int wait_policy = bounded(ps) && ps->cfg.stale_policy == MT_PS_STALE_WAIT;
    while (!ps_should_stop(ps) &&
           ((run->done + run->out >= run->gate && run->gate < ps->end) ||
            (wait_policy && run->out >= S + 1 && run->done + run->out < ps->end)))
        pthread_cond_wait(&ps->cv, &ps->m);
    if (!ps_should_stop(ps) && run->done + run->out < ps->end) {
        t = run->next++;
        run->out++;
    }
    tm->wait_s += mt_now() - since;
    if (!bounded(ps) || t < 0)
        pthread_mutex_unlock(&ps->m);
    /* bounded: the caller pulls under ps->m and unlocks */
    return t;
}

/* Counts one pushed (applied or dropped) ticket, caller holding ps->m; the
 * push that completes an epoch closes it. */
static void ticket_done_locked(struct async_run *run, int applied)
{
    mt_ps *ps = run->base.ps;
    run->out--;
    run->done += applied;
    if (!applied)
        pthread_cond_broadcast(&ps->cv); /* a ticket to hand out again */
    if (applied && run->done == run->gate) {
        /* Every ticket below the gate is pushed and none beyond it handed
         * out: the server is quiescent at version `gate`. */
        if (run->gate % ps->cfg.steps_per_epoch == 0)
            ps_epoch_close(ps, run->gate);
        run->gate = next_gate(ps, run->gate);
        pthread_cond_broadcast(&ps->cv);
    }
}

static void ticket_done(struct async_run *run)
{
    pthread_mutex_lock(&run->base.ps->m);
    ticket_done_locked(run, 1);
    pthread_mutex_unlock(&run->base.ps->m);
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
    if (bounded(ps)) { /* take_ticket left ps->m locked */
        w->inflight = tk->version;
        pthread_mutex_unlock(&ps->m);
    }
    tk->batch = ticket;
    if (state && ps->n_state)
        memcpy(state, w->state_read, ps->n_state * sizeof(float));
    ps_mark_pulled(w, t1);
    return 1;
}

/* A push under bounded staleness: under ps->m throughout (see above). */
static int bounded_push(struct async_run *run, int worker, const float *grad, const float *state,
                        const mt_ticket *tk, double t0)
{
    mt_ps *ps = run->base.ps;
    struct ps_worker *w = &ps->w[worker];
    pthread_mutex_lock(&ps->m);
    if (ps->cfg.stale_policy == MT_PS_STALE_WAIT)
        while (ps->status == 0 && !push_admissible(ps, worker))
            pthread_cond_wait(&ps->cv, &ps->m);
    int64_t tau = mt_ps_server_version(ps->server) - tk->version;
    int drop = ps->cfg.stale_policy == MT_PS_STALE_DROP && tau > ps->cfg.max_staleness;
    if (!drop)
        tau = mt_ps_push_from(ps->server, worker, grad, w->params, tk->version,
                              ps->n_state ? state : NULL, w->state_read, NULL);
    w->inflight = -1;
    /* The push's time is counted before its ticket is done, as in the
     * unbounded push: the epoch end that the ticket completes (in this or
     * another worker's thread) reads every worker's times. */
    w->t_mark = mt_now();
    w->time.push_s += w->t_mark - t0;
    if (drop) {
        ps->dropped++;
        ticket_done_locked(run, 0);
    } else if (tau >= 0) {
        mt_tau_hist_add(&w->hist, tau);
        ticket_done_locked(run, 1);
    }
    if (!drop)
        pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->m);
    return drop || tau >= 0 ? MT_OK : (int)tau;
}

static int async_push(mt_transport *t, int worker, const float *grad, const float *state,
                      const mt_ticket *tk)
{
    struct async_run *run = (struct async_run *)t;
    mt_ps *ps = run->base.ps;
    struct ps_worker *w = &ps->w[worker];
    double t0 = mt_now();
    ps_mark_push(w, t0);
    if (bounded(ps))
        return bounded_push(run, worker, grad, state, tk, t0);
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
                            .out = 0,
                            .gate = next_gate(ps, v)};
    double now = mt_now();
    for (int i = 0; i < ps->n_workers; i++) {
        ps->w[i].t_mark = now;
        ps->w[i].inflight = -1;
    }
    ps_run_workers(ps, &run.base.t);
    return MT_OK;
}
