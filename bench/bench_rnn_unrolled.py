"""bench_rnn_unrolled.py: PyTorch twin of bench_rnn_unrolled.c: an Elman RNN
unrolled by hand with per-step ops (not torch.nn.RNN): input 128, hidden
256, 32 steps, batch 32, f32, from a zero state; each step is
  h = torch.tanh(x[t] @ w_ih.t() + h @ w_hh.t() + b)
(two products, two adds, tanh; .t() is a view) and the loss
sum_t (h_t * g[t]).sum() for fixed g adds a mul, a sum and an add per step.
Then backward into w_ih [256,128], w_hh [256,256] and b [256]
(grads set to None first); x needs no gradient. The median of 21
iterations after 3 warm-up ones; the forward alone likewise (autograd
recording, as ours records its tape).

  /usr/bin/python3 bench/bench_rnn_unrolled.py [--threads N]
prints: rnn_unrolled dtype=f32 threads=N ms=T cpu_ms=C fwd_ms=F maxrss_mb=M
"""
import math
import time

import torch

import bench_common as bc

T_STEPS, BATCH, IN, HIDDEN = 32, 32, 128, 256
WARMUP, ITERS = 3, 21


def main():
    a = bc.parse(__doc__)
    torch.manual_seed(7)
    k = 1.0 / math.sqrt(HIDDEN)
    w_ih = torch.empty(HIDDEN, IN).uniform_(-k, k).requires_grad_()
    w_hh = torch.empty(HIDDEN, HIDDEN).uniform_(-k, k).requires_grad_()
    b = torch.empty(HIDDEN).uniform_(-k, k).requires_grad_()
    params = (w_ih, w_hh, b)
    h0 = torch.zeros(BATCH, HIDDEN)
    xs = list(torch.randn(T_STEPS, BATCH, IN).unbind(0))
    gs = list(torch.randn(T_STEPS, BATCH, HIDDEN).unbind(0))

    def step(backward):
        for p in params:
            p.grad = None
        h, loss = h0, None
        for s in range(T_STEPS):
            h = torch.tanh(xs[s] @ w_ih.t() + h @ w_hh.t() + b)
            l = (h * gs[s]).sum()
            loss = l if s == 0 else loss + l
        if backward:
            loss.backward()

    def time_steps(backward):
        for _ in range(WARMUP):
            step(backward)
        ms, cpu = [], []
        for _ in range(ITERS):
            t0, c0 = bc.now(), time.process_time()
            step(backward)
            ms.append((bc.now() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
        return bc.median(ms), bc.median(cpu)

    both, cpu = time_steps(True)
    fwd, _ = time_steps(False)
    print("rnn_unrolled dtype=f32 threads=%d ms=%.3f cpu_ms=%.3f fwd_ms=%.3f maxrss_mb=%.1f"
          % (a.threads, both, cpu, fwd, bc.maxrss_mb()), flush=True)


if __name__ == "__main__":
    main()
