# gradients_through_time: |dL/dh_t| over 100 steps: a tanh RNN with small
# recurrent weights vanishes, large ones explode, LayerNorm tames them;
# the LSTM decays slower than the small tanh RNN and reaches all steps
# with its forget gate open; clipping leaves at most 1; a complete SVG.
$BIN/gradients_through_time --quick --out $OUT > $OUT/g.txt
cat $OUT/g.txt
awk '
/^(tanh|LSTM|GRU)/ {                # name, |dh_1|, |dh_T/2|, |dh_T|, ratio, |grad|, clipped
    name = $0; num = " +[-+0-9.e]+"
    sub(num num num num num num " *$", "", name)
    rows++; ratio[name] = $(NF - 2); clip[name] = $NF
}
function fail(msg) { print "FAILED: " msg; bad = 1 }
END {
    if (rows != 6) fail("expected 6 configurations, got " rows)
    if (!(ratio["tanh RNN, small W_hh"] < 1e-10)) fail("small W_hh did not vanish")
    if (!(ratio["tanh RNN, large W_hh"] > 1e3)) fail("large W_hh did not explode")
    ln = ratio["tanh RNN, large W_hh, LayerNorm"]
    if (!(ln > 1e-3 && ln < 1e3 && ln < ratio["tanh RNN, large W_hh"] / 100))
        fail("LayerNorm did not tame the large W_hh: " ln)
    if (!(ratio["LSTM"] > 1e6 * ratio["tanh RNN, small W_hh"])) fail("LSTM decays as fast as tanh")
    if (!(ratio["LSTM, forget bias 3"] > 1e-3)) fail("the open forget gate lost the gradient")
    for (k in clip) if (!(clip[k] <= 1)) fail(k ": clipped norm " clip[k] " above 1")
    exit bad
}' $OUT/g.txt
grep -q "</svg>" $OUT/gradients_through_time.svg
test "$(grep -c '<polyline' $OUT/gradients_through_time.svg)" -ge 6
$BIN/gradients_through_time --help | grep -q "usage: gradients_through_time"
rc=0; $BIN/gradients_through_time --steps 1 2> $OUT/e1.txt || rc=$?
test $rc -eq 2 && grep -q "steps needs a number in \[2, 1000\], got '1'" $OUT/e1.txt
rc=0; $BIN/gradients_through_time --frobnicate 2> $OUT/e2.txt || rc=$?
test $rc -eq 2 && grep -q "unknown or incomplete option '--frobnicate'" $OUT/e2.txt
if [ -n "$VBIN" ]; then
    $VALGRIND $VBIN/gradients_through_time --steps 10 --out $OUT > /dev/null
fi
