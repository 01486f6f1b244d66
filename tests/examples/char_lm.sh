# char_lm on the GPL-3: 3 short epochs lower the validation loss from below
# ln 76 = 4.33; the loss plot is a complete SVG with both curves; a sample
# is printed. Resume: 2 epochs, then --resume to 3, gives the very epoch 3
# and sample of the straight run (checkpoint of weights, Adam and the
# generator). A missing file, a missing checkpoint and bad flags are clear
# errors.
$BIN/char_lm --quick --out $OUT > $OUT/a.txt
cat $OUT/a.txt
grep -q "GPL-3: 35149 characters, vocabulary 76" $OUT/a.txt
first=$(awk '$1 == "epoch" && $2 == 1 { print $8 }' $OUT/a.txt)
last=$(awk '$1 == "epoch" && $2 == 3 { print $8 }' $OUT/a.txt)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(a + 0 > 0 && a < 4.33 && b < a) }'
grep -q "</svg>" $OUT/char_lm_loss.svg
grep -q "validation" $OUT/char_lm_loss.svg
test -s $OUT/char_lm.ckpt
test "$(sed -n 's/^sample (temperature 0.8, top-k 10): //p' $OUT/a.txt | wc -c)" -gt 100
# resume
mkdir $OUT/r
$BIN/char_lm --quick --epochs 2 --out $OUT/r > $OUT/r1.txt
! grep -q "^epoch   3" $OUT/r1.txt
$BIN/char_lm --quick --resume --out $OUT/r > $OUT/r2.txt
cat $OUT/r2.txt
grep -q "resumed from $OUT/r/char_lm.ckpt after epoch 2" $OUT/r2.txt
test "$(grep -c '^epoch' $OUT/r2.txt)" -eq 1
test "$(grep '^epoch   3' $OUT/r2.txt)" = "$(grep '^epoch   3' $OUT/a.txt)"
test "$(grep '^sample' $OUT/r2.txt)" = "$(grep '^sample' $OUT/a.txt)"
test "$(wc -l < $OUT/r/char_lm_history.txt)" -eq 3
# errors
rc=0; $BIN/char_lm /nonexistent/text.txt 2> $OUT/e1.txt || rc=$?
test $rc -eq 1 && grep -q "cannot open '/nonexistent/text.txt'" $OUT/e1.txt
rc=0; $BIN/char_lm --epochs 0 2> $OUT/e2.txt || rc=$?
test $rc -eq 2 && grep -q "bad or incomplete option '--epochs'" $OUT/e2.txt
mkdir $OUT/empty
rc=0; $BIN/char_lm --quick --resume --out $OUT/empty > /dev/null 2> $OUT/e3.txt || rc=$?
cat $OUT/e3.txt
test $rc -eq 1 && grep -q "ag_checkpoint_load" $OUT/e3.txt
rc=0; $BIN/char_lm --hidden 0 2> $OUT/e4.txt || rc=$?
test $rc -eq 2 && grep -q "bad or incomplete option '--hidden'" $OUT/e4.txt
head -c 2200 /usr/share/common-licenses/GPL-3 > $OUT/short.txt
rc=0; $BIN/char_lm $OUT/short.txt 2> $OUT/e5.txt || rc=$?
test $rc -eq 1 && grep -q "is too short (2200 bytes)" $OUT/e5.txt
if [ -n "$VBIN" ]; then             # a small LSTM on a short text, one epoch, then resumed
    mkdir $OUT/v
    head -c 2600 /usr/share/common-licenses/GPL-3 > $OUT/v/text.txt
    $VALGRIND $VBIN/char_lm --hidden 8 --epochs 1 --sample 8 --out $OUT/v $OUT/v/text.txt > $OUT/v1.txt
    $VALGRIND $VBIN/char_lm --hidden 8 --epochs 2 --sample 8 --resume --out $OUT/v $OUT/v/text.txt > $OUT/v2.txt
    grep -q "after epoch 1" $OUT/v2.txt && grep -q "^epoch   2" $OUT/v2.txt && grep -q "^sample" $OUT/v2.txt
fi
