/* config.h: every setting of a training run, its defaults (the paper's
 * recipe), and its JSON form (the run directory's config.json).
 *
 * The JSON form is complete: `mutau train --resume DIR` rebuilds the run from
 * DIR/config.json alone. mt_train_config_hash() covers the settings that shape
 * the trajectory (not the output directory, threads or progress display), and
 * a checkpoint records it, so a config.json edited after the fact is noticed.
 *
 * Not here: parsing command-line flags (tools/cmd_train.c) and checking that
 * the data or the model exist (trainer.c does, when it opens them).
 */
#ifndef MT_TRAINER_CONFIG_H
#define MT_TRAINER_CONFIG_H

#include "core/files.h" /* MT_PATH_CAP */
#include "optim/schedule.h"

#include <jansson.h>
#include <stdint.h>

enum mt_progress_mode { MT_PROGRESS_AUTO, MT_PROGRESS_BAR, MT_PROGRESS_PLAIN, MT_PROGRESS_QUIET };

/* The longest run: --epochs, and a config.json read back, above it are refused,
 * and an epoch beyond it in a log.csv is no epoch a run reached. */
enum { MT_TRAIN_MAX_EPOCHS = 100000 };

typedef struct {
    /* data */
    char data_dir[MT_PATH_CAP]; /* "" = the default (CIFAR-100 if present, else Fashion-MNIST) */
    int coarse;                 /* CIFAR-100 coarse labels */
    int val_size;               /* training images held out for per-epoch evaluation; 0 = test set */
    int limit_train, limit_test; /* keep only the first N images; 0 = all */
    int augment, pad, flip;     /* pad-`pad` random crop and horizontal flip */
    /* model */
    char model[32];      /* resnet20/32/44/56/110, sphere-resnet-N, ... */
    char sphere_op[24];  /* sphere models: linear|cosine|sigmoid|learnable-sigmoid|none */
    int width;           /* first stage's channels; 0 = the model's default */
    double label_smoothing;
    int precision;       /* enum mt_precision (nn/net.h): MT_FP32 or MT_BF16 */
    /* optimisation */
    int epochs, batch;
    mt_schedule schedule; /* kind, base lr, gamma, milestones, final lr, warm-up */
    double momentum, weight_decay;
    int nesterov;
    int wd_bn_bias; /* 1: weight decay on batch-norm scales/shifts and biases too */
    uint64_t seed;
    /* running */
    int threads;        /* intra-op (OpenMP/oneDNN) threads; 0 = OpenMP's default */
    int eval_every;     /* evaluate every N epochs (and after the last); 0 = only at the end */
    int eval_batch;
    int ckpt_every;     /* checkpoint every N epochs (and at the end, and on interrupt) */
    int64_t stop_after; /* stop (checkpoint, exit 4) after this many steps in total; 0 = never */
    int log_every;      /* a steps.csv row every N optimizer steps; 0 = no steps.csv */
    /* A run has diverged when a batch's mean training loss exceeds this (or
     * is NaN/Inf); 0 = the default, MT_DIVERGENCE_MULTIPLE x ln(classes). */
    double divergence_loss;
    int progress;       /* enum mt_progress_mode */
    char out_dir[MT_PATH_CAP];
} mt_train_config;

/* The default divergence bound in units of ln(classes), the loss of a
 * uniform guess. A freshly initialised network scores about ln(classes)
 * (1.04 ln C and 1.07 ln C at the first step of the quick and the paper
 * recipe), but early transients of runs that go on to learn reach 4.4 ln C
 * (the quick recipe's delay-7 cell) and 5.3 ln C (the paper recipe's first
 * dozen steps on synthetic CIFAR-100): docs/train.md has the measurements.
 * A diverging run grows geometrically, to 1e19 and beyond within epochs, so
 * a bound 100 x ln C, about 19 times the largest transient seen, costs it
 * a few steps at most, while a false alarm would end a healthy run (a sweep
 * cell) for good. 100 ln C means the true class gets C^-100 on geometric
 * average over the batch. */
#define MT_DIVERGENCE_MULTIPLE 100.0

/* The defaults: batch 128, lr 0.2 multistep x0.2 at 60/120/160, 200 epochs,
 * momentum 0.9, weight decay 5e-4 (on every parameter, as the reference
 * CIFAR ResNet recipes do), resnet20, seed 1,
 * evaluation and checkpoint every epoch, pad-4 crop + flip. */
void mt_train_config_default(mt_train_config *c);

/* Checks ranges and combinations; MT_ERR_ARG naming the setting (by its flag). */
int mt_train_config_check(const mt_train_config *c);

/* The settings as a JSON object (new reference). */
json_t *mt_train_config_to_json(const mt_train_config *c);

/* Reads the settings written by mt_train_config_to_json from object `j`;
 * `where` names the source for messages. Missing keys keep c's values. */
int mt_train_config_from_json(mt_train_config *c, const json_t *j, const char *where);

/* A hash of the trajectory-shaping settings. */
uint64_t mt_train_config_hash(const mt_train_config *c);

#endif
