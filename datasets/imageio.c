/* imageio.c: PNG through libpng, JPEG through libjpeg-turbo, everything else
 * through stb_image (whose JPEG decoder reads out of bounds on crafted files:
 * the JPEG fuzzer found one). */
#include "datasets/imageio.h"

#include "core/status.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* after <stdio.h>: it uses FILE and size_t without including them */
#include <jpeglib.h>

/* Debian's libstb ships the implementations compiled; only declare here. */
#include <stb_image.h>
#include <stb_image_write.h>

enum { KIND_OTHER, KIND_PNG, KIND_JPEG };

/* Which decoder a file goes to, by its first bytes. */
static int image_kind(const char *path, int *kind)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    uint8_t sig[8];
    size_t got = fread(sig, 1, 8, f);
    fclose(f);
    *kind = got == 8 && png_sig_cmp(sig, 0, 8) == 0      ? KIND_PNG
            : got >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff ? KIND_JPEG
                                                                              : KIND_OTHER;
    return MT_OK;
}

/* The bound on decoded images (imageio.h). */
static int size_ok(int w, int h)
{
    return w >= 1 && h >= 1 && w <= MT_IMAGE_MAX_SIDE && h <= MT_IMAGE_MAX_SIDE &&
           (int64_t)w * h <= MT_IMAGE_MAX_PIXELS;
}

static int too_large(const char *path, int w, int h)
{
    return mt_error(MT_ERR_FORMAT,
                    "%s: image of %dx%d pixels: mutau decodes at most %d pixels (%dx%d) and "
                    "%d a side",
                    path, w, h, MT_IMAGE_MAX_PIXELS, 4096, 4096, MT_IMAGE_MAX_SIDE);
}

/* libpng reports errors by longjmp; the message is kept for ours. */
struct png_err {
    jmp_buf jmp;
    char msg[200];
};

static void png_on_error(png_structp png, png_const_charp msg)
{
    struct png_err *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    longjmp(e->jmp, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

/* Decodes a PNG; with dst NULL only reads the header. With dst, the image
 * must be *w x *h (as a first call read it). */
static int png_decode(const char *path, int *w, int *h, int *c, int want_c, uint8_t *dst)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    struct png_err err = {.msg = ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint8_t *volatile rows = NULL;
    png_bytep *volatile ptrs = NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        fclose(f);
        return mt_error(MT_ERR_LIB, "%s: cannot initialise libpng", path);
    }
    if (setjmp(err.jmp)) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        free(rows);
        free(ptrs);
        return mt_error(MT_ERR_FORMAT, "%s: PNG fails to decode: %s", path, err.msg);
    }
    png_init_io(png, f);
    /* libpng's own checks of the header and of ancillary chunks' memory. */
    png_set_user_limits(png, MT_IMAGE_MAX_SIDE, MT_IMAGE_MAX_SIDE);
    png_set_chunk_malloc_max(png, 8u << 20);
    /* Ancillary chunks mean nothing to a dataset: skipped unread. libpng
     * would otherwise allocate what a text or profile chunk's length claims
     * (up to 2 GB from a file of 150 bytes) before finding the file short. */
    static const png_byte skip[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0"
                                   "sBIT\0sCAL\0sPLT\0sRGB\0sTER\0tEXt\0tIME\0zTXt";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skip, (int)(sizeof skip / 5));
    png_read_info(png, info);
    int color = png_get_color_type(png, info);
    int native_c = (color & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    int fw = (int)png_get_image_width(png, info), fh = (int)png_get_image_height(png, info);
    if (!size_ok(fw, fh)) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return too_large(path, fw, fh);
    }
    if (dst && (fw != *w || fh != *h))
        png_error(png, "image size changed while it was read");
    *w = fw;
    *h = fh;
    *c = native_c;
    if (dst) {
        if (want_c == 1 && native_c == 3)
            png_error(png, "colour image in a grey dataset");
        /* To 8-bit grey or RGB, whatever the stored depth, palette or alpha. */
        png_set_expand(png);
        png_set_strip_16(png);
        png_set_strip_alpha(png);
        if (want_c == 3 && native_c == 1)
            png_set_gray_to_rgb(png);
        png_set_interlace_handling(png);
        png_read_update_info(png, info);
        size_t stride = png_get_rowbytes(png, info);
        if (stride != (size_t)*w * (size_t)want_c)
            png_error(png, "unexpected row size after conversion");
        rows = malloc(stride * (size_t)*h);
        ptrs = malloc(sizeof(png_bytep) * (size_t)*h);
        if (!rows || !ptrs)
            png_error(png, "out of memory");
        for (int y = 0; y < *h; y++)
            ptrs[y] = rows + (size_t)y * stride;
        png_read_image(png, ptrs);
        png_read_end(png, NULL);
        size_t plane = (size_t)*w * (size_t)*h;
        for (size_t p = 0; p < plane; p++)
            for (int ch = 0; ch < want_c; ch++)
                dst[(size_t)ch * plane + p] = rows[p * (size_t)want_c + (size_t)ch];
    }
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(rows);
    free(ptrs);
    return MT_OK;
}

/* libjpeg reports errors by longjmp too; a warning (corrupt or truncated
 * data, which libjpeg would decode into grey) is an error here: a dataset
 * image is whole or refused. */
struct jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
};

static void jpeg_on_error(j_common_ptr j)
{
    struct jpeg_err *e = (struct jpeg_err *)j->err;
    e->mgr.format_message(j, e->msg);
    longjmp(e->jmp, 1);
}

static void jpeg_on_message(j_common_ptr j, int level)
{
    if (level < 0)
        jpeg_on_error(j);
}

/* A progressive JPEG may claim any number of scans, each a pass over the
 * whole image: more than libjpeg-turbo's own limit for untrusted files is
 * refused. */
enum { JPEG_MAX_SCANS = 500 };

static void jpeg_on_progress(j_common_ptr j)
{
    j_decompress_ptr d = (j_decompress_ptr)j;
    if (d->is_decompressor && d->input_scan_number > JPEG_MAX_SCANS) {
        struct jpeg_err *e = (struct jpeg_err *)j->err;
        snprintf(e->msg, sizeof e->msg, "more than %d progressive scans", JPEG_MAX_SCANS);
        longjmp(e->jmp, 1);
    }
}

/* Decodes a JPEG as png_decode does a PNG. */
static int jpeg_decode(const char *path, int *w, int *h, int *c, int want_c, uint8_t *dst)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    struct jpeg_decompress_struct d;
    struct jpeg_err err = {.msg = ""};
    struct jpeg_progress_mgr progress = {.progress_monitor = jpeg_on_progress};
    uint8_t *volatile row = NULL;
    d.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_on_error;
    err.mgr.emit_message = jpeg_on_message;
    if (setjmp(err.jmp)) {
        jpeg_destroy_decompress(&d);
        fclose(f);
        free(row);
        return mt_error(MT_ERR_FORMAT, "%s: JPEG fails to decode: %s", path, err.msg);
    }
    jpeg_create_decompress(&d);
    d.progress = &progress;
    d.mem->max_memory_to_use = (long)256 << 20;
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    int fw = (int)d.image_width, fh = (int)d.image_height;
    int native_c = d.num_components == 1 ? 1 : 3;
    if (!size_ok(fw, fh)) {
        jpeg_destroy_decompress(&d);
        fclose(f);
        return too_large(path, fw, fh);
    }
    if (dst && (fw != *w || fh != *h)) {
        snprintf(err.msg, sizeof err.msg, "image size changed while it was read");
        longjmp(err.jmp, 1);
    }
    *w = fw;
    *h = fh;
    *c = native_c;
    if (dst) {
        if (want_c == 1 && native_c == 3) {
            snprintf(err.msg, sizeof err.msg, "colour image in a grey dataset");
            longjmp(err.jmp, 1);
        }
        d.out_color_space = want_c == 1 ? JCS_GRAYSCALE : JCS_RGB;
        jpeg_start_decompress(&d);
        if ((int)d.output_width != fw || (int)d.output_height != fh ||
            d.output_components != want_c) {
            snprintf(err.msg, sizeof err.msg, "unexpected output after conversion");
            longjmp(err.jmp, 1);
        }
        row = malloc((size_t)fw * (size_t)want_c);
        if (!row) {
            snprintf(err.msg, sizeof err.msg, "out of memory");
            longjmp(err.jmp, 1);
        }
        size_t plane = (size_t)fw * (size_t)fh;
        while (d.output_scanline < d.output_height) {
            size_t y = d.output_scanline;
            JSAMPROW rows[1] = {row};
            if (jpeg_read_scanlines(&d, rows, 1) != 1) {
                snprintf(err.msg, sizeof err.msg, "no progress reading row %zu", y);
                longjmp(err.jmp, 1);
            }
            for (int x = 0; x < fw; x++)
                for (int ch = 0; ch < want_c; ch++)
                    dst[(size_t)ch * plane + y * (size_t)fw + (size_t)x] =
                        row[(size_t)x * (size_t)want_c + (size_t)ch];
        }
        jpeg_finish_decompress(&d);
    }
    jpeg_destroy_decompress(&d);
    fclose(f);
    free(row);
    return MT_OK;
}

int mt_image_info(const char *path, int *w, int *h, int *c)
{
    int kind;
    int rc = image_kind(path, &kind);
    if (rc)
        return rc;
    if (kind == KIND_PNG)
        return png_decode(path, w, h, c, 0, NULL);
    if (kind == KIND_JPEG)
        return jpeg_decode(path, w, h, c, 0, NULL);
    int comp;
    if (!stbi_info(path, w, h, &comp))
        return mt_error(MT_ERR_FORMAT, "%s: not a readable image: %s", path,
                        stbi_failure_reason());
    if (!size_ok(*w, *h))
        return too_large(path, *w, *h);
    *c = comp >= 3 ? 3 : 1;
    return MT_OK;
}

int mt_image_read(const char *path, int c, int h, int w, uint8_t *dst)
{
    int kind;
    int rc = image_kind(path, &kind);
    if (rc)
        return rc;
    /* The size is checked, from the header, before any pixel is decoded. */
    int fw, fh, fc;
    if ((rc = mt_image_info(path, &fw, &fh, &fc)))
        return rc;
    if (fw != w || fh != h)
        return mt_error(MT_ERR_FORMAT, "%s: image is %dx%d, the others are %dx%d", path, fw, fh,
                        w, h);
    if (kind == KIND_PNG)
        return png_decode(path, &fw, &fh, &fc, c, dst);
    if (kind == KIND_JPEG)
        return jpeg_decode(path, &fw, &fh, &fc, c, dst);
    int comp;
    uint8_t *pix = stbi_load(path, &fw, &fh, &comp, c);
    if (!pix)
        return mt_error(MT_ERR_FORMAT, "%s: image fails to decode: %s", path,
                        stbi_failure_reason());
    if (fw != w || fh != h) {
        stbi_image_free(pix);
        return mt_error(MT_ERR_FORMAT, "%s: image is %dx%d, the others are %dx%d", path, fw, fh,
                        w, h);
    }
    if (c == 1 && comp >= 3) {
        stbi_image_free(pix);
        return mt_error(MT_ERR_FORMAT, "%s: colour image in a grey dataset", path);
    }
    size_t plane = (size_t)w * (size_t)h;
    for (size_t p = 0; p < plane; p++)
        for (int ch = 0; ch < c; ch++)
            dst[(size_t)ch * plane + p] = pix[p * (size_t)c + (size_t)ch];
    stbi_image_free(pix);
    return MT_OK;
}

/* CHW -> interleaved HWC, as both encoders want. */
static uint8_t *interleave(const uint8_t *src, int c, int h, int w)
{
    size_t plane = (size_t)w * (size_t)h;
    uint8_t *out = malloc(plane * (size_t)c);
    if (!out)
        return NULL;
    for (size_t p = 0; p < plane; p++)
        for (int ch = 0; ch < c; ch++)
            out[p * (size_t)c + (size_t)ch] = src[(size_t)ch * plane + p];
    return out;
}

int mt_png_write(const char *path, const uint8_t *src, int c, int h, int w)
{
    if (c != 1 && c != 3)
        return mt_error(MT_ERR_ARG, "%s: PNG writer takes 1 or 3 channels, not %d", path, c);
    uint8_t *volatile pix = interleave(src, c, h, w);
    if (!pix)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
    FILE *volatile f = fopen(path, "wb");
    if (!f) {
        free(pix);
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    }
    struct png_err err = {.msg = ""};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, png_on_error,
                                              png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        fclose(f);
        free(pix);
        return mt_error(MT_ERR_LIB, "%s: cannot initialise libpng", path);
    }
    if (setjmp(err.jmp)) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        free(pix);
        return mt_error(MT_ERR_IO, "%s: PNG write failed: %s", path, err.msg);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, pix + (size_t)y * (size_t)w * (size_t)c);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(pix);
    if (fclose(f) != 0)
        return mt_error(MT_ERR_IO, "%s: write error", path);
    return MT_OK;
}

int mt_bmp_write(const char *path, const uint8_t *src, int c, int h, int w)
{
    if (c != 1 && c != 3)
        return mt_error(MT_ERR_ARG, "%s: BMP writer takes 1 or 3 channels, not %d", path, c);
    uint8_t *pix = interleave(src, c, h, w);
    if (!pix)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
    int ok = stbi_write_bmp(path, w, h, c, pix);
    free(pix);
    return ok ? MT_OK : mt_error(MT_ERR_IO, "%s: BMP write failed", path);
}
