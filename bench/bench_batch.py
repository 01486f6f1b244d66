"""bench_batch.py: PyTorch twin of bench_batch.c: one shuffled epoch of
Fashion-MNIST's 60,000 training images in batches of --batch (default
64), each gathered in the epoch's order from the bytes and normalized as
bench_mlp.py does (images[idx].to(dtype).div_(255).sub_(MEAN).div_(STD)),
with its labels; nothing else. The median of 7 epochs, a fresh order each.

  /usr/bin/python3 bench/bench_batch.py [--dtype f32|f64] [--threads N] [--data DIR]
                                        [--batch N]

Prints the same line as bench_batch.c:
  batch_epoch dtype=f32 threads=1 ms=M batch=B samples=N checksum=C
"""
import statistics

import numpy as np
import torch

import bench_common as bc

MEAN, STD = 0.2860, 0.3530
EPOCHS = 7


def load_idx(path, header):
    """The bytes of an IDX file after its header, as NumPy's view of them."""
    return np.fromfile(path, dtype=np.uint8, offset=header)


def epoch(images, labels, a):
    """One epoch's assembly; the sum of one element per batch."""
    n = images.shape[0]
    order = torch.randperm(n)
    total = 0.0
    for start in range(0, n, a.batch):
        idx = order[start:start + a.batch]
        x = images[idx].to(a.dtype).div_(255).sub_(MEAN).div_(STD)
        y = labels[idx]
        total += float(x[0, start % 784]) + float(y[0])
    return total


def main():
    a = bc.parse(__doc__)
    images = torch.from_numpy(load_idx(a.data + "/train-images-idx3-ubyte", 16)).view(-1, bc.IN)
    labels = torch.from_numpy(load_idx(a.data + "/train-labels-idx1-ubyte", 8)).long()
    torch.manual_seed(2)
    ms, total = [], 0.0
    for e in range(EPOCHS + 1):                  # epoch 0 warms up
        t0 = bc.now()
        total += epoch(images, labels, a)
        if e > 0:
            ms.append((bc.now() - t0) * 1e3)
    print("batch_epoch dtype=%s threads=%d ms=%.3f batch=%d samples=%d checksum=%.6g"
          % (a.dtype_name, a.threads, statistics.median(ms), a.batch, images.shape[0], total))


if __name__ == "__main__":
    main()
