/* plot_heatmap.c: the heat map of plot.h: a grid of coloured cells (viridis)
 * with row and column labels, the values written in the cells, marked cells
 * outlined, and a colour bar on the right.
 *
 * Not a contour or image plot: every cell is a labelled category.
 */
#include "core/status.h"
#include "plot/plot.h"
#include "plot/plot_stream.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_CELLS_PER_SIDE = 500 };

/* Viridis at five stops; PLplot interpolates between them in RGB. */
static void set_viridis(void)
{
    static const PLFLT pos[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
    static const PLFLT r[5] = {68 / 255., 59 / 255., 33 / 255., 94 / 255., 253 / 255.};
    static const PLFLT g[5] = {1 / 255., 82 / 255., 145 / 255., 201 / 255., 231 / 255.};
    static const PLFLT b[5] = {84 / 255., 139 / 255., 140 / 255., 98 / 255., 37 / 255.};
    plscmap1n(256);
    plscmap1l(1, 5, pos, r, g, b, NULL);
}

static void fill_rect(double x0, double y0, double x1, double y1)
{
    PLFLT x[4] = {x0, x1, x1, x0}, y[4] = {y0, y0, y1, y1};
    plfill(4, x, y);
}

static void outline_rect(double x0, double y0, double x1, double y1)
{
    PLFLT x[5] = {x0, x1, x1, x0, x0}, y[5] = {y0, y0, y1, y1, y0};
    plline(5, x, y);
}

int mt_plot_heatmap(const char *path, const mt_plot_heatmap_opts *o, const double *values, int rows,
                    int cols, const unsigned char *marked)
{
    if (!o || !values)
        return mt_error(MT_ERR_ARG, "plot: %s: no values", path ? path : "(null)");
    if (rows < 1 || cols < 1 || rows > MAX_CELLS_PER_SIDE || cols > MAX_CELLS_PER_SIDE)
        return mt_error(MT_ERR_ARG, "plot: %s: heat map of %d x %d cells, expected 1 to %d per side",
                        path, rows, cols, MAX_CELLS_PER_SIDE);
    double vmin = INFINITY, vmax = -INFINITY;
    for (long i = 0; i < (long)rows * cols; i++)
        if (isfinite(values[i])) {
            vmin = fmin(vmin, values[i]);
            vmax = fmax(vmax, values[i]);
        }
    if (vmin > vmax)
        return mt_error(MT_ERR_ARG, "plot: %s: no finite values to draw", path);
    if (isfinite(o->vmin) && isfinite(o->vmax) && o->vmin < o->vmax)
        vmin = o->vmin, vmax = o->vmax;
    if (vmax <= vmin) { /* one value: centre it in the colour range */
        double half = vmin == 0 ? 1 : fabs(vmin) * 0.1;
        vmin -= half, vmax += half;
    }
    const char *format = o->format ? o->format : "%.3g";

    plot_stream ps;
    int width = o->width > 0 ? o->width : 900, height = o->height > 0 ? o->height : 600;
    int rc = plot_begin(&ps, path, width, height);
    if (rc < 0)
        return rc;
    set_viridis();
    plot_set_color(PLOT_SCRATCH, 0xFFFFFF, 1.0); /* text on dark cells */

    /* Room on the left for the longest row label. */
    size_t longest = 1;
    for (int r = 0; r < rows; r++) {
        char buf[32];
        const char *label = o->row_labels ? o->row_labels[r] : buf;
        if (!o->row_labels)
            snprintf(buf, sizeof buf, "%d", r + 1);
        if (label && strlen(label) > longest)
            longest = strlen(label);
    }
    double row_scale = fmax(0.5, fmin(1.0, 18.0 / rows));
    int every = (cols + 19) / 20; /* past 20 columns, label every few so the labels stay apart */
    double col_scale = fmax(0.5, fmin(1.0, 18.0 / ((cols + every - 1) / every)));
    double left = fmin(0.35, 0.08 + 0.012 * (double)longest * row_scale * 900.0 / width);
    pladv(0);
    plvpor(left, 0.80, 0.13, 0.90);
    plwind(0, cols, 0, rows);

    /* Cell text shrinks with the cell: about a fifth of the smaller side. */
    double cell_px = fmin((0.80 - left) * width / cols, 0.77 * height / rows);
    double text_scale = fmax(0.35, fmin(1.0, cell_px / 70.0));
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double v = values[(long)r * cols + c];
            double y0 = rows - 1 - r;
            double frac = 0;
            if (isfinite(v)) {
                frac = (v - vmin) / (vmax - vmin);
                frac = fmin(1, fmax(0, frac));
                if (o->reverse)
                    frac = 1 - frac;
                plcol1(frac);
            } else {
                plcol0(PLOT_MISSING);
            }
            fill_rect(c, y0, c + 1, y0 + 1);
            if (format[0]) {
                char text[64];
                if (isfinite(v)) {
                    snprintf(text, sizeof text, format, v);
                    if (text[0] == '-' && strtod(text, NULL) == 0) /* "-0.0" reads as a sign that is not there */
                        memmove(text, text + 1, strlen(text));
                } else
                    snprintf(text, sizeof text, "-");
                plschr(0, text_scale);
                /* Viridis is dark below about 0.6: white text there. */
                plcol0(isfinite(v) && frac < 0.6 ? PLOT_SCRATCH : PLOT_BLACK);
                plptex(c + 0.5, y0 + 0.5, 1, 0, 0.5, text);
            }
        }
    if (marked) {
        plcol0(PLOT_MARK);
        plwidth(3.5);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                if (marked[(long)r * cols + c]) {
                    double y0 = rows - 1 - r;
                    outline_rect(c + 0.06, y0 + 0.06, c + 0.94, y0 + 0.94);
                }
        plwidth(1.0);
    }
    plcol0(PLOT_BLACK);
    plschr(0, 1.0);
    plbox("bc", 0, 0, "bc", 0, 0);
    plschr(0, col_scale);
    for (int c = 0; c < cols; c += every) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", c + 1);
        plmtex("b", 1.4, (c + 0.5) / cols, 0.5, o->col_labels ? o->col_labels[c] : buf);
    }
    plschr(0, row_scale);
    for (int r = 0; r < rows; r++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", r + 1);
        plmtex("lv", 0.7, (rows - r - 0.5) / rows, 1.0, o->row_labels ? o->row_labels[r] : buf);
    }
    plschr(0, 1.0);
    if (o->xlabel)
        plmtex("b", 3.2, 0.5, 0.5, o->xlabel);
    if (o->ylabel)
        plmtex("l", 1.8 + 0.85 * (double)longest * row_scale, 0.5, 0.5, o->ylabel);
    plschr(0, 1.1);
    if (o->title)
        plmtex("t", 1.4, 0.5, 0.5, o->title);

    /* The colour bar: a column of thin slices with its own axis. */
    plschr(0, 0.9);
    plvpor(0.85, 0.88, 0.13, 0.90);
    plwind(0, 1, vmin, vmax);
    enum { SLICES = 128 };
    for (int k = 0; k < SLICES; k++) {
        double f = (k + 0.5) / SLICES;
        plcol1(o->reverse ? 1 - f : f);
        fill_rect(0, vmin + (vmax - vmin) * k / SLICES, 1, vmin + (vmax - vmin) * (k + 1) / SLICES);
    }
    plcol0(PLOT_BLACK);
    plbox("bc", 0, 0, "bcmstv", 0, 0);
    if (o->value_label)
        plmtex("r", 5.0, 0.5, 0.5, o->value_label);
    return plot_end(&ps, path);
}
