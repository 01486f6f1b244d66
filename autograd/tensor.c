/*
** tensor.c: making tensors (persistent or on a tape), accessors, and leaf
** gradients. Ops are in ops/; the tape's memory is in tape.c.
*/
#include "ag_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A persistent tensor with uninitialised data; NULL (and ag_last_error)
   on bad input or when out of memory. Data of at most 8 bytes (a scalar)
   lives in the header's inl, as a tape tensor's: one allocation and one
   cache line for a scalar leaf, which forward and backward read. */
static ag_tensor *persistent_new(const char *fn, ag_dtype dt, int ndim,
                                 const int64_t *shape)
{
    char buf[96];
    if (ndim < 0 || ndim > AG_MAX_DIMS || (ndim && !shape))
        return ag_set_last_error(AG_ERR_SHAPE, "%s: %d dimensions (0 to %d, with a shape)",
                                  fn, ndim, AG_MAX_DIMS), NULL;
    if (dt != AG_F32 && dt != AG_F64)
        return ag_set_last_error(AG_ERR_DTYPE, "%s: unknown dtype %d", fn, (int)dt), NULL;
    int64_t n = agi_numel(ndim, shape);
    if (n < 0) return agi_bad_shape(NULL, fn, ndim, shape);
    size_t bytes = (agi_bytes(n, dt) + 63) & ~(size_t)63;
    int inl = agi_bytes(n, dt) <= sizeof(((ag_tensor *)0)->inl);   /* a scalar */
    ag_tensor *x = calloc(1, sizeof *x);
    void *data = inl ? NULL : aligned_alloc(64, bytes ? bytes : 64);
    if (!x || (!inl && !data)) {
        free(x);
        free(data);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory for %s", fn,
                                  agi_dims_str(ndim, shape, buf)), NULL;
    }
    x->data = inl ? x->inl.bytes : data;
    x->numel = n;
    x->ndim = (uint8_t)ndim;
    x->dtype = (uint8_t)dt;
    x->node = -1;
    x->flags = inl ? 0 : AGI_OWNS_DATA;
    if (ndim) memcpy(x->shape, shape, (size_t)ndim * sizeof *shape);
    return x;
}

/* A tape tensor from before its tape's last reset: its header is still
   readable (headers are never freed), its data may not be. */
static int stale(const ag_tensor *x) { return x->tape && x->gen != x->tape->gen; }

/* The one way creation functions make a tensor: on t, or persistent. */
static ag_tensor *make(ag_tape *t, const char *fn, ag_dtype dt, int ndim,
                       const int64_t *shape)
{
    if (!t) return persistent_new(fn, dt, ndim, shape);
    if (t->status != AG_OK) return NULL;
    if (ndim && !shape) return agi_fail(t, AG_ERR_ARG, "%s: shape is NULL", fn);
    return agi_new(t, fn, dt, ndim, shape);
}

ag_tensor *ag_full(ag_tape *t, ag_dtype dt, int ndim, const int64_t *shape,
                   double value)
{
    ag_tensor *x = make(t, "ag_full", dt, ndim, shape);
    if (x) agi_fill(x, value);
    return x;
}

ag_tensor *ag_zeros(ag_tape *t, ag_dtype dt, int ndim, const int64_t *shape)
{
    ag_tensor *x = make(t, "ag_zeros", dt, ndim, shape);
    if (x) memset(x->data, 0, agi_bytes(x->numel, dt));
    return x;
}

ag_tensor *ag_ones(ag_tape *t, ag_dtype dt, int ndim, const int64_t *shape)
{
    ag_tensor *x = make(t, "ag_ones", dt, ndim, shape);
    if (x) agi_fill(x, 1.0);
    return x;
}

ag_tensor *ag_scalar(ag_tape *t, ag_dtype dt, double value)
{
    ag_tensor *x = make(t, "ag_scalar", dt, 0, NULL);
    if (x) agi_fill(x, value);
    return x;
}

ag_tensor *ag_from_data(ag_tape *t, ag_dtype dt, int ndim,
                        const int64_t *shape, const void *data)
{
    if (!data) return agi_fail(t, AG_ERR_ARG, "ag_from_data: data is NULL");
    ag_tensor *x = make(t, "ag_from_data", dt, ndim, shape);
    if (x) memcpy(x->data, data, agi_bytes(x->numel, dt));
    return x;
}

ag_tensor *ag_from_f64(ag_tape *t, ag_dtype dt, int ndim,
                       const int64_t *shape, const double *data)
{
    if (!data) return agi_fail(t, AG_ERR_ARG, "ag_from_f64: data is NULL");
    ag_tensor *x = make(t, "ag_from_f64", dt, ndim, shape);
    if (x)
        for (int64_t i = 0; i < x->numel; i++) ag_tensor_set(x, i, data[i]);
    return x;
}

ag_tensor *ag_arange(ag_tape *t, ag_dtype dt, double start, double stop,
                     double step)
{
    if (step == 0 || step != step || start != start || stop != stop)
        return agi_fail(t, AG_ERR_ARG, "ag_arange: step is 0 or a bound is NaN");
    double span = (stop - start) / step;
    if (span > 1e15) return agi_fail(t, AG_ERR_NOMEM, "ag_arange: %.17g elements", span);
    int64_t n = span > 0 ? (int64_t)span : 0;
    if (n < span) n++;                       /* ceil for the half-open range */
    ag_tensor *x = make(t, "ag_arange", dt, 1, &n);
    if (x)
        for (int64_t i = 0; i < n; i++) ag_tensor_set(x, i, start + (double)i * step);
    return x;
}

ag_tensor *ag_eye(ag_tape *t, ag_dtype dt, int64_t n)
{
    if (n < 0) return agi_fail(t, AG_ERR_SHAPE, "ag_eye: n is %lld, must be >= 0", (long long)n);
    ag_tensor *x = make(t, "ag_eye", dt, 2, (const int64_t[]){n, n});
    if (x) {
        memset(x->data, 0, agi_bytes(x->numel, dt));
        for (int64_t i = 0; i < n; i++) ag_tensor_set(x, i * n + i, 1.0);
    }
    return x;
}

ag_tensor *ag_rand_uniform(ag_tape *t, ag_rng *r, ag_dtype dt, int ndim,
                           const int64_t *shape, double lo, double hi)
{
    if (!r) return agi_fail(t, AG_ERR_ARG, "ag_rand_uniform: generator is NULL");
    if (!isfinite(lo) || !isfinite(hi) || !(lo <= hi))
        return agi_fail(t, AG_ERR_ARG, "ag_rand_uniform: bounds [%.17g, %.17g] must be finite "
                        "with lo <= hi", lo, hi);
    ag_tensor *x = make(t, "ag_rand_uniform", dt, ndim, shape);
    if (x)
        for (int64_t i = 0; i < x->numel; i++)
            ag_tensor_set(x, i, lo + (hi - lo) * ag_rng_uniform(r));
    return x;
}

ag_tensor *ag_rand_normal(ag_tape *t, ag_rng *r, ag_dtype dt, int ndim,
                          const int64_t *shape, double mean, double std)
{
    if (!r) return agi_fail(t, AG_ERR_ARG, "ag_rand_normal: generator is NULL");
    if (!isfinite(mean) || !isfinite(std) || !(std >= 0))
        return agi_fail(t, AG_ERR_ARG, "ag_rand_normal: mean %.17g and std %.17g must be "
                        "finite, std >= 0", mean, std);
    ag_tensor *x = make(t, "ag_rand_normal", dt, ndim, shape);
    if (x)
        for (int64_t i = 0; i < x->numel; i++)
            ag_tensor_set(x, i, mean + std * ag_rng_normal(r));
    return x;
}

ag_tensor *ag_tensor_clone(const ag_tensor *x)
{
    if (!x) return ag_set_last_error(AG_ERR_ARG, "ag_tensor_clone: x is NULL"), NULL;
    if (stale(x))
        return ag_set_last_error(AG_ERR_STATE, "ag_tensor_clone: x was made before its tape "
                                 "was reset"), NULL;
    ag_tensor *y = persistent_new("ag_tensor_clone", (ag_dtype)x->dtype, x->ndim, x->shape);
    if (y) memcpy(y->data, x->data, agi_bytes(x->numel, x->dtype));
    return y;
}

ag_status ag_assign(ag_tensor *dst, const ag_tensor *src)
{
    char b1[96], b2[96];
    if (!dst || !src)
        return ag_set_last_error(AG_ERR_ARG, "ag_assign: %s is NULL", dst ? "src" : "dst");
    if ((dst->tape && dst->gen != dst->tape->gen) || (src->tape && src->gen != src->tape->gen))
        return ag_set_last_error(AG_ERR_STATE, "ag_assign: %s was made before its tape was reset",
                                  dst->tape && dst->gen != dst->tape->gen ? "dst" : "src");
    if (!agi_same_shape(dst, src))
        return ag_set_last_error(AG_ERR_SHAPE, "ag_assign: dst is %s, src is %s",
                                  agi_shape_str(dst, b1), agi_shape_str(src, b2));
    if (dst == src || dst->data == src->data) return AG_OK;
    if (dst->dtype == src->dtype)
        memmove(dst->data, src->data, agi_bytes(dst->numel, dst->dtype));
    else
        for (int64_t i = 0; i < dst->numel; i++) ag_tensor_set(dst, i, ag_tensor_get(src, i));
    return AG_OK;
}

void ag_tensor_free(ag_tensor *x)
{
    if (!x || x->tape) return;
    ag_tensor_free(x->grad);
    if (x->flags & AGI_OWNS_DATA) free(x->data);
    free(x);
}

/* ------------------------------------------------------------ accessors --- */

ag_dtype ag_tensor_dtype(const ag_tensor *x) { return x ? (ag_dtype)x->dtype : AG_F32; }
int ag_tensor_ndim(const ag_tensor *x) { return x ? x->ndim : 0; }
const int64_t *ag_tensor_shape(const ag_tensor *x) { return x ? x->shape : NULL; }
int64_t ag_tensor_numel(const ag_tensor *x) { return x ? x->numel : 0; }
void *ag_tensor_data(ag_tensor *x)
{
    agi_plan_note_read("ag_tensor_data");
    return x && !stale(x) ? x->data : NULL;
}
ag_tape *ag_tensor_tape(const ag_tensor *x) { return x ? x->tape : NULL; }
ag_tensor *ag_tensor_grad(const ag_tensor *x)
{
    return x && !stale(x) && !(x->flags & AGI_GRAD_NONE) ? x->grad : NULL;
}
int ag_requires_grad(const ag_tensor *x) { return x ? x->requires_grad : 0; }

int64_t ag_tensor_dim(const ag_tensor *x, int axis)
{
    if (!x) return 0;
    int a = axis < 0 ? axis + x->ndim : axis;
    return a >= 0 && a < x->ndim ? x->shape[a] : 0;
}

/* Why element i of x cannot be accessed by fn (ag_last_error()), or
   AG_OK: x NULL, i out of range, or x stale. */
static ag_status access_error(const char *fn, const ag_tensor *x, int64_t i)
{
    char buf[96];
    if (!x) return ag_set_last_error(AG_ERR_ARG, "%s: x is NULL", fn);
    if (i < 0 || i >= x->numel)
        return ag_set_last_error(AG_ERR_ARG, "%s: index %lld is out of range for x of shape %s "
                                 "(%lld elements)", fn, (long long)i, agi_shape_str(x, buf),
                                 (long long)x->numel);
    if (stale(x))
        return ag_set_last_error(AG_ERR_STATE, "%s: x was made before its tape was reset", fn);
    return AG_OK;
}

double ag_tensor_get(const ag_tensor *x, int64_t i)
{
    agi_plan_note_read("ag_tensor_get");
    if (!x || i < 0 || i >= x->numel || stale(x))
        return access_error("ag_tensor_get", x, i), 0;
    return x->dtype == AG_F64 ? AGI_F64(x)[i] : (double)AGI_F32(x)[i];
}

ag_status ag_tensor_set(ag_tensor *x, int64_t i, double v)
{
    if (!x || i < 0 || i >= x->numel || stale(x)) return access_error("ag_tensor_set", x, i);
    if (x->dtype == AG_F64)
        AGI_F64(x)[i] = v;
    else
        AGI_F32(x)[i] = (float)v;
    return AG_OK;
}

ag_status ag_set_requires_grad(ag_tensor *x, int requires_grad)
{
    const char *fn = "ag_set_requires_grad";
    if (!x) return ag_set_last_error(AG_ERR_ARG, "%s: x is NULL", fn);
    if (stale(x))
        return ag_set_last_error(AG_ERR_STATE, "%s: x was made before its tape was reset", fn);
    if (x->node >= 0)
        return ag_set_last_error(AG_ERR_STATE, "%s: x is not a leaf (the result of %s, node #%d "
                                 "on its tape): requires_grad may only be set on leaves (use "
                                 "ag_detach for a leaf of its values)", fn,
                                 AGI_NODE(x->tape, x->node)->op->name, (int)x->node);
    x->requires_grad = requires_grad != 0;
    return AG_OK;
}

/* x.grad = g (a copy of g's values), as PyTorch's assignment to .grad;
   g NULL: ag_clear_grad. */
ag_status ag_set_grad(ag_tensor *x, const ag_tensor *g)
{
    const char *fn = "ag_set_grad";
    char bx[96], bg[96];
    if (!x) return ag_set_last_error(AG_ERR_ARG, "%s: x is NULL", fn);
    if (stale(x) || (g && stale(g)))
        return ag_set_last_error(AG_ERR_STATE, "%s: %s was made before its tape was reset", fn,
                                 stale(x) ? "x" : "g");
    if (x->node >= 0)
        return ag_set_last_error(AG_ERR_STATE, "%s: x is not a leaf (the result of %s): only "
                                 "leaves have grads", fn, AGI_NODE(x->tape, x->node)->op->name);
    if (!g) {
        ag_clear_grad(x);
        return AG_OK;
    }
    if (g->dtype != x->dtype || !agi_same_shape(g, x))
        return ag_set_last_error(AG_ERR_SHAPE, "%s: g is %s %s, x is %s %s: a grad has its "
                                 "tensor's dtype and shape", fn, agi_dtype_name(g->dtype),
                                 agi_shape_str(g, bg), agi_dtype_name(x->dtype),
                                 agi_shape_str(x, bx));
    if (!x->grad) {
        x->grad = x->tape ? agi_new_like(x->tape, fn, x)
                          : ag_zeros(NULL, (ag_dtype)x->dtype, x->ndim, x->shape);
        if (!x->grad) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory for a grad", fn);
    }
    if (x->grad != g) memcpy(x->grad->data, g->data, agi_bytes(x->numel, x->dtype));
    x->flags &= (uint8_t)~AGI_GRAD_NONE;
    return AG_OK;
}

void ag_zero_grad(ag_tensor *x)
{
    if (x && x->grad && !(x->flags & AGI_GRAD_NONE) && !stale(x))
        memset(x->grad->data, 0, agi_bytes(x->grad->numel, x->dtype));
}

void ag_clear_grad(ag_tensor *x)
{
    if (x && x->grad && !stale(x)) x->flags |= AGI_GRAD_NONE;
}
