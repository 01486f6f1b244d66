/*
** test_dropout_rng.c: Dropout and Dropout2d without a generator (the
** documented rule of ag_layers.h: NULL accepted at construction, as the
** layers with weights accept it). Evaluation runs; p = 0 returns x; a
** training forward is an error naming the layer until ag_dropout_set_rng
** gives one, after which the mask is the one ag_dropout_mask draws from
** the same generator state; the setter reaches dropout layers inside a
** Sequential and leaves other modules alone; NULL takes the generator away.
*/
#include "test_util.h"

/* x * ag_dropout_mask(seed's generator, shape) computed independently */
static void assert_masked(ag_tensor *y, ag_tensor *x, uint64_t seed, int ndim,
                          const int64_t *mask_shape, double p)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(seed);
    ag_tensor *want = ag_mul(t, x, ag_dropout_mask(t, r, AG_F64, ndim, mask_shape, p));
    ck_assert_ptr_nonnull(want);
    int zeros = 0;
    for (int64_t i = 0; i < ag_tensor_numel(x); i++) {
        ck_assert_double_eq(ag_tensor_get(y, i), ag_tensor_get(want, i));
        zeros += ag_tensor_get(y, i) == 0;
    }
    ck_assert_int_gt(zeros, 0);                  /* something was dropped */
    ag_rng_free(r);
    ag_tape_free(t);
}

START_TEST(test_dropout_without_generator)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_random(2, SHAPE(4, 5), 0.5, 1.5, 1);
    ag_module *d = ag_dropout_new(0.5, NULL), *d0 = ag_dropout_new(0, NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_eq(ag_module_forward(d0, t, x), x);      /* p = 0: nothing to draw */
    ag_module_train(d, 0);
    ck_assert_ptr_eq(ag_module_forward(d, t, x), x);       /* evaluation */
    ag_module_train(d, 1);
    tu_assert_error(t, ag_module_forward(d, t, x), AG_ERR_STATE,
                    "Dropout(p=0.5): training needs a generator", "ag_dropout_set_rng");
    ag_tape_reset(t);
    ag_rng *r = ag_rng_new(11);
    ck_assert_int_eq(ag_dropout_set_rng(d, r), AG_OK);
    ag_tensor *y = ag_module_forward(d, t, x);
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    assert_masked(y, x, 11, 2, SHAPE(4, 5), 0.5);
    /* NULL takes it away again */
    ck_assert_int_eq(ag_dropout_set_rng(d, NULL), AG_OK);
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(d, t, x), AG_ERR_STATE, "Dropout(p=0.5)",
                    "training needs a generator");
    ck_assert_int_eq(ag_dropout_set_rng(NULL, r), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_dropout_set_rng: module is NULL");
    ag_tape_free(t);
    ag_module_free(d), ag_module_free(d0);
    ag_tensor_free(x);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_dropout2d_without_generator)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_random(4, SHAPE(3, 4, 2, 2), 0.5, 1.5, 2);
    ag_module *d = ag_dropout2d_new(0.5, NULL);
    ck_assert_ptr_nonnull(d);
    tu_assert_error(t, ag_module_forward(d, t, x), AG_ERR_STATE,
                    "Dropout2d(p=0.5): training needs a generator", "evaluation needs none");
    ag_tape_reset(t);
    ag_rng *r = ag_rng_new(12);
    ck_assert_int_eq(ag_dropout_set_rng(d, r), AG_OK);
    ag_tensor *y = ag_module_forward(d, t, x);
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    assert_masked(y, x, 12, 4, SHAPE(3, 4, 1, 1), 0.5);
    ag_tape_free(t);
    ag_module_free(d);
    ag_tensor_free(x);
    ag_rng_free(r);
}
END_TEST

/* A model built to be loaded: no generator anywhere; one set afterwards
   reaches both dropout layers of the Sequential, and only them. */
START_TEST(test_set_rng_reaches_a_tree)
{
    ag_module *net = ag_sequential_new(4, (ag_module *[]){
        ag_linear_new(5, 5, 1, AG_F64, NULL), ag_dropout_new(0.5, NULL),
        ag_linear_new(5, 5, 1, AG_F64, NULL), ag_dropout_new(0.25, NULL)});
    ck_assert_ptr_nonnull(net);
    ag_tensor *w0 = ag_module_get(net, "0.weight"), *w2 = ag_module_get(net, "2.weight");
    for (int64_t i = 0; i < 25; i++) {          /* identity weights, zero biases */
        ag_tensor_set(w0, i, i % 6 == 0);
        ag_tensor_set(w2, i, i % 6 == 0);
    }
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_random(2, SHAPE(4, 5), 0.5, 1.5, 3);
    tu_assert_error(t, ag_module_forward(net, t, x), AG_ERR_STATE, "Dropout(p=0.5)",
                    "training needs a generator");
    ag_tape_reset(t);
    ag_rng *r = ag_rng_new(13);
    ck_assert_int_eq(ag_dropout_set_rng(net, r), AG_OK);
    ag_tensor *y = ag_module_forward(net, t, x);
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    /* both masks from one generator, in order: x * m1 * m2 */
    ag_tape *t2 = ag_tape_new();
    ag_rng *twin = ag_rng_new(13);
    ag_tensor *m1 = ag_dropout_mask(t2, twin, AG_F64, 2, SHAPE(4, 5), 0.5);
    ag_tensor *m2 = ag_dropout_mask(t2, twin, AG_F64, 2, SHAPE(4, 5), 0.25);
    for (int64_t i = 0; i < 20; i++)
        ck_assert_double_eq_tol(ag_tensor_get(y, i), ag_tensor_get(x, i) * ag_tensor_get(m1, i) *
                                                         ag_tensor_get(m2, i), 1e-15);
    ck_assert_double_eq(ag_tensor_get(w0, 0), 1);            /* the weights untouched */
    ag_tape_free(t2), ag_tape_free(t);
    ag_module_free(net);
    ag_tensor_free(x);
    ag_rng_free(r), ag_rng_free(twin);
}
END_TEST

Suite *suite_dropout_rng(void)
{
    Suite *s = suite_create("dropout_rng");
    TU_ADD(s, test_dropout_without_generator);
    TU_ADD(s, test_dropout2d_without_generator);
    TU_ADD(s, test_set_rng_reaches_a_tree);
    return s;
}
