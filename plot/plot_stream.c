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
#include <plplot.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
    FILE *f = fopen(path, "wb");
    if (!f)
        return mt_error(MT_ERR_IO, "plot: cannot write %s: %s", path, strerror(errno));
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
    plsfnam(path);
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

int plot_end(plot_stream *ps, const char *path)
{
    plend1();
    plsstrm(ps->previous);
    char message[sizeof plot_abort_message];
    memcpy(message, plot_abort_message, sizeof message);
    plsabort(NULL);
    pthread_mutex_unlock(&plot_lock);
    if (message[0])
        return mt_error(MT_ERR_LIB, "plot: %s: PLplot: %s", path, message);
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size == 0)
        return mt_error(MT_ERR_IO, "plot: %s was not written (is the pngcairo driver installed?)", path);
    return MT_OK;
}
