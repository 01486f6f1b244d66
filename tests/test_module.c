/*
** test_module.c: the module interface (nn/module.c): registration of
** parameters, buffers and children with their errors and ownership,
** dotted names and ag_module_get, listing order and truncation, the
** tree's rules (names that fit, one module per tensor, one parent per
** module, no cycles),
** train/eval recursion, zero_grad, forward dispatch, free with a destroy
** callback. A user-defined layer, written here with the public API alone,
** is gradchecked and trained a few steps by gradient descent.
*/
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

#define assert_last_error(part)                                               \
    ck_assert_msg(strstr(ag_last_error(), (part)) != NULL,                    \
                  "last error '%s' lacks '%s'", ag_last_error(), (part))

/* ------------------------------------------------- a user-defined layer --- */

/* y = scale * tanh(x @ weight): weight [in, out], scale a scalar, and a
   buffer "calls" counting forward passes. Holds a malloc'd note that its
   destroy callback frees. */
typedef struct scaled_tanh {
    ag_module base;
    ag_tensor *weight, *scale, *calls;
    char *note;
} scaled_tanh;

static int destroyed;                   /* destroy callbacks run */

static ag_tensor *scaled_tanh_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    scaled_tanh *s = (scaled_tanh *)m;
    ag_tensor_set(s->calls, 0, ag_tensor_get(s->calls, 0) + 1);
    return ag_mul(t, s->scale, ag_tanh(t, ag_matmul(t, x, s->weight)));
}

static void scaled_tanh_destroy(ag_module *m)
{
    destroyed++;
    free(((scaled_tanh *)m)->note);
    free(m);
}

static const ag_module_ops scaled_tanh_ops = {"ScaledTanh", scaled_tanh_forward,
                                              scaled_tanh_destroy};

static ag_module *scaled_tanh_new(int64_t in, int64_t out, ag_rng *r)
{
    scaled_tanh *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    ag_module_init(&s->base, &scaled_tanh_ops);
    s->note = malloc(32);
    s->weight = ag_rand_uniform(NULL, r, AG_F64, 2, (int64_t[]){in, out}, -1, 1);
    s->scale = ag_full(NULL, AG_F64, 0, NULL, 1.5);
    s->calls = ag_zeros(NULL, AG_F64, 0, NULL);
    ck_assert_int_eq(ag_module_add_param(&s->base, "weight", s->weight), AG_OK);
    ck_assert_int_eq(ag_module_add_param(&s->base, "scale", s->scale), AG_OK);
    ck_assert_int_eq(ag_module_add_buffer(&s->base, "calls", s->calls), AG_OK);
    return &s->base;
}

static const ag_module_ops plain_ops = {"Plain", NULL, NULL};

/* An empty module of no type of its own. */
static ag_module *tu_module_new_plain(void)
{
    ag_module *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    ag_module_init(m, &plain_ops);
    return m;
}

static ag_tensor *module_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_module_forward(ctx, t, in[0]);
}

START_TEST(test_user_layer_gradchecks)
{
    ag_rng *r = ag_rng_new(1);
    ag_module *m = scaled_tanh_new(3, 2, r);
    ag_tensor *in[3] = {tu_random(2, SHAPE(4, 3), -1, 1, 2)};
    ck_assert_int_eq(ag_module_parameters(m, in + 1, 2), 2);
    ck_assert_ptr_eq(in[1], ag_module_get(m, "weight"));
    tu_assert_gradchecks(module_fn, m, 3, in);
    ck_assert_double_gt(ag_tensor_get(ag_module_get(m, "calls"), 0), 10);
    ag_tensor_free(in[0]);
    destroyed = 0;
    ag_module_free(m);
    ck_assert_int_eq(destroyed, 1);
    ag_rng_free(r);
}
END_TEST

/* p = p - lr * grad for each parameter, with ops on a no-grad tape. */
static void sgd_step(ag_module *m, ag_tape *scratch, double lr)
{
    ag_tensor *ps[4];
    int n = ag_module_parameters(m, ps, 4);
    ag_set_grad_enabled(scratch, 0);
    for (int i = 0; i < n; i++) {
        ag_tensor *next = ag_sub(scratch, ps[i], ag_mul_scalar(scratch, ag_tensor_grad(ps[i]), lr));
        ck_assert_int_eq(ag_assign(ps[i], next), AG_OK);
    }
    ag_tape_reset(scratch);
}

/* Regression onto a teacher of the same form: the loss falls every step,
   and the first step moves each parameter by exactly -lr * grad. */
START_TEST(test_user_layer_trains)
{
    ag_rng *r = ag_rng_new(5);
    ag_module *m = scaled_tanh_new(3, 2, r), *teacher = scaled_tanh_new(3, 2, r);
    ag_tape *t = ag_tape_new(), *scratch = ag_tape_new();
    ag_tensor *x = ag_rand_normal(NULL, r, AG_F64, 2, SHAPE(16, 3), 0, 1);
    ag_tensor *y = ag_tensor_clone(ag_module_forward(teacher, t, x));
    ag_tape_reset(t);
    double prev = INFINITY, first = 0;
    for (int step = 0; step < 8; step++) {
        ag_module_zero_grad(m);
        ag_tensor *d = ag_sub(t, ag_module_forward(m, t, x), y);
        ag_tensor *loss = ag_mean(t, ag_square(t, d), AG_ALL, 0);
        ck_assert_int_eq(ag_backward(t, loss), AG_OK);
        double l = ag_tensor_get(loss, 0);
        ck_assert_msg(l < prev, "step %d: loss %g after %g", step, l, prev);
        if (step == 0) {
            first = l;
            ag_tensor *w = ag_module_get(m, "weight");
            ag_tensor *w0 = ag_tensor_clone(w), *g = ag_tensor_clone(ag_tensor_grad(w));
            sgd_step(m, scratch, 0.2);
            for (int64_t i = 0; i < 6; i++)
                ck_assert_double_eq_tol(ag_tensor_get(w, i),
                                        ag_tensor_get(w0, i) - 0.2 * ag_tensor_get(g, i), 1e-15);
            ag_tensor_free(w0);
            ag_tensor_free(g);
        } else {
            sgd_step(m, scratch, 0.2);
        }
        prev = l;
        ag_tape_reset(t);
    }
    ck_assert_double_lt(prev, 0.8 * first);
    ag_tape_free(t);
    ag_tape_free(scratch);
    ag_tensor_free(x);
    ag_tensor_free(y);
    ag_module_free(m);
    ag_module_free(teacher);
    ag_rng_free(r);
}
END_TEST

/* ------------------------------------------------------- registration --- */

START_TEST(test_registration_errors)
{
    ag_module *m = ag_relu_new();                   /* any module will do */
    ag_tensor *a = ag_zeros(NULL, AG_F64, 1, SHAPE(2));
    ck_assert_int_eq(ag_module_add_param(m, "w", a), AG_OK);
    ck_assert_int_eq(ag_requires_grad(a), 1);
    /* each failure below frees the tensor it was given (Valgrind checks) */
    ck_assert_int_eq(ag_module_add_param(m, "w", ag_zeros(NULL, AG_F64, 0, NULL)), AG_ERR_ARG);
    assert_last_error("ag_module_add_param: name 'w' is taken");
    ck_assert_int_eq(ag_module_add_buffer(m, "w", ag_zeros(NULL, AG_F64, 0, NULL)), AG_ERR_ARG);
    assert_last_error("ag_module_add_buffer: name 'w' is taken");
    ck_assert_int_eq(ag_module_add_param(m, "a.b", ag_zeros(NULL, AG_F64, 0, NULL)), AG_ERR_ARG);
    assert_last_error("bad name 'a.b'");
    ck_assert_int_eq(ag_module_add_param(m, "", ag_zeros(NULL, AG_F64, 0, NULL)), AG_ERR_ARG);
    char longname[65];
    memset(longname, 'x', 64);
    longname[64] = 0;
    ck_assert_int_eq(ag_module_add_param(m, longname, ag_zeros(NULL, AG_F64, 0, NULL)), AG_ERR_ARG);
    longname[63] = 0;                                                    /* 63 bytes fit */
    ck_assert_int_eq(ag_module_add_buffer(m, longname, ag_zeros(NULL, AG_F64, 0, NULL)), AG_OK);
    ck_assert_int_eq(ag_requires_grad(ag_module_get(m, longname)), 0);
    ck_assert_int_eq(ag_module_add_param(m, "n", NULL), AG_ERR_ARG);
    assert_last_error("tensor 'n' is NULL");
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_module_add_param(m, "tt", ag_zeros(t, AG_F64, 0, NULL)), AG_ERR_ARG);
    assert_last_error("'tt' is a tape tensor");
    ck_assert_int_eq(ag_module_add_param(NULL, "x", ag_zeros(NULL, AG_F64, 0, NULL)), AG_ERR_ARG);
    assert_last_error("module is NULL");
    /* children: NULL, itself, a taken name */
    ck_assert_int_eq(ag_module_add_child(m, "c", NULL), AG_ERR_ARG);
    assert_last_error("ag_module_add_child: child 'c' is NULL");
    ck_assert_int_eq(ag_module_add_child(m, "c", m), AG_ERR_ARG);         /* m is not freed */
    assert_last_error("child 'c' is the module itself (a cycle)");
    ck_assert_int_eq(ag_module_add_child(m, "w", ag_tanh_new()), AG_ERR_ARG);
    assert_last_error("name 'w' is taken");
    ck_assert_int_eq(ag_module_add_child(m, "c", ag_tanh_new()), AG_OK);
    ck_assert_int_eq(ag_module_add_param(m, "c", ag_zeros(NULL, AG_F64, 0, NULL)), AG_ERR_ARG);
    ck_assert_int_eq(ag_module_named_tensors(m, NULL, 0, 1), 2);
    ag_tape_free(t);
    ag_module_free(m);
    ag_module_free(NULL);                           /* a no-op */
}
END_TEST

/* root: ScaledTanh with a child "block" = Sequential(Linear, BatchNorm1d). */
static ag_module *nested(ag_rng *r)
{
    ag_module *root = scaled_tanh_new(3, 3, r);
    ag_module *block = ag_sequential_new(2, (ag_module *[]){
        ag_linear_new(3, 3, 1, AG_F64, r), ag_batchnorm1d_new(3, 1e-5, 0.1, 1, AG_F64)});
    ck_assert_int_eq(ag_module_add_child(root, "block", block), AG_OK);
    return root;
}

START_TEST(test_names_listing_and_get)
{
    ag_rng *r = ag_rng_new(2);
    ag_module *root = nested(r);
    const char *all[10] = {"weight", "scale", "calls", "block.0.weight", "block.0.bias",
                           "block.1.weight", "block.1.bias", "block.1.running_mean",
                           "block.1.running_var", "block.1.num_batches_tracked"};
    ag_named_tensor nt[10];
    ck_assert_int_eq(ag_module_named_tensors(root, nt, 10, 1), 10);
    for (int i = 0; i < 10; i++) {
        ck_assert_str_eq(nt[i].name, all[i]);
        ck_assert_int_eq(nt[i].is_buffer, i == 2 || i >= 7);
        ck_assert_ptr_eq(ag_module_get(root, all[i]), nt[i].tensor);
    }
    /* parameters only, and truncation: the total is returned either way */
    ag_tensor *ps[3];
    ck_assert_int_eq(ag_module_named_tensors(root, nt, 10, 0), 6);
    ck_assert_str_eq(nt[2].name, "block.0.weight");
    ck_assert_int_eq(ag_module_named_tensors(root, nt, 2, 1), 10);
    ck_assert_int_eq(ag_module_parameters(root, ps, 3), 6);
    ck_assert_ptr_eq(ps[2], ag_module_get(root, "block.0.weight"));
    ck_assert_int_eq(ag_module_parameters(NULL, ps, 3), 0);
    /* names that are not tensors */
    const char *missing[6] = {"block", "block.0", "block.2.weight", "nope", "block.0.nope",
                              "block.1.running_mean.x"};
    for (int i = 0; i < 6; i++) ck_assert_ptr_null(ag_module_get(root, missing[i]));
    ck_assert_ptr_null(ag_module_get(root, NULL));
    ck_assert_ptr_null(ag_module_get(NULL, "weight"));
    ag_module_free(root);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_train_eval_recursion_and_zero_grad)
{
    ag_rng *r = ag_rng_new(3);
    ag_module *root = nested(r);
    ag_module *block = root->children[0].module, *bn = ag_sequential_get(block, 1);
    ck_assert_int_eq(ag_module_is_training(bn), 1);
    ag_module_train(root, 0);
    ck_assert_int_eq(ag_module_is_training(root), 0);
    ck_assert_int_eq(ag_module_is_training(block), 0);
    ck_assert_int_eq(ag_module_is_training(bn), 0);
    ag_module_train(block, 1);                      /* a subtree alone */
    ck_assert_int_eq(ag_module_is_training(root), 0);
    ck_assert_int_eq(ag_module_is_training(bn), 1);
    ck_assert_int_eq(ag_module_is_training(NULL), 0);
    ag_module_train(NULL, 1);                       /* a no-op */
    /* backward fills every parameter's grad; zero_grad clears them all */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_random(2, SHAPE(4, 3), -1, 1, 4);
    ag_tensor *y = ag_module_forward(block, t, ag_module_forward(root, t, x));
    ck_assert_int_eq(ag_backward(t, ag_sum(t, ag_square(t, y), AG_ALL, 0)), AG_OK);
    ag_tensor *ps[6];
    ck_assert_int_eq(ag_module_parameters(root, ps, 6), 6);
    double total = 0;
    for (int i = 0; i < 6; i++)
        for (int64_t j = 0; j < ag_tensor_numel(ps[i]); j++)
            total += fabs(ag_tensor_get(ag_tensor_grad(ps[i]), j));
    ck_assert_double_gt(total, 0);
    ag_module_zero_grad(root);
    for (int i = 0; i < 6; i++)
        for (int64_t j = 0; j < ag_tensor_numel(ps[i]); j++)
            ck_assert_double_eq(ag_tensor_get(ag_tensor_grad(ps[i]), j), 0);
    ck_assert_ptr_null(ag_tensor_grad(ag_module_get(root, "calls")));    /* buffers: no grad */
    ag_module_zero_grad(NULL);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(root);
    ag_rng_free(r);
}
END_TEST

static const ag_module_ops no_forward_ops = {"NoForward", NULL, NULL};

START_TEST(test_forward_dispatch_errors)
{
    ag_rng *r = ag_rng_new(4);
    ag_module *m = scaled_tanh_new(2, 2, r);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(1, 2), VALS(1, 2));
    /* a tape in error: the forward does not run */
    ag_tape_set_error(t, AG_ERR_ARG, "earlier failure");
    ck_assert_ptr_null(ag_module_forward(m, t, x));
    ck_assert_double_eq(ag_tensor_get(ag_module_get(m, "calls"), 0), 0);
    ck_assert_str_eq(ag_tape_errmsg(t), "earlier failure");
    ag_tape_reset(t);
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_ptr_null(ag_module_forward(m, NULL, x));           /* the message: no tape */
    ck_assert_str_eq(ag_last_error(), "ag_module_forward: tape is NULL");
    /* a NULL module, a module without forward: NULL and the error on the tape */
    ck_assert_ptr_null(ag_module_forward(NULL, t, x));
    ck_assert_int_eq(ag_tape_status(t), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_module_forward: module is NULL"));
    ag_tape_reset(t);
    ag_module plain;
    ag_module_init(&plain, &no_forward_ops);
    ck_assert_ptr_null(ag_module_forward(&plain, t, x));
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "has no forward"));
    /* a layer's own error stays on the tape */
    ag_tape_reset(t);
    ag_tensor *bad = tu_tensor(AG_F64, 2, SHAPE(1, 3), VALS(1, 2, 3));
    ck_assert_ptr_null(ag_module_forward(m, t, bad));
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_matmul: inner dimensions differ"));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(bad);
    ag_module_free(m);
    ag_rng_free(r);
}
END_TEST

/* --------------------------------------------------------- the tree --- */

/* A string of n copies of c (n < 128). */
static const char *run_of(char c, int n, char *buf)
{
    memset(buf, c, (size_t)n);
    buf[n] = 0;
    return buf;
}

/* Dotted names longer than an ag_named_tensor's 127 bytes are refused
   where they would arise, top-down (a tensor under a deep prefix) and
   bottom-up (a child whose names would grow too long); 127 bytes list
   whole. Before, listing cut them short silently, so "<prefix>.w_a" and
   "<prefix>.w_b" both listed as "<prefix>.w" and saving failed later. */
START_TEST(test_long_dotted_names_are_refused)
{
    char a[64], b[64], want[300];
    ag_module *root = tu_module_new_plain(), *c1 = tu_module_new_plain();
    ag_module *c2 = tu_module_new_plain();
    ck_assert_int_eq(ag_module_add_child(root, run_of('a', 63, a), c1), AG_OK);
    ck_assert_int_eq(ag_module_add_child(c1, run_of('b', 59, b), c2), AG_OK);
    /* prefix "a{63}.b{59}." is 124 bytes: 3 more fit, 4 do not */
    ck_assert_int_eq(ag_module_add_param(c2, "w_a", ag_zeros(NULL, AG_F64, 0, NULL)), AG_OK);
    ck_assert_int_eq(ag_module_add_param(c2, "w_bb", ag_zeros(NULL, AG_F64, 0, NULL)),
                     AG_ERR_ARG);
    snprintf(want, sizeof want, "ag_module_add_param: the tensor name '%s.%s.w_bb' would be 128 "
             "bytes, more than 127", a, b);
    assert_last_error(want);
    ag_named_tensor nt[4];
    ck_assert_int_eq(ag_module_named_tensors(root, nt, 4, 1), 1);
    ck_assert_int_eq(strlen(nt[0].name), 127);
    snprintf(want, sizeof want, "%s.%s.w_a", a, b);
    ck_assert_str_eq(nt[0].name, want);
    /* bottom-up: a child with a tensor "bias", named so as to make 128 bytes */
    ag_module *c3 = tu_module_new_plain();
    ck_assert_int_eq(ag_module_add_buffer(c3, "bias", ag_zeros(NULL, AG_F64, 0, NULL)), AG_OK);
    ck_assert_int_eq(ag_module_add_child(c1, run_of('c', 59, b), c3), AG_ERR_ARG);  /* freed */
    snprintf(want, sizeof want, "ag_module_add_child: the tensor name '%s.%s.bias' would be "
             "128 bytes", a, b);
    assert_last_error(want);
    c3 = tu_module_new_plain();
    ck_assert_int_eq(ag_module_add_buffer(c3, "bias", ag_zeros(NULL, AG_F64, 0, NULL)), AG_OK);
    ck_assert_int_eq(ag_module_add_child(c1, run_of('c', 58, b), c3), AG_OK);
    ck_assert_int_eq(ag_module_named_tensors(root, nt, 4, 1), 2);
    ck_assert_int_eq(strlen(nt[1].name), 127);
    /* an empty child lists nothing, so any prefix will do until it holds a tensor */
    ag_module *c4 = tu_module_new_plain();
    ck_assert_int_eq(ag_module_add_child(c2, "empty", c4), AG_OK);
    ck_assert_int_eq(ag_module_add_param(c4, "w", ag_zeros(NULL, AG_F64, 0, NULL)), AG_ERR_ARG);
    assert_last_error(".empty.w' would be 131 bytes");
    ag_module_free(root);
}
END_TEST

/* A tensor belongs to one module and a module to one parent, with no
   cycles: a tensor registered twice in a tree, a child given to a second
   parent, a module made its own ancestor, or a child sharing a tensor with
   its new tree are refused (before: a double free or an endless
   recursion), and what was refused is not freed (Valgrind and ASan see no
   double free). */
START_TEST(test_a_tensor_and_a_child_belong_to_one_module)
{
    ag_module *root = tu_module_new_plain(), *a = tu_module_new_plain();
    ag_module *b = tu_module_new_plain();
    ag_tensor *w = ag_zeros(NULL, AG_F64, 1, SHAPE(2));
    ck_assert_int_eq(ag_module_add_param(root, "w", w), AG_OK);
    ck_assert_int_eq(ag_module_add_param(root, "w2", w), AG_ERR_ARG);
    assert_last_error("ag_module_add_param: tensor 'w2' is already registered in the module's "
                      "tree (as 'w')");
    ck_assert_int_eq(ag_module_add_child(root, "a", a), AG_OK);
    ck_assert_int_eq(ag_module_add_child(a, "b", b), AG_OK);
    ck_assert_int_eq(ag_module_add_buffer(b, "again", w), AG_ERR_ARG);
    assert_last_error("ag_module_add_buffer: tensor 'again' is already registered in the "
                      "module's tree (as 'w')");
    ag_tensor *v = ag_ones(NULL, AG_F64, 0, NULL);
    ck_assert_int_eq(ag_module_add_param(b, "v", v), AG_OK);
    ck_assert_int_eq(ag_module_add_param(root, "v", v), AG_ERR_ARG);
    assert_last_error("(as 'a.b.v')");
    /* cycles and second parents */
    ck_assert_int_eq(ag_module_add_child(b, "up", root), AG_ERR_ARG);
    assert_last_error("ag_module_add_child: child 'up' is an ancestor of the module (a cycle)");
    ck_assert_int_eq(ag_module_add_child(b, "up", a), AG_ERR_ARG);
    assert_last_error("child 'up' is an ancestor");
    ck_assert_int_eq(ag_module_add_child(root, "b2", b), AG_ERR_ARG);
    assert_last_error("child 'b2' is already the child 'b' of another module");
    ag_module *other = tu_module_new_plain();
    ck_assert_int_eq(ag_module_add_child(other, "a", a), AG_ERR_ARG);
    ag_module_free(a);                      /* a child: its parent frees it */
    ag_module_free(b);
    /* a module holding one of the tree's tensors cannot join it */
    ag_module *stray = tu_module_new_plain();
    ck_assert_int_eq(ag_module_add_param(stray, "shared", v), AG_OK);   /* another tree: allowed */
    ck_assert_int_eq(ag_module_add_child(other, "s", stray), AG_OK);
    ck_assert_int_eq(ag_module_add_child(root, "o", other), AG_ERR_ARG);
    assert_last_error("ag_module_add_child: 'o' holds a tensor the module's tree already holds "
                      "(as 'a.b.v')");
    stray->entries[0].tensor = NULL;        /* so that v is freed once, by root */
    ag_module_free(other);
    ck_assert_int_eq(ag_module_named_tensors(root, NULL, 0, 1), 2);
    ck_assert_int_eq(ag_module_parameters(root, NULL, 0), 2);
    ag_module_free(root);
}
END_TEST

Suite *suite_module(void)
{
    Suite *s = suite_create("module");
    TU_ADD(s, test_user_layer_gradchecks);
    TU_ADD(s, test_user_layer_trains);
    TU_ADD(s, test_registration_errors);
    TU_ADD(s, test_names_listing_and_get);
    TU_ADD(s, test_train_eval_recursion_and_zero_grad);
    TU_ADD(s, test_forward_dispatch_errors);
    TU_ADD(s, test_long_dotted_names_are_refused);
    TU_ADD(s, test_a_tensor_and_a_child_belong_to_one_module);
    return s;
}
