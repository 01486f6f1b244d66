"""bench_vmath.py: PyTorch twin of bench_vmath.c: torch.tanh, exp, sigmoid
and log on a float32 tensor of 32,768 elements, one thread, forward only
(each call allocates its result); 21 blocks of 100 calls, the median block
in ns per element. Inputs uniform in [-4, 4] (log: [0.01, 8]).

  /usr/bin/python3 bench/bench_vmath.py
prints: vmath n=32768 tanh_ns=T exp_ns=E sigmoid_ns=S log_ns=L
"""
import torch

import bench_common as bc

N, BLOCKS, CALLS = 32768, 21, 100


def main():
    torch.set_num_threads(1)
    torch.manual_seed(5)
    x = torch.rand(N) * 8 - 4
    xp = torch.rand(N) * 7.99 + 0.01
    fns = [("tanh", torch.tanh, x), ("exp", torch.exp, x), ("sigmoid", torch.sigmoid, x),
           ("log", torch.log, xp)]
    out = []
    for name, f, inp in fns:
        def block():
            t0 = bc.now()
            for _ in range(CALLS):
                f(inp)
            return (bc.now() - t0) * 1e9 / (CALLS * N)
        block()
        out.append("%s_ns=%.4f" % (name, bc.median([block() for _ in range(BLOCKS)])))
    print("vmath n=%d %s" % (N, " ".join(out)), flush=True)


if __name__ == "__main__":
    main()
