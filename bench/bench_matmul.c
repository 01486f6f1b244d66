/*
** bench_matmul.c: our matmul on the shapes of bench_shapes.h, one thread,
** one line per shape and dtype (GFLOP/s, median of repetitions). It times
** the kernel that ag_matmul and its backward products run
** (agi_gemm_run, matmul_internal.h): the transposed variants have no
** public entry of their own, and the op's own overhead (a tape tensor, a
** node) is not what is compared with OpenBLAS. The one exception in
** bench/ to "public headers only".
*/
#include "bench_shapes.h"
#include "ag.h"
#include "matmul_internal.h"

typedef struct our_case {
    agi_gemm g;
} our_case;

static void our_run(void *ctx) { agi_gemm_run(&((our_case *)ctx)->g); }

/* A matrix of n values in [-1, 1) as dtype (malloc'ed; NULL if out of
   memory). */
static void *our_matrix(int64_t n, int f64, uint64_t seed)
{
    double *v = malloc((size_t)n * sizeof(double));
    if (!v) return NULL;
    bench_fill(v, n, seed);
    if (!f64) {
        float *f = (float *)v;
        for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
    }
    return v;
}

int main(void)
{
    if (ag_set_num_threads(1) != AG_OK) return 1;
    for (int f64 = 0; f64 <= 1; f64++)
        for (int i = 0; i < BENCH_NSHAPES; i++) {
            const bench_shape *s = &bench_shapes[i];
            our_case oc = {{.dtype = f64 ? AG_F64 : AG_F32, .m = s->m, .n = s->n, .k = s->k,
                            .a_rs = s->ta ? 1 : s->k, .a_cs = s->ta ? s->m : 1,
                            .b_rs = s->tb ? 1 : s->n, .b_cs = s->tb ? s->k : 1,
                            .ldc = s->n, .batch = 1}};
            void *a = our_matrix(s->m * s->k, f64, 1), *b = our_matrix(s->k * s->n, f64, 2);
            void *c = our_matrix(s->m * s->n, f64, 3);
            if (!a || !b || !c) {
                fprintf(stderr, "bench_matmul: out of memory\n");
                return 1;
            }
            oc.g.a = a, oc.g.b = b, oc.g.c = c;
            double flops = 2.0 * (double)(s->m * s->n * s->k), best;
            double med = bench_gflops(our_run, &oc, flops, &best);
            bench_report(s, f64 ? "f64" : "f32", med, best);
            free(a), free(b), free(c);
        }
    return 0;
}
