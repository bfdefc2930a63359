#!/usr/bin/python3
# heif_grid.py OUT COLS ROWS [TILE]: writes a HEIF 'grid' image of COLS x ROWS
# tiles of TILE x TILE pixels (default 64) that all reference one HEVC tile
# (heif-enc encodes it; the test's outside tool).  A valid file: libheif
# decodes it tile by tile, so 64 x 64 tiles of 64 px are 4096 HEVC decodes
# in a file of a few KiB.
import os, struct, subprocess, sys, tempfile
from PIL import Image

out, cols, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tile = int(sys.argv[4]) if len(sys.argv) > 4 else 64

def box(t, payload):
    return struct.pack('>I', 8 + len(payload)) + t + payload

def full(t, v, flags, payload):
    return box(t, struct.pack('>I', v << 24 | flags) + payload)

def children(d, pos, end):
    while pos + 8 <= end:
        sz = struct.unpack('>I', d[pos:pos + 4])[0]
        yield d[pos + 4:pos + 8], pos, sz
        pos += sz

with tempfile.TemporaryDirectory() as td:
    Image.new('RGB', (tile, tile), (90, 140, 200)).save(td + '/t.png')
    subprocess.run(['heif-enc', '-q', '50', '-o', td + '/t.heic', td + '/t.png'], check=True,
                   stdout=subprocess.DEVNULL)
    d = open(td + '/t.heic', 'rb').read()

# the tile: its hvcC property and its coded bytes (the primary item's extents)
meta = next((p, s) for t, p, s in children(d, 0, len(d)) if t == b'meta')
mb, me = meta[0] + 12, meta[0] + meta[1]
parts = {t: (p, s) for t, p, s in children(d, mb, me)}
p, s = parts[b'iprp']
ipco = next((q, z) for t, q, z in children(d, p + 8, p + s) if t == b'ipco')
hvcc = next(d[q:q + z] for t, q, z in children(d, ipco[0] + 8, ipco[0] + ipco[1]) if t == b'hvcC')
p, s = parts[b'pitm']
primary = struct.unpack('>H', d[p + 12:p + 14])[0]
p, s = parts[b'iloc']
v = d[p + 8]
os_, ls = d[p + 12] >> 4, d[p + 12] & 15
bs, xs = d[p + 13] >> 4, (d[p + 13] & 15 if v in (1, 2) else 0)
q = p + 14
n = struct.unpack('>H', d[q:q + 2])[0]; q += 2
def rd(k):
    global q
    x = int.from_bytes(d[q:q + k], 'big') if k else 0
    q += k
    return x
coded = b''
for _ in range(n):
    iid = rd(2)
    if v in (1, 2):
        rd(2)
    rd(2)
    base = rd(bs)
    for _ in range(rd(2)):
        rd(xs)
        off, ln = rd(os_), rd(ls)
        if iid == primary:
            coded += d[base + off:base + off + ln]

W, H = cols * tile, rows * tile
ftyp = box(b'ftyp', b'heic' + struct.pack('>I', 0) + b'mif1heic')
hdlr = full(b'hdlr', 0, 0, struct.pack('>I', 0) + b'pict' + b'\0' * 12 + b'\0')
pitm = full(b'pitm', 0, 0, struct.pack('>H', 1))
iinf = full(b'iinf', 0, 0, struct.pack('>H', 2) +
            full(b'infe', 2, 0, struct.pack('>HH', 1, 0) + b'grid' + b'\0') +
            full(b'infe', 2, 1, struct.pack('>HH', 2, 0) + b'hvc1' + b'\0'))
iref = full(b'iref', 0, 0, box(b'dimg', struct.pack('>HH', 1, cols * rows) + struct.pack('>H', 2) * (cols * rows)))
ipco = box(b'ipco', hvcc + full(b'ispe', 0, 0, struct.pack('>II', tile, tile)) +
           full(b'ispe', 0, 0, struct.pack('>II', W, H)))
ipma = full(b'ipma', 0, 0, struct.pack('>I', 2) + struct.pack('>HB', 1, 1) + bytes([3]) +
            struct.pack('>HB', 2, 2) + bytes([0x81, 2]))
iprp = box(b'iprp', ipco + ipma)
flags = 1 if W > 65535 or H > 65535 else 0
grid = bytes([0, flags, rows - 1, cols - 1]) + (struct.pack('>II', W, H) if flags else struct.pack('>HH', W, H))
idat = box(b'idat', grid)

def build(mdat_off):
    iloc = full(b'iloc', 1, 0, bytes([0x44, 0x00]) + struct.pack('>H', 2) +
                struct.pack('>HHHH', 1, 1, 0, 1) + struct.pack('>II', 0, len(grid)) +
                struct.pack('>HHHH', 2, 0, 0, 1) + struct.pack('>II', mdat_off, len(coded)))
    return full(b'meta', 0, 0, hdlr + pitm + iloc + iinf + iref + iprp + idat)

m = build(0)
m = build(len(ftyp) + len(m) + 8)
open(out, 'wb').write(ftyp + m + box(b'mdat', coded))
