/*
** safetensors_util.h: what safetensors.c (the reader) and
** safetensors_write.c (the writer) share; not installed. The dtype table
** in the reference's order of increasing alignment, sizes, byte order.
*/
#ifndef AG_SAFETENSORS_UTIL_H
#define AG_SAFETENSORS_UTIL_H

#include "ag.h"

typedef struct agi_st_dtype {
    const char *name;
    int size;       /* bytes per element */
    int swap;       /* bytes swapped as a unit on a big-endian host */
} agi_st_dtype;

#define AGI_ST_N_DTYPES 17
extern const agi_st_dtype agi_st_dtypes[AGI_ST_N_DTYPES];

/* The index of a dtype name in agi_st_dtypes, or -1. */
int agi_st_dtype_index(const char *name);
/* "F32" or "F64". */
const char *agi_st_dtype_of(ag_dtype dt);
/* numel * size into *nbytes; 0 when the shape is refused by
   ag_shape_numel (a negative dim, or too many elements). */
int agi_st_byte_size(int ndim, const int64_t *shape, int size, int64_t *nbytes);
/* "[2,3]" into buf. */
void agi_st_shape_str(int ndim, const int64_t *shape, char *buf, size_t len);
int agi_st_little_endian(void);
/* Copies n bytes between little-endian and host order, in units of unit
   bytes (a plain copy on a little-endian host). */
void agi_st_copy_le(void *dst, const void *src, size_t n, int unit);

/* Loading's conversions (safetensors_convert.c), dt an index in
   agi_st_dtypes: 1 when dt converts to F32 and F64 (not F8_*, C64). */
int agi_st_converts(int dt);
/* For an integer dt, 1 when one of the n elements at src (the file's
   little-endian bytes) has a magnitude beyond 2^24 (to F32) or 2^53 (to
   F64): its index in *at, its value as text in val. 0 otherwise. */
int agi_st_first_inexact(int dt, const unsigned char *src, int64_t n, ag_dtype to, int64_t *at,
                         char *val, size_t len);
/* Converts the n elements at src to dtype to at dst. */
void agi_st_convert(int dt, const unsigned char *src, int64_t n, ag_dtype to, void *dst);

/* qsort comparators: C strings by pointer, pairs by key. */
typedef struct agi_st_pair {
    const char *key, *value;
} agi_st_pair;
int agi_st_cmp_cstr(const void *a, const void *b);
int agi_st_cmp_pair(const void *a, const void *b);
/* Sorts v and returns the first string that repeats, or NULL. */
const char *agi_st_first_repeat(const char **v, int n);
/* m's parameters and buffers, named (caller frees); NULL + error. */
ag_named_tensor *agi_st_module_list(const char *fn, const ag_module *m, int *n);

#endif
