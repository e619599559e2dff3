/* plot.h: the figures mutau writes, as PNG files, drawn with PLplot's cairo
 * driver (antialiased text).
 *
 * Two kinds of figure, each one call that writes one file:
 *   - a line chart: named series of (x, y), each with an optional spread
 *     (lo, hi) drawn as a shaded band or as error bars, linear or log10 axes;
 *   - a heat map: a rows x cols grid of values with row and column labels, a
 *     colour bar, the values written in the cells and some cells marked.
 *
 * Non-finite values are gaps: a line breaks at a NaN, a NaN cell is drawn
 * grey with a dash, values <= 0 are left out on a log axis. A figure with no
 * drawable value at all is an error (MT_ERR_ARG), as is an unwritable path
 * (MT_ERR_IO, checked before PLplot opens the file, since PLplot exits the
 * process when it cannot).
 *
 * PLplot keeps global state, so every figure is drawn under one mutex in a
 * stream of its own: the calls are safe from several threads (they run one
 * at a time). Not an interactive or general plotting library.
 */
#ifndef MT_PLOT_H
#define MT_PLOT_H

typedef struct {
    const char *name;      /* legend text; NULL or "" leaves the series out of the legend */
    int n;                 /* points */
    const double *x;       /* (n) */
    const double *y;       /* (n) */
    const double *lo;      /* (n) lower end of the spread, or NULL for none */
    const double *hi;      /* (n) upper end, or NULL */
    int dashed;            /* draw the line dashed (e.g. a reference or a theory curve) */
    int markers;           /* draw a marker at each point */
    int stems;             /* a histogram: a vertical bar from 0 to each y, no joining line */
    int no_line;           /* markers only, no joining line (in the legend too) */
    int color;             /* 0: the series' own (mt_plot_color(position)); k > 0: that of
                              series k - 1 (a companion of it); -1: black */
    const char *marker;    /* the marker's glyph (UTF-8); NULL: a filled dot */
} mt_plot_series;

typedef enum { MT_PLOT_SPREAD_BAND, MT_PLOT_SPREAD_BARS } mt_plot_spread;

/* Where the legend goes: outside on the right (the plot narrows to make room
 * for the longest name), or inside a corner of the plot. */
typedef enum {
    MT_PLOT_LEGEND_RIGHT,
    MT_PLOT_LEGEND_TOP_RIGHT,
    MT_PLOT_LEGEND_TOP_LEFT,
    MT_PLOT_LEGEND_BOTTOM_LEFT,
    MT_PLOT_LEGEND_BOTTOM_RIGHT
} mt_plot_legend;

typedef struct {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    int width, height;     /* pixels; 0 = 900 x 600 */
    int log_x, log_y;      /* log10 axes */
    mt_plot_spread spread; /* how lo/hi are drawn */
    double ymin, ymax;     /* fixed y range; NaN (or ymin >= ymax) = from the data */
    const char *legend_title; /* e.g. "momentum"; may be NULL */
    mt_plot_legend legend;
    int integer_x;         /* x ticks at whole numbers only (epochs): 1, 2, 5, 10, ... apart */
} mt_plot_lines_opts;

/* Writes a line chart of `ns` series to the PNG file `path`. */
int mt_plot_lines(const char *path, const mt_plot_lines_opts *o, const mt_plot_series *s, int ns);

typedef struct {
    const char *title;
    const char *xlabel;      /* under the column labels */
    const char *ylabel;      /* left of the row labels */
    const char *value_label; /* along the colour bar */
    const char *const *row_labels; /* (rows), or NULL for 1, 2, ... */
    const char *const *col_labels; /* (cols), or NULL */
    const char *format;      /* printf format of the values written in cells; NULL = "%.3g", "" = none */
    int width, height;       /* pixels; 0 = 900 x 600 */
    double vmin, vmax;       /* colour range; NaN (or vmin >= vmax) = from the data */
    int reverse;             /* reverse the colour map (bright = low values) */
} mt_plot_heatmap_opts;

/* Writes a heat map of values (rows, cols), row-major, row 0 at the top.
 * `marked` (rows, cols), may be NULL: nonzero cells get a heavy outline. */
int mt_plot_heatmap(const char *path, const mt_plot_heatmap_opts *o, const double *values, int rows,
                    int cols, const unsigned char *marked);

/* A distinct colour for series i (a colour-blind-safe palette, repeating
 * after 8), as 0xRRGGBB; callers drawing companion figures can match it. */
unsigned mt_plot_color(int i);

#endif
