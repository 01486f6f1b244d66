/*
** synth.c: synthetic datasets for when no real data can be had: K
** interleaved spiral arms in the plane, stored as bytes like any other
** dataset (built with ag_dataset_from_bytes, so the public API alone).
*/
#include "ag.h"

#include <math.h>
#include <stdlib.h>

#define SPIRAL_RADIUS 0.9    /* arms end here, leaving room for the noise */
#define SPIRAL_TURNS 0.75    /* how far each arm winds: 3/4 of a turn */

/* [-1, 1] to a byte (0 and 255 are the ends), clamped outside. */
static uint8_t quantize(double x)
{
    double b = (x + 1) * 127.5;
    if (!(b > 0)) return 0;        /* also NaN */
    if (b >= 255) return 255;
    return (uint8_t)(b + 0.5);
}

ag_dataset *ag_dataset_spirals(int64_t n, int num_classes, double noise, ag_rng *rng)
{
    const char *fn = "ag_dataset_spirals";
    const double two_pi = 6.283185307179586;
    if (!rng) return ag_set_last_error(AG_ERR_ARG, "%s: rng is NULL", fn), NULL;
    if (n < 0 || n > (int64_t)1 << 40 || num_classes < 2 || num_classes > 256)
        return ag_set_last_error(AG_ERR_ARG, "%s: n %lld, num_classes %d (n in [0, 2^40], "
                                 "2 to 256 classes)", fn, (long long)n, num_classes), NULL;
    if (!isfinite(noise) || noise < 0)
        return ag_set_last_error(AG_ERR_ARG, "%s: noise %.17g (finite, >= 0)", fn, noise), NULL;
    uint8_t *points = malloc(n > 0 ? (size_t)n * 2 : 1), *labels = malloc(n > 0 ? (size_t)n : 1);
    if (!points || !labels) {
        free(points), free(labels);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory for %lld points", fn,
                                 (long long)n), NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        int k = (int)(i % num_classes);
        double t = ag_rng_uniform(rng);
        double angle = two_pi * ((double)k / num_classes + SPIRAL_TURNS * t);
        double r = SPIRAL_RADIUS * t;
        double x = r * cos(angle) + noise * ag_rng_normal(rng);
        double y = r * sin(angle) + noise * ag_rng_normal(rng);
        points[2 * i] = quantize(x), points[2 * i + 1] = quantize(y);
        labels[i] = (uint8_t)k;
    }
    ag_dataset *ds = ag_dataset_from_bytes(n, 1, (const int64_t[]){2}, points, labels,
                                           num_classes);
    free(points), free(labels);
    if (ds && ag_dataset_set_normalize(ds, 0.5, 0.5) != AG_OK) {
        ag_dataset_free(ds);
        return NULL;
    }
    return ds;      /* on failure ag_dataset_from_bytes said why (out of memory) */
}
