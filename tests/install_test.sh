#!/bin/sh
# install_test.sh: `make install` into a temporary DESTDIR, then, as a user
# of the installed library would, builds a program with #include <ag/ag.h>
# and the flags pkg-config gives: linked to the shared library (run with
# LD_LIBRARY_PATH) and statically (--static). Checks libag.so's SONAME,
# that it exports no internal (agi_) symbol, that no internal header is
# installed, and that `make uninstall` removes every file. Run by make test.
set -eu
make=${MAKE:-make}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
prefix=/opt/ag-test
root=$stage$prefix
fail() { echo "install_test: $*" >&2; exit 1; }

$make --no-print-directory -s install DESTDIR="$stage" PREFIX=$prefix >/dev/null
lib=$root/lib
[ -f "$lib/libag.so.0.2.0" ] || fail "no libag.so.0.2.0 in $lib"
[ "$(readlink "$lib/libag.so.0")" = libag.so.0.2.0 ] || fail "libag.so.0 is not a link to libag.so.0.2.0"
[ "$(readlink "$lib/libag.so")" = libag.so.0 ] || fail "libag.so is not a link to libag.so.0"
readelf -d "$lib/libag.so.0.2.0" | grep -q 'SONAME.*\[libag\.so\.0\]' ||
    fail "SONAME is not libag.so.0: $(readelf -d "$lib/libag.so.0.2.0" | grep SONAME)"
internal=$(nm -D --defined-only "$lib/libag.so.0.2.0" | awk '{print $3}' | grep -v '^ag_' || true)
[ -z "$internal" ] || fail "libag.so exports symbols outside the API: $(echo $internal | head -c 300)"
for h in "$root"/include/ag/*.h; do
    case $(basename "$h") in
    ag.h|ag_*.h) case $h in *_internal.h) fail "internal header installed: $h";; esac ;;
    *) fail "internal header installed: $h" ;;
    esac
done

# pkg-config reads the .pc of the staged prefix; its paths name $prefix,
# so point them into the stage.
export PKG_CONFIG_PATH=$lib/pkgconfig
pc="pkg-config --define-variable=prefix=$root"
cat > "$stage/prog.c" <<'C'
#include <stdio.h>
#include <ag/ag.h>
int main(void)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(NULL, AG_F64, 1, (int64_t[]){3}, (double[]){1, 2, 3});
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_sum(t, ag_mul(t, x, x), AG_ALL, 0);
    if (!y || ag_backward(t, y) != AG_OK) return puts(ag_tape_errmsg(t)), 1;
    const double *g = ag_tensor_data(ag_tensor_grad(x));
    printf("%g %g %g\n", g[0], g[1], g[2]);
    ag_tape_free(t);
    ag_tensor_free(x);
    return 0;
}
C
cc=${CC:-cc}
$cc -std=c11 -Wall -Werror $($pc --cflags ag) "$stage/prog.c" -o "$stage/prog_shared" \
    $($pc --libs ag) || fail "the shared build failed"
out=$(LD_LIBRARY_PATH=$lib "$stage/prog_shared") || fail "the shared program failed"
[ "$out" = "2 4 6" ] || fail "shared program printed '$out'"
readelf -d "$stage/prog_shared" | grep -q 'NEEDED.*libag\.so\.0' || fail "prog_shared does not need libag.so.0"
$cc -std=c11 -Wall -Werror $($pc --cflags ag) "$stage/prog.c" -o "$stage/prog_static" \
    -static $($pc --static --libs ag) || fail "the static build failed"
out=$("$stage/prog_static") || fail "the static program failed"
[ "$out" = "2 4 6" ] || fail "static program printed '$out'"

$make --no-print-directory -s uninstall DESTDIR="$stage" PREFIX=$prefix >/dev/null
left=$(find "$root" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "install_test: ok: SONAME libag.so.0, only ag_ symbols exported, #include <ag/ag.h> through pkg-config, shared and static programs print 2 4 6, uninstall clean"
