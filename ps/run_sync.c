/* run_sync.c: the synchronous baseline: W worker threads compute at the same
 * version, their gradients are averaged in worker order and one step is
 * taken. Three barriers per step, four at an epoch end:
 *   A  (in pull) worker 0 has decided whether to go on (quit);
 *   B  (in push) every gradient and state of step k has been pushed;
 *   C  (in push) every slice of theta has been updated;
 *   D  (in push, epoch ends) worker 0 has run the epoch callback.
 * Between B and C worker w averages and applies its own slice of the buffer,
 * so the update is spread over the workers; the result does not depend on the
 * split (the update is elementwise), hence not on W's threads either.
 *
 * Copies per step: the pull copies theta_k and the BN state into the
 * worker's buffers; the push records pointers to the worker's gradient and
 * state, which stay valid because the push returns only after C. Averaging
 * reads them in worker order (W = 1: the gradient is applied in place).
 *
 * The barriers give up when the run fails (ps->status), so a worker that
 * fails or never starts leaves nobody waiting. */
#include "ps/ps_impl.h"

#include "core/clock.h"
#include "core/status.h"


struct sync_run {
    struct ps_transport base; /* first: the workers are handed &base.t */
    int arrived;        /* at the barrier, under ps->m */
    int64_t generation; /* barriers passed, under ps->m */
    int quit;           /* written by worker 0 before A, read by all after A */
};

/* Waits until all W workers have arrived; -1 (at once) when the run has
 * failed. `quit` (may be NULL) gets worker 0's decision, read under the lock:
 * after a failure worker 0 may already be writing the next one. */
static int barrier(struct sync_run *run, int *quit)
{
    mt_ps *ps = run->base.ps;
    pthread_mutex_lock(&ps->m);
    int64_t gen = run->generation;
    if (ps->status == 0 && ++run->arrived == ps->n_workers) {
        run->arrived = 0;
        run->generation++;
        pthread_cond_broadcast(&ps->cv);
    }
    while (ps->status == 0 && gen == run->generation)
        pthread_cond_wait(&ps->cv, &ps->m);
    int failed = ps->status != 0;
    if (quit)
        *quit = run->quit;
    pthread_mutex_unlock(&ps->m);
    return failed ? -1 : 0;
}

/* Slice w of W of [0, n), on 16-float boundaries. */
static void slice(size_t n, int w, int nw, size_t *b, size_t *e)
{
    size_t units = (n + 15) / 16;
    *b = units * (size_t)w / (size_t)nw * 16;
    *e = units * (size_t)(w + 1) / (size_t)nw * 16;
    if (*b > n)
        *b = n;
    if (*e > n)
        *e = n;
}

static int sync_pull(mt_transport *t, int worker, float *params, float *state, mt_ticket *tk)
{
    struct sync_run *run = (struct sync_run *)t;
    mt_ps *ps = run->base.ps;
    mt_ps_server *s = ps->server;
    struct ps_worker *w = &ps->w[worker];
    if (worker == 0) {
        pthread_mutex_lock(&ps->m);
        run->quit = ps_should_stop(ps) || mt_ps_server_version(s) >= ps->end;
        pthread_mutex_unlock(&ps->m);
    }
    int quit;
    int failed = barrier(run, &quit); /* A */
    double t1 = mt_now();
    w->time.wait_s += t1 - w->t_mark;
    if (failed || quit) {
        w->finished = 1;
        return 0;
    }
    /* Nobody writes the server between A and B: every worker gets theta_k. */
    int64_t k = mt_ps_pull(s, params, ps->n_state ? state : NULL);
    w->params = params;
    tk->version = k;
    tk->batch = k * ps->n_workers + worker;
    ps_mark_pulled(w, t1);
    return 1;
}

static int sync_push(mt_transport *t, int worker, const float *grad, const float *state,
                     const mt_ticket *tk)
{
    struct sync_run *run = (struct sync_run *)t;
    mt_ps *ps = run->base.ps;
    mt_ps_server *s = ps->server;
    struct ps_worker *w = &ps->w[worker];
    int nw = ps->n_workers;
    double t2 = mt_now();
    ps_mark_push(w, t2);
    w->grad = grad;
    w->state = state;
    int failed = barrier(run, NULL); /* B */
    double t3 = mt_now();
    w->time.wait_s += t3 - t2;
    w->t_mark = t3;
    if (failed)
        return MT_OK; /* the push is dropped; the next pull ends the run */
    int64_t k = tk->version;
    size_t b, e;
    slice(ps->n, worker, nw, &b, &e);
    const float *g = grad;
    const float *src[nw];
    if (nw > 1) {
        for (int j = 0; j < nw; j++)
            src[j] = ps->w[j].grad;
        mt_ps_average(ps->avg_grad, src, nw, b, e);
        g = ps->avg_grad;
    }
    mt_ps_server_apply_range(s, g, k, b, e);
    if (worker == 0) {
        if (ps->n_state && state) {
            const float *st = state;
            if (nw > 1) {
                for (int j = 0; j < nw; j++)
                    src[j] = ps->w[j].state;
                mt_ps_average(ps->avg_state, src, nw, 0, ps->n_state);
                st = ps->avg_state;
            }
            mt_ps_server_set_state(s, st);
        }
        for (int j = 0; j < nw; j++)
            ps_record_tau(ps, w, 0);
    }
    double t4 = mt_now();
    w->time.push_s += t4 - t3;
    failed = barrier(run, NULL); /* C */
    int epoch_end = (k + 1) % ps->cfg.steps_per_epoch == 0;
    if (!failed && worker == 0) {
        mt_ps_server_advance(s);
        if (epoch_end) {
            pthread_mutex_lock(&ps->m);
            ps_epoch_close(ps, k + 1);
            pthread_mutex_unlock(&ps->m);
        }
    }
    /* D: at an epoch end the others wait for the callback without touching
     * anything it may read (their timing included). */
    if (!failed && epoch_end)
        barrier(run, NULL);
    w->t_mark = mt_now();
    w->time.wait_s += w->t_mark - t4;
    return MT_OK;
}

int ps_run_sync(mt_ps *ps)
{
    struct sync_run run = {.base = {{sync_pull, sync_push, ps_transport_fail}, ps}};
    double now = mt_now();
    for (int i = 0; i < ps->n_workers; i++)
        ps->w[i].t_mark = now;
    ps_run_workers(ps, &run.base.t);
    return MT_OK;
}
