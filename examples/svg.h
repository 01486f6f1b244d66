/*
** svg.h: a small SVG line-plot writer for the examples (loss curves,
** gradient norms, optimizer trajectories). Plain C, no dependencies; the
** kind of helper a user keeps next to their training script.
*/
#ifndef EXAMPLES_SVG_H
#define EXAMPLES_SVG_H

#include <stdio.h>

typedef struct svg_series {
    const char *label;
    const double *x, *y;    /* n points; NaN y values leave a gap */
    int n;
    const char *color;      /* NULL: picked from a palette */
    int dashed;
    int markers;            /* draw a dot at each point */
} svg_series;

typedef struct svg_plot {
    const char *title, *xlabel, *ylabel;
    int logy;               /* log10 y axis (values <= 0 are skipped) */
    int width, height;      /* 0: 640 x 400 */
    /* fixed ranges (used when xmin < xmax, ymin < ymax), else automatic */
    double xmin, xmax, ymin, ymax;
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
    int logy;
} svg_canvas;

int svg_begin(svg_canvas *c, const char *path, const svg_plot *plot, double xmin,
              double xmax, double ymin, double ymax);
void svg_map(const svg_canvas *c, double x, double y, double *px, double *py);
void svg_polyline(svg_canvas *c, const double *x, const double *y, int n,
                  const char *color, double width, int dashed);
void svg_legend(svg_canvas *c, const svg_series *series, int n_series);
int svg_end(svg_canvas *c);   /* 0 on success */

/* The palette colour i (cycles). */
const char *svg_color(int i);

#endif
