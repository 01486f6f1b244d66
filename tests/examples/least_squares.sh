# least_squares: Gauss-Newton and LM reach the noise floor of the fit in a
# handful of iterations, Adam needs hundreds; the fitted parameters are
# near the truth; the SVG is complete; bad flags are clear.
$BIN/least_squares --quick --out $OUT > $OUT/a.txt
cat $OUT/a.txt
awk '/^(Gauss-Newton|Levenberg-Marquardt|Adam) / {
        if ($1 == "Adam") { adam = $3 } else {
            rows++
            if (!($2 <= 15 && $3 <= 8)) { print "FAILED: " $0; bad = 1 }
            c = $4; if (!(c > 5e-4 && c < 2e-3)) { print "FAILED: cost " c; bad = 1 }
            split(substr($0, index($0, $5)), p, ", ")
            if ((p[1] - 3)^2 > 0.05^2 || (p[2] - 2)^2 > 0.05^2 || (p[3] - 1)^2 > 0.05^2 ||
                (p[4] - 0.3)^2 > 0.05^2) { print "FAILED: parameters " $0; bad = 1 }
        }
     }
     END { if (rows != 2 || !(adam >= 100)) { print "FAILED: rows " rows " adam " adam; bad = 1 }
           exit bad }' $OUT/a.txt
grep -q "</svg>" $OUT/least_squares.svg
test "$(grep -c '<polyline' $OUT/least_squares.svg)" -ge 3
$BIN/least_squares --help | grep -q "usage: least_squares"
rc=0; $BIN/least_squares --frobnicate 2> $OUT/e1.txt || rc=$?
test $rc -eq 2 && grep -q "unknown or incomplete option '--frobnicate'" $OUT/e1.txt
rc=0; $BIN/least_squares --quick --out $OUT/no/such/dir > /dev/null 2> $OUT/e2.txt || rc=$?
test $rc -eq 1 && grep -q "cannot create the folder '$OUT/no/such/dir'" $OUT/e2.txt
$BIN/least_squares --quick --out $OUT/new > /dev/null && test -s $OUT/new/least_squares.svg   # a missing folder is made
if [ -n "$VBIN" ]; then
    $VALGRIND $VBIN/least_squares --quick --out $OUT > /dev/null
fi
