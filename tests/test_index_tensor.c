/*
** test_index_tensor.c: the one integer index representation (index
** tensors, ag_index_tensor) taken by Embedding and the class losses, so a
** Sequential starting with an Embedding runs on integers; layers built
** without a generator (zeros) and loaded.
*/
#include "st_test_util.h"

#include <math.h>

START_TEST(test_index_tensors_feed_embedding_and_losses)
{
    ag_tape *t = ag_tape_new();
    const int64_t tok[6] = {3, 0, 2, 2, 1, 3};
    ag_tensor *ids = ag_index_tensor(t, AG_F32, 2, SHAPE(2, 3), tok);
    tu_assert_shape(ids, 2, SHAPE(2, 3));
    tu_assert_values(ids, VALS(3, 0, 2, 2, 1, 3), 6, 0);
    /* Sequential(Embedding(4, 2), Linear(2, 3)) on the index tensor equals
       the lookup of the int64 array */
    ag_rng *r = ag_rng_new(3);
    ag_module *net = ag_sequential_new(2, (ag_module *[]){ag_embedding_new(4, 2, AG_F32, r),
                                                          ag_linear_new(2, 3, 1, AG_F32, r)});
    ck_assert_ptr_nonnull(net);
    ag_tensor *y = ag_module_forward(net, t, ids);                     /* [2, 3, 3] */
    tu_assert_shape(y, 3, SHAPE(2, 3, 3));
    ag_module *emb = ag_sequential_get(net, 0), *fc = ag_sequential_get(net, 1);
    ag_tensor *y2 = ag_module_forward(fc, t, ag_embedding_lookup(emb, t, tok, 6));   /* [6, 3] */
    for (int i = 0; i < 18; i++) ck_assert(ag_tensor_get(y, i) == ag_tensor_get(y2, i));
    /* losses: the index tensor form equals the int64 form, -100 ignored too */
    ag_tensor *logits = ag_reshape(t, y, 2, SHAPE(6, 3));
    const int64_t lab[6] = {2, 0, AG_IGNORE_INDEX, 1, 1, 0};
    ag_tensor *labels = ag_index_tensor(NULL, AG_F64, 1, SHAPE(6), lab);
    ag_tensor *labels32 = ag_index_tensor(NULL, AG_F32, 1, SHAPE(6), lab);
    ag_tensor *a = ag_cross_entropy_loss_t(t, logits, labels32, NULL, AG_REDUCTION_MEAN);
    ag_tensor *b = ag_cross_entropy_loss(t, logits, lab, AG_REDUCTION_MEAN);
    ck_assert_ptr_nonnull(a);
    ck_assert(ag_tensor_get(a, 0) == ag_tensor_get(b, 0));
    ag_tensor *raw = tu_tensor(AG_F64, 2, SHAPE(6, 3), VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3,
                                                            4, 5, 6, 7, 8, 9));
    ag_tensor *lp = ag_log_softmax(t, raw, 1);
    ag_tensor *na = ag_nll_loss_t(t, lp, labels, NULL, AG_REDUCTION_SUM);
    ag_tensor *nb = ag_nll_loss(t, lp, lab, AG_REDUCTION_SUM);
    ck_assert(ag_tensor_get(na, 0) == ag_tensor_get(nb, 0));
    ck_assert(ag_tensor_get(na, 0) > 0);
    ag_tape_free(t);
    ag_tensor_free(labels), ag_tensor_free(labels32), ag_tensor_free(raw);
    ag_module_free(net);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_index_tensor_errors)
{
    ag_tape *t = ag_tape_new();
    ck_assert_ptr_null(ag_index_tensor(NULL, AG_F32, 1, SHAPE(2), (int64_t[]){1, 16777217}));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_index_tensor: an index beyond 2^24"));
    ag_tensor *ok = ag_index_tensor(NULL, AG_F64, 1, SHAPE(2), (int64_t[]){1, 16777217});
    tu_assert_values(ok, VALS(1, 16777217), 2, 0);
    tu_assert_error(t, ag_index_tensor(t, (ag_dtype)9, 1, SHAPE(1), (int64_t[]){0}), AG_ERR_DTYPE,
                    "ag_index_tensor", "AG_F32 or AG_F64");
    ag_tape_reset(t);
    tu_assert_error(t, ag_index_tensor(t, AG_F32, 1, SHAPE(2), NULL), AG_ERR_ARG,
                    "ag_index_tensor", "NULL indices");
    ag_tape_reset(t);
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *half = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 0.5));
    tu_assert_error(t, ag_cross_entropy_loss_t(t, x, half, NULL, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_cross_entropy_loss_t: targets[1] = 0.5", "not a whole number");
    ag_tape_reset(t);
    ag_tensor *three = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0, 1, 2));
    tu_assert_error(t, ag_nll_loss_t(t, x, three, NULL, AG_REDUCTION_MEAN), AG_ERR_SHAPE,
                    "ag_nll_loss_t: targets is [3]", "expected the input's shape [2,3]");
    ag_tape_reset(t);
    ag_tensor *big = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 3));
    tu_assert_error(t, ag_nll_loss_t(t, x, big, NULL, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "targets[1] = 3", "out of range [0, 3)");
    ag_tape_free(t);
    ag_tensor_free(ok), ag_tensor_free(x), ag_tensor_free(half), ag_tensor_free(three);
    ag_tensor_free(big);
}
END_TEST

/* A model built without a generator is zeros, then loads a trained one. */
START_TEST(test_layers_without_generator_load_a_file)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_rng *r = ag_rng_new(9);
    ag_module *made = ag_sequential_new(3, (ag_module *[]){
        ag_embedding_new(5, 4, AG_F64, r), ag_conv1d_new(3, 2, 2, NULL, 1, AG_F64, r),
        ag_linear_new(3, 2, 1, AG_F64, r)});
    ag_module *blank = ag_sequential_new(3, (ag_module *[]){
        ag_embedding_new(5, 4, AG_F64, NULL), ag_conv1d_new(3, 2, 2, NULL, 1, AG_F64, NULL),
        ag_linear_new(3, 2, 1, AG_F64, NULL)});
    ck_assert_ptr_nonnull(made);
    ck_assert_ptr_nonnull(blank);
    ag_named_tensor nt[8];
    int n = ag_module_named_tensors(blank, nt, 8, 1);
    ck_assert_int_eq(n, 5);
    for (int i = 0; i < n; i++)
        for (int64_t k = 0; k < ag_tensor_numel(nt[i].tensor); k++)
            ck_assert(ag_tensor_get(nt[i].tensor, k) == 0);
    ck_assert_int_eq(ag_module_save(made, tu_path(&d, "m.st")), AG_OK);
    ck_assert_int_eq(ag_module_load(blank, tu_path(&d, "m.st")), AG_OK);
    ag_tape *t = ag_tape_new();
    ag_tensor *ids = ag_index_tensor(t, AG_F64, 2, SHAPE(1, 3), (int64_t[]){4, 0, 2});
    ag_tensor *ya = ag_module_forward(made, t, ids), *yb = ag_module_forward(blank, t, ids);
    tu_assert_shape(ya, 3, SHAPE(1, 2, 2));
    for (int i = 0; i < 4; i++) ck_assert(ag_tensor_get(ya, i) == ag_tensor_get(yb, i));
    ag_tape_free(t);
    ag_module_free(made), ag_module_free(blank);
    ag_rng_free(r);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_index_tensor(void)
{
    Suite *s = suite_create("index_tensor");
    TU_ADD(s, test_index_tensors_feed_embedding_and_losses);
    TU_ADD(s, test_index_tensor_errors);
    TU_ADD(s, test_layers_without_generator_load_a_file);
    return s;
}
