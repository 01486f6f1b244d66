/*
** conv_kernel.c: the kernels behind the convolution ops (conv.c): im2col
** and col2im, and the three convolutions as matrix products over them
** (conv_internal.h has the big/small picture and the weight layout).
**
** Per image and group, with K = Cb/groups * kH * kW, Ps and Pb the small
** and big grids' sizes and col the image's patches [K, Ps] (im2col):
**   forward     ys [Cs/g, Ps]  = w_g [Cs/g, K] @ col
**   transposed  col = w_g^T @ xs [Cs/g, Ps], then yb = col2im(col)
**   weight      w_g [Cs/g, K] += gs [Cs/g, Ps] @ col^T
** col lives in a scratch area on the tape, one per task; a 1x1 kernel with
** stride 1 and no padding needs none (col is the image itself). The
** products run on the engine's GEMM (matmul_internal.h).
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

/* ---------------------------------------------------------- geometry --- */

/* [*lo, *hi): the output places o < n_out whose input place o*s + start
   is inside [0, n_in). */
static void conv_valid(int64_t n_out, int64_t n_in, int64_t s, int64_t start, int64_t *lo,
                       int64_t *hi)
{
    int64_t a = start >= 0 ? 0 : (-start + s - 1) / s;
    int64_t b = n_in - start <= 0 ? 0 : (n_in - start - 1) / s + 1;
    if (b > n_out) b = n_out;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

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

/* ------------------------------------------------------ im2col, col2im --- */

/* dst[o] = src[o*s] for o < n, elements of es bytes. */
static void copy_strided(char *dst, const char *src, int64_t n, int64_t s, size_t es)
{
    if (s == 1) {
        memcpy(dst, src, (size_t)n * es);
    } else if (es == 4) {
        for (int64_t o = 0; o < n; o++) memcpy(dst + 4 * o, src + 4 * o * s, 4);
    } else {
        for (int64_t o = 0; o < n; o++) memcpy(dst + 8 * o, src + 8 * o * s, 8);
    }
}

/* One row of col (channel c, tap i, j) from x [cg, Hb, Wb] (bytes). */
static void im2col_row(const agi_conv_dims *cd, const char *xc, char *row, int64_t i, int64_t j,
                       size_t es)
{
    const agi_conv_geom *g = &cd->g;
    const int64_t hs = cd->hs[0], ws = cd->hs[1], wb = cd->hb[1];
    int64_t hlo, hhi, wlo, whi;
    conv_valid(hs, cd->hb[0], g->s[0], i * g->d[0] - g->p[0], &hlo, &hhi);
    conv_valid(ws, wb, g->s[1], j * g->d[1] - g->p[1], &wlo, &whi);
    memset(row, 0, (size_t)(hlo * ws) * es);
    for (int64_t oh = hlo; oh < hhi; oh++) {
        char *dst = row + (size_t)(oh * ws) * es;
        const int64_t ih = oh * g->s[0] - g->p[0] + i * g->d[0];
        const int64_t iw = wlo * g->s[1] - g->p[1] + j * g->d[1];
        memset(dst, 0, (size_t)wlo * es);
        copy_strided(dst + (size_t)wlo * es, xc + (size_t)(ih * wb + iw) * es, whi - wlo,
                     g->s[1], es);
        memset(dst + (size_t)whi * es, 0, (size_t)(ws - whi) * es);
    }
    memset(row + (size_t)(hhi * ws) * es, 0, (size_t)((hs - hhi) * ws) * es);
}

/* col [cg*kH*kW, Hs*Ws] = the patches of x [cg, Hb, Wb]: row (c*kH + i)*kW
   + j, column oh*Ws + ow holds x[c][oh*s0 - p0 + i*d0][ow*s1 - p1 + j*d1],
   0 outside x. */
static void im2col(const agi_conv_dims *cd, int64_t cg, const void *x, void *col, size_t es)
{
    const int64_t kh = cd->g.k[0], kw = cd->g.k[1];
    const int64_t ps = cd->hs[0] * cd->hs[1], pb = cd->hb[0] * cd->hb[1];
    for (int64_t c = 0; c < cg; c++)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++)
                im2col_row(cd, (const char *)x + (size_t)(c * pb) * es,
                           (char *)col + (size_t)(((c * kh + i) * kw + j) * ps) * es, i, j, es);
}

/* The typed kernels: col2im (y [cg, Hb, Wb] += the columns of col, in
   row order), rows of a bias, and the sum of the weight gradient's
   chunks. */
#define CONV_TYPED(T, SUF)                                                    \
    static void col2im_##SUF(const agi_conv_dims *cd, int64_t cg, const T *col, T *y) \
    {                                                                         \
        const agi_conv_geom *g = &cd->g;                                      \
        const int64_t hs = cd->hs[0], ws = cd->hs[1], wb = cd->hb[1];         \
        const int64_t pb = cd->hb[0] * wb;                                    \
        for (int64_t c = 0; c < cg; c++)                                      \
            for (int64_t i = 0; i < g->k[0]; i++)                             \
                for (int64_t j = 0; j < g->k[1]; j++, col += hs * ws) {       \
                    int64_t hlo, hhi, wlo, whi;                               \
                    conv_valid(hs, cd->hb[0], g->s[0], i * g->d[0] - g->p[0], &hlo, &hhi); \
                    conv_valid(ws, wb, g->s[1], j * g->d[1] - g->p[1], &wlo, &whi); \
                    for (int64_t oh = hlo; oh < hhi; oh++) {                  \
                        const int64_t ih = oh * g->s[0] - g->p[0] + i * g->d[0]; \
                        const int64_t iw = wlo * g->s[1] - g->p[1] + j * g->d[1]; \
                        T *yr = y + c * pb + ih * wb + iw;                    \
                        const T *cr = col + oh * ws + wlo;                    \
                        for (int64_t o = 0; o < whi - wlo; o++)               \
                            yr[o * g->s[1]] += cr[o];                         \
                    }                                                         \
                }                                                             \
    }                                                                         \
    static void fill_rows_##SUF(T *y, int64_t rows, int64_t len, const T *v)  \
    {                                                                         \
        for (int64_t r = 0; r < rows; r++)                                    \
            for (int64_t i = 0; i < len; i++) y[r * len + i] = v ? v[r] : 0;  \
    }                                                                         \
    static void sum_chunks_##SUF(T *w, const T *part, int64_t nchunks, int64_t n) \
    {                                                                         \
        for (int64_t i = 0; i < n; i++) w[i] = part[i];                       \
        for (int64_t c = 1; c < nchunks; c++)                                 \
            AGI_VLOOP(i, 0, n, w[i] += part[c * n + i];);                     \
    }

CONV_TYPED(float, f32)
CONV_TYPED(double, f64)

static void col2im(const agi_conv_dims *cd, int64_t cg, const void *col, void *y)
{
    if (cd->dtype == AG_F64)
        col2im_f64(cd, cg, col, y);
    else
        col2im_f32(cd, cg, col, y);
}

/* rows x len values at y: row r = v[r] (v NULL: zeros). */
static void fill_rows(int dtype, void *y, int64_t rows, int64_t len, const void *v)
{
    if (dtype == AG_F64)
        fill_rows_f64(y, rows, len, v);
    else
        fill_rows_f32(y, rows, len, v);
}

/* ------------------------------------------------------------- tasks --- */

typedef struct conv_run conv_run;
typedef void (*conv_item_fn)(const conv_run *r, char *ws, int64_t item);

/* One kernel call: its operands, scratch, and how its items (images, or
   the weight gradient's chunks) are cut into tasks. */
struct conv_run {
    const agi_conv_dims *cd;
    conv_sizes z;
    const char *in1, *in2;          /* the two operands (see each kernel) */
    const char *bias;
    char *out;
    char *ws;                       /* ntasks scratch areas of ws_bytes */
    size_t ws_bytes;
    char *partial;                  /* the weight gradient's chunk sums */
    int64_t nitems, ntasks, chunk;
    int par_gemm;                   /* one task: the GEMM may split itself */
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

/* Bytes of one image's patches (K x Ps), 0 when col is the image. */
static size_t col_bytes(const conv_sizes *z)
{
    return z->direct ? 0 : (size_t)(z->k * z->ps) * z->es;
}

/* --------------------------------------------------------- forward --- */

/* Image n: ys[n] = bias + w_g @ patches of xb[n], group by group. */
static void fwd_item(const conv_run *r, char *ws, int64_t n)
{
    const agi_conv_dims *cd = r->cd;
    const conv_sizes *z = &r->z;
    for (int64_t gi = 0; gi < cd->g.groups; gi++) {
        char *y = r->out + (size_t)((n * cd->cs + gi * z->csg) * z->ps) * z->es;
        const char *x = r->in1 + (size_t)((n * cd->cb + gi * z->cbg) * z->pb) * z->es;
        if (r->bias) fill_rows(cd->dtype, y, z->csg, z->ps, r->bias + (size_t)(gi * z->csg) * z->es);
        const char *col = x;
        if (!z->direct) {
            im2col(cd, z->cbg, x, ws, z->es);
            col = ws;
        }
        agi_gemm g = {.dtype = cd->dtype, .accumulate = r->bias != NULL, .m = z->csg,
                      .n = z->ps, .k = z->k, .a = r->in2 + (size_t)(gi * z->csg * z->k) * z->es,
                      .a_rs = z->k, .a_cs = 1, .b = col, .b_rs = z->ps, .b_cs = 1, .c = y,
                      .ldc = z->ps, .batch = 1};
        conv_gemm(r, &g);
    }
}

int agi_conv_forward(ag_tape *t, const agi_conv_dims *cd, const void *xb, const void *w,
                     const void *bias, void *ys)
{
    conv_run r = {.cd = cd, .z = conv_sizes_of(cd), .in1 = xb, .in2 = w, .bias = bias,
                  .out = ys, .nitems = cd->n, .item = fwd_item};
    return conv_launch(t, "ag_conv", &r, col_bytes(&r.z), conv_fmas(cd, &r.z));
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
        if (bg || !z->direct) fill_rows(cd->dtype, y, z->cbg, z->pb, bg);
        agi_gemm g = {.dtype = cd->dtype, .accumulate = z->direct && bg, .m = z->k,
                      .n = z->ps, .k = z->csg, .a = r->in2 + (size_t)(gi * z->csg * z->k) * z->es,
                      .a_rs = 1, .a_cs = z->k, .b = x, .b_rs = z->ps, .b_cs = 1,
                      .c = z->direct ? y : ws, .ldc = z->ps, .batch = 1};
        conv_gemm(r, &g);
        if (!z->direct) col2im(cd, z->cbg, ws, y);
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

/* Chunk c of the images: its sum of gs[n] @ patches(xb[n])^T, images in
   order, into its own buffer (the result itself when there is one chunk). */
static void wg_item(const conv_run *r, char *ws, int64_t c)
{
    const agi_conv_dims *cd = r->cd;
    const conv_sizes *z = &r->z;
    const int64_t n0 = c * r->chunk, n1 = n0 + r->chunk < cd->n ? n0 + r->chunk : cd->n;
    char *dst = r->nitems == 1 ? r->out : r->partial + (size_t)(c * cd->cs * z->k) * z->es;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t gi = 0; gi < cd->g.groups; gi++) {
            const char *x = r->in1 + (size_t)((n * cd->cb + gi * z->cbg) * z->pb) * z->es;
            const char *gy = r->in2 + (size_t)((n * cd->cs + gi * z->csg) * z->ps) * z->es;
            const char *col = x;
            if (!z->direct) {
                im2col(cd, z->cbg, x, ws, z->es);
                col = ws;
            }
            agi_gemm g = {.dtype = cd->dtype, .accumulate = n > n0, .m = z->csg, .n = z->k,
                          .k = z->ps, .a = gy, .a_rs = z->ps, .a_cs = 1, .b = col, .b_rs = 1,
                          .b_cs = z->ps, .c = dst + (size_t)(gi * z->csg * z->k) * z->es,
                          .ldc = z->k, .batch = 1};
            conv_gemm(r, &g);
        }
}

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
    if (r.nitems > 1 && !(r.partial = agi_alloc(t, wbytes * (size_t)r.nitems))) return -1;
    if (conv_launch(t, "ag_conv (weight gradient)", &r, col_bytes(&r.z),
                    conv_fmas(cd, &r.z)) < 0)
        return -1;
    if (r.nitems > 1) {
        if (cd->dtype == AG_F64)
            sum_chunks_f64(w, (const double *)r.partial, r.nitems, wn);
        else
            sum_chunks_f32(w, (const float *)r.partial, r.nitems, wn);
    }
    return 0;
}

/* ---------------------------------------------------- unfold, fold --- */

static void unfold_item(const conv_run *r, char *ws, int64_t n)
{
    (void)ws;
    const conv_sizes *z = &r->z;
    im2col(r->cd, r->cd->cb, r->in1 + (size_t)(n * r->cd->cb * z->pb) * z->es,
           r->out + (size_t)(n * z->k * z->ps) * z->es, z->es);
}

static void fold_item(const conv_run *r, char *ws, int64_t n)
{
    (void)ws;
    const conv_sizes *z = &r->z;
    char *y = r->out + (size_t)(n * r->cd->cb * z->pb) * z->es;
    fill_rows(r->cd->dtype, y, r->cd->cb, z->pb, NULL);
    col2im(r->cd, r->cd->cb, r->in1 + (size_t)(n * z->k * z->ps) * z->es, y);
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
