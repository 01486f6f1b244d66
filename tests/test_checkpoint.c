/*
** test_checkpoint.c: training checkpoints. A run stopped, saved, loaded
** into fresh objects and resumed matches the uninterrupted run bit for bit
** (parameters, buffers, optimizer state, step count, learning rates, the
** generator's next draws); truncated, corrupted and mismatched files are
** refused with a message naming the problem while the module, optimizer
** and generator stay exactly as they were; failed saves keep the old file.
** The optimizer is a small one built here on optim_base.h: momentum with
** a running sum of squared grads, two state tensors per parameter.
*/
#include "st_test_util.h"
#include "optim_base.h"

/* ------------------------------------------------- a test optimizer --- */

typedef struct test_opt {
    ag_optim base;
    double mu;
} test_opt;

/* buf = mu*buf + g;  sq = sq + g^2;  p -= lr * buf / (sqrt(sq) + 1e-8) */
static ag_status test_step(ag_optim *o, ag_tape *t)
{
    double mu = ((test_opt *)o)->mu;
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i], *g = ag_tensor_grad(p);
        if (!g) continue;
        ag_tensor *buf = o->state[2 * i].tensor, *sq = o->state[2 * i + 1].tensor;
        ag_tensor *nb = ag_add(t, ag_mul_scalar(t, buf, mu), g);
        ag_tensor *nsq = ag_add(t, sq, ag_square(t, g));
        if (!nb || !nsq || ag_assign(buf, nb) || ag_assign(sq, nsq)) return AG_ERR_ARG;
        ag_tensor *step = ag_div(t, ag_mul_scalar(t, buf, o->lr),
                                 ag_add_scalar(t, ag_sqrt(t, sq), 1e-8));
        if (!step || ag_assign(p, ag_sub(t, p, step))) return AG_ERR_ARG;
    }
    return AG_OK;
}

static const agp_optim_ops test_ops = {"TestMomentum", test_step, NULL};
static const agp_optim_ops other_ops = {"TestOther", test_step, NULL};

static ag_optim *test_opt_new(const agp_optim_ops *ops, ag_module *m, double lr)
{
    ag_tensor *params[8];
    int n = ag_module_parameters(m, params, 8);
    test_opt *o = (test_opt *)agp_optim_new(sizeof *o, ops, n, params, lr);
    ck_assert_ptr_nonnull(o);
    o->mu = 0.9;
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(agp_add_state(&o->base, i, "momentum_buffer"));
        ck_assert_ptr_nonnull(agp_add_state(&o->base, i, "sq_sum"));
    }
    return &o->base;
}

/* ------------------------------------------------------- a training run --- */

/* One step on a batch drawn from r: loss = mean((tanh(x W + b) v - y)^2);
   then the buffers: running_mean = 0.9 rm + 0.1 mean_rows(h), count += 1. */
static void train_step(ag_module *m, ag_optim *o, ag_rng *r, ag_tape *t)
{
    ag_tensor *w = ag_module_get(m, "weight"), *b = ag_module_get(m, "bias");
    ag_tensor *v = ag_module_get(m, "head.v"), *rm = ag_module_get(m, "head.running_mean");
    ag_tensor *count = ag_module_get(m, "head.num_batches");
    ag_tensor *x = ag_rand_normal(t, r, AG_F32, 2, SHAPE(5, 3), 0, 1);
    ag_tensor *y = ag_rand_normal(t, r, AG_F32, 2, SHAPE(5, 1), 0, 1);
    ag_tensor *h = ag_tanh(t, ag_add(t, ag_matmul(t, x, w), b));
    ag_tensor *loss = ag_mean(t, ag_square(t, ag_sub(t, ag_matmul(t, h, v), y)), AG_ALL, 0);
    ag_optim_zero_grad(o);
    ck_assert_msg(loss && ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
    ck_assert_msg(ag_optim_step(o) == AG_OK, "%s", ag_last_error());
    ag_set_grad_enabled(t, 0);
    ag_tensor *nrm = ag_add(t, ag_mul_scalar(t, rm, 0.9),
                            ag_mul_scalar(t, ag_mean(t, h, 0, 0), 0.1));
    ck_assert_int_eq(ag_assign(rm, nrm), AG_OK);
    ag_set_grad_enabled(t, 1);
    ag_tensor_set(count, 0, ag_tensor_get(count, 0) + 1);
    ag_tape_reset(t);
}

static void train(ag_module *m, ag_optim *o, ag_rng *r, int steps)
{
    ag_tape *t = ag_tape_new();
    for (int i = 0; i < steps; i++) train_step(m, o, r, t);
    ag_tape_free(t);
}

/* ------------------------------------------------- whole-state snapshots --- */

typedef struct full_snap {
    tu_snap tensors;        /* module tensors, then optimizer state */
    int64_t steps;
    double lr, base_lr;
    uint64_t rng[4];
} full_snap;

static int list_state(ag_module *m, ag_optim *o, ag_named_tensor *list)
{
    int n = ag_module_named_tensors(m, list, TU_MAX_SNAP, 1);
    return n + ag_optim_state(o, list + n, TU_MAX_SNAP - n);
}

static void full_take(full_snap *s, ag_module *m, ag_optim *o, ag_rng *r)
{
    ag_named_tensor list[TU_MAX_SNAP];
    tu_snap_take(&s->tensors, list_state(m, o, list), list);
    s->steps = ag_optim_steps(o);
    s->lr = ag_optim_get_lr(o);
    s->base_lr = ag_optim_base_lr(o);
    ag_rng_get_state(r, s->rng);
}

/* Asserts m, o, r hold exactly the snapshot's state (bits). */
static void full_assert_equals(const full_snap *s, ag_module *m, ag_optim *o, ag_rng *r)
{
    ag_named_tensor list[TU_MAX_SNAP];
    tu_snap_assert_equals(&s->tensors, list_state(m, o, list), list);
    ck_assert_int_eq(ag_optim_steps(o), s->steps);
    double lr = ag_optim_get_lr(o), base = ag_optim_base_lr(o);
    ck_assert_msg(!memcmp(&lr, &s->lr, sizeof lr), "lr %.17g, expected %.17g", lr, s->lr);
    ck_assert_msg(!memcmp(&base, &s->base_lr, sizeof base), "base_lr %.17g, expected %.17g",
                  base, s->base_lr);
    uint64_t st[4];
    ag_rng_get_state(r, st);
    ck_assert_msg(!memcmp(st, s->rng, sizeof st), "generator state differs");
}

/* A trained model A (3 steps, then lr set to 0.05/3, which needs all 17
   digits to read back exact) saved to path, with optimizer and generator. */
typedef struct run {
    ag_module *m;
    ag_optim *o;
    ag_rng *r;
} run;

static run run_new(uint64_t seed, double lr, uint64_t rng_seed)
{
    run x;
    x.m = tu_toy_new(seed, 4, "head");
    x.o = test_opt_new(&test_ops, x.m, lr);
    x.r = ag_rng_new(rng_seed);
    return x;
}

static void run_free(run *x)
{
    ag_optim_free(x->o);
    ag_module_free(x->m);
    ag_rng_free(x->r);
}

static run trained_and_saved(const char *path)
{
    run a = run_new(1, 0.05, 7);
    train(a.m, a.o, a.r, 3);
    ag_optim_set_lr(a.o, 0.05 / 3);
    ck_assert_int_eq(ag_checkpoint_save(path, a.m, a.o, a.r), AG_OK);
    return a;
}

/* ------------------------------------------------------------- tests --- */

START_TEST(test_resume_is_bit_identical)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *path = tu_path(&d, "run.ckpt");
    run a = trained_and_saved(path);
    ck_assert_int_eq(tu_dir_count(&d, ".tmp."), 0);
    full_snap at_save;
    full_take(&at_save, a.m, a.o, a.r);
    ck_assert_int_eq(at_save.steps, 3);
    ag_named_tensor st[TU_MAX_SNAP];
    ck_assert_int_eq(ag_optim_state(a.o, st, TU_MAX_SNAP), 6);
    ck_assert_str_eq(st[0].name, "0.momentum_buffer");
    ck_assert(ag_tensor_get(st[0].tensor, 0) != 0);             /* state worth restoring */
    /* the uninterrupted run: 3 more steps, then 4 draws */
    train(a.m, a.o, a.r, 3);
    full_snap at_end;
    full_take(&at_end, a.m, a.o, a.r);
    uint64_t draws[4];
    for (int i = 0; i < 4; i++) draws[i] = ag_rng_u64(a.r);
    /* a fresh run (other values, other lr, other generator) resumed from the file */
    run b = run_new(2, 0.9, 1234);
    ck_assert_int_eq(ag_checkpoint_load(path, b.m, b.o, b.r), AG_OK);
    full_assert_equals(&at_save, b.m, b.o, b.r);
    ck_assert(ag_optim_get_lr(b.o) == 0.05 / 3 && ag_optim_base_lr(b.o) == 0.05);
    train(b.m, b.o, b.r, 3);
    full_assert_equals(&at_end, b.m, b.o, b.r);
    for (int i = 0; i < 4; i++) ck_assert(ag_rng_u64(b.r) == draws[i]);
    /* without an optimizer and a generator: the module alone is restored */
    run c = run_new(3, 0.1, 5);
    uint64_t c_rng[4], c_rng_after[4];
    ag_rng_get_state(c.r, c_rng);
    ck_assert_int_eq(ag_checkpoint_load(path, c.m, NULL, NULL), AG_OK);
    ag_named_tensor lc[TU_MAX_SNAP];
    tu_snap module_part = at_save.tensors;          /* its first entries are the module's */
    module_part.n = ag_module_named_tensors(c.m, lc, TU_MAX_SNAP, 1);
    tu_snap_assert_equals(&module_part, module_part.n, lc);
    ck_assert_int_eq(ag_optim_steps(c.o), 0);
    ag_rng_get_state(c.r, c_rng_after);
    ck_assert(!memcmp(c_rng, c_rng_after, sizeof c_rng));
    tu_snap_free(&at_save.tensors), tu_snap_free(&at_end.tensors);
    run_free(&a), run_free(&b), run_free(&c);
    tu_dir_remove(&d);
}
END_TEST

/* Asserts loading path into x fails with the parts and changes nothing. */
static void assert_refused(run *x, const char *path, ag_status want, const char *part1,
                           const char *part2)
{
    full_snap s;
    full_take(&s, x->m, x->o, x->r);
    tu_assert_failed(ag_checkpoint_load(path, x->m, x->o, x->r), want, "ag_checkpoint_load: ",
                     part1, part2);
    full_assert_equals(&s, x->m, x->o, x->r);
    tu_snap_free(&s.tensors);
}

START_TEST(test_truncated_checkpoints_are_refused)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *good = tu_path(&d, "good.ckpt"), *cut = tu_path(&d, "cut.ckpt");
    run a = trained_and_saved(good), b = run_new(2, 0.9, 1234);
    train(b.m, b.o, b.r, 1);                        /* some state to keep */
    size_t n;
    unsigned char *buf = tu_read(good, &n);
    size_t hl = buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16;
    const struct { size_t at; const char *why; } cuts[] = {
        {0, "too short"}, {3, "too short"}, {8, "runs past the end of the file"},
        {8 + hl / 3, "runs past the end of the file"}, {8 + hl - 1, "runs past the end"},
        {8 + hl, "run past the end of the data"}, {8 + hl + 20, "run past the end of the data"},
        {n - 5, "run past the end of the data"},
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        tu_write(cut, buf, cuts[i].at);
        assert_refused(&b, cut, AG_ERR_FORMAT, cut, cuts[i].why);
    }
    free(buf);
    run_free(&a), run_free(&b);
    tu_dir_remove(&d);
}
END_TEST

START_TEST(test_corrupted_checkpoints_are_refused)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *good = tu_path(&d, "good.ckpt"), *bad = tu_path(&d, "bad.ckpt");
    run a = trained_and_saved(good), b = run_new(2, 0.9, 1234);
    size_t n;
    unsigned char *buf = tu_read(good, &n);
    /* header length bytes flipped */
    for (int byte = 0; byte < 8; byte += 3) {
        unsigned char *c = malloc(n);
        memcpy(c, buf, n);
        c[byte] ^= 0x40;
        tu_write(bad, c, n);
        free(c);
        assert_refused(&b, bad, AG_ERR_FORMAT, bad, byte ? "header length" : "invalid JSON");
    }
    /* the generator's U64 [4] comes first: data_offsets [0,32] */
    static const struct { const char *from, *to, *why; } patches[] = {
        {"{\"__metadata__\"", "{\"__metadata__'", "invalid JSON header"},
        {"\"U64\"", "\"U65\"", "tensor 'rng.state': unknown dtype 'U65'"},
        {"[0,32]", "[0,36]", "tensor 'rng.state': data_offsets [0,36] hold 36 bytes, but shape "
                             "[4] of U64 needs 32"},
        {"[0,32]", "[8,40]", "data bytes 0 to 8 belong to no tensor (before tensor 'rng.state')"},
        {"\"optim.steps\":\"3\"", "\"optim.steps\":\"x\"", "__metadata__ 'optim.steps' is 'x', "
                                                           "not a step count"},
        {"\"optim.lrs\":\"0", "\"optim.lrs\":\"-", "'optim.lrs' is '-.016666666666666"},
        {"\"optim.lrs\":\"0", "\"optim.lrs\":\",", "learning rates (finite, >= 0, comma"},
        {"\"optim.base_lrs\"", "\"optim.base_lXs\"", "__metadata__ 'optim.base_lrs' is missing"},
        {"\"optim.groups\":\"1\"", "\"optim.groups\":\"2\"", "the file holds '2' parameter "
                                                             "groups ('optim.groups'), but the "
                                                             "optimizer has 1"},
        {"\"optim.group_sizes\":\"3\"", "\"optim.group_sizes\":\"2\"", "'optim.group_sizes' is "
                                                                       "'2', but the optimizer's "
                                                                       "1 groups do not have"},
        {"\"ag.checkpoint\":\"2\"", "\"ag.checkpoint\":\"3\"", "checkpoint version '3' is not "
                                                               "supported (this library reads "
                                                               "versions 1 and 2)"},
        {"TestMomentum", "TestMomentuX", "the file holds TestMomentuX optimizer state, but the "
                                         "optimizer is TestMomentum"},
        {"\"rng.state\"", "\"rng.stat0\"", "tensor 'rng.state' is missing from the file"},
        {"\"optim.0.sq_sum\"", "\"optim.0.sq_suX\"", "tensor 'optim.0.sq_sum' is missing"},
        {"\"weight\"", "\"weigh0\"", "tensor 'weight' is missing from the file"},
    };
    for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
        tu_patch(good, bad, patches[i].from, patches[i].to);
        assert_refused(&b, bad, AG_ERR_FORMAT, bad, patches[i].why);
    }
    free(buf);
    run_free(&a), run_free(&b);
    tu_dir_remove(&d);
}
END_TEST

START_TEST(test_mismatched_objects_are_refused)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *path = tu_path(&d, "run.ckpt");
    run a = trained_and_saved(path);
    /* wrong shape, wrong names, wrong optimizer */
    run wide = {tu_toy_new(2, 5, "head"), NULL, ag_rng_new(3)};
    wide.o = test_opt_new(&test_ops, wide.m, 0.1);
    assert_refused(&wide, path, AG_ERR_FORMAT, "tensor 'weight' is F32 [3,4] in the file, but "
                   "the destination is F32 [3,5]", NULL);
    run renamed = {tu_toy_new(2, 4, "tail"), NULL, ag_rng_new(3)};
    renamed.o = test_opt_new(&test_ops, renamed.m, 0.1);
    assert_refused(&renamed, path, AG_ERR_FORMAT, "tensor 'tail.v' is missing from the file", NULL);
    run other = {tu_toy_new(2, 4, "head"), NULL, ag_rng_new(3)};
    other.o = test_opt_new(&other_ops, other.m, 0.1);
    assert_refused(&other, path, AG_ERR_FORMAT, "holds TestMomentum optimizer state, but the "
                   "optimizer is TestOther", NULL);
    /* a file without optimizer or generator cannot restore them */
    const char *bare = tu_path(&d, "bare.ckpt");
    ck_assert_int_eq(ag_checkpoint_save(bare, a.m, NULL, NULL), AG_OK);
    assert_refused(&other, bare, AG_ERR_FORMAT, "the file holds no optimizer state", NULL);
    full_snap s;
    full_take(&s, other.m, other.o, other.r);
    tu_assert_failed(ag_checkpoint_load(bare, other.m, NULL, other.r), AG_ERR_FORMAT,
                     "ag_checkpoint_load", "tensor 'rng.state' is missing from the file", NULL);
    full_assert_equals(&s, other.m, other.o, other.r);
    tu_snap_free(&s.tensors);
    /* a file with a tensor the module lacks */
    ck_assert_int_eq(ag_module_add_param(a.m, "extra", ag_zeros(NULL, AG_F32, 1, SHAPE(2))), AG_OK);
    ck_assert_int_eq(ag_checkpoint_save(bare, a.m, NULL, NULL), AG_OK);
    full_take(&s, other.m, other.o, other.r);
    tu_assert_failed(ag_checkpoint_load(bare, other.m, NULL, NULL), AG_ERR_FORMAT,
                     "ag_checkpoint_load", "unexpected tensor 'extra' in the file (not in the "
                     "module)", NULL);
    full_assert_equals(&s, other.m, other.o, other.r);
    tu_snap_free(&s.tensors);
    /* names that clash with the checkpoint's own */
    ag_module *clash = tu_toy_new(2, 4, "head"), *rng_child = tu_module_new();
    ck_assert_int_eq(ag_module_add_param(rng_child, "state", ag_zeros(NULL, AG_F32, 0, NULL)),
                     AG_OK);
    ck_assert_int_eq(ag_module_add_child(clash, "rng", rng_child), AG_OK);
    tu_assert_failed(ag_checkpoint_save(path, clash, NULL, a.r), AG_ERR_ARG,
                     "ag_checkpoint_save", "tensor name 'rng.state' repeats", NULL);
    tu_assert_failed(ag_checkpoint_save(path, NULL, NULL, NULL), AG_ERR_ARG,
                     "ag_checkpoint_save: module is NULL", NULL, NULL);
    tu_assert_failed(ag_checkpoint_load(path, NULL, NULL, NULL), AG_ERR_ARG,
                     "ag_checkpoint_load: module is NULL", NULL, NULL);
    tu_assert_failed(ag_checkpoint_load(tu_path(&d, "none"), clash, NULL, NULL), AG_ERR_IO,
                     "ag_checkpoint_load: ", "none: cannot open: No such file", NULL);
    ag_module_free(clash);
    run_free(&a), run_free(&wide), run_free(&renamed), run_free(&other);
    tu_dir_remove(&d);
}
END_TEST

START_TEST(test_failed_save_keeps_the_old_checkpoint)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *path = tu_path(&d, "run.ckpt");
    run a = trained_and_saved(path);
    tu_write(tu_path(&d, "plain"), "x", 1);
    const char *under = tu_path(&d, "plain/run.ckpt");
    tu_assert_failed(ag_checkpoint_save(under, a.m, a.o, a.r), AG_ERR_IO,
                     "ag_checkpoint_save: ", under, "Not a directory");
    /* the disk fills up half-way through a save over the old file */
    size_t n0, n1;
    unsigned char *before = tu_read(path, &n0);
    train(a.m, a.o, a.r, 1);
    tu_fsize lim;
    tu_fsize_limit(&lim, n0 / 2);
    ag_status s = ag_checkpoint_save(path, a.m, a.o, a.r);
    tu_fsize_restore(&lim);
    tu_assert_failed(s, AG_ERR_IO, "ag_checkpoint_save: ", path, "File too large");
    unsigned char *after = tu_read(path, &n1);
    ck_assert(n0 == n1 && !memcmp(before, after, n0));
    ck_assert_int_eq(tu_dir_count(&d, ".tmp."), 0);
    /* and the old checkpoint still loads */
    run b = run_new(2, 0.9, 1234);
    ck_assert_int_eq(ag_checkpoint_load(path, b.m, b.o, b.r), AG_OK);
    ck_assert_int_eq(ag_optim_steps(b.o), 3);
    free(before), free(after);
    run_free(&a), run_free(&b);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_checkpoint(void)
{
    Suite *s = suite_create("checkpoint");
    TU_ADD(s, test_resume_is_bit_identical);
    TU_ADD(s, test_truncated_checkpoints_are_refused);
    TU_ADD(s, test_corrupted_checkpoints_are_refused);
    TU_ADD(s, test_mismatched_objects_are_refused);
    TU_ADD(s, test_failed_save_keeps_the_old_checkpoint);
    return s;
}
