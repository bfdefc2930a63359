#!/usr/bin/python3
"""Cold-tier decision cost (issue 15): CPU-s per megapixel of the whole
`convert --ssim` decision, bytes and Butteraugli, per floor and variant.
Not a test.

    coldtier.py run WORKDIR PHOTO...   appends rows to WORKDIR/rows.jsonl
                                       (resumable: rows already there are skipped)
    coldtier.py report WORKDIR         prints the markdown section

Driven by bench/coldtier.sh.  Per photo, floor and variant:
  tierpress convert ORIG OUT --ssim S --codecs jxl,avif,heic --min-saving 0 --json
under /usr/bin/time (user + sys of the whole process: decode, the lossless
recompression, every probe, the confirmation, the final verify), the output
judged by butteraugli_main against the original decoded to PNG (the same
judge as bench/quality.py, whose Photo class makes the ~2.5 MP q92 originals).
Full-size photos (kind "full") are used as the camera wrote them.
Variants: "after" (TP), "before" (TP_BEFORE), "no-mosaic", "no-predict" and
"no-presets" (TP with that option: one technique off at a time), "cli" (cjxl d1, avifenc,
heif-enc at their default quality, fed the PNG; lossless cjxl on the JPEG).
"""
import json
import os
import re
import shutil
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quality as q  # noqa: E402  (bench/quality.py: Photo, sh, judge)

CODECS = "jxl,avif,heic"
FLOOR_NAMES = {0.997: "visually lossless", 0.99: "saver"}


class FullPhoto(q.Photo):
    """A full-size camera JPEG, as is (quality.Photo makes > 3 MP ones q92)."""

    def __init__(self, src, work):  # pylint: disable=super-init-not-called
        self.src = src
        stem = re.sub(r"\.jpe?g$", "", os.path.basename(src))
        self.kind = "full"
        self.name = stem + "@full"
        self.dir = os.path.join(work, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.orig = os.path.join(self.dir, "orig.jpg")
        if not os.path.exists(self.orig):
            shutil.copyfile(src, self.orig)
        self.w = int(q.header(self.orig, "width"))
        self.h = int(q.header(self.orig, "height"))
        self.mp = self.w * self.h / 1e6
        self.bytes = os.path.getsize(self.orig)
        self.orientation = int(q.header(self.orig, "orientation") or 1)
        self.ref = os.path.join(self.dir, "ref.png")
        if not os.path.exists(self.ref):
            q.sh(["vips", "copy", self.orig, self.ref + "[strip]"])
        self.ref_up = self.ref
        if self.orientation != 1:
            self.ref_up = os.path.join(self.dir, "ref-upright.png")
            if not os.path.exists(self.ref_up):
                q.sh(["vips", "autorot", self.orig, self.ref_up + "[strip]"])


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def emit(rows_path, ph, row):
    row.update(photo=ph.name, kind=ph.kind, mp=ph.mp, orig_bytes=ph.bytes)
    with open(rows_path, "a") as f:
        f.write(json.dumps(row) + "\n")
    print("  %-50s %-6s %-10s %6.1f%%  %6.2f CPU-s/MP  BA %s" % (
        ph.name, row.get("floor", "-"), row["variant"], 100.0 * row["out_bytes"] / ph.bytes,
        row["cpu_s"] / ph.mp, "%.2f" % row["ba_max"] if row.get("ba_max") is not None else "-"),
        flush=True)


def run_search(ph, tp, variant, floor, rows_path):
    extra = {"no-mosaic": ["--no-mosaic"], "no-predict": ["--no-predict"],
             "no-presets": ["--no-presets"]}.get(variant, [])
    out = os.path.join(ph.dir, "out.bin")
    if os.path.exists(out):
        os.unlink(out)
    cmd = ["nice", tp, "convert", ph.orig, out, "--ssim", str(floor), "--codecs", CODECS,
           "--min-saving", "0", "--json"] + extra
    stdout, cpu, _ = q.sh(cmd, os.path.join(ph.dir, "cpu.txt"))
    j = json.loads(stdout)
    row = dict(variant=variant, floor=floor, cpu_s=cpu, kept=j["kept_original"], codec=j["codec"],
               quality=j["quality"], lossless=j["lossless"], probes=j["probes"],
               confirm_probes=j.get("confirm_probes"), mosaic_blocks=j.get("mosaic_blocks"),
               source_quality=j.get("source_quality"), ssim=j["ssim"], min_tile=j["min_tile"],
               candidates=[dict(codec=c["codec"], subsampling=c["subsampling"], passed=c["passed"],
                                quality=c["quality"], bytes=c["bytes"], probes=c["probes"],
                                start=c.get("start_quality"), abandoned=c["abandoned"],
                                estimated=c.get("estimated")) for c in j["candidates"]])
    if j["kept_original"]:
        row.update(out_bytes=ph.bytes, ba_max=0.0)
    elif j["lossless"]:
        row.update(out_bytes=os.path.getsize(out), ba_max=0.0)
    else:
        row["out_bytes"] = os.path.getsize(out)
        row["ba_max"], _, row["note"] = ph.judge(out, j["codec"], "s")
    emit(rows_path, ph, row)


def run_cli(ph, rows_path, done):
    cpu_file = os.path.join(ph.dir, "cpu.txt")
    for cli in ("cjxl", "avifenc", "heif-enc"):
        if (ph.name, "cli", cli) in done:
            continue
        codec = {"avifenc": "avif", "heif-enc": "heic", "cjxl": "jxl"}[cli]
        out = os.path.join(ph.dir, "cli." + codec)
        cmd = {"cjxl": ["nice", "cjxl", ph.ref, out],
               "avifenc": ["nice", "avifenc", ph.ref, out],
               "heif-enc": ["nice", "heif-enc", ph.ref, "-o", out]}[cli]
        _, cpu, _ = q.sh(cmd, cpu_file)
        mx, _, note = ph.judge(out, codec, "c", oriented=False)
        emit(rows_path, ph, dict(variant="cli", floor=cli, cpu_s=cpu, out_bytes=os.path.getsize(out),
                                 ba_max=mx, note=note))
        os.unlink(out)
    if (ph.name, "cli", "cjxl-lossless") not in done:
        out = os.path.join(ph.dir, "lossless.jxl")
        _, cpu, rc = q.sh(["nice", "cjxl", ph.orig, out], cpu_file, check=False)
        ok = rc == 0 and os.path.exists(out)
        emit(rows_path, ph, dict(variant="cli", floor="cjxl-lossless", cpu_s=cpu, ba_max=0.0,
                                 out_bytes=os.path.getsize(out) if ok else ph.bytes))
        if ok:
            os.unlink(out)


def cmd_run(work, srcs):
    os.makedirs(work, exist_ok=True)
    rows_path = os.path.join(work, "rows.jsonl")
    done = set()
    if os.path.exists(rows_path):
        for r in load(rows_path):
            done.add((r["photo"], r["variant"], r["floor"]))
    photos = []
    for s in srcs:
        full = s.startswith("full:")
        photos.append(FullPhoto(s[5:], work) if full else q.Photo(s, work))
    floors = [float(f) for f in os.environ.get("FLOORS", "0.997 0.99").split()]
    variants = os.environ.get("VARIANTS", "after").split()
    tps = {"after": os.environ["TP"], "no-mosaic": os.environ["TP"], "no-predict": os.environ["TP"],
           "no-presets": os.environ["TP"],
           "before": os.environ.get("TP_BEFORE")}
    for floor in floors:
        for variant in variants:
            if variant == "cli":
                continue
            if not tps.get(variant):
                print("coldtier.py: variant %s needs TP_BEFORE: skipped" % variant, file=sys.stderr)
                continue
            for ph in photos:
                if (ph.name, variant, floor) not in done:
                    run_search(ph, tps[variant], variant, floor, rows_path)
    if "cli" in variants:
        for ph in photos:
            run_cli(ph, rows_path, done)


def med(v):
    return statistics.median(v) if v else float("nan")


def p90(v):
    if not v:
        return float("nan")
    s = sorted(v)
    return s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))]


def cmd_report(work):
    rows = load(os.path.join(work, "rows.jsonl"))
    photos = sorted({(r["photo"], r["kind"], r["mp"], r["orig_bytes"]) for r in rows},
                    key=lambda p: (p[1] != "full", p[0]))
    groups = [("all", lambda r: True), ("full-size (>= 12 MP)", lambda r: r["kind"] == "full"),
              ("~2.5 MP and smaller", lambda r: r["kind"] != "full")]
    print("| floor | variant | photos | n | bytes % median (p90) | BA max < 1 | BA max < 2 | "
          "CPU-s/MP median (p90) | probes median | whole-image probes median |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    keys = []
    for r in rows:
        k = (r["floor"], r["variant"])
        if k not in keys:
            keys.append(k)
    for floor, variant in keys:
        for gname, gf in groups:
            sel = [r for r in rows if r["floor"] == floor and r["variant"] == variant and gf(r)]
            if not sel:
                continue
            b = [100.0 * r["out_bytes"] / r["orig_bytes"] for r in sel]
            cpu = [r["cpu_s"] / r["mp"] for r in sel]
            ba = [r["ba_max"] for r in sel if r.get("ba_max") is not None]
            pr = [r["probes"] for r in sel if r.get("probes") is not None]
            cp = []
            for r in sel:
                if r.get("probes") is None:
                    continue
                # whole-image probes: the confirmations on a mosaic search, all
                # probes otherwise (the lossless recompression counts as one)
                cp.append(r["confirm_probes"] if r.get("mosaic_blocks") else r["probes"])
            fname = FLOOR_NAMES.get(floor, str(floor))
            print("| %s | %s | %s | %d | %.0f (%.0f) | %d%% (%d) | %d%% (%d) | %.2f (%.2f) | %s | %s |" % (
                fname, variant, gname, len(sel), med(b), p90(b),
                round(100.0 * sum(1 for x in ba if x < 1.0) / len(ba)) if ba else 0,
                sum(1 for x in ba if x < 1.0),
                round(100.0 * sum(1 for x in ba if x < 2.0) / len(ba)) if ba else 0,
                sum(1 for x in ba if x < 2.0), med(cpu), p90(cpu),
                "%.0f" % med(pr) if pr else "-", "%.0f" % med(cp) if cp else "-"))
    print()
    print("Per photo: bytes % of the original, CPU-s/MP, Butteraugli max, winner (probes):")
    print()
    cols = keys
    print("| photo | MP | source q | " + " | ".join("%s %s" % (FLOOR_NAMES.get(f, f), v)
                                                 for f, v in cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for name, kind, mp, ob in photos:
        cells = []
        sq = "-"
        for f, v in cols:
            r = next((r for r in rows if r["photo"] == name and r["floor"] == f and
                      r["variant"] == v), None)
            if not r:
                cells.append("-")
                continue
            if r.get("source_quality") is not None:
                sq = str(r["source_quality"])
            win = "kept" if r.get("kept") else ("lossless" if r.get("lossless") else
                                                  "%s q%s" % (r.get("codec") or v, r.get("quality", "")))
            if v == "cli":
                win = f
            cells.append("%.0f, %.2f, BA %.2f, %s%s" % (
                100.0 * r["out_bytes"] / ob, r["cpu_s"] / mp, r.get("ba_max") or 0.0, win,
                " (%d)" % r["probes"] if r.get("probes") else ""))
        print("| %s | %.1f | %s | %s |" % (name, mp, sq, " | ".join(cells)))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "run":
        cmd_run(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        cmd_report(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
