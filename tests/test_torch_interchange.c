/*
** test_torch_interchange.c: a model trained here runs in PyTorch with the
** same predictions, and one trained in PyTorch runs here, the files going
** through the NumPy-only recipe tools/safetensors_np.py (driven by
** tests/torch_interchange.py, see there). Skipped, with a notice, when
** /usr/bin/python3 cannot import numpy and torch.
*/
#include "st_test_util.h"

#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

#define PYTHON "/usr/bin/python3"
#define SCRIPT "tests/torch_interchange.py"

static int run_quiet(const char *const *argv, int quiet)
{
    pid_t pid;
    int st;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (quiet) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (quiet) posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0 || waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Sequential(Linear(4, 8), BatchNorm1d(8), ReLU(), Linear(8, 3)), f32. */
static ag_module *twin(ag_rng *rng)
{
    ag_module *m = ag_sequential_new(4, (ag_module *[]){
        ag_linear_new(4, 8, 1, AG_F32, rng), ag_batchnorm1d_new(8, 1e-5, 0.1, 1, AG_F32),
        ag_relu_new(), ag_linear_new(8, 3, 1, AG_F32, rng)});
    ck_assert_ptr_nonnull(m);
    return m;
}

/* Trains m a few SGD steps on three blobs; x gets 6 inputs [6, 4]. */
static void train_here(ag_module *m, ag_rng *rng, ag_tensor **x6)
{
    static const double centers[3][4] = {{2, 0, 0, 1}, {-1, 2, 0, 0}, {0, -2, 1, -1}};
    int64_t y[30];
    ag_tensor *x = ag_rand_normal(NULL, rng, AG_F32, 2, SHAPE(30, 4), 0, 0.7);
    for (int i = 0; i < 30; i++) {
        y[i] = i % 3;
        for (int j = 0; j < 4; j++)
            ag_tensor_set(x, i * 4 + j, ag_tensor_get(x, i * 4 + j) + centers[i % 3][j]);
    }
    ag_tensor *params[8];
    int np = ag_module_parameters(m, params, 8);
    ag_sgd_opts so = ag_sgd_defaults();
    so.lr = 0.2;
    ag_optim *opt = ag_sgd_new(np, params, &so);
    ag_tape *t = ag_tape_new();
    for (int step = 0; step < 10; step++) {
        ag_tensor *loss = ag_cross_entropy_loss(t, ag_module_forward(m, t, x), y,
                                                AG_REDUCTION_MEAN);
        ck_assert_msg(loss && ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
        ck_assert_int_eq(ag_optim_step(opt), AG_OK);
        ag_optim_zero_grad(opt);
        ag_tape_reset(t);
    }
    *x6 = ag_zeros(NULL, AG_F32, 2, SHAPE(6, 4));
    for (int i = 0; i < 24; i++) ag_tensor_set(*x6, i, ag_tensor_get(x, i));
    ag_tape_free(t);
    ag_optim_free(opt);
    ag_tensor_free(x);
}

/* m's evaluation-mode predictions on x (a persistent copy). */
static ag_tensor *predict(ag_module *m, ag_tensor *x)
{
    ag_tape *t = ag_tape_new();
    ag_module_train(m, 0);
    ag_tensor *y = ag_module_forward(m, t, x);
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    ag_tensor *out = ag_zeros(NULL, AG_F32, 2, SHAPE(6, 3));
    for (int i = 0; i < 18; i++) ag_tensor_set(out, i, ag_tensor_get(y, i));
    ag_tape_free(t);
    return out;
}

START_TEST(test_models_move_between_pytorch_and_the_library)
{
    if (access(PYTHON, X_OK) != 0 ||
        run_quiet((const char *const[]){PYTHON, "-c", "import torch, numpy", NULL}, 1) != 0) {
        printf("torch_interchange: the PyTorch round trip is SKIPPED: %s cannot import torch "
               "and numpy (apt-get install python3-torch)\n", PYTHON);
        return;
    }
    ck_assert_msg(access(SCRIPT, R_OK) == 0, "%s not found: run the tests from the repository "
                  "root", SCRIPT);
    tu_dir d;
    tu_dir_make(&d);
    ag_rng *rng = ag_rng_new(5);
    ag_module *m = twin(rng);
    ag_tensor *x;
    train_here(m, rng, &x);
    ag_tensor *y = predict(m, x);
    const char *kv[2] = {"classes", "red,green,blue"};
    ck_assert_int_eq(ag_module_save_meta(m, tu_path(&d, "ag_model.st"), 1, kv), AG_OK);
    ag_named_tensor io[2] = {{"x", x, 0}, {"y", y, 0}};
    ck_assert_int_eq(ag_safetensors_save(tu_path(&d, "ag_io.st"), 2, io, 0, NULL), AG_OK);
    ag_tensor_set(y, 4, ag_tensor_get(y, 4) + 1e-3);
    ck_assert_int_eq(ag_safetensors_save(tu_path(&d, "ag_io_bad.st"), 2, io, 0, NULL), AG_OK);
    ck_assert_int_eq(run_quiet((const char *const[]){PYTHON, SCRIPT, d.path, NULL}, 0), 0);
    /* PyTorch's model, loaded here, predicts what it predicted there */
    ag_module *back = twin(rng);
    ag_safetensors *f;
    ck_assert_int_eq(ag_safetensors_open(tu_path(&d, "pt_model.st"), &f), AG_OK);
    ck_assert_int_eq(ag_module_load_file(back, f, AG_LOAD_STRICT), AG_OK);
    ck_assert_str_eq(ag_safetensors_meta(f, "classes"), "red,green,blue");
    ag_safetensors_close(f);
    ck_assert(ag_tensor_get(ag_module_get(back, "1.num_batches_tracked"), 0) == 30);
    ag_tensor *px = ag_zeros(NULL, AG_F32, 2, SHAPE(6, 4));
    ag_tensor *py = ag_zeros(NULL, AG_F32, 2, SHAPE(6, 3));
    ag_named_tensor pio[2] = {{"x", px, 0}, {"y", py, 0}};
    ck_assert_int_eq(ag_safetensors_load(tu_path(&d, "pt_io.st"), 2, pio, AG_LOAD_STRICT), AG_OK);
    ag_tensor *mine = predict(back, px);
    double worst = 0;
    for (int i = 0; i < 18; i++)
        worst = fmax(worst, fabs(ag_tensor_get(mine, i) - ag_tensor_get(py, i)));
    ck_assert_msg(worst <= 1e-5, "the library's predictions differ from PyTorch's by %g", worst);
    ck_assert(ag_tensor_get(py, 0) != 0 || ag_tensor_get(py, 1) != 0);   /* real outputs */
    ag_tensor_free(x), ag_tensor_free(y), ag_tensor_free(px), ag_tensor_free(py);
    ag_tensor_free(mine);
    ag_module_free(m), ag_module_free(back);
    ag_rng_free(rng);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_torch_interchange(void)
{
    Suite *s = suite_create("torch_interchange");
    TU_ADD(s, test_models_move_between_pytorch_and_the_library);
    return s;
}
