/* augment.c: epoch order, per-sample random draws, crop/flip/normalise of one
 * image (see augment.h). */
#include "datasets/augment.h"

#include "core/rng.h"

#include <string.h>

/* Distinct stream families, so the order and the augmentation draws of the
 * same (seed, epoch) are unrelated. */
#define ORDER_STREAM 0x4f52444552000000ULL
#define AUGMENT_SALT 0x4155474d454e5421ULL

void mt_epoch_order(uint32_t *order, int n, uint64_t seed, int epoch)
{
    for (int i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    mt_rng r;
    mt_rng_seed(&r, seed, ORDER_STREAM ^ (uint64_t)(uint32_t)epoch);
    mt_rng_shuffle_u32(&r, order, (uint64_t)n);
}

void mt_augment_draw(uint64_t seed, int epoch, int64_t position, int pad, int allow_flip, int *dy,
                     int *dx, int *flip)
{
    mt_rng r;
    mt_rng_seed(&r, seed ^ AUGMENT_SALT, ((uint64_t)(uint32_t)epoch << 40) ^ (uint64_t)position);
    uint64_t span = 2 * (uint64_t)(pad > 0 ? pad : 0) + 1;
    *dy = (int)mt_rng_below(&r, span);
    *dx = (int)mt_rng_below(&r, span);
    *flip = allow_flip ? (int)(mt_rng_u64(&r) >> 63) : 0;
}

void mt_image_crop_flip(uint8_t *dst, const uint8_t *src, int c, int h, int w, int pad, int dy,
                        int dx, int flip)
{
    for (int ch = 0; ch < c; ch++) {
        const uint8_t *plane = src + (size_t)ch * (size_t)h * (size_t)w;
        for (int y = 0; y < h; y++) {
            uint8_t *row = dst + ((size_t)ch * (size_t)h + (size_t)y) * (size_t)w;
            int sy = y + dy - pad;
            if (sy < 0 || sy >= h) {
                memset(row, 0, (size_t)w);
                continue;
            }
            for (int x = 0; x < w; x++) {
                int sx = (flip ? w - 1 - x : x) + dx - pad;
                row[x] = sx < 0 || sx >= w ? 0 : plane[(size_t)sy * (size_t)w + (size_t)sx];
            }
        }
    }
}

void mt_image_flip(uint8_t *img, int c, int h, int w)
{
    for (int r = 0; r < c * h; r++) {
        uint8_t *row = img + (size_t)r * (size_t)w;
        for (int a = 0, b = w - 1; a < b; a++, b--) {
            uint8_t t = row[a];
            row[a] = row[b];
            row[b] = t;
        }
    }
}

void mt_image_normalize(float *out, const uint8_t *img, int c, int h, int w, const float *mean,
                        const float *std)
{
    size_t plane = (size_t)h * (size_t)w;
    for (int ch = 0; ch < c; ch++) {
        float scale = 1.0f / (255.0f * std[ch]);
        float shift = mean[ch] / std[ch];
        for (size_t k = 0; k < plane; k++)
            out[(size_t)ch * plane + k] = (float)img[(size_t)ch * plane + k] * scale - shift;
    }
}
