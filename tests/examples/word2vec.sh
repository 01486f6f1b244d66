# word2vec on the GPL-3, with negative sampling and with hierarchical
# softmax: both losses fall, and pairs of related words
# (source/code, free/software, ...) end up far more alike than words do on
# average; a missing file and bad flags are clear errors.
$BIN/word2vec --quick > $OUT/a.txt
cat $OUT/a.txt
grep -q "GPL-3: [0-9]* words, vocabulary 195 (count >= 5)" $OUT/a.txt
for m in skip-gram CBOW; do
    first=$(awk -v m=$m '$1 == m && $3 == 1 { print $5 }' $OUT/a.txt)
    last=$(awk -v m=$m '$1 == m && $3 == 5 { print $5 }' $OUT/a.txt)
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(b + 0 > 0 && b < 0.9 * a) }'
    sims=$(sed -n "s/^$m *mean cosine similarity: related pairs \([-0-9.]*\), all pairs \([-0-9.]*\)$/\1 \2/p" $OUT/a.txt)
    echo "$sims" | awk '{ exit !(NF == 2 && $1 > $2 + 0.2) }'
done
grep -q "related pairs: source/code .* (10 in the vocabulary)" $OUT/a.txt
grep -q "^negative sampling (5 noise words); subsampling by word2vec.c's rule$" $OUT/a.txt
# hierarchical softmax: starts near log(195) (every node at 1/2), falls, and
# related pairs end up more alike than all pairs
$BIN/word2vec --quick --loss hs > $OUT/hs.txt
grep -q "^hierarchical softmax; subsampling by word2vec.c's rule$" $OUT/hs.txt
for m in skip-gram CBOW; do
    first=$(awk -v m=$m '$1 == m && $3 == 1 { print $5 }' $OUT/hs.txt)
    last=$(awk -v m=$m '$1 == m && $3 == 5 { print $5 }' $OUT/hs.txt)
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(a > 4.5 && a < 5.5 && b < 0.97 * a) }'
    sims=$(sed -n "s/^$m *mean cosine similarity: related pairs \([-0-9.]*\), all pairs \([-0-9.]*\)$/\1 \2/p" $OUT/hs.txt)
    echo "$sims" | awk '{ exit !(NF == 2 && $1 > $2 + 0.2) }'
done
# the paper's subsampling rule discards more than word2vec.c's (t/f + sqrt(t/f) kept)
$BIN/word2vec --quick --subsample paper > $OUT/paper.txt
grep -q "subsampling by the paper's rule" $OUT/paper.txt
c=$(awk '$1 == "skip-gram" && $3 == 1 { gsub(/\(/, "", $6); print $6 }' $OUT/a.txt)
p=$(awk '$1 == "skip-gram" && $3 == 1 { gsub(/\(/, "", $6); print $6 }' $OUT/paper.txt)
awk -v c="$c" -v p="$p" 'BEGIN { exit !(p > 0 && p < 0.9 * c) }'
# errors
rc=0; $BIN/word2vec /nonexistent/text.txt 2> $OUT/e1.txt || rc=$?
test $rc -eq 1 && grep -q "cannot open '/nonexistent/text.txt'" $OUT/e1.txt
rc=0; $BIN/word2vec --epochs 0 2> $OUT/e2.txt || rc=$?
test $rc -eq 2 && grep -q "bad or incomplete option '--epochs'" $OUT/e2.txt
rc=0; $BIN/word2vec --loss softmax 2> $OUT/e4.txt || rc=$?
test $rc -eq 2 && grep -q "bad or incomplete option '--loss'" $OUT/e4.txt
printf 'too few words here\n' > $OUT/tiny.txt
! $BIN/word2vec $OUT/tiny.txt 2> $OUT/e3.txt
grep -q "fewer than 2 words" $OUT/e3.txt
if [ -n "$VBIN" ]; then             # one epoch under Valgrind
    $VALGRIND $VBIN/word2vec --epochs 1 > $OUT/v.txt
    grep -q "CBOW      epoch  1" $OUT/v.txt
fi
