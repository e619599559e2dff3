/* dataset.h: image classification datasets held in memory.
 *
 * A dataset is three splits (train, an optional validation hold-out taken from
 * train, test) of uint8 images in NCHW layout with int labels, plus the class
 * names. One call opens a data directory and detects its format:
 *
 *   CIFAR-100 binary   DIR/train.bin, DIR/test.bin (+ fine_label_names.txt,
 *                      coarse_label_names.txt); fine (100) or coarse (20) labels
 *   CIFAR-10 binary    DIR/data_batch_1..5.bin, DIR/test_batch.bin (+ batches.meta.txt)
 *   IDX (MNIST, Fashion-MNIST)
 *                      DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
 *   image folder       DIR/train/<class>/<images>, DIR/test/<class>/<images> (PNG via libpng;
 *                      JPEG via libjpeg-turbo; BMP, TGA, GIF, PSD, HDR, PIC, PNM via
 *                      stb_image), all one size;
 *                      other files in class folders are skipped and counted (ds->skipped)
 *
 * DIR may also be the folder that holds the official archive's top folder
 * (cifar-100-binary/ or cifar-10-batches-bin/), as `mutau data fetch` leaves it.
 *
 * Every failure returns a negative MT_ERR_* (core/status.h) with a one-line
 * message naming the file and what is wrong; a dataset is either loaded whole
 * and consistent or not at all (the struct is left empty).
 *
 * This file is not the batch pipeline (augmentation, normalisation, the loader
 * thread: datasets/loader.h) and not the downloader (datasets/fetch.h).
 */
#ifndef MT_DATASET_H
#define MT_DATASET_H

#include <stddef.h>
#include <stdint.h>

#define MT_DATA_MAX_CHANNELS 4

/* Where the default dataset is looked for. */
#define MT_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef enum {
    MT_FORMAT_NONE = 0,
    MT_FORMAT_CIFAR100,
    MT_FORMAT_CIFAR10,
    MT_FORMAT_IDX,
    MT_FORMAT_FOLDER
} mt_data_format;

/* What an image-folder load left out of one split: the entries of its class
 * folders whose names do not end in an image extension the decoders read
 * (see formats.h), as torchvision's ImageFolder leaves them out. */
typedef struct {
    int n;              /* entries skipped */
    char example[256];  /* the first, relative to the dataset folder: "train/cat/README.txt" */
} mt_skipped;

/* One split: n images of c x h x w bytes each. */
typedef struct {
    int n, c, h, w;
    uint8_t *pixels; /* (n, c, h, w), row-major; channel order R, G, B for colour */
    int *labels;     /* (n), each in [0, num_classes) */
} mt_split;

typedef struct {
    mt_data_format format;
    int num_classes;
    char **class_names; /* (num_classes) NUL-terminated names */
    mt_split train;     /* training images (without the hold-out) */
    mt_split val;       /* hold-out validation images; val.n == 0 when none */
    mt_split test;
    char *dir;          /* the directory the data was read from */
    mt_skipped skipped[2]; /* image folders: [0] train/ (before the hold-out), [1] test/;
                              n == 0 for every other format */
} mt_dataset;

typedef struct {
    int coarse;        /* CIFAR-100 only: the 20 coarse labels instead of the 100 fine ones */
    int val_size;      /* images moved from train into val (a seeded random choice); 0 = none */
    uint64_t val_seed; /* seed of that choice */
    int limit_train;   /* keep only the first N training images (before the hold-out); 0 = all */
    int limit_test;    /* keep only the first N test images; 0 = all */
} mt_dataset_options;

/* Bytes of one image of the split: c * h * w. */
static inline size_t mt_split_image_bytes(const mt_split *s)
{
    return (size_t)s->c * (size_t)s->h * (size_t)s->w;
}

/* Pointer to image i of the split, (c, h, w). */
static inline const uint8_t *mt_split_image(const mt_split *s, int i)
{
    return s->pixels + (size_t)i * mt_split_image_bytes(s);
}

/* The format of DIR, or MT_FORMAT_NONE (no error set) when none is recognised. */
mt_data_format mt_dataset_detect(const char *dir);

/* A short name: "cifar100", "cifar10", "idx", "folder". */
const char *mt_data_format_name(mt_data_format f);

/* Opens DIR, detects its format and loads every split. `opt` may be NULL
 * (fine labels, no hold-out, no limits). On failure *ds is left zeroed. */
int mt_dataset_open(mt_dataset *ds, const char *dir, const mt_dataset_options *opt);

/* The default data directory written to `buf`: CIFAR-100 when present
 * ($MUTAU_DATA, else ./data: checked for cifar-100-binary/ or the files
 * themselves), else Fashion-MNIST from MT_FASHION_MNIST_DIR. Returns MT_OK, or
 * MT_ERR_IO with a message naming every place looked when neither exists. */
int mt_dataset_default_dir(char *buf, size_t cap);

/* mt_dataset_default_dir + mt_dataset_open. */
int mt_dataset_open_default(mt_dataset *ds, const mt_dataset_options *opt);

/* Moves `val_size` images chosen by `seed` from train into val; the images
 * keep their relative order in both splits. Fails when val is already set or
 * val_size is not in [1, train.n - 1]. mt_dataset_open does this itself when
 * opt->val_size > 0. */
int mt_dataset_holdout(mt_dataset *ds, int val_size, uint64_t seed);

/* The one-line note a tool prints about split s's skipped entries (s = 0
 * train, 1 test): "skipped 2 non-image files (e.g. train/cat/README.txt)".
 * Returns 0 and writes nothing when none were skipped. Loading never prints:
 * the caller decides whether and where (mutau data info: stderr). */
int mt_dataset_skip_note(const mt_dataset *ds, int s, char *buf, size_t cap);

/* Frees everything and zeroes *ds; safe on a zeroed or already-freed dataset. */
void mt_dataset_free(mt_dataset *ds);

/* Images per class of a split: counts[k] for k in [0, num_classes). */
void mt_split_class_counts(const mt_split *s, int num_classes, int *counts);

/* Per-channel mean and standard deviation of a split's pixels scaled to
 * [0, 1]; mean and std have s->c entries. Fails on an empty split. */
int mt_split_channel_stats(const mt_split *s, double *mean, double *std);

/* Allocates an n-image split of shape (c, h, w) with zeroed pixels and labels. */
int mt_split_alloc(mt_split *s, int n, int c, int h, int w);
void mt_split_free(mt_split *s);

#endif
