#!/usr/bin/python3
"""takeout_check.py CATALOG.db MANIFEST.json [PREFIX]: every capture time and
location of the manifest (tests/tools/takeout_gen.py) is in the catalog.
Prints one line per problem; exit 1 when there is any."""
import json
import sqlite3
import sys
import time

db = sqlite3.connect(sys.argv[1])
manifest = json.load(open(sys.argv[2]))
prefix = sys.argv[3] if len(sys.argv) > 3 else ""
bad = 0


def fail(msg):
    global bad
    bad += 1
    print(msg)


for path, want in manifest.items():
    rows = db.execute(
        "SELECT a.capture_time, m.capture_source, m.exif_capture_time, m.sidecar_capture_time, "
        "m.latitude, m.longitude, m.location_source, m.favourite, m.archived, m.description, "
        "a.has_gps FROM imports i JOIN assets a ON a.id = i.asset_id "
        "LEFT JOIN asset_meta m ON m.asset_id = a.id WHERE i.key LIKE ?",
        (prefix + path + "|%",)).fetchall()
    if len(rows) != 1:
        fail("%s: %d catalog rows" % (path, len(rows)))
        continue
    ct, src, exif_t, side_t, lat, lon, lsrc, fav, arch, desc, has_gps = rows[0]
    ts = want["ts"]
    if ts == "exif":
        if src != "exif" or not exif_t or ct != exif_t:
            fail("%s: expected the file's own time, got %r (%r)" % (path, ct, src))
        if not side_t:
            fail("%s: the sidecar's time was not kept" % path)
    elif ts is None:
        if ct:
            fail("%s: expected no capture time, got %r" % (path, ct))
    else:
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
        if ct != iso or src != "sidecar":
            fail("%s: capture time %r (%r), expected %r from the sidecar" % (path, ct, src, iso))
    if want.get("exif_gps"):
        if lsrc != "exif" or not has_gps:
            fail("%s: location source %r, expected exif" % (path, lsrc))
    elif want["lat"] is not None:
        if lat is None or abs(lat - want["lat"]) > 1e-9 or abs(lon - want["lon"]) > 1e-9 \
                or lsrc != "sidecar" or not has_gps:
            fail("%s: location %r,%r (%r), expected %r,%r" % (path, lat, lon, lsrc, want["lat"], want["lon"]))
    elif lat is not None:
        fail("%s: location %r,%r where the sidecar had none (0,0)" % (path, lat, lon))
    if want.get("fav") and fav != 1:
        fail("%s: not a favourite" % path)
    if want.get("archived") and arch != 1:
        fail("%s: not archived" % path)
    if want.get("desc") and desc != want["desc"]:
        fail("%s: description %r" % (path, desc))
sys.exit(1 if bad else 0)
