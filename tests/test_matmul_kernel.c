/*
** test_matmul_kernel.c: the GEMM kernel behind ag_matmul
** (matmul_internal.h) on every path this CPU runs (avx512, avx2,
** portable: agi_gemm_use). Every variant (op(A), op(B) plain or
** transposed), f32 and f64, at odd sizes around the tile and block edges
** of both ways through it (panels; packed blocks, made small with
** agi_gemm_set_blocking so that every edge of the tile, the depth block,
** the row block and the column block is crossed by small products, and
** once at their real sizes), batched, batch-summed, accumulating, empty:
** each element must equal, bit for bit, a naive loop that accumulates in
** the kernel's documented order (p = 0, 1, ..., one fused multiply-add
** each on the FMA paths, a multiply then an add on the portable one; for
** a few rows times a transposed B, dot products in 16 lanes summed
** pairwise), and be near the double-precision sum. The two FMA paths give
** the same bits. Then the same through the threads: 1, 2 and 3 threads
** give identical bits, through the kernel and through ag_matmul and its
** backward products.
*/
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "test_util.h"
#include "gemm_isa_internal.h"
#include "matmul_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------ helpers --- */

/* n values in [-1, 1) from a xorshift stream, stored as f32 or f64. */
static void *random_values(int dt, int64_t n, uint64_t seed)
{
    size_t size = dt == AG_F64 ? sizeof(double) : sizeof(float);
    void *v = malloc((size_t)(n > 0 ? n : 1) * size);
    ck_assert_ptr_nonnull(v);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double x = (double)(s >> 11) / 9007199254740992.0 * 2 - 1;
        if (dt == AG_F64)
            ((double *)v)[i] = x;
        else
            ((float *)v)[i] = (float)x;
    }
    return v;
}

static double value_at(int dt, const void *v, int64_t i)
{
    return dt == AG_F64 ? ((const double *)v)[i] : (double)((const float *)v)[i];
}

/* One problem: the geometry in g (pointers owned here), ta/tb for the
   storage of A ([k,m] when ta) and B ([n,k] when tb). */
typedef struct problem {
    agi_gemm g;
    int64_t c_numel;
} problem;

static problem make_problem(int dt, int64_t m, int64_t k, int64_t n, int ta, int tb,
                            int64_t batch, int summed, int64_t ldc)
{
    problem pr = {{.dtype = dt, .m = m, .n = n, .k = k, .a_rs = ta ? 1 : k,
                   .a_cs = ta ? m : 1, .b_rs = tb ? 1 : n, .b_cs = tb ? k : 1, .ldc = ldc,
                   .batch = batch, .a_bs = m * k, .b_bs = k * n,
                   .c_bs = summed ? 0 : m * ldc}, 0};
    pr.c_numel = (summed ? 1 : batch) * m * ldc;
    pr.g.a = random_values(dt, batch * m * k, 1 + (uint64_t)(m * 131 + k));
    pr.g.b = random_values(dt, batch * k * n, 2 + (uint64_t)(n * 71 + k));
    pr.g.c = random_values(dt, pr.c_numel, 3);      /* garbage the kernel must overwrite */
    return pr;
}

static void free_problem(problem *pr)
{
    free((void *)pr->g.a);
    free((void *)pr->g.b);
    free(pr->g.c);
}

/* The kernel's contract as a naive loop: ref = C computed element by
   element in the documented order, into ref (pr's C layout; ref starts as
   a copy of C so that accumulation and untouched padding are covered), on
   the path in use (fused or not; this file is compiled without
   contraction, so x * y + s is two roundings). */
#define REFERENCE(T, FMA)                                                     \
    static void reference_##T(const agi_gemm *g, T *ref)                      \
    {                                                                         \
        const T *a = g->a, *b = g->b;                                         \
        const int fused = agi_gemm_fuses();                                   \
        const int dot = g->m <= AGI_GEMM_DOT_ROWS && g->k > 0 && g->a_cs == 1 && \
                        g->b_rs == 1;                                         \
        for (int64_t q = 0; q < g->batch; q++)                                \
            for (int64_t i = 0; i < g->m; i++)                                \
                for (int64_t j = 0; j < g->n; j++) {                          \
                    T *c = ref + q * g->c_bs + i * g->ldc + j;                \
                    int fresh = !g->accumulate && (q == 0 || g->c_bs != 0);   \
                    T acc = fresh ? 0 : *c, lane[AGI_GEMM_DOT_LANES] = {0};   \
                    for (int64_t p = 0; p < g->k; p++) {                      \
                        T x = a[q * g->a_bs + i * g->a_rs + p * g->a_cs];     \
                        T y = b[q * g->b_bs + p * g->b_rs + j * g->b_cs];     \
                        T *s = dot ? &lane[p % AGI_GEMM_DOT_LANES] : &acc;    \
                        *s = fused ? FMA(x, y, *s) : x * y + *s;              \
                    }                                                         \
                    for (int h = AGI_GEMM_DOT_LANES / 2; dot && h > 0; h /= 2) \
                        for (int l = 0; l < h; l++) lane[l] = lane[l] + lane[l + h]; \
                    if (dot) acc = fresh ? lane[0] : acc + lane[0];           \
                    *c = acc;                                                 \
                }                                                             \
    }
REFERENCE(float, fmaf)
REFERENCE(double, fma)

/* Asserts g's C (already run) equals the reference bit for bit and is
   within rounding of the double-precision sum. c0 is C before the run. */
static void assert_matches_reference(const agi_gemm *g, const void *c0, int64_t c_numel,
                                     const char *what)
{
    size_t size = g->dtype == AG_F64 ? sizeof(double) : sizeof(float);
    void *ref = malloc((size_t)(c_numel > 0 ? c_numel : 1) * size);
    ck_assert_ptr_nonnull(ref);
    memcpy(ref, c0, (size_t)c_numel * size);
    if (g->dtype == AG_F64)
        reference_double(g, ref);
    else
        reference_float(g, ref);
    int64_t e = 0;          /* the first element that differs (one assert: they are slow) */
    while (e < c_numel && !memcmp((const char *)ref + e * (int64_t)size,
                                  (const char *)g->c + e * (int64_t)size, size))
        e++;
    ck_assert_msg(e == c_numel,
                  "%s %s m=%lld k=%lld n=%lld: element %lld is %.17g, the ordered loop gives "
                  "%.17g",
                  agi_gemm_isa(), what, (long long)g->m, (long long)g->k, (long long)g->n, (long long)e,
                  e < c_numel ? value_at(g->dtype, g->c, e) : 0,
                  e < c_numel ? value_at(g->dtype, ref, e) : 0);
    free(ref);
}

/* Asserts every C element of a fresh, non-batched g is near the exact
   sum (a check of the reference itself). */
static void assert_near_exact(const agi_gemm *g)
{
    double eps = g->dtype == AG_F64 ? 1e-15 : 1e-6;
    for (int64_t i = 0; i < g->m; i++)
        for (int64_t j = 0; j < g->n; j++) {
            double s = 0, mag = 0;
            for (int64_t p = 0; p < g->k; p++) {
                double t = value_at(g->dtype, g->a, i * g->a_rs + p * g->a_cs) *
                           value_at(g->dtype, g->b, p * g->b_rs + j * g->b_cs);
                s += t;
                mag += fabs(t);
            }
            double got = value_at(g->dtype, g->c, i * g->ldc + j);
            if (!(fabs(got - s) <= 4 * eps * (double)(g->k + 1) * mag + 1e-300))
                ck_abort_msg("[%lld,%lld]: %.17g, exact sum %.17g", (long long)i,
                             (long long)j, got, s);
        }
}

/* Runs g (serially or through the pool) and checks it against the
   reference. */
static void run_and_check(problem *pr, int parallel, const char *what)
{
    size_t size = pr->g.dtype == AG_F64 ? sizeof(double) : sizeof(float);
    void *c0 = malloc((size_t)(pr->c_numel > 0 ? pr->c_numel : 1) * size);
    ck_assert_ptr_nonnull(c0);
    memcpy(c0, pr->g.c, (size_t)pr->c_numel * size);
    if (parallel)
        agi_gemm_run(&pr->g);
    else
        agi_gemm_run_serial(&pr->g);
    assert_matches_reference(&pr->g, c0, pr->c_numel, what);
    free(c0);
}

/* ------------------------------------------------------------- paths --- */

/* Every path; a test runs on those this CPU has (agi_gemm_use). */
static const char *const paths[] = {"avx512", "avx2", "portable"};
#define NPATHS ((int)(sizeof paths / sizeof paths[0]))

/* The kernels of path isa (for their tile sizes). */
static const agi_gemm_impl *impl_named(const char *isa)
{
#if defined(AGI_GEMM_X86)
    if (!strcmp(isa, "avx512")) return &agi_gemm_impl_avx512;
    if (!strcmp(isa, "avx2")) return &agi_gemm_impl_avx2;
#endif
    return &agi_gemm_impl_portable;
}

/* Runs body once on each path this CPU has (the portable path at least),
   with PATH naming it; then back to the automatic choice. */
#define FOR_EACH_PATH(PATH, ...)                                             \
    do {                                                                      \
        int ran_ = 0;                                                         \
        for (int p_ = 0; p_ < NPATHS; p_++) {                                 \
            const char *PATH = paths[p_];                                     \
            if (!agi_gemm_use(PATH)) continue;                                \
            ck_assert_str_eq(agi_gemm_isa(), PATH);                           \
            ran_++;                                                           \
            __VA_ARGS__                                                       \
        }                                                                     \
        ck_assert_int_eq(agi_gemm_use(NULL), 1);                              \
        ck_assert_int_ge(ran_, 1);                                            \
    } while (0)

/* Small packed blocks for the path in use: depth 7, two tiles of rows,
   four packed at once, two f32 tiles of columns (four f64 tiles), every
   part packed. */
static void use_small_blocks(void)
{
    const agi_gemm_impl *im = impl_named(agi_gemm_isa());
    const agi_gemm_blocking small = {7, 2 * im->packed.rows, 2 * im->packed.cols_f32,
                                     4 * im->packed.rows, 1, 1, 1};
    agi_gemm_set_blocking(&small);
}

/* -------------------------------------------------------------- panels --- */

/* Sizes (m, k, n) around the panel tiles (4 to 8 rows, 4 to 32 columns),
   the depth blocks (a few hundred), B read in place (up to 128 rows) or
   packed, the row blocks (256), the dot products (up to 4 rows; k around
   the 16 lanes; columns in fours and a tail) and degenerate ones. */
static const int64_t sizes[][3] = {
    {1, 1, 1},    {1, 7, 1},     {3, 5, 2},    {8, 16, 32},   {9, 17, 33},
    {7, 31, 15},  {16, 64, 64},  {37, 53, 29}, {13, 300, 47}, {5, 521, 70},
    {64, 40, 100}, {33, 2, 129}, {150, 40, 70}, {300, 9, 40},
    {1, 200, 37}, {4, 97, 21},  {2, 16, 6},   {1, 784, 256}, {6, 10, 9},
};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

/* Runs and checks the sizes list[0..n) in every (ta, tb) for dtype dt,
   serially, C with padding on every third. */
static void check_sizes(int dt, const int64_t (*list)[3], int n, const char *how)
{
    for (int s = 0; s < n; s++)
        for (int v = 0; v < 4; v++) {
            int64_t m = list[s][0], k = list[s][1], nn = list[s][2];
            problem pr = make_problem(dt, m, k, nn, v >> 1, v & 1, 1, 0, nn + (s % 3 == 1 ? 3 : 0));
            char what[96];
            snprintf(what, sizeof what, "%s %s ta=%d tb=%d", how, dt == AG_F64 ? "f64" : "f32",
                     v >> 1, v & 1);
            run_and_check(&pr, 0, what);
            assert_near_exact(&pr.g);
            free_problem(&pr);
        }
}

START_TEST(test_gemm_all_variants_match_ordered_loop_f32)
{
    FOR_EACH_PATH(path, { (void)path; check_sizes(AG_F32, sizes, NSIZES, "panels"); });
}
END_TEST

START_TEST(test_gemm_all_variants_match_ordered_loop_f64)
{
    FOR_EACH_PATH(path, { (void)path; check_sizes(AG_F64, sizes, NSIZES, "panels"); });
}
END_TEST

/* ------------------------------------------------------ packed blocks --- */

/*
** Sizes around every edge of small packed blocks (use_small_blocks: depth
** KC = 7, R rows a tile, MC = 2R rows a block, 4R rows of A packed at
** once, C columns a tile, NC columns a block): below, at and past a tile,
** a block, a chunk and several, each dimension crossing its edges while
** the others vary.
*/
static void packed_sizes(int64_t r, int64_t c, int64_t nc, int64_t (*out)[3])
{
    const int64_t kc = 7, mc = 2 * r;
    const int64_t list[][3] = {
        {r, kc, c},          {r - 1, kc - 1, c - 1},  {r + 1, kc + 1, c + 1},
        {mc, 2 * kc, nc},    {mc + 1, 2 * kc + 1, nc + 1},
        {2 * mc + r + 1, 3 * kc + 2, 2 * nc + c + 3}, {mc - 1, 1, nc - 1},
        {1, 5 * kc, 2 * nc + 1}, {3, 2, 1},          {2 * mc + 1, 16, 5},
    };
    memcpy(out, list, sizeof list);
}
#define NPACKED 10

static void check_packed_edges(int dt)
{
    FOR_EACH_PATH(path, {
        const agi_gemm_impl *im = impl_named(path);
        int64_t list[NPACKED][3];
        packed_sizes(im->packed.rows, dt == AG_F64 ? im->packed.cols_f64 : im->packed.cols_f32,
                     2 * im->packed.cols_f32, list);
        use_small_blocks();
        check_sizes(dt, (const int64_t(*)[3])list, NPACKED, "packed");
        agi_gemm_set_blocking(NULL);
    });
}

START_TEST(test_gemm_packed_block_edges_match_ordered_loop_f32)
{
    check_packed_edges(AG_F32);
}
END_TEST

START_TEST(test_gemm_packed_block_edges_match_ordered_loop_f64)
{
    check_packed_edges(AG_F64);
}
END_TEST

/* The packed blocks at their real sizes, on the automatic path, A and B
   plain and both transposed: one row past a row block and one step past
   a depth block. */
START_TEST(test_gemm_packed_real_blocks_match_ordered_loop)
{
    const agi_gemm_impl *im = impl_named(agi_gemm_isa());
    for (int dt = AG_F32; dt <= AG_F64; dt++)
        for (int v = 0; v < 4; v += 3) {
            const agi_gemm_min *min = &im->pack_min;
            const int64_t m = (im->mc[dt] < min->rows ? min->rows : im->mc[dt]) + 1;
            const int64_t k = (im->kc[dt] < min->depth ? min->depth : im->kc[dt]) + 1;
            const int64_t n = min->fmas / (m * k) + 1;
            problem pr = make_problem(dt, m, k, n, v >> 1, v & 1, 1, 0, n);
            run_and_check(&pr, 0, "packed");
            free_problem(&pr);
        }
}
END_TEST

/* ------------------------------------------------------------- shapes --- */

/* A 2x3 @ 3x2 by hand, in every storage: [[1,2,3],[4,5,6]] @
   [[1,0],[0,1],[2,-1]] = [[7,-1],[16,-1]]. */
START_TEST(test_gemm_by_hand_every_storage)
{
    const double a[2][3] = {{1, 2, 3}, {4, 5, 6}}, b[3][2] = {{1, 0}, {0, 1}, {2, -1}};
    const double expect[4] = {7, -1, 16, -1};
    for (int v = 0; v < 4; v++) {
        int ta = v >> 1, tb = v & 1;
        double as[6], bs[6], c[4] = {9, 9, 9, 9};
        for (int i = 0; i < 2; i++)
            for (int p = 0; p < 3; p++) as[ta ? p * 2 + i : i * 3 + p] = a[i][p];
        for (int p = 0; p < 3; p++)
            for (int j = 0; j < 2; j++) bs[tb ? j * 3 + p : p * 2 + j] = b[p][j];
        agi_gemm g = {.dtype = AG_F64, .m = 2, .n = 2, .k = 3, .a = as, .a_rs = ta ? 1 : 3,
                      .a_cs = ta ? 2 : 1, .b = bs, .b_rs = tb ? 1 : 2, .b_cs = tb ? 3 : 1,
                      .c = c, .ldc = 2, .batch = 1};
        agi_gemm_run(&g);
        for (int e = 0; e < 4; e++) ck_assert_double_eq(c[e], expect[e]);
    }
}
END_TEST

/* A batch with its own C per product, a batch summed into one C, and
   C += (accumulate), for both dtypes and all variants, by panels and by
   (small) packed blocks. */
static void check_batches(void)
{
    for (int dt = AG_F32; dt <= AG_F64; dt++)
        for (int v = 0; v < 8; v++) {
            const int64_t m = v < 4 ? 11 : 3;       /* tiles, then dot products */
            problem pr = make_problem(dt, m, 23, 19, v >> 1 & 1, v & 1, 3, 0, 19);
            run_and_check(&pr, 1, "batched");
            free_problem(&pr);
            pr = make_problem(dt, m, 23, 19, v >> 1 & 1, v & 1, 3, 1, 21);
            run_and_check(&pr, 1, "batch-summed");
            free_problem(&pr);
            pr = make_problem(dt, m - 1, 300, 35, v >> 1 & 1, v & 1, 1, 0, 35);
            pr.g.accumulate = 1;
            run_and_check(&pr, 1, "accumulating");
            free_problem(&pr);
            pr = make_problem(dt, m + 20, 30, 35, v >> 1 & 1, v & 1, 2, 1, 37);
            pr.g.accumulate = 1;
            run_and_check(&pr, 1, "accumulating batch-summed");
            free_problem(&pr);
        }
}

START_TEST(test_gemm_batched_summed_and_accumulating)
{
    FOR_EACH_PATH(path, {
        (void)path;
        check_batches();
        use_small_blocks();
        check_batches();
        agi_gemm_set_blocking(NULL);
    });
}
END_TEST

/* k = 0 writes zeros (C = an empty sum), accumulating leaves C as it was,
   and m = 0 or n = 0 touches nothing. */
START_TEST(test_gemm_empty_dimensions)
{
    FOR_EACH_PATH(path, {
        (void)path;
        float c[12];
        for (int i = 0; i < 12; i++) c[i] = 5;
        agi_gemm g = {.dtype = AG_F32, .m = 3, .n = 4, .k = 0, .a = c, .a_rs = 0, .a_cs = 1,
                      .b = c, .b_rs = 4, .b_cs = 1, .c = c, .ldc = 4, .batch = 1,
                      .accumulate = 1};
        agi_gemm_run(&g);
        for (int i = 0; i < 12; i++) ck_assert_float_eq(c[i], 5);
        g.accumulate = 0;
        agi_gemm_run(&g);
        for (int i = 0; i < 12; i++) ck_assert_float_eq(c[i], 0);
        for (int i = 0; i < 12; i++) c[i] = 5;
        g.k = 2, g.m = 0;
        agi_gemm_run(&g);
        g.m = 3, g.n = 0;
        agi_gemm_run(&g);
        for (int i = 0; i < 12; i++) ck_assert_float_eq(c[i], 5);
    });
}
END_TEST

/* ------------------------------------------------------------- choice --- */

/*
** The path in use is named, fuses exactly when it is not the portable
** one, can be forced to any path the CPU has and back; a name that is no
** path changes nothing. Without AG_KERNEL, a CPU with AVX-512 runs the
** AVX-512 kernels whatever flags built the library (and with AVX2 and FMA,
** at least those).
*/
START_TEST(test_gemm_reports_and_chooses_its_path)
{
    const char *isa = agi_gemm_isa();
    ck_assert_msg(!strcmp(isa, "avx512") || !strcmp(isa, "avx2") || !strcmp(isa, "portable"),
                  "isa %s", isa);
    ck_assert_int_eq(agi_gemm_fuses(), strcmp(isa, "portable") != 0);
#if defined(AGI_GEMM_X86)
    __builtin_cpu_init();
    if (!getenv("AG_KERNEL") && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        ck_assert_str_eq(isa, "avx512");
    else if (!getenv("AG_KERNEL") && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma"))
        ck_assert_str_ne(isa, "portable");
#endif
    ck_assert_int_eq(agi_gemm_use("sse9"), 0);
    ck_assert_str_eq(agi_gemm_isa(), isa);
    ck_assert_int_eq(agi_gemm_use("portable"), 1);
    ck_assert_str_eq(agi_gemm_isa(), "portable");
    ck_assert_int_eq(agi_gemm_fuses(), 0);
    ck_assert_int_eq(agi_gemm_use(NULL), 1);
    ck_assert_str_eq(agi_gemm_isa(), isa);
}
END_TEST

/* C of g on path isa, into out (c_numel elements of g's dtype). */
static void run_on(const char *isa, problem *pr, void *out, size_t bytes)
{
    ck_assert_int_eq(agi_gemm_use(isa), 1);
    memset(pr->g.c, 0xff, bytes);
    agi_gemm_run(&pr->g);
    memcpy(out, pr->g.c, bytes);
    ck_assert_int_eq(agi_gemm_use(NULL), 1);
}

/* AVX-512 and AVX2 give the same bits (one fma per term, in the same
   order), by panels, by packed blocks and as dot products. */
START_TEST(test_gemm_fma_paths_give_identical_bits)
{
    if (!agi_gemm_use("avx512") || !agi_gemm_use("avx2")) {
        ck_assert_int_eq(agi_gemm_use(NULL), 1);
        return;                     /* this CPU has one FMA path at most */
    }
    const int64_t list[][3] = {{37, 53, 29}, {3, 700, 40}, {200, 300, 100}};
    for (int dt = AG_F32; dt <= AG_F64; dt++)
        for (int s = 0; s < 3; s++)
            for (int v = 0; v < 4; v++) {
                problem pr = make_problem(dt, list[s][0], list[s][1], list[s][2], v >> 1,
                                          v & 1, 1, 0, list[s][2]);
                size_t bytes =
                    (size_t)pr.c_numel * (dt == AG_F64 ? sizeof(double) : sizeof(float));
                void *x = malloc(bytes), *y = malloc(bytes);
                ck_assert_ptr_nonnull(x);
                ck_assert_ptr_nonnull(y);
                run_on("avx512", &pr, x, bytes);
                run_on("avx2", &pr, y, bytes);
                ck_assert_msg(memcmp(x, y, bytes) == 0, "avx512 and avx2 differ: %lld %lld %lld",
                              (long long)list[s][0], (long long)list[s][1],
                              (long long)list[s][2]);
                free(x);
                free(y);
                free_problem(&pr);
            }
}
END_TEST

/* ------------------------------------------------------------ threads --- */

/* Runs pr with 1, 2 and 3 threads (big enough to be split) and asserts
   identical bits, and the reference. */
static void check_thread_counts(int dt, int64_t m, int64_t k, int64_t n, int ta, int tb,
                                int64_t batch, int summed)
{
    problem pr = make_problem(dt, m, k, n, ta, tb, batch, summed, n);
    size_t bytes = (size_t)pr.c_numel * (dt == AG_F64 ? sizeof(double) : sizeof(float));
    void *first = malloc(bytes);
    ck_assert_ptr_nonnull(first);
    for (int threads = 1; threads <= 3; threads++) {
        ck_assert_int_eq(ag_set_num_threads(threads), AG_OK);
        memset(pr.g.c, 0xff, bytes);                /* NaNs: all must be written */
        agi_gemm_run(&pr.g);
        if (threads == 1)
            memcpy(first, pr.g.c, bytes);
        else
            ck_assert_msg(memcmp(first, pr.g.c, bytes) == 0,
                          "%d threads differ from 1 (ta=%d tb=%d m=%lld k=%lld n=%lld)",
                          threads, ta, tb, (long long)m, (long long)k, (long long)n);
    }
    memset(pr.g.c, 0xff, bytes);
    run_and_check(&pr, 1, "threads");
    free(first);
    free_problem(&pr);
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}

/* Splits of products (panels, dot products, batches), then of products
   cut into near-square blocks of small packed blocks. */
START_TEST(test_gemm_thread_counts_give_identical_bits)
{
    for (int dt = AG_F32; dt <= AG_F64; dt++)
        for (int v = 0; v < 4; v++) {
            check_thread_counts(dt, 70, 130, 61, v >> 1, v & 1, 1, 0);
            check_thread_counts(dt, 9, 1100, 67, v >> 1, v & 1, 1, 0);
            check_thread_counts(dt, 2, 1500, 300, v >> 1, v & 1, 1, 0);  /* dot products */
        }
    check_thread_counts(AG_F32, 30, 100, 50, 0, 1, 4, 0);
    check_thread_counts(AG_F64, 30, 100, 50, 1, 0, 4, 1);
    use_small_blocks();
    for (int dt = AG_F32; dt <= AG_F64; dt++)
        for (int v = 0; v < 4; v += 3) check_thread_counts(dt, 70, 130, 61, v >> 1, v & 1, 1, 0);
    check_thread_counts(AG_F32, 30, 100, 50, 0, 1, 4, 0);
    check_thread_counts(AG_F64, 30, 100, 50, 1, 0, 4, 1);
    agi_gemm_set_blocking(NULL);
}
END_TEST

/*
** A few rows times a transposed B (x @ W^T with W [n,k]: when the rows
** nearly fill panels of C^T, the kernel runs C^T = W @ x^T and stores its
** tiles transposed): rows filling one panel or two (f32 32 wide, f64 16)
** and short of it, n across the tile rows and the row block (256) of
** C^T, k from the least swapped (64) past a depth block (256), A
** row-major or transposed, C padded, fresh and accumulating, a summed
** batch; on every path and over threads.
*/
START_TEST(test_gemm_few_rows_times_transposed_b)
{
    static const int64_t few[][3] = {{14, 64, 30},  {28, 70, 300}, {31, 600, 70},
                                     {32, 256, 256}, {60, 130, 129}, {30, 65, 61}};
    FOR_EACH_PATH(path, {
        (void)path;
        for (int dt = AG_F32; dt <= AG_F64; dt++)
            for (int s = 0; s < (int)(sizeof few / sizeof few[0]); s++)
                for (int v = 0; v < 4; v++) {
                    const int64_t m = few[s][0], k = few[s][1], n = few[s][2];
                    problem pr = make_problem(dt, m, k, n, v & 1, 1, 1, 0, n + (v >> 1) * 5);
                    pr.g.accumulate = v >> 1;
                    run_and_check(&pr, 0, v >> 1 ? "few rows, C +=" : "few rows");
                    free_problem(&pr);
                }
        for (int dt = AG_F32; dt <= AG_F64; dt++) {
            problem pr = make_problem(dt, 30, 100, 70, 0, 1, 3, 1, 73);
            run_and_check(&pr, 0, "few rows, batch-summed");
            free_problem(&pr);
        }
    });
    for (int dt = AG_F32; dt <= AG_F64; dt++) {
        check_thread_counts(dt, 32, 256, 256, 0, 1, 1, 0);
        check_thread_counts(dt, 30, 300, 200, 1, 1, 1, 0);
    }
}
END_TEST

/* y = x @ w and its backward products (x^T-side and w^T-side kernels)
   through the public op, with 1 and 2 threads: identical bits. */
static void matmul_and_grads(ag_tensor *x, ag_tensor *w, ag_tensor *gy, double *out)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *y = ag_matmul(t, x, w), *grads[2], *in[2] = {x, w};
    ck_assert_int_eq(ag_grad(t, 1, &y, &gy, 2, in, grads, 0), AG_OK);
    ag_tensor *res[3] = {y, grads[0], grads[1]};
    int64_t o = 0;
    for (int r = 0; r < 3; r++)
        for (int64_t i = 0; i < ag_tensor_numel(res[r]); i++) out[o++] = ag_tensor_get(res[r], i);
    ag_tape_free(t);
}

START_TEST(test_matmul_op_and_backward_identical_over_threads)
{
    const int64_t b = 40, m = 90, k = 150, n = 70;
    for (int dt = AG_F32; dt <= AG_F64; dt++) {
        ag_rng *r = ag_rng_new(5);
        ag_tensor *x = ag_rand_uniform(NULL, r, dt, 3, SHAPE(b / 20, m, k), -1, 1);
        ag_tensor *w = ag_rand_uniform(NULL, r, dt, 2, SHAPE(k, n), -1, 1);
        ag_tensor *gy = ag_rand_uniform(NULL, r, dt, 3, SHAPE(b / 20, m, n), -1, 1);
        ag_rng_free(r);
        ag_set_requires_grad(x, 1);
        ag_set_requires_grad(w, 1);
        int64_t total = 2 * m * n + 2 * m * k + k * n;
        double *one = malloc((size_t)total * sizeof(double));
        double *two = malloc((size_t)total * sizeof(double));
        ck_assert_ptr_nonnull(one);
        ck_assert_ptr_nonnull(two);
        ck_assert_int_eq(ag_set_num_threads(1), AG_OK);
        matmul_and_grads(x, w, gy, one);
        ck_assert_int_eq(ag_set_num_threads(2), AG_OK);
        matmul_and_grads(x, w, gy, two);
        ck_assert_int_eq(memcmp(one, two, (size_t)total * sizeof(double)), 0);
        ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
        free(one);
        free(two);
        ag_tensor_free(x);
        ag_tensor_free(w);
        ag_tensor_free(gy);
    }
}
END_TEST

Suite *suite_matmul_kernel(void)
{
    Suite *s = suite_create("matmul_kernel");
    TU_ADD(s, test_gemm_all_variants_match_ordered_loop_f32);
    TU_ADD(s, test_gemm_all_variants_match_ordered_loop_f64);
    TU_ADD(s, test_gemm_packed_block_edges_match_ordered_loop_f32);
    TU_ADD(s, test_gemm_packed_block_edges_match_ordered_loop_f64);
    TU_ADD(s, test_gemm_packed_real_blocks_match_ordered_loop);
    TU_ADD(s, test_gemm_by_hand_every_storage);
    TU_ADD(s, test_gemm_batched_summed_and_accumulating);
    TU_ADD(s, test_gemm_empty_dimensions);
    TU_ADD(s, test_gemm_reports_and_chooses_its_path);
    TU_ADD(s, test_gemm_fma_paths_give_identical_bits);
    TU_ADD(s, test_gemm_thread_counts_give_identical_bits);
    TU_ADD(s, test_gemm_few_rows_times_transposed_b);
    TU_ADD(s, test_matmul_op_and_backward_identical_over_threads);
    return s;
}
