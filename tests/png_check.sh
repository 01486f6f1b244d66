# png_check.sh FILE W H: FILE is a valid 8-bit greyscale PNG of W x H
# pixels (signature, chunk CRCs, IHDR, the zlib stream and its Adler-32,
# a filter byte per row), decoded by Python's own zlib, not by our code.
# Used by tests/examples/autoencoders.sh.
python3 - "$@" <<'PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = open(path, 'rb').read()
assert d[:8] == b'\x89PNG\r\n\x1a\n', 'signature'
i, idat, seen = 8, b'', []
while i < len(d):
    n, typ = struct.unpack('>I4s', d[i:i + 8])
    body = d[i + 8:i + 8 + n]
    crc, = struct.unpack('>I', d[i + 8 + n:i + 12 + n])
    assert zlib.crc32(typ + body) == crc, 'CRC of ' + typ.decode()
    seen.append(typ)
    if typ == b'IHDR':
        assert struct.unpack('>IIBBBBB', body) == (w, h, 8, 0, 0, 0, 0), 'IHDR'
    if typ == b'IDAT':
        idat += body
    i += 12 + n
assert seen[0] == b'IHDR' and seen[-1] == b'IEND', seen
raw = zlib.decompress(idat)
assert len(raw) == h * (w + 1), 'data length'
assert all(raw[r * (w + 1)] == 0 for r in range(h)), 'filter bytes'
assert len(set(raw)) > 16, 'a picture, not a blank'
PY
