#!/usr/bin/python3
# bombs.py DIR: writes small files that declare huge images (dimensions,
# frame counts, looping or deep EXIF IFDs) for tests/t_bombs.sh.  Each is
# a few KiB; decoding any of them in full would take gigabytes.
import io, os, struct, sys, zlib
from PIL import Image

d = sys.argv[1]
samples = sys.argv[2]
os.makedirs(d, exist_ok=True)

def put(name, data):
    open(os.path.join(d, name), 'wb').write(data)

def chunk(t, payload):
    return struct.pack('>I', len(payload)) + t + payload + struct.pack('>I', zlib.crc32(t + payload) & 0xffffffff)

def png(w, h, depth, ctype, rows=4):
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype] * depth // 8
    raw = (b'\0' + b'\0' * (w * bpp)) * rows if w * bpp < 1 << 20 else b'\0' * 4096
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))

def pil(fmt, mode='RGB', size=(16, 16), **kw):
    b = io.BytesIO()
    Image.new(mode, size, (10, 20, 30) if mode == 'RGB' else 0).save(b, fmt, **kw)
    return bytearray(b.getvalue())

# PNG: 4.29 gigapixels declared; 100 MP of RGBA16 (800 MB) for the budget
put('png-65535x65535.png', png(65535, 65535, 8, 6))
# a complete 8000x8000 RGBA16 PNG of zeros (512 MB of pixels, 500 KiB)
z = zlib.compressobj(9)
row = b'\0' * (8000 * 8 + 1)
idat = b''.join(z.compress(row) for _ in range(8000)) + z.flush()
put('png-8000x8000-rgba16.png', b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 8000, 8000, 16, 6, 0, 0, 0)) +
    chunk(b'IDAT', idat) + chunk(b'IEND', b''))

# JPEG: SOF0 says 65000x65000
j = pil('JPEG')
i = j.index(b'\xff\xc0')
j[i + 5:i + 9] = struct.pack('>HH', 65000, 65000)
put('jpeg-65000x65000.jpg', bytes(j))

# WebP lossless: 16384x16384 in the VP8L header
w = pil('WEBP', lossless=True)
i = w.index(b'VP8L') + 8
assert w[i] == 0x2f
bits = struct.unpack('<I', w[i + 1:i + 5])[0]
bits = (bits & ~((1 << 28) - 1)) | (16383) | (16383 << 14)
w[i + 1:i + 5] = struct.pack('<I', bits)
put('webp-16384x16384.webp', bytes(w))

# GIF: screen and frame 65535x65535; and 100,000 frames of 1x1
g = pil('GIF', mode='P')
g[6:10] = struct.pack('<HH', 65535, 65535)
i = 13 + (3 << ((g[10] & 7) + 1) if g[10] & 0x80 else 0)
while g[i] == 0x21:  # extensions: label, then sub-blocks
    i += 2
    while g[i]:
        i += g[i] + 1
    i += 1
assert g[i] == 0x2c
g[i + 5:i + 9] = struct.pack('<HH', 65535, 65535)
put('gif-65535x65535.gif', bytes(g))
out = bytearray(b'GIF89a' + struct.pack('<HHBBB', 1, 1, 0x80, 0, 0) + b'\x00\x00\x00\xff\xff\xff')
out += b'\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00'
frame = b'\x21\xf9\x04\x00\x01\x00\x00\x00' + b'\x2c' + struct.pack('<HHHHB', 0, 0, 1, 1, 0) + b'\x02\x02\x44\x01\x00'
put('gif-100000-frames.gif', bytes(out + frame * 100000 + b'\x3b'))

# TIFF: 100000x100000 gray, one strip of 16 bytes
def tiff(w, h):
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8 + 2 + 12 * 9 + 4), (277, 3, 1, 1), (278, 4, 1, h), (279, 4, 1, 16)]
    b = b'II*\0' + struct.pack('<I', 8) + struct.pack('<H', len(entries))
    for tag, typ, n, v in entries:
        b += struct.pack('<HHI', tag, typ, n) + (struct.pack('<HH', v, 0) if typ == 3 else struct.pack('<I', v))
    return b + struct.pack('<I', 0) + b'\0' * 16
put('tiff-100000x100000.tif', tiff(100000, 100000))

# AVIF / HEIC: every ispe (image spatial extents) says 60000x60000
def ispe(src, name):
    b = bytearray(open(os.path.join(samples, src), 'rb').read())
    i = 0
    while (i := b.find(b'ispe', i)) > 0:
        b[i + 8:i + 16] = struct.pack('>II', 60000, 60000)
        i += 4
    put(name, bytes(b))
ispe('photo-800x533-8bit.avif', 'avif-60000x60000.avif')
ispe('photo-1280x854-multi-image-thumbnails-noexif.heic', 'heic-60000x60000.heic')

# EXIF: an IFD0 whose next-IFD and Exif pointers point at itself; and a
# chain of 3000 IFDs
def jpeg_with_exif(tiffdata):
    j = pil('JPEG')
    app1 = b'Exif\0\0' + tiffdata
    return bytes(j[:2] + b'\xff\xe1' + struct.pack('>H', len(app1) + 2) + app1 + j[2:])
loop = b'II*\0' + struct.pack('<I', 8) + struct.pack('<H', 2) + \
    struct.pack('<HHII', 0x0112, 3, 1, 1) + struct.pack('<HHII', 0x8769, 4, 1, 8) + struct.pack('<I', 8)
put('exif-loop.jpg', jpeg_with_exif(loop))
chain = bytearray(b'II*\0' + struct.pack('<I', 8))
n = 3000
for k in range(n):
    off = 8 + k * 18
    nxt = off + 18 if k + 1 < n else 0
    chain += struct.pack('<H', 1) + struct.pack('<HHII', 0x8769, 4, 1, nxt or 8) + struct.pack('<I', nxt)
put('exif-chain-3000.jpg', jpeg_with_exif(bytes(chain)))
