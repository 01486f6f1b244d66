/*
** bench_matmul.c: our matmul on the shapes of bench_shapes.h, one thread,
** one line per shape and dtype (GFLOP/s: median and best of the
** repetitions), after a "# kernel ISA" line. It times the kernel that
** ag_matmul and its backward products run (agi_gemm_run,
** matmul_internal.h): the transposed variants have no public entry of
** their own, and the op's own overhead (a tape tensor, a node) is not
** what is compared with OpenBLAS. The one exception in bench/ to "public
** headers only".
*/
#include "bench_shapes.h"
#include "ag.h"
#include "matmul_internal.h"

static void our_run(void *ctx) { agi_gemm_run(ctx); }

int main(void)
{
    if (ag_set_num_threads(1) != AG_OK) return 1;
    printf("# kernel %s\n", agi_gemm_isa());
    for (int f64 = 0; f64 <= 1; f64++)
        for (int i = 0; i < BENCH_NSHAPES; i++) {
            const bench_shape *s = &bench_shapes[i];
            agi_gemm g = {.dtype = f64 ? AG_F64 : AG_F32, .m = s->m, .n = s->n, .k = s->k,
                          .a_rs = s->ta ? 1 : s->k, .a_cs = s->ta ? s->m : 1,
                          .b_rs = s->tb ? 1 : s->n, .b_cs = s->tb ? s->k : 1,
                          .ldc = s->n, .batch = 1};
            void *a = bench_matrix(s->m * s->k, f64, 1), *b = bench_matrix(s->k * s->n, f64, 2);
            void *c = bench_matrix(s->m * s->n, f64, 3);
            if (!a || !b || !c) {
                fprintf(stderr, "bench_matmul: out of memory\n");
                return 1;
            }
            g.a = a, g.b = b, g.c = c;
            double flops = 2.0 * (double)(s->m * s->n * s->k), best;
            double med = bench_gflops(our_run, &g, flops, &best);
            bench_report(s, f64 ? "f64" : "f32", med, best);
            free(a), free(b), free(c);
        }
    return 0;
}
