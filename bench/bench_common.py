"""bench_common.py: what the PyTorch twins of bench/ share (bench_util.h on
the C side): the flags, thread setup, the MLP, peak resident memory.

Run the twins with Debian's interpreter, /usr/bin/python3, which sees
python3-torch. Thread setup for PyTorch at its best: torch.set_num_threads
to the count under test (bench/run.sh also sets OPENBLAS_NUM_THREADS and
OMP_NUM_THREADS to it and unsets OPENBLAS_CORETYPE before starting us).

The MLP: Linear 784-256, act, Linear 256-128, act, Linear 128-10, PyTorch's
default init, cross-entropy on the logits; no BatchNorm, no Dropout.
bench_mlp's --hidden 1024,1024 makes the wide one, 784-1024-1024-10.
"""
import argparse
import resource
import time

import torch
from torch import nn

IN, H1, H2, OUT = 784, 256, 128, 10

now = time.perf_counter


def parse(description):
    """The flags every twin takes; sets the thread count; returns the args
    with .dtype as a torch dtype and .dtype_name as "f32" or "f64"."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--dtype", choices=["f32", "f64"], default="f32")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default="build/data/fashion-mnist")
    p.add_argument("--act", choices=["relu", "tanh"], default=None)
    p.add_argument("--hidden", default="%d,%d" % (H1, H2),
                   help="the MLP's hidden widths H1,H2 (bench_mlp)")
    p.add_argument("--batch", type=int, default=64, help="batch size (bench_mlp)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    a.dtype_name = a.dtype
    a.dtype = torch.float64 if a.dtype == "f64" else torch.float32
    a.h1, a.h2 = (int(v) for v in a.hidden.split(","))
    return a


def mlp(dtype, act="relu", h1=H1, h2=H2):
    """The MLP of bench_util.h (784-h1-h2-10), seeded."""
    torch.manual_seed(1)
    make = nn.Tanh if act == "tanh" else nn.ReLU
    return nn.Sequential(nn.Linear(IN, h1), make(), nn.Linear(h1, h2), make(),
                         nn.Linear(h2, OUT)).to(dtype)


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def maxrss_mb():
    """Peak resident memory of this process so far, in MB (getrusage)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
