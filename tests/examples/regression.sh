# regression: backward's first gradient equals the closed form; gradient
# descent drives the loss down and recovers the parameters.
$BIN/regression --quick > $OUT/a.txt
cat $OUT/a.txt
# both first-step gradients agree with the plain-C closed form to rounding
test "$(grep -c 'max |backward - closed form|' $OUT/a.txt)" -eq 2
grep 'max |backward - closed form|' $OUT/a.txt | awk '{ if ($NF > 1e-12) exit 1 }'
# the loss falls: first row of each loss table against its last row
awk '/^step/ { t++; first[t] = ""; next }
     /^ *[0-9]+   [0-9.]+   [0-9.e+-]+$/ { if (first[t] == "") first[t] = $2; last[t] = $2 }
     END { if (t != 2) exit 1
           if (!(last[1] < 0.02 && first[1] > 1)) exit 1          # MSE: down to the noise, 0.1^2
           if (!(last[2] < 0.5 && first[2] > 0.69)) exit 1 }' $OUT/a.txt
# linear: learned = least squares (1e-3), near the truth (0.05)
awk '/^parameter .*least squares/ { on = 1; next } /^$/ { on = 0 }
     on && /^  (w\[|b )/ { n++; d = $2 - $3; e = $2 - $4
        if (d < -0.05 || d > 0.05 || e < -1e-3 || e > 1e-3) exit 1 }
     END { exit n != 4 }' $OUT/a.txt
# logistic: the maximum-likelihood fit, within 0.35 of the truth
awk '/^parameter +learned +true$/ { on = 1; next }
     on && /^  (w\[|b )/ { n++; d = $2 - $3; if (d < -0.35 || d > 0.35) exit 1 }
     END { exit n != 3 }' $OUT/a.txt
# flags
$BIN/regression --help | grep -q 'usage: regression'
rc=0; $BIN/regression --steps 3 2> $OUT/e.txt || rc=$?
test $rc -eq 2
grep -q "unknown option '--steps'" $OUT/e.txt
if [ -n "$VBIN" ]; then
    $VALGRIND $VBIN/regression --quick > /dev/null
fi
