/* imageio.h: decoding and encoding single image files for image-folder
 * datasets. PNG goes through libpng and JPEG through libjpeg-turbo (corrupt
 * or truncated files are reported, never crash); BMP, GIF, TGA, PSD, HDR,
 * PIC and PNM through stb_image.
 *
 * Images come out as uint8 CHW with 1 (grey) or 3 (RGB) channels; alpha is
 * dropped. Not a general image library: no resizing, no 16-bit output.
 */
#ifndef MT_IMAGEIO_H
#define MT_IMAGEIO_H

#include <stdint.h>

/* The largest image decoded: at most MT_IMAGE_MAX_SIDE pixels a side and
 * MT_IMAGE_MAX_PIXELS pixels in all (4096 x 4096), checked from the header
 * before any pixel is decoded, so a small file that claims a huge image (a
 * decompression bomb) is refused instead of allocated. */
enum { MT_IMAGE_MAX_SIDE = 65535, MT_IMAGE_MAX_PIXELS = 1 << 24 };

/* Size and channel count (1 grey, 3 colour) of an image file, from its
 * header; MT_ERR_FORMAT when it exceeds the bounds above. */
int mt_image_info(const char *path, int *w, int *h, int *c);

/* Decodes `path` into dst (c, h, w); the file must be exactly w x h.
 * Grey is replicated to RGB when c == 3; colour is refused when c == 1. */
int mt_image_read(const char *path, int c, int h, int w, uint8_t *dst);

/* Writes src (c, h, w), c in {1, 3}, as PNG (libpng) or BMP (stb_image_write). */
int mt_png_write(const char *path, const uint8_t *src, int c, int h, int w);
int mt_bmp_write(const char *path, const uint8_t *src, int c, int h, int w);

#endif
