/* fuzz_image_png.c: PNG files through libpng (datasets/imageio.c): sizes,
 * bit depths, palettes, transparency, interlacing, truncation and oversized
 * images. Inputs are given the PNG signature, so every one takes the libpng
 * path. */
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && memcmp(data, sig, 8) == 0) {
        fuzz_image_decode(fuzz_memfile(0, data, n));
        return 0;
    }
    uint8_t *buf = malloc(n + 8);
    if (!buf)
        abort();
    memcpy(buf, sig, 8);
    memcpy(buf + 8, data, n);
    fuzz_image_decode(fuzz_memfile(0, buf, n + 8));
    free(buf);
    return 0;
}
