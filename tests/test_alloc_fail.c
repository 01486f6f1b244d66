/*
** test_alloc_fail.c: allocation-failure injection. tests/tests.mk links
** the runner with --wrap=malloc,calloc,realloc,aligned_alloc,free, so the
** __wrap_ functions below see every allocation of the library. They pass
** through until a test arms them; armed with N, every Nth allocation from
** that point fails (returns NULL with errno ENOMEM).
**
** A scenario is a group of public calls (tape and tensor creation, a
** forward pass of a small MLP built from nn/ layers, ag_backward, ag_grad
** with create_graph and a second-order backward, optimizer construction
** and steps, checkpoint save and load, module construction, datasets, a
** training loop over resets, the safetensors reader, gradcheck).
** It is run once unarmed to count its allocations (K) and record its
** results, then from scratch for every N = 1..K+1 with every Nth
** allocation failing, and for N = 1..K/2 with only the Nth failing: set up
** unarmed, run armed, disarm, and check
**   - a run that saw an injected failure failed cleanly: an error status
**     (or NULL) with a message, on the tape or in ag_last_error(); or it
**     succeeded (some failures are absorbed, e.g. a reset that cannot
**     coalesce its blocks) with results bit-identical to the reference;
**   - a run that saw none succeeded with the reference results;
**   - the scenario's own promises on failure (an old checkpoint file is
**     untouched and no temporary file is left; a failed load changes
**     nothing);
**   - after everything is freed, no block allocated since the setup began
**     is live (the wrappers keep a set of them, so a leak is pinned to its
**     scenario and N here; Valgrind's leak check sees it too).
** No scenario needed excluding: none crashed or leaked.
** Check allocates too, so nothing asserts while armed. The thread pool is
** kept at one thread (ag_set_num_threads(1)) so the counts are exact.
*/
#include "st_test_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

/* ------------------------------------------------------ the wrappers --- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
void __wrap_free(void *p);

static atomic_int af_armed;           /* 0: pass through */
static atomic_long af_every;          /* N; 0 counts without failing */
static atomic_int af_once;            /* 1: only the Nth fails, not every Nth */
static atomic_long af_count;          /* allocations since arming */
static atomic_long af_failed;         /* failures injected since arming */

/*
** Live allocations made while tracking is on, in an open-addressing set,
** so that a scenario's leaks are counted exactly: frees of blocks made
** before tracking began, or made inside the C library (Check's messages
** come from libc's own allocations), do not count.
*/
#define AF_SET 65536
static void *af_set[AF_SET];
static void *const af_gone = &af_set;    /* a tombstone */
static atomic_int af_tracking;
static long af_tracked;                  /* live tracked blocks */
static pthread_mutex_t af_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t af_hash(const void *p) { return ((uintptr_t)p >> 4) * 2654435761u % AF_SET; }

static void af_track(void *p)
{
    if (!p || !atomic_load_explicit(&af_tracking, memory_order_relaxed)) return;
    pthread_mutex_lock(&af_lock);
    size_t h = af_hash(p);
    while (af_set[h] && af_set[h] != af_gone) h = (h + 1) % AF_SET;
    af_set[h] = p;
    af_tracked++;
    pthread_mutex_unlock(&af_lock);
}

/* Removes p from the set; 1 if it was there. */
static int af_untrack(void *p)
{
    if (!p || !atomic_load_explicit(&af_tracking, memory_order_relaxed)) return 0;
    int found = 0;
    pthread_mutex_lock(&af_lock);
    for (size_t h = af_hash(p), k = 0; af_set[h] && k < AF_SET; h = (h + 1) % AF_SET, k++)
        if (af_set[h] == p) {
            af_set[h] = af_gone;
            af_tracked--;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&af_lock);
    return found;
}

static void af_track_begin(void)
{
    memset(af_set, 0, sizeof af_set);
    af_tracked = 0;
    atomic_store(&af_tracking, 1);
}

/* Tracked blocks live now. The barrier: the compiler knows malloc and
   free as builtins that touch no other memory, and could otherwise read
   the count across a direct call to them in this file. */
static long af_live_blocks(void)
{
    __asm__ __volatile__("" ::: "memory");
    pthread_mutex_lock(&af_lock);
    long n = af_tracked;
    pthread_mutex_unlock(&af_lock);
    return n;
}

/* Stops tracking; returns the blocks still live. */
static long af_track_end(void)
{
    long n = af_live_blocks();
    atomic_store(&af_tracking, 0);
    return n;
}

/* 1 when this allocation is to fail. */
static int af_fail_now(void)
{
    if (!atomic_load_explicit(&af_armed, memory_order_relaxed)) return 0;
    long k = atomic_fetch_add(&af_count, 1) + 1, every = atomic_load(&af_every);
    if (every <= 0 || k % every != 0 || (atomic_load(&af_once) && k != every)) return 0;
    atomic_fetch_add(&af_failed, 1);
    errno = ENOMEM;
    return 1;
}

static void *af_made(void *p)
{
    af_track(p);
    return p;
}

void *__wrap_malloc(size_t n) { return af_fail_now() ? NULL : af_made(__real_malloc(n)); }

void *__wrap_calloc(size_t k, size_t n)
{
    return af_fail_now() ? NULL : af_made(__real_calloc(k, n));
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    return af_fail_now() ? NULL : af_made(__real_aligned_alloc(align, n));
}

void *__wrap_realloc(void *p, size_t n)
{
    if (af_fail_now()) return NULL;             /* p stays valid, as realloc's failure */
    int ours = !p || af_untrack(p);
    void *q = __real_realloc(p, n);
    if (!q && p && n) af_track(p);              /* a real failure: p is still there */
    else if (ours) af_track(q);
    return q;
}

void __wrap_free(void *p)
{
    af_untrack(p);
    __real_free(p);
}

static void af_arm(long every, int once)
{
    atomic_store(&af_once, once);
    atomic_store(&af_count, 0);
    atomic_store(&af_failed, 0);
    atomic_store(&af_every, every);
    atomic_store(&af_armed, 1);
}

static void af_disarm(void) { atomic_store(&af_armed, 0); }

/* ------------------------------------------------------- scenarios --- */

#define AF_OUT 96

/* Everything a scenario makes; zeroed before setup. */
typedef struct af_ctx {
    ag_tape *t;
    ag_module *m, *m2;
    ag_optim *o, *o2;
    ag_rng *init, *drop, *r, *r2;
    ag_tensor *x, *loss, *own[8];
    ag_dataset *ds[4];
    ag_safetensors *st;
    ag_gradcheck_report rep;
    int64_t targets[5];
    tu_dir dir;
    int has_dir;
    char path[256], path2[256];
    tu_snap snap;
    unsigned char *old_file;
    size_t old_len;
    double out[AF_OUT];          /* the results, compared with the reference's */
    int n_out;
    const char *msg;             /* where a failure's message is */
} af_ctx;

typedef struct af_scenario {
    const char *name;
    void (*setup)(af_ctx *c);                 /* unarmed */
    ag_status (*run)(af_ctx *c);              /* armed: the calls under test */
    void (*after)(af_ctx *c, ag_status s);    /* unarmed: scenario promises */
} af_scenario;

static void out_push(af_ctx *c, double v)
{
    if (c->n_out < AF_OUT) c->out[c->n_out++] = v;
}

static void out_tensor(af_ctx *c, const ag_tensor *x)
{
    for (int64_t i = 0; i < ag_tensor_numel(x); i++) out_push(c, ag_tensor_get(x, i));
}

/* Every parameter and buffer of m (values and, when present, grads). */
static void out_module(af_ctx *c, const ag_module *m, int grads)
{
    ag_named_tensor list[16];
    int n = ag_module_named_tensors(m, list, 16, 1);
    for (int i = 0; i < n && i < 16; i++) {
        out_tensor(c, list[i].tensor);
        if (grads) out_tensor(c, ag_tensor_grad(list[i].tensor));
    }
}

/* A tape error as the run's status (NOMEM if an op returned NULL with no
   error, which the checks then reject through the empty message). */
static ag_status tape_status(af_ctx *c)
{
    c->msg = ag_tape_errmsg(c->t);
    return ag_tape_status(c->t) != AG_OK ? ag_tape_status(c->t) : AG_ERR_NOMEM;
}

static ag_status last_status(af_ctx *c, ag_status s)
{
    c->msg = ag_last_error();
    return s;
}

/* ag_tape_new and ag_rng_new document NULL when out of memory, with no
   message (they have nowhere to put one). */
static ag_status documented_null(af_ctx *c, const char *fn)
{
    c->msg = fn;
    return AG_ERR_NOMEM;
}

/* The MLP: Linear(4, 6), BatchNorm1d(6), ReLU, Dropout(0.25), Linear(6, 3),
   f64. With c->init and c->drop set. */
static ag_module *mlp(af_ctx *c)
{
    return ag_sequential_new(5, (ag_module *[]){ag_linear_new(4, 6, 1, AG_F64, c->init),
                                                ag_batchnorm1d_new(6, 1e-5, 0.1, 1, AG_F64),
                                                ag_relu_new(), ag_dropout_new(0.25, c->drop),
                                                ag_linear_new(6, 3, 1, AG_F64, c->init)});
}

static void setup_model(af_ctx *c)
{
    c->init = ag_rng_new(11);
    c->drop = ag_rng_new(12);
    c->m = mlp(c);
    ck_assert_ptr_nonnull(c->m);
    ag_rng *r = ag_rng_new(13);
    c->x = ag_rand_normal(NULL, r, AG_F64, 2, SHAPE(5, 4), 0, 1);
    ag_rng_free(r);
    for (int i = 0; i < 5; i++) c->targets[i] = (i * 2) % 3;
    c->t = ag_tape_new();
    ck_assert_ptr_nonnull(c->t);
}

/* loss = cross_entropy(mlp(x), targets) on c->t. */
static ag_tensor *forward(af_ctx *c)
{
    ag_tensor *logits = ag_module_forward(c->m, c->t, c->x);
    return c->loss = ag_cross_entropy_loss(c->t, logits, c->targets, AG_REDUCTION_MEAN);
}

static void setup_forward(af_ctx *c)
{
    setup_model(c);
    ck_assert_ptr_nonnull(forward(c));
}

static void setup_backward(af_ctx *c)
{
    setup_forward(c);
    ck_assert_int_eq(ag_backward(c->t, c->loss), AG_OK);
}

/* --- tape and tensors */

static ag_status run_tape_new(af_ctx *c)
{
    c->t = ag_tape_new();
    if (!c->t) return documented_null(c, "ag_tape_new");
    ag_tensor *x = ag_full(c->t, AG_F64, 2, SHAPE(3, 4), 2.5);
    if (!x) return tape_status(c);
    out_tensor(c, x);
    return AG_OK;
}

static void setup_tape(af_ctx *c)
{
    c->t = ag_tape_new();
    ck_assert_ptr_nonnull(c->t);
}

/* Persistent tensors, then enough tape tensors to need more header chunks
   and arena blocks, a reset (which coalesces the blocks), and more. */
static ag_status run_tensors(af_ctx *c)
{
    ag_rng *r = c->r = ag_rng_new(5);
    if (!r) return documented_null(c, "ag_rng_new");
    ag_tensor *a = c->own[0] = ag_from_f64(NULL, AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *b = a ? c->own[1] = ag_tensor_clone(a) : NULL;
    ag_tensor *n = b ? c->own[2] = ag_rand_normal(NULL, r, AG_F32, 2, SHAPE(2, 2), 0, 1) : NULL;
    ag_tensor *e = n ? c->own[3] = ag_eye(NULL, AG_F64, 3) : NULL;
    if (!e) return last_status(c, AG_ERR_NOMEM);
    out_tensor(c, b), out_tensor(c, n);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 300; i++)
            if (!ag_full(c->t, AG_F32, 1, SHAPE(1 + i % 3), i)) return tape_status(c);
        ag_tensor *big = ag_zeros(c->t, AG_F64, 1, SHAPE(150000));
        ag_tensor *big2 = ag_ones(c->t, AG_F64, 1, SHAPE(150000));
        ag_tensor *y = ag_add(c->t, ag_rand_uniform(c->t, r, AG_F64, 1, SHAPE(4), 0, 1),
                              ag_from_f64(c->t, AG_F64, 1, SHAPE(4), VALS(1, 2, 3, 4)));
        if (!big || !big2 || !y) return tape_status(c);
        out_tensor(c, y);
        ag_tape_reset(c->t);
    }
    return AG_OK;
}

/* --- forward, backward, ag_grad */

static ag_status run_forward(af_ctx *c)
{
    if (!forward(c)) return tape_status(c);
    out_tensor(c, c->loss);
    out_module(c, c->m, 0);          /* BatchNorm's running statistics moved */
    return AG_OK;
}

static ag_status run_backward(af_ctx *c)
{
    ag_status s = ag_backward(c->t, c->loss);
    if (s != AG_OK) return c->msg = ag_tape_errmsg(c->t), s;
    out_module(c, c->m, 1);
    return AG_OK;
}

/* The parameters' grads with create_graph, then the backward of the sum
   of their squares (second order, into the parameters' grads). */
static ag_status run_grad(af_ctx *c)
{
    ag_tensor *p[8], *g[8], *sq = NULL;
    int n = ag_module_parameters(c->m, p, 8);
    ag_status s = ag_grad(c->t, 1, &c->loss, NULL, n, p, g, 1);
    if (s != AG_OK) return c->msg = ag_tape_errmsg(c->t), s;
    for (int i = 0; i < n; i++) {
        ag_tensor *term = ag_sum(c->t, ag_square(c->t, g[i]), AG_ALL, 0);
        sq = sq ? ag_add(c->t, sq, term) : term;
        out_tensor(c, g[i]);
    }
    if (!sq) return tape_status(c);
    s = ag_backward(c->t, sq);
    if (s != AG_OK) return c->msg = ag_tape_errmsg(c->t), s;
    out_tensor(c, sq);
    out_module(c, c->m, 1);
    return AG_OK;
}

/* --- optimizers */

static ag_optim *adam_for(const ag_module *m)
{
    ag_tensor *p[8];
    int n = ag_module_parameters(m, p, 8);
    ag_adam_opts o = ag_adam_defaults();
    o.lr = 0.01, o.amsgrad = 1;
    return ag_adam_new(n, p, &o);
}

static ag_status run_optim_new(af_ctx *c)
{
    c->o = adam_for(c->m);
    if (!c->o) return last_status(c, AG_ERR_NOMEM);
    ag_tensor *p[8];
    int n = ag_module_parameters(c->m, p, 8);
    ag_sgd_opts so = ag_sgd_defaults();
    so.lr = 1e-3, so.momentum = 0.9;
    c->o2 = ag_sgd_new(n, p, &so);
    if (!c->o2) return last_status(c, AG_ERR_NOMEM);
    out_push(c, ag_optim_state(c->o, NULL, 0));
    out_push(c, ag_optim_state(c->o2, NULL, 0));
    return AG_OK;
}

/* Adam (its fused update allocates nothing once its tape exists) and
   NAdam (a rule written with ops: tape tensors every step). */
static void setup_step(af_ctx *c)
{
    setup_backward(c);
    c->o = adam_for(c->m);
    ck_assert_ptr_nonnull(c->o);
    ag_tensor *p[8];
    int n = ag_module_parameters(c->m, p, 8);
    c->o2 = ag_nadam_new(n, p, NULL);
    ck_assert_ptr_nonnull(c->o2);
}

/* Two steps of each (the first makes an optimizer's private tape). */
static ag_status run_step(af_ctx *c)
{
    for (int i = 0; i < 4; i++) {
        ag_status s = ag_optim_step(i < 2 ? c->o : c->o2);
        if (s != AG_OK) return last_status(c, s);
    }
    out_module(c, c->m, 0);
    ag_named_tensor st[32];
    int n = ag_optim_state(c->o, st, 32);
    for (int i = 0; i < n && i < 32; i++) out_tensor(c, st[i].tensor);
    return AG_OK;
}

/* --- checkpoints */

/* The checkpoint's path (made in setup: tu_path asserts, and nothing
   may assert while armed). */
static const char *ckpt_path(af_ctx *c) { return c->path; }

/* An old checkpoint on disk (before the step), then one step. */
static void setup_save(af_ctx *c)
{
    setup_step(c);
    c->r = ag_rng_new(99);
    tu_dir_make(&c->dir);
    c->has_dir = 1;
    snprintf(c->path, sizeof c->path, "%s", tu_path(&c->dir, "run.ckpt"));
    ck_assert_int_eq(ag_checkpoint_save(ckpt_path(c), c->m, c->o, c->r), AG_OK);
    c->old_file = tu_read(ckpt_path(c), &c->old_len);
    ck_assert_int_eq(ag_optim_step(c->o), AG_OK);
    ag_rng_u64(c->r);
}

static ag_status run_save(af_ctx *c)
{
    ag_status s = ag_checkpoint_save(ckpt_path(c), c->m, c->o, c->r);
    return s == AG_OK ? AG_OK : last_status(c, s);
}

/* A failed save leaves the old file byte for byte and no temporary file;
   a good one is loadable and holds the new state. */
static void after_save(af_ctx *c, ag_status s)
{
    ck_assert_int_eq(tu_dir_count(&c->dir, ".tmp."), 0);
    size_t len;
    unsigned char *now = tu_read(ckpt_path(c), &len);
    if (s != AG_OK) {
        ck_assert_msg(len == c->old_len && !memcmp(now, c->old_file, len),
                      "a failed save changed the old file");
    } else {
        tu_snap_module(&c->snap, c->m);
        ck_assert_int_eq(ag_checkpoint_load(ckpt_path(c), c->m, c->o, c->r), AG_OK);
        tu_snap_assert_same(&c->snap);
        tu_snap_free(&c->snap);
    }
    free(now);
}

/* A checkpoint of one model on disk; a second model (other values) to load
   it into, with its own Adam and generator. */
static void setup_load(af_ctx *c)
{
    setup_save(c);
    ck_assert_int_eq(ag_checkpoint_save(ckpt_path(c), c->m, c->o, c->r), AG_OK);
    ag_rng *init2 = ag_rng_new(77);
    ag_rng *keep = c->init;
    c->init = init2;
    c->m2 = mlp(c);
    c->init = keep;
    ag_rng_free(init2);
    ck_assert_ptr_nonnull(c->m2);
    ag_optim_free(c->o2);               /* setup_step's NAdam */
    c->o2 = adam_for(c->m2);
    c->r2 = ag_rng_new(1);
    ck_assert_ptr_nonnull(c->o2);
    tu_snap_module(&c->snap, c->m2);
}

static ag_status run_load(af_ctx *c)
{
    ag_status s = ag_checkpoint_load(ckpt_path(c), c->m2, c->o2, c->r2);
    if (s != AG_OK) return last_status(c, s);
    out_module(c, c->m2, 0);
    out_push(c, (double)ag_optim_steps(c->o2));
    out_push(c, (double)(ag_rng_u64(c->r2) >> 12));
    return AG_OK;
}

/* A failed load changes nothing. */
static void after_load(af_ctx *c, ag_status s)
{
    if (s != AG_OK) tu_snap_assert_same(&c->snap);
}

/* Three steps of a training loop on one tape: forward, backward, step,
   zero_grad, reset (the later steps reuse the tape's memory). */
static ag_status run_training(af_ctx *c)
{
    for (int step = 0; step < 3; step++) {
        if (!forward(c)) return tape_status(c);
        out_tensor(c, c->loss);
        ag_status s = ag_backward(c->t, c->loss);
        if (s != AG_OK) return c->msg = ag_tape_errmsg(c->t), s;
        if ((s = ag_optim_step(c->o)) != AG_OK) return last_status(c, s);
        ag_optim_zero_grad(c->o);
        ag_tape_reset(c->t);
    }
    out_module(c, c->m, 0);
    return AG_OK;
}

static void setup_training(af_ctx *c)
{
    setup_model(c);
    c->o = adam_for(c->m);
    ck_assert_ptr_nonnull(c->o);
}

/* A module file, and a second model to load it into. */
static void setup_st(af_ctx *c)
{
    setup_model(c);
    tu_dir_make(&c->dir);
    c->has_dir = 1;
    snprintf(c->path, sizeof c->path, "%s", tu_path(&c->dir, "m.safetensors"));
    ck_assert_int_eq(ag_module_save(c->m, c->path), AG_OK);
    c->m2 = mlp(c);
    ck_assert_ptr_nonnull(c->m2);
}

/* The reader by hand (every entry read back), then the loaders. */
static ag_status run_st(af_ctx *c)
{
    ag_status s = ag_safetensors_open(c->path, &c->st);
    if (s != AG_OK) return last_status(c, s);
    double buf[64];
    for (int i = 0; i < ag_safetensors_count(c->st); i++) {
        ag_st_info info;
        if ((s = ag_safetensors_info(c->st, i, &info)) != AG_OK ||
            (s = ag_safetensors_read(c->st, info.name, info.dtype, info.ndim, info.shape,
                                     buf)) != AG_OK)
            return last_status(c, s);
        out_push(c, buf[0]);
    }
    ag_named_tensor list[16];
    int n = ag_module_named_tensors(c->m2, list, 16, 1);
    if ((s = ag_safetensors_load_into(c->st, n, list, AG_LOAD_STRICT)) != AG_OK)
        return last_status(c, s);
    if ((s = ag_module_load(c->m2, c->path)) != AG_OK) return last_status(c, s);
    out_module(c, c->m2, 0);
    return AG_OK;
}

/* sum(tanh(x * w)) */
static ag_tensor *gc_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum(t, ag_tanh(t, ag_mul(t, in[0], in[1])), AG_ALL, 0);
}

static void setup_gradcheck(af_ctx *c)
{
    c->own[0] = ag_from_f64(NULL, AG_F64, 1, SHAPE(3), VALS(0.3, -0.7, 1.1));
    c->own[1] = ag_from_f64(NULL, AG_F64, 1, SHAPE(3), VALS(0.5, 0.9, -0.4));
    ck_assert(c->own[0] && c->own[1]);
}

static ag_status run_gradcheck(af_ctx *c)
{
    ag_status s = ag_gradcheck(gc_fn, NULL, 2, c->own, NULL, &c->rep);
    if (s == AG_OK) out_push(c, (double)c->rep.checked);
    if (s == AG_OK) s = ag_gradgradcheck(gc_fn, NULL, 2, c->own, NULL, &c->rep);
    if (s != AG_OK) return c->msg = c->rep.message, s;
    out_push(c, (double)c->rep.checked);
    out_tensor(c, c->own[0]);                  /* restored after the perturbations */
    return AG_OK;
}

/* --- modules and data */

static void setup_rngs(af_ctx *c)
{
    c->init = ag_rng_new(11);
    c->drop = ag_rng_new(12);
}

static ag_status run_modules(af_ctx *c)
{
    c->m = mlp(c);
    if (!c->m) return last_status(c, AG_ERR_NOMEM);
    c->m2 = ag_sequential_new(4, (ag_module *[]){ag_embedding_new(5, 3, AG_F32, c->init),
                                                 ag_layernorm_new(3, 1e-5, 1, AG_F32),
                                                 ag_prelu_new(1, 0.25, AG_F32),
                                                 ag_softmax_new(-1)});
    if (!c->m2) return last_status(c, AG_ERR_NOMEM);
    out_module(c, c->m, 0);
    out_module(c, c->m2, 0);
    return AG_OK;
}

/* Image and label files of 6 samples of [2, 3]. */
static void setup_data(af_ctx *c)
{
    tu_dir_make(&c->dir);
    c->has_dir = 1;
    unsigned char img[16 + 36] = {0, 0, 8, 3, 0, 0, 0, 6, 0, 0, 0, 2, 0, 0, 0, 3};
    unsigned char lbl[8 + 6] = {0, 0, 8, 1, 0, 0, 0, 6, 1, 0, 2, 1, 0, 2};
    for (int i = 0; i < 36; i++) img[16 + i] = (unsigned char)(i * 7);
    snprintf(c->path, sizeof c->path, "%s", tu_path(&c->dir, "img"));
    snprintf(c->path2, sizeof c->path2, "%s", tu_path(&c->dir, "lbl"));
    tu_write(c->path, img, sizeof img);
    tu_write(c->path2, lbl, sizeof lbl);
    c->t = ag_tape_new();
    ck_assert_ptr_nonnull(c->t);
}

static ag_status run_data(af_ctx *c)
{
    ag_dataset *ds = c->ds[0] = ag_dataset_load_idx_classes(c->path, c->path2, 3);
    if (!ds) return last_status(c, AG_ERR_NOMEM);
    ag_status s = ag_dataset_split(ds, 4, &c->ds[1], &c->ds[2]);
    if (s != AG_OK) return last_status(c, s);
    c->ds[3] = ag_dataset_subset(ds, (const int64_t[]){5, 0, 5}, 3);
    if (!c->ds[3]) return last_status(c, AG_ERR_NOMEM);
    int64_t labels[3];
    ag_tensor *x = ag_dataset_batch(c->t, c->ds[3], NULL, 0, 3, AG_F32, labels);
    if (!x) return tape_status(c);
    ag_tensor *p = c->own[0] = ag_dataset_batch(NULL, c->ds[2], NULL, 0, 2, AG_F64, NULL);
    if (!p) return last_status(c, AG_ERR_NOMEM);
    out_tensor(c, x), out_tensor(c, p);
    for (int i = 0; i < 3; i++) out_push(c, (double)labels[i]);
    return AG_OK;
}

static void teardown(af_ctx *c)
{
    ag_safetensors_close(c->st);
    ag_optim_free(c->o), ag_optim_free(c->o2);
    ag_module_free(c->m), ag_module_free(c->m2);
    ag_tape_free(c->t);
    for (int i = 0; i < 8; i++) ag_tensor_free(c->own[i]);
    for (int i = 0; i < 4; i++) ag_dataset_free(c->ds[i]);
    ag_tensor_free(c->x);
    ag_rng_free(c->init), ag_rng_free(c->drop), ag_rng_free(c->r), ag_rng_free(c->r2);
    tu_snap_free(&c->snap);
    free(c->old_file);
    if (c->has_dir) tu_dir_remove(&c->dir);
}

/* --------------------------------------------------------- the driver --- */

/* The checks of one armed run (see the top of the file); what names it. */
static void check_run(const af_ctx *c, const af_ctx *ref, ag_status s, long failed,
                      const char *what, const char *msg)
{
    if (failed == 0 || s == AG_OK) {
        ck_assert_msg(s == AG_OK, "%s: %s with %ld failures injected: %s", what,
                      ag_status_name(s), failed, msg);
        ck_assert_msg(!ref || (c->n_out == ref->n_out &&
                               !memcmp(c->out, ref->out, (size_t)c->n_out * sizeof *c->out)),
                      "%s: succeeded after %ld failures with other results", what, failed);
    } else {
        ck_assert_msg(msg[0], "%s: %s with no message", what, ag_status_name(s));
        /* the message names the public function that failed (#11); optim/
           names optimizers by class ("Adam: out of memory"): not checked */
        ck_assert_msg(!strncmp(msg, "ag_", 3) || !strncmp(what, "optim_", 6),
                      "%s: %s: message '%s' names no function", what, ag_status_name(s), msg);
    }
}

/* Runs scenario sc once, armed with N = every (0: counting only; once:
   only the Nth allocation fails), and checks it against ref (NULL: this is
   the reference run). Returns the allocations the run made. */
static long run_once(const af_scenario *sc, long every, int once, af_ctx *c, const af_ctx *ref)
{
    memset(c, 0, sizeof *c);
    af_track_begin();
    if (sc->setup) sc->setup(c);
    ag_set_last_error(AG_OK, "%s", "");
    af_arm(every, once);
    ag_status s = sc->run(c);
    af_disarm();
    long count = atomic_load(&af_count), failed = atomic_load(&af_failed);
    char msg[512], what[128];
    snprintf(msg, sizeof msg, "%s", c->msg ? c->msg : "");
    snprintf(what, sizeof what, "%s, %s N=%ld", sc->name, once ? "only the" : "every", every);
    if (getenv("AF_VERBOSE"))
        fprintf(stderr, "%s: %ld allocations, %ld failed, %s %s\n", what, count, failed,
                ag_status_name(s), msg);
    check_run(c, ref, s, failed, what, msg);
    if (sc->after) sc->after(c, s);
    teardown(c);
    long leaked = af_track_end();
    ck_assert_msg(leaked == 0, "%s (%ld failures injected, %s '%s'): %ld blocks leaked", what,
                  failed, ag_status_name(s), msg, leaked);
    return count;
}

static void run_scenario(const af_scenario *sc)
{
    ag_set_num_threads(1);
    af_ctx *ref = calloc(1, sizeof *ref), *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(ref);
    ck_assert_ptr_nonnull(c);
    long k = run_once(sc, 0, 0, ref, NULL);
    ck_assert_int_gt(k, 0);
    for (long every = 1; every <= k + 1; every++) run_once(sc, every, 0, c, ref);
    for (long nth = 1; nth <= k / 2; nth++) run_once(sc, nth, 1, c, ref);  /* only the Nth */
    free(ref), free(c);
    ag_set_num_threads(0);
}

static const af_scenario scenarios[] = {
    {"tape_new", NULL, run_tape_new, NULL},
    {"tensors", setup_tape, run_tensors, NULL},
    {"mlp_forward", setup_model, run_forward, NULL},
    {"backward", setup_forward, run_backward, NULL},
    {"grad_create_graph", setup_forward, run_grad, NULL},
    {"optim_new", setup_model, run_optim_new, NULL},
    {"optim_step", setup_step, run_step, NULL},
    {"checkpoint_save", setup_save, run_save, after_save},
    {"checkpoint_load", setup_load, run_load, after_load},
    {"module_new", setup_rngs, run_modules, NULL},
    {"dataset", setup_data, run_data, NULL},
    {"training_loop", setup_training, run_training, NULL},
    {"safetensors", setup_st, run_st, NULL},
    {"gradcheck", setup_gradcheck, run_gradcheck, NULL},
};

START_TEST(test_alloc_fail_scenario)
{
    run_scenario(&scenarios[_i]);
}
END_TEST

/* The wrappers themselves: pass-through, failing every Nth, tracking.
   malloc through a volatile pointer: clang elides a malloc whose block is
   only freed and compared with NULL (the comparison then folds to false). */
START_TEST(test_alloc_fail_wrappers_fail_every_nth)
{
    void *(*volatile alloc)(size_t) = malloc;
    void *(*volatile re)(void *, size_t) = realloc;
    void *(*volatile c_alloc)(size_t, size_t) = calloc;
    void *(*volatile al_alloc)(size_t, size_t) = aligned_alloc;
    void *p[9];
    af_track_begin();
    af_arm(3, 0);
    for (int i = 0; i < 9; i++) p[i] = alloc(16);
    af_disarm();
    long live = af_live_blocks(), failed = atomic_load(&af_failed);
    for (int i = 0; i < 7; i++) free(p[i]);
    long left = af_track_end();                  /* p[7] */
    free(p[7]), free(p[8]);
    for (int i = 0; i < 9; i++) ck_assert_msg((p[i] == NULL) == (i % 3 == 2), "allocation %d", i);
    ck_assert_int_eq(failed, 3);
    ck_assert_int_eq(live, 6);
    ck_assert_int_eq(left, 1);
    af_arm(1, 0);
    void *q = re(NULL, 8), *r = c_alloc(2, 8), *s = al_alloc(64, 64);
    af_disarm();
    ck_assert(!q && !r && !s);
    ck_assert_int_eq(atomic_load(&af_count), 3);
}
END_TEST

Suite *suite_alloc_fail(void)
{
    Suite *s = suite_create("alloc_fail");
    TU_ADD(s, test_alloc_fail_wrappers_fail_every_nth);
    TCase *tc = tcase_create("scenarios");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_alloc_fail_scenario, 0,
                        (int)(sizeof scenarios / sizeof scenarios[0]));
    suite_add_tcase(s, tc);
    return s;
}
