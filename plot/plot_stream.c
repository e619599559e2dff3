/* plot_stream.c: one PLplot stream per figure, under one mutex.
 *
 * PLplot's state is global (the current stream, the abort handler), and it
 * exits the process when it cannot open its output file; so the path is
 * tried first, every figure is drawn by one thread at a time, and PLplot's
 * non-fatal errors are captured and returned as MT_ERR_LIB.
 */
#include "plot/plot_stream.h"

#include "core/status.h"
#include "plot/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <plplot.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t plot_lock = PTHREAD_MUTEX_INITIALIZER;
static char plot_abort_message[256]; /* guarded by plot_lock */

static void plot_on_abort(PLCHAR_VECTOR message)
{
    if (!plot_abort_message[0])
        snprintf(plot_abort_message, sizeof plot_abort_message, "%s", message);
}

/* Okabe and Ito's colour-blind-safe palette, most distinct first. */
static const unsigned palette[PLOT_NSERIES] = {
    0x0072B2, /* blue */
    0xD55E00, /* vermillion */
    0x009E73, /* bluish green */
    0xCC79A7, /* reddish purple */
    0xE69F00, /* orange */
    0x56B4E9, /* sky blue */
    0x000000, /* black */
    0xB8A200, /* a darker yellow, readable on white */
};

unsigned mt_plot_color(int i) { return palette[(i % PLOT_NSERIES + PLOT_NSERIES) % PLOT_NSERIES]; }

void plot_set_color(int index, unsigned rgb, double alpha)
{
    plscol0a(index, (rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255, alpha);
}

int plot_begin(plot_stream *ps, const char *path, int width, int height)
{
    if (!path || !path[0])
        return mt_error(MT_ERR_ARG, "plot: no output path");
    if (width < 64 || height < 64 || width > 16384 || height > 16384)
        return mt_error(MT_ERR_ARG, "plot: %s: size %d x %d not in [64, 16384] pixels", path, width,
                        height);
    if ((size_t)snprintf(ps->tmp, sizeof ps->tmp, "%s.tmp", path) >= sizeof ps->tmp)
        return mt_error(MT_ERR_ARG, "plot: path too long: %s", path);
    FILE *f = fopen(ps->tmp, "wb");
    if (!f)
        return mt_error(MT_ERR_IO, "plot: cannot write %s: %s", ps->tmp, strerror(errno));
    fclose(f);

    pthread_mutex_lock(&plot_lock);
    plot_abort_message[0] = '\0';
    plsabort(plot_on_abort);
    PLINT previous, stream;
    plgstrm(&previous);
    plmkstrm(&stream);
    if (stream < 0) {
        pthread_mutex_unlock(&plot_lock);
        return mt_error(MT_ERR_LIB, "plot: %s: PLplot has no free stream", path);
    }
    ps->previous = previous;
    ps->stream = stream;
    plsdev("pngcairo");
    plsfnam(ps->tmp);
    plspage(0.0, 0.0, width, height, 0, 0);
    plscmap0n(PLOT_NCOLORS);
    plot_set_color(PLOT_WHITE, 0xFFFFFF, 1.0);
    plot_set_color(PLOT_BLACK, 0x000000, 1.0);
    plot_set_color(PLOT_GRID, 0xDDDDDD, 1.0);
    plot_set_color(PLOT_MISSING, 0xC8C8C8, 1.0);
    for (int i = 0; i < PLOT_NSERIES; i++)
        plot_set_color(PLOT_SERIES + i, palette[i], 1.0);
    plot_set_color(PLOT_SCRATCH, 0x808080, 0.2);
    plot_set_color(PLOT_MARK, 0xE8175D, 1.0);
    plinit();
    plfont(1);
    return MT_OK;
}

/* Whether the PNG file of `size` bytes ends with its IEND chunk. */
static int png_complete(const char *path, long size)
{
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    unsigned char tail[12];
    FILE *f = fopen(path, "rb");
    int ok = f && size >= 12 && fseek(f, size - 12, SEEK_SET) == 0 && fread(tail, 1, 12, f) == 12 &&
             memcmp(tail, iend, 12) == 0;
    if (f)
        fclose(f);
    return ok;
}

/* Why a file cannot grow: cairo drops the error of its own writes, so one
 * byte is written past the end and taken back ("No space left on device",
 * "File too large"). */
static const char *write_error(const char *path)
{
    static __thread char why[128];
    snprintf(why, sizeof why, "the PNG writer stopped early");
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0)
        return strerror(errno);
    struct stat st;
    if (fstat(fd, &st) == 0 && write(fd, "", 1) != 1)
        snprintf(why, sizeof why, "%s", strerror(errno));
    else if (ftruncate(fd, st.st_size) != 0)
        snprintf(why, sizeof why, "%s", strerror(errno));
    close(fd);
    return why;
}

int plot_end(plot_stream *ps, const char *path)
{
    plend1();
    plsstrm(ps->previous);
    char message[sizeof plot_abort_message];
    memcpy(message, plot_abort_message, sizeof message);
    plsabort(NULL);
    pthread_mutex_unlock(&plot_lock);
    int rc = MT_OK;
    struct stat st;
    if (message[0])
        rc = mt_error(MT_ERR_LIB, "plot: %s: PLplot: %s", path, message);
    else if (stat(ps->tmp, &st) != 0 || st.st_size == 0)
        rc = mt_error(MT_ERR_IO, "plot: %s was not written (is the pngcairo driver installed?)", path);
    else if (!png_complete(ps->tmp, (long)st.st_size))
        rc = mt_error(MT_ERR_IO, "plot: %s: write failed after %lld bytes: %s", path,
                      (long long)st.st_size, write_error(ps->tmp));
    else if (rename(ps->tmp, path) != 0)
        rc = mt_error(MT_ERR_IO, "plot: %s: cannot rename to %s: %s", ps->tmp, path, strerror(errno));
    if (rc != MT_OK)
        unlink(ps->tmp);
    return rc;
}
