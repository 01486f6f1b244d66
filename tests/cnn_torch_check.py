#!/usr/bin/python3
"""cnn_torch_check.py: loads a model the library saved into the same
torch.nn model and checks PyTorch computes what the library did, for
tests/test_cnn_layers.c.

  cnn_torch_check.py MODEL0 MODEL1 IO

MODEL0: the model's state (safetensors, f64) before a training-mode
forward on x; MODEL1: its state after (the running statistics moved);
IO: x and the library's outputs y_train (that forward) and y_eval (the
same x in evaluation mode, after it). The model, as built by the test:

  Sequential(BatchNorm2d(3, eps=1e-3, momentum=0.3), ReLU(), MaxPool2d(2),
             AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
             AdaptiveAvgPool2d((2, 2)), Flatten(), Linear(12, 5),
             Unflatten(1, (5, 1, 1)), Dropout2d(0.0))

Loads MODEL0 strictly (every name and shape must match), runs x in
training mode and compares with y_train, compares the state afterwards
with MODEL1, then runs x in evaluation mode and compares with y_eval.
Exit status 0 when everything agrees to 1e-12, 1 otherwise (the reason on
stderr), 2 on a usage error.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_reader import read_file  # noqa: E402

TOL = 1e-12


def load(path):
    tensors, _, _ = read_file(path)
    out = {}
    for name, (_, _, arr) in tensors.items():
        t = torch.from_numpy(np.array(arr, dtype=np.float64))
        out[name] = t.long() if name.endswith("num_batches_tracked") else t
    return out


def model():
    nn = torch.nn
    return nn.Sequential(
        nn.BatchNorm2d(3, eps=1e-3, momentum=0.3), nn.ReLU(), nn.MaxPool2d(2),
        nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(12, 5),
        nn.Unflatten(1, (5, 1, 1)), nn.Dropout2d(0.0)).double()


def same(what, got, want):
    if got.shape != want.shape:
        raise SystemExit(f"{what}: PyTorch gives shape {list(got.shape)}, the library "
                         f"{list(want.shape)}")
    err = (got.double() - want.double()).abs().max().item() if got.numel() else 0.0
    if not err <= TOL:
        raise SystemExit(f"{what}: PyTorch and the library differ by {err}")


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    m = model()
    m.load_state_dict(load(argv[1]), strict=True)
    io = load(argv[3])
    m.train()
    with torch.no_grad():
        same("training-mode output", m(io["x"]), io["y_train"])
        after = load(argv[2])
        for name, value in m.state_dict().items():
            same(f"state '{name}' after the step", value, after[name])
        m.eval()
        same("evaluation-mode output", m(io["x"]), io["y_eval"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
