# tabular: a CSV and two .npy files written, read back by the loaders, and
# learned in mini-batches from the batch iterator: the MLP's held-out MSE is
# far below predicting the mean, the linear classifier separates the blobs.
$BIN/tabular --quick --out $OUT > $OUT/a.txt
cat $OUT/a.txt
grep -q "tabular.csv: 600 rows of 3 features, target column 3" $OUT/a.txt
grep -q "tabular_y.npy: 600 samples, 3 classes" $OUT/a.txt
grep -q "500 samples, 16 batches of up to 32 an epoch" $OUT/a.txt
awk '/^held-out MSE/ { gsub(/[()]/, ""); got = $3; base = $NF }
     END { exit !(got > 0 && got < base / 10) }' $OUT/a.txt
awk '/^accuracy/ { gsub("%", "", $NF); exit !($NF > 95) }' $OUT/a.txt
test "$(wc -l < $OUT/tabular.csv)" -eq 601
# NumPy reads the files the example wrote (when it is installed)
if /usr/bin/python3 -c 'import numpy' 2> /dev/null; then
    /usr/bin/python3 -c "
import numpy as np, sys
x = np.load('$OUT/tabular_x.npy'); y = np.load('$OUT/tabular_y.npy')
c = np.loadtxt('$OUT/tabular.csv', delimiter=',', skiprows=1)
ok = x.dtype == np.float32 and x.shape == (600, 2) and y.dtype == np.int64
ok = ok and list(np.bincount(y)) == [200, 200, 200] and c.shape == (600, 4)
sys.exit(0 if ok else 1)"
fi
# errors
rc=0; $BIN/tabular --frobnicate 2> $OUT/e1.txt || rc=$?
test $rc -eq 2 && grep -q "unknown or incomplete option '--frobnicate'" $OUT/e1.txt
rc=0; $BIN/tabular --quick --out $OUT/no/such/dir > /dev/null 2> $OUT/e2.txt || rc=$?
test $rc -eq 1 && grep -q "cannot create the folder '$OUT/no/such/dir'" $OUT/e2.txt
$BIN/tabular --help | grep -q "usage: tabular"
if [ -n "$VBIN" ]; then
    $VALGRIND $VBIN/tabular --quick --out $OUT > /dev/null
fi
