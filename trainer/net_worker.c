/* net_worker.c: a network as a worker of a multi-worker run (see net_worker.h). */
#include "trainer/net_worker.h"

#include "core/status.h"
#include "datasets/augment.h"
#include "trainer/trainer.h"

#include <stdlib.h>
#include <string.h>

void mt_batch_slot(int64_t batch, int slots, int64_t *epoch, int *slot)
{
    *epoch = batch / slots;
    *slot = (int)(batch - *epoch * slots);
}

int mt_net_worker_init(mt_net_worker *w, mt_net *net, const mt_split *split,
                       const mt_pipeline_config *pipe, int slots, double max_loss)
{
    memset(w, 0, sizeof *w);
    int rc = mt_pipeline_check(split, pipe);
    if (rc < 0)
        return rc;
    int shape[4];
    rc = mt_net_shape(net, mt_net_input(net), shape);
    if (rc < 0)
        return rc;
    if (mt_net_batch(net) != pipe->batch || shape[1] != split->c || shape[2] != split->h ||
        shape[3] != split->w)
        return mt_error(MT_ERR_ARG,
                        "worker: the net takes %d x %d x %d x %d, the batches are %d x %d x "
                        "%d x %d",
                        mt_net_batch(net), shape[1], shape[2], shape[3], pipe->batch, split->c,
                        split->h, split->w);
    int batches = mt_batches_per_epoch(split->n, pipe->batch, pipe->drop_last);
    if (batches < 1)
        return mt_error(MT_ERR_ARG, "worker: %d images make no batch of %d", split->n,
                        pipe->batch);
    if (slots < 1 || slots > batches)
        return mt_error(MT_ERR_ARG, "worker: %d batches an epoch, the data has %d", slots,
                        batches);
    w->net = net;
    w->split = split;
    w->pipe = pipe;
    w->slots = slots;
    w->max_loss = max_loss;
    w->order = malloc((size_t)split->n * sizeof *w->order);
    w->x = malloc((size_t)pipe->batch * mt_split_image_bytes(split) * sizeof(float));
    w->y = malloc((size_t)pipe->batch * sizeof(int));
    w->order_epoch = -1;
    if (!w->order || !w->x || !w->y) {
        mt_net_worker_free(w);
        return mt_error(MT_ERR_NOMEM, "worker: out of memory for batches of %d", pipe->batch);
    }
    return MT_OK;
}

void mt_net_worker_free(mt_net_worker *w)
{
    free(w->order);
    free(w->x);
    free(w->y);
    w->order = NULL;
    w->x = NULL;
    w->y = NULL;
}

int mt_net_worker_step(void *ctx, const mt_ticket *tk)
{
    mt_net_worker *w = ctx;
    int64_t epoch;
    int slot;
    mt_batch_slot(tk->batch, w->slots, &epoch, &slot);
    if (epoch != w->order_epoch) {
        mt_epoch_order(w->order, w->split->n, w->pipe->seed, (int)epoch);
        w->order_epoch = epoch;
    }
    int n = mt_batch_train(w->split, w->pipe, w->order, (int)epoch, slot, w->x, w->y);
    if (n < 0)
        return n;
    double loss;
    int correct;
    int rc = mt_trainer_grad(w->net, w->x, w->y, n, w->max_loss, &loss, &correct);
    if (rc < 0)
        return rc;
    w->epoch = epoch;
    w->slot = slot;
    w->loss = loss;
    w->correct = correct;
    w->n = n;
    return MT_OK;
}

mt_worker mt_net_worker_loop(mt_net_worker *w)
{
    return (mt_worker){.params = mt_net_params(w->net),
                       .state = mt_net_state(w->net),
                       .grad = mt_net_grads(w->net),
                       .step = mt_net_worker_step,
                       .ctx = w};
}
