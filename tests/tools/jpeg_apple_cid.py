#!/usr/bin/python3
# jpeg_apple_cid.py IN.jpg CONTENT_ID "YYYY:MM:DD HH:MM:SS" OUT.jpg: OUT is IN
# with a new EXIF segment (any EXIF of IN is dropped) written the way an
# iPhone writes a Live Photo's still: IFD0 Make "Apple", Model "iPhone 13",
# the Exif IFD with DateTimeOriginal and a MakerNote in Apple's iOS form
# ("Apple iOS\0", version 1, "MM", an IFD whose offsets count from the start
# of the maker note) holding MakerNoteVersion (0x0001) and ContentIdentifier
# (0x0011, ASCII).  exiftool reads it back as Apple:ContentIdentifier (it
# cannot create a maker note itself, so the tests write it here).
import struct, sys

src = open(sys.argv[1], 'rb').read()
cid, when, out = sys.argv[2].encode() + b'\0', sys.argv[3].encode() + b'\0', sys.argv[4]
assert src[:2] == b'\xff\xd8', 'not a JPEG'


def ifd(entries, at, extra_at):
    """entries: (tag, type, count, bytes); an IFD placed at `at` whose
    values longer than 4 bytes go from extra_at on.  Returns (ifd, extra)."""
    body, extra = struct.pack('>H', len(entries)), b''
    for tag, typ, count, val in sorted(entries):
        if len(val) <= 4:
            body += struct.pack('>HHI', tag, typ, count) + val.ljust(4, b'\0')
        else:
            body += struct.pack('>HHII', tag, typ, count, extra_at + len(extra))
            extra += val + (b'\0' if len(val) % 2 else b'')
    return body + struct.pack('>I', 0), extra


# the maker note: header (14 bytes), IFD at 14, values after it
mn_entries = [(0x0001, 9, 1, struct.pack('>i', 14)), (0x0011, 2, len(cid), cid)]
mn_ifd_len = 2 + 12 * len(mn_entries) + 4
mn_ifd, mn_extra = ifd(mn_entries, 14, 14 + mn_ifd_len)
maker = b'Apple iOS\0' + b'\0\x01' + b'MM' + mn_ifd + mn_extra

make, model = b'Apple\0', b'iPhone 13\0'
ifd0_n, exif_n = 3, 2
ifd0_at = 8
ifd0_len = 2 + 12 * ifd0_n + 4
exif_at = ifd0_at + ifd0_len + len(make) + len(model) + 1  # (model padded to even)
exif_at += exif_at % 2
ifd0, ifd0_extra = ifd([(0x010f, 2, len(make), make), (0x0110, 2, len(model), model),
                        (0x8769, 4, 1, struct.pack('>I', exif_at))], ifd0_at, ifd0_at + ifd0_len)
tiff = b'MM\0*' + struct.pack('>I', ifd0_at) + ifd0 + ifd0_extra
tiff = tiff.ljust(exif_at, b'\0')
exif_len = 2 + 12 * exif_n + 4
exif, exif_extra = ifd([(0x9003, 2, len(when), when), (0x927c, 7, len(maker), maker)],
                       exif_at, exif_at + exif_len)
tiff += exif + exif_extra
payload = b'Exif\0\0' + tiff
assert len(payload) + 2 <= 0xFFFF

pos, head = 2, []
while src[pos] == 0xFF and src[pos + 1] in (0xE0, 0xE1):
    n = struct.unpack('>H', src[pos + 2:pos + 4])[0]
    seg = src[pos:pos + 2 + n]
    if not seg[4:].startswith(b'Exif\0\0'):
        head.append(seg)
    pos += 2 + n
app1 = b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload
open(out, 'wb').write(src[:2] + app1 + b''.join(head) + src[pos:])
