/*
** test_checkpoint_state.c: what ag_checkpoint_save writes and what
** ag_checkpoint_load accepts, value by value. BatchNorm's
** num_batches_tracked goes to the file as I64 (as ag_module_save and
** PyTorch's state_dict) and both an I64 file and an older one holding it
** as F32 load back; an integer buffer that is no whole number is refused
** at save. A per-parameter "<i>.step" that is not a whole number in
** [0, 2^53] is refused with a message naming it, and the module and the
** optimizer stay exactly as they were.
*/
#include "st_test_util.h"

/* Linear(3, 2) then BatchNorm1d(2), in f32, and SGD with momentum over it. */
typedef struct net {
    ag_module *m;
    ag_optim *o;
} net;

static net net_new(uint64_t seed)
{
    ag_rng *r = ag_rng_new(seed);
    net n;
    n.m = ag_sequential_new(2, (ag_module *[]){ag_linear_new(3, 2, 1, AG_F32, r),
                                               ag_batchnorm1d_new(2, 1e-5, 0.1, 1, AG_F32)});
    ck_assert_ptr_nonnull(n.m);
    ag_tensor *params[4];
    int np = ag_module_parameters(n.m, params, 4);
    ag_sgd_opts so = ag_sgd_defaults();
    so.lr = 0.1, so.momentum = 0.9;
    n.o = ag_sgd_new(np, params, &so);
    ck_assert_ptr_nonnull(n.o);
    ag_rng_free(r);
    return n;
}

static void net_free(net *n)
{
    ag_optim_free(n->o);
    ag_module_free(n->m);
}

/* steps of SGD on sum(net(x)^3) with x [4, 3] from a fixed generator */
static void net_train(net *n, int steps)
{
    ag_rng *r = ag_rng_new(3);
    ag_tape *t = ag_tape_new();
    for (int s = 0; s < steps; s++) {
        ag_tensor *x = ag_rand_normal(t, r, AG_F32, 2, SHAPE(4, 3), 0, 1);
        ag_tensor *y = ag_module_forward(n->m, t, x);
        ag_tensor *loss = ag_sum(t, ag_mul(t, ag_mul(t, y, y), y), AG_ALL, 0);
        ag_optim_zero_grad(n->o);
        ck_assert_msg(loss && ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
        ck_assert_int_eq(ag_optim_step(n->o), AG_OK);
        ag_tape_reset(t);
    }
    ag_tape_free(t);
    ag_rng_free(r);
}

/*
** Copies checkpoint src to dst tensor for tensor and key for key, except
** tensor name: with as_f32 its values are written as F32 (an older
** file's dtype); else it must be a 0-d F64 and gets value.
*/
static void rewrite(const char *src, const char *dst, const char *name, int as_f32,
                    double value)
{
    static const char *keys[7] = {"ag.checkpoint", "optim.name", "optim.steps", "optim.groups",
                                  "optim.group_sizes", "optim.lrs", "optim.base_lrs"};
    ag_safetensors *f;
    ck_assert_int_eq(ag_safetensors_open(src, &f), AG_OK);
    int n = ag_safetensors_count(f), hit = 0;
    ag_st_tensor raw[TU_MAX_SNAP];
    ag_st_info info[TU_MAX_SNAP];
    void *bufs[TU_MAX_SNAP];
    ck_assert_int_le(n, TU_MAX_SNAP);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(ag_safetensors_info(f, i, &info[i]), AG_OK);
        bufs[i] = malloc((size_t)info[i].nbytes + 8);
        ck_assert_int_eq(ag_safetensors_read(f, info[i].name, info[i].dtype, info[i].ndim,
                                             info[i].shape, bufs[i]), AG_OK);
        raw[i] = (ag_st_tensor){info[i].name, info[i].dtype, info[i].ndim, info[i].shape, bufs[i]};
        if (strcmp(info[i].name, name)) continue;
        hit = 1;
        if (as_f32) {
            ck_assert_str_eq(info[i].dtype, "I64");
            int64_t k = info[i].nbytes / 8;
            for (int64_t e = 0; e < k; e++) ((float *)bufs[i])[e] = (float)((int64_t *)bufs[i])[e];
            raw[i].dtype = "F32";
        } else {
            ck_assert_str_eq(info[i].dtype, "F64");
            ck_assert_int_eq(info[i].ndim, 0);
            *(double *)bufs[i] = value;
        }
    }
    ck_assert_msg(hit, "no tensor '%s' in %s", name, src);
    const char *kv[14];
    for (int k = 0; k < 7; k++) {
        kv[2 * k] = keys[k];
        kv[2 * k + 1] = ag_safetensors_meta(f, keys[k]);
        ck_assert_ptr_nonnull(kv[2 * k + 1]);
    }
    ck_assert_int_eq(ag_safetensors_write(dst, n, raw, 7, kv), AG_OK);
    for (int i = 0; i < n; i++) free(bufs[i]);
    ag_safetensors_close(f);
}

/* Module tensors and optimizer state of n, for snapshots. */
static int list_all(const net *n, ag_named_tensor *list)
{
    int k = ag_module_named_tensors(n->m, list, TU_MAX_SNAP, 1);
    return k + ag_optim_state(n->o, list + k, TU_MAX_SNAP - k);
}

START_TEST(test_num_batches_tracked_saved_as_i64)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *path = tu_path(&d, "bn.ckpt");
    net a = net_new(1), b = net_new(2);
    net_train(&a, 3);
    ck_assert_double_eq(ag_tensor_get(ag_module_get(a.m, "1.num_batches_tracked"), 0), 3);
    ck_assert_int_eq(ag_checkpoint_save(path, a.m, a.o, NULL), AG_OK);
    /* in the file: I64 [] holding 3, as PyTorch's state_dict */
    ag_safetensors *f;
    ag_st_info info;
    int64_t count = -1;
    ck_assert_int_eq(ag_safetensors_open(path, &f), AG_OK);
    ck_assert_int_eq(ag_safetensors_info(f, ag_safetensors_find(f, "1.num_batches_tracked"),
                                         &info), AG_OK);
    ck_assert_str_eq(info.dtype, "I64");
    ck_assert_int_eq(info.ndim, 0);
    ck_assert_int_eq(ag_safetensors_read(f, "1.num_batches_tracked", "I64", 0, NULL, &count),
                     AG_OK);
    ck_assert_int_eq(count, 3);
    ag_safetensors_close(f);
    /* it loads into a fresh net, which then holds exactly a's state */
    ck_assert_msg(ag_checkpoint_load(path, b.m, b.o, NULL) == AG_OK, "%s", ag_last_error());
    ag_named_tensor la[TU_MAX_SNAP], lb[TU_MAX_SNAP];
    tu_snap s;
    tu_snap_take(&s, list_all(&a, la), la);
    tu_snap_assert_equals(&s, list_all(&b, lb), lb);
    tu_snap_free(&s);
    /* an older checkpoint holding the count as F32 loads too */
    const char *old = tu_path(&d, "old.ckpt");
    rewrite(path, old, "1.num_batches_tracked", 1, 0);
    net c = net_new(3);
    ck_assert_msg(ag_checkpoint_load(old, c.m, c.o, NULL) == AG_OK, "%s", ag_last_error());
    ck_assert_double_eq(ag_tensor_get(ag_module_get(c.m, "1.num_batches_tracked"), 0), 3);
    /* a count that is no whole number cannot be written as I64 */
    ag_tensor_set(ag_module_get(c.m, "1.num_batches_tracked"), 0, 2.5);
    tu_assert_failed(ag_checkpoint_save(tu_path(&d, "bad.ckpt"), c.m, c.o, NULL), AG_ERR_ARG,
                     "ag_checkpoint_save",
                     "integer buffer '1.num_batches_tracked' element 0 is 2.5",
                     "not a whole number in int64's range");
    ck_assert_int_eq(tu_dir_count(&d, "bad.ckpt"), 0);
    net_free(&a), net_free(&b), net_free(&c);
    tu_dir_remove(&d);
}
END_TEST

START_TEST(test_bad_step_counts_are_refused)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *path = tu_path(&d, "good.ckpt"), *bad = tu_path(&d, "bad.ckpt");
    net a = net_new(1), b = net_new(2);
    net_train(&a, 2);
    net_train(&b, 1);
    ck_assert_int_eq(ag_checkpoint_save(path, a.m, a.o, NULL), AG_OK);
    const double values[5] = {2.5, -1, 9007199254740994.0, NAN, INFINITY};
    const char *shown[5] = {"is 2.5", "is -1", "is 9007199254740994", "is nan", "is inf"};
    ag_named_tensor lb[TU_MAX_SNAP];
    tu_snap s;
    tu_snap_take(&s, list_all(&b, lb), lb);
    int64_t steps = ag_optim_steps(b.o);
    for (int k = 0; k < 5; k++) {
        rewrite(path, bad, "optim.1.step", 0, values[k]);
        ag_status st = ag_checkpoint_load(bad, b.m, b.o, NULL);
        tu_assert_failed(st, AG_ERR_FORMAT, "ag_checkpoint_load", "'optim.1.step'", shown[k]);
        tu_snap_assert_same(&s);                /* nothing changed */
        ck_assert_int_eq(ag_optim_steps(b.o), steps);
    }
    /* the same file with a good count loads */
    rewrite(path, bad, "optim.1.step", 0, 7);
    ck_assert_msg(ag_checkpoint_load(bad, b.m, b.o, NULL) == AG_OK, "%s", ag_last_error());
    ag_named_tensor st[TU_MAX_SNAP];
    int n = ag_optim_state(b.o, st, TU_MAX_SNAP), found = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(st[i].name, "1.step")) continue;
        found = 1;
        ck_assert_double_eq(ag_tensor_get(st[i].tensor, 0), 7);
    }
    ck_assert(found);
    tu_snap_free(&s);
    net_free(&a), net_free(&b);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_checkpoint_state(void)
{
    Suite *s = suite_create("checkpoint_state");
    TU_ADD(s, test_num_batches_tracked_saved_as_i64);
    TU_ADD(s, test_bad_step_counts_are_refused);
    return s;
}
