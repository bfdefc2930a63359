#!/usr/bin/python3
"""Builds the labelled near-duplicate set of tests/t_dups.sh (issue 18).

usage: dups_set.py SAMPLES OUTDIR
Writes OUTDIR/<orig>__<kind>.<ext> files and OUTDIR/labels.tsv
(file, original, kind, class): class "orig", "dup" (a variant of the
original: the same photo in other bytes) or "distinct" (another shot:
burst frames, other photos).  Pillow makes the pixels and the metadata;
vips writes AVIF and HEIC; ffmpeg takes the burst frames.
"""
import os
import subprocess
import sys

from PIL import Image, ImageDraw, ImageEnhance

samples, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
labels = []

# (name, sample file): photos of different scenes
ORIGS = [
    ("d40", "photo-nikon-d40-1000x665-exif.jpg"),
    ("nokia", "photo-nokia-lumia820-1278x720-exif-gps.jpg"),
    ("iphone", "photo-iphone6plus-2448x2448-exif-gps-orient6.jpg"),
    ("astro", "photo-astronaut-512x512-rgb8.png"),
]
EDGE = 2100


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def upright(path):
    im = Image.open(path)
    o = im.getexif().get(0x0112, 1)
    im = im.convert("RGB")
    t = {3: Image.ROTATE_180, 6: Image.ROTATE_270, 8: Image.ROTATE_90}
    if o in t:
        im = im.transpose(t[o])
    return im


def fit(im, edge):
    w, h = im.size
    s = edge / max(w, h)
    return im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS,
                     reducing_gap=2.0)


def exif_with(src_exif, orientation):
    ex = Image.Exif()
    if src_exif:
        ex.load(src_exif)
    ex[0x0112] = orientation
    return ex.tobytes()


def strip_jpeg(src, dst):
    """The same JPEG without its APPn and COM segments (pixels untouched)."""
    d = open(src, "rb").read()
    out, i = bytearray(d[:2]), 2
    while i < len(d):
        m = d[i + 1]
        if m == 0xDA:  # start of scan: the rest is entropy-coded data
            out += d[i:]
            break
        n = (d[i + 2] << 8) | d[i + 3]
        if not (0xE0 < m <= 0xEF or m == 0xFE):
            out += d[i:i + 2 + n]
        i += 2 + n
    open(dst, "wb").write(out)


def add(name, orig, kind, cls):
    labels.append((name, orig, kind, cls))


for tag, f in ORIGS:
    src = os.path.join(samples, f)
    im = fit(upright(src), EDGE)
    o = os.path.join(out, tag + "__orig.jpg")
    # the camera's metadata, with the orientation of the upright pixels
    im.save(o, quality=92, exif=exif_with(Image.open(src).info.get("exif"), 1))
    add(os.path.basename(o), tag, "orig", "orig")

    def save(kind, img, ext="jpg", **kw):
        p = os.path.join(out, "%s__%s.%s" % (tag, kind, ext))
        if ext in ("avif", "heic"):
            tmp = p + ".ppm"
            img.save(tmp)
            run("vips", "copy", tmp, p + "[Q=60,effort=0]")
            os.unlink(tmp)
        else:
            img.save(p, **kw)
        add(os.path.basename(p), tag, kind.split("_")[0], "dup")
        return p

    for e in (2048, 1600, 1024, 512):
        save("resize_%d" % e, fit(im, e), quality=90)
    for q in (95, 75, 50):
        save("recompress_q%d" % q, im, quality=q)
    save("format_webp", im, "webp", quality=80, method=0)
    save("format_avif", im, "avif")
    save("format_heic", im, "heic")
    save("format_png", fit(im, 1200), "png", compress_level=1)
    # metadata stripped: the same JPEG without any metadata
    p = os.path.join(out, tag + "__strip.jpg")
    strip_jpeg(o, p)
    add(os.path.basename(p), tag, "strip", "dup")
    # stored sideways with an EXIF orientation that shows it upright
    save("rotation_exif6", im.transpose(Image.ROTATE_90), quality=90, exif=exif_with(None, 6))
    w, h = im.size
    for pc in (2, 5, 10):
        dx, dy = round(w * pc / 100), round(h * pc / 100)
        save("crop_%d" % pc, im.crop((dx // 2, dy // 2, w - (dx - dx // 2), h - (dy - dy // 2))),
             quality=90)
    save("bright_up10", ImageEnhance.Brightness(im).enhance(1.1), quality=90)
    save("bright_down10", ImageEnhance.Brightness(im).enhance(0.9), quality=90)
    wm = im.copy()
    d = ImageDraw.Draw(wm)
    d.rectangle((int(w * 0.78), int(h * 0.9), w - 8, h - 8), fill=(255, 255, 255))
    d.text((int(w * 0.79), int(h * 0.92)), "(c) tierpress test", fill=(0, 0, 0))
    save("watermark", wm, quality=90)

# burst frames: consecutive shots of one scene (frames a few apart)
for clip, frames in (("clip-cockatoo-640x360-vp9-opus-3s.webm", (10, 16, 22, 28)),
                     ("clip-560x320-h264-aac-5.6s.mov", (40, 46, 52))):
    tag = clip.split("-")[1]
    sel = "+".join("eq(n\\,%d)" % n for n in frames)
    run("ffmpeg", "-v", "error", "-y", "-i", os.path.join(samples, clip), "-vf",
        "select=" + sel, "-vsync", "0", "-q:v", "2",
        os.path.join(out, "burst-%s__%%d.jpg" % tag))
    for i, n in enumerate(frames):
        p = os.path.join(out, "burst-%s__f%02d.jpg" % (tag, n))
        os.rename(os.path.join(out, "burst-%s__%d.jpg" % (tag, i + 1)), p)
        add(os.path.basename(p), "burst-%s-f%d" % (tag, n), "burst", "distinct")

with open(os.path.join(out, "labels.tsv"), "w") as f:
    for l in labels:
        f.write("\t".join(l) + "\n")
