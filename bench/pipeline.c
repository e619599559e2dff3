/* pipeline.c: how fast the batch pipeline alone produces training batches,
 * to show it is far above what training consumes (about 5-10 batches/s of
 * 128 CIFAR images on a 2-core machine), so training never waits on it.
 *
 * 1. Direct: mt_batch_train on the calling thread (pad-4 crop, flip,
 *    normalise into float NCHW), no threads.
 * 2. Loader: one (and two) loader threads filling a ring of 8 batches; the
 *    consumer only takes and releases, so this is the loader's own ceiling.
 * Both for CIFAR-shaped 3x32x32 images and Fashion-MNIST-shaped 1x28x28,
 * batch 128, on synthetic data in memory (reading files is not part of the
 * per-batch path: datasets are loaded whole before training).
 *   bench pipeline=cifar|fashion mode=direct|loader threads=T batch=128
 *         batches_per_s=.. images_per_s=..
 *
 * Timings are wall-clock on a machine other work may share: read them as
 * noisy. Not a test.
 */
#include "core/clock.h"
#include "core/status.h"
#include "datasets/augment.h"
#include "datasets/loader.h"
#include "datasets/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { BATCH = 128 };
static const double SECONDS = 1.5;

static void report(const char *name, const char *mode, int threads, long batches, double secs)
{
    double bps = (double)batches / secs;
    printf("%-8s %-6s threads=%d: %8.1f batches/s (%9.0f images/s)\n", name, mode, threads, bps,
           bps * BATCH);
    printf("bench pipeline=%s mode=%s threads=%d batch=%d batches_per_s=%.1f images_per_s=%.0f\n",
           name, mode, threads, BATCH, bps, bps * BATCH);
}

static int bench_direct(const char *name, const mt_split *s, const mt_pipeline_config *cfg)
{
    size_t chw = mt_split_image_bytes(s);
    float *x = malloc((size_t)BATCH * chw * sizeof *x);
    int *y = malloc(BATCH * sizeof *y);
    uint32_t *order = malloc((size_t)s->n * sizeof *order);
    if (!x || !y || !order)
        return mt_error(MT_ERR_NOMEM, "bench: out of memory");
    int per_epoch = mt_batches_per_epoch(s->n, BATCH, 1);
    long batches = 0;
    double t0 = mt_now(), t = t0;
    int epoch = -1;
    volatile float sink = 0;
    do {
        int e = (int)(batches / per_epoch), b = (int)(batches % per_epoch);
        if (e != epoch) {
            mt_epoch_order(order, s->n, cfg->seed, e);
            epoch = e;
        }
        int n = mt_batch_train(s, cfg, order, e, b, x, y);
        if (n < 0)
            return n;
        sink += x[chw / 2];
        batches++;
        t = mt_now();
    } while (t - t0 < SECONDS);
    report(name, "direct", 0, batches, t - t0);
    free(x);
    free(y);
    free(order);
    return MT_OK;
}

static int bench_loader(const char *name, const mt_split *s, mt_pipeline_config cfg, int threads)
{
    cfg.threads = threads;
    mt_loader *l;
    int rc = mt_loader_create(&l, s, &cfg, 0, 0);
    if (rc)
        return rc;
    mt_batch b;
    /* Let the ring fill once, then time the steady state. */
    for (int i = 0; i < cfg.ring && mt_loader_next(l, &b) == 1; i++)
        mt_loader_release(l, &b);
    long batches = 0;
    double t0 = mt_now(), t = t0;
    volatile float sink = 0;
    do {
        if ((rc = mt_loader_next(l, &b)) != 1)
            break;
        sink += b.x[0];
        mt_loader_release(l, &b);
        batches++;
        t = mt_now();
    } while (t - t0 < SECONDS);
    mt_loader_destroy(l);
    if (rc < 0)
        return rc;
    report(name, "loader", threads, batches, t - t0);
    return MT_OK;
}

static int run(const char *name, mt_data_format format)
{
    mt_synth_config sc;
    mt_synth_config_default(&sc, format);
    sc.n_train = 10000;
    sc.n_test = 1;
    mt_dataset ds;
    int rc = mt_synth_make(&ds, &sc);
    if (rc)
        return rc;
    mt_pipeline_config cfg;
    mt_pipeline_config_default(&cfg);
    cfg.batch = BATCH;
    cfg.seed = 1;
    if (!(rc = mt_norm_from_split(&cfg.norm, &ds.train)) &&
        !(rc = bench_direct(name, &ds.train, &cfg)) &&
        !(rc = bench_loader(name, &ds.train, cfg, 1)))
        rc = bench_loader(name, &ds.train, cfg, 2);
    mt_dataset_free(&ds);
    return rc;
}

int main(void)
{
    printf("batch pipeline: batch %d, pad-4 crop + flip + normalise, synthetic data in memory\n",
           BATCH);
    int rc = run("cifar", MT_FORMAT_CIFAR10);
    if (!rc)
        rc = run("fashion", MT_FORMAT_IDX);
    if (rc) {
        fprintf(stderr, "bench pipeline: %s\n", mt_errmsg());
        return 1;
    }
    printf("(training consumes about 5-10 CIFAR batches/s on a 2-core machine)\n");
    return 0;
}
