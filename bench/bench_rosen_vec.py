"""bench_rosen_vec.py: PyTorch twin of bench_rosen_vec.c: the extended
Rosenbrock function of n = 10,000 f64 variables with slices over one
tensor x [n]:
  xe = x[0::2], xo = x[1::2], d = xo - xe*xe, e = 1 - xe,
  f = sum(100 * (d*d) + e*e)
and its gradient by torch.autograd.grad with respect to x; one thread;
the median of 201 iterations after 20 warm-up ones.

  /usr/bin/python3 bench/bench_rosen_vec.py
prints: rosen_vec n=10000 dtype=f64 us=T fwd_us=F f=V g0=G g1=H
"""
import torch

import bench_common as bc

N, WARMUP, ITERS = 10000, 20, 201


def rosen(x):
    xe, xo = x[0::2], x[1::2]
    d = xo - xe * xe
    e = 1 - xe
    return (100 * (d * d) + e * e).sum()


def main():
    torch.set_num_threads(1)
    i = torch.arange(N)                 # the values of bench_rosen_vec.c, in f64
    x = torch.where(i % 2 == 1, 1.0 + 0.001 * (i % 7).double(),
                    -1.2 + 0.001 * (i % 5).double()).requires_grad_(True)
    for _ in range(WARMUP):
        torch.autograd.grad(rosen(x), x)
    full, fwd = [], []
    for _ in range(ITERS):
        t0 = bc.now()
        f = rosen(x)
        (g,) = torch.autograd.grad(f, x)
        full.append((bc.now() - t0) * 1e6)
        t0 = bc.now()
        f = rosen(x)
        fwd.append((bc.now() - t0) * 1e6)
        del f
    f = rosen(x)
    print("rosen_vec n=%d dtype=f64 us=%.2f fwd_us=%.2f f=%.10g g0=%.10g g1=%.10g"
          % (N, bc.median(full), bc.median(fwd), f.item(), g[0].item(), g[1].item()),
          flush=True)


if __name__ == "__main__":
    main()
