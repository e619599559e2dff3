/* net_worker.h: the standard worker of a multi-worker run: one network copy
 * computing gradients of training batches of a split, as mt_ps's gradient
 * callback (ps/ps.h).
 *
 * Batch number b of the run is batch b % B of epoch b / B of the pipeline
 * (B = batches per epoch), built with mt_batch_train from the epoch's order,
 * so every mode sees the same batches whichever worker computes them: delay
 * and sync runs stay reproducible, async workers share one epoch order. The
 * gradient step is the trainer's (mt_trainer_grad: forward, loss, backward;
 * a non-finite loss is MT_ERR_DIVERGED). Each call copies theta and the BN
 * state into the worker's net and the gradient and the updated state out.
 *
 * The worker sums its batches' loss, top-1 hits and samples for the epoch's
 * training statistics; epoch_end reads and resets them (the run is quiescent
 * there). Not here: evaluation, logging, checkpoints (the trainer's).
 */
#ifndef MT_PS_NET_WORKER_H
#define MT_PS_NET_WORKER_H

#include "datasets/loader.h"
#include "nn/net.h"

#include <stdint.h>

typedef struct {
    mt_net *net;                    /* this worker's own net (batch = pipe->batch); not owned */
    const mt_split *split;          /* the training split; not owned */
    const mt_pipeline_config *pipe; /* batch size, augmentation, seed, normalisation; not owned */
    int batches_per_epoch;
    uint32_t *order;                /* the order of epoch order_epoch (split->n) */
    int order_epoch;
    float *x;                       /* (batch, c, h, w) */
    int *y;                         /* (batch) */
    /* since the last reset */
    double loss_sum;  /* sum over batches of the mean batch loss */
    int64_t batches, correct, seen;
} mt_ps_net_worker;

/* Checks the net against the pipeline (batch size, input shape) and
 * allocates the batch buffers and the order. */
int mt_ps_net_worker_init(mt_ps_net_worker *w, mt_net *net, const mt_split *split,
                          const mt_pipeline_config *pipe);
void mt_ps_net_worker_free(mt_ps_net_worker *w);

/* The mt_ps_grad_fn: ctx is an mt_ps_net_worker. */
int mt_ps_net_grad(void *ctx, const float *theta, int64_t version, int64_t batch, float *state,
                   float *grad);

/* Sums the statistics of n workers into *loss_mean (mean batch loss) and
 * *top1 (fraction correct) and resets them; both 0 when there was no batch. */
void mt_ps_net_workers_take_stats(mt_ps_net_worker *w, int n, double *loss_mean, double *top1);

#endif
