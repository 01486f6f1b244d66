#!/bin/sh
# Makes sure the test tools are here: Check (with pkg-config) and Valgrind.
# Installs them with apt-get when run as root on Debian; otherwise prints the
# exact command to run and fails.
missing=""
pkg-config --exists check 2>/dev/null || missing="$missing check"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
# Optional: NumPy for Debian's python3, for the checkpoint cross-check.
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null && [ "$(id -u)" = 0 ] &&
        command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: installing python3-numpy (optional, for a checkpoint test)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-numpy >/dev/null 2>&1 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
              apt-get install -y -qq python3-numpy >/dev/null 2>&1; } ||
        echo "ensure-deps: python3-numpy could not be installed; that one check will say so"
fi
[ -z "$missing" ] && exit 0
echo "ensure-deps: missing:$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: installing with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq check pkg-config valgrind >/dev/null &&
        pkg-config --exists check && command -v valgrind >/dev/null && exit 0
    echo "ensure-deps: apt-get failed" >&2
fi
echo "ensure-deps: please run:  sudo apt-get install -y check pkg-config valgrind" >&2
exit 1
