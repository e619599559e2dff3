/* synth.h: synthetic datasets a network can learn, in every on-disk format.
 *
 * Class k's images are an oriented grating (orientation, frequency and
 * per-channel tint set by k) with a small random phase and pixel noise, so the
 * classes are separable but not trivially (a nearest-class-mean classifier is
 * far above chance, not perfect). Labels cycle 0, 1, ..., K-1, 0, ... Every
 * pixel is a pure function of (seed, split, index), so a config always makes
 * the same dataset. For tests, demos and smoke runs, not for measuring models.
 */
#ifndef MT_SYNTH_H
#define MT_SYNTH_H

#include "datasets/dataset.h"

typedef struct {
    mt_data_format format; /* which format mt_synth_write writes */
    int classes;           /* CIFAR-100: 100, CIFAR-10: 10, others >= 2 */
    int n_train, n_test;   /* CIFAR-10 needs n_train >= 5 (five batch files) */
    int c, h, w;           /* CIFAR: 3x32x32; IDX: 1 channel */
    uint64_t seed;
    int gzip;              /* IDX: write .gz files */
    const char *ext;       /* image folders: "png" (default) or "bmp" */
} mt_synth_config;

/* The defaults of a format: CIFAR-100 100 classes 3x32x32, CIFAR-10 10 classes
 * 3x32x32, IDX 10 classes 1x28x28 gzip'd, folders 10 classes 3x32x32 PNG;
 * 500 training and 100 test images; seed 1. */
void mt_synth_config_default(mt_synth_config *cfg, mt_data_format format);

/* Builds the dataset in memory (train and test; no hold-out). */
int mt_synth_make(mt_dataset *ds, const mt_synth_config *cfg);

/* Builds it and writes it to `dir` (created if needed) in cfg->format.
 * With `out` non-NULL the in-memory dataset is handed back too. */
int mt_synth_write(const char *dir, const mt_synth_config *cfg, mt_dataset *out);

#endif
