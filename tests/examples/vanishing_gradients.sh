# vanishing_gradients: the textbook orderings of per-layer gradient norms
# (sigmoid vanishes, ReLU + He and tanh + Xavier stay level, a too large
# init explodes, BatchNorm rescues both), a complete SVG, clear bad flags.
$BIN/vanishing_gradients --quick --out $OUT > $OUT/grads.txt
cat $OUT/grads.txt
awk '
/^(sigmoid|tanh|ReLU), / {          # name (2 or 3 words), |dW| 1, 10, 20, ratio, loss
    name = $0; num = " +[-+0-9.e]+"
    sub(num num num num num " *$", "", name)
    rows++; first[name] = $(NF - 4); ratio[name] = $(NF - 1); loss[name] = $NF
    for (i = NF - 4; i <= NF - 2; i++) if (name ~ /BN/ && ($i < 1e-2 || $i > 1e4)) bn_bad = name
}
function fail(msg) { print "FAILED: " msg; bad = 1 }
function level(k) {
    if (!(ratio[k] > 0.1 && ratio[k] < 20)) fail(k ": first/last " ratio[k] " not in [0.1, 20]")
}
END {
    if (rows != 14) fail("expected 14 configurations, got " rows)
    for (k in ratio)
        if (k ~ /^sigmoid/ && k !~ /BN/ && !(ratio[k] < 1e-6))
            fail(k ": first/last " ratio[k] " did not vanish")
    level("ReLU, He"); level("tanh, Xavier")
    level("sigmoid, Xavier, BN"); level("sigmoid, He, BN")
    if (!(first["ReLU, He x2"] > 1e4 * first["ReLU, He"])) fail("He x2 did not explode")
    if (!(loss["ReLU, He x2"] > 1e3)) fail("He x2: loss " loss["ReLU, He x2"] " is not huge")
    q = first["ReLU, He x2, BN"] / first["ReLU, He, BN"]
    if (!(q > 1 / 3 && q < 3)) fail("BatchNorm did not undo the init scale: ratio " q)
    if (bn_bad != "") fail(bn_bad ": a gradient norm outside [1e-2, 1e4] with BatchNorm")
    exit bad
}' $OUT/grads.txt
grep -q "</svg>" $OUT/grad_norms.svg
test "$(grep -c '<polyline' $OUT/grad_norms.svg)" -ge 14
# on random data (--synthetic) the orderings still hold (checked loosely)
$BIN/vanishing_gradients --quick --synthetic --out $OUT > $OUT/synth.txt
grep -q "random N(0, 1) inputs and random labels" $OUT/synth.txt
grep "^sigmoid, Xavier  " $OUT/synth.txt | awk '{ exit !($(NF - 1) < 1e-6) }'
$BIN/vanishing_gradients --help | grep -q "usage: vanishing_gradients"
rc=0; $BIN/vanishing_gradients --batch 1 2> $OUT/e1.txt || rc=$?
test $rc -eq 2 && grep -q "batch needs a number in \[2, 256\], got '1'" $OUT/e1.txt
rc=0; $BIN/vanishing_gradients --frobnicate 2> $OUT/e2.txt || rc=$?
test $rc -eq 2 && grep -q "unknown or incomplete option '--frobnicate'" $OUT/e2.txt
if [ -n "$VBIN" ]; then             # a batch of 8 on random data: about 5 s of CPU
    $VALGRIND $VBIN/vanishing_gradients --batch 8 --synthetic --out $OUT > /dev/null
fi
# a --data folder without the files is an error (exit 1), as in every example;
# run from another folder, the program finds build/data beside itself
rc=0; $BIN/vanishing_gradients --quick --data $OUT/no-such-folder 2> $OUT/d1.txt || rc=$?
test $rc -eq 1 && grep -q "no-such-folder: cannot read" $OUT/d1.txt
rc=0; AG_DATA_DIR=$OUT/nowhere $BIN/vanishing_gradients --quick 2> $OUT/d2.txt || rc=$?
test $rc -eq 1 && grep -q "AG_DATA_DIR=$OUT/nowhere: cannot read" $OUT/d2.txt
if [ -s build/data/fashion-mnist/t10k-images-idx3-ubyte ]; then
    bin=$(cd $BIN && pwd)
    (cd $OUT && $bin/vanishing_gradients --quick --out $OUT > $OUT/d3.txt)
    grep -q "Fashion-MNIST test images" $OUT/d3.txt
fi
