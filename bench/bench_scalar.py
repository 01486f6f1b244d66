"""bench_scalar.py: PyTorch twin of bench_scalar.c: a chain of 10,000 ops
on 0-d f32 tensors, y = y * w and y = y + x alternately, backward to x and
w, the graph dropped; 21 chains, the median time per op.

  /usr/bin/python3 bench/bench_scalar.py
prints: scalar_chain ops=10000 ns_per_op=T grad_x=G
"""
import torch

import bench_common as bc

OPS, REPS = 10000, 21


def chain(x, w):
    y = x
    for i in range(OPS):
        y = y + x if i % 2 else y * w
    y.backward()
    del y                       # the graph goes with its last reference


def main():
    torch.set_num_threads(1)
    x = torch.tensor(0.5, requires_grad=True)
    w = torch.tensor(0.9999, requires_grad=True)
    chain(x, w)                 # warm up
    ns = []
    for _ in range(REPS):
        x.grad = None
        w.grad = None
        t0 = bc.now()
        chain(x, w)
        ns.append((bc.now() - t0) * 1e9 / OPS)
    print("scalar_chain ops=%d ns_per_op=%.1f grad_x=%.6g"
          % (OPS, bc.median(ns), x.grad.item()), flush=True)


if __name__ == "__main__":
    main()
