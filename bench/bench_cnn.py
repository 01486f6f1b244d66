"""bench_cnn.py: PyTorch twin of bench_cnn.c: one epoch of the main job's
CNN (3x3 conv, 2x2 max-pool, BatchNorm2d, ReLU with 32 then 64 channels;
Dropout, Linear 3136-256, ReLU, Dropout, Linear 256-10) on Fashion-MNIST's
60,000 training images, shuffled mini-batches of 128 normalized from bytes
per batch, cross-entropy, Adam (lr 2e-3).

  /usr/bin/python3 bench/bench_cnn.py [--threads N] [--data DIR]

Prints the same line as bench_cnn.c:
  cnn_epoch dtype=f32 threads=1 seconds=S maxrss_mb=M loss=L samples=N
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import bench_common as bc

BATCH = 128
MEAN, STD = 0.2860, 0.3530


def load_idx(path, header):
    """The bytes of an IDX file after its header, as NumPy's view of them."""
    return np.fromfile(path, dtype=np.uint8, offset=header)


def cnn():
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 32, 3, padding=1), nn.MaxPool2d(2), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.MaxPool2d(2), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(3136, 256), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(256, 10))


def main():
    a = bc.parse(__doc__)
    images = torch.from_numpy(load_idx(a.data + "/train-images-idx3-ubyte", 16)).view(-1, 784)
    labels = torch.from_numpy(load_idx(a.data + "/train-labels-idx1-ubyte", 8)).long()
    n = images.shape[0]
    net = cnn()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    torch.manual_seed(2)
    total = 0.0
    t0 = bc.now()
    order = torch.randperm(n)
    for start in range(0, n, BATCH):
        idx = order[start:start + BATCH]
        x = images[idx].float().div_(255).sub_(MEAN).div_(STD)
        loss = F.cross_entropy(net(x), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * idx.shape[0]
    seconds = bc.now() - t0
    print("cnn_epoch dtype=f32 threads=%d seconds=%.4f maxrss_mb=%.1f loss=%.4f samples=%d"
          % (a.threads, seconds, bc.maxrss_mb(), total / n, n), flush=True)


if __name__ == "__main__":
    main()
