#!/usr/bin/python3
"""safetensors_reader.py: an independent NumPy twin of the library's
safetensors reader and writer, for tests/test_safetensors.c.

It follows the published layout (8-byte little-endian header length, a
JSON header of {"name": {"dtype", "shape", "data_offsets"}, "__metadata__":
{...}} padded with spaces to a multiple of 8, then little-endian row-major
data, offsets counted from the byte after the header) and writes files as
the reference writer does (tensors ordered by dtype alignment, largest
first, then by name; compact JSON; "__metadata__" first).

Usage:
  safetensors_reader.py check FILE EXPECTED   read FILE; compare it with EXPECTED;
                                              also check FILE's header is byte for
                                              byte what this writer would write
  safetensors_reader.py write FILE SPEC       write FILE holding what SPEC lists

EXPECTED and SPEC are text files, one record per line, fields separated by
single spaces; strings are hex-encoded UTF-8 so any name survives, values
are the hex bit patterns of each element (F32 as 8 digits, F64 and U64 as
16), so comparisons are exact:
  meta KEYHEX VALUEHEX
  tensor NAMEHEX DTYPE NDIM D0 ... D(NDIM-1) V0 V1 ...
Exit status 0 when all is well, 1 on a mismatch or a bad file (the reason
on stderr), 2 on a usage error.
"""
import json
import struct
import sys

import numpy as np

# In the reference's order of increasing alignment; the writer lays data
# out from the last to the first.
DTYPES = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16", "U16", "F16", "BF16",
          "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
NUMPY = {"F32": ("<f4", "<u4"), "F64": ("<f8", "<u8"), "U64": ("<u8", "<u8"),
         "I64": ("<i8", "<u8"), "I32": ("<i4", "<u4"), "U8": ("<u1", "<u1")}
MAX_HEADER = 100_000_000


class Bad(Exception):
    pass


def read_file(path):
    """(tensors {name: (dtype, shape, ndarray)}, metadata dict, the file's bytes)."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise Bad(f"{path}: {len(buf)} bytes, shorter than the header length")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER or 8 + n > len(buf):
        raise Bad(f"{path}: bad header length {n} for a file of {len(buf)} bytes")
    header = buf[8:8 + n]
    doc = json.loads(header.decode("utf-8"))
    data = buf[8 + n:]
    meta = doc.pop("__metadata__", {})
    tensors, spans = {}, []
    for name, info in doc.items():
        if set(info) != {"dtype", "shape", "data_offsets"}:
            raise Bad(f"{name}: keys {sorted(info)}")
        dtype, shape, (begin, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
        if dtype not in NUMPY:
            raise Bad(f"{name}: dtype {dtype} not handled by this twin")
        arr = np.frombuffer(data[begin:end], dtype=NUMPY[dtype][0])
        if end > len(data) or arr.size != int(np.prod(shape, dtype=np.int64)):
            raise Bad(f"{name}: data_offsets [{begin},{end}] do not fit shape {shape} of {dtype}")
        tensors[name] = (dtype, shape, arr.reshape(shape))
        spans.append((begin, end, name))
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            raise Bad(f"{name}: data starts at {begin}, expected {at} (gap or overlap)")
        at = end
    if at != len(data):
        raise Bad(f"{len(data) - at} bytes after the last tensor")
    return tensors, meta, buf


def serialize(tensors, meta):
    """The file the reference writer makes for these tensors and metadata."""
    order = sorted(tensors, key=lambda k: (-DTYPES.index(tensors[k][0]), k.encode("utf-8")))
    doc, chunks, at = {}, [], 0
    if meta:
        doc["__metadata__"] = {k: meta[k] for k in sorted(meta, key=lambda k: k.encode("utf-8"))}
    for name in order:
        dtype, shape, arr = tensors[name]
        raw = np.ascontiguousarray(arr, dtype=NUMPY[dtype][0]).tobytes()
        doc[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [at, at + len(raw)]}
        chunks.append(raw)
        at += len(raw)
    header = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + b"".join(chunks)


def read_spec(path):
    """(tensors, metadata) from an EXPECTED / SPEC file."""
    tensors, meta = {}, {}
    with open(path, encoding="ascii") as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            if fields[0] == "meta":
                meta[bytes.fromhex(fields[1]).decode()] = bytes.fromhex(fields[2]).decode()
                continue
            name, dtype, ndim = bytes.fromhex(fields[1]).decode(), fields[2], int(fields[3])
            shape = tuple(int(d) for d in fields[4:4 + ndim])
            bits = np.array([int(v, 16) for v in fields[4 + ndim:]], dtype=NUMPY[dtype][1])
            tensors[name] = (dtype, shape, bits.view(NUMPY[dtype][0]).reshape(shape))
    return tensors, meta


def compare(got, want):
    """Raises Bad naming the first difference between two tensor dicts."""
    if set(got) != set(want):
        raise Bad(f"names differ: file has {sorted(got)}, expected {sorted(want)}")
    for name, (dtype, shape, arr) in want.items():
        gdtype, gshape, garr = got[name]
        if (gdtype, gshape) != (dtype, shape):
            raise Bad(f"{name}: file has {gdtype} {list(gshape)}, expected {dtype} {list(shape)}")
        u = NUMPY[dtype][1]
        diff = np.flatnonzero(garr.reshape(-1).view(u) != arr.reshape(-1).view(u))
        if diff.size:
            i = diff[0]
            raise Bad(f"{name}: element {i} is {garr.reshape(-1)[i]!r}, "
                      f"expected {arr.reshape(-1)[i]!r}")


def main(argv):
    if len(argv) != 4 or argv[1] not in ("check", "write"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[1] == "check":
            tensors, meta, buf = read_file(argv[2])
            want, want_meta = read_spec(argv[3])
            compare(tensors, want)
            if meta != want_meta:
                raise Bad(f"metadata {meta} != expected {want_meta}")
            mine = serialize(tensors, meta)
            if mine != buf:             # the whole file, byte for byte
                n, m = struct.unpack("<Q", buf[:8])[0], struct.unpack("<Q", mine[:8])[0]
                raise Bad("the file is not what the reference writer writes:\n  file header: "
                          f"{buf[8:8 + n]!r}\n  twin header: {mine[8:8 + m]!r}")
            print(f"safetensors_reader: {argv[2]}: {len(tensors)} tensors, "
                  f"{len(meta)} metadata entries match")
        else:
            tensors, meta = read_spec(argv[3])
            with open(argv[2], "wb") as f:
                f.write(serialize(tensors, meta))
    except (Bad, ValueError, KeyError, OSError) as e:
        print(f"safetensors_reader: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
