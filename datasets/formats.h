/* formats.h: the readers and writers of each on-disk dataset format.
 *
 * Readers fill the train and test splits and the class names of a zeroed
 * mt_dataset (mt_dataset_open in dataset.c picks the reader and applies the
 * options); on failure they free what they allocated. Writers write a
 * dataset's train and test splits in the exact official layout, so that the
 * synthetic generator (synth.h) can produce every format and tests can check
 * every reader against a writer.
 *
 * Not here: format detection and the hold-out (dataset.c), downloads (fetch.h).
 */
#ifndef MT_FORMATS_H
#define MT_FORMATS_H

#include "datasets/dataset.h"

enum {
    MT_CIFAR_SIDE = 32,
    MT_CIFAR_PIXELS = 3 * 32 * 32,
    MT_CIFAR100_RECORD = 2 + 3 * 32 * 32,
    MT_CIFAR10_RECORD = 1 + 3 * 32 * 32,
    MT_CIFAR100_FINE = 100,
    MT_CIFAR100_COARSE = 20,
    MT_CIFAR10_CLASSES = 10,
    MT_CIFAR10_BATCHES = 5
};

/* CIFAR-100: DIR/train.bin, DIR/test.bin; coarse selects the 20 coarse labels. */
int mt_cifar100_load(mt_dataset *ds, const char *dir, int coarse);

/* Reads one CIFAR-100 binary file into `s` (allocated here), fine or coarse labels. */
int mt_cifar100_read(const char *path, int coarse, mt_split *s);

/* Writes ds (100 classes, 3x32x32) as train.bin, test.bin and both name files.
 * The coarse label of fine label k is coarse_of_fine[k] (NULL: k / 5). */
int mt_cifar100_write(const mt_dataset *ds, const char *dir, const int *coarse_of_fine);

/* CIFAR-10: DIR/data_batch_1..5.bin, DIR/test_batch.bin. */
int mt_cifar10_load(mt_dataset *ds, const char *dir);

/* Writes ds (10 classes, 3x32x32): train spread over five batches as evenly
 * as possible, test_batch.bin, batches.meta.txt. */
int mt_cifar10_write(const mt_dataset *ds, const char *dir);

/* IDX (MNIST layout): {train,t10k}-{images-idx3,labels-idx1}-ubyte, each
 * optionally gzip'd (.gz). Class names from DIR/class_names.txt when present
 * (which also sets the class count), else Fashion-MNIST's names when the
 * directory's name mentions "fashion", else the digits 0-9. */
int mt_idx_load(mt_dataset *ds, const char *dir);

/* Reads an idx3 image file (n, h, w) as a 1-channel split / an idx1 label
 * file; `path` may be gzip'd. Labels are checked against num_classes. */
int mt_idx_read_images(const char *path, mt_split *s);
int mt_idx_read_labels(const char *path, int expect_n, int num_classes, int *labels);

/* Writes ds (1 channel) in IDX layout, gzip'd when `gzip`, and class_names.txt. */
int mt_idx_write(const mt_dataset *ds, const char *dir, int gzip);

/* Image folders: DIR/train/<class>/<image>, DIR/test/<class>/<image>, classes in
 * name order, images in name order, the test split may lack classes. All
 * images must have one size; colour if any image is colour (grey images are
 * then replicated to RGB), else grey; alpha is dropped.
 *
 * An image is a file whose name ends in one of mt_folder_image_exts
 * (compared case-insensitively); hidden entries are ignored, and every other
 * entry of a class folder (README.txt, Thumbs.db, a sub-folder) is skipped
 * and counted in ds->skipped. A file with an image extension that does not
 * decode is an error naming it, and so is a class folder without images. */
int mt_folder_load(mt_dataset *ds, const char *dir);

/* The image extensions, lower case without the dot, NULL-terminated: those
 * libpng and stb_image (imageio.h) decode. */
extern const char *const mt_folder_image_exts[];

/* Whether `name` ends in one of them. */
int mt_folder_is_image_name(const char *name);

/* Writes ds as image folders, one file per image named NNNNNN.EXT with EXT
 * "png" (libpng) or "bmp" (lossless, for the stb_image path). */
int mt_folder_write(const mt_dataset *ds, const char *dir, const char *ext);

#endif
