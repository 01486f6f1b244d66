"""bench_hvp.py: PyTorch twin of bench_hvp.c: on the MLP with tanh at
batch 64 (f32, one thread), the time of the gradient
(autograd.grad(loss, params)) and of a Hessian-vector product
(g = autograd.grad(loss, params, create_graph=True), then
autograd.grad(sum_i <g_i, v_i>, params)), blocks alternating, the medians
and their ratio.

  /usr/bin/python3 bench/bench_hvp.py [--act tanh|relu]
prints: hvp act=tanh fwd_bwd_ms=A hvp_ms=B ratio=B/A
"""
import torch
import torch.nn.functional as F

import bench_common as bc

BATCH, BLOCKS, ITERS = 64, 15, 20


def main():
    a = bc.parse(__doc__)
    act = a.act or "tanh"
    net = bc.mlp(torch.float32, act)
    params = list(net.parameters())
    torch.manual_seed(4)
    x = torch.randn(BATCH, bc.IN)
    labels = torch.randint(0, bc.OUT, (BATCH,))
    v = [torch.randn_like(p) for p in params]

    def run(hvp):
        loss = F.cross_entropy(net(x), labels)
        g = torch.autograd.grad(loss, params, create_graph=hvp)
        if hvp:
            dot = sum((gi * vi).sum() for gi, vi in zip(g, v))
            torch.autograd.grad(dot, params)

    def block(hvp):
        t0 = bc.now()
        for _ in range(ITERS):
            run(hvp)
        return (bc.now() - t0) * 1e3 / ITERS

    run(False)
    run(True)
    fb, hv = [], []
    for _ in range(BLOCKS):
        fb.append(block(False))
        hv.append(block(True))
    f, h = bc.median(fb), bc.median(hv)
    print("hvp act=%s fwd_bwd_ms=%.4f hvp_ms=%.4f ratio=%.3f" % (act, f, h, h / f), flush=True)


if __name__ == "__main__":
    main()
