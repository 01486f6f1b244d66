/*
** test_crash_safe.c: checkpoints survive a process killed at any moment.
** A child process saves checkpoints of a model (a small MLP with
** BatchNorm, Adam's state, a generator) to one path in a loop, alternating
** between two known states A and B; the parent kills it with SIGKILL after
** a random delay of 0 to 5 ms from the child's start (a pipe says when it
** runs; the range grows to four saves' time where saves are slower, as
** under a sanitizer), 200 times. After each kill the file at the
** path must load (ag_checkpoint_load) and equal A or B exactly (every
** tensor bit for bit, the step count, the learning rate, the generator).
**
** Leftover temporary files. A save writes "<path>.tmp.XXXXXX" and renames
** it over the path; a kill between the two leaves that file behind: the
** process is dead, so nothing removes it, and a later save does not either
** (it picks a new random name). So each kill may leave at most one such
** file, never a damaged target; an application that can be killed should
** remove "<path>.tmp.*" when it starts. The test asserts at most one per
** kill, counts them (at least one kill must have landed mid-save, or the
** test proved nothing), and removes them.
**
** The directory is in /dev/shm (tmpfs) when there is one: a save then
** takes about 0.1 ms, so kills 0 to 5 ms in land anywhere in the A, B,
** A, ... sequence. On a disk each save's fsync takes milliseconds and
** nearly every kill would land in the child's first save.
**
** Under Valgrind the kill loop is skipped (each forked child would be a
** slow Valgrind process leaving its vgdb FIFOs in /tmp when killed); the
** save, load and comparison still run once, and a note says so on stderr.
*/
#include "st_test_util.h"

#include <sys/wait.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CS_VALGRIND_H 1
#endif
#endif

#define CS_KILLS 200
#define CS_MAX_DELAY_NS 5000000L      /* at least; see cs_max_delay */
#define CS_MAX_T 32

static int under_valgrind(void)
{
#ifdef CS_VALGRIND_H
    if (RUNNING_ON_VALGRIND) return 1;
#endif
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload") != NULL;
}

/* A model, its optimizer and a generator: what a checkpoint holds. */
typedef struct cs_state {
    ag_module *m;
    ag_optim *o;
    ag_rng *r;
} cs_state;

/* Copies of everything in a state, to compare files with. */
typedef struct cs_snap {
    int n;
    ag_tensor *t[CS_MAX_T];
    int64_t steps;
    double lr;
    uint64_t rng[4];
} cs_snap;

/* The model's tensors (buffers too), then the optimizer's. */
static int cs_tensors(const cs_state *s, ag_tensor **out)
{
    ag_named_tensor list[CS_MAX_T];
    int n = ag_module_named_tensors(s->m, list, CS_MAX_T, 1);
    n += ag_optim_state(s->o, list + n, CS_MAX_T - n);
    ck_assert_int_le(n, CS_MAX_T);
    for (int i = 0; i < n; i++) out[i] = list[i].tensor;
    return n;
}

static void cs_new(cs_state *s, uint64_t seed)
{
    ag_rng *init = ag_rng_new(seed);
    s->m = ag_sequential_new(4, (ag_module *[]){ag_linear_new(64, 96, 1, AG_F64, init),
                                                ag_batchnorm1d_new(96, 1e-5, 0.1, 1, AG_F64),
                                                ag_relu_new(),
                                                ag_linear_new(96, 10, 1, AG_F64, init)});
    ck_assert_ptr_nonnull(s->m);
    ag_tensor *p[8];
    int n = ag_module_parameters(s->m, p, 8);
    ag_adam_opts o = ag_adam_defaults();
    s->o = ag_adam_new(n, p, &o);
    ck_assert_ptr_nonnull(s->o);
    s->r = ag_rng_new(seed + 1);
    ck_assert_ptr_nonnull(s->r);
    ag_rng_free(init);
}

static void cs_free(cs_state *s)
{
    ag_optim_free(s->o);
    ag_module_free(s->m);
    ag_rng_free(s->r);
}

/* One training step (so B differs from A everywhere: weights, running
   statistics, Adam's moments, the step count, the generator). */
static void cs_train_step(cs_state *s)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_rand_normal(t, s->r, AG_F64, 2, SHAPE(16, 64), 0, 1);
    int64_t y[16];
    for (int i = 0; i < 16; i++) y[i] = (int64_t)(ag_rng_u64(s->r) % 10);
    ag_tensor *loss = ag_cross_entropy_loss(t, ag_module_forward(s->m, t, x), y,
                                            AG_REDUCTION_MEAN);
    ck_assert_msg(loss && ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
    ck_assert_int_eq(ag_optim_step(s->o), AG_OK);
    ag_optim_set_lr(s->o, 0.5 * ag_optim_get_lr(s->o));
    ag_tape_free(t);
}

static void cs_snap_take(cs_snap *snap, const cs_state *s)
{
    ag_tensor *t[CS_MAX_T];
    snap->n = cs_tensors(s, t);
    for (int i = 0; i < snap->n; i++) {
        snap->t[i] = ag_tensor_clone(t[i]);
        ck_assert_ptr_nonnull(snap->t[i]);
    }
    snap->steps = ag_optim_steps(s->o);
    snap->lr = ag_optim_get_lr(s->o);
    ag_rng_get_state(s->r, snap->rng);
}

static void cs_snap_free(cs_snap *snap)
{
    for (int i = 0; i < snap->n; i++) ag_tensor_free(snap->t[i]);
}

/* 1 when s holds exactly the snapshot (bit for bit). */
static int cs_equals(const cs_state *s, const cs_snap *snap)
{
    ag_tensor *t[CS_MAX_T];
    int n = cs_tensors(s, t);
    uint64_t rng[4];
    ag_rng_get_state(s->r, rng);
    if (n != snap->n || ag_optim_steps(s->o) != snap->steps ||
        memcmp(rng, snap->rng, sizeof rng) != 0)
        return 0;
    double lr = ag_optim_get_lr(s->o);
    if (memcmp(&lr, &snap->lr, sizeof lr) != 0) return 0;
    for (int i = 0; i < n; i++)
        if (!tu_same_bits(t[i], snap->t[i])) return 0;
    return 1;
}

/* A private directory, in /dev/shm when possible (see the top). */
static void cs_dir_make(tu_dir *d)
{
    memset(d, 0, sizeof *d);
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(d->path, sizeof d->path, "%s/ag_crash_safe_XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(d->path));
}

/* Removes dir's "*.tmp.*" files; returns how many there were. */
static int cs_remove_tmp(tu_dir *d)
{
    DIR *dir = opendir(d->path);
    ck_assert_ptr_nonnull(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        if (strstr(e->d_name, ".tmp.")) {
            ck_assert_int_eq(unlink(tu_path(d, e->d_name)), 0);
            n++;
        }
    closedir(dir);
    return n;
}

/* The child: saves A once and times it, sends that time (ns, a long) on
   ready, then saves B, A, B, ... until killed. Never returns. */
static void cs_child(int ready, const char *path, const cs_state *a, const cs_state *b)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ag_checkpoint_save(path, a->m, a->o, a->r) != AG_OK) _exit(3);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    if (write(ready, &ns, sizeof ns) != (ssize_t)sizeof ns) _exit(4);
    close(ready);
    for (;;) {
        if (ag_checkpoint_save(path, b->m, b->o, b->r) != AG_OK ||
            ag_checkpoint_save(path, a->m, a->o, a->r) != AG_OK)
            _exit(3);
    }
}

/* The delays' range: 0 to 5 ms, or to four of the child's saves when one
   takes more than 1.25 ms (a sanitizer build, a loaded machine: a forked
   child under TSan can be much slower than its parent), so that the kills
   land all along the B, A, B, ... sequence. */
static long cs_max_delay(long one_save_ns)
{
    return 4 * one_save_ns > CS_MAX_DELAY_NS ? 4 * one_save_ns : CS_MAX_DELAY_NS;
}

typedef struct cs_tally {
    int seen_a, seen_b, tmp_left;
} cs_tally;

/* One kill after a delay drawn from delays, up to four of the child's
   saves; then the file must be A or B, with at most one temporary file
   beside it. */
static void cs_kill_once(tu_dir *d, const char *path, const cs_state *ab, const cs_snap *snaps,
                         cs_state *load, ag_rng *delays, cs_tally *tally)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) close(fds[0]), cs_child(fds[1], path, &ab[0], &ab[1]);
    close(fds[1]);
    long one_save;
    ck_assert_int_eq(read(fds[0], &one_save, sizeof one_save), (ssize_t)sizeof one_save);
    close(fds[0]);                                      /* the file is A; the delay starts */
    long delay_ns = (long)(ag_rng_uniform(delays) * (double)cs_max_delay(one_save));
    struct timespec ts = {delay_ns / 1000000000L, delay_ns % 1000000000L};
    while (nanosleep(&ts, &ts) != 0) {}
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
                  "the saving child ended by itself (status %d): a save failed", st);
    ag_status s = ag_checkpoint_load(path, load->m, load->o, load->r);
    ck_assert_msg(s == AG_OK, "after a kill %ld ns in: %s", delay_ns, ag_last_error());
    int is_a = cs_equals(load, &snaps[0]), is_b = cs_equals(load, &snaps[1]);
    ck_assert_msg(is_a || is_b, "after a kill %ld ns in the file is neither state", delay_ns);
    tally->seen_a += is_a, tally->seen_b += is_b;
    int tmp = cs_remove_tmp(d);
    ck_assert_int_le(tmp, 1);
    ck_assert_int_eq(tu_dir_count(d, ""), 1);           /* the checkpoint alone */
    tally->tmp_left += tmp;
}

START_TEST(test_crash_safe_checkpoint_survives_sigkill)
{
    cs_state ab[2], load;
    cs_snap snaps[2];
    cs_new(&ab[0], 10);
    cs_new(&ab[1], 10);
    cs_train_step(&ab[1]);
    cs_new(&load, 20);
    cs_snap_take(&snaps[0], &ab[0]);
    cs_snap_take(&snaps[1], &ab[1]);
    ck_assert(!cs_equals(&ab[1], &snaps[0]) && cs_equals(&ab[1], &snaps[1]));
    tu_dir d;
    cs_dir_make(&d);
    char path[256];
    snprintf(path, sizeof path, "%s", tu_path(&d, "run.ckpt"));
    ck_assert_int_eq(ag_checkpoint_save(path, ab[0].m, ab[0].o, ab[0].r), AG_OK);
    ck_assert_int_eq(ag_checkpoint_load(path, load.m, load.o, load.r), AG_OK);
    ck_assert(cs_equals(&load, &snaps[0]));
    cs_tally tally = {0, 0, 0};
    if (under_valgrind()) {
        fprintf(stderr, "crash_safe: under Valgrind: the %d-kill loop is skipped (save, load "
                "and compare ran once)\n", CS_KILLS);
    } else {
        ag_rng *delays = ag_rng_new(2718);
        for (int k = 0; k < CS_KILLS; k++) cs_kill_once(&d, path, ab, snaps, &load, delays, &tally);
        ag_rng_free(delays);
        ck_assert_msg(tally.seen_a > 0 && tally.seen_b > 0, "states seen: A %d, B %d",
                      tally.seen_a, tally.seen_b);
        ck_assert_msg(tally.tmp_left > 0, "no kill landed inside a save");
    }
    for (int i = 0; i < 2; i++) cs_snap_free(&snaps[i]), cs_free(&ab[i]);
    cs_free(&load);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_crash_safe(void)
{
    Suite *s = suite_create("crash_safe");
    TCase *tc = tcase_create("sigkill");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_crash_safe_checkpoint_survives_sigkill);
    suite_add_tcase(s, tc);
    return s;
}
