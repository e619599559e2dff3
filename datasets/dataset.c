/* dataset.c: opening a data directory: format detection, the default
 * dataset, the options (labels, limits, hold-out) and freeing.
 * Not here: the formats themselves (cifar.c, idx.c, folder.c).
 */
#include "datasets/dataset.h"

#include "core/rng.h"
#include "core/status.h"
#include "datasets/data_io.h"
#include "datasets/formats.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mt_data_format_name(mt_data_format f)
{
    switch (f) {
    case MT_FORMAT_CIFAR100: return "cifar100";
    case MT_FORMAT_CIFAR10: return "cifar10";
    case MT_FORMAT_IDX: return "idx";
    case MT_FORMAT_FOLDER: return "folder";
    default: return "none";
    }
}

static int has(const char *dir, const char *name)
{
    char path[MT_PATH_CAP];
    return mt_path_join(path, sizeof path, dir, name) == MT_OK && mt_is_file(path);
}

static int has_dir(const char *dir, const char *name)
{
    char path[MT_PATH_CAP];
    return mt_path_join(path, sizeof path, dir, name) == MT_OK && mt_is_dir(path);
}

/* The format of exactly this directory (no descent into the archives' folders). */
static mt_data_format detect_here(const char *dir)
{
    if (has(dir, "train.bin") || has(dir, "test.bin"))
        return MT_FORMAT_CIFAR100;
    if (has(dir, "data_batch_1.bin") || has(dir, "test_batch.bin"))
        return MT_FORMAT_CIFAR10;
    if (has(dir, "train-images-idx3-ubyte") || has(dir, "train-images-idx3-ubyte.gz"))
        return MT_FORMAT_IDX;
    if (has_dir(dir, "train"))
        return MT_FORMAT_FOLDER;
    return MT_FORMAT_NONE;
}

/* dir itself, or the official archive's folder inside it. */
static mt_data_format resolve(const char *dir, char *out, size_t cap)
{
    static const char *const inner[] = {"cifar-100-binary", "cifar-10-batches-bin"};
    snprintf(out, cap, "%s", dir);
    mt_data_format f = detect_here(dir);
    for (int i = 0; i < 2 && f == MT_FORMAT_NONE; i++)
        if (has_dir(dir, inner[i]) && mt_path_join(out, cap, dir, inner[i]) == MT_OK) {
            f = detect_here(out);
            if (f == MT_FORMAT_NONE)
                snprintf(out, cap, "%s", dir);
        }
    return f;
}

mt_data_format mt_dataset_detect(const char *dir)
{
    char path[MT_PATH_CAP];
    return resolve(dir, path, sizeof path);
}

void mt_dataset_free(mt_dataset *ds)
{
    mt_split_free(&ds->train);
    mt_split_free(&ds->val);
    mt_split_free(&ds->test);
    mt_names_free(ds->class_names, ds->num_classes);
    free(ds->dir);
    memset(ds, 0, sizeof *ds);
}

/* Every label must be a class and every split must have the same image shape. */
static int validate(const mt_dataset *ds, const char *dir)
{
    if (ds->train.n < 1)
        return mt_error(MT_ERR_FORMAT, "%s: the training split is empty", dir);
    if (ds->test.n > 0 &&
        (ds->test.c != ds->train.c || ds->test.h != ds->train.h || ds->test.w != ds->train.w))
        return mt_error(MT_ERR_FORMAT, "%s: test images are %dx%dx%d, training images %dx%dx%d",
                        dir, ds->test.c, ds->test.h, ds->test.w, ds->train.c, ds->train.h,
                        ds->train.w);
    return MT_OK;
}

int mt_dataset_open(mt_dataset *ds, const char *dir, const mt_dataset_options *opt)
{
    static const mt_dataset_options none = {0};
    if (!opt)
        opt = &none;
    memset(ds, 0, sizeof *ds);
    if (!dir || !*dir)
        return mt_error(MT_ERR_ARG, "dataset: no directory given");
    if (!mt_is_dir(dir))
        return mt_error(MT_ERR_IO, "%s: %s", dir, errno == ENOENT ? "no such directory" : "not a directory");
    DIR *probe = opendir(dir);
    if (!probe)
        return mt_error(MT_ERR_IO, "%s: cannot read directory: %s", dir, strerror(errno));
    closedir(probe);
    if (opt->val_size < 0 || opt->limit_train < 0 || opt->limit_test < 0)
        return mt_error(MT_ERR_ARG, "%s: negative hold-out or limit", dir);
    char real[MT_PATH_CAP];
    mt_data_format f = resolve(dir, real, sizeof real);
    if (opt->coarse && f != MT_FORMAT_CIFAR100)
        return mt_error(MT_ERR_ARG, "%s: coarse labels exist only in CIFAR-100, this is %s", dir,
                        mt_data_format_name(f));
    int rc;
    switch (f) {
    case MT_FORMAT_CIFAR100: rc = mt_cifar100_load(ds, real, opt->coarse); break;
    case MT_FORMAT_CIFAR10: rc = mt_cifar10_load(ds, real); break;
    case MT_FORMAT_IDX: rc = mt_idx_load(ds, real); break;
    case MT_FORMAT_FOLDER: rc = mt_folder_load(ds, real); break;
    default:
        return mt_error(MT_ERR_FORMAT,
                        "%s: no dataset here (expected CIFAR-100 train.bin+test.bin, CIFAR-10 "
                        "data_batch_1..5.bin+test_batch.bin, IDX train-images-idx3-ubyte[.gz], "
                        "or image folders train/<class>/)",
                        dir);
    }
    if (!rc)
        rc = validate(ds, real);
    if (!rc && opt->limit_train > 0 && opt->limit_train < ds->train.n)
        ds->train.n = opt->limit_train;
    if (!rc && opt->limit_test > 0 && opt->limit_test < ds->test.n)
        ds->test.n = opt->limit_test;
    if (!rc && opt->val_size > 0)
        rc = mt_dataset_holdout(ds, opt->val_size, opt->val_seed);
    if (!rc && !(ds->dir = strdup(real)))
        rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", dir);
    if (rc)
        mt_dataset_free(ds);
    return rc;
}

/* Whether `dir` holds CIFAR-100 (itself or in cifar-100-binary/); its path in out. */
static int cifar100_at(const char *dir, char *out, size_t cap)
{
    return dir && *dir && mt_is_dir(dir) && resolve(dir, out, cap) == MT_FORMAT_CIFAR100;
}

int mt_dataset_default_dir(char *buf, size_t cap)
{
    const char *env = getenv("MUTAU_DATA");
    if (cifar100_at(env, buf, cap) || cifar100_at("data", buf, cap))
        return MT_OK;
    if (mt_is_dir(MT_FASHION_MNIST_DIR) && detect_here(MT_FASHION_MNIST_DIR) == MT_FORMAT_IDX) {
        snprintf(buf, cap, "%s", MT_FASHION_MNIST_DIR);
        return MT_OK;
    }
    return mt_error(MT_ERR_IO,
                    "no dataset found: no CIFAR-100 in %s%s./data, and no Fashion-MNIST in %s "
                    "(install dataset-fashion-mnist or run 'mutau data fetch cifar100')",
                    env && *env ? env : "", env && *env ? " or " : "$MUTAU_DATA or ",
                    MT_FASHION_MNIST_DIR);
}

int mt_dataset_open_default(mt_dataset *ds, const mt_dataset_options *opt)
{
    char dir[MT_PATH_CAP];
    memset(ds, 0, sizeof *ds);
    int rc = mt_dataset_default_dir(dir, sizeof dir);
    return rc ? rc : mt_dataset_open(ds, dir, opt);
}

int mt_dataset_holdout(mt_dataset *ds, int val_size, uint64_t seed)
{
    if (ds->val.n > 0)
        return mt_error(MT_ERR_ARG, "hold-out: the dataset already has a validation split");
    if (val_size < 1 || val_size >= ds->train.n)
        return mt_error(MT_ERR_ARG, "hold-out: %d images requested from a training split of %d",
                        val_size, ds->train.n);
    int n = ds->train.n;
    uint32_t *perm = malloc((size_t)n * sizeof *perm);
    uint8_t *is_val = calloc((size_t)n, 1);
    mt_split train, val;
    int rc = perm && is_val ? MT_OK : mt_error(MT_ERR_NOMEM, "hold-out: out of memory");
    if (!rc) {
        for (int i = 0; i < n; i++)
            perm[i] = (uint32_t)i;
        mt_rng r;
        /* A stream of its own, so the hold-out never correlates with the epoch orders. */
        mt_rng_seed(&r, seed, 0x686f6c646f7574ULL);
        mt_rng_shuffle_u32(&r, perm, (uint64_t)n);
        for (int i = 0; i < val_size; i++)
            is_val[perm[i]] = 1;
        rc = mt_split_alloc(&train, n - val_size, ds->train.c, ds->train.h, ds->train.w);
    }
    if (!rc && (rc = mt_split_alloc(&val, val_size, ds->train.c, ds->train.h, ds->train.w)))
        mt_split_free(&train);
    if (!rc) {
        size_t bytes = mt_split_image_bytes(&ds->train);
        int t = 0, v = 0;
        for (int i = 0; i < n; i++) {
            mt_split *dst = is_val[i] ? &val : &train;
            int j = is_val[i] ? v++ : t++;
            memcpy(dst->pixels + (size_t)j * bytes, mt_split_image(&ds->train, i), bytes);
            dst->labels[j] = ds->train.labels[i];
        }
        mt_split_free(&ds->train);
        ds->train = train;
        ds->val = val;
    }
    free(perm);
    free(is_val);
    return rc;
}
