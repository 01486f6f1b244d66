/*
** svg.c: the SVG plot writer of svg.h: frame, ticks, axis labels, legend,
** polylines with gaps at NaN, optional log y axis.
*/
#include "svg.h"

#include <math.h>
#include <string.h>

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf",
                                      "#7f7f7f", "#bcbd22"};

const char *svg_color(int i)
{
    return palette[(unsigned)i % (sizeof palette / sizeof palette[0])];
}

static double ty(const svg_canvas *c, double y) { return c->logy ? log10(y) : y; }

void svg_map(const svg_canvas *c, double x, double y, double *px, double *py)
{
    double fy0 = ty(c, c->y0), fy1 = ty(c, c->y1);
    *px = c->px + (x - c->x0) / (c->x1 - c->x0) * c->pw;
    *py = c->py + c->ph - (ty(c, y) - fy0) / (fy1 - fy0) * c->ph;
}

/* A "nice" tick step for a span: 1, 2 or 5 times a power of ten. */
static double tick_step(double span)
{
    double raw = span / 6, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void axes(svg_canvas *c, const svg_plot *plot)
{
    FILE *f = c->f;
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' "
            "stroke='#444'/>\n", c->px, c->py, c->pw, c->ph);
    double step = tick_step(c->x1 - c->x0);
    for (double v = ceil(c->x0 / step) * step; v <= c->x1 + 1e-9 * step; v += step) {
        double px, py;
        svg_map(c, v, c->logy ? c->y0 : c->y0, &px, &py);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
                "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%g</text>\n",
                px, c->py, px, c->py + c->ph, px, c->py + c->ph + 14, v);
    }
    double a = ty(c, c->y0), b = ty(c, c->y1), ystep = c->logy ? 1 : tick_step(b - a);
    for (double v = ceil(a / ystep) * ystep; v <= b + 1e-9 * ystep; v += ystep) {
        double py = c->py + c->ph - (v - a) / (b - a) * c->ph;
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
                "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%g</text>\n",
                c->px, py, c->px + c->pw, py, c->px - 4, py + 4, c->logy ? pow(10, v) : v);
    }
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
}

int svg_begin(svg_canvas *c, const char *path, const svg_plot *plot, double xmin,
              double xmax, double ymin, double ymax)
{
    int w = plot->width ? plot->width : 640, h = plot->height ? plot->height : 400;
    memset(c, 0, sizeof *c);
    if (!(c->f = fopen(path, "w"))) return -1;
    if (!(xmax > xmin)) xmax = xmin + 1;
    if (!(ymax > ymin)) ymax = ymin + (ymin ? fabs(ymin) : 1);
    c->x0 = xmin, c->x1 = xmax, c->y0 = ymin, c->y1 = ymax, c->logy = plot->logy;
    c->px = 64, c->py = 32, c->pw = w - 64 - 16, c->ph = h - 32 - 48;
    fprintf(c->f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
            "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n",
            w, h);
    axes(c, plot);
    return 0;
}

void svg_polyline(svg_canvas *c, const double *x, const double *y, int n,
                  const char *color, double width, int dashed)
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
                    color, width, dashed ? " stroke-dasharray='5,3'" : "");
        fprintf(c->f, "%.1f,%.1f ", px, py);
        open = 1;
    }
    if (open) fprintf(c->f, "'/>\n");
}

void svg_legend(svg_canvas *c, const svg_series *series, int n_series)
{
    for (int i = 0; i < n_series; i++) {
        double x = c->px + c->pw - 170, y = c->py + 14 + 16 * i;
        const char *col = series[i].color ? series[i].color : svg_color(i);
        fprintf(c->f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' "
                "stroke-width='2'%s/><text x='%.1f' y='%.1f' font-size='11'>%s</text>\n",
                x, y, x + 22, y, col, series[i].dashed ? " stroke-dasharray='5,3'" : "",
                x + 28, y + 4, series[i].label ? series[i].label : "");
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
    if (svg_begin(&c, path, plot, x0, x1, y0, y1) != 0) return -1;
    for (int s = 0; s < n_series; s++) {
        const char *col = series[s].color ? series[s].color : svg_color(s);
        svg_polyline(&c, series[s].x, series[s].y, series[s].n, col, 2, series[s].dashed);
        for (int i = 0; series[s].markers && i < series[s].n; i++) {
            double px, py;
            if (!isfinite(series[s].y[i]) || (plot->logy && series[s].y[i] <= 0)) continue;
            svg_map(&c, series[s].x[i], series[s].y[i], &px, &py);
            fprintf(c.f, "<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s'/>\n", px, py, col);
        }
    }
    svg_legend(&c, series, n_series);
    return svg_end(&c);
}
