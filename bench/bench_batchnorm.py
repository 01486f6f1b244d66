"""bench_batchnorm.py: PyTorch twin of bench_batchnorm.c: BatchNorm2d(32)
forward + backward in training mode on x [128,32,28,28], f32: the forward
and the gradients with respect to x, weight and bias for a fixed dy
(torch.autograd.grad); 3 warm-up repetitions, then the median of 20.

  /usr/bin/python3 bench/bench_batchnorm.py [--threads N]
prints: batchnorm2d fwd_bwd_ms=T checksum=S
"""
import torch

import bench_common as bc

N, C, HW, WARMUP, REPS = 128, 32, 28, 3, 20


def main():
    bc.parse(__doc__)
    torch.manual_seed(7)
    x = (torch.randn(N, C, HW, HW) * 2 + 0.5).requires_grad_()
    dy = torch.randn(N, C, HW, HW)
    bn = torch.nn.BatchNorm2d(C)
    ms = []
    for r in range(WARMUP + REPS):
        t0 = bc.now()
        y = bn(x)
        g = torch.autograd.grad(y, (x, bn.weight, bn.bias), dy)
        if r >= WARMUP:
            ms.append((bc.now() - t0) * 1e3)
    checksum = g[0].flatten()[12345].item() + g[1][3].item() + y.flatten()[6789].item()
    print("batchnorm2d fwd_bwd_ms=%.3f checksum=%.6g" % (bc.median(ms), checksum), flush=True)


if __name__ == "__main__":
    main()
