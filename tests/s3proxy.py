#!/usr/bin/python3
"""s3proxy.py: the project's fault-injecting, recording HTTP proxy for S3
tests (python3 stdlib only).  It listens on 127.0.0.1, forwards every
request to the real server (--upstream) with its Host header unchanged (the
SigV4 signature covers it), and relays the answer.  Faults are chosen by
request number, so a test says exactly which requests fail:

  --fail-every N      every Nth request is answered --status (503: SlowDown,
  --fail-first N      500: InternalError) without reaching the server; the
                      first N requests likewise
  --reset-every N     every Nth request: the connection is reset (RST), no answer
  --reset-mid-every N every Nth GET: half the body is relayed, then a reset
  --stall-every N     every Nth request: no answer for --stall-seconds (default
  --stall-first N     60), then the connection is closed
  --methods M,M       faults count and hit only these methods (default all)
  --record FILE       one JSON line per request: method, path, query, headers
                      (Authorization left out)
  --fake-classes      Swift's s3api refuses any x-amz-storage-class but
                      STANDARD; this mode records the class, removes the header,
                      signs the request again (AWS_ACCESS_KEY_ID and
                      AWS_SECRET_ACCESS_KEY from the environment) and forwards
                      it; HEADs of that key then report the class it was given.

The port goes to --port-file once listening.  Stop it by its PID.
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
       "trailer", "upgrade", "expect"}


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.count = 0
        self.classes = {}  # path -> storage class given to it (fake mode)
        self.methods = set(args.methods.split(",")) if args.methods else None

    def next_number(self, method):
        """The request's number among those faults apply to (0: exempt)."""
        if self.methods is not None and method not in self.methods:
            return 0
        with self.lock:
            self.count += 1
            return self.count

    def record(self, entry):
        if not self.args.record:
            return
        with self.lock, open(self.args.record, "a") as f:
            f.write(json.dumps(entry) + "\n")


def hit(n, every, first=0):
    return n > 0 and ((every and n % every == 0) or n <= first)


def resign(method, path, headers, drop):
    """The Authorization header again, without the headers in drop."""
    auth = headers["authorization"]
    fields = dict(p.strip().split("=", 1) for p in auth.split(" ", 1)[1].split(","))
    cred = fields["Credential"].split("/")
    _, date, region, service = cred[0], cred[1], cred[2], cred[3]
    signed = [h for h in fields["SignedHeaders"].split(";") if h not in drop]
    url = urllib.parse.urlsplit(path)
    q = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    cq = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                  for k, v in sorted(q))
    ch = "".join("%s:%s\n" % (h, " ".join(headers.get(h, "").split())) for h in signed)
    creq = "\n".join([method, url.path, cq, ch, ";".join(signed), headers["x-amz-content-sha256"]])
    scope = "/".join([date, region, service, "aws4_request"])
    sts = "\n".join(["AWS4-HMAC-SHA256", headers["x-amz-date"], scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + os.environ["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    return "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s" % (
        fields["Credential"], ";".join(signed), sig)


def make_handler(state):
    args = state.args
    up = urllib.parse.urlsplit(args.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def fault(self, n, kind):
            sys.stderr.write("fault %d: %s %s %s\n" % (n, kind, self.command, self.path))
            sys.stderr.flush()

        def reset(self):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def answer(self, status, body, extra=None):
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def handle_any(self):
            method = self.command
            n = state.next_number(method)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            url = urllib.parse.urlsplit(self.path)
            state.record({"n": n, "method": method, "path": url.path, "query": url.query,
                          "headers": {k: v for k, v in headers.items() if k != "authorization"}})
            if hit(n, args.stall_every, args.stall_first):
                self.fault(n, "stall")
                time.sleep(args.stall_seconds)
                self.reset()
                return
            if hit(n, args.reset_every):
                self.fault(n, "reset")
                self.reset()
                return
            if hit(n, args.fail_every, args.fail_first):
                self.fault(n, "status %d" % args.status)
                code = {503: "SlowDown", 500: "InternalError"}.get(args.status, "ServiceUnavailable")
                xml = ("<?xml version='1.0' encoding='UTF-8'?><Error><Code>%s</Code>"
                       "<Message>injected by s3proxy (request %d)</Message></Error>" % (code, n))
                self.answer(args.status, xml.encode())
                return
            cls = headers.get("x-amz-storage-class")
            if args.fake_classes and cls and "authorization" in headers:
                headers.pop("x-amz-storage-class")
                headers["authorization"] = resign(method, self.path, headers, {"x-amz-storage-class"})
                if method == "PUT" and "uploads" not in url.query and "partNumber" not in url.query:
                    with state.lock:
                        state.classes[url.path] = cls
            fwd = {k: v for k, v in headers.items() if k not in HOP}
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
            try:
                conn.putrequest(method, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in fwd.items():
                    conn.putheader(k, v)
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                data = resp.read()
            except OSError:
                self.reset()
                return
            finally:
                conn.close()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length" and \
                   not (args.fake_classes and k.lower() == "x-amz-storage-class"):
                    self.send_header(k, v)
            with state.lock:
                faked = state.classes.get(url.path)
            if args.fake_classes and method in ("HEAD", "GET") and resp.status < 300:
                self.send_header("x-amz-storage-class", faked or "STANDARD")
            if method == "HEAD":
                self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
                self.end_headers()
                return
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if method == "GET" and len(data) > 1 and hit(n, args.reset_mid_every):
                self.fault(n, "reset mid-body")
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.reset()
                return
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--status", type=int, default=503)
    for k in ("fail-every", "fail-first", "reset-every", "reset-mid-every", "stall-every", "stall-first"):
        p.add_argument("--" + k, type=int, default=0)
    p.add_argument("--stall-seconds", type=float, default=60)
    p.add_argument("--methods", default="")
    p.add_argument("--record", default="")
    p.add_argument("--fake-classes", action="store_true")
    args = p.parse_args()
    args.stall_seconds = min(args.stall_seconds, 600)  # bounded
    state = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
