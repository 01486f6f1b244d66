/*
** test_isa.c: the one choice of instruction set (ops/isa_internal.h) and
** the kernels that have a version per ISA beside the GEMM and the vector
** math (tests/test_matmul_kernel.c, test_vmath.c): the byte lookup
** (ag_vlookup_u8_*, ag_vmath.h), the convolution's row kernels
** (conv_internal.h: im2col, col2im, fills) and the batches of a byte
** dataset. Each kernel runs on every path this CPU has (agi_isa_use) and
** is compared bit for bit with a naive loop written here.
**
** The choice: without AG_KERNEL, a CPU with AVX-512 runs the AVX-512
** kernels everywhere, whatever flags built the library (the default
** build has no -march=native); with it, the path it names.
*/
#include "test_util.h"
#include "conv_internal.h"
#include "isa_internal.h"

#include <stdint.h>
#include <stdlib.h>

/* Runs BODY once per path this CPU has, that path forced (ISA names it),
   then returns to the path chosen at start. */
#define EACH_PATH(ISA, ...)                                                   \
    do {                                                                      \
        int ran_ = 0;                                                         \
        for (int ISA = 0; ISA < AGI_ISA_COUNT; ISA++) {                       \
            if (!agi_isa_use(ISA)) continue;                                  \
            ck_assert_int_eq(agi_isa(), ISA);                                 \
            ran_++;                                                           \
            __VA_ARGS__                                                       \
        }                                                                     \
        ck_assert_int_eq(agi_isa_use(-1), 1);                                 \
        ck_assert_int_ge(ran_, 1);                                            \
    } while (0)

/* ------------------------------------------------------------ choice --- */

/* The best path this CPU runs, asked of CPUID here independently. */
static int cpu_best(void)
{
#if defined(AGI_ISA_X86)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512dq")) return 1;
    return 2;
#else
    return 0;
#endif
}

/* Every per-ISA family reports the path AG_KERNEL asked for, or the best
   the CPU has without it: AVX-512 on this project's machine. */
START_TEST(test_isa_every_family_runs_the_chosen_path)
{
    const char *env = getenv("AG_KERNEL");
    const int isa = agi_isa();
    ck_assert_int_eq(isa, agi_isa_choose(env));
    if (!env) ck_assert_int_eq(isa, cpu_best());
    const char *name = agi_isa_name(isa);
    ck_assert_str_eq(ag_matmul_path(), name);
    ck_assert_str_eq(ag_vmath_path(), name);
    ck_assert_str_eq(agi_conv_rows_now()->name, name);
#if defined(AGI_ISA_X86) && !defined(__AVX2__)
    /* a build without -march=native (the default) still runs AVX-512 here */
    if (!env && cpu_best() == AGI_ISA_AVX512) ck_assert_str_eq(ag_matmul_path(), "avx512");
#endif
}
END_TEST

/* AG_KERNEL's values: a path the CPU has is taken, a higher one caps at
   the best, anything else is ignored. */
START_TEST(test_isa_choose_reads_ag_kernel)
{
    const int best = cpu_best();
    ck_assert_int_eq(agi_isa_choose(NULL), best);
    ck_assert_int_eq(agi_isa_choose(""), best);
    ck_assert_int_eq(agi_isa_choose("sse9"), best);
    ck_assert_int_eq(agi_isa_choose("AVX2"), best);         /* names are lower case */
    ck_assert_int_eq(agi_isa_choose("portable"), AGI_ISA_PORTABLE);
    ck_assert_int_eq(agi_isa_choose("avx2"), best < AGI_ISA_AVX2 ? best : AGI_ISA_AVX2);
    ck_assert_int_eq(agi_isa_choose("avx512"), best);
    for (int i = 0; i < AGI_ISA_COUNT; i++) {
        ck_assert_int_eq(agi_isa_from_name(agi_isa_name(i)), i);
        ck_assert_int_eq(agi_isa_supported(i), i <= best);
    }
    ck_assert_ptr_null(agi_isa_name(-1));
    ck_assert_ptr_null(agi_isa_name(AGI_ISA_COUNT));
    ck_assert_int_eq(agi_isa_from_name(NULL), -1);
    ck_assert_int_eq(agi_isa_supported(-1), 0);
}
END_TEST

/* Forcing a path moves every family at once; one the CPU lacks changes
   nothing; -1 goes back. */
START_TEST(test_isa_use_forces_every_family)
{
    const int start = agi_isa();
    ck_assert_int_eq(agi_isa_use(AGI_ISA_COUNT), 0);
    ck_assert_int_eq(agi_isa(), start);
    ck_assert_int_eq(agi_isa_use(AGI_ISA_PORTABLE), 1);
    ck_assert_str_eq(ag_matmul_path(), "portable");
    ck_assert_str_eq(ag_vmath_path(), "portable");
    ck_assert_str_eq(agi_conv_rows_now()->name, "portable");
    if (cpu_best() < AGI_ISA_AVX512) ck_assert_int_eq(agi_isa_use(AGI_ISA_AVX512), 0);
    ck_assert_int_eq(agi_isa(), AGI_ISA_PORTABLE);
    ck_assert_int_eq(agi_isa_use(-1), 1);
    ck_assert_int_eq(agi_isa(), start);
}
END_TEST

/* ------------------------------------------------------------ lookup --- */

/* y[i] = table[x[i]] on every path, bit for bit the naive loop's: every
   byte value, lengths 0 to 70 (the vector tails) and one long run, at
   offsets 0 to 3; nothing written past n. */
START_TEST(test_lookup_u8_matches_the_naive_loop)
{
    enum { CAP = 600, GUARD = 8 };
    uint8_t x[CAP + 4];
    float t32[256], y32[CAP + GUARD], e32[CAP];
    double t64[256], y64[CAP + GUARD], e64[CAP];
    for (int i = 0; i < CAP + 4; i++) x[i] = (uint8_t)(i * 167 + 13);   /* every value */
    for (int v = 0; v < 256; v++) {
        t64[v] = (v / 255.0 - 0.2860) / 0.3530;
        t32[v] = (float)t64[v];
    }
    t32[7] = -0.0f, t64[7] = -0.0;
    EACH_PATH(isa, {
        for (int off = 0; off < 4; off++)
            for (int n = 0; n <= CAP; n = n < 70 ? n + 1 : n + 253) {
                for (int i = 0; i < n; i++) e32[i] = t32[x[off + i]], e64[i] = t64[x[off + i]];
                for (int i = 0; i < CAP + GUARD; i++) y32[i] = 12345.0f, y64[i] = 12345.0;
                ag_vlookup_u8_f32(y32, x + off, n, t32);
                ag_vlookup_u8_f64(y64, x + off, n, t64);
                ck_assert_msg(!memcmp(y32, e32, sizeof(float) * (size_t)n),
                              "f32 path %s n %d offset %d", agi_isa_name(isa), n, off);
                ck_assert_msg(!memcmp(y64, e64, sizeof(double) * (size_t)n),
                              "f64 path %s n %d offset %d", agi_isa_name(isa), n, off);
                for (int i = n; i < n + GUARD; i++)
                    ck_assert(y32[i] == 12345.0f && y64[i] == 12345.0);
            }
        y32[0] = 5.0f, y64[0] = 5.0;
        ag_vlookup_u8_f32(y32, x, -3, t32);                 /* n <= 0: nothing */
        ag_vlookup_u8_f64(y64, x, -3, t64);
        ck_assert(y32[0] == 5.0f && y64[0] == 5.0);
    });
}
END_TEST

/* A dataset's batches are the same on every path: (byte / 255 - mean) /
   std in double, rounded to f32, for 13 features (a vector and a tail)
   and every byte value, rows in a shuffled order. */
START_TEST(test_dataset_batch_same_on_every_path)
{
    enum { N = 20, F = 13 };
    uint8_t bytes[N * F], labels[N];
    for (int i = 0; i < N * F; i++) bytes[i] = (uint8_t)(i * 89 + 5);
    for (int i = 0; i < N; i++) labels[i] = (uint8_t)(i % 3);
    ag_dataset *ds = ag_dataset_from_bytes(N, 1, SHAPE(F), bytes, labels, 3);
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq(ag_dataset_set_normalize(ds, 0.25, 0.375), AG_OK);
    const int64_t order[5] = {17, 3, 0, 19, 8};
    EACH_PATH(isa, {
        for (int dt = AG_F32; dt <= AG_F64; dt++) {
            int64_t lab[5];
            ag_tensor *b = ag_dataset_batch(NULL, ds, order, 0, 5, (ag_dtype)dt, lab);
            ck_assert_ptr_nonnull(b);
            for (int r = 0; r < 5; r++) {
                ck_assert_int_eq(lab[r], labels[order[r]]);
                for (int k = 0; k < F; k++) {
                    const double v = (bytes[order[r] * F + k] / 255.0 - 0.25) / 0.375;
                    const void *d = ag_tensor_data(b);
                    if (dt == AG_F32)
                        ck_assert_msg(((const float *)d)[r * F + k] == (float)v, "%s r %d k %d",
                                      agi_isa_name(isa), r, k);
                    else
                        ck_assert(((const double *)d)[r * F + k] == v);
                }
            }
            ag_tensor_free(b);
        }
    });
    ag_dataset_free(ds);
}
END_TEST

/* -------------------------------------------------------- conv rows --- */

/* A geometry of the row kernels: channels, big grid, kernel, stride,
   padding, dilation (the small grid follows). */
typedef struct geo {
    int64_t cg, hb[2], k[2], s[2], p[2], d[2];
} geo;

static agi_conv_dims dims_of(const geo *g, int dtype)
{
    agi_conv_dims cd = {.dtype = dtype, .n = 1, .cb = g->cg, .cs = 1};
    cd.g.nsp = 2, cd.g.groups = 1;
    for (int a = 0; a < 2; a++) {
        cd.g.k[a] = g->k[a], cd.g.s[a] = g->s[a], cd.g.p[a] = g->p[a], cd.g.d[a] = g->d[a];
        cd.hb[a] = g->hb[a];
        cd.hs[a] = (g->hb[a] + 2 * g->p[a] - g->d[a] * (g->k[a] - 1) - 1) / g->s[a] + 1;
    }
    return cd;
}

/* The naive im2col of x [cg, Hb, Wb] into col [cg*kH*kW, Hs*Ws], in T. */
#define NAIVE_PATCHES(T, SUF)                                                 \
    static void naive_im2col_##SUF(const agi_conv_dims *cd, const T *x, T *col) \
    {                                                                         \
        const int64_t hs = cd->hs[0], ws = cd->hs[1], hb = cd->hb[0], wb = cd->hb[1]; \
        int64_t row = 0;                                                      \
        for (int64_t c = 0; c < cd->cb; c++)                                  \
            for (int64_t i = 0; i < cd->g.k[0]; i++)                          \
                for (int64_t j = 0; j < cd->g.k[1]; j++, row++)               \
                    for (int64_t oh = 0; oh < hs; oh++)                       \
                        for (int64_t ow = 0; ow < ws; ow++) {                 \
                            const int64_t ih = oh * cd->g.s[0] - cd->g.p[0] + i * cd->g.d[0]; \
                            const int64_t iw = ow * cd->g.s[1] - cd->g.p[1] + j * cd->g.d[1]; \
                            const int in = ih >= 0 && ih < hb && iw >= 0 && iw < wb; \
                            col[row * hs * ws + oh * ws + ow] =               \
                                in ? x[(c * hb + ih) * wb + iw] : (T)0;       \
                        }                                                     \
    }                                                                         \
    /* y = bias[c] + the columns put back, taps added in row order */         \
    static void naive_col2im_##SUF(const agi_conv_dims *cd, const T *col, T *y, \
                                   const T *bias)                             \
    {                                                                         \
        const int64_t hs = cd->hs[0], ws = cd->hs[1], hb = cd->hb[0], wb = cd->hb[1]; \
        for (int64_t c = 0; c < cd->cb; c++)                                  \
            for (int64_t e = 0; e < hb * wb; e++) y[c * hb * wb + e] = bias ? bias[c] : 0; \
        int64_t row = 0;                                                      \
        for (int64_t c = 0; c < cd->cb; c++)                                  \
            for (int64_t i = 0; i < cd->g.k[0]; i++)                          \
                for (int64_t j = 0; j < cd->g.k[1]; j++, row++)               \
                    for (int64_t oh = 0; oh < hs; oh++)                       \
                        for (int64_t ow = 0; ow < ws; ow++) {                 \
                            const int64_t ih = oh * cd->g.s[0] - cd->g.p[0] + i * cd->g.d[0]; \
                            const int64_t iw = ow * cd->g.s[1] - cd->g.p[1] + j * cd->g.d[1]; \
                            if (ih >= 0 && ih < hb && iw >= 0 && iw < wb)    \
                                y[(c * hb + ih) * wb + iw] += col[row * hs * ws + oh * ws + ow]; \
                        }                                                     \
    }
NAIVE_PATCHES(float, f32)
NAIVE_PATCHES(double, f64)

/* Geometries around the vector widths (8 and 16 lanes), the common 3x3
   pad 1 case, strides, dilations, padding wider than the kernel's
   reach, a kernel wider than the col2im gather takes (17). */
static const geo GEOS[] = {
    {2, {5, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}},
    {1, {14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1}},
    {3, {6, 17}, {2, 5}, {1, 1}, {0, 2}, {1, 1}},
    {1, {9, 33}, {3, 3}, {2, 2}, {1, 1}, {1, 1}},
    {2, {7, 20}, {3, 3}, {1, 1}, {2, 3}, {2, 2}},
    {1, {4, 9}, {1, 1}, {1, 1}, {0, 0}, {1, 1}},
    {1, {3, 40}, {1, 17}, {1, 1}, {0, 8}, {1, 1}},
    {1, {5, 6}, {2, 2}, {1, 3}, {3, 3}, {1, 1}},
};

/* Random values in [-1, 1) at p (n of them, f32 or f64). */
static void fill_random(void *p, int64_t n, int dtype, unsigned seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        const double v = (double)(seed >> 8) / (double)(1u << 24) * 2 - 1;
        if (dtype == AG_F64)
            ((double *)p)[i] = v;
        else
            ((float *)p)[i] = (float)v;
    }
}

/* One geometry and dtype on the path in use: im2col (plain, and with
   whole-vector stores into a scratch with slack) and col2im (with and
   without a bias) equal the naive loops bit for bit. */
static void check_rows(const geo *g, int dtype, const char *path)
{
    const agi_conv_dims cd = dims_of(g, dtype);
    const agi_conv_rows *rows = agi_conv_rows_now();
    const size_t es = dtype == AG_F64 ? 8 : 4;
    const int64_t nx = g->cg * g->hb[0] * g->hb[1];
    const int64_t ncol = g->cg * g->k[0] * g->k[1] * cd.hs[0] * cd.hs[1];
    char *x = malloc((size_t)nx * es), *col = malloc((size_t)ncol * es + 64);
    char *want = malloc((size_t)(ncol > nx ? ncol : nx) * es), *y = malloc((size_t)nx * es);
    char bias[3 * 8];
    ck_assert(x && col && want && y);
    fill_random(x, nx, dtype, 7);
    fill_random(bias, g->cg, dtype, 9);
    for (int over = 0; over < 2; over++) {
        memset(col, 0x7f, (size_t)ncol * es + 64);
        rows->im2col(&cd, g->cg, x, col, over);
        if (dtype == AG_F64)
            naive_im2col_f64(&cd, (const double *)x, (double *)want);
        else
            naive_im2col_f32(&cd, (const float *)x, (float *)want);
        ck_assert_msg(!memcmp(col, want, (size_t)ncol * es), "im2col %s dtype %d over %d hb %lldx%lld",
                      path, dtype, over, (long long)g->hb[0], (long long)g->hb[1]);
    }
    fill_random(col, ncol, dtype, 11);
    for (int b = 0; b < 2; b++) {
        rows->col2im_set(&cd, g->cg, col, y, b ? bias : NULL);
        if (dtype == AG_F64)
            naive_col2im_f64(&cd, (const double *)col, (double *)want, b ? (double *)bias : NULL);
        else
            naive_col2im_f32(&cd, (const float *)col, (float *)want, b ? (float *)bias : NULL);
        ck_assert_msg(!memcmp(y, want, (size_t)nx * es), "col2im %s dtype %d bias %d hb %lldx%lld",
                      path, dtype, b, (long long)g->hb[0], (long long)g->hb[1]);
    }
    free(x), free(col), free(want), free(y);
}

START_TEST(test_conv_rows_match_naive_loops_on_every_path)
{
    EACH_PATH(isa, {
        for (size_t i = 0; i < sizeof GEOS / sizeof GEOS[0]; i++) {
            check_rows(&GEOS[i], AG_F32, agi_isa_name(isa));
            check_rows(&GEOS[i], AG_F64, agi_isa_name(isa));
        }
    });
}
END_TEST

/* The fills and the chunk sum: rows of a value, ones, and chunks added in
   order (f32: the order shows in the bits), tails of every length. */
START_TEST(test_conv_fills_and_chunk_sums_on_every_path)
{
    EACH_PATH(isa, {
        const agi_conv_rows *rows = agi_conv_rows_now();
        for (int64_t n = 1; n <= 37; n += 3) {
            float v[3] = {1.5f, -2.0f, 0.25f}, y[3 * 37 + 1], part[4 * 37], w[37 + 1];
            y[3 * n] = w[n] = 99.0f;
            rows->fill_rows(AG_F32, y, 3, n, v);
            for (int64_t e = 0; e < 3 * n; e++) ck_assert(y[e] == v[e / n]);
            rows->fill_rows(AG_F32, y, 3, n, NULL);
            for (int64_t e = 0; e < 3 * n; e++) ck_assert(y[e] == 0.0f);
            rows->fill_ones(AG_F32, y, n);
            for (int64_t e = 0; e < n; e++) ck_assert(y[e] == 1.0f);
            fill_random(part, 4 * n, AG_F32, (unsigned)n);
            rows->sum_chunks(AG_F32, w, part, 4, n);
            for (int64_t e = 0; e < n; e++) {
                float s = part[e];
                for (int c = 1; c < 4; c++) s += part[c * n + e];
                ck_assert_msg(w[e] == s, "%s n %lld e %lld", agi_isa_name(isa), (long long)n,
                              (long long)e);
            }
            ck_assert(y[3 * n] == 99.0f && w[n] == 99.0f);
            double d[37];
            rows->fill_rows(AG_F64, d, 1, n, (const double[]){-3.0});
            for (int64_t e = 0; e < n; e++) ck_assert(d[e] == -3.0);
        }
    });
}
END_TEST

Suite *suite_isa(void)
{
    Suite *s = suite_create("isa");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_isa_every_family_runs_the_chosen_path);
    tcase_add_test(tc, test_isa_choose_reads_ag_kernel);
    tcase_add_test(tc, test_isa_use_forces_every_family);
    tcase_add_test(tc, test_lookup_u8_matches_the_naive_loop);
    tcase_add_test(tc, test_dataset_batch_same_on_every_path);
    tcase_add_test(tc, test_conv_rows_match_naive_loops_on_every_path);
    tcase_add_test(tc, test_conv_fills_and_chunk_sums_on_every_path);
    suite_add_tcase(s, tc);
    return s;
}
