#!/bin/sh
# matmul_table.sh OURS OPENBLAS [RUNS]: runs the two matmul benchmarks
# (bench_matmul.c, openblas_matmul.c) RUNS times each, alternating, on one
# thread (AG_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1, OPENBLAS_CORETYPE
# unset), and prints one row per shape and dtype: GFLOP/s of each, their
# ratio, the target ratio 0.85 and whether it is met. Each number is a
# median over repetitions inside one run; of the RUNS runs the best median
# is kept, so that a burst of load from another process on a shared
# machine does not decide a row.
set -eu
ours=$1 blas=$2 runs=${3:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset OPENBLAS_CORETYPE
export OPENBLAS_NUM_THREADS=1 AG_NUM_THREADS=1
i=0
while [ "$i" -lt "$runs" ]; do
    "$ours" | sed 's/^/ours /' >> "$tmp/all"
    "$blas" | sed 's/^/blas /' >> "$tmp/all"
    i=$((i + 1))
done
awk '
    $2 == "#" { isa = $4; next }
    { key = $3 " " $4; v = $5 + 0
      if (!(key in seen)) { seen[key] = 1; order[n++] = key }
      if (v > best[$1, key]) best[$1, key] = v }
    END {
        printf "%-22s %-5s %9s %9s %6s %6s %4s\n", "shape", "dtype", "ours", "OpenBLAS", "ratio", "target", "met"
        miss = 0
        for (i = 0; i < n; i++) {
            k = order[i]; split(k, f, " ")
            o = best["ours", k]; b = best["blas", k]; r = b > 0 ? o / b : 0
            met = r >= 0.85 ? "yes" : "no"; if (met == "no") miss++
            printf "%-22s %-5s %9.1f %9.1f %6.2f %6.2f %4s\n", f[1], f[2], o, b, r, 0.85, met
        }
        printf "GFLOP/s, one thread, our kernel: %s; %d of %d rows below target\n", isa, miss, n
    }' "$tmp/all"
