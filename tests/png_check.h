/* png_check.h: reading the figures back in the tests: a PNG as 8-bit RGB
 * (through libpng), and counts of its colours, so a test can tell a drawn
 * figure from a blank page and find a series by its colour.
 *
 * Not a comparison against reference images: figures change with fonts and
 * drivers; the tests check size and colours.
 */
#ifndef MUTAU_TESTS_PNG_CHECK_H
#define MUTAU_TESTS_PNG_CHECK_H

typedef struct {
    int width, height;
    unsigned char *rgb; /* (height, width, 3) */
    char message[64];   /* libpng's reason when reading failed */
} png_rgb;

/* Reads a PNG as 8-bit RGB into im (free im->rgb); 0, or -1 when the file
 * is not a readable PNG (im->rgb is then NULL). */
int png_rgb_read(const char *path, png_rgb *im);

/* Pixels within `tol` of colour 0xRRGGBB in every channel. */
long png_rgb_count_color(const png_rgb *im, unsigned rgb, int tol);

/* Distinct colours among the pixels, counting no further than `cap` (at
 * most 64). */
int png_rgb_distinct(const png_rgb *im, int cap);

#endif
