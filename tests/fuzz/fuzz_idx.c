/* fuzz_idx.c: IDX image and label files (datasets/idx.c), each input read
 * both as it is and gzip'd, so the header and size checks are fuzzed on the
 * plain path (which compares against the file size) and the gzip path (which
 * cannot). */
#include "core/status.h"
#include "datasets/formats.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <zlib.h>

/* The label count of an idx1 header (after gunzip, when gzip'd), capped so a
 * huge claim fails in the reader, not in this target's allocation. */
static int header_count(const char *path)
{
    gzFile g = gzopen(path, "rb");
    uint8_t h[8];
    int n = 0;
    if (g && gzread(g, h, 8) == 8)
        n = (int)((uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7]);
    if (g)
        gzclose(g);
    return n < 0 || n > (1 << 16) ? 1 << 16 : n;
}

static void parse(const char *path)
{
    mt_split s;
    if (mt_idx_read_images(path, &s) == MT_OK)
        mt_split_free(&s);
    int n = header_count(path);
    int *labels = malloc((size_t)(n ? n : 1) * sizeof *labels);
    if (!labels)
        abort();
    mt_idx_read_labels(path, n, 10, labels);
    free(labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    parse(fuzz_memfile(0, data, n));
    /* The same bytes as a gzip member. */
    z_stream z = {0};
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    uLong cap = deflateBound(&z, (uLong)n) + 32;
    uint8_t *gz = malloc(cap);
    if (!gz)
        abort();
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)n;
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    parse(fuzz_memfile(0, gz, z.total_out));
    deflateEnd(&z);
    free(gz);
    return 0;
}
