#!/usr/bin/python3
"""Scores `tierpress dups --json` against the labels of dups_set.py.

usage: dups_eval.py LABELS.tsv INGEST.json DUPS.json
Prints one line per variant kind (recall: the variant is in its original's
duplicate group; precision: of the variants grouped, those whose group
holds only their own photo), then TAP-style checks of the goals of
issue 18.  Exit status 0; the TAP lines carry the verdicts.
"""
import collections
import json
import sys

labels = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
asset = {}
for l in open(sys.argv[2]):
    j = json.loads(l)
    if "asset" in j:
        asset[j["file"].rsplit("/", 1)[-1]] = j["asset"]
group, similar = {}, []
for l in open(sys.argv[3]):
    j = json.loads(l)
    if j.get("type") == "duplicate":
        for m in j["members"]:
            group[m["id"]] = j["group"]
    elif j.get("type") == "similar":
        similar.append([m["id"] for m in j["members"]])

scene = {asset[f]: o for f, o, k, c in labels if f in asset}
members = collections.defaultdict(set)
for a, g in group.items():
    members[g].add(scene.get(a, "?"))
orig = {o: asset[f] for f, o, k, c in labels if k == "orig"}

hit, tot, pure, grouped = (collections.Counter() for _ in range(4))
for f, o, k, c in labels:
    if c != "dup":
        continue
    a = asset[f]
    tot[k] += 1
    g = group.get(a)
    if g is not None:
        grouped[k] += 1
        pure[k] += len(members[g]) == 1
        hit[k] += g == group.get(orig[o])
print("# kind        recall  precision  (n)")
for k in sorted(tot):
    print("# %-12s %6.1f%% %9s  (%d)" % (k, 100.0 * hit[k] / tot[k],
          "%.1f%%" % (100.0 * pure[k] / grouped[k]) if grouped[k] else "-", tot[k]))


def tap(ok, name, why=""):
    print("ok - %s" % name if ok else "not ok - %s: %s" % (name, why))


for k in ("resize", "recompress", "format", "strip", "rotation"):
    r = hit[k] / tot[k]
    tap(r >= 0.99, "recall %s >= 99%% (%.1f%%)" % (k, 100 * r), "%d/%d" % (hit[k], tot[k]))
crop = [(f, o) for f, o, k, c in labels if k == "crop" and not f.split("__")[1].startswith("crop_10")]
r = sum(group.get(asset[f]) is not None and group.get(asset[f]) == group.get(orig[o])
        for f, o in crop) / len(crop)
tap(r >= 0.90, "recall crops <= 5%% >= 90%% (%.1f%%)" % (100 * r), "%d crops" % len(crop))
mixed = [g for g, s in members.items() if len(s) > 1]
tap(not mixed, "no distinct photo grouped as a duplicate",
    "; ".join("group %s: %s" % (g, sorted(members[g])) for g in mixed))
bursts = [asset[f] for f, o, k, c in labels if k == "burst"]
tap(all(b not in group or len(members[group[b]]) == 1 for b in bursts),
    "burst frames are never duplicates")
near = [s for s in similar if sum(a in bursts for a in s) >= 2]
tap(bool(near), "burst frames of one scene are reported as similar", "similar sets: %s" % similar)
