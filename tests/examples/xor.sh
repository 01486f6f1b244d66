# xor: the two-layer network gets all four points, the logistic unit at most
# three (stuck at loss ln 2), and the perceptron rule never settles.
$BIN/xor --quick > $OUT/a.txt
cat $OUT/a.txt
grep -q '^two-layer 2-4-1, tanh: accuracy 4/4 = 100%' $OUT/a.txt
grep -q '^one-layer (logistic): accuracy [0-3]/4' $OUT/a.txt
# the predictions: two-layer p within 0.05 of each target
awk '/^  [01]  [01]    [01]    \|/ { n++; d = $7 - $3; if (d < -0.05 || d > 0.05) exit 1 }
     END { exit n != 4 }' $OUT/a.txt
# the losses at the last step: two-layer < 0.01, one-layer = ln 2 to 1e-5
tail_row=$(awk '/^ *[0-9]+   [0-9.]+ +[0-9.]+$/ { r = $0 } END { print r }' $OUT/a.txt)
echo "$tail_row" | awk '{ d = $3 - log(2); exit !($2 < 0.01 && d < 1e-5 && d > -1e-5) }'
# the maps: the network's region has both classes; the logistic unit is
# undecided everywhere; each map shows the four targets where they belong
awk '/^decision regions/ { on = 1; next } on && NF == 2 { l = l $1; r = r $2 }
     END { m = r; gsub(/[~01]/, "", m)
           exit !(index(l, "#") && index(l, ".") && m == "" && length(r) == 25 * 13) }' $OUT/a.txt
test "$(grep -c '^  ....1...............0....   ~~~~1~~~~~~~~~~~~~~~0~~~~$' $OUT/a.txt)" -eq 1
test "$(grep -c '^  ....0...............1....   ~~~~0~~~~~~~~~~~~~~~1~~~~$' $OUT/a.txt)" -eq 1
grep -q '^perceptron rule: 50 passes over the 4 points, [1-4] mistake' $OUT/a.txt
# flags
$BIN/xor --help | grep -q 'usage: xor'
rc=0; $BIN/xor quick 2> $OUT/e.txt || rc=$?
test $rc -eq 2
grep -q "unknown option 'quick'" $OUT/e.txt
if [ -n "$VBIN" ]; then
    $VALGRIND $VBIN/xor --quick > /dev/null
fi
