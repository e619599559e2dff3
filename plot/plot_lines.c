/* plot_lines.c: the line chart of plot.h: series with an optional spread
 * (a translucent band or error bars), linear or log10 axes, a legend outside
 * the plot on the right.
 *
 * Not a scatter or bar chart; a series is drawn in the order of its points.
 */
#include "core/status.h"
#include "plot/plot.h"
#include "plot/plot_stream.h"

#include <math.h>
#include <plplot.h>
#include <stdlib.h>
#include <string.h>

/* A filled dot, in the UTF-8 that the cairo driver renders. */
#define MARKER "\xe2\x80\xa2"

/* Characters, not bytes, of a UTF-8 string: for estimating text widths. */
static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A value's position on an axis, or NaN when it cannot be drawn there. */
static double axis_pos(double v, int log_axis)
{
    if (!isfinite(v))
        return NAN;
    if (log_axis)
        return v > 0 ? log10(v) : NAN;
    return v;
}

typedef struct {
    double lo, hi;
    int any;
} range;

static void range_add(range *r, double v)
{
    if (!isfinite(v))
        return;
    if (!r->any || v < r->lo)
        r->lo = v;
    if (!r->any || v > r->hi)
        r->hi = v;
    r->any = 1;
}

/* Pads a range by 4% each side, and opens up a single value. */
static void range_pad(range *r, int log_axis)
{
    double span = r->hi - r->lo;
    if (span <= 0) {
        double half = log_axis ? 0.5 : fmax(1e-12, fabs(r->lo) * 0.1);
        if (!log_axis && r->lo == 0)
            half = 1;
        r->lo -= half;
        r->hi += half;
        return;
    }
    r->lo -= 0.04 * span;
    r->hi += 0.04 * span;
}

/* The colour map index series k is drawn in. */
static PLINT series_color(const mt_plot_series *s, int k)
{
    if (s[k].color < 0)
        return PLOT_BLACK;
    int i = s[k].color > 0 ? s[k].color - 1 : k;
    return PLOT_SERIES + i % PLOT_NSERIES;
}

static unsigned series_rgb(const mt_plot_series *s, int k)
{
    return s[k].color < 0 ? 0 : mt_plot_color(s[k].color > 0 ? s[k].color - 1 : k);
}

static const char *series_marker(const mt_plot_series *s, int k)
{
    return s[k].marker ? s[k].marker : MARKER;
}

static int validate(const char *path, const mt_plot_lines_opts *o, const mt_plot_series *s, int ns)
{
    if (!o)
        return mt_error(MT_ERR_ARG, "plot: %s: no options", path ? path : "(null)");
    if (!s || ns < 1)
        return mt_error(MT_ERR_ARG, "plot: %s: no series to draw", path ? path : "(null)");
    for (int k = 0; k < ns; k++) {
        if (s[k].n < 0 || (s[k].n > 0 && (!s[k].x || !s[k].y)))
            return mt_error(MT_ERR_ARG, "plot: %s: series %d has no x or y values", path, k + 1);
        if (!s[k].lo != !s[k].hi)
            return mt_error(MT_ERR_ARG, "plot: %s: series %d has lo without hi or hi without lo", path,
                            k + 1);
    }
    return MT_OK;
}

/* Whole-number tick spacing for a range: the smallest of 1, 2, 5, 10, 20,
 * 50, ... that puts at most 10 ticks on it. */
static double whole_tick(double span)
{
    static const double mantissa[] = {1, 2, 5};
    if (!(span > 0 && span < 1e15))
        return 0; /* PLplot's own choice */
    for (double decade = 1;; decade *= 10)
        for (int i = 0; i < 3; i++)
            if (span / (mantissa[i] * decade) <= 10)
                return mantissa[i] * decade;
}

int mt_plot_lines(const char *path, const mt_plot_lines_opts *o, const mt_plot_series *s, int ns)
{
    int rc = validate(path, o, s, ns);
    if (rc < 0)
        return rc;
    range rx = {0}, ry = {0};
    long maxn = 1;
    for (int k = 0; k < ns; k++) {
        if (s[k].n > maxn)
            maxn = s[k].n;
        for (int i = 0; i < s[k].n; i++) {
            double x = axis_pos(s[k].x[i], o->log_x), y = axis_pos(s[k].y[i], o->log_y);
            if (isnan(x))
                continue;
            double lo = s[k].lo ? axis_pos(s[k].lo[i], o->log_y) : NAN;
            double hi = s[k].hi ? axis_pos(s[k].hi[i], o->log_y) : NAN;
            if (isnan(y) && isnan(lo) && isnan(hi))
                continue;
            range_add(&rx, x);
            range_add(&ry, y);
            range_add(&ry, lo);
            range_add(&ry, hi);
            if (s[k].stems)
                range_add(&ry, o->log_y ? NAN : 0);
        }
    }
    if (!rx.any || !ry.any)
        return mt_error(MT_ERR_ARG, "plot: %s: no finite%s values to draw", path,
                        o->log_x || o->log_y ? " positive" : "");
    range_pad(&rx, o->log_x);
    range_pad(&ry, o->log_y);
    double fy0 = axis_pos(o->ymin, o->log_y), fy1 = axis_pos(o->ymax, o->log_y);
    if (isfinite(fy0) && isfinite(fy1) && fy0 < fy1)
        ry.lo = fy0, ry.hi = fy1;

    double *px = malloc((size_t)(2 * maxn + 2) * sizeof *px);
    double *py = malloc((size_t)(2 * maxn + 2) * sizeof *py);
    double *pl = malloc((size_t)maxn * sizeof *pl);
    double *ph = malloc((size_t)maxn * sizeof *ph);
    const char **text = malloc((size_t)(ns + 1) * sizeof *text);
    PLINT *iopt = calloc((size_t)(ns + 1), sizeof *iopt);
    const char **symbols = malloc((size_t)(ns + 1) * sizeof *symbols);
    if (!px || !py || !pl || !ph || !text || !iopt || !symbols) {
        free(px), free(py), free(pl), free(ph), free(text), free(iopt), free(symbols);
        return mt_error(MT_ERR_NOMEM, "plot: %s: out of memory", path);
    }

    plot_stream ps;
    int width = o->width > 0 ? o->width : 900, height = o->height > 0 ? o->height : 600;
    rc = plot_begin(&ps, path, width, height);
    if (rc < 0) {
        free(px), free(py), free(pl), free(ph), free(text), free(iopt), free(symbols);
        return rc;
    }
    int has_legend = 0;
    for (int k = 0; k < ns; k++)
        has_legend |= s[k].name && s[k].name[0];
    /* Room for an outside legend: its longest text (in UTF-8 characters of
     * about 9 pixels at the legend's size) and the line sample. */
    double right = 0.96;
    if (has_legend && o->legend == MT_PLOT_LEGEND_RIGHT) {
        size_t longest = o->legend_title ? utf8_len(o->legend_title) : 0;
        for (int k = 0; k < ns; k++)
            if (s[k].name && utf8_len(s[k].name) > longest)
                longest = utf8_len(s[k].name);
        right = fmax(0.5, 0.96 - (9.0 * (double)longest + 100.0) / width);
    }
    pladv(0);
    plschr(0, 1.0);
    plvpor(0.10, right, 0.12, 0.91);
    plwind(rx.lo, rx.hi, ry.lo, ry.hi);
    double xtick = o->integer_x && !o->log_x ? whole_tick(rx.hi - rx.lo) : 0;
    /* Minor ticks on whole numbers too: none between ticks 1 apart. */
    int nxsub = xtick <= 0 ? 0 : xtick <= 5 ? (int)xtick : 5;
    char xopt[16] = "g", yopt[16] = "g";
    if (o->log_x)
        strcat(xopt, "l");
    if (o->log_y)
        strcat(yopt, "l");
    plcol0(PLOT_GRID);
    plwidth(0.8);
    plbox(xopt, xtick, nxsub, yopt, 0, 0);

    /* Bands first, under every line. */
    for (int k = 0; k < ns; k++) {
        if (!s[k].lo || o->spread != MT_PLOT_SPREAD_BAND)
            continue;
        plot_set_color(PLOT_SCRATCH, series_rgb(s, k), 0.18);
        plcol0(PLOT_SCRATCH);
        int i = 0;
        while (i < s[k].n) { /* one polygon per run of drawable points */
            int m = 0;
            for (; i < s[k].n; i++) {
                double x = axis_pos(s[k].x[i], o->log_x);
                double lo = axis_pos(s[k].lo[i], o->log_y), hi = axis_pos(s[k].hi[i], o->log_y);
                if (isnan(x) || isnan(lo) || isnan(hi))
                    break;
                px[m] = x, pl[m] = lo, ph[m] = hi;
                m++;
            }
            i++;
            if (m < 2)
                continue;
            for (int j = 0; j < m; j++) {
                py[j] = ph[j];
                px[2 * m - 1 - j] = px[j];
                py[2 * m - 1 - j] = pl[j];
            }
            plfill(2 * m, px, py);
        }
    }

    plcol0(PLOT_BLACK);
    plwidth(1.0);
    char bx[16] = "bcnst", by[16] = "bcnstv";
    if (o->log_x)
        strcat(bx, "l");
    if (o->log_y)
        strcat(by, "l");
    plbox(bx, xtick, nxsub, by, 0, 0);

    int nleg = 0;
    if (o->legend_title && o->legend_title[0] && has_legend) {
        text[nleg] = o->legend_title;
        iopt[nleg] = PL_LEGEND_NONE;
        nleg++;
    }
    for (int k = 0; k < ns; k++) {
        plcol0(series_color(s, k));
        if (s[k].lo && o->spread == MT_PLOT_SPREAD_BARS) {
            int m = 0;
            for (int i = 0; i < s[k].n; i++) {
                double x = axis_pos(s[k].x[i], o->log_x);
                double lo = axis_pos(s[k].lo[i], o->log_y), hi = axis_pos(s[k].hi[i], o->log_y);
                if (isnan(x) || isnan(lo) || isnan(hi))
                    continue;
                px[m] = x, pl[m] = lo, ph[m] = hi;
                m++;
            }
            plwidth(1.2);
            if (m > 0)
                plerry(m, px, pl, ph);
        }
        if (s[k].stems) {
            plwidth(6.0);
            for (int i = 0; i < s[k].n; i++) {
                double x = axis_pos(s[k].x[i], o->log_x), y = axis_pos(s[k].y[i], o->log_y);
                if (!isnan(x) && !isnan(y))
                    pljoin(x, o->log_y ? ry.lo : 0, x, y);
            }
        }
        plwidth(2.0);
        pllsty(s[k].dashed ? 3 : 1);
        int i = s[k].stems ? s[k].n : 0;
        while (i < s[k].n) { /* a line per run of drawable points */
            int m = 0;
            for (; i < s[k].n; i++) {
                double x = axis_pos(s[k].x[i], o->log_x), y = axis_pos(s[k].y[i], o->log_y);
                if (isnan(x) || isnan(y))
                    break;
                px[m] = x, py[m] = y;
                m++;
            }
            i++;
            if (m >= 2 && !s[k].no_line)
                plline(m, px, py);
            if (s[k].markers || s[k].no_line || m == 1) { /* a lone point would be invisible */
                plschr(0, 0.9);
                plstring(m, px, py, series_marker(s, k));
                plschr(0, 1.0);
            }
        }
        pllsty(1);
        if (s[k].name && s[k].name[0]) {
            text[nleg] = s[k].name;
            iopt[nleg] = s[k].no_line ? PL_LEGEND_SYMBOL
                                      : PL_LEGEND_LINE | (s[k].markers ? PL_LEGEND_SYMBOL : 0);
            nleg++;
        }
    }

    if (nleg > 0) {
        PLINT *opt_array = malloc((size_t)nleg * 5 * sizeof *opt_array);
        PLFLT *widths = malloc((size_t)nleg * 2 * sizeof *widths);
        if (opt_array && widths) {
            PLINT *text_colors = opt_array + nleg, *line_colors = opt_array + 2 * nleg;
            PLINT *line_styles = opt_array + 3 * nleg, *symbol_numbers = opt_array + 4 * nleg;
            PLFLT *line_widths = widths, *symbol_scales = widths + nleg;
            int k = 0;
            for (int e = 0; e < nleg; e++) {
                opt_array[e] = iopt[e];
                text_colors[e] = PLOT_BLACK;
                if (iopt[e] == PL_LEGEND_NONE) {
                    line_colors[e] = PLOT_BLACK, line_styles[e] = 1, symbol_numbers[e] = 1;
                } else {
                    while (!(s[k].name && s[k].name[0]))
                        k++;
                    line_colors[e] = series_color(s, k);
                    line_styles[e] = s[k].dashed ? 3 : 1;
                    symbol_numbers[e] = s[k].no_line ? 1 : 2;
                    symbols[e] = series_marker(s, k);
                    k++;
                }
                line_widths[e] = 2.0;
                symbol_scales[e] = 0.9;
                if (iopt[e] == PL_LEGEND_NONE)
                    symbols[e] = MARKER;
            }
            PLFLT lw, lh;
            static const PLINT where[] = {
                PL_POSITION_RIGHT | PL_POSITION_OUTSIDE,
                PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE,
                PL_POSITION_TOP | PL_POSITION_LEFT | PL_POSITION_INSIDE,
                PL_POSITION_BOTTOM | PL_POSITION_LEFT | PL_POSITION_INSIDE,
                PL_POSITION_BOTTOM | PL_POSITION_RIGHT | PL_POSITION_INSIDE,
            };
            int at = o->legend >= 0 && o->legend <= MT_PLOT_LEGEND_BOTTOM_RIGHT ? (int)o->legend : 0;
            pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, where[at],
                     at == 0 ? 0.02 : 0.03, at == 0 ? 0.0 : 0.03, 0.06,
                     PLOT_WHITE, PLOT_BLACK, 1, 0, 1, nleg, opt_array, 0.8, 0.85, 2.0, 0.0,
                     text_colors, (const char *const *)text, NULL, NULL, NULL, NULL, line_colors,
                     line_styles, line_widths, line_colors, symbol_scales, symbol_numbers,
                     (const char *const *)symbols);
        }
        free(opt_array);
        free(widths);
    }

    plcol0(PLOT_BLACK);
    if (o->title) {
        /* Centred over the page; smaller when long (about 12 pixels a character). */
        size_t len = utf8_len(o->title);
        plschr(0, fmin(1.1, 0.96 * width / (12.0 * (double)(len ? len : 1))));
        plvpor(0.02, 0.98, 0.12, 0.91);
        plmtex("t", 1.6, 0.5, 0.5, o->title);
        plvpor(0.10, right, 0.12, 0.91);
    }
    plschr(0, 1.0);
    if (o->xlabel)
        plmtex("b", 3.0, 0.5, 0.5, o->xlabel);
    if (o->ylabel)
        plmtex("l", 4.2, 0.5, 0.5, o->ylabel);
    rc = plot_end(&ps, path);
    free(px), free(py), free(pl), free(ph), free(text), free(iopt), free(symbols);
    return rc;
}
