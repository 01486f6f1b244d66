#!/usr/bin/python3
"""safetensors_np.py: read and write the library's model files from Python
with NumPy alone (no safetensors or torch package needed).

The files are safetensors (Hugging Face's format): an 8-byte little-endian
header length N, N bytes of JSON

    {"__metadata__": {"format": "pt", "ag.module": "...", "ag.version": "0.2.0", ...},
     "0.weight": {"dtype": "F32", "shape": [8, 4], "data_offsets": [0, 128]}, ...}

padded with spaces, then the tensors' raw little-endian bytes, row-major,
at data_offsets counted from the byte after the header.

Recipes (copy this file next to your script, or put tools/ on sys.path):

    import safetensors_np as st

    # a file the C library wrote (ag_module_save) -> numpy arrays
    tensors, meta = st.load("model.safetensors")
    w = tensors["0.weight"]                    # numpy array, the file's dtype
    print(meta.get("ag.module"), meta.get("classes"))

    # into PyTorch (the names are PyTorch's state_dict names)
    import torch
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()})

    # PyTorch -> a file the C library loads (ag_module_load converts F32/F64/
    # F16/BF16/I64/I32/U8 into the layer's dtype; BatchNorm's int64
    # num_batches_tracked included)
    st.save("model.safetensors",
            {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()},
            metadata={"classes": "cat,dog"})

Only "__metadata__" with string values is allowed besides tensors (the
format's rule). bfloat16, which NumPy lacks, is read as float32 (exactly)
and written from arrays given as st.BF16(float_array) (rounded to nearest
even). Files are written the way the reference writer writes them (tensors
ordered by dtype alignment, then by name), so the C library's loader and
the safetensors package both read them.

Command line (a quick look at a file):  safetensors_np.py FILE
"""
import json
import struct
import sys

import numpy as np

# In the reference's order of increasing alignment.
DTYPES = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16", "U16", "F16", "BF16",
          "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
TO_NUMPY = {"BOOL": "?", "U8": "<u1", "I8": "<i1", "I16": "<i2", "U16": "<u2", "F16": "<f2",
            "I32": "<i4", "U32": "<u4", "F32": "<f4", "C64": "<c8", "F64": "<f8",
            "I64": "<i8", "U64": "<u8"}
FROM_NUMPY = {np.dtype(v).newbyteorder("<") if v != "?" else np.dtype(v): k
              for k, v in TO_NUMPY.items()}
MAX_HEADER = 100_000_000


class BF16:
    """Marks a float array to be written as BF16."""

    def __init__(self, array):
        self.array = np.asarray(array, dtype=np.float32)


def _bf16_to_f32(raw):
    return (raw.astype(np.uint32) << 16).view(np.float32)


def _f32_to_bf16(a):
    u = np.ascontiguousarray(a, dtype="<f4").view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16          # nearest, ties to even
    nan = np.isnan(a.reshape(-1) if a.ndim else a.reshape(1)).reshape(u.shape)
    rounded = np.where(nan, (u >> 16) | 0x40, rounded)      # keep NaNs NaN
    return rounded.astype("<u2")


def load(path):
    """(tensors, metadata): {name: numpy array} and {key: value} of a file."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError(f"{path}: {len(buf)} bytes, too short")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER or 8 + n > len(buf):
        raise ValueError(f"{path}: header length {n} does not fit a file of {len(buf)} bytes")
    doc = json.loads(buf[8:8 + n].decode("utf-8"))
    data = memoryview(buf)[8 + n:]
    meta = doc.pop("__metadata__", None) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise ValueError(f"{path}: __metadata__ must map strings to strings")
    tensors, spans = {}, []
    for name, info in doc.items():
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype != "BF16" and dtype not in TO_NUMPY:
            raise ValueError(f"{path}: tensor {name!r}: dtype {dtype} is not handled here")
        np_dtype = np.dtype("<u2" if dtype == "BF16" else TO_NUMPY[dtype])
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= len(data) or end - begin != count * np_dtype.itemsize:
            raise ValueError(f"{path}: tensor {name!r}: data_offsets do not fit {dtype} {shape}")
        arr = np.frombuffer(data[begin:end], dtype=np_dtype, count=count)
        if dtype == "BF16":
            arr = _bf16_to_f32(arr)
        tensors[name] = arr.reshape(shape).astype(arr.dtype.newbyteorder("="), copy=True)
        spans.append((begin, end))
    at = 0
    for begin, end in sorted(spans):
        if begin != at:
            raise ValueError(f"{path}: the tensors' data overlap or leave a gap at byte {at}")
        at = end
    if at != len(data):
        raise ValueError(f"{path}: {len(data) - at} bytes after the last tensor")
    return tensors, meta


def _raw(name, value):
    """(dtype name, shape, little-endian bytes) of one array."""
    if isinstance(value, BF16):
        return "BF16", list(value.array.shape), _f32_to_bf16(value.array).tobytes()
    a = np.asarray(value)
    key = a.dtype if a.dtype == np.bool_ else a.dtype.newbyteorder("<")
    if key not in FROM_NUMPY:
        raise ValueError(f"tensor {name!r}: numpy dtype {a.dtype} has no safetensors dtype")
    return FROM_NUMPY[key], list(a.shape), np.ascontiguousarray(a, dtype=key).tobytes()


def save(path, tensors, metadata=None):
    """Writes {name: numpy array (or BF16(array))} and {key: str} to path."""
    raws = {name: _raw(name, v) for name, v in tensors.items()}
    if "__metadata__" in raws:
        raise ValueError("no tensor may be named __metadata__")
    order = sorted(raws, key=lambda k: (-DTYPES.index(raws[k][0]), k.encode("utf-8")))
    doc, at = {}, 0
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("metadata must map strings to strings")
        doc["__metadata__"] = {k: metadata[k] for k in sorted(metadata, key=lambda k: k.encode())}
    for name in order:
        dtype, shape, raw = raws[name]
        doc[name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + len(raw)]}
        at += len(raw)
    header = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        for name in order:
            f.write(raws[name][2])


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    tensors, meta = load(argv[1])
    for k, v in sorted(meta.items()):
        print(f"meta {k} = {v}")
    for name, a in tensors.items():
        print(f"{name}: {a.dtype} {list(a.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
