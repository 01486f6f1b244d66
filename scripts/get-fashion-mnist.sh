#!/bin/sh
# Unpacks Fashion-MNIST into the folder given ($1) once, from Debian's
# package dataset-fashion-mnist, installing it with apt-get when missing and
# possible. Never fails the build: without the data the trainer says so and
# trains on a synthetic task.
dest=${1:-build/data/fashion-mnist}
src=/usr/share/datasets/fashion-mnist
files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
ok=1
for f in $files; do [ -s "$dest/$f" ] || ok=0; done
[ $ok = 1 ] && exit 0
if [ ! -f "$src/train-images-idx3-ubyte.gz" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "get-fashion-mnist: installing Debian's dataset-fashion-mnist"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; }
    fi
fi
if [ ! -f "$src/train-images-idx3-ubyte.gz" ]; then
    echo "get-fashion-mnist: $src is missing and dataset-fashion-mnist could not be"
    echo "  installed (run: sudo apt-get install dataset-fashion-mnist)."
    exit 0
fi
mkdir -p "$dest" || exit 0
for f in $files; do
    gzip -dc "$src/$f.gz" > "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f" ||
        { echo "get-fashion-mnist: could not unpack $f"; rm -f "$dest/$f.tmp"; exit 0; }
done
echo "get-fashion-mnist: unpacked into $dest"
