/*
** gemm_body_internal.h: the GEMM kernels of one instruction set, a
** template. gemm_avx512.c, gemm_avx2.c and gemm_portable.c each define
** GEMM_ISA (gemm_isa_internal.h), switch their compiler to that target
** and include this file, which defines agi_gemm_impl_<isa>: C = op(A) @
** op(B) for f32 and f64 on one thread, for a part of the product
** (matmul_internal.h has the contract, matmul_kernel.c the split over
** threads and the choice of path; gemm_simd_internal.h the vectors).
**
** Three ways through a part of C, each keeping the order of the contract:
**
** Dot products (mm_dot): at most AGI_GEMM_DOT_ROWS rows, rows of A and
** columns of op(B) both contiguous (x @ W^T for a batch of one or a few:
** the transposing pack would cost several times the product). Each
** element is a dot product in AGI_GEMM_DOT_LANES partial sums
** (matmul_internal.h gives the order), whatever the vector width.
**
** Packed blocks (mm_packed; parts of at least MM_PACK_ROWS rows, depth
** MM_PACK_DEPTH and MM_PACK_FMAS multiply-adds: the large products),
** outer to inner:
**   k by PKC   depth blocks of at most PKC (balanced: 1000 is 4 x 250),
**   m by PCH   a chunk of rows of A (4 MB: L3) packed once: PMR rows at a
**              time, copied row by row at a constant row stride (PKC plus
**              a line, so the rows fall in different L1 sets and a tile's
**              rows are one pointer and constant offsets) or, for a
**              transposed A, as [PKC][PMR] panels (A is packed once per
**              depth block, B once per chunk: packing A again for each
**              block of B cost 11% at f64 1024),
**   n by PNC   columns of B whose [PKC, PNC] block (512 KB) is packed into
**              micro-panels [PKC][PNR] (zero-padded at the right edge),
**   m by PMC   rows of the chunk whose [PMC, PKC] block (384 KB) stays
**              in L2 with B's (1 MB on Zen 5),
**   n by PNR   one micro-panel of B (64 KB on AVX-512, 32 KB else), then
**   m by PMR   the micro-kernel: a [PMR, PNR] tile of C in registers runs
**              down the depth block, one broadcast of A and MM_PNV FMAs
**              per row and step: 6 x 64 floats or 6 x 32 doubles on
**              AVX-512 (24 accumulators, 10 loads per 24 FMAs: wider
**              tiles of fewer rows measured up to 10% faster than 12 x
**              32 here), 6 x 16 and 6 x 8 on AVX2 (12). Tiles at the
**              edges run whole through a buffer and copy their valid
**              part; the next tile's C is prefetched during each.
** Packing A takes the power-of-two row strides of square matrices out of
** the kernel's way (at 2048 they put every row of a tile in one L1 set).
**
** Panels (mm_panels; the rest, shallow or short parts such as the MLP's
** batch of 64), outer to inner:
**   k by KC    depth blocks of at most KC,
**   m by MC    rows of A whose [MC, KC] block stays in L2,
**   n by NR    one panel of B packed [KC][NR] into a stack buffer of 32
**              KB (L1), or read in place when at most MM_INPLACE_ROWS
**              rows use it (packing would cost more than it saves),
**   m by MR    the micro-kernel on A read in place through its strides.
** A transposed B is transposed while packing, by 16x16 (f32) or 8x8
** (f64) blocks in registers on AVX-512, 8x8 or 4x4 on AVX2. A part of
** few rows times a transposed B (x @ W^T for a batch of 32: packing W^T
** cost 40% of the product) runs as C^T = W @ x^T instead (MM_SWAP_OK):
** x^T is the panel packed, W is read in place, and each tile of C^T goes
** to C through the buffer, transposed (in registers on AVX-512).
**
** Every element of C is acc = fma(a_ip, b_pj, acc) over p in order from
** acc = 0 (or C), whatever the way, the blocking or the thread: storing
** acc to C between depth blocks and loading it back is exact.
*/
#ifndef GEMM_ISA
#error "define GEMM_ISA (gemm_isa_internal.h) before including gemm_body_internal.h"
#endif

#include "ag_core.h"
#include "gemm_isa_internal.h"
#include "gemm_simd_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------- parameters --- */

/*
** Per path: MM_MR rows of a panel tile (MM_ROWS lists 1..MM_MR); MM_PMR
** rows and MM_PNV vectors of a packed tile, whose micro-panel of B takes
** MM_PPANEL_BYTES; MM_ACC_* the largest tile; MM_DC columns of dot
** products at a time. What the registers hold: 32 on AVX-512, 16 on AVX2
** and SSE.
*/
#if GEMM_ISA == GEMM_ISA_AVX512
#define MM_MR 8
#define MM_ROWS(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)
#define MM_PMR 6
#define MM_PNV 4
#define MM_PPANEL_BYTES 65536
#define MM_ACC_ROWS 8
#define MM_ACC_NV 4
#define MM_DC 8
#elif GEMM_ISA == GEMM_ISA_AVX2
#define MM_MR 6
#define MM_ROWS(X) X(1) X(2) X(3) X(4) X(5) X(6)
#define MM_PMR 6
#define MM_PNV 2
#define MM_PPANEL_BYTES 32768
#define MM_ACC_ROWS 6
#define MM_ACC_NV 2
#define MM_DC 4
#else
#define MM_MR 4
#define MM_ROWS(X) X(1) X(2) X(3) X(4)
#define MM_PMR 4
#define MM_PNV 2
#define MM_PPANEL_BYTES 32768
#define MM_ACC_ROWS 4
#define MM_ACC_NV 2
#define MM_DC 4
#endif
#define MM_ALIGN 64             /* a cache line */

/* panels */
#define MM_NV 2                 /* vectors per row of a panel tile */
#define MM_NR(SUF) (MM_NV * MM_L_##SUF)
#define MM_PANEL_BYTES 32768    /* one packed panel of B: L1 */
#define MM_KC(T, SUF) (MM_PANEL_BYTES / (int)sizeof(T) / MM_NR(SUF))
#define MM_INPLACE_ROWS 128     /* at most this many rows read B in place */
#define MM_MC 256               /* rows of A per L2 block */

/* packed blocks: depth, A's row stride, rows of A, columns of B */
#define MM_PNR(SUF) (MM_PNV * MM_L_##SUF)
#define MM_ABLOCK_BYTES 393216  /* a block of A (L2) */
#define MM_BBLOCK_BYTES 524288  /* a block of B (L2 with A's) */
#define MM_PKC(T, SUF) (MM_PPANEL_BYTES / (int)sizeof(T) / MM_PNR(SUF) / 16 * 16)
#define MM_PAST(T, SUF) (MM_PKC(T, SUF) + MM_ALIGN / (int)sizeof(T))
#define MM_PMC(T, SUF) (MM_ABLOCK_BYTES / (int)sizeof(T) / MM_PKC(T, SUF) / MM_PMR * MM_PMR)
#define MM_PNC(T, SUF)                                                        \
    (MM_BBLOCK_BYTES / (int)sizeof(T) / MM_PKC(T, SUF) / MM_PNR(SUF) * MM_PNR(SUF))
#define MM_ACHUNK_BYTES 4194304 /* rows of A packed at once (L3) */
#define MM_PCH(T, SUF)                                                        \
    (MM_ACHUNK_BYTES / (int)sizeof(T) / MM_PAST(T, SUF) / MM_PMC(T, SUF) * MM_PMC(T, SUF))
#define MM_PACK_ROWS 96         /* packed blocks for parts this tall, */
#define MM_PACK_DEPTH 128       /* this deep (shallower: panels, 10% */
#define MM_PACK_FMAS (1 << 22)  /* faster at k = 64) and this big */

/* ------------------------------------------------------- micro-kernel --- */

/*
** c [rows, nv*L] (row stride ldc) = (load_c ? c : 0) + a [rows, kc] @
** pack [kc, nv*L] (row stride ldb), with op(A)(r,p) = a[r*a_rs + p*a_cs].
** rows and nv are constants in each instantiation, so the tile lives in
** registers.
*/
#define MM_KERNEL(T, SUF)                                                     \
    MM_INLINE void mm_kern_##SUF(const int rows, const int nv, int64_t kc,    \
                                 const T *a,                                  \
                                 int64_t a_rs, int64_t a_cs,                  \
                                 const T *restrict pack, int64_t ldb, T *c,   \
                                 int64_t ldc, int load_c)                     \
    {                                                                         \
        enum { L = MM_L_##SUF };                                              \
        mmv_##SUF acc[MM_ACC_ROWS][MM_ACC_NV];                                \
        MM_UNROLL_ALL                                                         \
        for (int r = 0; r < rows; r++)                                        \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < nv; v++)                                      \
                acc[r][v] = load_c ? mmv_load_##SUF(c + r * ldc + v * L)      \
                                   : mmv_zero_##SUF();                        \
        MM_UNROLL_K                                                           \
        for (int64_t p = 0; p < kc; p++) {                                    \
            mmv_##SUF bv[MM_ACC_NV];                                          \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < nv; v++)                                      \
                bv[v] = mmv_load_##SUF(pack + p * ldb + v * L);               \
            MM_UNROLL_ALL                                                     \
            for (int r = 0; r < rows; r++) {                                  \
                mmv_##SUF x = mmv_bcast_##SUF(a + r * a_rs + p * a_cs);       \
                MM_UNROLL_ALL                                                 \
                for (int v = 0; v < nv; v++)                                  \
                    acc[r][v] = mmv_fma_##SUF(x, bv[v], acc[r][v]);           \
            }                                                                 \
        }                                                                     \
        MM_UNROLL_ALL                                                         \
        for (int r = 0; r < rows; r++)                                        \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < nv; v++)                                      \
                mmv_store_##SUF(c + r * ldc + v * L, acc[r][v]);              \
    }

typedef void (*mm_kern_fn_f32)(int64_t, const float *, int64_t, const float *, int64_t,
                               float *, int64_t, int);
typedef void (*mm_kern_fn_f64)(int64_t, const double *, int64_t, const double *, int64_t,
                               double *, int64_t, int);

/* The instantiations: ROWS rows, A row-major (a_cs = 1: r) or transposed
   (a_rs = 1: t), the unit stride made a constant. */
#define MM_KERN_INST(T, SUF, NAME, ROWS)                                      \
    static void mm_kern_r##NAME##_##SUF(int64_t kc, const T *a, int64_t lda,  \
                                        const T *pack, int64_t ldb, T *c,     \
                                        int64_t ldc, int load_c)              \
    {                                                                         \
        mm_kern_##SUF(ROWS, MM_NV, kc, a, lda, 1, pack, ldb, c, ldc, load_c); \
    }                                                                         \
    static void mm_kern_t##NAME##_##SUF(int64_t kc, const T *a, int64_t lda,  \
                                        const T *pack, int64_t ldb, T *c,     \
                                        int64_t ldc, int load_c)              \
    {                                                                         \
        mm_kern_##SUF(ROWS, MM_NV, kc, a, 1, lda, pack, ldb, c, ldc, load_c); \
    }

#define MM_KERN_INST_F32(R) MM_KERN_INST(float, f32, R, R)
#define MM_KERN_INST_F64(R) MM_KERN_INST(double, f64, R, R)
#define MM_KERN_R_F32(R) mm_kern_r##R##_f32,
#define MM_KERN_T_F32(R) mm_kern_t##R##_f32,
#define MM_KERN_R_F64(R) mm_kern_r##R##_f64,
#define MM_KERN_T_F64(R) mm_kern_t##R##_f64,

MM_KERNEL(float, f32)
MM_KERNEL(double, f64)
MM_ROWS(MM_KERN_INST_F32)
MM_ROWS(MM_KERN_INST_F64)

/* The packed tiles: A a block of rows of stride MM_PAST (r) or [kc][PMR]
   panels (t), B [kc][NR]: every stride a constant, so that the tile's
   rows of A are one pointer and constant offsets. */
#define MM_PKERN_INST(T, SUF)                                                 \
    static void mm_pkern_r_##SUF(int64_t kc, const T *a, const T *pack, T *c, \
                                 int64_t ldc, int load_c)                     \
    {                                                                         \
        mm_kern_##SUF(MM_PMR, MM_PNV, kc, a, MM_PAST(T, SUF), 1, pack, MM_PNR(SUF), c, \
                      ldc, load_c);                                           \
    }                                                                         \
    static void mm_pkern_t_##SUF(int64_t kc, const T *a, const T *pack, T *c, \
                                 int64_t ldc, int load_c)                     \
    {                                                                         \
        mm_kern_##SUF(MM_PMR, MM_PNV, kc, a, 1, MM_PMR, pack, MM_PNR(SUF), c, ldc, \
                      load_c);                                                \
    }
MM_PKERN_INST(float, f32)
MM_PKERN_INST(double, f64)

/* [transposed A][rows - 1] */
static const mm_kern_fn_f32 mm_kerns_f32[2][MM_MR] = {{MM_ROWS(MM_KERN_R_F32)},
                                                      {MM_ROWS(MM_KERN_T_F32)}};
static const mm_kern_fn_f64 mm_kerns_f64[2][MM_MR] = {{MM_ROWS(MM_KERN_R_F64)},
                                                      {MM_ROWS(MM_KERN_T_F64)}};
/* [transposed A]: packed tiles */
typedef void (*mm_pkern_fn_f32)(int64_t, const float *, const float *, float *, int64_t, int);
typedef void (*mm_pkern_fn_f64)(int64_t, const double *, const double *, double *, int64_t,
                                int);
static const mm_pkern_fn_f32 mm_pkerns_f32[2] = {mm_pkern_r_f32, mm_pkern_t_f32};
static const mm_pkern_fn_f64 mm_pkerns_f64[2] = {mm_pkern_r_f64, mm_pkern_t_f64};

/* ------------------------------------------------------------ packing --- */

#if GEMM_ISA != GEMM_ISA_PORTABLE
/*
** Transposing pack into a panel NR wide (b_rs == 1: column j of op(B) is
** b + j*ldb), by square blocks of L x L transposed in registers; the
** columns past the last whole block and the last rows (p) one by one.
*/
#define MM_PACK_T(T, SUF)                                                     \
    static int mm_pack_t_##SUF(const T *b, int64_t ldb, int64_t kc,           \
                               int64_t nr, const int64_t NR, T *restrict pack) \
    {                                                                         \
        enum { L = MM_L_##SUF };                                              \
        const int64_t nb = nr / L * L;                                        \
        int64_t p = 0;                                                        \
        for (; p + L <= kc; p += L)                                           \
            for (int64_t j0 = 0; j0 < nb; j0 += L) {                          \
                mmv_##SUF r[L];                                               \
                MM_UNROLL_ALL                                                 \
                for (int j = 0; j < L; j++)                                   \
                    r[j] = mmv_load_##SUF(b + (j0 + j) * ldb + p);            \
                mm_tr_##SUF(r);                                               \
                MM_UNROLL_ALL                                                 \
                for (int q = 0; q < L; q++)                                   \
                    mmv_store_##SUF(pack + (p + q) * NR + j0, r[q]);          \
            }                                                                 \
        for (int64_t q = 0; q < kc; q++) {                                    \
            for (int64_t j = q < p ? nb : 0; j < nr; j++)                     \
                pack[q * NR + j] = b[j * ldb + q];                            \
            for (int64_t j = nr; j < NR; j++) pack[q * NR + j] = 0;           \
        }                                                                     \
        return 1;                                                             \
    }
MM_PACK_T(float, f32)
MM_PACK_T(double, f64)
#else
/* No fast transposing pack: the generic loop does it. */
#define MM_PACK_T(T, SUF)                                                     \
    static int mm_pack_t_##SUF(const T *b, int64_t ldb, int64_t kc,           \
                               int64_t nr, const int64_t NR, T *restrict pack) \
    {                                                                         \
        (void)b, (void)ldb, (void)kc, (void)nr, (void)NR, (void)pack;         \
        return 0;                                                             \
    }
MM_PACK_T(float, f32)
MM_PACK_T(double, f64)
#endif

/*
** pack [kc, NR] = op(B)[p, j] for p < kc, j < nr, zeros for nr <= j < NR
** (NR = nv vectors, a constant in each instantiation); op(B)(p,j) =
** b[p*b_rs + j*b_cs] with b_cs == 1 (row-major) or b_rs == 1
** (transposed: columns of op(B) are contiguous). mm_pack_ fills a
** panel's, mm_ppack_ a packed block's micro-panel.
*/
#define MM_PACK(T, SUF)                                                       \
    MM_INLINE void mm_packv_##SUF(const int nv, const T *b, int64_t b_rs,     \
                                  int64_t b_cs, int64_t kc, int64_t nr,       \
                                  T *restrict pack)                           \
    {                                                                         \
        enum { L = MM_L_##SUF };                                              \
        const int64_t NR = nv * L;                                            \
        if (b_cs == 1 && nr == NR) {                                          \
            for (int64_t p = 0; p < kc; p++)                                  \
                MM_UNROLL_ALL                                                 \
                for (int v = 0; v < nv; v++)                                  \
                    mmv_store_##SUF(pack + p * NR + v * L,                    \
                                    mmv_load_##SUF(b + p * b_rs + v * L));    \
            return;                                                           \
        }                                                                     \
        if (b_cs != 1 && mm_pack_t_##SUF(b, b_cs, kc, nr, NR, pack)) return;  \
        for (int64_t p = 0; p < kc; p++) {                                    \
            for (int64_t j = 0; j < nr; j++)                                  \
                pack[p * NR + j] = b[p * b_rs + j * b_cs];                    \
            for (int64_t j = nr; j < NR; j++) pack[p * NR + j] = 0;           \
        }                                                                     \
    }
MM_PACK(float, f32)
MM_PACK(double, f64)

#define MM_PACK_NV(T, SUF)                                                    \
    static void mm_pack_##SUF(const T *b, int64_t b_rs, int64_t b_cs,         \
                              int64_t kc, int64_t nr, T *restrict pack)       \
    {                                                                         \
        mm_packv_##SUF(MM_NV, b, b_rs, b_cs, kc, nr, pack);                   \
    }                                                                         \
    static void mm_ppack_##SUF(const T *b, int64_t b_rs, int64_t b_cs,        \
                               int64_t kc, int64_t nr, T *restrict pack)      \
    {                                                                         \
        mm_packv_##SUF(MM_PNV, b, b_rs, b_cs, kc, nr, pack);                  \
    }
MM_PACK_NV(float, f32)
MM_PACK_NV(double, f64)

/* ------------------------------------------------------ dot products --- */

/* MM_DW lanes per element; MM_DC columns at a time (what registers hold) */
enum { MM_DW = AGI_GEMM_DOT_LANES };

#if GEMM_ISA != GEMM_ISA_PORTABLE
#define MM_FMA1_f32(x, y, z) fmaf(x, y, z)
#define MM_FMA1_f64(x, y, z) fma(x, y, z)
#else
#define MM_FMA1_f32(x, y, z) ((x) * (y) + (z))
#define MM_FMA1_f64(x, y, z) ((x) * (y) + (z))
#endif

/*
** s [cols][MM_DW] = the partial sums of a [k] . b [k] for cols <= MM_DC
** columns of op(B) (column c at b + c*ldb): lane l sums the p = l (mod
** MM_DW) terms in order, the whole blocks of MM_DW in vectors, the tail
** one by one.
*/
#define MM_DOT_COLS(T, SUF)                                                   \
    MM_INLINE void mm_dot_cols_##SUF(const int cols, int64_t k, const T *a,   \
                                     const T *b, int64_t ldb, T *s)           \
    {                                                                         \
        enum { L = MM_L_##SUF, DV = MM_DW / MM_L_##SUF };                     \
        mmv_##SUF acc[MM_DC][DV];                                             \
        MM_UNROLL_ALL                                                         \
        for (int c = 0; c < cols; c++)                                        \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < DV; v++) acc[c][v] = mmv_zero_##SUF();        \
        int64_t p = 0;                                                        \
        for (; p + MM_DW <= k; p += MM_DW) {                                  \
            mmv_##SUF x[DV];                                                  \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < DV; v++) x[v] = mmv_load_##SUF(a + p + v * L); \
            MM_UNROLL_ALL                                                     \
            for (int c = 0; c < cols; c++)                                    \
                MM_UNROLL_ALL                                                 \
                for (int v = 0; v < DV; v++)                                  \
                    acc[c][v] = mmv_fma_##SUF(                                \
                        x[v], mmv_load_##SUF(b + c * ldb + p + v * L), acc[c][v]); \
        }                                                                     \
        MM_UNROLL_ALL                                                         \
        for (int c = 0; c < cols; c++)                                        \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < DV; v++) mmv_store_##SUF(s + c * MM_DW + v * L, acc[c][v]); \
        for (; p < k; p++)                                                    \
            for (int c = 0; c < cols; c++) {                                  \
                T *sl = s + c * MM_DW + p % MM_DW;                            \
                *sl = MM_FMA1_##SUF(a[p], b[c * ldb + p], *sl);               \
            }                                                                 \
    }

/*
** The part w of g by dot products (g->k > 0, a_cs == 1, b_rs == 1): the
** lanes of each element summed pairwise (l += l + 8, + 4, + 2, + 1), then
** C = that sum, or C + it.
*/
#define MM_DOT(T, SUF)                                                        \
    static void mm_dot_##SUF(const agi_gemm *g, const agi_gemm_part *w)       \
    {                                                                         \
        _Alignas(MM_ALIGN) T s[MM_DC * MM_DW];                                \
        for (int64_t q = w->q0; q < w->q1; q++) {                             \
            const T *a = (const T *)g->a + q * g->a_bs;                       \
            const T *b = (const T *)g->b + q * g->b_bs;                       \
            T *c = (T *)g->c + q * g->c_bs;                                   \
            const int fresh = !g->accumulate && (q == 0 || g->c_bs != 0);     \
            for (int64_t i = w->i0; i < w->i1; i++)                           \
                for (int64_t j = w->j0; j < w->j1; j += MM_DC) {              \
                    const int cols = w->j1 - j < MM_DC ? (int)(w->j1 - j) : MM_DC; \
                    const T *bj = b + j * g->b_cs;                            \
                    if (cols == MM_DC)                                        \
                        mm_dot_cols_##SUF(MM_DC, g->k, a + i * g->a_rs, bj, g->b_cs, s); \
                    else                                                      \
                        for (int e = 0; e < cols; e++)                        \
                            mm_dot_cols_##SUF(1, g->k, a + i * g->a_rs,       \
                                              bj + e * g->b_cs, 0, s + e * MM_DW); \
                    for (int e = 0; e < cols; e++) {                          \
                        T *se = s + e * MM_DW, *ce = c + i * g->ldc + j + e;  \
                        for (int h = MM_DW / 2; h > 0; h /= 2)                \
                            for (int l = 0; l < h; l++) se[l] = se[l] + se[l + h]; \
                        *ce = fresh ? se[0] : *ce + se[0];                    \
                    }                                                         \
                }                                                             \
        }                                                                     \
    }
MM_DOT_COLS(float, f32)
MM_DOT_COLS(double, f64)
MM_DOT(float, f32)
MM_DOT(double, f64)

/* ------------------------------------------------------------- panels --- */

/*
** C' [mr, nr] <-> buf [mr][NR] for a transposed C (ct): C'(r,j) =
** c[j*ldc + r], the columns of C' contiguous runs of C's rows. On
** AVX-512 (MM_MR <= L) by L x L blocks transposed in registers, C's runs
** loaded and stored under a mask of mr lanes; else one by one.
*/
#if GEMM_ISA == GEMM_ISA_AVX512
#define MM_CT(T, SUF, PS)                                                     \
    static void mm_ct_load_##SUF(T *restrict buf, const T *c, int64_t ldc,    \
                                 int mr, int64_t nr)                          \
    {                                                                         \
        enum { L = MM_L_##SUF, NR = MM_NR(SUF) };                             \
        const __mmask16 m = (__mmask16)((1u << mr) - 1);                      \
        for (int64_t j0 = 0; j0 < nr; j0 += L) {                              \
            mmv_##SUF r[L];                                                   \
            for (int j = 0; j < L; j++)                                       \
                r[j] = j0 + j < nr ? _mm512_maskz_loadu_##PS(m, c + (j0 + j) * ldc) \
                                   : mmv_zero_##SUF();                        \
            mm_tr_##SUF(r);                                                   \
            for (int q = 0; q < MM_MR; q++) mmv_store_##SUF(buf + q * NR + j0, r[q]); \
        }                                                                     \
    }                                                                         \
    static void mm_ct_store_##SUF(T *restrict c, int64_t ldc, const T *buf,   \
                                  int mr, int64_t nr)                         \
    {                                                                         \
        enum { L = MM_L_##SUF, NR = MM_NR(SUF) };                             \
        const __mmask16 m = (__mmask16)((1u << mr) - 1);                      \
        for (int64_t j0 = 0; j0 < nr; j0 += L) {                              \
            mmv_##SUF r[L];                                                   \
            MM_UNROLL_ALL                                                     \
            for (int q = 0; q < L; q++)                                       \
                r[q] = q < MM_MR ? mmv_load_##SUF(buf + q * NR + j0) : mmv_zero_##SUF(); \
            mm_tr_##SUF(r);                                                   \
            const int jn = nr - j0 < L ? (int)(nr - j0) : L;                  \
            for (int j = 0; j < jn; j++)                                      \
                _mm512_mask_storeu_##PS(c + (j0 + j) * ldc, m, r[j]);         \
        }                                                                     \
    }
#else
#define MM_CT(T, SUF, PS)                                                     \
    static void mm_ct_load_##SUF(T *restrict buf, const T *c, int64_t ldc,    \
                                 int mr, int64_t nr)                          \
    {                                                                         \
        for (int64_t j = 0; j < nr; j++)                                      \
            for (int r = 0; r < mr; r++) buf[r * MM_NR(SUF) + j] = c[j * ldc + r]; \
    }                                                                         \
    static void mm_ct_store_##SUF(T *restrict c, int64_t ldc, const T *buf,   \
                                  int mr, int64_t nr)                         \
    {                                                                         \
        for (int64_t j = 0; j < nr; j++)                                      \
            for (int r = 0; r < mr; r++) c[j * ldc + r] = buf[r * MM_NR(SUF) + j]; \
    }
#endif

/*
** C block of one product (rows i0.., cols jr.., nr <= NR wide) from one
** packed panel: whole tiles, a shorter tile at the bottom, and a narrow
** panel through a buffer. With ct the block is of C' = C^T (C'(r,j) at
** c[j*ldc + r]), every tile through the buffer.
*/
#define MM_PANEL(T, SUF)                                                      \
    static void mm_panel_##SUF(const T *a, int64_t a_rs, int64_t a_cs,        \
                               int64_t rows, int64_t kc, const T *pack,       \
                               int64_t ldb, T *c, int64_t ldc, int64_t nr,    \
                               int load_c, int ct)                            \
    {                                                                         \
        enum { NR = MM_NR(SUF) };                                             \
        const int ta = a_rs == 1 && a_cs != 1;                                \
        const int64_t lda = ta ? a_cs : a_rs;                                 \
        _Alignas(MM_ALIGN) T buf[MM_MR * NR];                                 \
        for (int64_t i = 0; i < rows; i += MM_MR) {                           \
            int mr = rows - i < MM_MR ? (int)(rows - i) : MM_MR;              \
            const T *ai = a + i * a_rs;                                       \
            T *ci = c + (ct ? i : i * ldc);                                   \
            mm_kern_fn_##SUF kern = mm_kerns_##SUF[ta][mr - 1];               \
            if (nr == NR && !ct) {                                            \
                kern(kc, ai, lda, pack, ldb, ci, ldc, load_c);                \
                continue;                                                     \
            }                                                                 \
            if (load_c && ct)                                                 \
                mm_ct_load_##SUF(buf, ci, ldc, mr, nr);                       \
            else if (load_c)                                                  \
                for (int r = 0; r < mr; r++)                                  \
                    memcpy(buf + r * NR, ci + r * ldc, (size_t)nr * sizeof(T)); \
            kern(kc, ai, lda, pack, ldb, buf, NR, load_c);                    \
            if (ct)                                                           \
                mm_ct_store_##SUF(ci, ldc, buf, mr, nr);                      \
            else                                                              \
                for (int r = 0; r < mr; r++)                                  \
                    memcpy(ci + r * ldc, buf + r * NR, (size_t)nr * sizeof(T)); \
        }                                                                     \
    }

/* C block = 0 (an empty inner dimension). */
#define MM_ZERO(T, SUF)                                                       \
    static void mm_zero_##SUF(const agi_gemm *g, T *c, const agi_gemm_part *w) \
    {                                                                         \
        for (int64_t i = w->i0; i < w->i1; i++)                               \
            memset(c + i * g->ldc + w->j0, 0, (size_t)(w->j1 - w->j0) * sizeof(T)); \
    }

/* The part w of g by panels (see the top of the file); with ct, g's C is
   the transpose of the one at g->c (row stride g->ldc). */
#define MM_PANELS(T, SUF)                                                     \
    static void mm_panels_##SUF(const agi_gemm *g, const agi_gemm_part *w,    \
                                int ct)                                       \
    {                                                                         \
        enum { NR = MM_NR(SUF), KCMAX = MM_KC(T, SUF) };                      \
        _Alignas(MM_ALIGN) T pack[KCMAX * NR];                                \
        const int64_t nkb = (g->k + KCMAX - 1) / KCMAX;                       \
        const int64_t kcb = nkb ? (g->k + nkb - 1) / nkb : 0;                 \
        for (int64_t q = w->q0; q < w->q1; q++) {                             \
            const T *a = (const T *)g->a + q * g->a_bs;                       \
            const T *b = (const T *)g->b + q * g->b_bs;                       \
            T *c = (T *)g->c + q * g->c_bs;                                   \
            const int fresh = !g->accumulate && (q == 0 || g->c_bs != 0);     \
            if (g->k == 0 && fresh) mm_zero_##SUF(g, c, w);                   \
            for (int64_t p0 = 0; p0 < g->k; p0 += kcb) {                      \
                int64_t kc = g->k - p0 < kcb ? g->k - p0 : kcb;               \
                int load_c = !(fresh && p0 == 0);                             \
                for (int64_t i0 = w->i0; i0 < w->i1; i0 += MM_MC) {           \
                    int64_t rows = w->i1 - i0 < MM_MC ? w->i1 - i0 : MM_MC;   \
                    const T *ab = a + i0 * g->a_rs + p0 * g->a_cs;            \
                    for (int64_t j = w->j0; j < w->j1; j += NR) {             \
                        int64_t nr = w->j1 - j < NR ? w->j1 - j : NR;         \
                        const T *bp = b + p0 * g->b_rs + j * g->b_cs;         \
                        int64_t ldb = g->b_rs;                                \
                        if (g->b_cs != 1 || nr < NR || rows > MM_INPLACE_ROWS) { \
                            mm_pack_##SUF(bp, g->b_rs, g->b_cs, kc, nr, pack); \
                            bp = pack, ldb = NR;                              \
                        }                                                     \
                        mm_panel_##SUF(ab, g->a_rs, g->a_cs, rows, kc, bp,    \
                                       ldb, c + (ct ? j * g->ldc + i0 : i0 * g->ldc + j), \
                                       g->ldc, nr, load_c, ct);               \
                    }                                                         \
                }                                                             \
            }                                                                 \
        }                                                                     \
    }
MM_CT(float, f32, ps)
MM_CT(double, f64, pd)
MM_PANEL(float, f32)
MM_PANEL(double, f64)
MM_ZERO(float, f32)
MM_ZERO(double, f64)
MM_PANELS(float, f32)
MM_PANELS(double, f64)

/* ----------------------------------------------------- packed blocks --- */

/*
** ap = the [rows, kc] block of op(A) at a (kc <= MM_PKC), in panels of
** MM_PMR rows (the last zero-padded): a row-major A (a_cs == 1) as rows
** of stride MM_PAST, panel i at ap + i*MM_PMR*MM_PAST; a transposed one
** (ta) as [kc][MM_PMR] panels, panel i at ap + i*MM_PMR*kc.
*/
#define MM_PACK_A(T, SUF)                                                     \
    static void mm_pack_a_##SUF(const T *a, int64_t a_rs, int64_t a_cs,       \
                                int ta, int64_t rows, int64_t kc,             \
                                T *restrict ap)                               \
    {                                                                         \
        enum { MR = MM_PMR };                                                 \
        const int64_t ast = MM_PAST(T, SUF);                                  \
        for (int64_t i = 0; i < rows; i += MR, ap += MR * (ta ? kc : ast)) {  \
            const int64_t mr = rows - i < MR ? rows - i : MR;                 \
            if (!ta) {                                                        \
                for (int64_t r = 0; r < MR; r++)                              \
                    if (r < mr)                                               \
                        memcpy(ap + r * ast, a + (i + r) * a_rs, (size_t)kc * sizeof(T)); \
                    else                                                      \
                        memset(ap + r * ast, 0, (size_t)kc * sizeof(T));      \
                continue;                                                     \
            }                                                                 \
            const T *ai = a + i;                                              \
            if (mr == MR)                                                     \
                for (int64_t p = 0; p < kc; p++)                              \
                    MM_UNROLL_ALL                                             \
                    for (int r = 0; r < MR; r++) ap[p * MR + r] = ai[p * a_cs + r]; \
            else                                                              \
                for (int64_t p = 0; p < kc; p++)                              \
                    for (int r = 0; r < MR; r++)                              \
                        ap[p * MR + r] = r < mr ? ai[p * a_cs + r] : 0;       \
        }                                                                     \
    }

/*
** C [rows, cols] (row stride ldc) = (load_c ? C : 0) + the packed A block
** ap (mm_pack_a) @ the packed B block bp ([kc][NR] micro-panels, panel j
** at bp + j*NR*kc): each micro-panel of B (L1) against every panel of A
** (L2); tiles at the edges through a buffer.
*/
#define MM_PBLOCK(T, SUF)                                                     \
    static void mm_pblock_##SUF(const T *ap, int ta, int64_t rows, int64_t kc, \
                                const T *bp, int64_t cols, T *c, int64_t ldc, \
                                int load_c)                                   \
    {                                                                         \
        enum { NR = MM_PNR(SUF), MR = MM_PMR };                               \
        const int64_t step = ta ? MR * kc : MR * MM_PAST(T, SUF);             \
        const mm_pkern_fn_##SUF kern = mm_pkerns_##SUF[ta];                   \
        _Alignas(MM_ALIGN) T buf[MR * NR];                                    \
        for (int64_t j = 0; j < cols; j += NR) {                              \
            const int64_t nr = cols - j < NR ? cols - j : NR;                 \
            const T *bj = bp + j * kc;                                        \
            for (int64_t i = 0; i < rows; i += MR) {                          \
                const int64_t mr = rows - i < MR ? rows - i : MR;             \
                const T *ai = ap + i / MR * step;                             \
                T *cij = c + i * ldc + j;                                     \
                /* the next tile's C, during this one */                      \
                for (int64_t r = i + MR; r < i + 2 * MR && r < rows; r++)     \
                    for (int64_t v = 0; v < nr; v += MM_ALIGN / (int64_t)sizeof(T)) \
                        __builtin_prefetch(c + r * ldc + j + v, 1);           \
                if (mr == MR && nr == NR) {                                   \
                    kern(kc, ai, bj, cij, ldc, load_c);                       \
                    continue;                                                 \
                }                                                             \
                if (load_c)                                                   \
                    for (int64_t r = 0; r < mr; r++)                          \
                        memcpy(buf + r * NR, cij + r * ldc, (size_t)nr * sizeof(T)); \
                kern(kc, ai, bj, buf, NR, load_c);                            \
                for (int64_t r = 0; r < mr; r++)                              \
                    memcpy(cij + r * ldc, buf + r * NR, (size_t)nr * sizeof(T)); \
            }                                                                 \
        }                                                                     \
    }

/* The packed blocks of one dtype: depth, rows of A per block, columns of
   B per block, rows of A packed at once (a whole number of blocks). */
typedef struct mm_blocks {
    int64_t kc, mc, nc, ch;
} mm_blocks;

static int64_t mm_round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* The blocks of a dtype whose tile is nr columns wide: the defaults d, or
   the test's (agi_gemm_set_blocking) rounded up to whole tiles and
   blocks, the depth at most the default (the row stride of packed A). */
static mm_blocks mm_blocks_of(mm_blocks d, int64_t nr)
{
    const agi_gemm_blocking *t = &agi_gemm_blocks;
    mm_blocks bl = {t->kc > 0 && t->kc < d.kc ? t->kc : d.kc,
                    t->mc > 0 ? mm_round_up(t->mc, MM_PMR) : d.mc,
                    t->nc > 0 ? mm_round_up(t->nc, nr) : d.nc, 0};
    bl.ch = mm_round_up(t->chunk > 0 ? t->chunk : d.ch, bl.mc);
    return bl;
}

/*
** The part w of g by packed blocks bl (see the top of the file), with the
** buffers ap (bl->ch rows of A, or the part's rows if fewer) and bp (a
** [bl->kc, bl->nc] block of B). C takes the depth blocks in order.
*/
#define MM_PACKED(T, SUF)                                                     \
    static void mm_packed_##SUF(const agi_gemm *g, const agi_gemm_part *w,    \
                                const mm_blocks *bl, T *restrict ap,          \
                                T *restrict bp)                               \
    {                                                                         \
        enum { NR = MM_PNR(SUF), MR = MM_PMR };                               \
        const int64_t nkb = (g->k + bl->kc - 1) / bl->kc;                     \
        const int64_t kcb = (g->k + nkb - 1) / nkb;                           \
        const int ta = g->a_rs == 1 && g->a_cs != 1;                          \
        for (int64_t q = w->q0; q < w->q1; q++) {                             \
            const T *a = (const T *)g->a + q * g->a_bs;                       \
            const T *b = (const T *)g->b + q * g->b_bs;                       \
            T *c = (T *)g->c + q * g->c_bs;                                   \
            const int fresh = !g->accumulate && (q == 0 || g->c_bs != 0);     \
            for (int64_t p0 = 0; p0 < g->k; p0 += kcb) {                      \
                const int64_t kc = g->k - p0 < kcb ? g->k - p0 : kcb;         \
                const int64_t step = MR * (ta ? kc : MM_PAST(T, SUF));        \
                for (int64_t i1 = w->i0; i1 < w->i1; i1 += bl->ch) {          \
                    const int64_t chunk = w->i1 - i1 < bl->ch ? w->i1 - i1 : bl->ch; \
                    mm_pack_a_##SUF(a + i1 * g->a_rs + p0 * g->a_cs, g->a_rs, g->a_cs, \
                                    ta, chunk, kc, ap);                       \
                    for (int64_t j0 = w->j0; j0 < w->j1; j0 += bl->nc) {      \
                        const int64_t cols = w->j1 - j0 < bl->nc ? w->j1 - j0 : bl->nc; \
                        for (int64_t j = 0; j < cols; j += NR)                \
                            mm_ppack_##SUF(b + p0 * g->b_rs + (j0 + j) * g->b_cs, \
                                           g->b_rs, g->b_cs, kc,              \
                                           cols - j < NR ? cols - j : NR, bp + j * kc); \
                        for (int64_t i0 = 0; i0 < chunk; i0 += bl->mc)        \
                            mm_pblock_##SUF(ap + i0 / MR * step, ta,          \
                                            chunk - i0 < bl->mc ? chunk - i0 : bl->mc, \
                                            kc, bp, cols, c + (i1 + i0) * g->ldc + j0, \
                                            g->ldc, !(fresh && p0 == 0));     \
                    }                                                         \
                }                                                             \
            }                                                                 \
        }                                                                     \
    }

MM_PACK_A(float, f32)
MM_PACK_A(double, f64)
MM_PBLOCK(float, f32)
MM_PBLOCK(double, f64)
MM_PACKED(float, f32)
MM_PACKED(double, f64)

/* ------------------------------------------------------------ regions --- */

/* g runs as dot products (see the top of the file). */
#define MM_DOT_OK(g)                                                          \
    ((g)->m <= AGI_GEMM_DOT_ROWS && (g)->k > 0 && (g)->a_cs == 1 && (g)->b_rs == 1)

/*
** A few rows times a transposed B (x @ W^T, W [n,k] stored row-major):
** packing x^T costs rows*k where packing W^T costs cols*k, so the part
** runs as C^T = W @ x^T (mm_swapped), its tiles stored transposed, when
** the rows nearly fill whole panels of NR (the rows of C^T are columns
** of its tiles: 24 rows did as well as before at k = 256, 32 took 25%
** less time, 40 took 30% more). fma(a, b, acc) = fma(b, a, acc): the
** same bits.
*/
#define MM_SWAP_OK(g, rows, cols, NR)                                         \
    ((g)->k >= MM_SWAP_DEPTH && (g)->b_rs == 1 && (g)->b_cs != 1 &&           \
     (rows) * 2 <= (cols) && 8 * mm_round_up(rows, NR) <= 7 * (rows) + 3 * (NR))
#define MM_SWAP_DEPTH 64

/* g with its operands swapped and transposed: C^T = op(B)^T @ op(A)^T. */
static agi_gemm mm_swapped(const agi_gemm *g)
{
    agi_gemm s = *g;
    s.m = g->n, s.n = g->m;
    s.a = g->b, s.a_rs = g->b_cs, s.a_cs = g->b_rs, s.a_bs = g->b_bs;
    s.b = g->a, s.b_rs = g->a_cs, s.b_cs = g->a_rs, s.b_bs = g->a_bs;
    return s;
}

static const agi_gemm_min mm_pack_min = {MM_PACK_ROWS, MM_PACK_DEPTH, MM_PACK_FMAS};

/*
** Runs the part w of g: dot products, packed blocks (in the thread's
** scratch buffer; when none can be had, panels: the same bits), or
** panels.
*/
#define MM_REGION(T, SUF)                                                     \
    static void mm_region_##SUF(const agi_gemm *g, const agi_gemm_part *w)    \
    {                                                                         \
        if (MM_DOT_OK(g)) {                                                   \
            mm_dot_##SUF(g, w);                                               \
            return;                                                           \
        }                                                                     \
        const int64_t rows = w->i1 - w->i0, cols = w->j1 - w->j0;             \
        if (g->k > 0 &&                                                       \
            agi_gemm_packs(&mm_pack_min, rows, g->k, agi_gemm_volume(rows, cols, g->k))) { \
            const mm_blocks def = {MM_PKC(T, SUF), MM_PMC(T, SUF), MM_PNC(T, SUF), \
                                   MM_PCH(T, SUF)};                           \
            const mm_blocks bl = mm_blocks_of(def, MM_PNR(SUF));              \
            const int64_t arows = mm_round_up(rows < bl.ch ? rows : bl.ch, MM_PMR); \
            const size_t na = (size_t)(arows * MM_PAST(T, SUF));              \
            const size_t nb = (size_t)mm_round_up(bl.kc * bl.nc, MM_ALIGN);   \
            T *buf = agi_gemm_scratch((na + nb) * sizeof(T));                 \
            if (buf) {                                                        \
                mm_packed_##SUF(g, w, &bl, buf, buf + na);                    \
                return;                                                       \
            }                                                                 \
        }                                                                     \
        if (MM_SWAP_OK(g, rows, cols, MM_NR(SUF))) {                                      \
            const agi_gemm s = mm_swapped(g);                                 \
            const agi_gemm_part sw = {w->q0, w->q1, w->j0, w->j1, w->i0, w->i1}; \
            mm_panels_##SUF(&s, &sw, 1);                                      \
            return;                                                           \
        }                                                                     \
        mm_panels_##SUF(g, w, 0);                                             \
    }
MM_REGION(float, f32)
MM_REGION(double, f64)

const agi_gemm_impl MM_IMPL = {
    MM_NAME, GEMM_ISA != GEMM_ISA_PORTABLE,
    {MM_MR, MM_NR(f32), MM_NR(f64)},
    {MM_PMR, MM_PNR(f32), MM_PNR(f64)},
    {MM_PACK_ROWS, MM_PACK_DEPTH, MM_PACK_FMAS},
    {MM_PKC(float, f32), MM_PKC(double, f64)},
    {MM_PMC(float, f32), MM_PMC(double, f64)},
    {MM_PNC(float, f32), MM_PNC(double, f64)},
    mm_region_f32, mm_region_f64,
};
