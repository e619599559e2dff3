/* split.c: allocation and statistics of one split (mt_split). */
#include "datasets/dataset.h"

#include "core/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int mt_split_alloc(mt_split *s, int n, int c, int h, int w)
{
    memset(s, 0, sizeof *s);
    if (n < 0 || c < 1 || c > MT_DATA_MAX_CHANNELS || h < 1 || w < 1)
        return mt_error(MT_ERR_ARG, "split: bad shape (%d, %d, %d, %d)", n, c, h, w);
    size_t bytes = (size_t)n * (size_t)c * (size_t)h * (size_t)w;
    s->pixels = calloc(bytes ? bytes : 1, 1);
    s->labels = calloc(n ? (size_t)n : 1, sizeof *s->labels);
    if (!s->pixels || !s->labels) {
        mt_split_free(s);
        return mt_error(MT_ERR_NOMEM, "split: out of memory for %d images of %dx%dx%d", n, c, h, w);
    }
    s->n = n;
    s->c = c;
    s->h = h;
    s->w = w;
    return MT_OK;
}

void mt_split_free(mt_split *s)
{
    free(s->pixels);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

void mt_split_class_counts(const mt_split *s, int num_classes, int *counts)
{
    memset(counts, 0, (size_t)num_classes * sizeof *counts);
    for (int i = 0; i < s->n; i++)
        if (s->labels[i] >= 0 && s->labels[i] < num_classes)
            counts[s->labels[i]]++;
}

int mt_split_channel_stats(const mt_split *s, double *mean, double *std)
{
    if (s->n < 1)
        return mt_error(MT_ERR_ARG, "channel statistics of an empty split");
    size_t plane = (size_t)s->h * (size_t)s->w;
    for (int ch = 0; ch < s->c; ch++) {
        /* Integer sums are exact for any realistic dataset (2^63 / 255^2 pixels),
         * so the statistics do not depend on summation order. */
        uint64_t sum = 0, sum2 = 0;
        for (int i = 0; i < s->n; i++) {
            const uint8_t *p = mt_split_image(s, i) + (size_t)ch * plane;
            for (size_t k = 0; k < plane; k++) {
                sum += p[k];
                sum2 += (uint64_t)p[k] * p[k];
            }
        }
        double count = (double)s->n * (double)plane;
        double m = (double)sum / count;
        double var = (double)sum2 / count - m * m;
        mean[ch] = m / 255.0;
        std[ch] = sqrt(var > 0 ? var : 0) / 255.0;
    }
    return MT_OK;
}
