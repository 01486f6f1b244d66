"""bench_step1.py: PyTorch twin of bench_step1.c: one training step at
batch 1 on the MLP (f32, one thread): forward, cross-entropy, backward,
Adam, grads set to None. Each step takes the next of 1,550 fixed random
samples with random labels, one pass (see bench_step1.c); 15 blocks
of 100 steps after 50 warm-up steps; the median time per step.

  /usr/bin/python3 bench/bench_step1.py
prints: step_batch1 us_per_step=T loss=L
"""
import torch
import torch.nn.functional as F

import bench_common as bc

BLOCKS, STEPS, WARMUP = 15, 100, 50


def main():
    torch.set_num_threads(1)
    net = bc.mlp(torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    torch.manual_seed(3)
    pool = torch.randn(WARMUP + BLOCKS * STEPS, bc.IN)
    labels = torch.randint(0, bc.OUT, (pool.shape[0],))
    k = 0

    def step():
        nonlocal k
        loss = F.cross_entropy(net(pool[k:k + 1]), labels[k:k + 1])
        k += 1
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(WARMUP):
        step()
    us = []
    for _ in range(BLOCKS):
        t0 = bc.now()
        for _ in range(STEPS):
            loss = step()
        us.append((bc.now() - t0) * 1e6 / STEPS)
    print("step_batch1 us_per_step=%.2f loss=%.4g" % (bc.median(us), loss.item()), flush=True)


if __name__ == "__main__":
    main()
