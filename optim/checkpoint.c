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
#define VERSION "2"
#define MAX_GROUPS_TEXT 4096

/* The module's tensors (the first n_mod), the extra ones, then the
   optimizer's under "optim." (last: the loader finds them from the end). */
typedef struct ckpt_list {
    int n, n_mod;
    ag_named_tensor *t;
} ckpt_list;

/* An extra tensor: named, persistent, f32 or f64, its name free. */
static ag_status check_extra_arg(const char *fn, const ckpt_list *l, int n_before,
                                 const ag_named_tensor *e)
{
    if (!e->tensor || (ag_tensor_dtype(e->tensor) != AG_F32 &&
                       ag_tensor_dtype(e->tensor) != AG_F64))
        return ag_set_last_error(AG_ERR_ARG, "%s: extra tensor '%s' is NULL or not f32/f64", fn,
                                 e->name);
    if (!e->name[0] || !strncmp(e->name, OPT_PREFIX, strlen(OPT_PREFIX)) ||
        !strcmp(e->name, RNG_NAME))
        return ag_set_last_error(AG_ERR_ARG, "%s: extra tensor name '%s' is empty or reserved "
                                 "(" OPT_PREFIX "*, " RNG_NAME ")", fn, e->name);
    for (int k = 0; k < n_before; k++)
        if (!strcmp(l->t[k].name, e->name))
            return ag_set_last_error(AG_ERR_ARG, "%s: extra tensor name '%s' is taken", fn,
                                     e->name);
    return AG_OK;
}

static ag_status list_all(const char *fn, const ag_module *m, const ag_optim *o, int n_extra,
                          const ag_named_tensor *extra, ckpt_list *l)
{
    if (n_extra < 0 || (n_extra > 0 && !extra))
        return ag_set_last_error(AG_ERR_ARG, "%s: %d extra tensors at %p", fn, n_extra,
                                 (const void *)extra);
    int n_mod = ag_module_named_tensors(m, NULL, 0, 1);
    int n_opt = o ? ag_optim_state(o, NULL, 0) : 0;
    l->n = n_mod + n_extra + n_opt;
    l->n_mod = n_mod;
    l->t = malloc((size_t)(l->n + 1) * sizeof *l->t);
    if (!l->t) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    ag_module_named_tensors(m, l->t, n_mod, 1);
    for (int i = 0; i < n_extra; i++) {
        if (check_extra_arg(fn, l, n_mod + i, &extra[i]) != AG_OK) return free(l->t), AG_ERR_ARG;
        l->t[n_mod + i] = extra[i];
    }
    n_mod += n_extra;
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

/* "3,1", "0.10000000000000001,0.050000000000000003" and the base lrs:
   the groups' sizes, lrs and base lrs, comma-separated (malloc'd). */
static ag_status group_lists(const ag_optim *o, char *lists[3])
{
    int ng = ag_optim_num_groups(o);
    size_t cap = (size_t)ng * 40 + 1;
    for (int k = 0; k < 3; k++) {
        if (!(lists[k] = malloc(cap))) return AG_ERR_NOMEM;
        size_t len = 0;
        for (int g = 0; g < ng; g++) {
            const char *sep = g ? "," : "";
            if (k == 0) len += (size_t)snprintf(lists[k] + len, cap - len, "%s%d", sep,
                                                ag_optim_group_size(o, g));
            else len += (size_t)snprintf(lists[k] + len, cap - len, "%s%.17g", sep,
                                         k == 1 ? ag_optim_group_lr(o, g)
                                                : ag_optim_group_base_lr(o, g));
        }
    }
    return AG_OK;
}

/* The values of integer buffer x (ag_module_add_int_buffer: BatchNorm's
   num_batches_tracked) as int64 in *out (malloc'd), as ag_module_save
   writes them: AG_OK, or an error naming a value that is not a whole
   number in int64's range. */
static ag_status int_values(const char *fn, const char *path, const char *name,
                            const ag_tensor *x, int64_t **out)
{
    int64_t n = ag_tensor_numel(x);
    if (!(*out = malloc((size_t)(n ? n : 1) * sizeof **out)))
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    for (int64_t i = 0; i < n; i++) {
        double v = ag_tensor_get(x, i);
        if (!(v == floor(v) && fabs(v) < 9223372036854775808.0))
            return ag_set_last_error(AG_ERR_ARG, "%s: %s: integer buffer '%s' element %lld is "
                                     "%.17g, not a whole number in int64's range", fn,
                                     path ? path : "(null)", name, (long long)i, v);
        (*out)[i] = (int64_t)v;
    }
    return AG_OK;
}

/* l's tensors as raw ones: floats as they are, the module's integer
   buffers as I64 (their values in ints[i], NULL elsewhere). */
static ag_status raw_list(const char *fn, const char *path, const ag_module *m,
                          const ckpt_list *l, ag_st_tensor *raw, int64_t **ints)
{
    for (int i = 0; i < l->n; i++) {
        ag_tensor *x = l->t[i].tensor;
        raw[i] = (ag_st_tensor){l->t[i].name, ag_tensor_dtype(x) == AG_F64 ? "F64" : "F32",
                                ag_tensor_ndim(x), ag_tensor_shape(x), ag_tensor_data(x)};
        if (i >= l->n_mod || !ag_module_is_int_buffer(m, l->t[i].name)) continue;
        ag_status s = int_values(fn, path, l->t[i].name, x, &ints[i]);
        if (s != AG_OK) return s;
        raw[i].dtype = "I64", raw[i].data = ints[i];
    }
    return AG_OK;
}

ag_status ag_checkpoint_save(const char *path, const ag_module *m, const ag_optim *o,
                             const ag_rng *r)
{
    return ag_checkpoint_save_extra(path, m, o, r, 0, NULL);
}

ag_status ag_checkpoint_save_extra(const char *path, const ag_module *m, const ag_optim *o,
                                   const ag_rng *r, int n_extra, const ag_named_tensor *extra)
{
    const char *fn = n_extra ? "ag_checkpoint_save_extra" : "ag_checkpoint_save";
    if (!m) return ag_set_last_error(AG_ERR_ARG, "%s: module is NULL", fn);
    ckpt_list l;
    ag_status s = list_all(fn, m, o, n_extra, extra, &l);
    if (s != AG_OK) return s;
    ag_st_tensor *raw = malloc((size_t)(l.n + 1) * sizeof *raw);
    int64_t **ints = calloc((size_t)(l.n + 1), sizeof *ints);
    s = raw && ints ? raw_list(fn, path, m, &l, raw, ints)
                    : ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    if (s != AG_OK) {
        for (int i = 0; ints && i < l.n; i++) free(ints[i]);
        free(ints), free(raw), free(l.t);
        return s;
    }
    uint64_t state[4];
    static const int64_t four[1] = {4};
    if (r) {
        ag_rng_get_state(r, state);
        raw[l.n] = (ag_st_tensor){RNG_NAME, "U64", 1, four, state};
    }
    char steps[32], groups[16], *lists[3] = {NULL, NULL, NULL};
    const char *kv[14] = {"ag.checkpoint", VERSION};
    if (o && group_lists(o, lists) != AG_OK) s = AG_ERR_NOMEM;
    if (o && s == AG_OK) {
        snprintf(steps, sizeof steps, "%lld", (long long)ag_optim_steps(o));
        snprintf(groups, sizeof groups, "%d", ag_optim_num_groups(o));
        const char *more[12] = {"optim.name", ag_optim_name(o), "optim.steps", steps,
                                "optim.groups", groups, "optim.group_sizes", lists[0],
                                "optim.lrs", lists[1], "optim.base_lrs", lists[2]};
        memcpy(kv + 2, more, sizeof more);
    }
    if (s == AG_OK) s = ag_safetensors_write(path, l.n + (r != NULL), raw, o ? 7 : 1, kv);
    else ag_set_last_error(s, "%s: out of memory", fn);
    for (int i = 0; i < 3; i++) free(lists[i]);
    if (s != AG_OK) s = relabel(s, fn);
    for (int i = 0; i < l.n; i++) free(ints[i]);
    free(ints), free(raw), free(l.t);
    return s;
}

/* ------------------------------------------------------------ loading --- */

/* The optimizer's metadata: version 1 files have one group and no
   per-parameter "step" state (see ag_checkpoint.h). lrs, base_lrs: one
   per group of the optimizer (malloc'd). */
typedef struct opt_meta {
    int version;
    int64_t steps;
    double *lrs, *base_lrs;
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

/* The comma-separated list of key, one number per group of o, into out
   (group sizes: whole numbers that must equal o's; lrs: finite, >= 0). */
static ag_status meta_list(const char *fn, const char *path, const ag_safetensors *f,
                           const char *key, const ag_optim *o, int sizes, double *out)
{
    const char *v = ag_safetensors_meta(f, key), *at = v;
    int ng = ag_optim_num_groups(o), ok = v != NULL;
    for (int g = 0; ok && g < ng; g++) {
        char *end = NULL;
        errno = 0;
        double x = strtod(at, &end);
        ok = end != at && errno == 0 && isfinite(x) && x >= 0 &&
             (!sizes || x == ag_optim_group_size(o, g)) && *end == (g + 1 < ng ? ',' : 0);
        if (ok && out) out[g] = x;
        at = end + 1;
    }
    if (ok) return AG_OK;
    if (sizes)
        return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: __metadata__ '%s' is %s%s%s, but the "
                                 "optimizer's %d groups do not have those sizes", fn, path, key,
                                 v ? "'" : "missing", v ? v : "", v ? "'" : "", ng);
    return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: __metadata__ '%s' is %s%s%s, not %d "
                             "learning rates (finite, >= 0, comma-separated)", fn, path, key,
                             v ? "'" : "missing", v ? v : "", v ? "'" : "", ng);
}

/* The optimizer's groups and lrs: version 2's lists, or version 1's one
   "optim.lr" and "optim.base_lr" (o must then have one group). */
static ag_status read_lrs(const char *fn, const char *path, const ag_safetensors *f,
                          const ag_optim *o, opt_meta *om)
{
    if (om->version == 1) {
        if (ag_optim_num_groups(o) != 1)
            return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: a version 1 checkpoint holds one "
                                     "parameter group, but the optimizer has %d", fn, path,
                                     ag_optim_num_groups(o));
        ag_status s = meta_number(fn, path, f, "optim.lr", 0, &om->lrs[0], NULL);
        return s == AG_OK ? meta_number(fn, path, f, "optim.base_lr", 0, &om->base_lrs[0], NULL)
                          : s;
    }
    char want[16];
    snprintf(want, sizeof want, "%d", ag_optim_num_groups(o));
    const char *v = ag_safetensors_meta(f, "optim.groups");
    if (!v || strcmp(v, want))
        return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: the file holds %s%s%s parameter groups "
                                 "('optim.groups'), but the optimizer has %s", fn, path,
                                 v ? "'" : "no count of", v ? v : "", v ? "'" : "", want);
    ag_status s = meta_list(fn, path, f, "optim.group_sizes", o, 1, NULL);
    if (s == AG_OK) s = meta_list(fn, path, f, "optim.lrs", o, 0, om->lrs);
    return s == AG_OK ? meta_list(fn, path, f, "optim.base_lrs", o, 0, om->base_lrs) : s;
}

/* The format version and, with o, the optimizer's name and counters. */
static ag_status check_meta(const char *fn, const char *path, const ag_safetensors *f,
                            const ag_optim *o, opt_meta *om)
{
    const char *v = ag_safetensors_meta(f, "ag.checkpoint");
    if (v && strcmp(v, VERSION) && strcmp(v, "1"))
        return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: checkpoint version '%s' is not supported "
                                 "(this library reads versions 1 and %s)", fn, path, v, VERSION);
    om->version = v && !strcmp(v, "1") ? 1 : 2;
    if (!o) return AG_OK;
    const char *name = ag_safetensors_meta(f, "optim.name");
    if (!name)
        return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: the file holds no optimizer state (no "
                                 "'optim.name' in __metadata__)", fn, path);
    if (strcmp(name, ag_optim_name(o)))
        return ag_set_last_error(AG_ERR_FORMAT, "%s: %s: the file holds %s optimizer state, but "
                                 "the optimizer is %s", fn, path, name, ag_optim_name(o));
    ag_status s = meta_number(fn, path, f, "optim.steps", 1, NULL, &om->steps);
    return s == AG_OK ? read_lrs(fn, path, f, o, om) : s;
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
/* Is entry name ("optim.3.step") a first-order optimizer's step count
   (absent from version 1 files)? */
static int is_step_state(const ag_optim *o, const char *name)
{
    size_t n = strlen(name);
    return o->gops && n > 5 && !strcmp(name + n - 5, ".step");
}

static ag_status check_opt_values(const char *fn, const char *path, const ag_safetensors *f,
                                  const ckpt_list *l, const ag_optim *o, int version)
{
    char who[600];
    snprintf(who, sizeof who, "%s: %s", fn, path);
    ag_status s = AG_OK;
    int n_mod = l->n - o->n_state;
    for (int k = 0; k < o->n_state && s == AG_OK; k++) {
        const ag_named_tensor *e = &l->t[n_mod + k];
        if (!o->rules[k].checked || (version == 1 && is_step_state(o, e->name))) continue;
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

/* Loads the file's tensors into l's, leaving out the step counts of a
   version 1 file, which are then every parameter's optim.steps. */
static ag_status load_tensors(const char *fn, const ag_safetensors *f, const ckpt_list *l,
                              const ag_optim *o, const opt_meta *om)
{
    int v1 = o && om->version == 1, n = 0;
    ag_named_tensor *t = v1 ? malloc((size_t)(l->n + 1) * sizeof *t) : l->t;
    if (!t) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    for (int i = 0; v1 && i < l->n; i++)
        if (!is_step_state(o, l->t[i].name)) t[n++] = l->t[i];
    ag_status s = ag_safetensors_load_into(f, v1 ? n : l->n, t, AG_LOAD_ALLOW_EXTRA);
    if (s != AG_OK) s = relabel(s, fn);
    for (int i = 0; s == AG_OK && v1 && i < l->n; i++)
        if (is_step_state(o, l->t[i].name)) ag_tensor_set(l->t[i].tensor, 0, (double)om->steps);
    if (v1) free(t);
    return s;
}

/* Checks everything in f against m, o, r; then changes them all. */
static ag_status load_from(const char *fn, const char *path, const ag_safetensors *f,
                           const ckpt_list *l, ag_optim *o, ag_rng *r)
{
    int ng = o ? ag_optim_num_groups(o) : 0;
    opt_meta om = {2, 0, calloc((size_t)ng + 1, sizeof(double)),
                   calloc((size_t)ng + 1, sizeof(double))};
    uint64_t state[4];
    ag_status s = om.lrs && om.base_lrs ? AG_OK
                  : ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    if (s == AG_OK) s = check_meta(fn, path, f, o, &om);
    if (s == AG_OK && r) s = read_rng(fn, path, f, state);
    if (s == AG_OK) s = check_extra(fn, path, f, l, o != NULL);
    if (s == AG_OK && o) s = check_opt_values(fn, path, f, l, o, om.version);
    if (s == AG_OK) s = load_tensors(fn, f, l, o, &om);
    if (s == AG_OK && o) {          /* nothing below can fail: the values were checked */
        ag_optim_set_steps(o, om.steps);
        for (int g = 0; g < ng; g++) {
            ag_optim_set_group_lr(o, g, om.lrs[g]);
            ag_optim_set_group_base_lr(o, g, om.base_lrs[g]);   /* schedules start from it */
        }
    }
    if (s == AG_OK && r) ag_rng_set_state(r, state);
    free(om.lrs), free(om.base_lrs);
    return s;
}

ag_status ag_checkpoint_load(const char *path, ag_module *m, ag_optim *o, ag_rng *r)
{
    return ag_checkpoint_load_extra(path, m, o, r, 0, NULL);
}

ag_status ag_checkpoint_load_extra(const char *path, ag_module *m, ag_optim *o, ag_rng *r,
                                   int n_extra, const ag_named_tensor *extra)
{
    const char *fn = n_extra ? "ag_checkpoint_load_extra" : "ag_checkpoint_load";
    if (!m) return ag_set_last_error(AG_ERR_ARG, "%s: module is NULL", fn);
    ckpt_list l;
    ag_safetensors *f = NULL;
    ag_status s = list_all(fn, m, o, n_extra, extra, &l);
    if (s != AG_OK) return s;
    s = ag_safetensors_open(path, &f);
    if (s != AG_OK) s = relabel(s, fn);
    else s = load_from(fn, path, f, &l, o, r);
    ag_safetensors_close(f);
    free(l.t);
    return s;
}
