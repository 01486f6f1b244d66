/*
** matmul_kernel.c: the GEMM driver behind matmul_internal.h. It runs the
** kernels of the instruction set chosen once per process (isa.c: CPUID,
** AG_KERNEL), and splits a product over the thread pool. The kernels are in
** gemm_avx512.c, gemm_avx2.c and gemm_portable.c (one template,
** gemm_body_internal.h, which describes their blocking); the op, its
** shapes and its backward are in matmul.c.
**
** Paths. Every build holds the three: AVX-512 and AVX2 are compiled for
** their targets whatever the build's flags, so the default (portable)
** build, or a distribution's, runs the fastest kernels the CPU has.
** AVX-512 and AVX2 keep the same order with one fma per term, so they
** give the same bits; the portable path multiplies then adds (each
** rounded) and gives its own (matmul_internal.h).
**
** Measured (one core of a shared 2-core AMD EPYC Zen 5, gcc 12 -O2,
** `make bench-matmul`): see bench/bench_shapes.h for the shapes and the
** README for the latest table.
*/
#include "ag_internal.h"
#include "gemm_isa_internal.h"
#include "isa_internal.h"
#include "threads_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- choice --- */

/* The path of each instruction set (isa_internal.h: one choice for every
   per-ISA kernel). */
static const agi_gemm_impl *mm_impl(void)
{
#if defined(AGI_GEMM_X86)
    static const agi_gemm_impl *const paths[AGI_ISA_COUNT] = {
        &agi_gemm_impl_portable, &agi_gemm_impl_avx2, &agi_gemm_impl_avx512};
    return paths[agi_isa()];
#else
    return &agi_gemm_impl_portable;
#endif
}

const char *agi_gemm_isa(void) { return mm_impl()->name; }

const char *ag_matmul_path(void) { return agi_gemm_isa(); }

int agi_gemm_fuses(void) { return mm_impl()->fuses; }

int agi_gemm_use(const char *isa)
{
    if (!isa) return agi_isa_use(-1);
    const int i = agi_isa_from_name(isa);
    return i >= 0 && agi_isa_use(i);
}

agi_gemm_blocking agi_gemm_blocks;

void agi_gemm_set_blocking(const agi_gemm_blocking *b)
{
    agi_gemm_blocks = b ? *b : (agi_gemm_blocking){0, 0, 0, 0, 0, 0, 0};
}

/* ------------------------------------------------------------ scratch --- */

/* One thread's scratch buffer (agi_gemm_scratch). */
typedef struct mm_scratch {
    size_t bytes;
    void *data;
} mm_scratch;

static pthread_once_t mm_scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t mm_scratch_key;
static int mm_scratch_ready;

static void mm_scratch_free(void *p)
{
    mm_scratch *s = p;
    free(s->data);
    free(s);
}

static void mm_scratch_init(void)
{
    mm_scratch_ready = pthread_key_create(&mm_scratch_key, mm_scratch_free) == 0;
}

void *agi_gemm_scratch(size_t bytes)
{
    pthread_once(&mm_scratch_once, mm_scratch_init);
    if (!mm_scratch_ready) return NULL;
    mm_scratch *s = pthread_getspecific(mm_scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        if (pthread_setspecific(mm_scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->bytes < bytes) {
        const size_t size = (bytes + 63) / 64 * 64;     /* aligned_alloc's rule */
        void *data = aligned_alloc(64, size);
        if (!data) return NULL;
        free(s->data);
        s->data = data, s->bytes = size;
    }
    return s->data;
}

/* ------------------------------------------------------------- splits --- */

static void mm_region(const agi_gemm_impl *im, const agi_gemm *g, const agi_gemm_part *w)
{
    if (g->dtype == AG_F64)
        im->region_f64(g, w);
    else
        im->region_f32(g, w);
}

void agi_gemm_run_serial(const agi_gemm *g)
{
    agi_gemm_part w = {0, g->batch, 0, g->m, 0, g->n};
    if (g->m > 0 && g->n > 0) mm_region(mm_impl(), g, &w);
}

/*
** Parallel split: the tasks are a grid of row blocks x column blocks of C
** (whole tiles) times the products when each has its own C. A task packs
** its own panels of B. Task numbers run along one dimension first, and
** the pool gives each thread a contiguous range of them (threadpool.c):
** so a thread's share is a band of C along the other, the same from call
** to call. Any split gives the same bits.
*/
typedef struct mm_split {
    const agi_gemm_impl *im;
    const agi_gemm *g;
    int64_t nq, ni, nj;         /* tasks along products, rows, columns */
    int64_t bi, bj;             /* rows, columns per task */
    int rows_first;             /* task numbers run along columns first */
} mm_split;

static void mm_task(void *ctx, int64_t task)
{
    const mm_split *s = ctx;
    const agi_gemm *g = s->g;
    const int64_t tq = task / s->nj / s->ni, t = task % (s->nj * s->ni);
    const int64_t ti = s->rows_first ? t / s->nj : t % s->ni;
    const int64_t tj = s->rows_first ? t % s->nj : t / s->ni;
    agi_gemm_part w = {s->nq > 1 ? tq : 0, s->nq > 1 ? tq + 1 : g->batch,
                       ti * s->bi, (ti + 1) * s->bi < g->m ? (ti + 1) * s->bi : g->m,
                       tj * s->bj, (tj + 1) * s->bj < g->n ? (tj + 1) * s->bj : g->n};
    mm_region(s->im, g, &w);
}

/*
** Split C by rows first (else by columns: then a row of tasks shares no
** packing) for A^T @ B with B row-major and shallow (a weight's gradient,
** x^T @ dy: B is read in place, so rows cost no packing): each task then
** writes whole rows of C, the contiguous ranges an optimizer's split of
** the same parameter gives the same thread (threadpool.c).
*/
#define MM_ROWS_FIRST(g) ((g)->a_rs == 1 && (g)->a_cs != 1 && (g)->b_cs == 1 && (g)->k <= 128)

/* Below this many multiply-adds a product runs on the calling thread. */
#define MM_PAR_MIN_FMAS (1 << 19)

static int64_t mm_ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

/* ni x nj = tasks (a whole factorization) whose blocks of C are nearest
   square, the wider one on a tie. */
static void mm_square_grid(const agi_gemm *g, int64_t tasks, int64_t *ni, int64_t *nj)
{
    double best = -1;
    for (int64_t r = 1; r <= tasks; r++) {
        if (tasks % r) continue;
        double h = (double)g->m / (double)r, w = (double)g->n / (double)(tasks / r);
        double skew = h > w ? h / w : w / h;
        if (best < 0 || skew < best || (skew == best && w > h)) best = skew, *ni = r;
    }
    *nj = tasks / *ni;
}

void agi_gemm_run(const agi_gemm *g)
{
    if (g->m <= 0 || g->n <= 0) return;
    const agi_gemm_impl *im = mm_impl();
    /* multiply-adds (INT64_MAX when they overflow: m, n, k and batch each
       fit, their product need not) */
    int64_t work = agi_mul(agi_mul(agi_mul(g->m, g->n), g->k > 0 ? g->k : 1), g->batch);
    if (work < 0) work = INT64_MAX;
    int threads = agi_threads_available();
    if (threads <= 1 || work < MM_PAR_MIN_FMAS) {
        agi_gemm_part w = {0, g->batch, 0, g->m, 0, g->n};
        mm_region(im, g, &w);
        return;
    }
    /* about 4 tasks per thread, each at least MM_PAR_MIN_FMAS / 2 */
    int64_t want = 4 * (int64_t)threads, max_tasks = work / (MM_PAR_MIN_FMAS / 2);
    if (want > max_tasks) want = max_tasks;
    mm_split s = {im, g, g->c_bs != 0 ? g->batch : 1, 1, 1, g->m, g->n, MM_ROWS_FIRST(g)};
    /* tasks that would be packed are near square blocks (rows: about the
       side of a task's area): each packs its own rows of A and columns of
       B, the fewer the squarer */
    const double side = sqrt((double)g->m * (double)g->n / (double)want);
    const int square = g->k > 0 && agi_gemm_packs(&im->pack_min,
                                                  side < (double)g->m ? (int64_t)side : g->m,
                                                  g->k, work / want);
    const agi_gemm_tile *tile = square ? &im->packed : &im->small;
    const int64_t nr = g->dtype == AG_F64 ? tile->cols_f64 : tile->cols_f32, mr = tile->rows;
    int64_t rest = mm_ceil_div(want, s.nq);
    int64_t col_tiles = mm_ceil_div(g->n, nr), row_tiles = mm_ceil_div(g->m, mr);
    if (square) {
        mm_square_grid(g, rest, &s.ni, &s.nj);
    } else if (s.rows_first) {
        s.ni = rest < row_tiles ? rest : row_tiles;
        rest = mm_ceil_div(rest, s.ni);
        s.nj = rest < col_tiles ? rest : col_tiles;
    } else {
        s.nj = rest < col_tiles ? rest : col_tiles;
        rest = mm_ceil_div(rest, s.nj);
        s.ni = rest < row_tiles ? rest : row_tiles;
    }
    s.bj = mm_ceil_div(col_tiles, s.nj) * nr;
    s.bi = mm_ceil_div(row_tiles, s.ni) * mr;
    s.nj = mm_ceil_div(g->n, s.bj);
    s.ni = mm_ceil_div(g->m, s.bi);
    agi_parallel_for(s.nq * s.ni * s.nj, mm_task, &s);
}
