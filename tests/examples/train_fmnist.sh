# The trainer: a quick run of the CNN (the default) and of the MLP learns,
# writes its files and resumes exactly; bad flags, a wrong path and a
# truncated IDX file are clear errors.
$BIN/train_fmnist --quick --summary --out $OUT/a > $OUT/a.txt
cat $OUT/a.txt
if grep -q "Fashion-MNIST samples" $OUT/a.txt; then     # images: the CNN ran
    grep -q "^model: cnn, 824650 parameters" $OUT/a.txt
    grep -q "flips" $OUT/a.txt                       # the cnn's default
    grep -q "^  1 (Conv2d) *\[128,32,28,28\] *320$" $OUT/a.txt  # the summary's rows
    grep -q "^Parameters: 824,650" $OUT/a.txt
else                                                    # spirals: the MLP instead
    grep -q "the data are not images: training the MLP" $OUT/a.txt
fi
$BIN/train_fmnist --quick --model mlp --out $OUT/m > $OUT/m.txt
grep -q "^model: mlp, " $OUT/m.txt
! grep -q "flips" $OUT/m.txt                         # not the mlp's
acc=$(sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p' $OUT/m.txt)
awk -v a="$acc" 'BEGIN { exit !(a > 70) }'
! $BIN/train_fmnist --model resnet 2> $OUT/e8.txt
grep -q -- "--model must be one of: cnn mlp; got 'resnet'" $OUT/e8.txt
grep -q "test accuracy: " $OUT/a.txt
acc=$(sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p' $OUT/a.txt)
awk -v a="$acc" 'BEGIN { exit !(a > 70) }'      # far above chance either way
for f in metrics.csv loss.svg accuracy.svg best.safetensors final.safetensors last.ckpt; do
    test -s $OUT/a/$f
done
test "$(wc -l < $OUT/a/metrics.csv)" -eq 4       # a header and 3 epochs
grep -q "</svg>" $OUT/a/loss.svg
# resume: 2 of 3 epochs, then the rest with --resume, equals 3 uninterrupted (1 thread)
$BIN/train_fmnist --quick --threads 1 --out $OUT/b > /dev/null
$BIN/train_fmnist --quick --threads 1 --stop-after 2 --out $OUT/c > $OUT/c1.txt
grep -q "stopped after epoch 2 of 3" $OUT/c1.txt
$BIN/train_fmnist --quick --threads 1 --resume --out $OUT/c > $OUT/c.txt
grep -q "resuming after epoch 2" $OUT/c.txt
cut -d, -f1-6 $OUT/b/metrics.csv > $OUT/b.csv
cut -d, -f1-6 $OUT/c/metrics.csv > $OUT/c.csv
cmp $OUT/b.csv $OUT/c.csv
cmp $OUT/b/final.safetensors $OUT/c/final.safetensors
# errors: non-zero exit and a message, no crash
! $BIN/train_fmnist --epochs banana 2> $OUT/e1.txt
grep -q "epochs needs a number" $OUT/e1.txt
! $BIN/train_fmnist --frobnicate 2> $OUT/e2.txt
grep -q "unknown or incomplete option '--frobnicate'" $OUT/e2.txt
! $BIN/train_fmnist --dtype f16 2> $OUT/e6.txt      # a bad value names the flag and choices
grep -q -- "--dtype must be one of: f32 f64; got 'f16'" $OUT/e6.txt
! $BIN/train_fmnist --optimizer lbfgs 2> $OUT/e7.txt
grep -q -- "--optimizer must be one of: adam adamw sgd" $OUT/e7.txt
$BIN/train_fmnist --help | grep -q "sgd runs with momentum 0.9 and Nesterov"
grep -q "best epoch" $OUT/a/loss.svg                 # the best epoch marked
mkdir $OUT/bad
head -c 1000 build/data/fashion-mnist/train-images-idx3-ubyte > $OUT/bad/train-images-idx3-ubyte 2>/dev/null ||
    printf '\000\000\010\003\000\000\000\002' > $OUT/bad/train-images-idx3-ubyte
for f in train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    cp build/data/fashion-mnist/$f $OUT/bad/ 2>/dev/null || : > $OUT/bad/$f
done
! $BIN/train_fmnist --quick --data $OUT/bad --out $OUT/d 2> $OUT/e3.txt
grep -qi "truncated\|short\|size" $OUT/e3.txt
rc=0; $BIN/train_fmnist --quick --data $OUT/no-such-folder --out $OUT/e 2> $OUT/e5.txt || rc=$?
test $rc -eq 1
grep -q "no-such-folder: cannot read" $OUT/e5.txt
! $BIN/train_fmnist --quick --resume --out $OUT/nothing-here 2> $OUT/e4.txt
grep -q "resume" $OUT/e4.txt
if [ -n "$VBIN" ]; then             # the error paths under Valgrind
    rc=0; $VALGRIND $VBIN/train_fmnist --frobnicate 2> $OUT/v1.txt || rc=$?
    test $rc -eq 2                  # the program's own code, not Valgrind's 99
    rc=0; $VALGRIND $VBIN/train_fmnist --quick --data $OUT/bad --out $OUT/v 2> $OUT/v2.txt || rc=$?
    test $rc -eq 1
    rc=0; $VALGRIND $VBIN/train_fmnist --quick --data $OUT/nowhere --out $OUT/v 2> $OUT/v3.txt || rc=$?
    test $rc -eq 1
fi
