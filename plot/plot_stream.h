/* plot_stream.h: what the figure kinds of plot/ share, internal to the module:
 * opening a PLplot stream of its own for one PNG file under the module's
 * mutex, the colour indices, and closing it with an error check. */
#ifndef MT_PLOT_STREAM_H
#define MT_PLOT_STREAM_H

/* cmap0 indices set by plot_begin. */
enum {
    PLOT_WHITE = 0,   /* background */
    PLOT_BLACK = 1,   /* axes and text */
    PLOT_GRID = 2,    /* light grey grid lines */
    PLOT_MISSING = 3, /* grey for missing values */
    PLOT_SERIES = 4,  /* PLOT_SERIES + i, i < PLOT_NSERIES: series colours */
    PLOT_NSERIES = 8,
    PLOT_SCRATCH = 12, /* re-coloured at will, e.g. a translucent band */
    PLOT_MARK = 13,   /* the outline of marked cells */
    PLOT_NCOLORS = 16
};

typedef struct {
    int previous; /* the stream current before this figure */
    int stream;
    char tmp[4096]; /* PATH.tmp, where the figure is drawn */
} plot_stream;

/* Checks that `path` can be written, takes the module's lock and opens a
 * fresh pngcairo stream of width x height pixels drawing into PATH.tmp. On
 * failure nothing is held. */
int plot_begin(plot_stream *ps, const char *path, int width, int height);

/* Closes the stream, restores the previous one, releases the lock, checks
 * that PLplot reported no error and the PNG was written to its end (cairo
 * does not report a failed write: a full disk leaves a truncated file), and
 * renames it to `path`; on failure `path` is left as it was. */
int plot_end(plot_stream *ps, const char *path);

/* Sets cmap0 index `index` to colour 0xRRGGBB with opacity alpha in [0, 1]. */
void plot_set_color(int index, unsigned rgb, double alpha);

#endif
