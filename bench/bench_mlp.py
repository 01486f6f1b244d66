"""bench_mlp.py: PyTorch twin of bench_mlp.c: one epoch of the MLP on
Fashion-MNIST's 60,000 training images, shuffled mini-batches of 64
normalized from bytes per batch, cross-entropy, Adam (lr 1e-3). --hidden
H1,H2 and --batch N as bench_mlp.c's (the wide MLP: --hidden 1024,1024
--batch 256).

  /usr/bin/python3 bench/bench_mlp.py [--dtype f32|f64] [--threads N] [--data DIR]
                                      [--hidden H1,H2] [--batch N]

Prints the same line as bench_mlp.c:
  mlp_epoch dtype=f32 threads=1 seconds=S maxrss_mb=M loss=L samples=N
            h1=H1 h2=H2 batch=B
"""
import numpy as np
import torch
import torch.nn.functional as F

import bench_common as bc

MEAN, STD = 0.2860, 0.3530


def load_idx(path, header):
    """The bytes of an IDX file after its header, as NumPy's view of them."""
    return np.fromfile(path, dtype=np.uint8, offset=header)


def main():
    a = bc.parse(__doc__)
    images = torch.from_numpy(load_idx(a.data + "/train-images-idx3-ubyte", 16)).view(-1, bc.IN)
    labels = torch.from_numpy(load_idx(a.data + "/train-labels-idx1-ubyte", 8)).long()
    n = images.shape[0]
    net = bc.mlp(a.dtype, h1=a.h1, h2=a.h2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    torch.manual_seed(2)
    total = 0.0
    t0 = bc.now()
    order = torch.randperm(n)
    for start in range(0, n, a.batch):
        idx = order[start:start + a.batch]
        x = images[idx].to(a.dtype).div_(255).sub_(MEAN).div_(STD)
        loss = F.cross_entropy(net(x), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * idx.shape[0]
    seconds = bc.now() - t0
    print("mlp_epoch dtype=%s threads=%d seconds=%.4f maxrss_mb=%.1f loss=%.4f samples=%d"
          " h1=%d h2=%d batch=%d" % (a.dtype_name, a.threads, seconds, bc.maxrss_mb(),
                                     total / n, n, a.h1, a.h2, a.batch), flush=True)


if __name__ == "__main__":
    main()
