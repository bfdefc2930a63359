# tests/tools/png_exif_text.py IN.png OUT.png: moves IN's eXIf chunk into a
# zTXt "Raw profile type exif" chunk (ImageMagick's form: "\nexif\n  LEN\nHEX").
import struct, sys, zlib

def chunks(d):
    i = 8
    while i < len(d):
        n = struct.unpack(">I", d[i:i + 4])[0]
        yield d[i + 4:i + 8], d[i + 8:i + 8 + n]
        i += 12 + n

def chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)

d = open(sys.argv[1], "rb").read()
out = [d[:8]]
exif = None
for t, c in chunks(d):
    if t == b"eXIf":
        exif = b"Exif\0\0" + c
        continue
    if t == b"IEND":
        h = exif.hex()
        text = "\nexif\n%8d\n" % len(exif) + "\n".join(h[i:i + 72] for i in range(0, len(h), 72)) + "\n"
        out.append(chunk(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(text.encode())))
    out.append(chunk(t, c))
assert exif, "no eXIf chunk in " + sys.argv[1]
open(sys.argv[2], "wb").write(b"".join(out))
