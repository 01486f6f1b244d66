/*
** test_determinism.c: the same seed gives the same training run. A small
** MLP, Linear(128, 128) -> BatchNorm1d -> ReLU -> Dropout(0.2) ->
** Linear(128, 10) in f32, trained with Adam on cross-entropy for a few steps
** on random batches, everything drawn from fixed seeds (weights, data,
** dropout masks):
**   - twice with one thread: every loss and every final tensor (weights,
**     running statistics, Adam's moments) bit-identical;
**   - with two threads against one: the tolerance is zero, every bit equal,
**     because ag_threads.h documents that each output element is computed
**     by one thread in one fixed order whatever the thread count. The first
**     layer's products (64 x 128 x 128 multiply-adds, forward and the
**     weight gradient) are above the pool's threshold, and the test checks
**     that the pool's workers really ran (Linux: /proc/self/task);
**   - a negative control: another dropout seed gives other losses.
** The thread API is autograd/ag_threads.h (ag_set_num_threads, merged from main).
*/
#include "test_util.h"

#include <dirent.h>

#define DET_STEPS 4
#define DET_BATCH 64
#define DET_IN 128
#define DET_HIDDEN 128
#define DET_CLASSES 10
#define DET_MAX_T 32

typedef struct det_result {
    float losses[DET_STEPS];
    int threads_seen;                /* the process's threads right after training */
    int n;
    ag_tensor *t[DET_MAX_T];         /* copies of every model and optimizer tensor */
} det_result;

/* Threads of this process (Linux), or -1 when /proc is not there. */
static int det_thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static ag_module *det_model(ag_rng *init, ag_rng *drop)
{
    ag_module *m = ag_sequential_new(5, (ag_module *[]){
        ag_linear_new(DET_IN, DET_HIDDEN, 1, AG_F32, init),
        ag_batchnorm1d_new(DET_HIDDEN, 1e-5, 0.1, 1, AG_F32), ag_relu_new(),
        ag_dropout_new(0.2, drop), ag_linear_new(DET_HIDDEN, DET_CLASSES, 1, AG_F32, init)});
    ck_assert_msg(m != NULL, "%s", ag_last_error());
    return m;
}

/* One training step on a batch drawn from data; returns the loss. */
static float det_step(ag_module *m, ag_optim *o, ag_tape *t, ag_rng *data)
{
    ag_tensor *x = ag_rand_normal(t, data, AG_F32, 2, SHAPE(DET_BATCH, DET_IN), 0, 1);
    int64_t y[DET_BATCH];
    for (int i = 0; i < DET_BATCH; i++) y[i] = (int64_t)(ag_rng_u64(data) % DET_CLASSES);
    ag_tensor *loss = ag_cross_entropy_loss(t, ag_module_forward(m, t, x), y,
                                            AG_REDUCTION_MEAN);
    ck_assert_msg(loss && ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
    ck_assert_int_eq(ag_optim_step(o), AG_OK);
    ag_optim_zero_grad(o);
    float v = *(const float *)ag_tensor_data(loss);
    ag_tape_reset(t);
    return v;
}

/* A whole run with `threads` threads and the dropout seed. */
static void det_train(int threads, uint64_t drop_seed, det_result *out)
{
    ck_assert_int_eq(ag_set_num_threads(threads), AG_OK);
    ag_rng *init = ag_rng_new(1234), *drop = ag_rng_new(drop_seed), *data = ag_rng_new(7);
    ag_module *m = det_model(init, drop);
    ag_tensor *p[8];
    int np = ag_module_parameters(m, p, 8);
    ag_adam_opts ao = ag_adam_defaults();
    ao.lr = 1e-2;
    ag_optim *o = ag_adam_new(np, p, &ao);
    ag_tape *t = ag_tape_new();
    ck_assert(o && t);
    for (int s = 0; s < DET_STEPS; s++) out->losses[s] = det_step(m, o, t, data);
    out->threads_seen = det_thread_count();
    ag_named_tensor list[DET_MAX_T];
    int n = ag_module_named_tensors(m, list, DET_MAX_T, 1);
    n += ag_optim_state(o, list + n, DET_MAX_T - n);
    ck_assert_int_le(n, DET_MAX_T);
    out->n = n;
    for (int i = 0; i < n; i++) out->t[i] = ag_tensor_clone(list[i].tensor);
    ag_tape_free(t);
    ag_optim_free(o);
    ag_module_free(m);
    ag_rng_free(init), ag_rng_free(drop), ag_rng_free(data);
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}

static void det_free(det_result *r)
{
    for (int i = 0; i < r->n; i++) ag_tensor_free(r->t[i]);
}

/* Largest |a - b| over every loss and every tensor element; a NaN anywhere
   (or a shape mismatch) gives infinity. */
static double det_max_diff(const det_result *a, const det_result *b)
{
    double worst = 0;
    for (int s = 0; s < DET_STEPS; s++) {
        double d = fabs((double)a->losses[s] - (double)b->losses[s]);
        if (d != d) return INFINITY;
        if (d > worst) worst = d;
    }
    if (a->n != b->n) return INFINITY;
    for (int i = 0; i < a->n; i++) {
        if (ag_tensor_numel(a->t[i]) != ag_tensor_numel(b->t[i])) return INFINITY;
        for (int64_t k = 0; k < ag_tensor_numel(a->t[i]); k++) {
            double d = fabs(ag_tensor_get(a->t[i], k) - ag_tensor_get(b->t[i], k));
            if (d != d) return INFINITY;
            if (d > worst) worst = d;
        }
    }
    return worst;
}

/* Every bit of every loss and tensor equal. */
static int det_identical(const det_result *a, const det_result *b)
{
    if (memcmp(a->losses, b->losses, sizeof a->losses) != 0 || a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++) {
        size_t bytes = (size_t)ag_tensor_numel(a->t[i]) * sizeof(float);
        if (ag_tensor_numel(a->t[i]) != ag_tensor_numel(b->t[i]) ||
            memcmp(ag_tensor_data(a->t[i]), ag_tensor_data(b->t[i]), bytes) != 0)
            return 0;
    }
    return 1;
}

START_TEST(test_determinism_same_seed_one_thread_bit_identical)
{
    det_result a, b;
    det_train(1, 99, &a);
    det_train(1, 99, &b);
    ck_assert_int_gt(a.n, 0);
    for (int s = 0; s < DET_STEPS; s++)
        ck_assert_msg(isfinite(a.losses[s]) && a.losses[s] > 0, "loss %d is %g", s,
                      (double)a.losses[s]);
    ck_assert_msg(a.losses[DET_STEPS - 1] != a.losses[0], "the model did not train");
    ck_assert_msg(det_identical(&a, &b), "two runs differ by up to %g", det_max_diff(&a, &b));
    det_free(&a), det_free(&b);
}
END_TEST

/* Tolerance between 1 and 2 threads: 0 (see the top of the file). */
#define DET_THREAD_TOL 0.0

START_TEST(test_determinism_two_threads_match_one)
{
    det_result one, two;
    det_train(1, 99, &one);
    ag_threads_shutdown();                      /* no workers before the run */
    int before = det_thread_count();
    det_train(2, 99, &two);
    if (before >= 0)
        ck_assert_msg(two.threads_seen > before, "no worker thread ran (%d, then %d threads)",
                      before, two.threads_seen);
    double diff = det_max_diff(&one, &two);
    ck_assert_msg(diff <= DET_THREAD_TOL && det_identical(&one, &two),
                  "2 threads differ from 1 by up to %g (tolerance %g)", diff, DET_THREAD_TOL);
    det_free(&one), det_free(&two);
    ag_threads_shutdown();
}
END_TEST

START_TEST(test_determinism_other_seed_differs)
{
    det_result a, b;
    det_train(1, 99, &a);
    det_train(1, 100, &b);
    ck_assert_msg(!det_identical(&a, &b), "another dropout seed gave the same run");
    ck_assert(a.losses[1] != b.losses[1]);
    det_free(&a), det_free(&b);
}
END_TEST

Suite *suite_determinism(void)
{
    Suite *s = suite_create("determinism");
    TCase *tc = tcase_create("training");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_determinism_same_seed_one_thread_bit_identical);
    tcase_add_test(tc, test_determinism_two_threads_match_one);
    tcase_add_test(tc, test_determinism_other_seed_differs);
    suite_add_tcase(s, tc);
    return s;
}
