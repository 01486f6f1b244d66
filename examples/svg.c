/*
** svg.c: the SVG plot writer of svg.h: frame, ticks with one label format
** per axis, axis labels, a legend in its own column right of the plot
** area (never over a curve), polylines with gaps at NaN, per-series
** styles (colour, dash pattern, marker shape), an optional log y axis and
** a vertical marker line.
*/
#include "svg.h"

#include <math.h>
#include <string.h>

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf",
                                      "#7f7f7f", "#bcbd22"};
#define N_PALETTE ((int)(sizeof palette / sizeof palette[0]))

const char *svg_color(int i) { return palette[(unsigned)i % N_PALETTE]; }
int svg_dash(int i) { return (int)(((unsigned)i / N_PALETTE) % 3); }

static const char *dash_attr(int dash)
{
    return dash == 1 ? " stroke-dasharray='6,3'" : dash == 2 ? " stroke-dasharray='1.5,3'" : "";
}

void svg_marker(svg_canvas *c, double x, double y, int style, const char *color)
{
    const double r = 3;
    switch ((unsigned)style % 4) {
    case 0:
        fprintf(c->f, "<circle cx='%.1f' cy='%.1f' r='%.1f' fill='%s'/>\n", x, y, r, color);
        break;
    case 1:
        fprintf(c->f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'/>\n",
                x - r, y - r, 2 * r, 2 * r, color);
        break;
    case 2:
        fprintf(c->f, "<polygon points='%.1f,%.1f %.1f,%.1f %.1f,%.1f' fill='%s'/>\n", x,
                y - r - 1, x - r - 1, y + r, x + r + 1, y + r, color);
        break;
    default:
        fprintf(c->f, "<polygon points='%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f' fill='%s'/>\n",
                x, y - r - 1, x + r + 1, y, x, y + r + 1, x - r - 1, y, color);
    }
}

static double ty(const svg_canvas *c, double y) { return c->logy ? log10(y) : y; }

void svg_map(const svg_canvas *c, double x, double y, double *px, double *py)
{
    double fy0 = ty(c, c->y0), fy1 = ty(c, c->y1);
    *px = c->px + (x - c->x0) / (c->x1 - c->x0) * c->pw;
    *py = c->py + c->ph - (ty(c, y) - fy0) / (fy1 - fy0) * c->ph;
}

/* A "nice" tick step for a span: 1, 2 or 5 times a power of ten; at least
   1 when integer ticks are asked for. */
static double tick_step(double span, int integer)
{
    double raw = span / 6, p = pow(10, floor(log10(raw))), m = raw / p;
    double step = (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
    return integer && step < 1 ? 1 : step;
}

/* Decimals that show every tick of this step alike (0.15, 0.20, 0.25). */
static int decimals(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d > 8 ? 8 : d;
}

/* One tick label: fixed decimals, or a power of ten on a log axis. */
static void tick_label(char *buf, size_t n, double v, int dec, int logy)
{
    if (logy)
        snprintf(buf, n, "1e%+03d", (int)lround(v));
    else
        snprintf(buf, n, "%.*f", dec, fabs(v) < 1e-12 ? 0.0 : v);
}

static void ticks(svg_canvas *c, const svg_plot *plot)
{
    char lab[32];
    FILE *f = c->f;
    double step = tick_step(c->x1 - c->x0, plot->xint);
    for (double v = ceil(c->x0 / step) * step; v <= c->x1 + 1e-9 * step; v += step) {
        double px, py;
        svg_map(c, v, c->y0, &px, &py);
        tick_label(lab, sizeof lab, v, plot->xint ? 0 : decimals(step), 0);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
                "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%s</text>\n",
                px, c->py, px, c->py + c->ph, px, c->py + c->ph + 14, lab);
    }
    double a = ty(c, c->y0), b = ty(c, c->y1), ystep = c->logy ? 1 : tick_step(b - a, 0);
    for (double v = ceil(a / ystep) * ystep; v <= b + 1e-9 * ystep; v += ystep) {
        double py = c->py + c->ph - (v - a) / (b - a) * c->ph;
        tick_label(lab, sizeof lab, v, decimals(ystep), c->logy);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
                "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%s</text>\n",
                c->px, py, c->px + c->pw, py, c->px - 4, py + 4, lab);
    }
}

static void axes(svg_canvas *c, const svg_plot *plot)
{
    FILE *f = c->f;
    ticks(c, plot);
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' "
            "stroke='#444'/>\n", c->px, c->py, c->pw, c->ph);
    if (plot->title)
        fprintf(f, "<text x='%.1f' y='20' font-size='15' text-anchor='middle'>%s</text>\n",
                c->px + c->pw / 2, plot->title);
    if (plot->xlabel)
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>%s</text>\n",
                c->px + c->pw / 2, c->py + c->ph + 32, plot->xlabel);
    if (plot->ylabel)
        fprintf(f, "<text x='14' y='%.1f' font-size='12' text-anchor='middle' "
                "transform='rotate(-90 14 %.1f)'>%s</text>\n", c->py + c->ph / 2,
                c->py + c->ph / 2, plot->ylabel);
    if (plot->mark_label && plot->mark_x >= c->x0 && plot->mark_x <= c->x1) {
        double px, py;
        svg_map(c, plot->mark_x, c->y0, &px, &py);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#555' "
                "stroke-dasharray='2,2'/><text x='%.1f' y='%.1f' font-size='11' "
                "text-anchor='middle' fill='#333'>%s</text>\n", px, c->py, px, c->py + c->ph,
                px, c->py - 4, plot->mark_label);
    }
}

int svg_legend_chars(const svg_series *series, int n_series)
{
    int m = 0;
    for (int i = 0; i < n_series; i++) {
        int n = series[i].label ? (int)strlen(series[i].label) : 0;
        m = n > m ? n : m;
    }
    return m;
}

int svg_begin(svg_canvas *c, const char *path, const svg_plot *plot, double xmin,
              double xmax, double ymin, double ymax, int legend_chars)
{
    int w = plot->width ? plot->width : 640, h = plot->height ? plot->height : 400;
    int lw = legend_chars > 0 ? 44 + 7 * legend_chars : 0;    /* the legend column */
    memset(c, 0, sizeof *c);
    if (!(c->f = fopen(path, "w"))) return -1;
    if (!(xmax > xmin)) xmax = xmin + 1;
    if (!(ymax > ymin)) ymax = ymin + (ymin ? fabs(ymin) : 1);
    c->x0 = xmin, c->x1 = xmax, c->y0 = ymin, c->y1 = ymax, c->logy = plot->logy;
    c->px = 64, c->py = 32, c->pw = w - 64 - 16, c->ph = h - 32 - 48;
    c->lx = w;
    fprintf(c->f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
            "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n",
            w + lw, h);
    axes(c, plot);
    return 0;
}

void svg_polyline(svg_canvas *c, const double *x, const double *y, int n,
                  const char *color, double width, int dash)
{
    int open = 0;
    for (int i = 0; i < n; i++) {
        int ok = isfinite(y[i]) && isfinite(x[i]) && (!c->logy || y[i] > 0);
        if (!ok) {
            if (open) fprintf(c->f, "'/>\n");
            open = 0;
            continue;
        }
        double px, py;
        svg_map(c, x[i], y[i], &px, &py);
        if (!open)
            fprintf(c->f, "<polyline fill='none' stroke='%s' stroke-width='%.1f'%s points='",
                    color, width, dash_attr(dash));
        fprintf(c->f, "%.1f,%.1f ", px, py);
        open = 1;
    }
    if (open) fprintf(c->f, "'/>\n");
}

static int style_of(const svg_series *s, int i) { return s->style > 0 ? s->style - 1 : i; }
static const char *color_of(const svg_series *s, int i)
{
    return s->color ? s->color : svg_color(style_of(s, i));
}
static int dash_of(const svg_series *s, int i) { return s->dashed ? s->dashed : svg_dash(style_of(s, i)); }

void svg_legend(svg_canvas *c, const svg_series *series, int n_series)
{
    for (int i = 0; i < n_series; i++) {
        double x = c->lx, y = c->py + 8 + 18 * i;
        const char *col = color_of(&series[i], i);
        fprintf(c->f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' "
                "stroke-width='2'%s/>", x, y, x + 28, y, col, dash_attr(dash_of(&series[i], i)));
        if (series[i].markers) svg_marker(c, x + 14, y, style_of(&series[i], i), col);
        fprintf(c->f, "<text x='%.1f' y='%.1f' font-size='11'>%s</text>\n", x + 34, y + 4,
                series[i].label ? series[i].label : "");
    }
}

int svg_end(svg_canvas *c)
{
    fprintf(c->f, "</svg>\n");
    int bad = ferror(c->f);
    return (fclose(c->f) != 0 || bad) ? -1 : 0;
}

int svg_line_plot(const char *path, const svg_plot *plot, const svg_series *series,
                  int n_series)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y) || (plot->logy && y <= 0)) continue;
            x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
        }
    if (plot->xmin < plot->xmax) x0 = plot->xmin, x1 = plot->xmax;
    if (plot->ymin < plot->ymax) y0 = plot->ymin, y1 = plot->ymax;
    if (!isfinite(x0)) x0 = 0, x1 = 1, y0 = plot->logy ? 0.1 : 0, y1 = 1;
    if (!plot->logy) {                      /* a little headroom */
        double pad = (y1 - y0) * 0.05;
        y0 -= pad, y1 += pad;
    }
    svg_canvas c;
    if (svg_begin(&c, path, plot, x0, x1, y0, y1, svg_legend_chars(series, n_series)) != 0)
        return -1;
    for (int s = 0; s < n_series; s++) {
        const char *col = color_of(&series[s], s);
        svg_polyline(&c, series[s].x, series[s].y, series[s].n, col, 2, dash_of(&series[s], s));
        for (int i = 0; series[s].markers && i < series[s].n; i++) {
            double px, py;
            if (!isfinite(series[s].y[i]) || (plot->logy && series[s].y[i] <= 0)) continue;
            svg_map(&c, series[s].x[i], series[s].y[i], &px, &py);
            svg_marker(&c, px, py, style_of(&series[s], s), col);
        }
    }
    svg_legend(&c, series, n_series);
    return svg_end(&c);
}
