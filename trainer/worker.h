/* worker.h: the worker loop: the one loop every multi-worker run's workers
 * execute, over any transport (ps/transport.h: the in-process modes of
 * ps/ps.h, or another medium).
 *
 *     while (pull(params, state) -> ticket (version, batch)) {
 *         step(ticket): the gradient of batch `batch` at params into grad,
 *                       state updated as a training forward does
 *         push(grad, state, ticket)
 *     }
 *
 * The buffers are the worker's own, normally its network's parameter,
 * gradient and BN-state buffers (trainer/net_worker.h), so theta goes
 * straight into the network and the gradient straight out of it. A failing
 * step is reported through the transport's fail, which stops the run.
 *
 * Not here: what a batch is or how a gradient is computed (the step), threads
 * and the server (ps/).
 */
#ifndef MT_TRAINER_WORKER_H
#define MT_TRAINER_WORKER_H

#include "ps/transport.h"

typedef struct {
    float *params; /* n: pulled into */
    float *state;  /* n_state: pulled into, updated by step, pushed; NULL: none */
    float *grad;   /* n: written by step, pushed */
    /* The gradient of batch tk->batch at params; MT_OK or a negative status
     * (e.g. MT_ERR_DIVERGED) with its message. */
    int (*step)(void *ctx, const mt_ticket *tk);
    void *ctx;
} mt_worker;

/* Worker `id`'s loop over t until pull says the run is over (MT_OK) or a
 * pull, step or push fails (its status). A failing step is reported to the
 * transport's fail and returned with "worker ID, batch B: " before its
 * message, as MT_ERR_DIVERGED when it diverged, else as MT_ERR_STEP: the
 * step was not pushed, so the server's state is whole. */
int mt_worker_loop(const mt_worker *w, mt_transport *t, int id);

#endif
