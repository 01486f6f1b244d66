# Four autoencoders: each beats the mean image on the inputs it is meant
# for, the L1-penalised code is sparser than the plain one, the PNG is whole;
# on Fashion-MNIST the denoising model also beats the plain one on masked
# inputs, and the convolutional denoising one beats both. Bad flags are clear errors.
$BIN/autoencoders --quick --out $OUT/ae.png > $OUT/a.txt
cat $OUT/a.txt
base=$(sed -n 's/^mean-image baseline: test error \([0-9.]*\)$/\1/p' $OUT/a.txt)
row() { awk -v m="$1" -v c="$2" '$1 == m && $2 != "epoch" { gsub("%", "", $c); print $c }' $OUT/a.txt; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
test -n "$base"
lt "$(row plain 2)" "$base"            # plain, clean inputs
lt "$(row sparse 2)" "$base"           # sparse, clean inputs
lt "$(row denoising 3)" "$base"        # denoising, masked inputs
lt "$(row conv-denoising 3)" "$base"   # convolutional denoising, masked inputs
lt "$(row sparse 4)" "$(row plain 4)"  # smaller mean code
lt "$(row plain 5)" "$(row sparse 5)"  # more zeros in the code
if ! grep -q "not found" $OUT/a.txt; then
    lt "$(row denoising 3)" "$(row plain 3)"
    lt "$(row conv-denoising 3)" "$(row denoising 3)"
fi
# the picture: a greyscale PNG of 10 columns and 7 rows of 28x28 cells, 2px
# gaps, decoded independently (chunk CRCs, zlib, Adler-32, filter bytes)
sh tests/png_check.sh $OUT/ae.png 302 212
# errors: exit status 2 and a message
rc=0; $BIN/autoencoders --epochs 0 2> $OUT/e1.txt || rc=$?
test $rc -eq 2 && grep -q "bad or incomplete option '--epochs'" $OUT/e1.txt
rc=0; $BIN/autoencoders --frobnicate 2> $OUT/e2.txt || rc=$?
test $rc -eq 2 && grep -q "'--frobnicate'" $OUT/e2.txt
! $BIN/autoencoders --quick --out /nonexistent/dir/x.png 2> $OUT/e3.txt
grep -q "cannot write" $OUT/e3.txt
# a --data folder without the files is an error (exit 1), as in every example
rc=0; $BIN/autoencoders --quick --data $OUT/no-such-folder 2> $OUT/e4.txt || rc=$?
test $rc -eq 1 && grep -q "no-such-folder: cannot read" $OUT/e4.txt
if [ -n "$VBIN" ]; then             # a tiny run under Valgrind
    $VALGRIND $VBIN/autoencoders --quick --train 100 --test 20 --out $OUT/v.png > /dev/null
    sh tests/png_check.sh $OUT/v.png 302 212
fi
