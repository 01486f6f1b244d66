/*
** svg.h: a small SVG line-plot writer for the examples (loss curves,
** gradient norms, optimizer trajectories). Plain C, no dependencies; the
** kind of helper a user keeps next to their training script.
*/
#ifndef EXAMPLES_SVG_H
#define EXAMPLES_SVG_H

#include <stdio.h>

/*
** Styles. Series i (or the style a series names) gets colour i % 10 of a
** palette, a dash pattern that changes every 10 series (solid, dashed,
** dotted) and a marker shape (circle, square, triangle, diamond) that
** changes with i too, so up to 30 series stay distinct even in grey.
*/
typedef struct svg_series {
    const char *label;
    const double *x, *y;    /* n points; NaN y values leave a gap */
    int n;
    const char *color;      /* NULL: the style's colour */
    int dashed;             /* 1: dashed, 2: dotted, 0: the style's pattern */
    int markers;            /* draw the style's marker at each point */
    int style;              /* 0: the series' index; k > 0: style k - 1 */
} svg_series;

typedef struct svg_plot {
    const char *title, *xlabel, *ylabel;
    int logy;               /* log10 y axis (values <= 0 are skipped) */
    int width, height;      /* of the plot area's frame; 0: 640 x 400 */
    /* fixed ranges (used when xmin < xmax, ymin < ymax), else automatic */
    double xmin, xmax, ymin, ymax;
    int xint;               /* x ticks on integers only (epochs, layers) */
    double mark_x;          /* a vertical marker line here when mark_label */
    const char *mark_label; /* is set ("best epoch 20") */
} svg_plot;

/* Opens an SVG document with a plot frame; returns the file or NULL. The
   plot's data area maps [xmin,xmax] x [ymin,ymax] as chosen from series. */
int svg_line_plot(const char *path, const svg_plot *plot, const svg_series *series,
                  int n_series);

/* A plot whose caller draws extra content: svg_begin writes the frame and
   axes for the given ranges, svg_map maps data to pixels, svg_end closes. */
typedef struct svg_canvas {
    FILE *f;
    double x0, y0, x1, y1;  /* data ranges */
    double px, py, pw, ph;  /* data area in pixels */
    double lx;              /* left edge of the legend column */
    int logy;
} svg_canvas;

/* legend_chars: the longest legend label in characters (0: no legend):
   the legend gets a column right of the plot area, never over a curve. */
int svg_begin(svg_canvas *c, const char *path, const svg_plot *plot, double xmin,
              double xmax, double ymin, double ymax, int legend_chars);
/* The longest label of the series, for svg_begin. */
int svg_legend_chars(const svg_series *series, int n_series);
void svg_map(const svg_canvas *c, double x, double y, double *px, double *py);
/* dash: 0 solid, 1 dashed, 2 dotted. */
void svg_polyline(svg_canvas *c, const double *x, const double *y, int n,
                  const char *color, double width, int dash);
void svg_legend(svg_canvas *c, const svg_series *series, int n_series);
int svg_end(svg_canvas *c);   /* 0 on success */

/* The palette colour of style i (cycles every 10). */
const char *svg_color(int i);
/* The dash pattern of style i: 0 solid, 1 dashed, 2 dotted. */
int svg_dash(int i);
/* Draws marker shape `style` (see above) centred at pixel (px, py). */
void svg_marker(svg_canvas *c, double px, double py, int style, const char *color);

#endif
