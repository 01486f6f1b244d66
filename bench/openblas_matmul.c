/*
** openblas_matmul.c: the shapes of bench_shapes.h through OpenBLAS's
** cblas_sgemm / cblas_dgemm (row-major, the same transpositions), one
** line per shape and dtype, each on the shape's thread count
** (openblas_set_num_threads). The reference for bench_matmul.c: run with
** OPENBLAS_CORETYPE unset. Links OpenBLAS; the library itself never does.
*/
#include "bench_shapes.h"
#include <cblas.h>

typedef struct ob_case {
    const bench_shape *s;
    int f64;
    void *a, *b, *c;
} ob_case;

static void ob_run(void *ctx)
{
    const ob_case *oc = ctx;
    const bench_shape *s = oc->s;
    enum CBLAS_TRANSPOSE ta = s->ta ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = s->tb ? CblasTrans : CblasNoTrans;
    int lda = (int)(s->ta ? s->m : s->k), ldb = (int)(s->tb ? s->k : s->n);
    if (oc->f64)
        cblas_dgemm(CblasRowMajor, ta, tb, (int)s->m, (int)s->n, (int)s->k, 1.0, oc->a, lda,
                    oc->b, ldb, 0.0, oc->c, (int)s->n);
    else
        cblas_sgemm(CblasRowMajor, ta, tb, (int)s->m, (int)s->n, (int)s->k, 1.0f, oc->a, lda,
                    oc->b, ldb, 0.0f, oc->c, (int)s->n);
}

int main(void)
{
    for (int f64 = 0; f64 <= 1; f64++)
        for (int i = 0; i < BENCH_NSHAPES; i++) {
            const bench_shape *s = &bench_shapes[i];
            openblas_set_num_threads(s->threads);
            ob_case oc = {s, f64, bench_matrix(s->m * s->k, f64, 1),
                          bench_matrix(s->k * s->n, f64, 2), bench_matrix(s->m * s->n, f64, 3)};
            if (!oc.a || !oc.b || !oc.c) {
                fprintf(stderr, "openblas_matmul: out of memory\n");
                return 1;
            }
            double flops = 2.0 * (double)(s->m * s->n * s->k), best;
            double med = bench_gflops(ob_run, &oc, flops, &best);
            bench_report(s, f64 ? "f64" : "f32", med, best);
            free(oc.a), free(oc.b), free(oc.c);
        }
    return 0;
}
