#!/usr/bin/python3
# jpeg_xmp.py IN.jpg XMPFILE OUT.jpg: OUT is IN with the bytes of XMPFILE as
# its XMP packet (an APP1 "http://ns.adobe.com/xap/1.0/" segment placed after
# the leading APP0/APP1 segments; any XMP segment of IN is dropped).  The
# packet is inserted byte for byte, so the tests control its exact form.
import struct, sys

src = open(sys.argv[1], 'rb').read()
xmp = open(sys.argv[2], 'rb').read()
sig = b'http://ns.adobe.com/xap/1.0/\0'
assert src[:2] == b'\xff\xd8', 'not a JPEG'
pos, head = 2, []
while src[pos] == 0xFF and src[pos + 1] in (0xE0, 0xE1):
    n = struct.unpack('>H', src[pos + 2:pos + 4])[0]
    seg = src[pos:pos + 2 + n]
    if not seg[4:].startswith(sig):
        head.append(seg)
    pos += 2 + n
payload = sig + xmp
assert len(payload) + 2 <= 0xFFFF, 'packet too large for one segment'
app1 = b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload
open(sys.argv[3], 'wb').write(src[:2] + b''.join(head) + app1 + src[pos:])
