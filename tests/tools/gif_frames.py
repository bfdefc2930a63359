#!/usr/bin/python3
# gif_frames.py OUT N: a valid 1x1 animated GIF of N frames (each a graphic
# control extension and a 1-pixel LZW image).
import sys, struct
n = int(sys.argv[2])
out = bytearray(b'GIF89a' + struct.pack('<HHBBB', 1, 1, 0x80, 0, 0) + b'\x00\x00\x00\xff\xff\xff')
out += b'\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00'
frame = b'\x21\xf9\x04\x00\x01\x00\x00\x00' + b'\x2c' + struct.pack('<HHHHB', 0, 0, 1, 1, 0) + b'\x02\x02\x44\x01\x00'
out += frame * n + b'\x3b'
open(sys.argv[1], 'wb').write(out)
