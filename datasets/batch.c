/* batch.c: turning samples into float batches: normalisation, the pipeline
 * configuration, training batches (augmented) and evaluation batches.
 * Not here: threads (loader.c), the random draws and pixel ops (augment.c).
 */
#include "datasets/loader.h"

#include "core/status.h"
#include "datasets/augment.h"

#include <stdlib.h>
#include <string.h>

int mt_norm_set(mt_norm *norm, int c, const double *mean, const double *std)
{
    if (c < 1 || c > MT_DATA_MAX_CHANNELS)
        return mt_error(MT_ERR_ARG, "normalisation: %d channels", c);
    memset(norm, 0, sizeof *norm);
    norm->c = c;
    for (int ch = 0; ch < c; ch++) {
        if (!(std[ch] > 0) || mean[ch] != mean[ch])
            return mt_error(MT_ERR_ARG, "normalisation: channel %d has std %g (must be > 0)", ch,
                            std[ch]);
        norm->mean[ch] = (float)mean[ch];
        norm->std[ch] = (float)std[ch];
    }
    return MT_OK;
}

int mt_norm_from_split(mt_norm *norm, const mt_split *s)
{
    double mean[MT_DATA_MAX_CHANNELS], std[MT_DATA_MAX_CHANNELS];
    int rc = mt_split_channel_stats(s, mean, std);
    if (rc)
        return rc;
    for (int ch = 0; ch < s->c; ch++)
        if (!(std[ch] > 0))
            std[ch] = 1.0;
    return mt_norm_set(norm, s->c, mean, std);
}

void mt_pipeline_config_default(mt_pipeline_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->batch = 128;
    cfg->augment = 1;
    cfg->pad = 4;
    cfg->flip = 1;
    cfg->drop_last = 1;
    cfg->ring = 8;
    cfg->threads = 1;
}

int mt_batches_per_epoch(int n, int batch, int drop_last)
{
    if (n <= 0 || batch <= 0)
        return 0;
    return drop_last ? n / batch : (n + batch - 1) / batch;
}

static int check_norm(const mt_split *s, const mt_norm *norm)
{
    if (norm->c != s->c)
        return mt_error(MT_ERR_ARG, "pipeline: normalisation has %d channels, images have %d",
                        norm->c, s->c);
    for (int ch = 0; ch < norm->c; ch++)
        if (!(norm->std[ch] > 0))
            return mt_error(MT_ERR_ARG, "pipeline: normalisation std[%d] = %g", ch,
                            (double)norm->std[ch]);
    return MT_OK;
}

int mt_pipeline_check(const mt_split *s, const mt_pipeline_config *cfg)
{
    if (!s || !cfg || !s->pixels || s->n < 1)
        return mt_error(MT_ERR_ARG, "pipeline: empty split");
    if (cfg->batch < 1)
        return mt_error(MT_ERR_ARG, "pipeline: batch %d < 1", cfg->batch);
    if (cfg->pad < 0 || cfg->pad > s->h || cfg->pad > s->w)
        return mt_error(MT_ERR_ARG, "pipeline: pad %d not in [0, %d]", cfg->pad,
                        s->h < s->w ? s->h : s->w);
    if (cfg->ring < 2)
        return mt_error(MT_ERR_ARG, "pipeline: ring %d < 2", cfg->ring);
    if (cfg->threads < 1 || cfg->threads > 64)
        return mt_error(MT_ERR_ARG, "pipeline: threads %d not in [1, 64]", cfg->threads);
    if (cfg->epochs < 0)
        return mt_error(MT_ERR_ARG, "pipeline: epochs %d < 0", cfg->epochs);
    if (mt_batches_per_epoch(s->n, cfg->batch, cfg->drop_last) < 1)
        return mt_error(MT_ERR_ARG, "pipeline: %d images make no whole batch of %d", s->n,
                        cfg->batch);
    return check_norm(s, &cfg->norm);
}

/* lut[ch * 256 + p]: the normalised value of pixel p, computed exactly as
 * mt_image_normalize does, so both paths give identical floats. */
static void make_lut(float *lut, const mt_norm *norm)
{
    for (int ch = 0; ch < norm->c; ch++) {
        float scale = 1.0f / (255.0f * norm->std[ch]);
        float shift = norm->mean[ch] / norm->std[ch];
        for (int p = 0; p < 256; p++)
            lut[ch * 256 + p] = (float)p * scale - shift;
    }
}

/* Crop, flip and normalise in one pass, straight into the float batch. */
static void crop_flip_lut(float *out, const uint8_t *src, int c, int h, int w, int pad, int dy,
                          int dx, int flip, const float *lut)
{
    for (int ch = 0; ch < c; ch++) {
        const uint8_t *plane = src + (size_t)ch * (size_t)h * (size_t)w;
        const float *l = lut + ch * 256;
        for (int y = 0; y < h; y++) {
            float *row = out + ((size_t)ch * (size_t)h + (size_t)y) * (size_t)w;
            int sy = y + dy - pad;
            if (sy < 0 || sy >= h) {
                for (int x = 0; x < w; x++)
                    row[x] = l[0];
                continue;
            }
            const uint8_t *srow = plane + (size_t)sy * (size_t)w;
            int off = dx - pad;
            if (!flip) {
                for (int x = 0; x < w; x++) {
                    int sx = x + off;
                    row[x] = l[sx < 0 || sx >= w ? 0 : srow[sx]];
                }
            } else {
                for (int x = 0; x < w; x++) {
                    int sx = w - 1 - x + off;
                    row[x] = l[sx < 0 || sx >= w ? 0 : srow[sx]];
                }
            }
        }
    }
}

int mt_batch_train(const mt_split *s, const mt_pipeline_config *cfg, const uint32_t *order,
                   int epoch, int index, float *x, int *y)
{
    int nb = mt_batches_per_epoch(s->n, cfg->batch, cfg->drop_last);
    if (index < 0 || index >= nb)
        return mt_error(MT_ERR_ARG, "pipeline: batch %d of an epoch of %d batches", index, nb);
    if (!x || !y)
        return mt_error(MT_ERR_ARG, "pipeline: null batch buffer");
    int rc = check_norm(s, &cfg->norm);
    if (rc)
        return rc;
    uint32_t *own = NULL;
    if (!order) {
        if (!(own = malloc((size_t)s->n * sizeof *own)))
            return mt_error(MT_ERR_NOMEM, "pipeline: out of memory for the epoch order");
        mt_epoch_order(own, s->n, cfg->seed, epoch);
        order = own;
    }
    float lut[MT_DATA_MAX_CHANNELS * 256];
    make_lut(lut, &cfg->norm);
    int64_t first = (int64_t)index * cfg->batch;
    int count = (int)(s->n - first < cfg->batch ? s->n - first : cfg->batch);
    size_t chw = mt_split_image_bytes(s);
    for (int j = 0; j < count; j++) {
        int64_t pos = first + j;
        uint32_t i = order[pos];
        y[j] = s->labels[i];
        int dy = cfg->pad, dx = cfg->pad, flip = 0;
        if (cfg->augment)
            mt_augment_draw(cfg->seed, epoch, pos, cfg->pad, cfg->flip, &dy, &dx, &flip);
        crop_flip_lut(x + (size_t)j * chw, mt_split_image(s, (int)i), s->c, s->h, s->w, cfg->pad,
                      dy, dx, flip, lut);
    }
    free(own);
    return count;
}

int mt_batch_eval(const mt_split *s, const mt_norm *norm, int first, int batch, float *x, int *y)
{
    if (first < 0 || batch < 1 || !x || !y)
        return mt_error(MT_ERR_ARG, "evaluation batch: first %d, batch %d", first, batch);
    int rc = check_norm(s, norm);
    if (rc)
        return rc;
    if (first >= s->n)
        return 0;
    int count = s->n - first < batch ? s->n - first : batch;
    size_t chw = mt_split_image_bytes(s);
    for (int j = 0; j < count; j++) {
        y[j] = s->labels[first + j];
        mt_image_normalize(x + (size_t)j * chw, mt_split_image(s, first + j), s->c, s->h, s->w,
                           norm->mean, norm->std);
    }
    return count;
}
