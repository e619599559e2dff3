/* fuzz_image_stb.c: the other image formats through stb_image
 * (datasets/imageio.c): BMP, GIF, PNM, TGA, PSD, HDR, PIC. Inputs with the
 * PNG or JPEG signature take the libpng or libjpeg path and are left to
 * fuzz_image_png and fuzz_image_jpeg. */
#include "tests/fuzz/util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        return 0;
    if (n >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        return 0;
    fuzz_image_decode(fuzz_memfile(0, data, n));
    return 0;
}
