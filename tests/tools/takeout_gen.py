#!/usr/bin/python3
"""Builds a Google-Takeout-shaped export from sample media.

takeout_gen.py test OUT PLAIN.jpg EXIF.jpg CLIP.mp4
    the rule-by-rule export of tests/t_takeout.sh: OUT/takeout-001.zip,
    takeout-002.tgz, takeout-003.zip (a sidecar in a different part from its
    photo), OUT/takeout-004.zip (corrupt), OUT/evil.zip ('../' and absolute
    names) and OUT/manifest.json: for every media entry the capture time
    (unix s, or null) and location the catalog must end up with.
takeout_gen.py bench OUT PLAIN.jpg N PARTS
    N photos (every sidecar naming variant in turn) in PARTS zip parts.

Each media file is the sample with a few bytes appended after its end (so
every file has its own content); decoders ignore them.
"""
import io
import json
import os
import sys
import tarfile
import zipfile

GP = "Takeout/Google Photos/"
YEAR = GP + "Photos from 2019/"
ALBUM = GP + "Trip to Paris/"
SUP = ".supplemental-metadata"


def variant(data, tag):
    return data + b"\0TPGEN" + tag.encode()


def sidecar(title, ts, lat=0.0, lon=0.0, desc="", fav=False, archived=False, trashed=False):
    d = {
        "title": title,
        "description": desc,
        "imageViews": "3",
        "creationTime": {"timestamp": "1700000000", "formatted": "Nov 14, 2023"},
        "photoTakenTime": {"timestamp": str(ts), "formatted": ""},
        "geoData": {"latitude": lat, "longitude": lon, "altitude": 0.0,
                    "latitudeSpan": 0.0, "longitudeSpan": 0.0},
        "url": "https://photos.google.com/photo/x",
        "googlePhotosOrigin": {"mobileUpload": {"deviceType": "ANDROID_PHONE"}},
    }
    if fav:
        d["favorited"] = True
    if archived:
        d["archived"] = True
    if trashed:
        d["trashed"] = True
    return json.dumps(d, indent=2).encode()


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)


def write_tgz(path, entries):
    with tarfile.open(path, "w:gz") as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))


def test_export(out, plain_path, exif_path, clip_path):
    plain = open(plain_path, "rb").read()
    exif = open(exif_path, "rb").read()
    clip = open(clip_path, "rb").read()
    p1, p2, p3 = [], [], []
    manifest = {}
    base = 1562243696  # 2019-07-04T12:34:56Z

    def media(part, path, data, ts, lat=None, lon=None, **kw):
        part.append((path, data))
        manifest[path] = dict(ts=ts, lat=lat, lon=lon, **kw)

    # both generations, every truncation of the suffix
    forms = [SUP, ".supplemental-metad", ".supple", ".s", ""]
    for i, form in enumerate(forms):
        name = "IMG_000%d.jpg" % (i + 1)
        ts = base + i * 86400
        lat, lon = (48.8584 + i, 2.2945 + i) if i != 1 else (None, None)
        media(p1, YEAR + name, variant(plain, name), ts, lat, lon,
              fav=(i == 0), archived=(i == 2), desc=("Eiffel" if i == 0 else ""))
        sc = sidecar(name, ts, lat or 0.0, lon or 0.0, desc="Eiffel" if i == 0 else "",
                     fav=(i == 0), archived=(i == 2))
        # IMG_0001's sidecar lives in the third part
        (p3 if i == 0 else p1).append((YEAR + name + form + ".json", sc))
    # a long name clipped to 46 characters (first generation) and a name
    # whose suffix is cut by the 51-character budget (second generation)
    longname = "Screenshot_2019-07-10-08-15-30-123_com.example.app.jpg"
    media(p1, YEAR + longname, variant(plain, longname), base + 6 * 86400, 10.5, 20.25)
    p1.append((YEAR + longname[:46] + ".json", sidecar(longname, base + 6 * 86400, 10.5, 20.25)))
    midname = "PXL_20190711_101010123.PORTRAIT.jpg"
    media(p1, YEAR + midname, variant(plain, midname), base + 7 * 86400, -33.8568, 151.2153)
    p1.append((YEAR + (midname + SUP)[:46] + ".json",
               sidecar(midname, base + 7 * 86400, -33.8568, 151.2153)))
    # the duplicate counter moved, in both generations
    media(p2, YEAR + "IMG_0007.jpg", variant(plain, "7a"), base + 8 * 86400)
    p2.append((YEAR + "IMG_0007.jpg.json", sidecar("IMG_0007.jpg", base + 8 * 86400)))
    media(p2, YEAR + "IMG_0007(1).jpg", variant(plain, "7b"), base + 9 * 86400)
    p2.append((YEAR + "IMG_0007.jpg(1).json", sidecar("IMG_0007.jpg", base + 9 * 86400)))
    media(p2, YEAR + "IMG_0008(1).jpg", variant(plain, "8b"), base + 10 * 86400)
    p2.append((YEAR + "IMG_0008.jpg" + SUP + "(1).json", sidecar("IMG_0008.jpg", base + 10 * 86400)))
    # -edited and a localised variant share the original's sidecar
    media(p2, YEAR + "IMG_0009.jpg", variant(plain, "9"), base + 11 * 86400)
    media(p2, YEAR + "IMG_0009-edited.jpg", variant(plain, "9e"), base + 11 * 86400)
    p2.append((YEAR + "IMG_0009.jpg.json", sidecar("IMG_0009.jpg", base + 11 * 86400)))
    media(p2, YEAR + "IMG_0010.jpg", variant(plain, "10"), base + 12 * 86400)
    media(p2, YEAR + "IMG_0010-bearbeitet.jpg", variant(plain, "10e"), base + 12 * 86400)
    p2.append((YEAR + "IMG_0010.jpg" + SUP + ".json", sidecar("IMG_0010.jpg", base + 12 * 86400)))
    # motion photos: .MP and .MP4 share the still's sidecar
    media(p2, YEAR + "PXL_0011.jpg", variant(plain, "11"), base + 13 * 86400)
    media(p2, YEAR + "PXL_0011.MP", variant(clip, "11v"), "exif")  # the container's date
    p2.append((YEAR + "PXL_0011.jpg" + SUP + ".json", sidecar("PXL_0011.jpg", base + 13 * 86400)))
    media(p2, YEAR + "IMG_0012.jpg", variant(plain, "12"), base + 14 * 86400)
    media(p2, YEAR + "IMG_0012.MP4", variant(clip, "12v"), "exif")
    p2.append((YEAR + "IMG_0012.jpg.json", sidecar("IMG_0012.jpg", base + 14 * 86400)))
    # the title as the last resort
    media(p2, YEAR + "photo from chat.jpg", variant(plain, "chat"), base + 15 * 86400)
    p2.append((YEAR + "chat-export-8f3a.json", sidecar("photo from chat.jpg", base + 15 * 86400)))
    # invalid JSON: reported, the photo still imported (without a time)
    media(p2, YEAR + "IMG_0013.jpg", variant(plain, "13"), None)
    p2.append((YEAR + "IMG_0013.jpg.json", b'{"title": "IMG_0013.jpg", "photoTakenTime": {'))
    # EXIF and sidecar disagree: the file's own time is used, both kept
    media(p2, YEAR + "IMG_EXIF.jpg", variant(exif, "exif"), "exif", exif_gps=True)
    p2.append((YEAR + "IMG_EXIF.jpg.json", sidecar("IMG_EXIF.jpg", base + 16 * 86400, 1.5, 2.5)))
    # no sidecar; and a sidecar with no media
    media(p2, YEAR + "IMG_0014.jpg", variant(plain, "14"), None)
    p2.append((YEAR + "orphan.jpg.json", sidecar("orphan.jpg", base)))
    # an album: the same photo as in the year folder, and one of its own
    p3.append((ALBUM + "metadata.json", json.dumps({"title": "Trip to Paris", "description": "",
                                                     "access": "protected"}).encode()))
    p3.append((ALBUM + "IMG_0001.jpg", variant(plain, "IMG_0001.jpg")))
    p3.append((ALBUM + "IMG_0001.jpg" + SUP + ".json", sidecar("IMG_0001.jpg", base, 48.8584, 2.2945)))
    media(p3, ALBUM + "IMG_0020.jpg", variant(plain, "20"), base + 20 * 86400, 45.0, 7.0)
    p3.append((ALBUM + "IMG_0020.jpg.json", sidecar("IMG_0020.jpg", base + 20 * 86400, 45.0, 7.0)))

    # an album whose name ends in a year is still an album (it has a metadata.json)
    p3.append((GP + "Summer 2019/metadata.json", json.dumps({"title": "Summer 2019"}).encode()))
    p3.append((GP + "Summer 2019/IMG_0002.jpg", variant(plain, "IMG_0002.jpg")))
    p3.append((GP + "Summer 2019/IMG_0002.jpg.json", sidecar("IMG_0002.jpg", base + 86400)))
    write_zip(os.path.join(out, "takeout-001.zip"), p1)
    write_tgz(os.path.join(out, "takeout-002.tgz"), p2)
    write_zip(os.path.join(out, "takeout-003.zip"), p3)
    # a corrupt part: a zip cut in half
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(YEAR + "LOST_0001.jpg", variant(plain, "lost"))
    data = buf.getvalue()
    open(os.path.join(out, "takeout-004.zip"), "wb").write(b"PK\3\4" + data[4:40] + b"\xff" * 64)
    # names that leave the export
    with zipfile.ZipFile(os.path.join(out, "evil.zip"), "w") as z:
        z.writestr(YEAR + "GOOD_0001.jpg", variant(plain, "good"))
        z.writestr("../../escape.jpg", variant(plain, "escape"))
        z.writestr("/tmp/tp-takeout-abs-escape.jpg", variant(plain, "abs"))
        z.writestr(GP + "../../../escape2.jpg.json", sidecar("escape2.jpg", base))
    json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"), indent=1)


def bench_export(out, plain_path, n, parts):
    plain = open(plain_path, "rb").read()
    forms = [SUP, ".supplemental-metad", ".supple", ".s", ""]
    zs = [zipfile.ZipFile(os.path.join(out, "takeout-%03d.zip" % (i + 1)), "w", zipfile.ZIP_STORED)
          for i in range(parts)]
    base = 1262304000
    for i in range(n):
        folder = GP + "Photos from %d/" % (2010 + i % 10)
        name = "IMG_%06d.jpg" % i
        if i % 7 == 3:
            name = "IMG_%06d(1).jpg" % i
        z = zs[i % parts]
        z.writestr(folder + name, variant(plain, str(i)))
        if i % 7 == 3:
            jname = "IMG_%06d.jpg%s(1).json" % (i, SUP if i % 2 else "")
        else:
            jname = name + forms[i % len(forms)] + ".json"
        # the sidecar in the next part for a tenth of the photos
        zs[(i + (i % 10 == 0)) % parts].writestr(
            folder + jname, sidecar(name, base + i * 3600, 40 + i % 10, 10 + i % 7))
    for z in zs:
        z.close()


if __name__ == "__main__":
    if sys.argv[1] == "test":
        test_export(*sys.argv[2:6])
    else:
        bench_export(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
