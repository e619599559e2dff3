/* png_check.c: PNG figures read back for the tests (see png_check.h). */
#include "tests/png_check.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int png_rgb_read(const char *path, png_rgb *im)
{
    memset(im, 0, sizeof *im);
    png_image p;
    memset(&p, 0, sizeof p);
    p.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&p, path)) {
        snprintf(im->message, sizeof im->message, "%s", p.message);
        return -1;
    }
    p.format = PNG_FORMAT_RGB;
    im->width = (int)p.width;
    im->height = (int)p.height;
    im->rgb = malloc(PNG_IMAGE_SIZE(p));
    if (!im->rgb || !png_image_finish_read(&p, NULL, im->rgb, 0, NULL)) {
        snprintf(im->message, sizeof im->message, "%s", im->rgb ? p.message : "out of memory");
        png_image_free(&p);
        free(im->rgb);
        im->rgb = NULL;
        return -1;
    }
    return 0;
}

long png_rgb_count_color(const png_rgb *im, unsigned rgb, int tol)
{
    int r = (rgb >> 16) & 255, g = (rgb >> 8) & 255, b = rgb & 255;
    long n = 0;
    for (long i = 0; i < (long)im->width * im->height; i++) {
        const unsigned char *p = im->rgb + 3 * i;
        n += abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
    }
    return n;
}

int png_rgb_distinct(const png_rgb *im, int cap)
{
    unsigned seen[64];
    if (cap > 64)
        cap = 64;
    int distinct = 0;
    for (long i = 0; i < (long)im->width * im->height && distinct < cap; i++) {
        const unsigned char *p = im->rgb + 3 * i;
        unsigned c = (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
        int k = 0;
        while (k < distinct && seen[k] != c)
            k++;
        if (k == distinct)
            seen[distinct++] = c;
    }
    return distinct;
}
