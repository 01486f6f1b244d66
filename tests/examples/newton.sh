# newton: double backward's Hessian-vector product matches the Hessian and
# the closed form; Newton converges in a handful of iterations, quadratically,
# gradient descent in hundreds or more; both reach the same minimum.
$BIN/newton --quick > $OUT/a.txt
cat $OUT/a.txt
grep 'max difference' $OUT/a.txt | awk '{ exit !($3 < 1e-12) }'
# the table: Newton 3..10 iterations, gradient descent >= 100; both |g| < 1e-8
awk '/^Newton, exact Hessian/ { ni = $4; nl = $5; ng = $6 }
     /^gradient descent, 1\/L/ { gi = $4; gl = $5; gg = $6 }
     END { d = nl - gl; if (d < 0) d = -d
           exit !(ni >= 3 && ni <= 10 && gi >= 100 && ng < 1e-8 && gg < 1e-8 && d < 1e-12) }' $OUT/a.txt
grep 'the two minimizers differ by' $OUT/a.txt | awk '{ exit !($6 < 1e-5) }'
# quadratic convergence: Newton's last gradient norm < (the one before)^1.5
awk '/^Newton.s method/ { on = 1; next } /^$/ { on = 0 }
     on && /^ +[0-9]+ +[0-9.]+ +[0-9.e+-]+$/ { prev = last; last = $3; n++ }
     END { exit !(n >= 4 && last < prev ^ 1.5) }' $OUT/a.txt
# flags
$BIN/newton --help | grep -q 'usage: newton'
rc=0; $BIN/newton --lr 1 2> $OUT/e.txt || rc=$?
test $rc -eq 2
grep -q "unknown option '--lr'" $OUT/e.txt
if [ -n "$VBIN" ]; then
    $VALGRIND $VBIN/newton --quick > /dev/null
fi
