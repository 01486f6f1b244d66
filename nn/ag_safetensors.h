/*
** ag_safetensors.h: tensors to and from files in the safetensors format
** (Hugging Face's), so weights move between this library, PyTorch and
** NumPy. Save and load a module's parameters and buffers:
**
**     if (ag_module_save(model, "model.safetensors") != AG_OK)
**         fprintf(stderr, "%s\n", ag_last_error());
**     ...
**     if (ag_module_load(model, "model.safetensors") != AG_OK)   // strict
**         fprintf(stderr, "%s\n", ag_last_error());
**
** The layout: an 8-byte little-endian unsigned length N; N bytes of JSON,
**     {"__metadata__":{"k":"v"},
**      "name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}, ...}
** padded with spaces to a multiple of 8; then the raw data, little-endian,
** row-major, each tensor at data_offsets relative to the byte after the
** header. Files are written as the reference writer writes them: tensors
** ordered by dtype alignment (U64, I64, F64, C64, F32, ... , BOOL) then by
** name byte-wise, the JSON compact, "__metadata__" first (its keys sorted
** here; the reference leaves them in hash order). Byte order: data is
** stored little-endian on every host (swapped on a big-endian one).
**
** Saving is atomic: the file is written beside the target as
** "<path>.tmp.XXXXXX", flushed, fsync'ed and renamed over the target, so
** a failed save (full disk, no such directory) removes the temporary file
** and leaves any old file byte-for-byte as it was. A new file gets mode
** 0644; a replaced file keeps its mode.
**
** Loading reads the whole file into memory and checks everything before
** any destination is touched (the reference reader's checks and more):
** the file is at least 8 bytes, the header length is at most 100,000,000
** and inside the file, the header is valid UTF-8 and strict JSON (an
** object; strings, integers, arrays and objects only), each entry has
** exactly dtype, shape and data_offsets, the dtype is known, the byte
** range fits the shape and dtype, ranges neither overlap nor leave gaps
** and end at the end of the file, names are unique, __metadata__ maps
** strings to strings, every shape obeys the rule of a tensor's shape
** (ag_shape_numel). A file that fails is refused with AG_ERR_FORMAT (or
** AG_ERR_IO when it cannot be read, or is not a regular file: a FIFO, a
** directory or a device is refused at once, never read or waited on) and
** ag_last_error() naming the function, the path and the problem. Known dtypes: BOOL U8 I8 F8_E5M2
** F8_E4M3 F8_E8M0 I16 U16 F16 BF16 I32 U32 F32 C64 F64 I64 U64 (the
** sub-byte F4 and F6 types are refused). Tensors have at most 8 dims.
**
** Loading converts dtypes as PyTorch's load_state_dict copies do: a file
** tensor of F16, BF16, F32, F64, I64, I32, U8 (and BOOL, I8, I16, U16,
** U32, U64) loads into an F32 or F64 destination of the same shape. Floats
** round to the nearest (F64 into F32 as a C cast: beyond F32's range it
** gives +-inf, as PyTorch). Integers must stay exact: one of magnitude
** beyond 2^24 (into F32) or 2^53 (into F64) is refused with AG_ERR_FORMAT
** naming the tensor, the element and its value, before any destination is
** written. F8_* and C64 are not converted (AG_ERR_FORMAT). Raw reads
** (ag_safetensors_read) do not convert.
**
** Module files. ag_module_save writes the module's integer buffers
** (ag_module_add_int_buffer: BatchNorm's num_batches_tracked) as I64, as
** PyTorch does, and this metadata, then the caller's entries:
**     "format": "pt"              (what safetensors.torch.save_model writes)
**     "ag.module": the module's description (ag_module_describe)
**     "ag.version": the library's version (AG_VERSION)
** and ag_module_load checks it where present: "ag.version" must read
** MAJOR.MINOR.PATCH with a major not above AG_VERSION's, and "ag.module"
** must equal the destination's description (a Tanh where the file had a
** ReLU is refused, though the tensors would fit). A file without them (one
** PyTorch wrote) loads on its tensors alone.
**
** Differences from PyTorch's safetensors.torch: ag tensors are F32 or
** F64 only (integer buffers are floats holding whole numbers); shared
** storage is not a concept here, so nothing is deduplicated.
*/
#ifndef AG_SAFETENSORS_H
#define AG_SAFETENSORS_H
#include "ag_core.h"
#include "ag_module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Load flags. PyTorch's load_state_dict(strict=False) is both. */
#define AG_LOAD_STRICT        0u   /* every destination in the file, nothing else */
#define AG_LOAD_ALLOW_EXTRA   1u   /* tensors with no destination are ignored */
#define AG_LOAD_ALLOW_MISSING 2u   /* destinations not in the file keep their values */

/* The library's version (the Makefile's VERSION), written to the metadata
   of module files; the keys of that metadata. */
#define AG_VERSION "0.2.0"
#define AG_META_FORMAT "format"
#define AG_META_MODULE "ag.module"
#define AG_META_VERSION "ag.version"

/* The most bytes a header may have (the reference's limit). */
#define AG_SAFETENSORS_MAX_HEADER 100000000

/* ------------------------------------------------------------- saving --- */

/* A raw tensor for ag_safetensors_write: any known dtype ("U64" for a
   generator's state, say). data holds numel elements in host byte order,
   row-major; it may be NULL when numel is 0. Everything is borrowed. */
typedef struct ag_st_tensor {
    const char *name;
    const char *dtype;
    int ndim;                   /* 0 (a scalar) to AG_MAX_DIMS */
    const int64_t *shape;
    const void *data;
} ag_st_tensor;

/*
** Writes n tensors and n_meta metadata pairs to path, atomically (see
** above). meta_kv holds 2*n_meta strings: key, value, key, value. Names
** and keys must be non-empty, unique, valid UTF-8; no tensor may be named
** "__metadata__". n and n_meta may be 0. Returns AG_OK, or AG_ERR_ARG for
** bad arguments, AG_ERR_IO when writing fails (the old file untouched),
** AG_ERR_NOMEM; ag_last_error() names the function, path and reason.
*/
ag_status ag_safetensors_write(const char *path, int n, const ag_st_tensor *tensors,
                               int n_meta, const char *const *meta_kv);

/* The same for ag tensors (F32 or F64), under the given names. */
ag_status ag_safetensors_save(const char *path, int n, const ag_named_tensor *tensors,
                              int n_meta, const char *const *meta_kv);

/* ------------------------------------------------------------ loading --- */

/*
** Loads the tensors named in dest from path into the dest tensors, which
** must be persistent and of the same dtype and shape as in the file.
** All or nothing: every check (the file's, then each destination's) is
** made before the first destination is written, so on any error no
** destination has changed. With AG_LOAD_STRICT a destination missing from
** the file and a file tensor with no destination are errors; flags relax
** that. Returns AG_OK, or an error with ag_last_error() set.
*/
ag_status ag_safetensors_load(const char *path, int n, const ag_named_tensor *dest,
                              unsigned flags);

/* A module's parameters and buffers (ag_module_named_tensors with
   buffers), under their dotted names, with the library's metadata (see
   "Module files" above). */
ag_status ag_module_save(const ag_module *m, const char *path);
/*
** The same with the caller's metadata too: n_meta pairs in meta_kv (key,
** value, ...), e.g. normalization constants or class names as text:
**     const char *kv[] = {"mean", "0.1307", "classes", "cat,dog"};
**     ag_module_save_meta(net, "net.safetensors", 2, kv);
** Keys as ag_safetensors_write's rules; "format" and keys starting with
** "ag." are the library's (AG_ERR_ARG). Read them back with
** ag_safetensors_open and ag_safetensors_meta.
*/
ag_status ag_module_save_meta(const ag_module *m, const char *path, int n_meta,
                              const char *const *meta_kv);
/* Loads them back, strictly (the file holds exactly the module's tensors,
   with their shapes; dtypes convert as above), after checking the
   library's metadata where present; the module is untouched on error. */
ag_status ag_module_load(ag_module *m, const char *path);

/* ---------------------------------------------- reading a file by hand --- */

/* A file read into memory and checked (everything listed above). */
typedef struct ag_safetensors ag_safetensors;

/* Reads and checks path into *out. Returns AG_OK, or an error (AG_ERR_IO,
   AG_ERR_FORMAT, ...) with *out NULL and ag_last_error() set. Close the
   file with ag_safetensors_close. */
ag_status ag_safetensors_open(const char *path, ag_safetensors **out);
void ag_safetensors_close(ag_safetensors *f);          /* NULL is a no-op */

/* What the header says of one tensor. Strings belong to the file handle. */
typedef struct ag_st_info {
    const char *name;
    const char *dtype;          /* "F32", "U64", ... */
    int ndim;
    int64_t shape[AG_MAX_DIMS];
    int64_t nbytes;
} ag_st_info;

/* Tensors in the file, in data order; 0 for NULL. */
int ag_safetensors_count(const ag_safetensors *f);
/* Tensor i (0 <= i < count): AG_OK, or AG_ERR_ARG when i is out of range. */
ag_status ag_safetensors_info(const ag_safetensors *f, int i, ag_st_info *info);
/* The index of the tensor called name, or -1. */
int ag_safetensors_find(const ag_safetensors *f, const char *name);

/*
** Copies tensor name, which must have this dtype and shape, into out
** (room for numel elements of dtype, host byte order). AG_ERR_FORMAT when
** the file lacks it or its dtype or shape differ; out is then untouched.
*/
ag_status ag_safetensors_read(const ag_safetensors *f, const char *name, const char *dtype,
                              int ndim, const int64_t *shape, void *out);

/* ag_safetensors_load from an open file (see there); f is unchanged. */
ag_status ag_safetensors_load_into(const ag_safetensors *f, int n,
                                   const ag_named_tensor *dest, unsigned flags);

/*
** ag_module_load from an open file, with load flags (AG_LOAD_STRICT is
** ag_module_load's), so the caller can read the file's metadata too:
**     ag_safetensors *f;
**     if (ag_safetensors_open(path, &f) == AG_OK &&
**         ag_module_load_file(net, f, AG_LOAD_STRICT) == AG_OK)
**         classes = ag_safetensors_meta(f, "classes");   // f owns it
**     ag_safetensors_close(f);
** AG_ERR_ARG for a NULL module or file; other errors as ag_module_load.
*/
ag_status ag_module_load_file(ag_module *m, const ag_safetensors *f, unsigned flags);

/* Metadata: the value under key, or NULL. Keys are listed sorted. */
const char *ag_safetensors_meta(const ag_safetensors *f, const char *key);
int ag_safetensors_meta_count(const ag_safetensors *f);
const char *ag_safetensors_meta_key(const ag_safetensors *f, int i);   /* NULL if out of range */

#ifdef __cplusplus
}
#endif
#endif
