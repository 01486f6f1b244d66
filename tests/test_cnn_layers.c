/*
** test_cnn_layers.c: the layers of ag_cnn_layers.h. The pooling layers
** give their ops' results; BatchNorm2d against numbers PyTorch 1.13
** produced (two training steps with the running statistics, the gradients
** of the first, evaluation, the cumulative average), gradcheck and
** gradgradcheck in f64 in both modes; Dropout2d's whole-channel masks and
** evaluation; Flatten and Unflatten; constructor and forward errors; and
** a model of all of them saved with ag_module_save, loaded into the same
** torch.nn model by tests/cnn_torch_check.py, giving the same outputs and
** running statistics (skipped, with a line saying so, without PyTorch).
*/
#include "pool_test_util.h"
#include "st_test_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

#define assert_last_error(part)                                               \
    ck_assert_msg(strstr(ag_last_error(), (part)) != NULL,                    \
                  "last error '%s' lacks '%s'", ag_last_error(), (part))

static ag_tensor *module_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_module_forward(ctx, t, in[0]);
}

static void set_values(ag_tensor *x, const double *v, int64_t n)
{
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(ag_tensor_numel(x), n);
    for (int64_t i = 0; i < n; i++) ck_assert_int_eq(ag_tensor_set(x, i, v[i]), AG_OK);
}

/* ------------------------------------------------------- pooling --- */

START_TEST(test_pool_layers_are_their_ops)
{
    ag_pool2d_opts o = {.stride = {2, 1}, .padding = {1, 1}, .ceil_mode = 1};
    ag_module *mp = ag_maxpool2d_new(3, 2, &o), *ap = ag_avgpool2d_new(3, 2, &o);
    ag_module *ad = ag_adaptive_avgpool2d_new(2, 3), *dflt = ag_maxpool2d_new(2, 2, NULL);
    ck_assert_str_eq(mp->ops->type, "MaxPool2d");
    ck_assert_str_eq(ap->ops->type, "AvgPool2d");
    ck_assert_str_eq(ad->ops->type, "AdaptiveAvgPool2d");
    ck_assert_int_eq(ag_module_named_tensors(mp, NULL, 0, 1), 0);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = pt_tensor(AG_F32, 4, SHAPE(2, 3, 5, 6));
    ag_tensor *pairs[4][2] = {
        {ag_module_forward(mp, t, x), ag_max_pool2d(t, x, 3, 2, &o)},
        {ag_module_forward(ap, t, x), ag_avg_pool2d(t, x, 3, 2, &o)},
        {ag_module_forward(ad, t, x), ag_adaptive_avg_pool2d(t, x, 2, 3)},
        {ag_module_forward(dflt, t, x), ag_max_pool2d(t, x, 2, 2, NULL)}};
    for (int k = 0; k < 4; k++) {
        ck_assert_ptr_nonnull(pairs[k][0]);
        ck_assert(tu_same_bits(pairs[k][0], pairs[k][1]));
    }
    tu_assert_shape(pairs[3][0], 4, SHAPE(2, 3, 2, 3));
    o.stride[0] = 7;                  /* the layer kept its own copy of the options */
    ck_assert(tu_same_bits(ag_module_forward(mp, t, x), pairs[0][1]));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(mp), ag_module_free(ap), ag_module_free(ad), ag_module_free(dflt);
}
END_TEST

START_TEST(test_pool_layer_errors)
{
    ck_assert_ptr_null(ag_maxpool2d_new(0, 2, NULL));
    assert_last_error("ag_maxpool2d_new: kernel 0x2 must be at least 1x1");
    ck_assert_ptr_null(ag_maxpool2d_new(3, 3, &(ag_pool2d_opts){.padding = {2, 0}}));
    assert_last_error("ag_maxpool2d_new: padding 2x0 is more than half the kernel 3x3");
    ck_assert_ptr_null(ag_avgpool2d_new(2, 2, &(ag_pool2d_opts){.stride = {-1, 1}}));
    assert_last_error("ag_avgpool2d_new: stride -1x1");
    ck_assert_ptr_null(ag_avgpool2d_new(2, 2, &(ag_pool2d_opts){.dilation = {2, 2}}));
    assert_last_error("average pooling has no dilation");
    ck_assert_ptr_null(ag_maxpool2d_new(2, 2, &(ag_pool2d_opts){.exclude_pad = 1}));
    assert_last_error("exclude_pad and divisor_override are options of average pooling");
    ck_assert_ptr_null(ag_adaptive_avgpool2d_new(1, 0));
    assert_last_error("ag_adaptive_avgpool2d_new: output size 1x0 must be at least 1x1");
    ag_module *mp = ag_maxpool2d_new(2, 2, NULL);
    ag_tape *t = ag_tape_new();
    tu_assert_error(t, ag_module_forward(mp, t, NULL), AG_ERR_ARG,
                    "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))", "x is NULL");
    ag_tape_reset(t);
    ag_tensor *x = ag_zeros(NULL, AG_F32, 2, SHAPE(4, 4));
    tu_assert_error(t, ag_module_forward(mp, t, x), AG_ERR_SHAPE, "ag_max_pool2d: x is [4,4]",
                    "expected [N,C,H,W] or [C,H,W]");
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(mp);
}
END_TEST

/* --------------------------------------------------- BatchNorm2d --- */

/* PyTorch's, for the script in test_batchnorm2d_matches_pytorch. */
static const double bn_y1[24] = {
    -2.157728314001564, -1.0083393541462222, 0.14104960570911937, 1.290438565564461,
    -0.5385091419632704, 0.7866661408119437, 0.40015668333583965, 0.013647225859735511,
    1.7109930222952558, -3.3694104024506535, -1.8876260702330967, -0.4058417380155398,
    1.4546369884009382, 2.6040259482562798, -1.336736199819177, -0.18734723996383537,
    -0.04156841092256508, -0.42807786839866924, 0.897097414376545, 0.5105879569004408,
    -0.19415826198446023, 1.2876260702330966, 2.769410402450654, -2.3109930222952557};
static const double bn_dx1[24] = {
    -2.7075469651649207, -3.1801234585103417, -3.652699951855764, -4.125276445201186,
    1.3480078542095844, 1.6806458664991784, 1.2983456562061604, 0.9160454459131424,
    -7.848622668477864, -3.2171686273965516, -3.4743114298846898, -3.7314542323728284,
    1.6245281790989523, 1.1519516857535306, 5.680871724612576, 5.208295231267154,
    -1.0947800015587954, -1.4770802118518134, -1.1444421995622194, -1.5267424098552373,
    3.7314542323728284, 3.4743114298846898, 3.2171686273965516, 7.848622668477864};
static const double bn_y2[24] = {
    -1.6651025651146296, -0.41389062022324663, 0.8373213246681365, 2.0885332695595196,
    0.7883675217048766, 0.37129687340774886, -0.04577377488937883, -0.46284442318650654,
    2.653172355128596, -2.6459780391208474, -1.1003925074647598, 0.44519302419132795,
    2.2672778331154313, -2.0225916922264533, -0.7713797473350703, 0.47983219755631273,
    -0.5224259443718104, 0.9075305640754845, 0.4904599157783568, 0.07338926748122909,
    0.6659909572850548, 2.2115764889411422, -3.087573905308301, -1.5419883736522133};
static const double bn_ye[24] = {
    -4.000386333640881, -2.1973110711054327, -0.3942358085699844, 1.4088394539654636,
    -0.8656591201987607, 1.2056766874360039, 0.6015370768758643, -0.002602533684275418,
    2.505293453356893, -5.4612254498308515, -3.137657436401093, -0.814089422971334,
    1.6664216343276705, 3.469496896863119, -2.712475431829846, -0.9094001692943982,
    -0.08890819233572395, -0.6930478028958637, 1.378288004738901, 0.7741483941787614,
    -0.48215113533851134, 1.8414168780912474, 4.164984891521006, -3.801534011666738};

/* x values of the script: ((i * 7 + k) % 31 - 15) / 4. */
static ag_tensor *bn_input(ag_dtype dt, int k, double scale, double shift)
{
    double v[24];
    for (int i = 0; i < 24; i++) v[i] = (double)((i * 7 + k) % 31 - 15) / 4 * scale + shift;
    return tu_tensor(dt, 4, SHAPE(2, 3, 2, 2), v);
}

/*
** PyTorch 1.13, float64:
**   def xs(n, k): return torch.tensor([((i * 7 + k) % 31 - 15) / 4 for i in range(n)],
**                                     dtype=torch.float64)
**   bn = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.3).double()
**   bn.weight[:] = [1.5, -0.5, 2.]; bn.bias[:] = [0.1, 0.2, -0.3]   (float64, no_grad)
**   x1 = xs(24, 0).reshape(2, 3, 2, 2).requires_grad_()
**   x2 = xs(24, 5).reshape(2, 3, 2, 2) * 0.5 + 1
**   y1 = bn(x1); y1.backward(torch.arange(1., 25, dtype=torch.float64).reshape(2, 3, 2, 2))
**   # y1, x1.grad, bn.weight.grad, bn.bias.grad
**   y2 = bn(x2)   # y2, bn.running_mean, bn.running_var
**   bn.eval(); ye = bn(x1)
**   bc = torch.nn.BatchNorm2d(3, momentum=None, affine=False).double(); bc(x1); bc(x2)
**   # bc.running_mean, bc.running_var
*/
START_TEST(test_batchnorm2d_matches_pytorch)
{
    for (int dt = 0; dt < 2; dt++) {
        const double tol = dt == AG_F64 ? 1e-12 : 2e-5;
        ag_module *bn = ag_batchnorm2d_new(3, 1e-3, 0.3, 1, (ag_dtype)dt);
        ck_assert_str_eq(bn->ops->type, "BatchNorm2d");
        set_values(ag_module_get(bn, "weight"), VALS(1.5, -0.5, 2), 3);
        set_values(ag_module_get(bn, "bias"), VALS(0.1, 0.2, -0.3), 3);
        ag_tape *t = ag_tape_new();
        ag_tensor *x1 = bn_input((ag_dtype)dt, 0, 1, 0), *x2 = bn_input((ag_dtype)dt, 5, 0.5, 1);
        ag_set_requires_grad(x1, 1);
        ag_tensor *y1 = ag_module_forward(bn, t, x1);
        tu_assert_values(y1, bn_y1, 24, tol);
        ag_tensor *dy = ag_reshape(t, ag_arange(t, (ag_dtype)dt, 1, 25, 1), 4, SHAPE(2, 3, 2, 2));
        ag_tensor *in[3] = {x1, ag_module_get(bn, "weight"), ag_module_get(bn, "bias")}, *g[3];
        ck_assert_int_eq(ag_grad(t, 1, &y1, &dy, 3, in, g, 0), AG_OK);
        tu_assert_values(g[0], bn_dx1, 24, tol * 10);
        tu_assert_values(g[1], VALS(17.952360896788193, -7.564542239175181, 14.07695115606679), 3,
                         tol * 10);
        tu_assert_values(g[2], VALS(68, 100, 132), 3, tol * 10);
        ag_tensor *y2 = ag_module_forward(bn, t, x2);     /* (the macro repeats its argument) */
        tu_assert_values(y2, bn_y2, 24, tol);
        tu_assert_values(ag_module_get(bn, "running_mean"), VALS(0.2296875, 0.163125,
                         0.38718749999999996), 3, tol);
        tu_assert_values(ag_module_get(bn, "running_var"), VALS(2.118487723214286,
                         2.0966908482142856, 2.267952008928571), 3, tol);
        ck_assert_double_eq(ag_tensor_get(ag_module_get(bn, "num_batches_tracked"), 0), 2);
        ag_module_train(bn, 0);
        ag_tensor *ye = ag_module_forward(bn, t, x1);
        tu_assert_values(ye, bn_ye, 24, tol);
        ck_assert_double_eq(ag_tensor_get(ag_module_get(bn, "num_batches_tracked"), 0), 2);
        ag_module *bc = ag_batchnorm2d_new(3, 1e-5, AG_MOMENTUM_CUMULATIVE, 0, (ag_dtype)dt);
        ck_assert_ptr_nonnull(ag_module_forward(bc, t, x1));
        ck_assert_ptr_nonnull(ag_module_forward(bc, t, x2));
        tu_assert_values(ag_module_get(bc, "running_mean"), VALS(0.3359375, 0.2578125, 0.6640625),
                         3, tol);
        tu_assert_values(ag_module_get(bc, "running_var"), VALS(3.608119419642857,
                         3.5562220982142856, 3.9195033482142856), 3, tol);
        ag_tape_free(t);
        ag_tensor_free(x1), ag_tensor_free(x2);
        ag_module_free(bn), ag_module_free(bc);
    }
}
END_TEST

START_TEST(test_batchnorm2d_gradchecks_and_errors)
{
    ag_module *bn = ag_batchnorm2d_new(3, 1e-5, 0.1, 1, AG_F64);
    ag_rng *r = ag_rng_new(2);
    ag_init_uniform(ag_module_get(bn, "weight"), 0.5, 1.5, r);
    ag_init_uniform(ag_module_get(bn, "bias"), -0.5, 0.5, r);
    ag_tensor *x = tu_random(4, SHAPE(2, 3, 2, 3), -1, 1, 8), *in[3] = {x};
    ck_assert_int_eq(ag_module_parameters(bn, in + 1, 2), 2);
    tu_assert_gradchecks(module_fn, bn, 3, in);         /* training */
    ag_module_train(bn, 0);                             /* running stats moved */
    tu_assert_gradchecks(module_fn, bn, 3, in);
    ag_tape *t = ag_tape_new();
    ag_tensor *x3 = ag_zeros(NULL, AG_F64, 3, SHAPE(8, 3, 5));
    tu_assert_error(t, ag_module_forward(bn, t, x3), AG_ERR_SHAPE, "BatchNorm2d(3): x is [8,3,5]",
                    "expected [N, 3, H, W]");
    ag_tape_reset(t);
    ag_module_train(bn, 1);
    ag_tensor *one = ag_zeros(NULL, AG_F64, 4, SHAPE(1, 3, 1, 1));
    tu_assert_error(t, ag_module_forward(bn, t, one), AG_ERR_SHAPE, "BatchNorm2d(3): Expected "
                    "more than 1 value per channel when training", "got input size [1,3,1,1]");
    ck_assert_ptr_null(ag_batchnorm2d_new(0, 1e-5, 0.1, 1, AG_F32));
    assert_last_error("ag_batchnorm2d_new: num_features 0");
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(x3), ag_tensor_free(one);
    ag_rng_free(r);
    ag_module_free(bn);
}
END_TEST

/* ----------------------------------------------------- Dropout2d --- */

START_TEST(test_dropout2d_drops_whole_channels)
{
    ag_rng *r = ag_rng_new(11), *twin = ag_rng_new(11);
    ag_module *d = ag_dropout2d_new(0.4, r);
    ck_assert_str_eq(d->ops->type, "Dropout2d");
    ag_tape *t = ag_tape_new();
    ag_tensor *x = pt_tensor(AG_F64, 4, SHAPE(4, 5, 3, 2));
    ag_tensor *y = ag_module_forward(d, t, x);
    ag_tensor *mask = ag_dropout_mask(t, twin, AG_F64, 4, SHAPE(4, 5, 1, 1), 0.4);
    int dropped = 0;
    for (int64_t nc = 0; nc < 20; nc++) {
        double m = ag_tensor_get(mask, nc);
        dropped += m == 0;
        for (int64_t k = 0; k < 6; k++)
            ck_assert_double_eq_tol(ag_tensor_get(y, nc * 6 + k), pt_val(nc * 6 + k) * m, 1e-15);
    }
    ck_assert(dropped > 0 && dropped < 20);
    /* [N, C, L]: each row dropped whole */
    ag_tensor *x3 = pt_tensor(AG_F32, 3, SHAPE(3, 4, 5));
    ag_tensor *y3 = ag_module_forward(d, t, x3);
    for (int64_t nc = 0; nc < 12; nc++) {
        double m = -1;                      /* the row's factor: 0 or 1 / 0.6 */
        for (int64_t k = 0; k < 5; k++) {
            double v = pt_val(nc * 5 + k), yv = ag_tensor_get(y3, nc * 5 + k);
            if (v != 0 && m < 0) m = yv / v;
            if (m >= 0) ck_assert_double_eq_tol(yv, v * m, 1e-5);
        }
        ck_assert(fabs(m) < 1e-12 || fabs(m - 1 / 0.6) < 1e-5);
    }
    ag_module_train(d, 0);
    ck_assert_ptr_eq(ag_module_forward(d, t, x), x);
    ag_module_train(d, 1);
    ag_tensor *x2 = ag_zeros(NULL, AG_F64, 2, SHAPE(4, 5));
    tu_assert_error(t, ag_module_forward(d, t, x2), AG_ERR_SHAPE, "Dropout2d(p=0.4): x is [4,5]",
                    "expected [N, C, H, W] or [N, C, L]");
    ck_assert_ptr_null(ag_dropout2d_new(1.5, r));
    assert_last_error("ag_dropout2d_new: p is 1.5");
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(x3), ag_tensor_free(x2);
    ag_module_free(d);
    ag_rng_free(r), ag_rng_free(twin);
}
END_TEST

/* ---------------------------------------------- Flatten, Unflatten --- */

START_TEST(test_flatten_and_unflatten)
{
    ag_module *f = ag_flatten_new(1, -1), *f2 = ag_flatten_new(0, 1);
    ag_module *u = ag_unflatten_new(1, 3, (int64_t[]){2, -1, 3});
    ag_module *u2 = ag_unflatten_new(-1, 2, (int64_t[]){1, -1});
    ck_assert_str_eq(f->ops->type, "Flatten");
    ck_assert_str_eq(u->ops->type, "Unflatten");
    ag_tape *t = ag_tape_new();
    ag_tensor *x = pt_tensor(AG_F64, 4, SHAPE(2, 3, 2, 2));
    ag_tensor *y = ag_module_forward(f, t, x);
    tu_assert_shape(y, 2, SHAPE(2, 12));
    tu_assert_shape(ag_module_forward(f2, t, x), 3, SHAPE(6, 2, 2));
    ag_tensor *z = ag_module_forward(u, t, y);
    tu_assert_shape(z, 4, SHAPE(2, 2, 2, 3));
    tu_assert_shape(ag_module_forward(u2, t, x), 5, SHAPE(2, 3, 2, 1, 2));
    for (int64_t i = 0; i < 24; i++) ck_assert_double_eq(ag_tensor_get(z, i), pt_val(i));
    ag_tensor *in[1] = {x}, *flat = pt_tensor(AG_F64, 2, SHAPE(2, 12));
    tu_assert_gradchecks(module_fn, u, 1, &flat);
    tu_assert_gradchecks(module_fn, f, 1, in);
    ag_module *bad = ag_unflatten_new(1, 2, (int64_t[]){5, 3});
    tu_assert_error(t, ag_module_forward(bad, t, y), AG_ERR_SHAPE,
                    "Unflatten(dim=1, unflattened_size=(5, 3)): the sizes do not multiply up",
                    "size 12 of dim 1 of x [2,12]");
    ag_tape_reset(t);
    ag_module *far = ag_unflatten_new(4, 1, (int64_t[]){1});
    tu_assert_error(t, ag_module_forward(far, t, flat), AG_ERR_AXIS, "dim 4 is out of range",
                    "x [2,12]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(f, t, ag_zeros(t, AG_F64, 1, SHAPE(3))), AG_ERR_AXIS,
                    "ag_flatten", "");
    ck_assert_ptr_null(ag_unflatten_new(1, 2, (int64_t[]){-1, -1}));
    assert_last_error("ag_unflatten_new: size 1 is -1");
    ck_assert_ptr_null(ag_unflatten_new(1, 0, (int64_t[]){1}));
    assert_last_error("ag_unflatten_new: 0 sizes");
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(flat);
    ag_module_free(f), ag_module_free(f2), ag_module_free(u), ag_module_free(u2);
    ag_module_free(bad), ag_module_free(far);
}
END_TEST

/* ------------------------------------------------- to PyTorch --- */

#define PYTHON "/usr/bin/python3"
#define CHECKER "tests/cnn_torch_check.py"

/* Runs argv and returns its exit status, -1 if it could not run. */
static int run_quiet(const char *const *argv, int quiet)
{
    pid_t pid;
    int st;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (quiet) {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    int r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0 || waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The model of cnn_torch_check.py, f64, its Linear drawn from rng. */
static ag_module *torch_twin_model(ag_rng *rng)
{
    ag_module *m = ag_sequential_new(9, (ag_module *[]){
        ag_batchnorm2d_new(3, 1e-3, 0.3, 1, AG_F64), ag_relu_new(), ag_maxpool2d_new(2, 2, NULL),
        ag_avgpool2d_new(3, 3, &(ag_pool2d_opts){.stride = {1, 1}, .padding = {1, 1},
                                                 .exclude_pad = 1}),
        ag_adaptive_avgpool2d_new(2, 2), ag_flatten_new(1, -1),
        ag_linear_new(12, 5, 1, AG_F64, rng), ag_unflatten_new(1, 3, (int64_t[]){5, 1, 1}),
        ag_dropout2d_new(0.0, rng)});
    ck_assert_ptr_nonnull(m);
    ag_init_uniform(ag_module_get(m, "0.weight"), 0.5, 1.5, rng);
    ag_init_uniform(ag_module_get(m, "0.bias"), -0.5, 0.5, rng);
    return m;
}

START_TEST(test_cnn_model_loads_into_torch_with_the_same_outputs)
{
    if (access(PYTHON, X_OK) != 0 ||
        run_quiet((const char *const[]){PYTHON, "-c", "import torch, numpy", NULL}, 1) != 0) {
        printf("cnn_layers: the PyTorch round trip is SKIPPED: %s cannot import torch and numpy "
               "(apt-get install python3-torch)\n", PYTHON);
        return;
    }
    ck_assert_msg(access(CHECKER, R_OK) == 0, "%s not found: run the tests from the repository "
                  "root", CHECKER);
    tu_dir d;
    tu_dir_make(&d);
    ag_rng *rng = ag_rng_new(21);
    ag_module *m = torch_twin_model(rng);
    ag_tape *t = ag_tape_new();
    ag_tensor *x0 = ag_rand_normal(NULL, rng, AG_F64, 4, SHAPE(4, 3, 9, 10), 0.5, 2);
    ag_tensor *x = ag_rand_normal(NULL, rng, AG_F64, 4, SHAPE(4, 3, 9, 10), -0.5, 1.5);
    ck_assert_ptr_nonnull(ag_module_forward(m, t, x0));     /* the running stats move */
    ck_assert_int_eq(ag_module_save(m, tu_path(&d, "m0.st")), AG_OK);
    ag_tensor *y_train = ag_module_forward(m, t, x);
    ck_assert_int_eq(ag_module_save(m, tu_path(&d, "m1.st")), AG_OK);
    ag_module_train(m, 0);
    ag_tensor *y_eval = ag_module_forward(m, t, x);
    tu_assert_shape(y_eval, 4, SHAPE(4, 5, 1, 1));
    ag_named_tensor io[3] = {{"x", x, 0}, {"y_train", y_train, 0}, {"y_eval", y_eval, 0}};
    ck_assert_int_eq(ag_safetensors_save(tu_path(&d, "io.st"), 3, io, 0, NULL), AG_OK);
    ck_assert_int_eq(run_quiet((const char *const[]){PYTHON, CHECKER, tu_path(&d, "m0.st"),
                                                     tu_path(&d, "m1.st"), tu_path(&d, "io.st"),
                                                     NULL}, 0), 0);
    /* the check can fail: one output element off */
    ag_tensor_set(y_eval, 7, ag_tensor_get(y_eval, 7) + 1e-9);
    ck_assert_int_eq(ag_safetensors_save(tu_path(&d, "io.st"), 3, io, 0, NULL), AG_OK);
    ck_assert_int_eq(run_quiet((const char *const[]){PYTHON, CHECKER, tu_path(&d, "m0.st"),
                                                     tu_path(&d, "m1.st"), tu_path(&d, "io.st"),
                                                     NULL}, 1), 1);
    ag_tape_free(t);
    ag_tensor_free(x0), ag_tensor_free(x);
    ag_module_free(m);
    ag_rng_free(rng);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_cnn_layers(void)
{
    Suite *s = suite_create("cnn_layers");
    TU_ADD(s, test_pool_layers_are_their_ops);
    TU_ADD(s, test_pool_layer_errors);
    TU_ADD(s, test_batchnorm2d_matches_pytorch);
    TU_ADD(s, test_batchnorm2d_gradchecks_and_errors);
    TU_ADD(s, test_dropout2d_drops_whole_channels);
    TU_ADD(s, test_flatten_and_unflatten);
    TU_ADD(s, test_cnn_model_loads_into_torch_with_the_same_outputs);
    return s;
}
