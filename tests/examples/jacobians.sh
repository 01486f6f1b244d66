# jacobians: forward and reverse mode give the same Jacobian (tall and wide),
# with n forward walks against m backward walks; the Rosenbrock Hessian by
# forward-over-reverse and reverse-over-reverse matches the closed form.
$BIN/jacobians --quick > $OUT/a.txt
cat $OUT/a.txt
# four Jacobian rows, each agreeing to 1e-12; walks: forward n, reverse m
awk '/^(tall|wide) / { n++; if ($NF > 1e-12) bad = 1
                       split($2, d, "x"); w = ($3 == "forward") ? d[2] : d[1]
                       if ($4 != w) bad = 1 }
     END { exit !(n == 4 && !bad) }' $OUT/a.txt
# two Hessian rows within 1e-9 of the formula
awk '/^hessian / { n++; if ($NF > 1e-9) bad = 1 } END { exit !(n == 2 && !bad) }' $OUT/a.txt
# flags
$BIN/jacobians --help | grep -q 'usage: jacobians'
rc=0; $BIN/jacobians --fast 2> $OUT/e.txt || rc=$?
test $rc -eq 2
grep -q "unknown option '--fast'" $OUT/e.txt
if [ -n "$VBIN" ]; then
    $VALGRIND $VBIN/jacobians --quick > /dev/null
fi
