#!/bin/sh
# Runs every example check, tests/examples/NAME.sh, each a few commands
# that run build/examples/NAME with --quick and check what it prints or
# writes. Each check is run by sh with these variables set:
#   BIN   the folder of the example binaries (build/examples)
#   VBIN  the same built for Valgrind (build/valgrind/examples), or empty
#   OUT   a fresh temporary folder for its files
#   VALGRIND  the Valgrind command line that fails on any error or leak
# A check exits 0 on success. Ends with a line "N passed, N failed".
bin=${1:-build/examples}
vbin=${2:-}
pass=0 fail=0 failed=""
for check in tests/examples/*.sh; do
    [ -f "$check" ] || continue
    name=$(basename "$check" .sh)
    out=$(mktemp -d /tmp/ag_example_XXXXXX)
    log="$out/log.txt"
    if BIN=$bin VBIN=$vbin OUT=$out \
       VALGRIND="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99" \
       sh -e "$check" > "$log" 2>&1; then
        pass=$((pass + 1)); echo "example $name: ok"
        rm -rf "$out"
    else
        fail=$((fail + 1)); failed="$failed $name"
        echo "example $name: FAILED (last lines of $log):"; tail -15 "$log" | sed 's/^/    /'
    fi
done
echo "examples: $pass passed, $fail failed"
[ $fail = 0 ]
