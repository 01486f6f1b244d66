#!/usr/bin/python3
"""torch_interchange.py: the PyTorch half of tests/test_torch_interchange.c,
through the NumPy-only recipe tools/safetensors_np.py.

  torch_interchange.py DIR

The model on both sides (float32):
  Sequential(Linear(4, 8), BatchNorm1d(8), ReLU(), Linear(8, 3))

1. The library's direction: loads DIR/ag_model.st (the library trained and
   saved it, with metadata) into the torch model, strictly, and checks its
   evaluation-mode predictions on DIR/ag_io.st's x equal the library's y
   (1e-5), that the metadata reads back, and that DIR/ag_io_bad.st (one
   prediction changed by 1e-3) is told apart.
2. PyTorch's direction: trains the model (seed 0, SGD, cross-entropy on
   three Gaussian blobs, 30 steps), then writes DIR/pt_model.st (its
   state_dict, num_batches_tracked int64, with metadata "classes") and
   DIR/pt_io.st (x and the evaluation-mode predictions y) for the C side.
Exit status 0 when all agrees, 1 otherwise (the reason on stderr).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import safetensors_np as st  # noqa: E402

TOL = 1e-5
DESC = "Sequential(0: Linear, 1: BatchNorm1d, 2: ReLU, 3: Linear)"


def model():
    nn = torch.nn
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def predictions(m, x):
    m.eval()
    with torch.no_grad():
        return m(torch.from_numpy(x)).numpy()


def agrees(path_io, m):
    io, _ = st.load(path_io)
    err = np.abs(predictions(m, io["x"]) - io["y"]).max()
    return err <= TOL, err


def from_the_library(d):
    tensors, meta = st.load(os.path.join(d, "ag_model.st"))
    if meta.get("ag.module") != DESC or meta.get("classes") != "red,green,blue":
        raise SystemExit(f"metadata {meta} lacks the module description or the classes")
    if tensors["1.num_batches_tracked"].dtype != np.int64:
        raise SystemExit("num_batches_tracked is not int64 in the library's file")
    m = model()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    ok, err = agrees(os.path.join(d, "ag_io.st"), m)
    if not ok:
        raise SystemExit(f"PyTorch's predictions differ from the library's by {err}")
    bad, _ = agrees(os.path.join(d, "ag_io_bad.st"), m)
    if bad:
        raise SystemExit("a prediction changed by 1e-3 was not noticed")


def to_the_library(d):
    torch.manual_seed(0)
    centers = torch.tensor([[2.0, 0, 0, 1], [-1, 2, 0, 0], [0, -2, 1, -1]])
    y = torch.randint(0, 3, (60,))
    x = centers[y] + 0.7 * torch.randn(60, 4)
    m = model()
    opt = torch.optim.SGD(m.parameters(), lr=0.2)
    m.train()
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    state = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    st.save(os.path.join(d, "pt_model.st"), state, metadata={"classes": "red,green,blue"})
    xt = x[:6].numpy()
    st.save(os.path.join(d, "pt_io.st"), {"x": xt, "y": predictions(m, xt)})


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    from_the_library(argv[1])
    to_the_library(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
