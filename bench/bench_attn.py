"""bench_attn.py: PyTorch twin of bench_attn.c: scaled dot-product
attention forward + backward at B 8, H 8, T 128, D 64 (q, k, v
[8,8,128,64]), f32, no mask, as PyTorch's per-op composition
softmax(q @ k^T / sqrt(D)) @ v, and the gradients with respect to q, k and
v for a fixed dy (torch.autograd.grad); 3 warm-up repetitions, then the
median of 20.

  /usr/bin/python3 bench/bench_attn.py [--threads N]
prints: attn fwd_bwd_ms=T checksum=S
"""
import math

import torch

import bench_common as bc

SHAPE, WARMUP, REPS = (8, 8, 128, 64), 3, 20


def main():
    bc.parse(__doc__)
    torch.manual_seed(7)
    q, k, v = (torch.randn(*SHAPE, requires_grad=True) for _ in range(3))
    dy = torch.randn(*SHAPE)
    scale = 1 / math.sqrt(SHAPE[-1])
    ms = []
    for r in range(WARMUP + REPS):
        t0 = bc.now()
        w = torch.softmax(q @ k.transpose(-2, -1) * scale, dim=-1)
        y = w @ v
        dq, dk, dv = torch.autograd.grad(y, (q, k, v), dy)
        if r >= WARMUP:
            ms.append((bc.now() - t0) * 1e3)
    checksum = (dq.flatten()[12345] + dk.flatten()[777] + dv.flatten()[4242]
                + y.flatten()[6789]).item()
    print("attn fwd_bwd_ms=%.3f checksum=%.6g" % (bc.median(ms), checksum), flush=True)


if __name__ == "__main__":
    main()
