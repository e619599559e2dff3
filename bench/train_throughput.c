/* train_throughput.c: does the training loop with data loading and
 * augmentation keep up with the bare training step?
 *
 * ResNet-20 on Fashion-MNIST (the default data), batch 128, 2 threads. "bare"
 * repeats grad + update on one preloaded batch (the nn training step plus the
 * optimizer); "pipeline" is mutau train's loop: batches from the loader thread
 * (pad-4 crop, flip, normalisation), grad, update, each step timed from the
 * request for its batch. Rounds alternate the two; each reports its mean and
 * the whole run its fastest step of each kind (other processes on a shared
 * machine only ever make steps slower, so the best step is the stable number).
 * Prints "bench train_throughput bare_img_s=... pipeline_img_s=... ratio=..."
 * from the best steps.
 * Not a benchmark of the layers themselves.
 */
#include "core/status.h"
#include "trainer/trainer.h"

#include <stdio.h>
#include <stdlib.h>

enum { STEPS = 10, ROUNDS = 4, WARMUP = 2 };

static double bare(mt_trainer *t, const float *x, const int *y, double *best)
{
    double loss;
    int correct;
    double t0 = 0;
    for (int i = 0; i < WARMUP + STEPS; i++) {
        double ts = mt_now();
        if (i == WARMUP)
            t0 = ts;
        if (mt_trainer_grad(t->net, x, y, t->cfg.batch, t->cfg.divergence_loss, &loss,
                            &correct) < 0)
            return -1;
        mt_trainer_apply(t);
        if (i >= WARMUP && mt_now() - ts < *best)
            *best = mt_now() - ts;
    }
    return STEPS * t->cfg.batch / (mt_now() - t0);
}

static double pipeline(mt_trainer *t, int epoch, double *best)
{
    mt_loader *l;
    if (mt_loader_create(&l, &t->data.train, &t->pipe, epoch, 0) != MT_OK)
        return -1;
    mt_batch b;
    double loss, t0 = 0;
    int correct, i = 0;
    double ts = mt_now();
    while (i < WARMUP + STEPS && mt_loader_next(l, &b) == 1) {
        if (i == WARMUP)
            t0 = ts;
        int rc =
            mt_trainer_grad(t->net, b.x, b.y, b.n, t->cfg.divergence_loss, &loss, &correct);
        mt_loader_release(l, &b);
        if (rc < 0)
            break;
        mt_trainer_apply(t);
        double te = mt_now();
        if (i >= WARMUP && te - ts < *best)
            *best = te - ts;
        ts = te;
        i++;
    }
    double ips = i == WARMUP + STEPS ? STEPS * t->cfg.batch / (mt_now() - t0) : -1;
    mt_loader_stop(l);
    mt_loader_destroy(l);
    return ips;
}

int main(void)
{
    mt_train_config cfg;
    mt_train_config_default(&cfg);
    cfg.threads = 2;
    cfg.limit_train = 128 * (WARMUP + STEPS + 1);
    cfg.limit_test = 100;
    cfg.schedule.base_lr = 0.01;
    cfg.epochs = 2 * ROUNDS;
    mt_trainer t;
    int rc = mt_trainer_open(&t, &cfg);
    if (rc != MT_OK) {
        fprintf(stderr, "train_throughput: %s\n", mt_errmsg());
        mt_trainer_close(&t);
        return 1;
    }
    size_t img = mt_split_image_bytes(&t.data.train);
    float *x = malloc((size_t)cfg.batch * img * sizeof(float));
    int *y = malloc((size_t)cfg.batch * sizeof(int));
    mt_batch_train(&t.data.train, &t.pipe, NULL, 0, 0, x, y);
    double best_bare = 1e30, best_pipe = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        double a = bare(&t, x, y, &best_bare), b = pipeline(&t, r, &best_pipe);
        if (a < 0 || b < 0) {
            fprintf(stderr, "train_throughput: %s\n", mt_errmsg());
            return 1;
        }
        printf("round %d: mean bare %.1f img/s, pipeline %.1f img/s\n", r + 1, a, b);
    }
    best_bare = cfg.batch / best_bare; /* fastest step, as images/s */
    best_pipe = cfg.batch / best_pipe;
    printf("%s, batch %d, %d threads, fastest steps: bare %.1f img/s, with loading %.1f img/s "
           "(%.1f%%)\n",
           t.model_desc, cfg.batch, cfg.threads, best_bare, best_pipe, 100 * best_pipe / best_bare);
    printf("bench train_throughput bare_img_s=%.1f pipeline_img_s=%.1f ratio=%.4f\n", best_bare,
           best_pipe, best_pipe / best_bare);
    free(x);
    free(y);
    mt_trainer_close(&t);
    return 0;
}
