# gradcheck: the right gradients pass both checks, the wrong hand-written one
# fails gradcheck, the detached one fails gradgradcheck, the kink is named.
$BIN/gradcheck --quick > $OUT/a.txt
cat $OUT/a.txt
test "$(grep -c 'ag_gradcheck: passed' $OUT/a.txt)" -eq 2       # checks 1 and 4
test "$(grep -c 'ag_gradgradcheck: passed' $OUT/a.txt)" -eq 1   # check 2
test "$(grep -c 'ag_gradcheck: FAILED' $OUT/a.txt)" -eq 2       # checks 3 and 6
test "$(grep -c 'ag_gradgradcheck: FAILED' $OUT/a.txt)" -eq 1   # check 5
# the passing checks agree to 1e-8; the wrong gradient is off by far more,
# and the error reported is |analytic - numeric| of the entry it names
grep 'passed; worst' $OUT/a.txt | sed 's/.*error \([0-9.e+-]*\).*/\1/' |
    awk '{ if ($1 > 1e-8) exit 1 }'
grep -A1 '^3\. ' $OUT/a.txt | grep 'FAILED' |
    sed 's/.*analytic \([0-9.e+-]*\), numeric \([0-9.e+-]*\), error \([0-9.e+-]*\).*/\1 \2 \3/' |
    awk '{ d = $1 - $2; if (d < 0) d = -d; exit !(d > 0.1 && (d - $3) < 1e-2 * d && ($3 - d) < 1e-2 * d) }'
grep -A2 '^3\. ' $OUT/a.txt | grep -q 'entries compared; worst: d f\['
grep -A1 '^6\. ' $OUT/a.txt | grep -q 'input 0 element 2, .*analytic 0, numeric 0.5.*at a kink'
grep -q 'all six checks came out as expected' $OUT/a.txt
# flags
$BIN/gradcheck --help | grep -q 'usage: gradcheck'
rc=0; $BIN/gradcheck --bogus 2> $OUT/e.txt || rc=$?
test $rc -eq 2
grep -q "unknown option '--bogus'" $OUT/e.txt
if [ -n "$VBIN" ]; then
    $VALGRIND $VBIN/gradcheck --quick > /dev/null
fi
