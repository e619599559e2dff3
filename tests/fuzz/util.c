/* util.c: in-memory files and a scratch directory for the fuzz targets. */
#define _GNU_SOURCE /* memfd_create */
#include "tests/fuzz/util.h"

#include "core/status.h"
#include "datasets/imageio.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static void die(const char *what)
{
    perror(what);
    abort();
}

const char *fuzz_memfile(int slot, const uint8_t *data, size_t n)
{
    static int fd[4] = {-1, -1, -1, -1};
    static char path[4][32];
    if (slot < 0 || slot >= 4)
        abort();
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("fuzz-input", MFD_CLOEXEC);
        if (fd[slot] < 0)
            die("memfd_create");
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    if (ftruncate(fd[slot], 0) != 0)
        die("ftruncate");
    for (size_t done = 0; done < n;) {
        ssize_t w = pwrite(fd[slot], data + done, n - done, (off_t)done);
        if (w <= 0)
            die("pwrite");
        done += (size_t)w;
    }
    return path[slot];
}

static char scratch[64];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

static void remove_scratch(void)
{
    if (scratch[0])
        nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_scratch(void)
{
    if (!scratch[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/mutau-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch))
            die("mkdtemp");
        atexit(remove_scratch);
    }
    return scratch;
}

void fuzz_put(const char *dir, const char *name, const uint8_t *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n == SIZE_MAX) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        die(path);
}

int fuzz_split(const uint8_t *data, size_t n, const uint8_t **part, size_t *len, int cap)
{
    static const uint8_t mark[4] = {'\n', '-', '-', '\n'};
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i + 4 <= n && k < cap - 1; i++)
        if (memcmp(data + i, mark, 4) == 0) {
            part[k] = data + start;
            len[k++] = i - start;
            start = i + 4;
            i += 3;
        }
    part[k] = data + start;
    len[k++] = n - start;
    return k;
}

void fuzz_image_decode(const char *path)
{
    int w, h, c;
    if (mt_image_info(path, &w, &h, &c) != MT_OK)
        return;
    /* mt_image_info refuses more than MT_IMAGE_MAX_PIXELS. */
    if ((int64_t)w * h > MT_IMAGE_MAX_PIXELS)
        abort();
    /* Decoding up to the bound (16 M pixels, a few seconds under ASan) is
     * the same code as decoding a smaller image, only longer: the targets
     * decode up to 1 M pixels, so that a loaded machine does not turn a
     * large but legal image into a timeout. */
    if ((int64_t)w * h > (1 << 20))
        return;
    uint8_t *dst = malloc((size_t)w * (size_t)h * 3);
    if (!dst)
        abort();
    mt_image_read(path, 1, h, w, dst);
    mt_image_read(path, 3, h, w, dst);
    free(dst);
}

uint8_t *fuzz_with_crc(const uint8_t *data, size_t n)
{
    uint8_t *buf = malloc(n);
    if (!buf || n < 4)
        abort();
    memcpy(buf, data, n);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(n - 4));
    for (int i = 0; i < 4; i++)
        buf[n - 4 + i] = (uint8_t)(crc >> (8 * i));
    return buf;
}
