#!/bin/sh
# difftest/selftest.sh: tests the differential test itself (make difftest-selftest).
#
#   sh difftest/selftest.sh GEN
#
# 1. clean graphs pass;
# 2. one deliberately wrong number written into each graph's description
#    (gen --inject: an op's value, the loss, a gradient, a Hessian-vector
#    product, each off by 1e-8 relative) fails EVERY graph, naming the right
#    kind of record;
# 3. a number off by 1e-14 relative still passes (the tolerance is not so
#    tight that rounding fails it);
# 4. a truncated description, a wrong graph count, an unknown op and a
#    wrong shape are errors, not passes;
# 5. without PyTorch, run.sh says SKIPPED loudly, exits 0, and exits 1
#    with DIFFTEST_REQUIRE=1;
# 6. each library bug difftest found (gen --list-repros) stays fixed: its
#    reproducer built by the library now passes, while the recorded
#    difftest/repro_NAME.txt (the buggy output) still fails.
set -u
GEN=${1:?usage: selftest.sh GEN}
PY=${DIFFTEST_PYTHON:-/usr/bin/python3}
HERE=$(dirname "$0")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
N=40
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "difftest-selftest: ok    $1"; }
bad() { fail=$((fail + 1)); echo "difftest-selftest: FAIL  $1"; }

if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    echo "difftest-selftest: SKIPPED, PyTorch not available for $PY (make difftest installs it)"
    exit 0
fi

replay() { "$PY" "$HERE/replay.py" --quiet "$@" > "$TMP/out" 2>&1; echo $?; }

"$GEN" --seed 500 --count $N > "$TMP/clean.txt" || { echo "generator failed"; exit 1; }
st=$(replay --expect $N "$TMP/clean.txt")
[ "$st" = 0 ] && grep -q "$N passed, 0 failed" "$TMP/out" && ok "$N clean graphs pass" ||
    bad "$N clean graphs should pass (status $st): $(tail -n 3 "$TMP/out")"

for kind in value:'value of %' loss:'value of %.* mul_scalar' grad:'grad (ag_backward)' \
            hvp:'Hessian-vector product'; do
    name=${kind%%:*} what=${kind#*:}
    "$GEN" --seed 500 --count $N --inject "$name" > "$TMP/$name.txt"
    st=$(replay --expect $N "$TMP/$name.txt")
    caught=$(grep -c "^difftest: FAIL graph .*: $what" "$TMP/out")
    [ "$st" = 1 ] && grep -q " 0 passed, $N failed" "$TMP/out" && [ "$caught" -ge 3 ] &&
        ok "a wrong $name (1e-8 relative) is caught in all $N graphs" ||
        bad "a wrong $name must fail every graph (status $st, $caught named):" \
            "$(tail -n 3 "$TMP/out")"
done

"$GEN" --seed 500 --count $N --inject tiny > "$TMP/tiny.txt"
st=$(replay --expect $N "$TMP/tiny.txt")
[ "$st" = 0 ] && ok "a gradient off by 1e-14 relative passes (rounding is tolerated)" ||
    bad "a 1e-14 change should pass: $(tail -n 3 "$TMP/out")"

head -n -3 "$TMP/clean.txt" > "$TMP/trunc.txt"
st=$(replay "$TMP/trunc.txt")
[ "$st" = 2 ] && ok "a truncated description is an error" || bad "truncated: status $st"

st=$(replay --expect $((N + 1)) "$TMP/clean.txt")
[ "$st" = 2 ] && ok "a missing graph is an error" || bad "--expect: status $st"

sed '0,/^node \([0-9]*\) \([a-z_]*\) /s//node \1 no_such_op /' "$TMP/clean.txt" > "$TMP/op.txt"
st=$(replay "$TMP/op.txt")
[ "$st" = 1 ] && grep -q 'unknown op no_such_op' "$TMP/out" && ok "an unknown op fails its graph" ||
    bad "unknown op: status $st"

sed '0,/^\(node [^>]*\)-> \[\([0-9,]*\)\]/s//\1-> [\2,1]/' "$TMP/clean.txt" > "$TMP/shape.txt"
st=$(replay "$TMP/shape.txt")
[ "$st" = 1 ] && grep -q 'shape: PyTorch' "$TMP/out" && ok "a wrong shape fails its graph" ||
    bad "wrong shape: status $st"

DIFFTEST_PYTHON=/nonexistent/python3 DIFFTEST_NO_INSTALL=1 \
    sh "$HERE/run.sh" "$GEN" > "$TMP/skip" 2>&1
st=$?
[ "$st" = 0 ] && grep -q '^difftest: SKIPPED, PyTorch not available: ' "$TMP/skip" &&
    ok "no PyTorch: a loud SKIPPED line, status 0" || bad "skip: status $st: $(cat "$TMP/skip")"
DIFFTEST_REQUIRE=1 DIFFTEST_PYTHON=/nonexistent/python3 DIFFTEST_NO_INSTALL=1 \
    sh "$HERE/run.sh" "$GEN" > "$TMP/skip" 2>&1
st=$?
[ "$st" = 1 ] && ok "no PyTorch with DIFFTEST_REQUIRE=1: status 1" || bad "require: status $st"

for name in $("$GEN" --list-repros); do
    "$GEN" --repro "$name" > "$TMP/repro.txt"
    st=$(replay "$TMP/repro.txt")
    [ "$st" = 0 ] && ok "fixed bug $name: its reproducer, built by the library now, passes" ||
        bad "fixed bug $name is back: the reproducer fails (status $st)"
    [ -f "$HERE/repro_$name.txt" ] && st=$(replay "$HERE/repro_$name.txt") && [ "$st" = 1 ] &&
        ok "difftest/repro_$name.txt (the recorded buggy output) still fails, as a record should" ||
        bad "difftest/repro_$name.txt is missing or does not fail"
done

echo "difftest-selftest: $pass passed, $fail failed"
[ "$fail" = 0 ]
