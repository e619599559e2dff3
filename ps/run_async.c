/* run_async.c: the asynchronous mode: W worker threads, each looping
 * pull -> grad -> push on its own copy of theta; nothing orders them but the
 * server's locks, so tau is whatever the race produces.
 *
 * Work is handed out as tickets (batch numbers) from one counter under ps->m.
 * Tickets at or beyond the next epoch end (the gate) wait until every earlier
 * ticket has been pushed; the worker whose push completes the epoch then runs
 * the epoch callback on a quiescent server and opens the gate. Apart from
 * that, the lock ps->m is taken twice per step for a few instructions, never
 * across a pull, a gradient or a push. */
#include "ps/ps_impl.h"

#include "core/status.h"

#include <string.h>

struct async_run {
    mt_ps *ps;
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
    mt_ps *ps = run->ps;
    int64_t t = -1;
    pthread_mutex_lock(&ps->m);
    while (!ps_should_stop(ps) && run->next >= run->gate && run->gate < ps->end)
        pthread_cond_wait(&ps->cv, &ps->m);
    if (!ps_should_stop(ps) && run->next < ps->end)
        t = run->next++;
    tm->wait_s += ps_now() - since;
    pthread_mutex_unlock(&ps->m);
    return t;
}

/* Counts one pushed ticket; the push that completes an epoch closes it. */
static void ticket_done(struct async_run *run)
{
    mt_ps *ps = run->ps;
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

static void *async_worker(void *arg)
{
    struct ps_worker *w = arg;
    mt_ps *ps = w->ps;
    struct async_run *run = (struct async_run *)ps->run_ctx;
    mt_ps_server *s = ps->server;
    size_t state_bytes = ps->n_state * sizeof(float);
    ps_set_threads(ps);
    mt_ps_timing *tm = &w->time;
    double t0 = ps_now();
    for (;;) {
        int64_t t = take_ticket(run, tm, t0);
        double t1 = ps_now();
        if (t < 0)
            break;
        int64_t v = mt_ps_pull(s, w->theta, w->state_read);
        if (state_bytes)
            memcpy(w->state, w->state_read, state_bytes);
        double t2 = ps_now();
        int rc = ps->cfg.grad(w->ctx, w->theta, v, t, w->state, w->grad);
        double t3 = ps_now();
        tm->pull_s += t2 - t1;
        tm->grad_s += t3 - t2;
        tm->gradients++;
        if (rc < 0) {
            ps_fail(ps, rc);
            break;
        }
        int64_t tau = mt_ps_push(s, w->grad, v, state_bytes ? w->state : NULL, w->state_read,
                                 NULL);
        t0 = ps_now();
        tm->push_s += t0 - t3;
        if (tau < 0) {
            ps_fail(ps, (int)tau);
            break;
        }
        mt_tau_hist_add(&w->hist, tau);
        ticket_done(run);
    }
    return NULL;
}

int ps_run_async(mt_ps *ps)
{
    int64_t v = mt_ps_server_version(ps->server);
    struct async_run run = {.ps = ps, .next = v, .done = v, .gate = next_gate(ps, v)};
    ps->run_ctx = &run;
    int started = 0;
    for (; started < ps->n_workers; started++)
        if (pthread_create(&ps->w[started].thread, NULL, async_worker, &ps->w[started]) != 0)
            break;
    if (started < ps->n_workers) {
        mt_error(MT_ERR_LIB, "ps: cannot start async worker %d of %d", started, ps->n_workers);
        ps_fail(ps, MT_ERR_LIB);
    }
    for (int i = 0; i < started; i++)
        pthread_join(ps->w[i].thread, NULL);
    ps->run_ctx = NULL;
    return MT_OK;
}
