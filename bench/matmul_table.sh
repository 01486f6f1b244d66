#!/bin/sh
# matmul_table.sh OURS OPENBLAS [RUNS]: runs the two matmul benchmarks
# (bench_matmul.c, openblas_matmul.c) RUNS times each, alternating
# (OPENBLAS_CORETYPE unset; each program sets each shape's thread count),
# and prints one row per shape, dtype and thread count: GFLOP/s of each,
# their ratio, the row's target ratio and whether it is met. Each number is
# a median over repetitions inside one run; of the RUNS runs the best
# median is kept, so that a burst of load from another process on a shared
# machine does not decide a row. The load average is printed before and
# after: on a busy machine compare the ratios, not the absolute figures.
set -eu
ours=$1 blas=$2 runs=${3:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset OPENBLAS_CORETYPE
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 AG_NUM_THREADS=2
load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
i=0
while [ "$i" -lt "$runs" ]; do
    "$ours" | sed 's/^/ours /' >> "$tmp/all"
    "$blas" | sed 's/^/blas /' >> "$tmp/all"
    i=$((i + 1))
done
load1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
awk -v load0="$load0" -v load1="$load1" '
    $2 == "#" { isa = $4; next }
    { key = $3 " " $4 " " $7; v = $5 + 0; target[key] = $8
      if (!(key in seen)) { seen[key] = 1; order[n++] = key }
      if (v > best[$1, key]) best[$1, key] = v }
    END {
        printf "%-22s %-5s %3s %9s %9s %6s %6s %4s\n", "shape", "dtype", "thr", "ours",
               "OpenBLAS", "ratio", "target", "met"
        miss = 0
        for (i = 0; i < n; i++) {
            k = order[i]; split(k, f, " ")
            o = best["ours", k]; b = best["blas", k]; r = b > 0 ? o / b : 0
            met = r >= target[k] ? "yes" : "no"; if (met == "no") miss++
            printf "%-22s %-5s %3s %9.1f %9.1f %6.2f %6.2f %4s\n", f[1], f[2], f[3], o, b, r,
                   target[k], met
        }
        printf "GFLOP/s, our kernel: %s; %d of %d rows below target; load average %s before, %s after\n",
               isa, miss, n, load0, load1
    }' "$tmp/all"
