/* idx.c: the IDX format of MNIST and Fashion-MNIST, plain or gzip'd.
 *
 * An IDX file is a big-endian header (magic 0x00000801 for a vector of labels,
 * 0x00000803 for n images of rows x cols, then one 32-bit size per dimension)
 * followed by exactly the product of the sizes in bytes. zlib's gzread reads
 * plain files unchanged, so one reader serves both; a gzip stream that ends
 * early is reported as truncated, and data longer or shorter than the header
 * says as a size mismatch.
 * Not here: other IDX element types (only unsigned bytes occur in these sets).
 */
#define _GNU_SOURCE /* strcasestr */
#include "datasets/formats.h"

#include "core/status.h"
#include "datasets/data_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { IDX_LABELS = 0x00000801, IDX_IMAGES = 0x00000803 };

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* zlib's message without the "path: " it puts in front. */
static const char *zmsg(gzFile g, const char *path, int *zerr)
{
    const char *msg = gzerror(g, zerr);
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2;
    return msg;
}

/* Reads exactly `len` bytes; tells a truncated gzip stream from a short file. */
static int read_exact(gzFile g, const char *path, void *buf, size_t len, const char *what)
{
    uint8_t *p = buf;
    while (len > 0) {
        unsigned chunk = len > (1u << 30) ? (1u << 30) : (unsigned)len;
        int got = gzread(g, p, chunk);
        if (got < (int)chunk) {
            int zerr;
            const char *msg = zmsg(g, path, &zerr);
            if (zerr == Z_BUF_ERROR)
                return mt_error(MT_ERR_FORMAT, "%s: truncated gzip stream reading %s (%s)", path,
                                what, msg);
            if (got < 0 || zerr != Z_OK)
                return mt_error(MT_ERR_FORMAT, "%s: corrupt gzip stream reading %s: %s", path,
                                what, msg);
            return mt_error(MT_ERR_FORMAT, "%s: file ends before the %s its header announces",
                            path, what);
        }
        p += got;
        len -= (size_t)got;
    }
    return MT_OK;
}

/* Reads the `len` bytes of the payload into a new buffer that grows as the
 * data arrives: a gzip'd file's header can promise gigabytes in a few dozen
 * bytes, and memory should follow the data, not the promise. */
static int read_payload(gzFile g, const char *path, size_t len, const char *what, uint8_t **out)
{
    size_t cap = len < (1u << 20) ? len : (1u << 20), have = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
    for (;;) {
        int rc = read_exact(g, path, buf + have, cap - have, what);
        if (rc) {
            free(buf);
            return rc;
        }
        have = cap;
        if (have == len)
            break;
        cap = len - have < have ? len : 2 * have;
        uint8_t *more = realloc(buf, cap);
        if (!more) {
            free(buf);
            return mt_error(MT_ERR_NOMEM, "%s: out of memory for %zu bytes of %s", path, len, what);
        }
        buf = more;
    }
    *out = buf;
    return MT_OK;
}

/* After the payload: the stream must end here, cleanly. */
static int expect_end(gzFile g, const char *path)
{
    uint8_t extra;
    int got = gzread(g, &extra, 1);
    if (got == 1)
        return mt_error(MT_ERR_FORMAT, "%s: more data than the header's dimensions say", path);
    int zerr;
    const char *msg = zmsg(g, path, &zerr);
    if (got < 0 || zerr == Z_BUF_ERROR || (zerr != Z_OK && zerr != Z_STREAM_END))
        return mt_error(MT_ERR_FORMAT, "%s: truncated or corrupt gzip stream: %s", path, msg);
    return MT_OK;
}

/* Opens an IDX file and reads its header: `dims` sizes for the given magic. */
static int open_idx(const char *path, uint32_t magic, int ndims, uint32_t *dims, gzFile *out)
{
    gzFile g = gzopen(path, "rb");
    if (!g)
        return mt_error(MT_ERR_IO, "%s: %s", path, errno ? strerror(errno) : "cannot open");
    uint8_t head[16];
    int rc = read_exact(g, path, head, 4 + 4 * (size_t)ndims, "header");
    if (!rc && be32(head) != magic)
        rc = mt_error(MT_ERR_FORMAT, "%s: bad magic number 0x%08x, expected 0x%08x (%s)", path,
                      be32(head), magic, magic == IDX_IMAGES ? "idx3 images" : "idx1 labels");
    for (int d = 0; d < ndims && !rc; d++) {
        dims[d] = be32(head + 4 + 4 * d);
        if (dims[d] == 0 || dims[d] > (d == 0 ? 100000000u : 65535u))
            rc = mt_error(MT_ERR_FORMAT, "%s: dimension %d has implausible size %u", path, d,
                          dims[d]);
    }
    /* Before anything is allocated: the payload must be plausible, and a
     * plain (not gzip'd) file must have exactly the size the header says. */
    uint64_t payload = 1;
    for (int d = 0; d < ndims && !rc; d++)
        payload *= dims[d];
    if (!rc && payload > (1ull << 34))
        rc = mt_error(MT_ERR_FORMAT, "%s: dimensions promise %llu bytes, implausibly many", path,
                      (unsigned long long)payload);
    if (!rc && gzdirect(g)) {
        int64_t size = mt_file_size(path);
        uint64_t want = 4 + 4 * (uint64_t)ndims + payload;
        if (size >= 0 && (uint64_t)size != want)
            rc = mt_error(MT_ERR_FORMAT,
                          "%s: dimensions disagree with the file size: the header says %llu "
                          "bytes, the file has %lld",
                          path, (unsigned long long)want, (long long)size);
    }
    if (rc) {
        gzclose(g);
        return rc;
    }
    *out = g;
    return MT_OK;
}

int mt_idx_read_images(const char *path, mt_split *s)
{
    memset(s, 0, sizeof *s);
    uint32_t dims[3];
    gzFile g;
    int rc = open_idx(path, IDX_IMAGES, 3, dims, &g);
    if (rc)
        return rc;
    size_t bytes = (size_t)dims[0] * dims[1] * dims[2];
    uint8_t *pixels = NULL;
    rc = read_payload(g, path, bytes, "images", &pixels);
    if (!rc)
        rc = expect_end(g, path);
    gzclose(g);
    if (!rc)
        rc = mt_split_alloc(s, (int)dims[0], 1, (int)dims[1], (int)dims[2]);
    if (!rc)
        memcpy(s->pixels, pixels, bytes);
    free(pixels);
    return rc;
}

int mt_idx_read_labels(const char *path, int expect_n, int num_classes, int *labels)
{
    uint32_t n;
    gzFile g;
    int rc = open_idx(path, IDX_LABELS, 1, &n, &g);
    if (rc)
        return rc;
    uint8_t *buf = NULL;
    if ((int64_t)n != expect_n)
        rc = mt_error(MT_ERR_FORMAT, "%s: %u labels for %d images", path, n, expect_n);
    if (!rc)
        rc = read_payload(g, path, n, "labels", &buf);
    if (!rc)
        rc = expect_end(g, path);
    for (uint32_t i = 0; i < n && !rc; i++) {
        if (buf[i] >= num_classes)
            rc = mt_error(MT_ERR_FORMAT, "%s: label %u of item %u out of range [0, %d)", path,
                          buf[i], i, num_classes);
        else
            labels[i] = buf[i];
    }
    free(buf);
    gzclose(g);
    return rc;
}

/* DIR/STEM or DIR/STEM.gz, whichever exists (plain first); MT_ERR_IO naming both. */
static int find_file(char *path, size_t cap, const char *dir, const char *stem)
{
    char name[128];
    int rc = mt_path_join(path, cap, dir, stem);
    if (rc || mt_is_file(path))
        return rc;
    snprintf(name, sizeof name, "%s.gz", stem);
    rc = mt_path_join(path, cap, dir, name);
    if (rc || mt_is_file(path))
        return rc;
    return mt_error(MT_ERR_IO, "%s/%s[.gz]: missing file", dir, stem);
}

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};

static int idx_names(mt_dataset *ds, const char *dir)
{
    char path[MT_PATH_CAP];
    int rc = mt_path_join(path, sizeof path, dir, "class_names.txt");
    if (rc)
        return rc;
    if (mt_is_file(path))
        return mt_names_read(path, 0, &ds->class_names, &ds->num_classes);
    ds->num_classes = 10;
    /* MNIST and Fashion-MNIST share file names; the directory's own name
     * (not its parents') tells them apart. */
    size_t end = strlen(dir);
    while (end > 1 && dir[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    char base[256];
    snprintf(base, sizeof base, "%.*s", (int)(end - start), dir + start);
    if (strcasestr(base, "fashion"))
        return mt_names_copy((char **)fashion_names, 10, &ds->class_names);
    return mt_names_numbered(10, &ds->class_names);
}

static int load_split(const char *dir, const char *images, const char *labels, int num_classes,
                      mt_split *s)
{
    char path[MT_PATH_CAP];
    int rc = find_file(path, sizeof path, dir, images);
    if (!rc)
        rc = mt_idx_read_images(path, s);
    if (!rc)
        rc = find_file(path, sizeof path, dir, labels);
    if (!rc)
        rc = mt_idx_read_labels(path, s->n, num_classes, s->labels);
    if (rc)
        mt_split_free(s);
    return rc;
}

int mt_idx_load(mt_dataset *ds, const char *dir)
{
    ds->format = MT_FORMAT_IDX;
    int rc = idx_names(ds, dir);
    if (!rc)
        rc = load_split(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                        ds->num_classes, &ds->train);
    if (!rc)
        rc = load_split(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", ds->num_classes,
                        &ds->test);
    return rc;
}

/* ---- writer ------------------------------------------------------------- */

static int write_file(const char *dir, const char *stem, int gzip, const uint8_t *head,
                      size_t head_len, const uint8_t *body, size_t body_len, const int *labels)
{
    char name[128], path[MT_PATH_CAP];
    snprintf(name, sizeof name, "%s%s", stem, gzip ? ".gz" : "");
    int rc = mt_path_join(path, sizeof path, dir, name);
    if (rc)
        return rc;
    gzFile g = gzopen(path, gzip ? "wb6" : "wbT");
    if (!g)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    int ok = gzwrite(g, head, (unsigned)head_len) == (int)head_len;
    if (body)
        ok = ok && gzwrite(g, body, (unsigned)body_len) == (int)body_len;
    for (size_t i = 0; labels && i < body_len && ok; i++) {
        uint8_t b = (uint8_t)labels[i];
        ok = gzwrite(g, &b, 1) == 1;
    }
    if (gzclose(g) != Z_OK)
        ok = 0;
    return ok ? MT_OK : mt_error(MT_ERR_IO, "%s: write error", path);
}

static int write_split(const char *dir, const char *prefix, const mt_split *s, int gzip)
{
    uint8_t head[16];
    char stem[64];
    put_be32(head, IDX_IMAGES);
    put_be32(head + 4, (uint32_t)s->n);
    put_be32(head + 8, (uint32_t)s->h);
    put_be32(head + 12, (uint32_t)s->w);
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", prefix);
    int rc = write_file(dir, stem, gzip, head, 16, s->pixels, (size_t)s->n * s->h * s->w, NULL);
    if (rc)
        return rc;
    put_be32(head, IDX_LABELS);
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", prefix);
    return write_file(dir, stem, gzip, head, 8, NULL, (size_t)s->n, s->labels);
}

int mt_idx_write(const mt_dataset *ds, const char *dir, int gzip)
{
    if (ds->train.c != 1 || (ds->test.n > 0 && ds->test.c != 1))
        return mt_error(MT_ERR_ARG, "IDX writer: images must have 1 channel, not %d", ds->train.c);
    if (ds->num_classes > 256)
        return mt_error(MT_ERR_ARG, "IDX writer: %d classes do not fit a byte", ds->num_classes);
    char path[MT_PATH_CAP];
    int rc;
    if ((rc = mt_mkdirs(dir)) || (rc = write_split(dir, "train", &ds->train, gzip)) ||
        (rc = write_split(dir, "t10k", &ds->test, gzip)) ||
        (rc = mt_path_join(path, sizeof path, dir, "class_names.txt")))
        return rc;
    return mt_names_write(path, ds->class_names, ds->num_classes);
}
