"""bench_conv.py: PyTorch twin of bench_conv.c: conv2d forward + backward
at the shapes of a Fashion-MNIST CNN's two 3x3 convolutions, batch 128,
f32: layer 1 x [128,1,28,28] (no grad), w [32,1,3,3], b [32], padding 1;
layer 2 x [128,32,14,14] (grad), w [64,32,3,3], b [64], padding 1. One
iteration: both forwards, then autograd.grad of both outputs with fixed
random upstream gradients into w1, b1, w2, b2 and x2. The median of 21
iterations after 3 warm-up ones, and each layer alone likewise.

  /usr/bin/python3 bench/bench_conv.py [--threads N]
prints: conv2d_fb dtype=f32 threads=N ms=T cpu_ms=C layer1_ms=A layer2_ms=B maxrss_mb=M
(ms wall time, cpu_ms the process's CPU time per iteration, medians)
"""
import time

import torch
import torch.nn.functional as F

import bench_common as bc

WARMUP, ITERS = 3, 21


def main():
    a = bc.parse(__doc__)
    torch.manual_seed(7)
    x1 = torch.randn(128, 1, 28, 28)
    w1 = torch.randn(32, 1, 3, 3, requires_grad=True)
    b1 = torch.randn(32, requires_grad=True)
    g1 = torch.randn(128, 32, 28, 28)
    x2 = torch.randn(128, 32, 14, 14, requires_grad=True)
    w2 = torch.randn(64, 32, 3, 3, requires_grad=True)
    b2 = torch.randn(64, requires_grad=True)
    g2 = torch.randn(128, 64, 14, 14)

    def step(mask):
        ys, dys, ins = [], [], []
        if mask & 1:
            ys.append(F.conv2d(x1, w1, b1, padding=1))
            dys.append(g1)
            ins += [w1, b1]
        if mask & 2:
            ys.append(F.conv2d(x2, w2, b2, padding=1))
            dys.append(g2)
            ins += [w2, b2, x2]
        torch.autograd.grad(ys, ins, dys)

    def time_steps(mask):
        for _ in range(WARMUP):
            step(mask)
        ms, cpu = [], []
        for _ in range(ITERS):
            t0, c0 = bc.now(), time.process_time()
            step(mask)
            ms.append((bc.now() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
        return bc.median(ms), bc.median(cpu)

    both, cpu = time_steps(3)
    l1, _ = time_steps(1)
    l2, _ = time_steps(2)
    print("conv2d_fb dtype=f32 threads=%d ms=%.3f cpu_ms=%.3f layer1_ms=%.3f layer2_ms=%.3f "
          "maxrss_mb=%.1f" % (a.threads, both, cpu, l1, l2, bc.maxrss_mb()), flush=True)


if __name__ == "__main__":
    main()
