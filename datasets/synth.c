/* synth.c: the synthetic dataset generator (see synth.h). */
#include "datasets/synth.h"

#include "core/rng.h"
#include "core/status.h"
#include "datasets/data_io.h"
#include "datasets/formats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mt_synth_config_default(mt_synth_config *cfg, mt_data_format format)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->format = format;
    cfg->classes = format == MT_FORMAT_CIFAR100 ? 100 : 10;
    cfg->n_train = 500;
    cfg->n_test = 100;
    cfg->c = format == MT_FORMAT_IDX ? 1 : 3;
    cfg->h = format == MT_FORMAT_IDX ? 28 : 32;
    cfg->w = cfg->h;
    cfg->seed = 1;
    cfg->gzip = format == MT_FORMAT_IDX;
    cfg->ext = "png";
}

static int check_config(const mt_synth_config *cfg)
{
    int cifar = cfg->format == MT_FORMAT_CIFAR100 || cfg->format == MT_FORMAT_CIFAR10;
    if (cfg->classes < 2 || cfg->classes > 256)
        return mt_error(MT_ERR_ARG, "synth: classes %d not in [2, 256]", cfg->classes);
    if (cfg->n_train < 1 || cfg->n_test < 1)
        return mt_error(MT_ERR_ARG, "synth: needs at least one training and one test image");
    if (cfg->c < 1 || cfg->c > 3 || cfg->c == 2 || cfg->h < 1 || cfg->w < 1 || cfg->h > 4096 ||
        cfg->w > 4096)
        return mt_error(MT_ERR_ARG, "synth: bad image shape %dx%dx%d", cfg->c, cfg->h, cfg->w);
    if (cifar && (cfg->c != 3 || cfg->h != 32 || cfg->w != 32))
        return mt_error(MT_ERR_ARG, "synth: CIFAR images are 3x32x32, not %dx%dx%d", cfg->c,
                        cfg->h, cfg->w);
    if (cfg->format == MT_FORMAT_CIFAR100 && cfg->classes != 100)
        return mt_error(MT_ERR_ARG, "synth: CIFAR-100 has 100 classes, not %d", cfg->classes);
    if (cfg->format == MT_FORMAT_CIFAR10 && cfg->classes != 10)
        return mt_error(MT_ERR_ARG, "synth: CIFAR-10 has 10 classes, not %d", cfg->classes);
    if (cfg->format == MT_FORMAT_CIFAR10 && cfg->n_train < 5)
        return mt_error(MT_ERR_ARG, "synth: CIFAR-10 needs >= 5 training images (5 batch files)");
    if (cfg->format == MT_FORMAT_IDX && cfg->c != 1)
        return mt_error(MT_ERR_ARG, "synth: IDX images have 1 channel, not %d", cfg->c);
    return MT_OK;
}

/* Image `index` of split `split` (0 train, 1 test) of class k, into dst (c, h, w). */
static void draw_image(const mt_synth_config *cfg, int split, int index, int k, uint8_t *dst)
{
    mt_rng r;
    mt_rng_seed(&r, cfg->seed, ((uint64_t)split << 40) ^ (uint64_t)index);
    int K = cfg->classes;
    /* The class fixes orientation, frequency and tint; the image only a
     * small phase shift and noise, so class means stay distinct. */
    double theta = 3.141592653589793 * (double)(k % 13) / 13.0 + 0.37 * (double)(k / 13);
    double freq = 1.5 + (double)(k % 4) + 0.5 * (double)((k / 4) % 3);
    double phase = (mt_rng_uniform(&r) - 0.5) * 1.2;
    double ct = cos(theta), st = sin(theta);
    for (int ch = 0; ch < cfg->c; ch++) {
        double tint = 70.0 + 120.0 * (double)((k * (2 * ch + 3) + ch) % K) / (double)K;
        for (int y = 0; y < cfg->h; y++)
            for (int x = 0; x < cfg->w; x++) {
                double u = ((double)x * ct + (double)y * st) / (double)(cfg->w > cfg->h ? cfg->w : cfg->h);
                double v = tint + 55.0 * sin(6.283185307179586 * freq * u + phase) +
                           18.0 * mt_rng_normal(&r);
                long p = lround(v);
                dst[((size_t)ch * (size_t)cfg->h + (size_t)y) * (size_t)cfg->w + (size_t)x] =
                    (uint8_t)(p < 0 ? 0 : p > 255 ? 255 : p);
            }
    }
}

static int make_split(const mt_synth_config *cfg, int split, int n, mt_split *s)
{
    int rc = mt_split_alloc(s, n, cfg->c, cfg->h, cfg->w);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++) {
        s->labels[i] = i % cfg->classes;
        draw_image(cfg, split, i, s->labels[i], s->pixels + (size_t)i * mt_split_image_bytes(s));
    }
    return MT_OK;
}

int mt_synth_make(mt_dataset *ds, const mt_synth_config *cfg)
{
    memset(ds, 0, sizeof *ds);
    int rc = check_config(cfg);
    if (rc)
        return rc;
    ds->format = cfg->format;
    ds->num_classes = cfg->classes;
    ds->class_names = calloc((size_t)cfg->classes, sizeof *ds->class_names);
    if (!ds->class_names)
        return mt_error(MT_ERR_NOMEM, "synth: out of memory");
    for (int k = 0; k < cfg->classes && !rc; k++) {
        char name[32];
        snprintf(name, sizeof name, "class_%03d", k);
        if (!(ds->class_names[k] = strdup(name)))
            rc = mt_error(MT_ERR_NOMEM, "synth: out of memory");
    }
    if (!rc)
        rc = make_split(cfg, 0, cfg->n_train, &ds->train);
    if (!rc)
        rc = make_split(cfg, 1, cfg->n_test, &ds->test);
    if (rc)
        mt_dataset_free(ds);
    return rc;
}

int mt_synth_write(const char *dir, const mt_synth_config *cfg, mt_dataset *out)
{
    mt_dataset ds;
    int rc = mt_synth_make(&ds, cfg);
    if (rc)
        return rc;
    if ((rc = mt_mkdirs(dir)) == MT_OK) {
        switch (cfg->format) {
        case MT_FORMAT_CIFAR100: rc = mt_cifar100_write(&ds, dir, NULL); break;
        case MT_FORMAT_CIFAR10: rc = mt_cifar10_write(&ds, dir); break;
        case MT_FORMAT_IDX: rc = mt_idx_write(&ds, dir, cfg->gzip); break;
        case MT_FORMAT_FOLDER: rc = mt_folder_write(&ds, dir, cfg->ext ? cfg->ext : "png"); break;
        default: rc = mt_error(MT_ERR_ARG, "synth: no format to write"); break;
        }
    }
    if (!rc && out)
        *out = ds;
    else
        mt_dataset_free(&ds);
    return rc;
}
