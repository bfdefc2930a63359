#!/usr/bin/python3
"""Load client for bench/serve.sh: a bounded pool of HTTP/1.1 clients
(http.client, one connection per worker) POSTing uploads to a running
`tierpress serve`.  Each upload is the given JPEG plus a unique trailer
after its EOI marker, so every one is new content (a real decode, proxies
and a new original blob), not a dedup hit.

  serve.py URL TOKEN JPEG CONCURRENCY N [--hostile DIR --every 20] [--pid PID]

Prints one JSON line: uploads, errors (non-2xx of good uploads), seconds,
uploads_s, p50_ms, p99_ms, hostile (count, statuses), rss_kb (VmRSS after),
hwm_kb (VmHWM)."""
import http.client, json, os, sys, threading, time, urllib.parse

def rss(pid):
    out = {}
    try:
        for line in open("/proc/%s/status" % pid):
            k, v = line.split(":", 1)
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    except OSError:
        pass
    return out

def main():
    a = sys.argv[1:]
    url, token, jpeg, conc, n = a[0], a[1], a[2], int(a[3]), int(a[4])
    hostile_dir = a[a.index("--hostile") + 1] if "--hostile" in a else None
    every = int(a[a.index("--every") + 1]) if "--every" in a else 20
    pid = a[a.index("--pid") + 1] if "--pid" in a else None
    salt = a[a.index("--salt") + 1] if "--salt" in a else str(time.time())
    body = open(jpeg, "rb").read()
    hostile = []
    if hostile_dir:
        hostile = [open(os.path.join(hostile_dir, f), "rb").read() for f in sorted(os.listdir(hostile_dir))
                   if not f.endswith(".md")]
    u = urllib.parse.urlparse(url)
    lock = threading.Lock()
    state = {"next": 0}
    lat, errors, hstat = [], [], {}

    def worker():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
        while True:
            with lock:
                i = state["next"]
                if i >= n:
                    break
                state["next"] += 1
            bad = hostile and i % every == every - 1
            data = hostile[(i // every) % len(hostile)] if bad else body + ("tp-bench %s %d" % (salt, i)).encode()
            t0 = time.perf_counter()
            try:
                c.request("POST", "/v1/assets", body=data,
                          headers={"Authorization": "Bearer " + token, "Content-Type": "image/jpeg"})
                r = c.getresponse()
                r.read()
                st = r.status
            except Exception as e:  # a dropped connection counts as an error
                st = 0
                c.close()
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
            dt = time.perf_counter() - t0
            with lock:
                if bad:
                    hstat[st] = hstat.get(st, 0) + 1
                else:
                    lat.append(dt)
                    if st not in (200, 201):
                        errors.append(st)
        c.close()

    t0 = time.perf_counter()
    th = [threading.Thread(target=worker) for _ in range(conc)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    secs = time.perf_counter() - t0
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0
    out = {"concurrency": conc, "uploads": len(lat), "errors": len(errors), "seconds": round(secs, 2),
           "uploads_s": round(len(lat) / secs, 2), "p50_ms": round(pct(0.50)), "p99_ms": round(pct(0.99)),
           "hostile": sum(hstat.values()), "hostile_status": hstat,
           "error_status": {str(k): errors.count(k) for k in sorted(set(errors))}}
    if pid:
        m = rss(pid)
        out["rss_kb"], out["hwm_kb"] = m.get("VmRSS"), m.get("VmHWM")
    print(json.dumps(out))

main()
