#!/usr/bin/python3
"""conv_torch_check.py: the PyTorch side of tests/test_conv_layers.c. Loads
a model the library saved with ag_module_save into the equivalent torch.nn
model (load_state_dict, strict) and checks that it gives the library's
output on the library's input.

  conv_torch_check.py MODEL IO     MODEL: the saved model (safetensors);
                                   IO: "x" (the input) and "y" (the
                                   library's output), F32

The model, in both libraries:
  Sequential(Conv2d(1, 4, 3, padding=1), ReLU(),
             Conv2d(4, 6, (3, 2), stride=2, padding=(1, 0), dilation=(1, 2), groups=2),
             Tanh(),
             ConvTranspose2d(6, 2, 3, stride=2, padding=1, output_padding=1, groups=2))
Files are read with the NumPy reader of tests/safetensors_reader.py.
Exit status: 0 when every output element is within 1e-5 of the library's,
1 when not (the worst element on stderr) or a file is bad, 2 on a usage
error, 3 when PyTorch cannot be imported.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_reader as st  # noqa: E402

try:
    import torch
    from torch import nn
except ImportError:
    sys.exit(3)


def model():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(4, 6, (3, 2), stride=2, padding=(1, 0), dilation=(1, 2), groups=2),
        nn.Tanh(),
        nn.ConvTranspose2d(6, 2, 3, stride=2, padding=1, output_padding=1, groups=2))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        weights, _, _ = st.read_file(sys.argv[1])
        io, _, _ = st.read_file(sys.argv[2])
    except (OSError, ValueError, st.Bad) as e:
        print("conv_torch_check: %s" % e, file=sys.stderr)
        return 1
    net = model()
    net.load_state_dict({k: torch.from_numpy(a.copy()) for k, (_, _, a) in weights.items()},
                        strict=True)
    x = torch.from_numpy(io["x"][2].copy())
    want = torch.from_numpy(io["y"][2].copy())
    with torch.no_grad():
        got = net(x)
    if got.shape != want.shape:
        print("conv_torch_check: PyTorch gives %s, the library %s"
              % (list(got.shape), list(want.shape)), file=sys.stderr)
        return 1
    err = (got - want).abs()
    if err.max().item() > 1e-5:
        i = int(err.flatten().argmax())
        print("conv_torch_check: element %d: PyTorch %.9g, the library %.9g"
              % (i, got.flatten()[i].item(), want.flatten()[i].item()), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
