/*
** test_conv.c: the convolution ops of ag_conv.h (conv1d/2d,
** conv_transpose1d/2d, unfold, fold): forward values against naive loops
** written here over stride / padding / dilation / groups combinations
** (depthwise, "same" with even kernels, output_padding, 1x1, unbatched,
** empty batch), both dtypes; gradcheck and gradgradcheck in f64 over those
** combinations; bit-identical results for 1, 2 and 3 threads. PyTorch's
** numbers are in test_conv_torch.c, the error paths in test_conv_errors.c.
*/
#include "test_util.h"

#include <stdlib.h>

/* ------------------------------------------------------ naive loops --- */

/* The naive loops' view of a convolution: 2-D, [0] height, [1] width,
   p the padding before each axis. */
typedef struct ref_geom {
    int64_t s[2], p[2], d[2], groups;
} ref_geom;

/* x's dims as [N,C,H,W] (a 1-D [N,C,L] has H = 1). */
static void dims4(const ag_tensor *x, int64_t *d)
{
    const int nd = ag_tensor_ndim(x);
    const int64_t *s = ag_tensor_shape(x);
    d[0] = s[0], d[1] = s[1];
    d[2] = nd == 4 ? s[2] : 1;
    d[3] = s[nd - 1];
}

/* y [N,O,oh,ow] = b + the direct sum over (c, p, q) of w[o,c,p,q] x[n,
   grp*cg + c, i*s0 - p0 + p*d0, j*s1 - p1 + q*d1]. */
static void ref_conv(const ag_tensor *x, const ag_tensor *w, const ag_tensor *b,
                     const ref_geom *g, int64_t oh, int64_t ow, double *y)
{
    int64_t xd[4], wd[4];
    dims4(x, xd), dims4(w, wd);
    const int64_t og = wd[0] / g->groups, cg = wd[1];
    for (int64_t n = 0; n < xd[0]; n++)
        for (int64_t o = 0; o < wd[0]; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double s = b ? ag_tensor_get(b, o) : 0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t p = 0; p < wd[2]; p++)
                            for (int64_t q = 0; q < wd[3]; q++) {
                                int64_t ih = i * g->s[0] - g->p[0] + p * g->d[0];
                                int64_t iw = j * g->s[1] - g->p[1] + q * g->d[1];
                                if (ih < 0 || ih >= xd[2] || iw < 0 || iw >= xd[3]) continue;
                                int64_t ci = o / og * cg + c;
                                s += ag_tensor_get(w, ((o * cg + c) * wd[2] + p) * wd[3] + q) *
                                     ag_tensor_get(x, ((n * xd[1] + ci) * xd[2] + ih) * xd[3] + iw);
                            }
                    y[((n * wd[0] + o) * oh + i) * ow + j] = s;
                }
}

/* y [N,O,oh,ow] = b + each x[n,ci,i,j] w[ci,oc,p,q] added at y[n, grp*og +
   oc, i*s0 - p0 + p*d0, j*s1 - p1 + q*d1] (w [Cin, O/groups, kH, kW]). */
static void ref_convt(const ag_tensor *x, const ag_tensor *w, const ag_tensor *b,
                      const ref_geom *g, int64_t oh, int64_t ow, double *y)
{
    int64_t xd[4], wd[4];
    dims4(x, xd), dims4(w, wd);
    const int64_t og = wd[1], cg = xd[1] / g->groups, out = og * g->groups;
    for (int64_t k = 0; k < xd[0] * out * oh * ow; k++)
        y[k] = b ? ag_tensor_get(b, k / (oh * ow) % out) : 0;
    for (int64_t n = 0; n < xd[0]; n++)
        for (int64_t ci = 0; ci < xd[1]; ci++)
            for (int64_t i = 0; i < xd[2]; i++)
                for (int64_t j = 0; j < xd[3]; j++)
                    for (int64_t oc = 0; oc < og; oc++)
                        for (int64_t p = 0; p < wd[2]; p++)
                            for (int64_t q = 0; q < wd[3]; q++) {
                                int64_t yh = i * g->s[0] - g->p[0] + p * g->d[0];
                                int64_t yw = j * g->s[1] - g->p[1] + q * g->d[1];
                                if (yh < 0 || yh >= oh || yw < 0 || yw >= ow) continue;
                                int64_t o = ci / cg * og + oc;
                                y[((n * out + o) * oh + yh) * ow + yw] +=
                                    ag_tensor_get(x, ((n * xd[1] + ci) * xd[2] + i) * xd[3] + j) *
                                    ag_tensor_get(w, ((ci * og + oc) * wd[2] + p) * wd[3] + q);
                            }
}

/* y [N, C*kh*kw, oh*ow] = the patches of x [N,C,H,W] (F.unfold). */
static void ref_unfold(const ag_tensor *x, int64_t kh, int64_t kw, const ref_geom *g,
                       int64_t oh, int64_t ow, double *y)
{
    int64_t xd[4];
    dims4(x, xd);
    for (int64_t n = 0; n < xd[0]; n++)
        for (int64_t c = 0; c < xd[1]; c++)
            for (int64_t p = 0; p < kh; p++)
                for (int64_t q = 0; q < kw; q++)
                    for (int64_t i = 0; i < oh; i++)
                        for (int64_t j = 0; j < ow; j++) {
                            int64_t ih = i * g->s[0] - g->p[0] + p * g->d[0];
                            int64_t iw = j * g->s[1] - g->p[1] + q * g->d[1];
                            int64_t row = (c * kh + p) * kw + q;
                            int inside = ih >= 0 && ih < xd[2] && iw >= 0 && iw < xd[3];
                            y[((n * xd[1] * kh * kw + row) * oh + i) * ow + j] =
                                inside ? ag_tensor_get(x, ((n * xd[1] + c) * xd[2] + ih) *
                                                       xd[3] + iw) : 0;
                        }
}

/* y [N,C,H,W] = the columns of x [N, C*kh*kw, oh*ow] added back (F.fold). */
static void ref_fold(const ag_tensor *x, int64_t kh, int64_t kw, const ref_geom *g,
                     const int64_t *yd, int64_t oh, int64_t ow, double *y)
{
    for (int64_t k = 0; k < yd[0] * yd[1] * yd[2] * yd[3]; k++) y[k] = 0;
    for (int64_t n = 0; n < yd[0]; n++)
        for (int64_t c = 0; c < yd[1]; c++)
            for (int64_t p = 0; p < kh; p++)
                for (int64_t q = 0; q < kw; q++)
                    for (int64_t i = 0; i < oh; i++)
                        for (int64_t j = 0; j < ow; j++) {
                            int64_t ih = i * g->s[0] - g->p[0] + p * g->d[0];
                            int64_t iw = j * g->s[1] - g->p[1] + q * g->d[1];
                            int64_t row = (c * kh + p) * kw + q;
                            if (ih < 0 || ih >= yd[2] || iw < 0 || iw >= yd[3]) continue;
                            y[((n * yd[1] + c) * yd[2] + ih) * yd[3] + iw] +=
                                ag_tensor_get(x, ((n * yd[1] * kh * kw + row) * oh + i) * ow + j);
                        }
}

/* Asserts y's elements equal ref[] to within tol times (1 + |ref|). */
static void assert_close(const ag_tensor *y, const double *ref, int64_t n, double tol)
{
    ck_assert_int_eq(ag_tensor_numel(y), n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(ag_tensor_get(y, i) - ref[i]) <= tol * (1 + fabs(ref[i])),
                      "element %lld: got %.17g, expected %.17g", (long long)i,
                      ag_tensor_get(y, i), ref[i]);
}

static ag_tensor *rand_tensor(ag_dtype dt, int ndim, const int64_t *shape, uint64_t seed)
{
    ag_rng *r = ag_rng_new(seed);
    ag_tensor *x = ag_rand_uniform(NULL, r, dt, ndim, shape, -1, 1);
    ag_rng_free(r);
    ck_assert_ptr_nonnull(x);
    return x;
}

/* ------------------------------------------------------------ cases --- */

enum { OP_CONV, OP_CONVT, OP_UNFOLD, OP_FOLD };

/* One case: the op, its number of spatial axes, x's and w's shapes (w:
   the kernel {kH, kW} for unfold and fold, output_size {H, W} for fold in
   w[2..3]), the options, a bias. */
typedef struct conv_case {
    int op, nsp;
    int64_t x[4], w[4];
    ag_conv_opts o;
    int bias;
} conv_case;

/* The geometry and output grid the case should give, computed here from
   the formulas of ag_conv.h. */
static void case_geom(const conv_case *k, const int64_t *xd, const int64_t *kern,
                      ref_geom *g, int64_t *out)
{
    for (int a = 0; a < 2; a++) {
        const int o = k->nsp == 2 ? a : 0, used = k->nsp == 2 || a == 1;
        g->s[a] = used && k->o.stride[o] ? k->o.stride[o] : 1;
        g->d[a] = used && k->o.dilation[o] ? k->o.dilation[o] : 1;
        int64_t total = used ? 2 * k->o.padding[o] : 0;
        if (used && k->o.padding_kind == AG_CONV_PADDING_SAME) total = g->d[a] * (kern[a] - 1);
        g->p[a] = total / 2;
        const int64_t span = g->d[a] * (kern[a] - 1) + 1, in = xd[2 + a];
        out[a] = k->op == OP_CONVT
                     ? (in - 1) * g->s[a] - total + span + (used ? k->o.output_padding[o] : 0)
                     : (in + total - span) / g->s[a] + 1;
    }
    g->groups = k->o.groups ? k->o.groups : 1;
}

static ag_tensor *run_case(ag_tape *t, const conv_case *k, ag_tensor *x, ag_tensor *w,
                           ag_tensor *b)
{
    const int is2d = k->nsp == 2;
    switch (k->op) {
    case OP_CONV:
        return is2d ? ag_conv2d(t, x, w, b, &k->o) : ag_conv1d(t, x, w, b, &k->o);
    case OP_CONVT:
        return is2d ? ag_conv_transpose2d(t, x, w, b, &k->o)
                     : ag_conv_transpose1d(t, x, w, b, &k->o);
    case OP_UNFOLD:
        return ag_unfold(t, x, k->w, &k->o);
    default:
        return ag_fold(t, x, k->w + 2, k->w, &k->o);
    }
}

/* The case's x, w (NULL for unfold and fold) and b (or NULL), persistent,
   uniform in [-1, 1) of dtype dt. */
static void case_tensors(const conv_case *k, ag_dtype dt, ag_tensor **in)
{
    const int nd = k->nsp + 2, patches = k->op == OP_UNFOLD || k->op == OP_FOLD;
    in[0] = rand_tensor(dt, k->op == OP_FOLD ? 3 : nd, k->x, 11);
    in[1] = patches ? NULL : rand_tensor(dt, nd, k->w, 12);
    in[2] = NULL;
    if (k->bias) {
        const int64_t out = k->op == OP_CONV ? k->w[0] : k->w[1] * (k->o.groups ? k->o.groups : 1);
        in[2] = rand_tensor(dt, 1, &out, 13);
    }
}

/* The naive result of case k on in[] into a new array (*n elements) and
   its 4-D shape into yd. */
static double *case_ref(const conv_case *k, ag_tensor *const *in, int64_t *n, int64_t *yd)
{
    int64_t xd[4], wd[4] = {0, 0, k->w[0], k->w[1]}, out[2];
    ref_geom g;
    dims4(in[0], xd);
    if (in[1]) dims4(in[1], wd);
    if (k->op == OP_FOLD) xd[2] = k->w[2], xd[3] = k->w[3];
    case_geom(k, xd, wd + 2, &g, out);
    yd[0] = xd[0], yd[2] = out[0], yd[3] = out[1];
    yd[1] = k->op == OP_CONV ? wd[0] : k->op == OP_CONVT ? wd[1] * g.groups
          : k->op == OP_UNFOLD ? xd[1] * wd[2] * wd[3] : xd[1] / (wd[2] * wd[3]);
    if (k->op == OP_FOLD) yd[2] = k->w[2], yd[3] = k->w[3];
    *n = yd[0] * yd[1] * yd[2] * yd[3];
    double *y = malloc((size_t)(*n ? *n : 1) * sizeof *y);
    ck_assert_ptr_nonnull(y);
    if (k->op == OP_CONV) ref_conv(in[0], in[1], in[2], &g, out[0], out[1], y);
    if (k->op == OP_CONVT) ref_convt(in[0], in[1], in[2], &g, out[0], out[1], y);
    if (k->op == OP_UNFOLD) ref_unfold(in[0], wd[2], wd[3], &g, out[0], out[1], y);
    if (k->op == OP_FOLD) ref_fold(in[0], wd[2], wd[3], &g, yd, out[0], out[1], y);
    return y;
}

/* Runs case k in dtype dt; asserts the shape and values of the naive loop. */
static void check_case(const conv_case *k, ag_dtype dt)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *in[3];
    int64_t n, yd[4];
    case_tensors(k, dt, in);
    double *ref = case_ref(k, in, &n, yd);
    ag_tensor *y = run_case(t, k, in[0], in[1], in[2]);
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    const int nd = k->op == OP_UNFOLD ? 3 : k->nsp + 2;
    const int64_t shape[4] = {yd[0], yd[1], k->op == OP_UNFOLD ? yd[2] * yd[3] : k->nsp == 2 ? yd[2] : yd[3], yd[3]};
    tu_assert_shape(y, nd, shape);
    assert_close(y, ref, n, dt == AG_F64 ? 1e-12 : 2e-5);
    free(ref);
    for (int i = 0; i < 3; i++) ag_tensor_free(in[i]);
    ag_tape_free(t);
}

#define C2(...) {OP_CONV, 2, __VA_ARGS__}
#define C1(...) {OP_CONV, 1, __VA_ARGS__}
#define T2(...) {OP_CONVT, 2, __VA_ARGS__}
#define T1(...) {OP_CONVT, 1, __VA_ARGS__}
#define SAME AG_CONV_PADDING_SAME
#define VALID AG_CONV_PADDING_VALID

static const conv_case conv2d_cases[] = {
    C2({2, 3, 7, 6}, {4, 3, 3, 3}, {.groups = 0}, 1),                            /* defaults */
    C2({2, 3, 7, 8}, {4, 3, 3, 2}, {.stride = {2, 3}, .padding = {1, 2}}, 1),
    C2({1, 2, 7, 6}, {3, 2, 3, 2}, {.dilation = {2, 3}, .padding = {2, 0}}, 0),
    C2({2, 4, 6, 6}, {6, 2, 3, 3}, {.stride = {2, 2}, .padding = {1, 1}, .groups = 2}, 1),
    C2({1, 5, 6, 7}, {5, 1, 3, 3}, {.padding = {1, 1}, .groups = 5}, 1),  /* depthwise */
    C2({1, 3, 5, 5}, {6, 1, 2, 2}, {.groups = 3}, 0),                     /* x2 depthwise */
    C2({1, 2, 5, 6}, {3, 2, 2, 4}, {.padding_kind = SAME}, 1),           /* even kernel */
    C2({1, 2, 6, 5}, {2, 2, 3, 2}, {.dilation = {2, 3}, .padding_kind = SAME}, 0),
    C2({1, 2, 5, 5}, {2, 2, 3, 3}, {.padding_kind = VALID, .stride = {2, 1}}, 1),
    C2({2, 4, 5, 5}, {3, 4, 1, 1}, {.groups = 0}, 1),                             /* 1x1, in place */
    C2({2, 4, 3, 5}, {6, 2, 1, 1}, {.groups = 2}, 0),
    C2({1, 2, 5, 5}, {2, 2, 1, 1}, {.stride = {2, 2}}, 0),                /* 1x1 strided */
    C2({1, 2, 3, 4}, {2, 2, 5, 6}, {.padding = {1, 1}}, 1),             /* kernel = padded x */
    C2({2, 2, 8, 7}, {2, 2, 2, 2}, {.stride = {3, 4}}, 0),              /* stride > kernel */
    C2({1, 1, 2, 2}, {2, 1, 2, 2}, {.padding = {3, 2}, .dilation = {3, 1}}, 1), /* pad > x */
    C2({0, 2, 4, 4}, {3, 2, 3, 3}, {.groups = 0}, 1),                             /* empty batch */
    C2({2, 0, 4, 4}, {3, 0, 3, 3}, {.groups = 0}, 1),                             /* no channels */
};

static const conv_case conv1d_cases[] = {
    C1({2, 3, 9}, {4, 3, 3}, {.stride = {2}, .padding = {1}, .dilation = {2}}, 1),
    C1({1, 4, 7}, {4, 1, 4}, {.groups = 4, .padding_kind = SAME}, 0),
    C1({2, 2, 6}, {3, 2, 1}, {.groups = 0}, 1),
    C1({1, 2, 5}, {2, 2, 2}, {.stride = {3}, .padding = {2}}, 0),
};

static const conv_case convt_cases[] = {
    T2({2, 3, 4, 4}, {3, 2, 3, 3}, {.groups = 0}, 1),
    T2({1, 2, 3, 4}, {2, 3, 3, 3}, {.stride = {2, 2}, .padding = {1, 1},
                                    .output_padding = {1, 1}}, 1),
    T2({1, 4, 3, 3}, {4, 3, 2, 2}, {.stride = {2, 3}, .dilation = {2, 1},
                                    .output_padding = {1, 2}, .groups = 2}, 1),
    T2({2, 3, 4, 4}, {3, 5, 1, 1}, {.groups = 0}, 1),                             /* 1x1, direct */
    T2({1, 3, 4, 4}, {3, 1, 3, 3}, {.stride = {2, 2}, .groups = 3}, 0),   /* depthwise */
    T2({1, 2, 3, 3}, {2, 2, 3, 2}, {.dilation = {2, 2}, .output_padding = {1, 1},
                                    .padding = {2, 1}}, 0),               /* op < dilation */
    T2({0, 2, 3, 3}, {2, 2, 3, 3}, {.groups = 0}, 1),
    T2({1, 2, 3, 11}, {2, 2, 3, 3}, {.padding = {0, 1}}, 1),    /* rows of 12: two f64 vectors */
    T2({1, 2, 2, 18}, {2, 1, 2, 3}, {.dilation = {1, 2}, .groups = 2}, 0), /* rows of 22 */
};

static const conv_case convt1d_cases[] = {
    T1({2, 2, 5}, {2, 3, 4}, {.stride = {3}, .padding = {1}, .output_padding = {2}}, 1),
    T1({1, 4, 3}, {4, 1, 2}, {.groups = 2, .dilation = {3}}, 0),
};

static const conv_case patch_cases[] = {
    {OP_UNFOLD, 2, {2, 3, 5, 6}, {2, 3}, {.groups = 0}, 0},
    {OP_UNFOLD, 2, {1, 2, 4, 5}, {2, 3}, {.stride = {1, 2}, .padding = {1, 0},
                                          .dilation = {2, 1}}, 0},
    {OP_UNFOLD, 2, {1, 2, 3, 3}, {1, 1}, {.stride = {2, 2}}, 0},
    {OP_FOLD, 2, {2, 12, 16}, {2, 3, 5, 6}, {.groups = 0}, 0},
    {OP_FOLD, 2, {1, 8, 9}, {2, 2, 4, 5}, {.stride = {2, 2}, .padding = {1, 1}}, 0},
    {OP_FOLD, 2, {1, 4, 4}, {1, 2, 4, 5}, {.stride = {2, 2}, .dilation = {1, 2}}, 0},
    {OP_FOLD, 2, {1, 8, 108}, {2, 2, 5, 19}, {.padding = {1, 0}}, 0},   /* rows of 19 */
};

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---------------------------------------------------------- forward --- */

START_TEST(test_conv2d_matches_naive_loop)
{
    for (int i = 0; i < N_OF(conv2d_cases); i++) {
        check_case(&conv2d_cases[i], AG_F64);
        check_case(&conv2d_cases[i], AG_F32);
    }
}
END_TEST

START_TEST(test_conv1d_matches_naive_loop)
{
    for (int i = 0; i < N_OF(conv1d_cases); i++) {
        check_case(&conv1d_cases[i], AG_F64);
        check_case(&conv1d_cases[i], AG_F32);
    }
}
END_TEST

START_TEST(test_conv_transpose_matches_naive_loop)
{
    for (int i = 0; i < N_OF(convt_cases); i++) {
        check_case(&convt_cases[i], AG_F64);
        check_case(&convt_cases[i], AG_F32);
    }
    for (int i = 0; i < N_OF(convt1d_cases); i++) {
        check_case(&convt1d_cases[i], AG_F64);
        check_case(&convt1d_cases[i], AG_F32);
    }
}
END_TEST

START_TEST(test_unfold_fold_match_naive_loop)
{
    for (int i = 0; i < N_OF(patch_cases); i++) {
        check_case(&patch_cases[i], AG_F64);
        check_case(&patch_cases[i], AG_F32);
    }
}
END_TEST

START_TEST(test_unbatched_input_gives_unbatched_result)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = rand_tensor(AG_F64, 3, SHAPE(3, 6, 5), 1), *w = rand_tensor(AG_F64, 4, SHAPE(2, 3, 3, 3), 2);
    ag_tensor *xb = rand_tensor(AG_F64, 4, SHAPE(1, 3, 6, 5), 1);
    ag_conv_opts o = {.padding = {1, 0}};
    ag_tensor *y = ag_conv2d(t, x, w, NULL, &o), *yb = ag_conv2d(t, xb, w, NULL, &o);
    tu_assert_shape(y, 3, SHAPE(2, 6, 3));
    for (int64_t i = 0; i < 36; i++) ck_assert(ag_tensor_get(y, i) == ag_tensor_get(yb, i));
    ag_tensor *x1 = rand_tensor(AG_F64, 2, SHAPE(3, 7), 3), *w1 = rand_tensor(AG_F64, 3, SHAPE(2, 3, 2), 4);
    ag_tensor *wt = rand_tensor(AG_F64, 3, SHAPE(3, 2, 2), 5);
    ag_tensor *y1 = ag_conv1d(t, x1, w1, NULL, NULL), *yt = ag_conv_transpose1d(t, x1, wt, NULL, NULL);
    ag_tensor *cols = ag_unfold(t, x, SHAPE(2, 2), NULL);
    tu_assert_shape(y1, 2, SHAPE(2, 6));
    tu_assert_shape(yt, 2, SHAPE(2, 8));
    tu_assert_shape(cols, 2, SHAPE(12, 20));
    ck_assert_msg(ag_tape_status(t) == AG_OK, "%s", ag_tape_errmsg(t));
    ag_tape_free(t);
    ag_tensor *all[] = {x, w, xb, x1, w1, wt};
    for (int i = 0; i < 6; i++) ag_tensor_free(all[i]);
}
END_TEST

/* The same convolution written as unfold, a product and a reshape: the
   two public routes agree. */
START_TEST(test_conv2d_equals_unfold_then_matmul)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = rand_tensor(AG_F64, 4, SHAPE(2, 3, 6, 5), 1);
    ag_tensor *w = rand_tensor(AG_F64, 4, SHAPE(4, 3, 3, 2), 2);
    ag_conv_opts o = {.stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2}};
    ag_tensor *y = ag_conv2d(t, x, w, NULL, &o);
    ag_tensor *cols = ag_unfold(t, x, SHAPE(3, 2), &o);                 /* [2, 18, L] */
    ag_tensor *wm = ag_reshape(t, w, 2, SHAPE(4, 18));
    ag_tensor *y2 = ag_matmul(t, wm, cols);                              /* [2, 4, L] */
    ck_assert_msg(y && y2, "%s", ag_tape_errmsg(t));
    ck_assert_int_eq(ag_tensor_numel(y), ag_tensor_numel(y2));
    for (int64_t i = 0; i < ag_tensor_numel(y); i++)
        ck_assert(fabs(ag_tensor_get(y, i) - ag_tensor_get(y2, i)) < 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
}
END_TEST

/* -------------------------------------------------------- gradients --- */

static const conv_case grad_cases[] = {
    C2({2, 2, 4, 4}, {2, 2, 2, 2}, {.groups = 0}, 1),
    C2({1, 2, 5, 4}, {2, 1, 3, 2}, {.stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2},
                                    .groups = 2}, 1),
    C2({1, 3, 4, 4}, {3, 1, 3, 3}, {.padding = {1, 1}, .groups = 3}, 0),  /* depthwise */
    C2({1, 2, 4, 5}, {2, 2, 2, 2}, {.padding_kind = SAME, .dilation = {1, 2}}, 1),
    C2({2, 2, 3, 3}, {3, 2, 1, 1}, {.groups = 0}, 1),                             /* 1x1 */
    C2({1, 1, 6, 5}, {2, 1, 2, 2}, {.stride = {3, 2}}, 0),   /* rows and columns skipped */
    C2({2, 1, 5, 5}, {6, 1, 2, 2}, {.padding = {1, 0}}, 1),   /* K < Cout: dw transposed */
    C2({1, 2, 4, 4}, {10, 1, 2, 2}, {.groups = 2}, 0),
    C1({2, 2, 6}, {3, 2, 3}, {.stride = {2}, .padding = {1}, .dilation = {2}}, 1),
    C1({1, 2, 5}, {2, 1, 4}, {.groups = 2, .padding_kind = SAME}, 0),
    T2({1, 2, 3, 3}, {2, 2, 2, 2}, {.stride = {2, 2}, .padding = {1, 0},
                                    .output_padding = {1, 1}}, 1),
    T2({1, 4, 2, 3}, {4, 1, 2, 2}, {.groups = 2, .dilation = {2, 1},
                                    .output_padding = {1, 0}}, 0),
    T2({2, 2, 2, 2}, {2, 3, 1, 1}, {.groups = 0}, 1),                             /* 1x1 */
    T1({1, 2, 4}, {2, 2, 3}, {.stride = {2}, .output_padding = {1}}, 1),
    {OP_UNFOLD, 2, {1, 2, 4, 4}, {2, 2}, {.stride = {2, 2}, .padding = {1, 1}}, 0},
    {OP_UNFOLD, 2, {1, 1, 4, 3}, {2, 2}, {.dilation = {2, 1}}, 0},
    {OP_FOLD, 2, {1, 8, 9}, {2, 2, 4, 5}, {.stride = {2, 2}, .padding = {1, 1}}, 0},
};

static ag_tensor *apply_case(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const conv_case *k = ctx;
    const int patches = k->op == OP_UNFOLD || k->op == OP_FOLD;
    return run_case(t, k, in[0], patches ? NULL : in[1], k->bias ? in[2] : NULL);
}

START_TEST(test_gradcheck_and_gradgradcheck)
{
    const conv_case *k = &grad_cases[_i];
    ag_tensor *in[3];
    case_tensors(k, AG_F64, in);
    const int n = k->op == OP_UNFOLD || k->op == OP_FOLD ? 1 : k->bias ? 3 : 2;
    tu_assert_gradchecks(apply_case, (void *)k, n, in);
    for (int i = 0; i < 3; i++) ag_tensor_free(in[i]);
}
END_TEST

/* The second derivative of a linear op is zero; squaring unfold's output
   makes gradgradcheck see its rules at work. */
static ag_tensor *unfold_squared(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *y = apply_case(t, in, ctx);
    return ag_mul(t, y, y);
}

START_TEST(test_gradgradcheck_of_squared_unfold_and_fold)
{
    for (int i = N_OF(grad_cases) - 3; i < N_OF(grad_cases); i++) {
        ag_tensor *in[3];
        case_tensors(&grad_cases[i], AG_F64, in);
        tu_assert_gradchecks(unfold_squared, (void *)&grad_cases[i], 1, in);
        ag_tensor_free(in[0]);
    }
}
END_TEST

/* ---------------------------------------------------------- threads --- */

/* y = case k in f32 and its gradients for a random dy, with `threads`
   threads: copies into out[0..4) (y, dx, dw, db). */
static void thread_run(const conv_case *k, int threads, ag_tensor **out)
{
    ck_assert_int_eq(ag_set_num_threads(threads), AG_OK);
    ag_tape *t = ag_tape_new();
    ag_tensor *in[3];
    case_tensors(k, AG_F32, in);
    for (int i = 0; i < 3; i++) ag_set_requires_grad(in[i], 1);
    ag_tensor *y = run_case(t, k, in[0], in[1], in[2]), *g[3];
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    ag_rng *r = ag_rng_new(5);
    ag_tensor *dy = ag_rand_uniform(t, r, AG_F32, ag_tensor_ndim(y), ag_tensor_shape(y), -1, 1);
    ck_assert_int_eq(ag_grad(t, 1, &y, &dy, 3, in, g, 0), AG_OK);
    out[0] = ag_tensor_clone(y);
    for (int i = 0; i < 3; i++) out[1 + i] = ag_tensor_clone(g[i]);
    ag_rng_free(r);
    ag_tape_free(t);
    for (int i = 0; i < 3; i++) ag_tensor_free(in[i]);
}

static int same_bits(ag_tensor *a, ag_tensor *b)
{
    return ag_tensor_numel(a) == ag_tensor_numel(b) &&
           !memcmp(ag_tensor_data(a), ag_tensor_data(b), (size_t)ag_tensor_numel(a) * 4);
}

static const conv_case thread_cases[] = {
    C2({8, 8, 16, 16}, {8, 4, 3, 3}, {.padding = {1, 1}, .groups = 2}, 1),  /* images split */
    C2({1, 32, 16, 16}, {64, 32, 3, 3}, {.padding = {1, 1}}, 1),  /* one image: GEMM split */
    T2({6, 16, 9, 9}, {16, 8, 3, 3}, {.stride = {2, 2}, .output_padding = {1, 1}}, 1),
    C2({20, 16, 8, 8}, {16, 16, 1, 1}, {.groups = 0}, 1),                 /* 1x1, 10 chunks of 2 */
    C2({16, 1, 12, 12}, {16, 1, 3, 3}, {.padding = {1, 1}}, 1),   /* a first layer: K < Cout */
};

START_TEST(test_results_are_bit_identical_for_1_2_3_threads)
{
    const conv_case *k = &thread_cases[_i];
    ag_tensor *one[4], *other[4];
    thread_run(k, 1, one);
    for (int threads = 2; threads <= 3; threads++) {
        thread_run(k, threads, other);
        for (int i = 0; i < 4; i++) {
            ck_assert_msg(same_bits(one[i], other[i]), "result %d differs with %d threads", i,
                          threads);
            ag_tensor_free(other[i]);
        }
    }
    for (int i = 0; i < 4; i++) ag_tensor_free(one[i]);
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}
END_TEST

/* The weight gradient summed in chunks still is the sum over the batch:
   against the naive per-image sum in double, 20 images (two chunk sizes). */
START_TEST(test_weight_gradient_sums_every_image)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = rand_tensor(AG_F64, 4, SHAPE(20, 2, 5, 5), 1);
    ag_tensor *w = rand_tensor(AG_F64, 4, SHAPE(3, 2, 3, 3), 2), *gw;
    ag_set_requires_grad(w, 1);
    ag_conv_opts o = {.padding = {1, 1}};
    ag_tensor *y = ag_conv2d(t, x, w, NULL, &o);
    ck_assert_int_eq(tu_grad_of_sum(t, y, 1, &w, &gw), AG_OK);
    /* d sum(y) / d w[o,c,p,q] = sum over n, i, j of x[n, c, i - 1 + p, j - 1 + q] */
    for (int64_t o2 = 0; o2 < 3; o2++)
        for (int64_t c = 0; c < 2; c++)
            for (int64_t p = 0; p < 3; p++)
                for (int64_t q = 0; q < 3; q++) {
                    double s = 0;
                    for (int64_t n = 0; n < 20; n++)
                        for (int64_t i = 0; i < 5; i++)
                            for (int64_t j = 0; j < 5; j++) {
                                int64_t ih = i - 1 + p, iw = j - 1 + q;
                                if (ih >= 0 && ih < 5 && iw >= 0 && iw < 5)
                                    s += ag_tensor_get(x, ((n * 2 + c) * 5 + ih) * 5 + iw);
                            }
                    double got = ag_tensor_get(gw, ((o2 * 2 + c) * 3 + p) * 3 + q);
                    ck_assert_msg(fabs(got - s) < 1e-11, "dw[%lld,%lld,%lld,%lld] %.17g, "
                                  "expected %.17g", (long long)o2, (long long)c, (long long)p,
                                  (long long)q, got, s);
                }
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
}
END_TEST

Suite *suite_conv(void)
{
    Suite *s = suite_create("conv");
    TU_ADD(s, test_conv2d_matches_naive_loop);
    TU_ADD(s, test_conv1d_matches_naive_loop);
    TU_ADD(s, test_conv_transpose_matches_naive_loop);
    TU_ADD(s, test_unfold_fold_match_naive_loop);
    TU_ADD(s, test_unbatched_input_gives_unbatched_result);
    TU_ADD(s, test_conv2d_equals_unfold_then_matmul);
    TCase *tc = tcase_create("test_gradcheck_and_gradgradcheck");
    tcase_add_loop_test(tc, test_gradcheck_and_gradgradcheck, 0, N_OF(grad_cases));
    suite_add_tcase(s, tc);
    TU_ADD(s, test_gradgradcheck_of_squared_unfold_and_fold);
    tc = tcase_create("test_results_are_bit_identical_for_1_2_3_threads");
    tcase_add_loop_test(tc, test_results_are_bit_identical_for_1_2_3_threads, 0,
                        N_OF(thread_cases));
    suite_add_tcase(s, tc);
    TU_ADD(s, test_weight_gradient_sums_every_image);
    return s;
}
