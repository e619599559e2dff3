/* fuzz_image_jpeg.c: JPEG through libjpeg-turbo (datasets/imageio.c). Inputs
 * without the JPEG signature take other paths and are left to the other
 * image targets. The seeds include a file on which stb_image's JPEG decoder,
 * which read JPEG before, reads out of bounds. */
#include "tests/fuzz/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 3 || data[0] != 0xff || data[1] != 0xd8 || data[2] != 0xff)
        return 0;
    fuzz_image_decode(fuzz_memfile(0, data, n));
    return 0;
}
