#!/usr/bin/env python3
"""webhook_receiver.py: a webhook receiver for the globalsync http target tests.

Python 3 standard library only.  It listens on 127.0.0.1 (plain HTTP, or
HTTPS with --cert/--key), verifies the Standard Webhooks signature of every
request on its own (independently of the extension), records every request
as one JSON line in a log file, and answers according to a mode that a test
can change while it runs.

Usage:
  webhook_receiver.py --log FILE [--port N | --port 0 --port-file FILE]
                      [--secret whsec_...] [--cert PEM --key PEM]
                      [--control-file FILE] [--mode MODE] [--max-lifetime S]

Modes (the answer to a request):
  ok         200
  fail500    500
  fail429    429 with Retry-After: <retry_after> (seconds, default 1)
  gone410    410
  bad400     400 with a body explaining why
  bad400_if  400 (with a body) for a request whose body, decoded, contains
             <marker>; 200 otherwise
  hang       wait <hang_seconds> (default 30) before answering 200: longer
             than the client's timeout (the wait ends early on SIGTERM)
  close      read the request, then close the connection without answering
  slow       answer 200 after <slow_ms> milliseconds (default 500)

Settings (mode, retry_after, marker, hang_seconds, slow_ms, count, then) can
be set for every path (the defaults) or for one request path ("paths":
{"/x": {...}}, or "path": "/x" in a control request).  With "count": N the
mode answers the next N requests (of that path), after which the mode
becomes "then" (default "ok").

Changing the settings at run time:
  POST /__control  with a JSON object, e.g. {"mode": "fail500"} or
                   {"path": "/a", "mode": "fail429", "retry_after": 2,
                    "count": 1, "then": "ok"}; {"reset": true} first drops
                   every setting of a path (or, without path, all settings).
                   The answer is the whole configuration as JSON.  The new
                   settings apply to every request that arrives after the
                   answer.
  GET /__control   the configuration, and the number of requests per path.
  --control-file F a JSON object, read again whenever the file changes (write
                   it to a temporary name and rename it): {"mode": ...,
                   "paths": {"/a": {...}}, ...}; it replaces the settings.
Control requests are not recorded and not signature-checked.

The log (--log): one JSON object per line, written and flushed before the
answer is sent:
  {"kind": "request", "seq", "time" (unix seconds, float, when the request
   was read), "method", "path", "headers" {lower-case name: value},
   "body" (text; gunzipped when Content-Encoding is gzip), "raw_len",
   "gzip" (bool), "raw_b64" (the body as received, base64, when gzipped),
   "gunzip_error", "webhook_id", "webhook_timestamp",
   "signature_present", "signature_ok" (bool; false without a signature
   header when a secret is set; null when no secret is configured),
   "timestamp_skew" (seconds between webhook-timestamp and "time"),
   "mode", "status" (the status answered: an integer; "hang" when the
   answer was held back past the client's timeout; "closed" when the
   connection was closed without an answer), "delay_ms"}
  {"kind": "tls_error", "time", "error"}  a TLS handshake that failed
  {"kind": "start", "port", "tls"} and {"kind": "stop"}.

It exits 0 on SIGTERM or SIGINT, when its parent process goes away, and
after --max-lifetime seconds (default 900): it never lingers.  Every socket
has a timeout, so no request thread blocks forever.
"""

import argparse
import base64
import gzip
import hashlib
import hmac
import json
import os
import ssl
import sys
import time

import standin

MODES = ("ok", "fail500", "fail429", "gone410", "bad400", "bad400_if",
         "hang", "close", "slow")
SETTING_KEYS = ("mode", "retry_after", "marker", "hang_seconds", "slow_ms",
                "count", "then")
DEFAULTS = {"mode": "ok", "retry_after": 1, "marker": "POISON",
            "hang_seconds": 30, "slow_ms": 500, "count": None, "then": "ok"}


def signing_key(secret):
    """The HMAC key of a Standard Webhooks secret: base64-decoded, after an
    optional whsec_ prefix."""
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    return base64.b64decode(secret)


def sign(key, msg_id, ts, body):
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


class State(standin.Modes):
    """Settings (standin.Modes, per request path), requests per path and the
    log."""

    def __init__(self, args):
        super().__init__(MODES, DEFAULTS, SETTING_KEYS)
        self.key = signing_key(args.secret) if args.secret else None
        if args.mode:
            self.defaults["mode"] = args.mode
        self.counts = {}
        self.log = standin.JsonLog(args.log)
        self.control_file = args.control_file
        self.control_sig = None

    def _config(self):
        return {"defaults": self.defaults, "paths": self.paths,
                "requests": self.counts}

    def _reload_control_file(self):
        if not self.control_file:
            return
        try:
            st = os.stat(self.control_file)
        except OSError:
            return
        sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        if sig == self.control_sig:
            return
        try:
            with open(self.control_file, encoding="utf-8") as f:
                data = json.load(f)
            defaults = dict(DEFAULTS)
            defaults.update(self.clean(data))
            paths = {p: self.clean(v) for p, v in (data.get("paths") or {}).items()}
        except (OSError, ValueError) as e:
            sys.stderr.write(f"webhook_receiver: bad control file: {e}\n")
            return
        self.control_sig = sig
        self.defaults = defaults
        self.paths = paths

    def decide(self, path):
        """The settings that answer one request of path (consumes a count)."""
        with self.lock:
            self._reload_control_file()
            self.counts[path] = self.counts.get(path, 0) + 1
            return self._take(path)


class Handler(standin.Handler):
    server_version = "gs-webhook-receiver/1"

    def setup(self):
        super().setup()
        conn = self.connection
        if isinstance(conn, ssl.SSLSocket):
            try:
                conn.do_handshake()
            except (ssl.SSLError, OSError) as e:
                self.server.state.log.write({"kind": "tls_error", "time": time.time(),
                                             "error": str(e)})
                raise

    # ---- control -------------------------------------------------------
    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        return self.read_body()

    def _read_chunked(self):
        out = bytearray()
        while True:
            line = self.rfile.readline(65537)
            if not line:
                break
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # trailers up to the empty line
                while True:
                    t = self.rfile.readline(65537)
                    if t in (b"\r\n", b"\n", b""):
                        break
                break
            out += self.rfile.read(size)
            self.rfile.readline(65537)
        return bytes(out)

    def do_GET(self):
        if self.path.split("?")[0] == "/__control":
            self.answer_json(200, self.server.state.config())
        else:
            self._handle("GET")

    def do_POST(self):
        if self.path.split("?")[0] == "/__control":
            self.answer_control(self.server.state, self._read_body())
            return
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    # ---- webhook requests ---------------------------------------------
    def _handle(self, method):
        st = self.server.state
        t0 = time.time()
        raw = self._read_body()
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = v if k not in headers else headers[k] + ", " + v
        is_gzip = headers.get("content-encoding", "").lower() == "gzip"
        body = raw
        gunzip_error = None
        if is_gzip:
            try:
                body = gzip.decompress(raw)
            except (OSError, EOFError, ValueError) as e:
                gunzip_error = str(e)
        text = body.decode("utf-8", errors="replace")

        msg_id = headers.get("webhook-id")
        ts = headers.get("webhook-timestamp")
        sig_header = headers.get("webhook-signature")
        signature_ok = None
        if st.key is not None:
            signature_ok = False
            if msg_id is not None and ts is not None and sig_header:
                expected = sign(st.key, msg_id, ts, raw)
                # a header may carry several space-separated signatures
                signature_ok = any(hmac.compare_digest(s, expected)
                                   for s in sig_header.split())
        skew = None
        try:
            skew = t0 - int(ts) if ts is not None else None
        except ValueError:
            skew = None

        path = self.path.split("?")[0]
        eff, seq = st.decide(path)
        mode = eff["mode"]
        status = 200
        delay_ms = 0
        extra_headers = []
        resp_body = b"ok\n"
        if mode == "fail500":
            status, resp_body = 500, b"internal error (test receiver, mode fail500)\n"
        elif mode == "fail429":
            status, resp_body = 429, b"too many requests (test receiver)\n"
            extra_headers.append(("Retry-After", str(int(eff["retry_after"]))))
        elif mode == "gone410":
            status, resp_body = 410, b"gone: this webhook was removed (test receiver)\n"
        elif mode == "bad400":
            status, resp_body = 400, b"rejected: the test receiver refuses every request (mode bad400)\n"
        elif mode == "bad400_if":
            if eff["marker"] and eff["marker"] in text:
                status = 400
                resp_body = (f"rejected: an event contains the marker {eff['marker']} "
                             f"(test receiver)\n").encode()
        elif mode == "hang":
            status = "hang"
            delay_ms = int(float(eff["hang_seconds"]) * 1000)
        elif mode == "close":
            status = "closed"
        elif mode == "slow":
            delay_ms = int(eff["slow_ms"])

        st.log.write({
            "kind": "request", "seq": seq, "time": t0, "method": method,
            "path": path, "headers": headers, "body": text, "raw_len": len(raw),
            "gzip": is_gzip, "gunzip_error": gunzip_error,
            "raw_b64": base64.b64encode(raw).decode() if is_gzip else None,
            "webhook_id": msg_id, "webhook_timestamp": ts,
            "signature_present": sig_header is not None,
            "signature_ok": signature_ok, "timestamp_skew": skew,
            "mode": mode, "status": status, "delay_ms": delay_ms,
        })

        if mode == "close":
            standin.reset_connection(self)
            return
        if delay_ms and not self.pause(delay_ms / 1000.0):
            return
        if status == "hang":
            status = 200
        self.answer(status, resp_body, "text/plain", extra_headers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    standin.add_server_args(ap)
    ap.add_argument("--secret")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--control-file")
    ap.add_argument("--mode", choices=MODES)
    args = ap.parse_args()

    return standin.serve(args, Handler, State(args), cert=args.cert, key=args.key)


if __name__ == "__main__":
    sys.exit(main())
