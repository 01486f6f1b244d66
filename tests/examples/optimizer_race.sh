# optimizer_race: on Rosenbrock, Newton and L-BFGS converge in fewer steps
# than every first-order method, and so do CG, BFGS, Gauss-Newton and LM
# (Gauss-Newton in 2: the residuals' linearization is exact in x); GN and LM
# do not run on the saddle (n/a); on the saddle every deterministic method
# stays exactly on the ridge y = 0 (plain SGD reaches (0,0)) and only the
# noisy SGD escapes; both plots are complete SVG files; bad flags are clear.
$BIN/optimizer_race --quick --out $OUT > $OUT/race.txt
cat $OUT/race.txt
awk -F'|' '
NF == 3 && $1 ~ / [0-9.e-]+ *$/ {     # a row: name, lr | Rosenbrock | saddle
    name = $1; sub(/ +[0-9.e-]+ *$/, "", name)
    split($2, r, " "); n = split($3, s, " ")
    rows++; steps[name] = r[1]; saddle[name] = $3; y[name] = s[n] + 0
}
function fail(msg) { print "FAILED: " msg; bad = 1 }
END {
    if (rows != 18) fail("expected 18 optimizers, got " rows)
    nw = steps["Newton"]; lb = steps["L-BFGS strong Wolfe"]
    if (nw !~ /^[0-9]+$/ || nw > 10) fail("Newton: " nw " steps, expected <= 10")
    if (lb !~ /^[0-9]+$/ || lb > 60) fail("L-BFGS: " lb " steps, expected <= 60")
    slow = nw > lb ? nw : lb
    limit["CG Polak-Ribiere+"] = 40; limit["CG Fletcher-Reeves"] = 80; limit["BFGS"] = 60
    limit["Gauss-Newton"] = 2; limit["Levenberg-Marquardt"] = 25
    for (k in limit) {
        if (steps[k] !~ /^[0-9]+$/ || steps[k] + 0 > limit[k]) fail(k ": " steps[k] " steps, expected <= " limit[k])
        second[k] = 1
    }
    for (k in steps) {
        if (k == "Newton" || k == "L-BFGS strong Wolfe" || k in second || steps[k] !~ /^[0-9]+$/) continue
        converged++
        if (steps[k] + 0 <= slow + 0) fail(k " (" steps[k] " steps) beat a second-order method")
    }
    if (converged < 3) fail("only " converged " first-order methods converged in the quick run")
    for (k in saddle) {
        if (k == "SGD + grad noise") continue
        if (k == "Gauss-Newton" || k == "Levenberg-Marquardt") {
            if (saddle[k] !~ /n\/a/) fail(k " ran on the saddle: " saddle[k])
            continue
        }
        if (y[k] != 0 || saddle[k] !~ /stalled|stuck/) fail(k " left the ridge: " saddle[k])
    }
    if (saddle["SGD"] !~ /stalled at \(0,0\)/) fail("SGD did not reach the saddle: " saddle["SGD"])
    e = saddle["SGD + grad noise"]; ye = y["SGD + grad noise"]
    if (e !~ /escaped/ || (ye < 1 && ye > -1)) fail("noisy SGD did not escape: " e)
    exit bad
}' $OUT/race.txt
for f in rosenbrock saddle; do
    grep -q "</svg>" $OUT/$f.svg
    test "$(grep -c '<polyline' $OUT/$f.svg)" -ge 30     # contours and 16 or 18 paths
done
$BIN/optimizer_race --help | grep -q "usage: optimizer_race"
rc=0; $BIN/optimizer_race --frobnicate 2> $OUT/e1.txt || rc=$?
test $rc -eq 2 && grep -q "unknown or incomplete option '--frobnicate'" $OUT/e1.txt
rc=0; $BIN/optimizer_race --quick --out $OUT/no/such/dir > /dev/null 2> $OUT/e2.txt || rc=$?
test $rc -eq 1 && grep -q "cannot create the folder '$OUT/no/such/dir'" $OUT/e2.txt
if [ -n "$VBIN" ]; then             # about 15 s under Valgrind
    $VALGRIND $VBIN/optimizer_race --quick --out $OUT > /dev/null
fi
