/* loader.h: the batch pipeline: float NCHW batches from a split.
 *
 * A batch is `batch` samples turned into floats (x - mean) / std per channel
 * (pixels scaled to [0, 1]) in layout (n, c, h, w), with int labels. Training
 * batches are augmented: a random h x w crop of the image zero-padded by `pad`
 * pixels (pad-4 crop) and, when `flip` is set, a left-right mirror with
 * probability 1/2. Padding is zero in pixel space, i.e. (0 - mean) / std after
 * normalisation, as torchvision's RandomCrop(padding=4) + Normalize does.
 *
 * Determinism: epoch e's order is mt_epoch_order(seed, e); batch b of epoch e
 * is the samples order[b*B .. b*B+B) and each sample's crop and flip are a
 * pure function of (seed, e, b*B + j). Nothing depends on which thread or how
 * many threads produce or consume a batch, so a run resumes exactly from
 * (epoch, next batch index).
 *
 * Last partial batch: training (drop_last = 1, the default) drops it, so every
 * training batch has exactly `batch` samples and an epoch has floor(n / B)
 * batches; with drop_last = 0 it is delivered with n % B samples.
 * Evaluation (mt_batch_eval) goes through a split in order, unaugmented, and
 * its last batch is smaller.
 *
 * Two ways to get training batches:
 *   - mt_batch_train fills caller-owned buffers for (epoch, index): no threads;
 *   - mt_loader runs loader threads that fill a ring of preallocated batches
 *     ahead of the consumers; consumers (any number of threads) take batches in
 *     stream order from a shared counter, so none is lost or duplicated.
 * Neither allocates per batch.
 *
 * This file is not the datasets themselves (datasets/dataset.h).
 */
#ifndef MT_LOADER_H
#define MT_LOADER_H

#include "datasets/dataset.h"

#include <stdint.h>

/* Per-channel normalisation, in units of pixels scaled to [0, 1]. */
typedef struct {
    int c;
    float mean[MT_DATA_MAX_CHANNELS];
    float std[MT_DATA_MAX_CHANNELS]; /* > 0 */
} mt_norm;

/* The normalisation of a split's own statistics (use the training split).
 * A channel with zero spread gets std 1. */
int mt_norm_from_split(mt_norm *norm, const mt_split *s);

/* mean and std given per channel (c entries each; std > 0). */
int mt_norm_set(mt_norm *norm, int c, const double *mean, const double *std);

typedef struct {
    int batch;      /* samples per batch, >= 1 */
    int augment;    /* 1: pad-crop and (if flip) mirror; 0: plain normalised images */
    int pad;        /* crop padding in pixels, >= 0 (4) */
    int flip;       /* random horizontal flip when augmenting (1; CIFAR and, by the
                       reference recipe, Fashion-MNIST: mirrored clothes are clothes) */
    int drop_last;  /* 1: drop the last partial batch of an epoch (1) */
    uint64_t seed;  /* the order and the augmentation */
    mt_norm norm;   /* must match the split's channel count */
    int ring;       /* loader: batches buffered ahead, >= 2 (8); keep >= 2 x consumers */
    int threads;    /* loader: producing threads, >= 1 (1) */
    int epochs;     /* loader: stop after epoch `epochs - 1`; 0 = never stop */
} mt_pipeline_config;

/* Fills the defaults above (batch 128, augment 1, pad 4, flip 1, drop_last 1,
 * seed 0, ring 8, threads 1, epochs 0); the caller sets norm. */
void mt_pipeline_config_default(mt_pipeline_config *cfg);

/* Checks cfg against the split (sizes, norm channels); MT_ERR_ARG naming the field. */
int mt_pipeline_check(const mt_split *s, const mt_pipeline_config *cfg);

/* Batches in one epoch of n samples. */
int mt_batches_per_epoch(int n, int batch, int drop_last);

/* Training batch `index` of `epoch` into x (batch, c, h, w) and y (batch).
 * `order` is mt_epoch_order(cfg->seed, epoch) of s->n samples, computed once
 * per epoch by the caller (or NULL: computed into a temporary here).
 * Returns the number of samples written (cfg->batch, or fewer for the last
 * batch with drop_last = 0), or a negative status for an index out of range. */
int mt_batch_train(const mt_split *s, const mt_pipeline_config *cfg, const uint32_t *order,
                   int epoch, int index, float *x, int *y);

/* Evaluation batch: samples [first, first + batch) of s in order (fewer at the
 * end), normalised, unaugmented, into x (batch, c, h, w) and y. Returns the
 * number written, 0 when first >= s->n, negative on a bad argument. */
int mt_batch_eval(const mt_split *s, const mt_norm *norm, int first, int batch, float *x, int *y);

/* ---- The loader: threads filling a ring of ready batches ---------------- */

typedef struct mt_loader mt_loader;

/* A batch handed to a consumer. x and y point into the loader's ring and stay
 * valid until mt_loader_release. */
typedef struct {
    const float *x; /* (n, c, h, w) */
    const int *y;   /* (n) */
    int n;          /* samples (cfg.batch except a last partial batch) */
    int epoch;      /* which epoch ... */
    int index;      /* ... and which batch of it */
    int last;       /* 1 when this is the epoch's last batch */
    int64_t seq;    /* position in the loader's stream (internal) */
} mt_batch;

/* Creates the ring and starts the loader threads at batch `start_index` of
 * epoch `start_epoch` (0, 0 for a fresh run; a checkpoint's position to
 * resume). The split must outlive the loader. */
int mt_loader_create(mt_loader **out, const mt_split *s, const mt_pipeline_config *cfg,
                     int start_epoch, int start_index);

/* Takes the next batch of the stream; blocks until it is ready.
 * Returns 1 with *b filled, 0 when the stream has ended (cfg.epochs reached or
 * mt_loader_stop called), or a negative status. Thread-safe: concurrent
 * consumers get distinct, consecutive batches. */
int mt_loader_next(mt_loader *l, mt_batch *b);

/* Gives a batch's ring slot back to the loader. Every batch from
 * mt_loader_next must be released, in any order, by any thread. */
void mt_loader_release(mt_loader *l, const mt_batch *b);

/* Ends the stream: blocked and later mt_loader_next calls return 0. */
void mt_loader_stop(mt_loader *l);

/* Batches per epoch of this loader. */
int mt_loader_batches_per_epoch(const mt_loader *l);

/* Stops the threads, waits for them and frees everything; NULL is fine.
 * Call only after every consumer has returned from mt_loader_next and
 * released its batches. */
void mt_loader_destroy(mt_loader *l);

#endif
