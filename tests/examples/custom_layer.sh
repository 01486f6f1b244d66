# custom_layer: the RBF layer passes gradcheck and gradgradcheck w.r.t. its
# input and parameters, names itself in a shape error, lists its parameters
# in a Sequential, and learns: the loss falls well below its start.
$BIN/custom_layer --quick > $OUT/a.txt
cat $OUT/a.txt
grep -q '^  ag_gradcheck: passed' $OUT/a.txt
grep -q '^  ag_gradgradcheck: passed' $OUT/a.txt
grep -q '^a \[5,3\] input: RBF(in_features=2, centers=3): x must be \[N,2\], got \[5,3\]$' $OUT/a.txt
grep -q '^  0.centers    \[12,1\]$' $OUT/a.txt
grep -q '^  0.log_gamma  \[12\]$' $OUT/a.txt
grep -q '^  1.weight     \[1,12\]$' $OUT/a.txt
grep -q '^  1.bias       \[1\]$' $OUT/a.txt
# the loss: the last printed (step 40) below 0.01 and below 1/20 of the first
awk '/^step/ { on = 1; next } /^$/ { on = 0 }
     on { n++; if (n == 1) first = $2; last = $2; step = $1 }
     END { exit !(n == 9 && step == 40 && last < 0.01 && last < first / 20) }' $OUT/a.txt
# the fitted points inside the range are within 0.15 of the target
awk '/^    x +target +model$/ { on = 1; next }
     on && NF == 3 { n++; d = $3 - $2; if ($1 > -1.9 && $1 < 1.9 && (d > 0.15 || d < -0.15)) exit 1 }
     END { exit n != 8 }' $OUT/a.txt
# flags
$BIN/custom_layer --help | grep -q 'usage: custom_layer'
rc=0; $BIN/custom_layer -q 2> $OUT/e.txt || rc=$?
test $rc -eq 2
grep -q "unknown option '-q'" $OUT/e.txt
if [ -n "$VBIN" ]; then
    $VALGRIND $VBIN/custom_layer --quick > /dev/null
fi
