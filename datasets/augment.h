/* augment.h: the per-image pieces of the training pipeline: the epoch order,
 * each sample's random crop offset and flip, and the pixel operations.
 *
 * Everything random here is a pure function of (seed, epoch, position), never
 * of a thread or of call order, so any number of consumers sees the same
 * batches and a run resumes exactly from (epoch, batch index).
 *
 * This file works on one image at a time; assembling batches and the loader
 * thread are datasets/loader.h.
 */
#ifndef MT_AUGMENT_H
#define MT_AUGMENT_H

#include <stdint.h>

/* The sample order of one epoch: a permutation of [0, n) that depends only
 * on (seed, epoch). */
void mt_epoch_order(uint32_t *order, int n, uint64_t seed, int epoch);

/* The augmentation of the sample at `position` of the epoch's order:
 * crop offsets *dy, *dx in [0, 2*pad] into the zero-padded image (pad, pad is
 * the unshifted crop) and *flip in {0, 1} (always 0 when `allow_flip` is 0). */
void mt_augment_draw(uint64_t seed, int epoch, int64_t position, int pad, int allow_flip, int *dy,
                     int *dx, int *flip);

/* dst (c, h, w) = the h x w window at (dy, dx) of src (c, h, w) padded by
 * `pad` zero pixels on every side, mirrored left-right when `flip`.
 * dy, dx in [0, 2*pad]. src and dst must not overlap. */
void mt_image_crop_flip(uint8_t *dst, const uint8_t *src, int c, int h, int w, int pad, int dy,
                        int dx, int flip);

/* In-place left-right mirror of an image (c, h, w). */
void mt_image_flip(uint8_t *img, int c, int h, int w);

/* out (c, h, w) floats = (img / 255 - mean[ch]) / std[ch]. */
void mt_image_normalize(float *out, const uint8_t *img, int c, int h, int w, const float *mean,
                        const float *std);

#endif
