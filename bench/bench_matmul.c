/*
** bench_matmul.c: our matmul on the shapes of bench_shapes.h, each on its
** thread count, one line per shape and dtype (GFLOP/s: median and best of
** the repetitions), after a "# kernel ISA" line (the path the kernel chose
** at run time: AG_KERNEL=avx512|avx2|portable forces one). A plain product
** is ag_matmul, one with B transposed ag_matmul_nt, one with A transposed
** ag_matmul_tn, each called on a tape that is reset before every call
** (the operands need no grad, so nothing is recorded: the op's overhead
** over the kernel is one tape tensor). Public API only, but for the
** kernel's name (ag_matmul_path).
*/
#include "bench_shapes.h"
#include "ag.h"

typedef struct our_case {
    const bench_shape *s;
    ag_tape *tape;
    ag_tensor *a, *b;
} our_case;

static void our_run(void *ctx)
{
    our_case *oc = ctx;
    ag_tape_reset(oc->tape);
    if (oc->s->ta)
        ag_matmul_tn(oc->tape, oc->a, oc->b);
    else if (oc->s->tb)
        ag_matmul_nt(oc->tape, oc->a, oc->b);
    else
        ag_matmul(oc->tape, oc->a, oc->b);
}

/* A persistent [rows, cols] operand of values in [-1, 1) from seed. */
static ag_tensor *operand(int64_t rows, int64_t cols, int f64, uint64_t seed)
{
    void *v = bench_matrix(rows * cols, f64, seed);
    ag_tensor *x = v ? ag_from_data(NULL, f64 ? AG_F64 : AG_F32, 2, (int64_t[]){rows, cols}, v)
                     : NULL;
    free(v);
    return x;
}

int main(void)
{
    printf("# kernel %s\n", ag_matmul_path());
    for (int f64 = 0; f64 <= 1; f64++)
        for (int i = 0; i < BENCH_NSHAPES; i++) {
            const bench_shape *s = &bench_shapes[i];
            if (ag_set_num_threads(s->threads) != AG_OK) return 1;
            our_case oc = {s, ag_tape_new(),
                           s->ta ? operand(s->k, s->m, f64, 1) : operand(s->m, s->k, f64, 1),
                           s->tb ? operand(s->n, s->k, f64, 2) : operand(s->k, s->n, f64, 2)};
            if (!oc.tape || !oc.a || !oc.b) {
                fprintf(stderr, "bench_matmul: out of memory\n");
                return 1;
            }
            our_run(&oc);
            if (ag_tape_status(oc.tape) != AG_OK) {
                fprintf(stderr, "bench_matmul: %s\n", ag_tape_errmsg(oc.tape));
                return 1;
            }
            double flops = 2.0 * (double)(s->m * s->n * s->k), best;
            double med = bench_gflops(our_run, &oc, flops, &best);
            bench_report(s, f64 ? "f64" : "f32", med, best);
            ag_tape_free(oc.tape);
            ag_tensor_free(oc.a);
            ag_tensor_free(oc.b);
        }
    return 0;
}
