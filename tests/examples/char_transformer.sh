# char_transformer on the GPL-3: 60 steps lower the validation loss from
# near ln 76 = 4.3 to well below it, the loss plot is a complete SVG with
# both curves, a sample of 300 characters is printed; a missing file and
# bad flags are clear errors.
$BIN/char_transformer --quick --out $OUT > $OUT/a.txt
cat $OUT/a.txt
grep -q "GPL-3: [0-9]* characters, vocabulary 76" $OUT/a.txt
first=$(awk '$1 == "step" && $2 == 20 { print $8 }' $OUT/a.txt)
last=$(awk '$1 == "step" && $2 == 60 { print $8 }' $OUT/a.txt)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(a + 0 > 0 && a < 4.0 && b < a) }'
grep -q "</svg>" $OUT/char_transformer_loss.svg
grep -q "validation" $OUT/char_transformer_loss.svg
test "$(sed -n 's/^sample: //p' $OUT/a.txt | wc -c)" -gt 4
rc=0; $BIN/char_transformer /nonexistent/text.txt 2> $OUT/e1.txt || rc=$?
test $rc -eq 1 && grep -q "cannot open '/nonexistent/text.txt'" $OUT/e1.txt
rc=0; $BIN/char_transformer --steps 0 2> $OUT/e2.txt || rc=$?
test $rc -eq 2 && grep -q "bad or incomplete option '--steps'" $OUT/e2.txt
if [ -n "$VBIN" ]; then             # two steps under Valgrind
    $VALGRIND $VBIN/char_transformer --steps 2 --sample 8 --out $OUT > $OUT/v.txt
    grep -q "^sample: The " $OUT/v.txt
fi
