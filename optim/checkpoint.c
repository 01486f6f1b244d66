/*
** checkpoint.c: training checkpoints (see ag_checkpoint.h) on top of the
** safetensors reader and writer: the module's and optimizer's tensors
** gathered under one namespace, the optimizer's counters as metadata,
** the generator as a U64 tensor. Loading checks everything (metadata,
** generator, names, shapes, and the values of the optimizer's state that
** have a rule: counters, indices, divisors) before the first change.
*/
#include "ag.h"
#include "optim_base.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RNG_NAME "rng.state"
#define OPT_PREFIX "optim."
#define VERSION "1"

/* The module's tensors, then the optimizer's under "optim.". */
typedef struct ckpt_list {
    int n;
    ag_named_tensor *t;
} ckpt_list;

static ag_status list_all(const char *fn, const ag_module *m, const ag_optim *o, ckpt_list *l)
{
    int n_mod = ag_module_named_tensors(m, NULL, 0, 1);
    int n_opt = o ? ag_optim_state(o, NULL, 0) : 0;
    l->n = n_mod + n_opt;
    l->t = malloc((size_t)(l->n + 1) * sizeof *l->t);
    if (!l->t) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    ag_module_named_tensors(m, l->t, n_mod, 1);
    if (o) ag_optim_state(o, l->t + n_mod, n_opt);
    for (int i = n_mod; i < l->n; i++) {
        char name[sizeof l->t[i].name];
        if (snprintf(name, sizeof name, OPT_PREFIX "%s", l->t[i].name) >= (int)sizeof name) {
            free(l->t);
            return ag_set_last_error(AG_ERR_ARG, "%s: optimizer state name '%s' is too long", fn,
                                     l->t[i].name);
        }
        strcpy(l->t[i].name, name);
    }
    return AG_OK;
}

/* Re-labels the error of an inner call (inner: "ag_safetensors_x: ...") as
   fn's own, keeping the rest of the message (path and reason). */
static ag_status relabel(ag_status s, const char *fn)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    const char *rest = strncmp(msg, "ag_safetensors_", 15) ? NULL : strstr(msg, ": ");
    return ag_set_last_error(s, "%s: %s", fn, rest ? rest + 2 : msg);
}

/* ------------------------------------------------------------- saving --- */

ag_status ag_checkpoint_save(const char *path, const ag_module *m, const ag_optim *o,
                             const ag_rng *r)
{
    const char *fn = "ag_checkpoint_save";
    if (!m) return ag_set_last_error(AG_ERR_ARG, "%s: module is NULL", fn);
    ckpt_list l;
    ag_status s = list_all(fn, m, o, &l);
    if (s != AG_OK) return s;
    ag_st_tensor *raw = malloc((size_t)(l.n + 1) * sizeof *raw);
    if (!raw) {
        free(l.t);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    }
    for (int i = 0; i < l.n; i++) {
        ag_tensor *x = l.t[i].tensor;
        raw[i] = (ag_st_tensor){l.t[i].name, ag_tensor_dtype(x) == AG_F64 ? "F64" : "F32",
                                ag_tensor_ndim(x), ag_tensor_shape(x), ag_tensor_data(x)};
    }
    uint64_t state[4];
    static const int64_t four[1] = {4};
    if (r) {
        ag_rng_get_state(r, state);
        raw[l.n] = (ag_st_tensor){RNG_NAME, "U64", 1, four, state};
    }
    char steps[32], lr[40], base_lr[40];
    const char *kv[10] = {"ag.checkpoint", VERSION};
    if (o) {
        snprintf(steps, sizeof steps, "%lld", (long long)ag_optim_steps(o));
        snprintf(lr, sizeof lr, "%.17g", ag_optim_get_lr(o));
        snprintf(base_lr, sizeof base_lr, "%.17g", ag_optim_base_lr(o));
        const char *more[8] = {"optim.name", ag_optim_name(o), "optim.steps", steps,
                               "optim.lr", lr, "optim.base_lr", base_lr};
        memcpy(kv + 2, more, sizeof more);
    }
    s = ag_safetensors_write(path, l.n + (r != NULL), raw, o ? 5 : 1, kv);
    if (s != AG_OK) s = relabel(s, fn);
    free(raw);
    free(l.t);
    return s;
}

/* ------------------------------------------------------------ loading --- */

typedef struct opt_meta {
    int64_t steps;
    double lr, base_lr;
} opt_meta;

/* A decimal step count in [0, AG_OPTIM_MAX_STEPS] or a finite double >= 0
   from metadata key. */
static ag_status meta_number(const char *fn, const char *path, const ag_safetensors *f,
                             const char *key, int integer, double *out, int64_t *iout)
{
    const char *v = ag_safetensors_meta(f, key);
    char *end = NULL;
    errno = 0;
    if (v && integer) *iout = strtoll(v, &end, 10);
    else if (v) *out = strtod(v, &end);
    int ok = v && *v && end && *end == 0 && errno == 0 &&
             (integer ? *iout >= 0 && *iout <= AG_OPTIM_MAX_STEPS : isfinite(*out) && *out >= 0);
    if (ok) return AG_OK;
    if (integer)
        return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: __metadata__ '%s' is %s%s%s, not a step "
                                 "count in [0, %" PRId64 "]", fn, path, key, v ? "'" : "missing",
                                 v ? v : "", v ? "'" : "", AG_OPTIM_MAX_STEPS);
    return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: __metadata__ '%s' is %s%s%s, not a learning "
                             "rate (finite, >= 0)", fn, path, key, v ? "'" : "missing",
                             v ? v : "", v ? "'" : "");
}

/* The format version and, with o, the optimizer's name and counters. */
static ag_status check_meta(const char *fn, const char *path, const ag_safetensors *f,
                            const ag_optim *o, opt_meta *om)
{
    const char *v = ag_safetensors_meta(f, "ag.checkpoint");
    if (v && strcmp(v, VERSION))
        return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: checkpoint version '%s' is not supported "
                                 "(this library reads version %s)", fn, path, v, VERSION);
    if (!o) return AG_OK;
    const char *name = ag_safetensors_meta(f, "optim.name");
    if (!name)
        return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: the file holds no optimizer state (no "
                                 "'optim.name' in __metadata__)", fn, path);
    if (strcmp(name, ag_optim_name(o)))
        return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: the file holds %s optimizer state, but "
                                 "the optimizer is %s", fn, path, name, ag_optim_name(o));
    ag_status s = meta_number(fn, path, f, "optim.steps", 1, NULL, &om->steps);
    if (s == AG_OK) s = meta_number(fn, path, f, "optim.lr", 0, &om->lr, NULL);
    if (s == AG_OK) s = meta_number(fn, path, f, "optim.base_lr", 0, &om->base_lr, NULL);
    return s;
}

/* Every file tensor must be a destination, "rng.state" (read or ignored),
   or optimizer state when there is no optimizer (ignored). */
static int ignorable(const char *name, int have_opt)
{
    return !strcmp(name, RNG_NAME) || (!have_opt && !strncmp(name, OPT_PREFIX, strlen(OPT_PREFIX)));
}

static ag_status check_extra(const char *fn, const char *path, const ag_safetensors *f,
                             const ckpt_list *l, int have_opt)
{
    int n = ag_safetensors_count(f), skipped = 0;
    ag_st_info info;
    for (int i = 0; i < n; i++) {
        ag_safetensors_info(f, i, &info);
        skipped += ignorable(info.name, have_opt);
    }
    if (n - skipped <= l->n) return AG_OK;  /* no extras; a missing one is found later */
    for (int i = 0; i < n; i++) {
        ag_safetensors_info(f, i, &info);
        int known = ignorable(info.name, have_opt);
        for (int k = 0; !known && k < l->n; k++) known = !strcmp(info.name, l->t[k].name);
        if (!known)
            return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: unexpected tensor '%s' in the file "
                                     "(not in the module%s)", fn, path, info.name,
                                     have_opt ? " or the optimizer" : "");
    }
    return AG_OK;
}

/* The generator's state from the file: a U64 [4], not all zero (xoshiro's
   one state it never leaves). */
static ag_status read_rng(const char *fn, const char *path, const ag_safetensors *f,
                          uint64_t state[4])
{
    static const int64_t four[1] = {4};
    ag_status s = ag_safetensors_read(f, RNG_NAME, "U64", 1, four, state);
    if (s != AG_OK) return relabel(s, fn);
    if (state[0] | state[1] | state[2] | state[3]) return AG_OK;
    return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: tensor '" RNG_NAME "' is all zero, not a "
                             "generator state (xoshiro256** would return 0 forever)", fn, path);
}

/* The optimizer's state in the file (entries n_mod.. of l) against the
   rules of o's state: each ruled tensor is read into a scratch copy and
   checked, so nothing is written before everything is known good. */
static ag_status check_opt_values(const char *fn, const char *path, const ag_safetensors *f,
                                  const ckpt_list *l, const ag_optim *o)
{
    char who[600];
    snprintf(who, sizeof who, "%s: %s", fn, path);
    ag_status s = AG_OK;
    int n_mod = l->n - o->n_state;
    for (int k = 0; k < o->n_state && s == AG_OK; k++) {
        if (!o->rules[k].checked) continue;
        const ag_named_tensor *e = &l->t[n_mod + k];
        ag_tensor *x = e->tensor;
        ag_tensor *v = ag_zeros(NULL, ag_tensor_dtype(x), ag_tensor_ndim(x), ag_tensor_shape(x));
        if (!v) return ag_set_last_error(AG_ERR_NOMEM, "%s: %s: out of memory", fn, path);
        s = ag_safetensors_read(f, e->name, ag_tensor_dtype(x) == AG_F64 ? "F64" : "F32",
                                ag_tensor_ndim(x), ag_tensor_shape(x), ag_tensor_data(v));
        s = s != AG_OK ? relabel(s, fn) : agp_check_state_value(o, k, v, AG_ERR_FORMAT, who,
                                                                 e->name);
        ag_tensor_free(v);
    }
    return s;
}

/* Checks everything in f against m, o, r; then changes them all. */
static ag_status load_from(const char *fn, const char *path, const ag_safetensors *f,
                           const ckpt_list *l, ag_optim *o, ag_rng *r)
{
    opt_meta om = {0, 0, 0};
    uint64_t state[4];
    ag_status s = check_meta(fn, path, f, o, &om);
    if (s == AG_OK && r) s = read_rng(fn, path, f, state);
    if (s == AG_OK) s = check_extra(fn, path, f, l, o != NULL);
    if (s == AG_OK && o) s = check_opt_values(fn, path, f, l, o);
    if (s == AG_OK) {
        s = ag_safetensors_load_into(f, l->n, l->t, AG_LOAD_ALLOW_EXTRA);
        if (s != AG_OK) s = relabel(s, fn);
    }
    if (s != AG_OK) return s;
    if (o) {                        /* nothing below can fail: the values were checked */
        ag_optim_set_steps(o, om.steps);
        ag_optim_set_lr(o, om.lr);
        ag_optim_set_base_lr(o, om.base_lr);   /* schedules start from it */
    }
    if (r) ag_rng_set_state(r, state);
    return AG_OK;
}

ag_status ag_checkpoint_load(const char *path, ag_module *m, ag_optim *o, ag_rng *r)
{
    const char *fn = "ag_checkpoint_load";
    if (!m) return ag_set_last_error(AG_ERR_ARG, "%s: module is NULL", fn);
    ckpt_list l;
    ag_safetensors *f = NULL;
    ag_status s = list_all(fn, m, o, &l);
    if (s != AG_OK) return s;
    s = ag_safetensors_open(path, &f);
    if (s != AG_OK) s = relabel(s, fn);
    else s = load_from(fn, path, f, &l, o, r);
    ag_safetensors_close(f);
    free(l.t);
    return s;
}
