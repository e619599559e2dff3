/* mpi_serve.c: a server rank's message loop and its shard's side of the
 * protocol (ps/mpi_impl.h): answering pulls straight from the shard's theta,
 * receiving pushes and applying them with the in-process server's calls.
 * Rank 0's decisions (tickets, gates, epochs, the end) are mpi_coord.c's. */
#include "ps/mpi_server_impl.h"

#include "core/status.h"
#include "ps/ps.h"

#include <string.h>
#include <time.h>

int mpi_worker_rank(const mt_mpi_server *srv, int w) { return srv->S + w; }

int mpi_wait_pulls(mt_mpi_server *srv)
{
    return MT_MPI(MPI_Waitall(srv->W, srv->theta_req, MPI_STATUSES_IGNORE));
}

int mpi_serve_pull(mt_mpi_server *srv, int w)
{
    struct mpi_peer *p = &srv->peer[w];
    MPI_Comm c = srv->m->data;
    int dst = mpi_worker_rank(srv, w);
    const float *send = mt_ps_server_theta(srv->shard);
    p->version_read = mt_ps_server_version(srv->shard);
    int rc = MT_MPI(MPI_Wait(&srv->theta_req[w], MPI_STATUS_IGNORE));
    if (rc == MT_OK && srv->pull_copy) {
        /* What the in-process pull gives worker w (dana: the look-ahead), into
         * w's copy, which its push needs again (dc-asgd: theta_read). */
        float *copy = srv->pull_copy + (size_t)w * srv->copy_stride;
        mt_ps_pull(srv->shard, copy, NULL);
        send = copy;
    }
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Isend(send, (int)srv->len, MPI_FLOAT, dst, TAG_THETA, c,
                              &srv->theta_req[w]));
    if (rc == MT_OK && srv->n_state) {
        /* Sent from the worker's own copy, which the BN merge of its push needs. */
        rc = MT_MPI(MPI_Wait(&srv->state_req[w], MPI_STATUS_IGNORE));
        if (rc == MT_OK) {
            memcpy(p->state_read, mt_ps_server_state(srv->shard), srv->n_state * sizeof(float));
            rc = MT_MPI(MPI_Isend(p->state_read, (int)srv->n_state, MPI_FLOAT, dst, TAG_STATE, c,
                                  &srv->state_req[w]));
        }
    }
    if (rc == MT_OK && srv->rank == 0) {
        rc = MT_MPI(MPI_Wait(&srv->ticket_req[w], MPI_STATUS_IGNORE));
        if (rc == MT_OK)
            rc = MT_MPI(MPI_Isend(&p->ticket, 3, MPI_INT64_T, dst, TAG_TICKET, c,
                                  &srv->ticket_req[w]));
    }
    p->pulls++;
    return rc;
}

int mpi_serve_end(mt_mpi_server *srv, int w)
{
    struct mpi_peer *p = &srv->peer[w];
    MPI_Comm c = srv->m->data;
    int dst = mpi_worker_rank(srv, w);
    /* Empty messages complete the worker's receives without touching its buffers. */
    int rc = MT_MPI(MPI_Wait(&srv->theta_req[w], MPI_STATUS_IGNORE));
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Isend(mt_ps_server_theta(srv->shard), 0, MPI_FLOAT, dst, TAG_THETA, c,
                              &srv->theta_req[w]));
    if (rc == MT_OK && srv->n_state) {
        rc = MT_MPI(MPI_Wait(&srv->state_req[w], MPI_STATUS_IGNORE));
        if (rc == MT_OK)
            rc = MT_MPI(MPI_Isend(p->state_read, 0, MPI_FLOAT, dst, TAG_STATE, c,
                                  &srv->state_req[w]));
    }
    if (rc == MT_OK && srv->rank == 0) {
        p->ticket = (struct ticket_msg){0, 0, 0};
        rc = MT_MPI(MPI_Wait(&srv->ticket_req[w], MPI_STATUS_IGNORE));
        if (rc == MT_OK)
            rc = MT_MPI(MPI_Isend(&p->ticket, 3, MPI_INT64_T, dst, TAG_TICKET, c,
                                  &srv->ticket_req[w]));
    }
    return rc;
}

/* Ranks > 0: a grant that waited for the worker's previous push. */
static int serve_granted(mt_mpi_server *srv, int w)
{
    struct mpi_peer *p = &srv->peer[w];
    if (!p->grant || p->pushes < p->pulls)
        return MT_OK;
    p->grant = 0;
    return mpi_serve_pull(srv, w);
}

/* Sync: all W gradients of the step are here. The in-process sync mode's
 * arithmetic: average in worker order, one step on the shard, the states
 * averaged likewise (rank 0). */
static int sync_step(mt_mpi_server *srv)
{
    int rc = mpi_wait_pulls(srv);
    if (rc < 0)
        return rc;
    int W = srv->W;
    double t0 = MPI_Wtime();
    int64_t k = mt_ps_server_version(srv->shard);
    const float *g = srv->peer[0].grad;
    if (W > 1) {
        for (int j = 0; j < W; j++)
            srv->src[j] = srv->peer[j].grad;
        mt_ps_average(srv->avg_grad, srv->src, W, 0, srv->len);
        g = srv->avg_grad;
    }
    mt_ps_server_apply_range(srv->shard, g, k, 0, srv->len);
    if (srv->n_state) {
        const float *st = srv->peer[0].state_new;
        if (W > 1) {
            for (int j = 0; j < W; j++)
                srv->src[j] = srv->peer[j].state_new;
            mt_ps_average(srv->avg_state, srv->src, W, 0, srv->n_state);
            st = srv->avg_state;
        }
        memcpy(mt_ps_server_state(srv->shard), st, srv->n_state * sizeof(float));
    }
    mt_ps_server_advance(srv->shard);
    srv->apply_s += MPI_Wtime() - t0;
    for (int j = 0; j < W; j++) {
        srv->peer[j].pushes++;
        srv->peer[j].has_grad = 0;
    }
    srv->step_grads = 0;
    srv->pushes += W;
    if (srv->rank == 0)
        return mpi_coord_stepped(srv);
    for (int j = 0; j < W && rc == MT_OK; j++)
        rc = serve_granted(srv, j);
    return rc;
}

static int async_push(mt_mpi_server *srv, int w)
{
    struct mpi_peer *p = &srv->peer[w];
    /* Pulls sent straight from theta must leave before it changes; pulls
     * sent from the workers' copies need not wait. */
    int rc = srv->pull_copy ? MT_OK : mpi_wait_pulls(srv);
    if (rc < 0)
        return rc;
    double t0 = MPI_Wtime();
    const float *read = srv->pull_copy ? srv->pull_copy + (size_t)w * srv->copy_stride : NULL;
    int64_t tau = mt_ps_push_from(srv->shard, w, srv->grad, read, p->version_read,
                                  srv->n_state ? srv->state_new : NULL, p->state_read, NULL);
    srv->apply_s += MPI_Wtime() - t0;
    if (tau < 0)
        return mt_error_context((int)tau, "mpi: rank %d: push of worker %d", srv->rank, w);
    p->pushes++;
    srv->pushes++;
    if (srv->rank == 0)
        return mpi_coord_pushed(srv, w, tau);
    mt_tau_hist_add(&srv->tau_total, tau); /* this shard's own */
    return serve_granted(srv, w);
}

/* A push not applied (dropped): a server rank > 0 answers w's next grant
 * all the same. */
static int push_dropped(mt_mpi_server *srv, int w)
{
    srv->peer[w].pushes++;
    return srv->rank == 0 ? MT_OK : serve_granted(srv, w);
}

int mpi_take_push(mt_mpi_server *srv, int w, int apply)
{
    struct mpi_peer *p = &srv->peer[w];
    int rc = MT_MPI(MPI_Mrecv(srv->grad, (int)srv->len, MPI_FLOAT, &p->grad_msg,
                              MPI_STATUS_IGNORE));
    if (rc == MT_OK && srv->n_state)
        rc = MT_MPI(MPI_Mrecv(srv->state_new, (int)srv->n_state, MPI_FLOAT, &p->state_msg,
                              MPI_STATUS_IGNORE));
    if (rc < 0)
        return rc;
    return apply ? async_push(srv, w) : push_dropped(srv, w);
}

/* The gradient's size checked against the shard's. */
static int grad_count(mt_mpi_server *srv, const MPI_Status *st, int twice)
{
    int count = 0;
    int rc = MT_MPI(MPI_Get_count(st, MPI_FLOAT, &count));
    if (rc < 0)
        return rc;
    if ((size_t)count != srv->len || twice)
        return mt_error(MT_ERR_FORMAT, "mpi: rank %d: worker rank %d pushed %d floats for a "
                        "shard of %zu%s", srv->rank, st->MPI_SOURCE, count, srv->len,
                        twice ? " twice in one step" : "");
    return MT_OK;
}

/* Rank 0: the push's report, sent right behind shard 0's gradient. */
static int take_report(mt_mpi_server *srv, int w)
{
    if (srv->cfg.n_report <= 0)
        return MT_OK;
    int rc = MT_MPI(MPI_Recv(srv->report, srv->cfg.n_report, MPI_DOUBLE,
                             mpi_worker_rank(srv, w), TAG_REPORT, srv->m->data,
                             MPI_STATUS_IGNORE));
    int r = rc == MT_OK && srv->cfg.on_report
                ? srv->cfg.on_report(srv->cfg.report_ctx, w, srv->peer[w].ticket.batch,
                                     srv->report)
                : MT_OK;
    return r < 0 ? mpi_coord_error(srv, r) : rc;
}

/* Bounded staleness (ps/mpi_impl.h). Rank 0: the push is matched, its report
 * taken, its gradient and state left in MPI until the push is decided. Ranks
 * > 0: the gradient of the push rank 0 sequenced next. */
static int bounded_grad(mt_mpi_server *srv, int w, MPI_Message *msg, MPI_Status *st)
{
    struct mpi_peer *p = &srv->peer[w];
    int rc = grad_count(srv, st, 0);
    if (rc < 0)
        return rc;
    if (srv->rank > 0) {
        if (w != srv->expect)
            return mt_error(MT_ERR_FORMAT, "mpi: rank %d: worker rank %d's gradient out of "
                            "rank 0's order", srv->rank, st->MPI_SOURCE);
        p->grad_msg = *msg;
        srv->expect = -1;
        return mpi_take_push(srv, w, srv->expect_apply);
    }
    p->grad_msg = *msg;
    rc = take_report(srv, w);
    if (rc == MT_OK && srv->n_state) {
        MPI_Status sst;
        int count = 0;
        rc = MT_MPI(MPI_Mprobe(st->MPI_SOURCE, TAG_STATE_PUSH, srv->m->data, &p->state_msg,
                               &sst));
        if (rc == MT_OK)
            rc = MT_MPI(MPI_Get_count(&sst, MPI_FLOAT, &count));
        if (rc == MT_OK && (size_t)count != srv->n_state)
            rc = mt_error(MT_ERR_FORMAT, "mpi: rank 0: worker rank %d pushed a state of %d "
                          "floats, not %zu", st->MPI_SOURCE, count, srv->n_state);
    }
    return rc < 0 ? rc : mpi_coord_arrived(srv, w);
}

/* A gradient shard from worker w (and, on rank 0, its state right after). */
static int on_grad(mt_mpi_server *srv, int w, MPI_Message *msg, MPI_Status *st)
{
    struct mpi_peer *p = &srv->peer[w];
    int sync = srv->cfg.mode == MT_PS_SYNC;
    if (mpi_bounded(srv))
        return bounded_grad(srv, w, msg, st);
    int rc = grad_count(srv, st, sync && p->has_grad);
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Mrecv(sync ? p->grad : srv->grad, (int)srv->len, MPI_FLOAT, msg,
                              MPI_STATUS_IGNORE));
    if (rc == MT_OK && srv->rank == 0)
        rc = take_report(srv, w);
    if (rc == MT_OK && srv->n_state)
        rc = MT_MPI(MPI_Recv(sync ? p->state_new : srv->state_new, (int)srv->n_state, MPI_FLOAT,
                             st->MPI_SOURCE, TAG_STATE_PUSH, srv->m->data, MPI_STATUS_IGNORE));
    if (rc < 0)
        return rc;
    if (!sync)
        return async_push(srv, w);
    p->has_grad = 1;
    return ++srv->step_grads == srv->W ? sync_step(srv) : MT_OK;
}

/* Ranks > 0: rank 0's instructions. */
static int on_ctl(mt_mpi_server *srv, int tag, MPI_Message *msg)
{
    struct ctl_msg c;
    int rc = MT_MPI(MPI_Mrecv(&c, 3, MPI_INT64_T, msg, MPI_STATUS_IGNORE));
    if (rc < 0)
        return rc;
    if (tag == TAG_EPOCH) {
        srv->epoch_at = c.value;
        return MT_OK;
    }
    if (tag == TAG_END) {
        srv->end_at = c.value;
        srv->status = (int)c.status;
        return MT_OK;
    }
    if (c.worker < 0 || c.worker >= srv->W || (tag == TAG_SEQ && !mpi_bounded(srv)))
        return mt_error(MT_ERR_FORMAT, "mpi: rank %d: %s for worker %lld of %d", srv->rank,
                        tag == TAG_SEQ ? "sequence" : "grant", (long long)c.worker, srv->W);
    int w = (int)c.worker;
    if (tag == TAG_SEQ) { /* the next message taken is w's gradient */
        srv->expect = w;
        srv->expect_apply = c.value != 0;
        return MT_OK;
    }
    if (!c.value)
        return mpi_serve_end(srv, w);
    srv->peer[w].grant = 1;
    return serve_granted(srv, w);
}

static int on_pull(mt_mpi_server *srv, int w, MPI_Message *msg)
{
    int rc = MT_MPI(MPI_Mrecv(&srv->peer[w].timing, 3, MPI_DOUBLE, msg, MPI_STATUS_IGNORE));
    return rc < 0 ? rc : mpi_coord_pull(srv, w);
}

/* Async, rank 0: the worker that just pushed sends its pull right behind the
 * push; answering it before anybody else's push is what one process does
 * (a worker pulls as soon as its push is in). Without it, equal workers
 * finishing together fall into lockstep (push, push, pull, pull) and tau
 * halves. */
static int pull_behind_push(mt_mpi_server *srv, int w)
{
    int flag = 0;
    MPI_Message msg;
    int rc = MT_MPI(MPI_Improbe(mpi_worker_rank(srv, w), TAG_PULL, srv->m->data, &flag, &msg,
                                MPI_STATUS_IGNORE));
    return rc < 0 || !flag ? rc : on_pull(srv, w, &msg);
}

static int on_message(mt_mpi_server *srv, MPI_Message *msg, MPI_Status *st)
{
    int src = st->MPI_SOURCE, tag = st->MPI_TAG, w = src - srv->S;
    int from_worker = w >= 0 && w < srv->W;
    if (tag == TAG_GRAD && from_worker) {
        int rc = on_grad(srv, w, msg, st);
        if (rc == MT_OK && srv->rank == 0 && srv->cfg.mode == MT_PS_ASYNC)
            rc = pull_behind_push(srv, w);
        return rc;
    }
    if (srv->rank == 0 && tag == TAG_PULL && from_worker)
        return on_pull(srv, w, msg);
    if (srv->rank == 0 && tag == TAG_FAIL && from_worker) {
        struct fail_msg f;
        int rc = MT_MPI(MPI_Mrecv(&f, (int)sizeof f, MPI_BYTE, msg, MPI_STATUS_IGNORE));
        f.message[sizeof f.message - 1] = '\0';
        return rc < 0 ? rc : mpi_coord_fail(srv, w, f.status, f.message);
    }
    if (srv->rank > 0 && src == 0 &&
        (tag == TAG_GRANT || tag == TAG_EPOCH || tag == TAG_END || tag == TAG_SEQ))
        return on_ctl(srv, tag, msg);
    return mt_error(MT_ERR_FORMAT, "mpi: rank %d: unexpected message (tag %d) from rank %d",
                    srv->rank, tag, src);
}

static int requests_done(mt_mpi_server *srv, int *done)
{
    MPI_Request *sets[] = {srv->theta_req, srv->state_req, srv->ticket_req};
    *done = 1;
    for (int i = 0; i < 3 && *done; i++) {
        int rc = MT_MPI(MPI_Testall(srv->W, sets[i], done, MPI_STATUSES_IGNORE));
        if (rc < 0)
            return rc;
    }
    return MT_OK;
}

/* The next message (*got = 1), or *got = 0 when rank 0 sees a stop request
 * (mt_mpi_server_request_stop or the stop_poll callback).
 * Sleeps between polls only when no send is in flight: a large send moves
 * only while this rank calls into MPI. */
static int next_message(mt_mpi_server *srv, MPI_Message *msg, MPI_Status *st, int *got)
{
    int empty = 0;
    /* Bounded, ranks > 0: rank 0's messages in order, and after a TAG_SEQ
     * only that worker's gradient (the others' wait in MPI). */
    int src = MPI_ANY_SOURCE, tag = MPI_ANY_TAG;
    if (srv->rank > 0 && mpi_bounded(srv)) {
        src = srv->expect >= 0 ? mpi_worker_rank(srv, srv->expect) : 0;
        tag = srv->expect >= 0 ? TAG_GRAD : MPI_ANY_TAG;
    }
    for (;;) {
        if (srv->rank == 0 && !srv->stop_seen &&
            (srv->stop_requested || (srv->cfg.stop_poll && srv->cfg.stop_poll()))) {
            *got = 0;
            return MT_OK;
        }
        int flag = 0;
        int rc = MT_MPI(MPI_Improbe(src, tag, srv->m->data, &flag, msg, st));
        if (rc < 0)
            return rc;
        if (flag) {
            *got = 1;
            return MT_OK;
        }
        if (srv->cfg.idle_sleep_us > 0 && ++empty > 64) {
            int idle;
            rc = requests_done(srv, &idle);
            if (rc < 0)
                return rc;
            if (idle) {
                struct timespec ts = {0, 1000L * srv->cfg.idle_sleep_us};
                nanosleep(&ts, NULL);
            }
        }
    }
}

/* Ranks > 0: gather at the epoch's version once this shard has reached it. */
static int shard_quiescent(mt_mpi_server *srv)
{
    if (srv->epoch_at >= 0 && mt_ps_server_version(srv->shard) == srv->epoch_at) {
        srv->epoch_at = -1;
        return mpi_gather(srv);
    }
    return MT_OK;
}

static int run_over(const mt_mpi_server *srv)
{
    if (srv->rank == 0)
        return srv->finished == srv->W;
    return srv->end_at >= 0 && srv->epoch_at < 0 &&
           mt_ps_server_version(srv->shard) >= srv->end_at;
}

int mt_mpi_server_run(mt_mpi_server *srv, int64_t steps)
{
    if (steps < 0)
        return mt_error(MT_ERR_ARG, "mpi: run to %lld steps", (long long)steps);
    srv->epoch_at = srv->end_at = -1;
    if (srv->rank == 0) {
        srv->steps = steps;
        mpi_coord_start(srv);
    }
    int rc = MT_OK;
    while (rc == MT_OK && !run_over(srv)) {
        MPI_Message msg;
        MPI_Status st;
        int got = 0;
        rc = next_message(srv, &msg, &st, &got);
        if (rc < 0)
            break;
        if (!got) {
            rc = mpi_coord_stop(srv);
            continue;
        }
        double t0 = MPI_Wtime();
        rc = on_message(srv, &msg, &st);
        srv->busy_s += MPI_Wtime() - t0;
        if (rc == MT_OK && srv->rank > 0)
            rc = shard_quiescent(srv);
    }
    if (rc < 0)
        return rc; /* MPI or protocol error: the job cannot go on; the tool ends it */
    if (srv->rank == 0)
        rc = mpi_coord_finish(srv);
    if (rc == MT_OK)
        rc = mpi_gather(srv);
    for (int i = 0; rc == MT_OK && i < 3; i++) {
        MPI_Request *set = i == 0 ? srv->theta_req : i == 1 ? srv->state_req : srv->ticket_req;
        rc = MT_MPI(MPI_Waitall(srv->W, set, MPI_STATUSES_IGNORE));
    }
    if (rc < 0)
        return rc;
    if (srv->status < 0)
        return srv->rank == 0 ? mt_error(srv->status, "%s", srv->errmsg)
                              : mt_error(srv->status, "mpi: rank %d: the run failed (%s; rank 0 "
                                         "has the message)", srv->rank,
                                         mt_status_name(srv->status));
    return srv->status; /* MT_OK or MT_ERR_INTERRUPTED */
}
