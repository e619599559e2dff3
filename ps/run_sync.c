/* run_sync.c: the synchronous baseline: W worker threads compute at the same
 * version, their gradients are averaged in worker order and one step is
 * taken. Three barriers per step, four at an epoch end:
 *   A  thread 0 has decided whether to go on (quit);
 *   B  every gradient and state of step k is written;
 *   C  every slice of theta has been updated;
 *   D  (epoch ends) thread 0 has run the epoch callback.
 * Between B and C thread w averages and applies its own slice of the buffer,
 * so the update is spread over the workers; the result does not depend on the
 * split (the update is elementwise), hence not on W's threads either. */
#include "ps/ps_impl.h"

#include "core/status.h"

#include <string.h>

struct sync_run {
    mt_ps *ps;
    pthread_barrier_t bar;
    int quit; /* written by thread 0 before A, read by all after A */
    int go;   /* start gate, under ps->m: 1 all threads started, -1 abort */
};

struct sync_arg {
    struct sync_run *run;
    struct ps_worker *w;
};

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

/* dst[b..e) = (sum over workers of src_w[b..e)) / W, summed in worker order. */
static void average(float *dst, mt_ps *ps, int use_state, size_t b, size_t e)
{
    int nw = ps->n_workers;
    const float inv = (float)nw;
    for (size_t i = b; i < e; i++) {
        float acc = 0.0f;
        for (int j = 0; j < nw; j++)
            acc += use_state ? ps->w[j].state[i] : ps->w[j].grad[i];
        dst[i] = acc / inv;
    }
}

static void *sync_worker(void *arg_)
{
    struct sync_arg *arg = arg_;
    struct sync_run *run = arg->run;
    struct ps_worker *w = arg->w;
    mt_ps *ps = run->ps;
    mt_ps_server *s = ps->server;
    int nw = ps->n_workers;
    pthread_mutex_lock(&ps->m);
    while (run->go == 0)
        pthread_cond_wait(&ps->cv, &ps->m);
    int go = run->go;
    pthread_mutex_unlock(&ps->m);
    if (go < 0)
        return NULL;
    ps_set_threads(ps);
    mt_ps_timing *tm = &w->time;
    double t0 = ps_now();
    for (;;) {
        if (w->id == 0) {
            pthread_mutex_lock(&ps->m);
            run->quit = ps_should_stop(ps) || mt_ps_server_version(s) >= ps->end;
            pthread_mutex_unlock(&ps->m);
        }
        pthread_barrier_wait(&run->bar); /* A */
        double t1 = ps_now();
        tm->wait_s += t1 - t0;
        if (run->quit)
            break;
        int64_t k = mt_ps_server_version(s);
        if (ps->n_state)
            memcpy(w->state, mt_ps_server_state(s), ps->n_state * sizeof(float));
        int rc = ps->cfg.grad(w->ctx, mt_ps_server_theta(s), k, k * nw + w->id, w->state,
                              w->grad);
        if (rc < 0)
            ps_fail(ps, rc);
        double t2 = ps_now();
        tm->grad_s += t2 - t1;
        tm->gradients++;
        pthread_barrier_wait(&run->bar); /* B */
        double t3 = ps_now();
        tm->wait_s += t3 - t2;
        pthread_mutex_lock(&ps->m);
        int failed = ps->status != 0;
        pthread_mutex_unlock(&ps->m);
        if (failed)
            break; /* every thread sees the same status here: all leave together */
        size_t b, e;
        slice(ps->n, w->id, nw, &b, &e);
        const float *g = w->grad;
        if (nw > 1) {
            average(ps->avg_grad, ps, 0, b, e);
            g = ps->avg_grad;
        }
        mt_ps_server_apply_range(s, g, k, b, e);
        if (w->id == 0) {
            if (ps->n_state) {
                const float *st = w->state;
                if (nw > 1) {
                    average(ps->avg_state, ps, 1, 0, ps->n_state);
                    st = ps->avg_state;
                }
                memcpy(mt_ps_server_state(s), st, ps->n_state * sizeof(float));
            }
            for (int j = 0; j < nw; j++)
                mt_tau_hist_add(&w->hist, 0);
        }
        double t4 = ps_now();
        tm->push_s += t4 - t3;
        pthread_barrier_wait(&run->bar); /* C */
        int epoch_end = (k + 1) % ps->cfg.steps_per_epoch == 0;
        if (w->id == 0) {
            mt_ps_server_advance(s);
            if (epoch_end) {
                pthread_mutex_lock(&ps->m);
                ps_epoch_close(ps, k + 1);
                pthread_mutex_unlock(&ps->m);
            }
        }
        /* D: at an epoch end the others wait for the callback without
         * touching anything it may read (their timing included). */
        if (epoch_end)
            pthread_barrier_wait(&run->bar);
        t0 = ps_now();
        tm->wait_s += t0 - t4;
    }
    return NULL;
}

int ps_run_sync(mt_ps *ps)
{
    int nw = ps->n_workers;
    struct sync_run run = {.ps = ps, .quit = 0, .go = 0};
    struct sync_arg args[nw];
    if (pthread_barrier_init(&run.bar, NULL, (unsigned)nw) != 0)
        return mt_error(MT_ERR_LIB, "ps: cannot create a barrier for %d workers", nw);
    int started = 0;
    for (; started < nw; started++) {
        args[started] = (struct sync_arg){&run, &ps->w[started]};
        if (pthread_create(&ps->w[started].thread, NULL, sync_worker, &args[started]) != 0)
            break;
    }
    /* The barriers need all W threads: open the gate only when all exist. */
    pthread_mutex_lock(&ps->m);
    run.go = started == nw ? 1 : -1;
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->m);
    for (int i = 0; i < started; i++)
        pthread_join(ps->w[i].thread, NULL);
    pthread_barrier_destroy(&run.bar);
    if (started < nw)
        return mt_error(MT_ERR_LIB, "ps: cannot start sync worker %d of %d", started, nw);
    return MT_OK;
}
