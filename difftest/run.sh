#!/bin/sh
# difftest/run.sh: runs the differential test (called by `make difftest`).
#
#   sh difftest/run.sh GEN
#
# GEN is the built generator (build/difftest/gen). Settings, from the
# environment (make passes them on):
#   DIFFTEST_N          graphs to run (1000)
#   DIFFTEST_SEED       first seed (1): graph k uses seed DIFFTEST_SEED + k
#   DIFFTEST_BATCH      graphs per PyTorch process (100)
#   DIFFTEST_JOBS       batches run at once (the number of CPUs)
#   DIFFTEST_PYTHON     the Python that has torch (/usr/bin/python3, Debian's)
#   DIFFTEST_KNOWN_BUGS 1: also generate the ops with known library bugs
#   DIFFTEST_NO_INSTALL 1: never try to install python3-torch
#   DIFFTEST_REQUIRE    1: a missing PyTorch is a failure, not a skip
#   DIFFTEST_OUT        folder for the batch files (build/difftest/run)
#
# PyTorch: when DIFFTEST_PYTHON cannot import torch and we are root on a
# system with apt-get, Debian's python3-torch is installed (apt-get update
# first if the package is unknown). Otherwise the run is SKIPPED: a banner
# says why and the exact command to run, and the exit status is 0 (1 with
# DIFFTEST_REQUIRE=1), so that `make difftest` on a machine without
# PyTorch does not break a larger build but cannot be mistaken for a pass.
#
# Exit status: 0 all graphs passed (or skipped), 1 a graph failed or the
# harness broke. Failing batches are kept in DIFFTEST_OUT.
set -u
GEN=${1:?usage: run.sh GEN}
N=${DIFFTEST_N:-1000}
SEED=${DIFFTEST_SEED:-1}
BATCH=${DIFFTEST_BATCH:-100}
JOBS=${DIFFTEST_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
PY=${DIFFTEST_PYTHON:-/usr/bin/python3}
OUT=${DIFFTEST_OUT:-$(dirname "$GEN")/run}
HERE=$(dirname "$0")
GENFLAGS=""
[ "${DIFFTEST_KNOWN_BUGS:-0}" = 1 ] && GENFLAGS="--with-known-bugs"

skip() {
    echo "################################################################"
    echo "difftest: SKIPPED, PyTorch not available: $1"
    echo "difftest: to run it: apt-get install -y python3-torch (as root; Debian's"
    echo "difftest: package, for $PY), then: make difftest"
    echo "################################################################"
    [ "${DIFFTEST_REQUIRE:-0}" = 1 ] && exit 1
    exit 0
}

has_torch() { "$PY" -c 'import torch' >/dev/null 2>&1; }

ensure_torch() {
    has_torch && return 0
    [ -x "$PY" ] || skip "$PY does not exist"
    if [ "${DIFFTEST_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] &&
            command -v apt-get >/dev/null 2>&1; then
        echo "difftest: $PY cannot import torch; installing Debian's python3-torch (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq python3-torch >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              apt-get install -y -qq python3-torch >/dev/null 2>&1; }
        has_torch && return 0
        skip "apt-get install python3-torch failed or did not give $PY a torch"
    fi
    why=$("$PY" -c 'import torch' 2>&1 | tail -n 1)
    skip "$PY cannot import torch (${why:-no message}); installing needs root and apt-get"
}

ensure_torch
mkdir -p "$OUT" || exit 1
rm -f "$OUT"/batch_*
start=$(date +%s.%N)
version=$("$PY" -c 'import torch; print(torch.__version__)')
echo "difftest: $N graphs from seed $SEED, $BATCH per PyTorch process, $JOBS at once" \
     "(PyTorch $version)"

# One batch: generate, replay, keep the report.
batch() {
    k=$1 first=$2 count=$3
    txt="$OUT/batch_$k.txt" out="$OUT/batch_$k.out"
    if ! "$GEN" --seed "$first" --count "$count" $GENFLAGS > "$txt" 2> "$out"; then
        echo "difftest: the generator failed on batch $k (seeds $first..)" >> "$out"
        echo "replay: $count graphs, 0 passed, $count failed" >> "$out"
        return
    fi
    "$PY" "$HERE/replay.py" --quiet --expect "$count" "$txt" >> "$out" 2>&1
    echo "status $?" >> "$out"
}

k=0 done=0
while [ "$done" -lt "$N" ]; do
    count=$BATCH
    [ $((N - done)) -lt "$count" ] && count=$((N - done))
    batch "$k" $((SEED + done)) "$count" &
    k=$((k + 1)) done=$((done + count))
    [ $((k % JOBS)) -eq 0 ] && wait
done
wait
n_batches=$k

# Gather: failures in full, then the sums and the op coverage.
k=0 bad_harness=0
while [ "$k" -lt "$n_batches" ]; do
    f="$OUT/batch_$k.out"
    grep -v '^replay' "$f" | grep -v '^status 0$' | grep -v '^status 1$'
    if ! grep -q '^replay: [0-9]* graphs' "$f"; then
        echo "difftest: batch $k gave no result"
        bad_harness=1
    fi
    if grep -q '^status 2$' "$f"; then
        echo "difftest: batch $k: bad input (see $f)"
        bad_harness=1
    fi
    if ! grep -q ' 0 failed$' "$f"; then
        echo "difftest: batch $k failed: its graphs are in $OUT/batch_$k.txt"
    else
        rm -f "$OUT/batch_$k.txt"
    fi
    k=$((k + 1))
done
end=$(date +%s.%N)
cat "$OUT"/batch_*.out | awk -v n="$N" -v t0="$start" -v t1="$end" -v harness="$bad_harness" \
    -v ops="$("$GEN" --list-ops | grep -v 'known bug' | tr '\n' ' ')" '
    /^replay: [0-9]+ graphs/ { graphs += $2; passed += $4; failed += $6 }
    /^replay-worst:/ { w = $2 + 0; if (w > worst) worst = w }
    /^replay-second-look:/ { second += $2 }
    /^replay-ops:/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); seen[kv[1]] += kv[2] } }
    END {
        n_ops = split(ops, list, " "); missing = ""; covered = 0
        for (i = 1; i <= n_ops; i++)
            if (seen[list[i]] > 0) covered++; else missing = missing " " list[i]
        printf "difftest: %d of %d op kinds exercised%s\n", covered, n_ops,
               missing == "" ? "" : " (not reached in this run:" missing ")"
        printf "difftest: worst error %.3g of the tolerance in a passing graph\n", worst
        if (second > 0)
            printf "difftest: %d graph(s) passed only on the second look (rounding %s)\n",
                   second, "relative to the largest derivatives flowing, see README"
        if (graphs != n) {
            printf "difftest: expected %d graphs, replayed %d\n", n, graphs
            failed += n - graphs
        }
        printf "difftest: %d passed, %d failed (%.1f s)\n", passed, failed, t1 - t0
        exit (failed > 0 || harness) ? 1 : 0
    }'
