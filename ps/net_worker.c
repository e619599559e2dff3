/* net_worker.c: a network as a parameter-server worker (see net_worker.h). */
#include "ps/net_worker.h"

#include "core/status.h"
#include "datasets/augment.h"
#include "trainer/trainer.h"

#include <stdlib.h>
#include <string.h>

int mt_ps_net_worker_init(mt_ps_net_worker *w, mt_net *net, const mt_split *split,
                          const mt_pipeline_config *pipe)
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
                        "ps worker: the net takes %d x %d x %d x %d, the batches are %d x %d x "
                        "%d x %d",
                        mt_net_batch(net), shape[1], shape[2], shape[3], pipe->batch, split->c,
                        split->h, split->w);
    w->net = net;
    w->split = split;
    w->pipe = pipe;
    w->batches_per_epoch = mt_batches_per_epoch(split->n, pipe->batch, pipe->drop_last);
    if (w->batches_per_epoch < 1)
        return mt_error(MT_ERR_ARG, "ps worker: %d images make no batch of %d", split->n,
                        pipe->batch);
    w->order = malloc((size_t)split->n * sizeof *w->order);
    w->x = malloc((size_t)pipe->batch * mt_split_image_bytes(split) * sizeof(float));
    w->y = malloc((size_t)pipe->batch * sizeof(int));
    w->order_epoch = -1;
    if (!w->order || !w->x || !w->y) {
        mt_ps_net_worker_free(w);
        return mt_error(MT_ERR_NOMEM, "ps worker: out of memory for batches of %d", pipe->batch);
    }
    return MT_OK;
}

void mt_ps_net_worker_free(mt_ps_net_worker *w)
{
    free(w->order);
    free(w->x);
    free(w->y);
    w->order = NULL;
    w->x = NULL;
    w->y = NULL;
}

int mt_ps_net_grad(void *ctx, const float *theta, int64_t version, int64_t batch, float *state,
                   float *grad)
{
    mt_ps_net_worker *w = ctx;
    int epoch = (int)(batch / w->batches_per_epoch);
    int index = (int)(batch % w->batches_per_epoch);
    if (epoch != w->order_epoch) {
        mt_epoch_order(w->order, w->split->n, w->pipe->seed, epoch);
        w->order_epoch = epoch;
    }
    int n = mt_batch_train(w->split, w->pipe, w->order, epoch, index, w->x, w->y);
    if (n < 0)
        return n;
    size_t np = mt_net_param_count(w->net), ns = mt_net_state_count(w->net);
    memcpy(mt_net_params(w->net), theta, np * sizeof(float));
    if (state)
        memcpy(mt_net_state(w->net), state, ns * sizeof(float));
    double loss;
    int correct;
    int rc = mt_trainer_grad(w->net, w->x, w->y, n, &loss, &correct);
    if (rc < 0)
        return rc;
    memcpy(grad, mt_net_grads(w->net), np * sizeof(float));
    if (state)
        memcpy(state, mt_net_state(w->net), ns * sizeof(float));
    w->loss_sum += loss;
    w->batches++;
    w->correct += correct;
    w->seen += n;
    return MT_OK;
}

void mt_ps_net_workers_take_stats(mt_ps_net_worker *w, int n, double *loss_mean, double *top1)
{
    double loss = 0;
    int64_t batches = 0, correct = 0, seen = 0;
    for (int i = 0; i < n; i++) {
        loss += w[i].loss_sum;
        batches += w[i].batches;
        correct += w[i].correct;
        seen += w[i].seen;
        w[i].loss_sum = 0;
        w[i].batches = w[i].correct = w[i].seen = 0;
    }
    *loss_mean = batches ? loss / (double)batches : 0.0;
    *top1 = seen ? (double)correct / (double)seen : 0.0;
}
