#!/usr/bin/python3
"""Quality-targeted encoding benchmark (issue 4, "Benchmark").  Not a test.

    quality.py run WORKDIR PHOTO...   encode, decode, judge; appends rows to
                                      WORKDIR/rows.jsonl (resumable: rows
                                      already there are not run again)
    quality.py report WORKDIR         prints the markdown section

Driven by bench/quality.sh, which picks the photos.  Per photo:
  * the "original": a real camera JPEG as is (<= 3 MP), or for a > 3 MP photo
    a q92 JPEG made with `vips resize` to ~2.5 MP (metadata stripped);
  * tierpress convert ORIG OUT --ssim S --tile-ssim T --codecs C
    --min-saving 0 --json for each floor and C in jxl, avif, heic,
    jxl,avif,heic (the best-of choice), CPU from /usr/bin/time -f %U+%S;
  * fixed quality with the codec CLIs at their defaults (avifenc, heif-enc,
    cjxl, cwebp) fed the decoded original as PNG, and lossless `cjxl` on the
    JPEG itself;
  * the outside judge: butteraugli_main (libjxl 0.7) between the original
    decoded to PNG (`vips copy`) and the output decoded by the codec's own
    CLI (djxl, avifdec, heif-convert, dwebp).
"""
import concurrent.futures as cf
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time

FLOORS = [  # label, mean floor, tile floor
    ("visually lossless", 0.997, 0.995),
    ("saver", 0.99, 0.98),
    ("0.95", 0.95, None),  # tile derived: 1 - 5/3 (1 - 0.95) = 0.9167
]
SETS = ["jxl", "avif", "heic", "jxl,avif,heic"]
# Experiment rows (not part of the targets): name -> (codecs, extra args,
# floors).  "jxl/no-chroma": JPEG XL with the chroma floor set out of the
# way (0.5), to see what the derived chroma floor costs JPEG XL.
EXPERIMENTS = {"jxl/no-chroma": ("jxl", ["--chroma-ssim", "0.5"], ("visually lossless", "saver"))}
CLIS = ["avifenc", "heif-enc", "cjxl", "cwebp"]
TARGET_MP = 2.5
EXT = {"jxl": "jxl", "avif": "avif", "heif": "heic", "heic": "heic", "webp": "webp"}

_lock = threading.Lock()


def sh(cmd, cpu_file=None, check=True):
    """Runs cmd (a list); with cpu_file, under /usr/bin/time -f %U+%S and
    returns (stdout, cpu seconds)."""
    full = cmd
    if cpu_file:
        full = ["/usr/bin/time", "-f", "%U+%S", "-o", cpu_file] + cmd
    p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()[-400:]))
    cpu = None
    if cpu_file:
        with open(cpu_file) as f:
            last = [l for l in f.read().splitlines() if re.match(r"^[0-9.]+\+[0-9.]+$", l)]
        u, s = last[-1].split("+")
        cpu = float(u) + float(s)
    return p.stdout, cpu, p.returncode


def header(path, field):
    out, _, rc = sh(["vipsheader", "-f", field, path], check=False)
    return out.strip() if rc == 0 else None


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def decode(path, codec, png):
    """The codec's own CLI decoder -> PNG."""
    if codec == "jxl":
        sh(["djxl", path, png])
    elif codec == "avif":
        sh(["avifdec", path, png])
    elif codec in ("heif", "heic"):
        sh(["heif-convert", path, png])
    elif codec == "webp":
        sh(["dwebp", path, "-o", png])
    else:
        raise ValueError(codec)


def butteraugli(ref, dec):
    out, _, _ = sh(["butteraugli_main", ref, dec])
    lines = out.split()
    mx = float(lines[0])
    m = re.search(r"3-norm:\s*([0-9.]+)", out)
    return mx, float(m.group(1)) if m else None


class Photo:
    def __init__(self, src, work):
        self.src = src
        base = os.path.basename(src)
        self.w = int(header(src, "width"))
        self.h = int(header(src, "height"))
        mp = self.w * self.h / 1e6
        self.kind = "native" if mp <= 3.0 else "q92"
        stem = re.sub(r"\.jpe?g$", "", base)
        self.name = stem if self.kind == "native" else stem + "@q92"
        self.dir = os.path.join(work, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.orig = os.path.join(self.dir, "orig.jpg")
        if not os.path.exists(self.orig):
            if self.kind == "native":
                shutil.copyfile(src, self.orig)
            else:
                scale = math.sqrt(TARGET_MP * 1e6 / (self.w * self.h))
                tmp = os.path.join(self.dir, "tmp.jpg")
                sh(["vips", "resize", src, tmp + "[Q=92,strip]", "%.6f" % scale])
                os.rename(tmp, self.orig)
        self.w = int(header(self.orig, "width"))
        self.h = int(header(self.orig, "height"))
        self.mp = self.w * self.h / 1e6
        self.bytes = os.path.getsize(self.orig)
        self.orientation = int(header(self.orig, "orientation") or 1)
        # references: pixels as coded, and upright (for decoders that apply
        # the orientation: djxl and heif-convert do, avifdec 0.11 does not)
        self.ref = os.path.join(self.dir, "ref.png")
        if not os.path.exists(self.ref):
            sh(["vips", "copy", self.orig, self.ref + "[strip]"])
        self.ref_up = self.ref
        if self.orientation != 1:
            self.ref_up = os.path.join(self.dir, "ref-upright.png")
            if not os.path.exists(self.ref_up):
                sh(["vips", "autorot", self.orig, self.ref_up + "[strip]"])

    def judge(self, out, codec, tag, oriented=True):
        """oriented: out carries the original's orientation (tierpress's
        outputs do; the CLIs' outputs made from REF.png do not)."""
        png = os.path.join(self.dir, tag + ".dec.png")
        decode(out, codec, png)
        upright = oriented and codec in ("jxl", "heif", "heic") and self.orientation != 1
        ref = self.ref_up if upright else self.ref
        dw, dh = int(header(png, "width")), int(header(png, "height"))
        rw, rh = int(header(ref, "width")), int(header(ref, "height"))
        note = None
        if (dw, dh) != (rw, rh):
            ref = self.ref if ref == self.ref_up else self.ref_up
            note = "decoder orientation differs from the assumption"
        mx, n3 = butteraugli(ref, png)
        os.unlink(png)
        return mx, n3, note


def run_photo(ph, tp, done, rows_path):
    def emit(row):
        row.update(photo=ph.name, kind=ph.kind, w=ph.w, h=ph.h, mp=ph.mp, orig_bytes=ph.bytes)
        with _lock:
            with open(rows_path, "a") as f:
                f.write(json.dumps(row) + "\n")
        print("  %-52s %-18s %-14s %6.1f%%  BA %s" % (
            ph.name, row.get("floor", row["mode"]), row["set"], 100.0 * row["out_bytes"] / ph.bytes,
            "%.2f" % row["ba_max"] if row.get("ba_max") is not None else "-"), flush=True)

    cpu_file = os.path.join(ph.dir, "cpu.txt")
    # quality-targeted search
    for label, s, t in FLOORS:
        judged = {}  # sha -> (ba_max, ba_3)
        for cs in SETS + [e for e, v in EXPERIMENTS.items() if label in v[2]]:
            key = (ph.name, label, cs)
            if key in done:
                continue
            codecs, extra = (cs, []) if cs in SETS else EXPERIMENTS[cs][:2]
            out = os.path.join(ph.dir, "out.bin")
            if os.path.exists(out):
                os.unlink(out)
            cmd = [tp, "convert", ph.orig, out, "--ssim", str(s)]
            if t is not None:
                cmd += ["--tile-ssim", str(t)]
            cmd += extra + ["--codecs", codecs, "--min-saving", "0", "--json"]
            t0 = time.time()
            stdout, cpu, _ = sh(cmd, cpu_file)
            wall = time.time() - t0
            j = json.loads(stdout)
            row = dict(mode="search", floor=label, ssim_floor=s, set=cs, cpu_s=cpu, wall_s=wall,
                       kept=j["kept_original"], codec=j["codec"], quality=j["quality"],
                       subsampling=j["subsampling"], probes=j["probes"], encode_ms=j["encode_ms"],
                       verify_ms=j["verify_ms"], ssim=j["ssim"], min_tile=j["min_tile"],
                       ssim_cb=j["ssim_cb"], ssim_cr=j["ssim_cr"], tile_floor=j["floor"]["tile"],
                       chroma_floor=j["floor"]["chroma"], reason=j["reason"],
                       candidates=[dict(codec=c["codec"], subsampling=c["subsampling"],
                                        passed=c["passed"], quality=c["quality"], bytes=c["bytes"],
                                        probes=c["probes"]) for c in j["candidates"]],
                       cmd=" ".join(cmd[1:]).replace(ph.dir + "/", ""))
            if j["kept_original"]:
                row.update(out_bytes=ph.bytes, ba_max=None, ba_3norm=None)
            else:
                row["out_bytes"] = os.path.getsize(out)
                h = sha(out)
                if h not in judged:
                    judged[h] = ph.judge(out, j["codec"], "s")
                row["ba_max"], row["ba_3norm"], row["note"] = judged[h]
                row["sha"] = h
            emit(row)
    # fixed quality with the codec CLIs at their default quality
    for cli in CLIS:
        if (ph.name, "cli", cli) in done:
            continue
        codec = {"avifenc": "avif", "heif-enc": "heic", "cjxl": "jxl", "cwebp": "webp"}[cli]
        out = os.path.join(ph.dir, "cli." + codec)
        if cli == "avifenc":
            cmd = ["avifenc", ph.ref, out]
        elif cli == "heif-enc":
            cmd = ["heif-enc", ph.ref, "-o", out]
        elif cli == "cjxl":
            cmd = ["cjxl", ph.ref, out]
        else:
            cmd = ["cwebp", "-quiet", ph.ref, "-o", out]
        t0 = time.time()
        _, cpu, _ = sh(cmd, cpu_file)
        wall = time.time() - t0
        mx, n3, note = ph.judge(out, codec, "c", oriented=False)
        emit(dict(mode="cli", set=cli, cpu_s=cpu, wall_s=wall, out_bytes=os.path.getsize(out),
                  ba_max=mx, ba_3norm=n3, note=note, kept=False))
        os.unlink(out)
    # lossless JPEG recompression
    if (ph.name, "lossless", "cjxl") not in done:
        out = os.path.join(ph.dir, "lossless.jxl")
        t0 = time.time()
        _, cpu, rc = sh(["cjxl", ph.orig, out], cpu_file, check=False)
        wall = time.time() - t0
        ok = rc == 0 and os.path.exists(out)
        emit(dict(mode="lossless", set="cjxl", cpu_s=cpu, wall_s=wall, kept=not ok,
                  out_bytes=os.path.getsize(out) if ok else ph.bytes, ba_max=0.0 if ok else None))
        if ok:
            os.unlink(out)


def cmd_run(work, tp, jobs, srcs):
    os.makedirs(work, exist_ok=True)
    rows_path = os.path.join(work, "rows.jsonl")
    done = set()
    if os.path.exists(rows_path):
        for r in load(rows_path):
            done.add((r["photo"], r.get("floor", r["mode"]), r["set"]))
    photos = [Photo(s, work) for s in srcs]
    with open(os.path.join(work, "photos.json"), "w") as f:
        json.dump([dict(name=p.name, src=p.src, kind=p.kind, w=p.w, h=p.h, bytes=p.bytes,
                        orientation=p.orientation) for p in photos], f)
    # biggest first, so the pool does not end on one long photo
    photos.sort(key=lambda p: -p.mp)
    t0 = time.time()
    with cf.ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = [ex.submit(run_photo, p, tp, done, rows_path) for p in photos]
        for f in futs:
            f.result()
    with open(os.path.join(work, "wall.txt"), "a") as f:
        f.write("%.0f\n" % (time.time() - t0))


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def quantile(v, q):
    v = sorted(v)
    if not v:
        return float("nan")
    x = q * (len(v) - 1)
    i = int(math.floor(x))
    return v[i] if i + 1 >= len(v) else v[i] + (v[i + 1] - v[i]) * (x - i)


def fmt_mp(v, nd=0):
    f = "%%.%df" % nd
    return (f + " (" + f + ")") % (quantile(v, 0.5), quantile(v, 0.9))


def cmd_report(work):
    rows = load(os.path.join(work, "rows.jsonl"))
    photos = json.load(open(os.path.join(work, "photos.json")))
    names = [p["name"] for p in photos]
    mp = {p["name"]: p["w"] * p["h"] / 1e6 for p in photos}
    out = []
    P = out.append

    def line(label, rs, search):
        n = len(rs)
        kept = sum(1 for r in rs if r["kept"])
        pct = [100.0 * r["out_bytes"] / r["orig_bytes"] for r in rs]
        # kept original = no change: counts as Butteraugli 0
        ba = [r["ba_max"] if r["ba_max"] is not None else 0.0 for r in rs]
        lt1 = sum(1 for b in ba if b < 1.0)
        lt2 = sum(1 for b in ba if b < 2.0)
        cpu = [r["cpu_s"] / mp[r["photo"]] for r in rs if r["cpu_s"] is not None]
        cols = [label, str(n), fmt_mp(pct), "%d%% (%d)" % (round(100.0 * lt1 / n), lt1),
                "%d%% (%d)" % (round(100.0 * lt2 / n), lt2), fmt_mp(ba, 2), fmt_mp(cpu, 1)]
        if search:
            cols += [fmt_mp([r["probes"] for r in rs]),
                     fmt_mp([r["encode_ms"] / 1000.0 / mp[r["photo"]] for r in rs], 1), str(kept)]
        else:
            cols += ["-", "-", str(kept)]
        P("| " + " | ".join(cols) + " |")

    P("| row | n | bytes % of original, median (p90) | BA max < 1.0 | BA max < 2.0 | BA max median (p90) "
      "| CPU s/MP median (p90) | probes median (p90) | encode wall s/MP median (p90) | kept original |")
    P("|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for label, s, t in FLOORS:
        for cs in SETS:
            rs = [r for r in rows if r["mode"] == "search" and r["floor"] == label and r["set"] == cs]
            if not rs:
                continue
            summary[(label, cs)] = rs
            name = "best of jxl,avif,heic" if "," in cs else cs
            line("**%s** (%s / %s): %s" % (label, s, t if t else "derived", name), rs, True)
        for e, v in EXPERIMENTS.items():
            rs = [r for r in rows if r["mode"] == "search" and r["floor"] == label and r["set"] == e]
            if rs:
                line("*experiment* %s (%s / %s): %s `%s`" % (label, s, t if t else "derived", v[0],
                                                               " ".join(v[1])), rs, True)
        # derived rows: per photo the smallest of measured rows (no new run)
        ll = {r["photo"]: r for r in rows if r["mode"] == "lossless" and not r["kept"]}
        for nm_, sets in (("best-of or lossless cjxl", [SETS[-1]]),
                          ("jxl/no-chroma, avif, heic or lossless cjxl",
                           ["jxl/no-chroma", "avif", "heic"])):
            rs = []
            for ph_ in names:
                c = [r for r in rows if r["mode"] == "search" and r["floor"] == label
                     and r["photo"] == ph_ and r["set"] in sets]
                if len(c) != len(sets):
                    break
                c += [ll[ph_]] if ph_ in ll else []
                pick = dict(min(c, key=lambda r: r["out_bytes"]))
                pick["cpu_s"] = sum(r["cpu_s"] for r in c)
                pick["probes"] = sum(r.get("probes") or 1 for r in c)
                pick["encode_ms"] = sum(r.get("encode_ms") or 0 for r in c)
                rs.append(pick)
            else:
                line("*derived* %s (%s / %s): per photo the smallest of %s" % (
                    label, s, t if t else "derived", nm_), rs, True)
    for cli in CLIS:
        rs = [r for r in rows if r["mode"] == "cli" and r["set"] == cli]
        if rs:
            line("fixed: `%s` default" % cli, rs, False)
    rs = [r for r in rows if r["mode"] == "lossless"]
    if rs:
        line("lossless: `cjxl` on the JPEG", rs, False)
    P("")
    P("Per photo, bytes % of the original (BA max) for each row:")
    P("")
    cols = [(l, cs) for l, _, _ in FLOORS for cs in SETS]
    P("| photo | MP | orig bytes | " + " | ".join(
        "%s %s" % ("VL" if l.startswith("vis") else l, "best" if "," in cs else cs) for l, cs in cols)
        + " | " + " | ".join(CLIS) + " | lossless |")
    P("|---|---|---|" + "---|" * (len(cols) + len(CLIS) + 1))
    for nm in names:
        cells = []
        pr = [r for r in rows if r["photo"] == nm]
        if not pr:
            continue
        for l, cs in cols + [("cli", c) for c in CLIS] + [("lossless", "cjxl")]:
            m = [r for r in pr if r.get("floor", r["mode"]) == l and r["set"] == cs]
            if not m:
                cells.append("")
                continue
            r = m[0]
            c = "%.0f" % (100.0 * r["out_bytes"] / r["orig_bytes"])
            if r["kept"]:
                c += " kept"
            elif r.get("ba_max") is not None and l != "lossless":
                c += " (%.2f)" % r["ba_max"]
            if r["mode"] == "search" and "," in cs and r["codec"]:
                c += " " + r["codec"][:4]
            cells.append(c)
        P("| %s | %.2f | %d | %s |" % (nm, mp[nm], pr[0]["orig_bytes"], " | ".join(cells)))
    for e in EXPERIMENTS:
        er = [r for r in rows if r["mode"] == "search" and r["set"] == e]
        if not er:
            continue
        P("")
        P("Experiment %s, per photo: bytes %% (BA max) against the same codec with the chroma floor:" % e)
        P("")
        fl = [l for l, _, _ in FLOORS if any(r["floor"] == l for r in er)]
        P("| photo | " + " | ".join("%s: %s / with chroma floor" % (l, e) for l in fl) + " |")
        P("|---|" + "---|" * len(fl))
        for nm in names:
            cells = []
            for l in fl:
                a = [r for r in er if r["photo"] == nm and r["floor"] == l]
                b = [r for r in rows if r["mode"] == "search" and r["photo"] == nm and r["floor"] == l
                     and r["set"] == EXPERIMENTS[e][0]]
                f = lambda r: ("%.0f kept" % (100.0 * r["out_bytes"] / r["orig_bytes"]) if r["kept"] else
                               "%.0f (%.2f)" % (100.0 * r["out_bytes"] / r["orig_bytes"], r["ba_max"]))
                cells.append("%s / %s" % (f(a[0]) if a else "", f(b[0]) if b else ""))
            P("| %s | %s |" % (nm, " | ".join(cells)))
    P("")
    # targets
    P("Targets:")
    P("")
    vl = [r for r in rows if r["mode"] == "search" and r["floor"] == FLOORS[0][0]]
    for cs in SETS:
        rs = [r for r in vl if r["set"] == cs]
        if not rs:
            continue
        ba = [r["ba_max"] if r["ba_max"] is not None else 0.0 for r in rs]
        share = 100.0 * sum(1 for b in ba if b < 1.0) / len(rs)
        med = quantile([100.0 * r["out_bytes"] / r["orig_bytes"] for r in rs], 0.5)
        ok = share >= 95 and med <= 70
        w = [r for r in rs if not r["kept"]]
        P("- visually lossless, %s: BA max < 1 on %.0f%% (target >= 95%%; %d of the %d written outputs, "
          "%d kept originals), median %.1f%% of bytes (target <= 70%%): **%s**" % (
              cs, share, sum(1 for r in w if r["ba_max"] < 1.0), len(w), len(rs) - len(w), med,
              "pass" if ok else "FAIL"))
    for label, _, _ in FLOORS:
        best = summary.get((label, SETS[-1]))
        if not best:
            continue
        bm = quantile([100.0 * r["out_bytes"] / r["orig_bytes"] for r in best], 0.5)
        cpu = lambda rs: quantile([r["cpu_s"] / mp[r["photo"]] for r in rs], 0.5)
        bc, btot = cpu(best), sum(r["cpu_s"] for r in best)
        singles = {cs: summary[(label, cs)] for cs in SETS[:-1] if (label, cs) in summary}
        sm = {cs: quantile([100.0 * r["out_bytes"] / r["orig_bytes"] for r in rs], 0.5)
              for cs, rs in singles.items()}
        sc = {cs: cpu(rs) for cs, rs in singles.items()}
        stot = {cs: sum(r["cpu_s"] for r in rs) for cs, rs in singles.items()}
        slow = max(sc, key=sc.get)
        beats = all(bm < v for v in sm.values())
        ties = all(bm <= v for v in sm.values())
        # per photo: best-of equals the smallest single?
        perph = 0
        for r in best:
            s = [x["out_bytes"] for cs, rs in singles.items() for x in rs if x["photo"] == r["photo"]]
            if s and r["out_bytes"] <= min(s):
                perph += 1
        P("- %s: best-of median %.1f%% vs %s: bytes **%s**; per photo the best-of is the smallest "
          "single on %d/%d.  CPU median %.1f s/MP vs the slowest single (%s) %.1f s/MP = %.2fx "
          "(totals: %.0f s vs %s): **%s**" % (
              label, bm, ", ".join("%s %.1f%%" % kv for kv in sm.items()),
              "pass" if beats else ("tie (not strictly smaller)" if ties else "FAIL"),
              perph, len(best), bc, slow, sc[slow], bc / sc[slow], btot,
              ", ".join("%s %.0f s" % kv for kv in stot.items()),
              "pass" if bc <= sc[slow] else "FAIL"))
    notes = sorted({"%s %s %s: %s" % (r["photo"], r.get("floor", r["mode"]), r["set"], r["note"])
                    for r in rows if r.get("note")})
    for n in notes:
        P("- judge note: " + n)
    print("\n".join(out))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "report":
        cmd_report(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "run":
        cmd_run(sys.argv[2], os.environ.get("TP", "./tierpress"), int(os.environ.get("JOBS", "2")),
                sys.argv[3:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
