/* net_worker.h: a network as a worker of a multi-worker run: the step of
 * the worker loop (trainer/worker.h) for one network copy computing
 * gradients of training batches of a split.
 *
 * Batch numbers. The run hands out batch numbers b = 0, 1, 2, ... (ticket
 * order, ps/transport.h); with `slots` batches trained per epoch, b is slot
 * b mod slots of epoch b / slots (mt_batch_slot, the one place this mapping
 * is made), and that slot is batch `slot` of the epoch's data order, built
 * with mt_batch_train. Every mode therefore sees the same batches whichever
 * worker computes them: delay and sync runs stay reproducible, async workers
 * share one epoch order. slots is the data's batches per epoch, or fewer
 * (sync mode leaves the last B mod W out).
 *
 * The gradient step is the trainer's (mt_trainer_grad: forward, loss,
 * backward; a loss that is NaN/Inf or above max_loss is MT_ERR_DIVERGED) on the network's own
 * buffers: the worker loop pulls theta straight into mt_net_params and pushes
 * straight from mt_net_grads; the BN state is mt_net_state, updated in place.
 * The numbers of the last batch (loss, top-1 hits, images, its slot) are
 * kept for the caller's per-batch record. Not here: evaluation, logging,
 * checkpoints (the trainer's).
 */
#ifndef MT_TRAINER_NET_WORKER_H
#define MT_TRAINER_NET_WORKER_H

#include "datasets/loader.h"
#include "nn/net.h"
#include "trainer/worker.h"

#include <stdint.h>

typedef struct {
    mt_net *net;                    /* this worker's own net (batch = pipe->batch); not owned */
    const mt_split *split;          /* the training split; not owned */
    const mt_pipeline_config *pipe; /* batch size, augmentation, seed, normalisation; not owned */
    int slots;                      /* batches trained per epoch */
    double max_loss;                /* the divergence bound (mt_trainer_grad) */
    uint32_t *order;                /* the order of epoch order_epoch (split->n) */
    int64_t order_epoch;
    float *x;                       /* (batch, c, h, w) */
    int *y;                         /* (batch) */
    /* the last batch computed */
    int64_t epoch;
    int slot;
    double loss; /* its mean loss */
    int correct; /* its top-1 hits */
    int n;       /* its images */
} mt_net_worker;

/* Batch number `batch` of a run with `slots` batches per epoch is slot
 * *slot of epoch *epoch. */
void mt_batch_slot(int64_t batch, int slots, int64_t *epoch, int *slot);

/* Checks the net against the pipeline (batch size, input shape) and slots
 * against the data's batches per epoch; allocates the batch buffers and the
 * order. max_loss: the divergence bound of mt_trainer_grad. */
int mt_net_worker_init(mt_net_worker *w, mt_net *net, const mt_split *split,
                       const mt_pipeline_config *pipe, int slots, double max_loss);
void mt_net_worker_free(mt_net_worker *w);

/* The step of the worker loop: ctx is an mt_net_worker; the gradient of
 * batch tk->batch at the net's parameters into its gradient buffer. */
int mt_net_worker_step(void *ctx, const mt_ticket *tk);

/* The worker loop's buffers and step for w: the net's own buffers. */
mt_worker mt_net_worker_loop(mt_net_worker *w);

#endif
