"""bench_pool.py: PyTorch twin of bench_pool.c: max pooling forward +
backward, 2x2 windows of stride 2 on x [128,32,28,28], f32: the forward
(F.max_pool2d) and the gradient with respect to x for a fixed dy
(torch.autograd.grad); 5 warm-up repetitions, then the median of 30.

  /usr/bin/python3 bench/bench_pool.py [--threads N]
prints: maxpool fwd_bwd_ms=T checksum=S
"""
import torch
import torch.nn.functional as F

import bench_common as bc

N, C, HW, WARMUP, REPS = 128, 32, 28, 5, 30


def main():
    bc.parse(__doc__)
    torch.manual_seed(7)
    x = torch.randn(N, C, HW, HW, requires_grad=True)
    dy = torch.randn(N, C, HW // 2, HW // 2)
    ms = []
    for r in range(WARMUP + REPS):
        t0 = bc.now()
        y = F.max_pool2d(x, 2)
        (dx,) = torch.autograd.grad(y, x, dy)
        if r >= WARMUP:
            ms.append((bc.now() - t0) * 1e3)
    checksum = dx.flatten()[12345].item() + y.flatten()[6789].item()
    print("maxpool fwd_bwd_ms=%.3f checksum=%.6g" % (bc.median(ms), checksum), flush=True)


if __name__ == "__main__":
    main()
