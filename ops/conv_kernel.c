/*
** conv_kernel.c: the kernels behind the convolution ops (conv.c): im2col
** and col2im, and the three convolutions as matrix products over them
** (conv_internal.h has the big/small picture and the weight layout).
**
** Per image and group, with K = Cb/groups * kH * kW, Ps and Pb the small
** and big grids' sizes and col the image's patches [K, Ps] (im2col):
**   forward     ys [Cs/g, Ps]  = [w_g | b] [Cs/g, K+1] @ [col; ones]
**   transposed  col = w_g^T @ xs [Cs/g, Ps], then yb = b + col2im(col)
**   weight      w_g [Cs/g, K] += gs [Cs/g, Ps] @ col^T
**               (or its transpose col @ gs^T when K < Cs/g)
** col lives in a scratch area on the tape, one per task; a 1x1 kernel with
** stride 1 and no padding needs none (col is the image itself). The
** products run on the engine's GEMM (matmul_internal.h).
**
** Where the time goes (a CNN's 32 -> 64 channels 3x3 on 14 x 14): the
** products, at the GEMM's speed on these shapes (about 200 GFLOP/s f32 on
** one AVX-512 core), then im2col and col2im, about a sixth of a product
** each. Both work by rows of the grid (14 values): whole vectors with a
** masked tail on AVX-512, plain loops elsewhere (conv_rows_internal.h,
** compiled for each instruction set; the path in use is chosen at run
** time, isa_internal.h); nothing per row may be a library call or a
** division, which cost more than the row.
**
** Threads. Forward and transposed: the images are split over tasks, each
** image's result computed whole by one task, each product by the serial
** GEMM; a single task (one image, or one thread) lets the GEMM split
** itself instead. Either way every element comes out the same (the GEMM's
** results do not depend on its split). The weight gradient sums the
** images in chunks whose size depends on the shapes alone (about
** CONV_WG_CHUNKS of them); each chunk's sum (images in order) goes to its
** own buffer, and the chunks are then added in order: the same bits for
** any thread count.
*/
#include "ag_ops_internal.h"
#include "conv_internal.h"
#include "matmul_internal.h"

#include <string.h>

#define CONV_TASKS_PER_THREAD 4
#define CONV_SCRATCH_MAX ((size_t)32 << 20)   /* scratch of all tasks, bytes */
#define CONV_PAR_MIN_FMAS ((int64_t)1 << 18)  /* less work runs as one task */
#define CONV_WG_CHUNKS 16                     /* the weight gradient's chunks */
#define CONV_WG_PARTIAL_MAX ((size_t)32 << 20) /* their buffers, bytes */
#define CONV_SLACK 64                         /* bytes im2col may write past col */

/* ---------------------------------------------------------- geometry --- */


/* The sizes every kernel derives from cd. */
typedef struct conv_sizes {
    int64_t kk, cbg, csg, k, pb, ps;    /* taps, channels per group, K, grids */
    size_t es;
    int direct;                         /* col is the image itself */
} conv_sizes;

static conv_sizes conv_sizes_of(const agi_conv_dims *cd)
{
    const agi_conv_geom *g = &cd->g;
    conv_sizes z;
    z.kk = g->k[0] * g->k[1];
    z.cbg = cd->cb / g->groups;
    z.csg = cd->cs / g->groups;
    z.k = z.cbg * z.kk;
    z.pb = cd->hb[0] * cd->hb[1];
    z.ps = cd->hs[0] * cd->hs[1];
    z.es = agi_dtype_size(cd->dtype);
    z.direct = z.kk == 1 && g->s[0] == 1 && g->s[1] == 1 && g->p[0] == 0 && g->p[1] == 0 &&
               cd->hb[0] == cd->hs[0] && cd->hb[1] == cd->hs[1];
    return z;
}

/* ------------------------------------------------------------- tasks --- */

typedef struct conv_run conv_run;
typedef void (*conv_item_fn)(const conv_run *r, char *ws, int64_t item);

/* One kernel call: its operands, scratch, and how its items (images, or
   the weight gradient's chunks) are cut into tasks. */
struct conv_run {
    const agi_conv_dims *cd;
    const agi_conv_rows *rows;      /* the rows' kernels of the path in use */
    conv_sizes z;
    const char *in1, *in2;          /* the two operands (see each kernel) */
    const char *bias;
    char *out;
    char *ws;                       /* ntasks scratch areas of ws_bytes */
    size_t ws_bytes;
    char *partial;                  /* the weight gradient's chunk sums */
    int64_t nitems, ntasks, chunk;
    int par_gemm;                   /* one task: the GEMM may split itself */
    int wg_tr;                      /* weight gradient taken transposed */
    conv_item_fn item;
};

static void conv_task(void *ctx, int64_t task)
{
    const conv_run *r = ctx;
    const int64_t lo = task * r->nitems / r->ntasks, hi = (task + 1) * r->nitems / r->ntasks;
    char *ws = r->ws ? r->ws + (size_t)task * r->ws_bytes : NULL;
    for (int64_t i = lo; i < hi; i++) r->item(r, ws, i);
}

static void conv_gemm(const conv_run *r, const agi_gemm *g)
{
    if (r->par_gemm)
        agi_gemm_run(g);
    else
        agi_gemm_run_serial(g);
}

/*
** Runs r's items: about CONV_TASKS_PER_THREAD tasks per thread, each with
** its own scratch of ws_bytes from the tape (fewer tasks when that would
** pass CONV_SCRATCH_MAX), or one task when the work (fmas) is small or one
** thread is set. Returns 0, or -1 when the scratch cannot be had.
*/
static int conv_launch(ag_tape *t, const char *fn, conv_run *r, size_t ws_bytes, double fmas)
{
    const int64_t threads = agi_threads_available();
    r->rows = agi_conv_rows_now();
    int64_t ntasks = threads > 1 && fmas >= (double)CONV_PAR_MIN_FMAS ? threads * CONV_TASKS_PER_THREAD : 1;
    if (ntasks > r->nitems) ntasks = r->nitems;
    ws_bytes = (ws_bytes + AGI_ALIGN - 1) & ~(size_t)(AGI_ALIGN - 1);
    if (ntasks > 1 && ws_bytes > CONV_SCRATCH_MAX / (size_t)ntasks)
        ntasks = threads < r->nitems ? threads : r->nitems;
    if (ntasks < 1) return 0;                       /* no items */
    r->ntasks = ntasks;
    r->ws_bytes = ws_bytes;
    r->par_gemm = ntasks == 1;
    r->ws = NULL;
    if (ws_bytes) {
        if (ws_bytes > SIZE_MAX / (size_t)ntasks)
            return agi_fail(t, AG_ERR_NOMEM, "%s: scratch of %lld x %zu bytes is too large", fn,
                            (long long)ntasks, ws_bytes), -1;
        if (!(r->ws = agi_alloc(t, ws_bytes * (size_t)ntasks))) return -1;
    }
    if (ntasks == 1)
        conv_task(r, 0);
    else
        agi_parallel_for(ntasks, conv_task, r);
    return 0;
}

/* The multiply-adds of a call (in double: the product may pass int64). */
static double conv_fmas(const agi_conv_dims *cd, const conv_sizes *z)
{
    return (double)cd->n * (double)cd->cs * (double)z->ps * (double)z->k;
}

/* Bytes of one image's patches (K x Ps) and the slack im2col may write
   past them; 0 when col is the image. */
static size_t col_bytes(const conv_sizes *z)
{
    return z->direct ? 0 : (size_t)(z->k * z->ps) * z->es + CONV_SLACK;
}

/* --------------------------------------------------------- forward --- */

/*
** Image n: ys[n] = w_g @ patches of xb[n] + bias, group by group. With a
** bias and patches, the bias is one more column of the weights (r->in2,
** [Cs, K + 1]) against a row of ones under the patches: the product
** writes y once, with no pass to fill it first. (1x1, in place: y is
** filled with the bias, the product added.)
*/
static void fwd_item(const conv_run *r, char *ws, int64_t n)
{
    const agi_conv_dims *cd = r->cd;
    const conv_sizes *z = &r->z;
    const int aug = r->bias && !z->direct;
    const int64_t ka = z->k + aug;
    for (int64_t gi = 0; gi < cd->g.groups; gi++) {
        char *y = r->out + (size_t)((n * cd->cs + gi * z->csg) * z->ps) * z->es;
        const char *x = r->in1 + (size_t)((n * cd->cb + gi * z->cbg) * z->pb) * z->es;
        const char *col = x;
        if (z->direct && r->bias)
            r->rows->fill_rows(cd->dtype, y, z->csg, z->ps, r->bias + (size_t)(gi * z->csg) * z->es);
        if (!z->direct) {
            r->rows->im2col(cd, z->cbg, x, ws, 1);
            if (aug) r->rows->fill_ones(cd->dtype, ws + (size_t)(z->k * z->ps) * z->es, z->ps);
            col = ws;
        }
        agi_gemm g = {.dtype = cd->dtype, .accumulate = z->direct && r->bias, .m = z->csg,
                      .n = z->ps, .k = ka, .a = r->in2 + (size_t)(gi * z->csg * ka) * z->es,
                      .a_rs = ka, .a_cs = 1, .b = col, .b_rs = z->ps, .b_cs = 1, .c = y,
                      .ldc = z->ps, .batch = 1};
        conv_gemm(r, &g);
    }
}

/* wb [Cs, K + 1] = w [Cs, K] with the bias [Cs] as its last column. */
static void weights_with_bias(const conv_sizes *z, int64_t cs, const char *w, const char *bias,
                              char *wb)
{
    for (int64_t o = 0; o < cs; o++) {
        memcpy(wb + (size_t)(o * (z->k + 1)) * z->es, w + (size_t)(o * z->k) * z->es,
               (size_t)z->k * z->es);
        memcpy(wb + (size_t)(o * (z->k + 1) + z->k) * z->es, bias + (size_t)o * z->es, z->es);
    }
}

int agi_conv_forward(ag_tape *t, const agi_conv_dims *cd, const void *xb, const void *w,
                     const void *bias, void *ys)
{
    conv_run r = {.cd = cd, .z = conv_sizes_of(cd), .in1 = xb, .in2 = w, .bias = bias,
                  .out = ys, .nitems = cd->n, .item = fwd_item};
    const int aug = bias && !r.z.direct;
    if (aug && cd->n > 0) {
        char *wb = agi_alloc(t, (size_t)(cd->cs * (r.z.k + 1)) * r.z.es);
        if (!wb) return -1;
        weights_with_bias(&r.z, cd->cs, w, bias, wb);
        r.in2 = wb;
    }
    return conv_launch(t, "ag_conv", &r, col_bytes(&r.z) + (aug ? (size_t)r.z.ps * r.z.es : 0),
                       conv_fmas(cd, &r.z));
}

/* ------------------------------------------------------ transposed --- */

/* Image n: yb[n] = bias + col2im(w_g^T @ xs[n]), group by group. */
static void tr_item(const conv_run *r, char *ws, int64_t n)
{
    const agi_conv_dims *cd = r->cd;
    const conv_sizes *z = &r->z;
    for (int64_t gi = 0; gi < cd->g.groups; gi++) {
        char *y = r->out + (size_t)((n * cd->cb + gi * z->cbg) * z->pb) * z->es;
        const char *x = r->in1 + (size_t)((n * cd->cs + gi * z->csg) * z->ps) * z->es;
        const char *bg = r->bias ? r->bias + (size_t)(gi * z->cbg) * z->es : NULL;
        if (z->direct && bg) r->rows->fill_rows(cd->dtype, y, z->cbg, z->pb, bg);
        agi_gemm g = {.dtype = cd->dtype, .accumulate = z->direct && bg, .m = z->k,
                      .n = z->ps, .k = z->csg, .a = r->in2 + (size_t)(gi * z->csg * z->k) * z->es,
                      .a_rs = 1, .a_cs = z->k, .b = x, .b_rs = z->ps, .b_cs = 1,
                      .c = z->direct ? y : ws, .ldc = z->ps, .batch = 1};
        conv_gemm(r, &g);
        if (!z->direct) r->rows->col2im_set(cd, z->cbg, ws, y, bg);
    }
}

int agi_conv_transpose(ag_tape *t, const agi_conv_dims *cd, const void *xs, const void *w,
                       const void *bias, void *yb)
{
    conv_run r = {.cd = cd, .z = conv_sizes_of(cd), .in1 = xs, .in2 = w, .bias = bias,
                  .out = yb, .nitems = cd->n, .item = tr_item};
    return conv_launch(t, "ag_conv_transpose", &r, col_bytes(&r.z),
                       conv_fmas(cd, &r.z));
}

/* -------------------------------------------------- weight gradient --- */

/*
** Chunk c of the images: its sum of gs[n] @ patches(xb[n])^T, images in
** order, into its own buffer (the result itself when there is one chunk).
** With few patch rows (K < Cs/g, a first layer's 1 x 3 x 3) the product
** is taken the other way round, patches @ gs^T, into [groups][K][Cs/g]
** (r->wg_tr): its wide side then fills the GEMM's panels.
*/
static void wg_item(const conv_run *r, char *ws, int64_t c)
{
    const agi_conv_dims *cd = r->cd;
    const conv_sizes *z = &r->z;
    const int64_t n0 = c * r->chunk, n1 = n0 + r->chunk < cd->n ? n0 + r->chunk : cd->n;
    const int64_t wg = z->csg * z->k;                   /* one group's block */
    char *dst = r->nitems == 1 && !r->wg_tr ? r->out : r->partial + (size_t)(c * cd->cs * z->k) * z->es;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t gi = 0; gi < cd->g.groups; gi++) {
            const char *x = r->in1 + (size_t)((n * cd->cb + gi * z->cbg) * z->pb) * z->es;
            const char *gy = r->in2 + (size_t)((n * cd->cs + gi * z->csg) * z->ps) * z->es;
            const char *col = x;
            if (!z->direct) {
                r->rows->im2col(cd, z->cbg, x, ws, 1);
                col = ws;
            }
            const char *a = r->wg_tr ? col : gy, *b = r->wg_tr ? gy : col;
            agi_gemm g = {.dtype = cd->dtype, .accumulate = n > n0,
                          .m = r->wg_tr ? z->k : z->csg, .n = r->wg_tr ? z->csg : z->k,
                          .k = z->ps, .a = a, .a_rs = z->ps, .a_cs = 1, .b = b, .b_rs = 1,
                          .b_cs = z->ps, .c = dst + (size_t)(gi * wg) * z->es,
                          .ldc = r->wg_tr ? z->csg : z->k, .batch = 1};
            conv_gemm(r, &g);
        }
}

/* w = the chunks' sums added in order; transposed back from [groups][K][Cs/g]
   when they were taken that way. */
#define CONV_WG_SUM(T, SUF)                                                   \
    static void wg_sum_##SUF(const conv_run *r, T *w, const T *part)          \
    {                                                                         \
        const conv_sizes *z = &r->z;                                          \
        const int64_t n = r->cd->cs * z->k, csg = z->csg, k = z->k;           \
        if (!r->wg_tr) {                                                      \
            r->rows->sum_chunks(r->cd->dtype, w, part, r->nitems, n);                       \
            return;                                                           \
        }                                                                     \
        for (int64_t gi = 0; gi < r->cd->g.groups; gi++)                      \
            for (int64_t o = 0; o < csg; o++)                                 \
                for (int64_t p = 0; p < k; p++) {                             \
                    const T *src = part + (gi * k + p) * csg + o;             \
                    T sum = src[0];                                           \
                    for (int64_t c = 1; c < r->nitems; c++) sum += src[c * n]; \
                    w[(gi * csg + o) * k + p] = sum;                          \
                }                                                             \
    }
CONV_WG_SUM(float, f32)
CONV_WG_SUM(double, f64)

int agi_conv_wgrad(ag_tape *t, const agi_conv_dims *cd, const void *xb, const void *gs,
                   void *w)
{
    conv_run r = {.cd = cd, .z = conv_sizes_of(cd), .in1 = xb, .in2 = gs, .out = w,
                  .item = wg_item};
    const int64_t wn = cd->cs * r.z.k;
    const size_t wbytes = (size_t)wn * r.z.es;
    if (cd->n == 0 || wn == 0) {
        memset(w, 0, wbytes);
        return 0;
    }
    int64_t nchunks = cd->n < CONV_WG_CHUNKS ? cd->n : CONV_WG_CHUNKS;
    if (wbytes > CONV_WG_PARTIAL_MAX / (size_t)nchunks)
        nchunks = wbytes >= CONV_WG_PARTIAL_MAX ? 1 : (int64_t)(CONV_WG_PARTIAL_MAX / wbytes);
    r.chunk = (cd->n + nchunks - 1) / nchunks;
    r.nitems = (cd->n + r.chunk - 1) / r.chunk;
    r.wg_tr = r.z.k < r.z.csg;
    if ((r.nitems > 1 || r.wg_tr) && !(r.partial = agi_alloc(t, wbytes * (size_t)r.nitems)))
        return -1;
    if (conv_launch(t, "ag_conv (weight gradient)", &r, col_bytes(&r.z),
                    conv_fmas(cd, &r.z)) < 0)
        return -1;
    if (r.nitems > 1 || r.wg_tr) {
        if (cd->dtype == AG_F64)
            wg_sum_f64(&r, w, (const double *)r.partial);
        else
            wg_sum_f32(&r, w, (const float *)r.partial);
    }
    return 0;
}

/* ---------------------------------------------------- unfold, fold --- */

static void unfold_item(const conv_run *r, char *ws, int64_t n)
{
    (void)ws;
    const conv_sizes *z = &r->z;
    r->rows->im2col(r->cd, r->cd->cb, r->in1 + (size_t)(n * r->cd->cb * z->pb) * z->es,
           r->out + (size_t)(n * z->k * z->ps) * z->es, 0);
}

static void fold_item(const conv_run *r, char *ws, int64_t n)
{
    (void)ws;
    const conv_sizes *z = &r->z;
    r->rows->col2im_set(r->cd, r->cd->cb, r->in1 + (size_t)(n * z->k * z->ps) * z->es,
               r->out + (size_t)(n * r->cd->cb * z->pb) * z->es, NULL);
}

/* Runs unfold or fold over the images (no scratch: cannot fail). */
static void conv_copy_run(const agi_conv_dims *cd, const void *in, void *out, conv_item_fn item)
{
    conv_run r = {.cd = cd, .z = conv_sizes_of(cd), .in1 = in, .out = out, .nitems = cd->n,
                  .item = item};
    (void)conv_launch(NULL, "ag_unfold", &r, 0, conv_fmas(cd, &r.z));
}

void agi_conv_unfold(const agi_conv_dims *cd, const void *xb, void *y)
{
    conv_copy_run(cd, xb, y, unfold_item);
}

void agi_conv_fold(const agi_conv_dims *cd, const void *xs, void *yb)
{
    conv_copy_run(cd, xs, yb, fold_item);
}
