/* cifar.c: the official CIFAR-100 and CIFAR-10 binary formats, read and write.
 *
 * CIFAR-100 record: coarse label byte, fine label byte, 1024 red, 1024 green,
 * 1024 blue bytes (32x32 row-major). CIFAR-10 record: label byte + 3072 bytes.
 * A record's pixels are already one CHW image, so reading is a copy.
 * Not here: detection of which format a directory holds (dataset.c).
 */
#include "datasets/formats.h"

#include "core/status.h"
#include "datasets/data_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the records of one file into images [first, first + n) of `s`.
 * label_byte is the offset of the label used within the record. */
static int read_records(const char *path, int record, int label_byte, int num_classes, mt_split *s,
                        int first, int n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    uint8_t buf[MT_CIFAR100_RECORD];
    int rc = MT_OK;
    for (int i = 0; i < n; i++) {
        if (fread(buf, 1, (size_t)record, f) != (size_t)record) {
            rc = mt_error(MT_ERR_IO, "%s: short read at record %d", path, i);
            break;
        }
        int label = buf[label_byte];
        if (label >= num_classes) {
            rc = mt_error(MT_ERR_FORMAT, "%s: record %d: label %d out of range [0, %d)", path, i,
                          label, num_classes);
            break;
        }
        s->labels[first + i] = label;
        memcpy(s->pixels + (size_t)(first + i) * MT_CIFAR_PIXELS, buf + record - MT_CIFAR_PIXELS,
               MT_CIFAR_PIXELS);
    }
    fclose(f);
    return rc;
}

/* Number of records in a file, or a negative status when its size is not a
 * whole, non-zero number of records. */
static int count_records(const char *path, int record)
{
    int64_t size = mt_file_size(path);
    if (size < 0)
        return (int)size;
    if (size == 0 || size % record != 0)
        return mt_error(MT_ERR_FORMAT,
                        "%s: size %lld bytes is not a whole number of %d-byte records", path,
                        (long long)size, record);
    if (size / record > 100000000)
        return mt_error(MT_ERR_FORMAT, "%s: implausibly many records", path);
    return (int)(size / record);
}

int mt_cifar100_read(const char *path, int coarse, mt_split *s)
{
    int n = count_records(path, MT_CIFAR100_RECORD);
    if (n < 0)
        return n;
    int rc = mt_split_alloc(s, n, 3, MT_CIFAR_SIDE, MT_CIFAR_SIDE);
    if (rc)
        return rc;
    /* Both labels are checked, whichever is used: a bad byte in either means a
     * corrupt file. */
    FILE *f = fopen(path, "rb");
    if (!f) {
        mt_split_free(s);
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    }
    uint8_t buf[MT_CIFAR100_RECORD];
    for (int i = 0; i < n && rc == MT_OK; i++) {
        if (fread(buf, 1, sizeof buf, f) != sizeof buf) {
            rc = mt_error(MT_ERR_IO, "%s: short read at record %d", path, i);
        } else if (buf[0] >= MT_CIFAR100_COARSE) {
            rc = mt_error(MT_ERR_FORMAT, "%s: record %d: coarse label %d out of range [0, %d)",
                          path, i, buf[0], MT_CIFAR100_COARSE);
        } else if (buf[1] >= MT_CIFAR100_FINE) {
            rc = mt_error(MT_ERR_FORMAT, "%s: record %d: fine label %d out of range [0, %d)", path,
                          i, buf[1], MT_CIFAR100_FINE);
        } else {
            s->labels[i] = coarse ? buf[0] : buf[1];
            memcpy(s->pixels + (size_t)i * MT_CIFAR_PIXELS, buf + 2, MT_CIFAR_PIXELS);
        }
    }
    fclose(f);
    if (rc)
        mt_split_free(s);
    return rc;
}

/* Class names from `file` in `dir` when present, else numbers. */
static int load_names(mt_dataset *ds, const char *dir, const char *file, int n)
{
    char path[MT_PATH_CAP];
    int rc = mt_path_join(path, sizeof path, dir, file);
    if (rc)
        return rc;
    ds->num_classes = n;
    if (mt_is_file(path)) {
        int count;
        return mt_names_read(path, n, &ds->class_names, &count);
    }
    return mt_names_numbered(n, &ds->class_names);
}

int mt_cifar100_load(mt_dataset *ds, const char *dir, int coarse)
{
    char path[MT_PATH_CAP];
    int rc = mt_path_join(path, sizeof path, dir, "train.bin");
    if (!rc)
        rc = mt_cifar100_read(path, coarse, &ds->train);
    if (!rc)
        rc = mt_path_join(path, sizeof path, dir, "test.bin");
    if (!rc)
        rc = mt_cifar100_read(path, coarse, &ds->test);
    if (!rc)
        rc = coarse ? load_names(ds, dir, "coarse_label_names.txt", MT_CIFAR100_COARSE)
                    : load_names(ds, dir, "fine_label_names.txt", MT_CIFAR100_FINE);
    ds->format = MT_FORMAT_CIFAR100;
    return rc;
}

int mt_cifar10_load(mt_dataset *ds, const char *dir)
{
    char paths[MT_CIFAR10_BATCHES][MT_PATH_CAP];
    int counts[MT_CIFAR10_BATCHES];
    int total = 0;
    for (int b = 0; b < MT_CIFAR10_BATCHES; b++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", b + 1);
        int rc = mt_path_join(paths[b], sizeof paths[b], dir, name);
        if (rc)
            return rc;
        counts[b] = count_records(paths[b], MT_CIFAR10_RECORD);
        if (counts[b] < 0)
            return counts[b];
        total += counts[b];
    }
    int rc = mt_split_alloc(&ds->train, total, 3, MT_CIFAR_SIDE, MT_CIFAR_SIDE);
    for (int b = 0, first = 0; b < MT_CIFAR10_BATCHES && !rc; first += counts[b], b++)
        rc = read_records(paths[b], MT_CIFAR10_RECORD, 0, MT_CIFAR10_CLASSES, &ds->train, first,
                          counts[b]);
    char path[MT_PATH_CAP];
    if (!rc)
        rc = mt_path_join(path, sizeof path, dir, "test_batch.bin");
    int n = rc ? rc : count_records(path, MT_CIFAR10_RECORD);
    if (!rc && n < 0)
        rc = n;
    if (!rc)
        rc = mt_split_alloc(&ds->test, n, 3, MT_CIFAR_SIDE, MT_CIFAR_SIDE);
    if (!rc)
        rc = read_records(path, MT_CIFAR10_RECORD, 0, MT_CIFAR10_CLASSES, &ds->test, 0, n);
    if (!rc)
        rc = load_names(ds, dir, "batches.meta.txt", MT_CIFAR10_CLASSES);
    ds->format = MT_FORMAT_CIFAR10;
    return rc;
}

/* ---- writers ------------------------------------------------------------ */

static int check_cifar_shape(const mt_dataset *ds, int classes, const char *what)
{
    const mt_split *sp[2] = {&ds->train, &ds->test};
    for (int k = 0; k < 2; k++)
        if (sp[k]->n > 0 && (sp[k]->c != 3 || sp[k]->h != 32 || sp[k]->w != 32))
            return mt_error(MT_ERR_ARG, "%s: images must be 3x32x32, not %dx%dx%d", what, sp[k]->c,
                            sp[k]->h, sp[k]->w);
    if (ds->num_classes != classes)
        return mt_error(MT_ERR_ARG, "%s: needs %d classes, not %d", what, classes,
                        ds->num_classes);
    return MT_OK;
}

/* Writes images [first, first + n) of s; `head` gives each record's label bytes. */
static int write_records(const char *path, const mt_split *s, int first, int n,
                         const int *coarse_of_fine)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    int ok = 1;
    for (int i = first; i < first + n && ok; i++) {
        int label = s->labels[i];
        if (coarse_of_fine) {
            uint8_t head[2] = {(uint8_t)coarse_of_fine[label], (uint8_t)label};
            ok = fwrite(head, 1, 2, f) == 2;
        } else {
            uint8_t head = (uint8_t)label;
            ok = fwrite(&head, 1, 1, f) == 1;
        }
        ok = ok && fwrite(mt_split_image(s, i), 1, MT_CIFAR_PIXELS, f) == MT_CIFAR_PIXELS;
    }
    if (fclose(f) != 0)
        ok = 0;
    return ok ? MT_OK : mt_error(MT_ERR_IO, "%s: write error", path);
}

int mt_cifar100_write(const mt_dataset *ds, const char *dir, const int *coarse_of_fine)
{
    int rc = check_cifar_shape(ds, MT_CIFAR100_FINE, "CIFAR-100 writer");
    if (rc)
        return rc;
    int map[MT_CIFAR100_FINE];
    for (int k = 0; k < MT_CIFAR100_FINE; k++) {
        map[k] = coarse_of_fine ? coarse_of_fine[k] : k / 5;
        if (map[k] < 0 || map[k] >= MT_CIFAR100_COARSE)
            return mt_error(MT_ERR_ARG, "CIFAR-100 writer: coarse label %d of fine %d", map[k], k);
    }
    char path[MT_PATH_CAP];
    if ((rc = mt_mkdirs(dir)) || (rc = mt_path_join(path, sizeof path, dir, "train.bin")) ||
        (rc = write_records(path, &ds->train, 0, ds->train.n, map)) ||
        (rc = mt_path_join(path, sizeof path, dir, "test.bin")) ||
        (rc = write_records(path, &ds->test, 0, ds->test.n, map)) ||
        (rc = mt_path_join(path, sizeof path, dir, "fine_label_names.txt")) ||
        (rc = mt_names_write(path, ds->class_names, MT_CIFAR100_FINE)))
        return rc;
    char *coarse_names[MT_CIFAR100_COARSE];
    char store[MT_CIFAR100_COARSE][24];
    for (int k = 0; k < MT_CIFAR100_COARSE; k++) {
        snprintf(store[k], sizeof store[k], "superclass_%02d", k);
        coarse_names[k] = store[k];
    }
    if ((rc = mt_path_join(path, sizeof path, dir, "coarse_label_names.txt")))
        return rc;
    return mt_names_write(path, coarse_names, MT_CIFAR100_COARSE);
}

int mt_cifar10_write(const mt_dataset *ds, const char *dir)
{
    int rc = check_cifar_shape(ds, MT_CIFAR10_CLASSES, "CIFAR-10 writer");
    if (rc || (rc = mt_mkdirs(dir)))
        return rc;
    char path[MT_PATH_CAP];
    int first = 0;
    for (int b = 0; b < MT_CIFAR10_BATCHES; b++) {
        /* Batch b holds images [n*b/5, n*(b+1)/5): as even as integers allow. */
        int end = (int)((int64_t)ds->train.n * (b + 1) / MT_CIFAR10_BATCHES);
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", b + 1);
        if ((rc = mt_path_join(path, sizeof path, dir, name)) ||
            (rc = write_records(path, &ds->train, first, end - first, NULL)))
            return rc;
        first = end;
    }
    if ((rc = mt_path_join(path, sizeof path, dir, "test_batch.bin")) ||
        (rc = write_records(path, &ds->test, 0, ds->test.n, NULL)) ||
        (rc = mt_path_join(path, sizeof path, dir, "batches.meta.txt")))
        return rc;
    return mt_names_write(path, ds->class_names, MT_CIFAR10_CLASSES);
}
