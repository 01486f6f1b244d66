"""bench_lstm.py: PyTorch twin of bench_lstm.c: one torch.nn.LSTM layer
(input 128, hidden 256), 32 steps, batch 32, f32, time-major: forward from
zero states, then backward of (y * g).sum() for a fixed g into the layer's
parameters (zero_grad(set_to_none=True) before each step); x needs no
gradient. The median of 21 iterations after 3 warm-up ones; the forward
alone likewise (autograd recording, as ours records its tape).

  /usr/bin/python3 bench/bench_lstm.py [--threads N]
prints: lstm_fb dtype=f32 threads=N ms=T cpu_ms=C fwd_ms=F maxrss_mb=M
"""
import time

import torch

import bench_common as bc

T_STEPS, BATCH, IN, HIDDEN = 32, 32, 128, 256
WARMUP, ITERS = 3, 21


def main():
    a = bc.parse(__doc__)
    torch.manual_seed(7)
    m = torch.nn.LSTM(IN, HIDDEN)
    x = torch.randn(T_STEPS, BATCH, IN)
    g = torch.randn(T_STEPS, BATCH, HIDDEN)

    def step(backward):
        m.zero_grad(set_to_none=True)
        y, _ = m(x)
        if backward:
            (y * g).sum().backward()

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
    print("lstm_fb dtype=f32 threads=%d ms=%.3f cpu_ms=%.3f fwd_ms=%.3f maxrss_mb=%.1f"
          % (a.threads, both, cpu, fwd, bc.maxrss_mb()), flush=True)


if __name__ == "__main__":
    main()
