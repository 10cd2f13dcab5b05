#!/usr/bin/env python3
"""bench/deliver/sink.py: a loopback webhook receiver for the http phases of
bench/deliver/run.sh; not meant to be used on its own.

It listens on 127.0.0.1 (port 0: the kernel picks one, written to --ready),
HTTP/1.1 with keep-alive, and answers every POST with 200 and an empty body
as soon as the body is read.  It verifies nothing (no signature, no JSON
validation); per request it records the receive time (when the whole body
has been read, just before the 200 goes out: the acknowledgement), the
webhook-id, the number of events (ndjson: lines; json: len(events), or with
--count regex the number of "event_id" keys) and the events' primary-key
ids and event ids (found with a regular expression, not parsed), and with
--latency the captured_at of every event.

It writes --ready (its port) once it listens and --done (the receive time
of the request that completed the count) when it has received --expect
events (or the number in --expect-file, once that file exists).  It keeps
answering until SIGTERM or SIGINT (or --timeout), then writes a summary of
"key value" lines to --summary: counts, the ids checked against --verify LO
HI (missing, duplicate, outside), resent batches (a webhook-id seen twice),
latency percentiles (receive time minus captured_at), its own CPU time, and
with --log FILE one line per request ("t_start t_recv events bytes
webhook-id first_event_id last_event_id"), and the time from one
request's receive time to the start of the next (gap), which with the time
to read a body shows where the sender spends its time per request.
"""

import argparse
import gzip
import json
import os
import re
import resource
import signal
import socket
import sys
import threading
import time
import zlib
from array import array
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PK_RE = re.compile(rb'"pk": ?\{"id": ?"?(\d+)')
EID_RE = re.compile(rb'"event_id": ?"?(\d+)')
CAP_RE = re.compile(rb'"captured_at": ?"([^"]+)"')
TS_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$"
)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def parse_ts(s):
    """ISO 8601 timestamp -> seconds since the epoch (no offset: UTC)."""
    import calendar

    m = TS_RE.match(s.strip())
    if not m:
        return None
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    frac = float(m.group(7)) if m.group(7) else 0.0
    t = calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0)) + frac
    off = m.group(8)
    if off and off != "Z":
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        oh = int(digits[:2])
        om = int(digits[2:4]) if len(digits) >= 4 else 0
        t -= sign * (oh * 3600 + om * 60)
    return t


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.events = 0          # counted per request (lines / len(events))
        self.bytes = 0
        self.requests = 0
        self.other_requests = 0  # not POST, or unreadable
        self.pk_ids = array("q")
        self.event_ids = array("q")
        self.reqlog = []         # (t_start, t_recv, n, bytes, webhook_id, first_eid, last_eid)
        self.webhook_ids = {}
        self.resent = 0
        self.lat = []
        self.bad_ts = 0
        self.first_at = None
        self.last_at = None
        self.done_at = None
        self.formats = {}
        self.encodings = {}
        self.connections = 0
        self.stop = threading.Event()


def read_expect(args):
    if args.expect > 0:
        return args.expect
    if args.expect_file and os.path.exists(args.expect_file):
        try:
            with open(args.expect_file) as f:
                return int(f.read().strip() or "0")
        except (OSError, ValueError):
            return 0
    return 0


def make_handler(st):
    args = st.args

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "gs-bench-sink"
        sys_version = ""

        def setup(self):
            super().setup()
            try:
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            with st.lock:
                st.connections += 1

        def log_message(self, fmt, *a):  # quiet
            pass

        def _answer(self, code):
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _read_body(self):
            te = (self.headers.get("Transfer-Encoding") or "").lower()
            if "chunked" in te:
                parts = []
                while True:
                    line = self.rfile.readline(65537)
                    size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        # trailers up to the empty line
                        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    parts.append(self.rfile.read(size))
                    self.rfile.readline(65537)
                return b"".join(parts)
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n > 0 else b""

        def do_GET(self):
            with st.lock:
                st.other_requests += 1
            self._answer(200)

        def do_POST(self):
            t_start = time.time()
            try:
                body = self._read_body()
            except (ValueError, OSError):
                with st.lock:
                    st.other_requests += 1
                self.close_connection = True
                return
            t_recv = time.time()
            nbytes = len(body)
            enc = (self.headers.get("Content-Encoding") or "").lower()
            if enc == "gzip":
                body = gzip.decompress(body)
            elif enc == "deflate":
                body = zlib.decompress(body)
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            stripped = body.lstrip()
            if stripped.startswith(b"{") and ctype != "application/x-ndjson" and b'"events"' in body[:400]:
                fmt = "json"
                if args.count == "parse":
                    try:
                        n = len(json.loads(body).get("events") or [])
                    except (ValueError, AttributeError):
                        n = 0
                else:
                    n = None
            else:
                fmt = "ndjson"
                n = body.count(b"\n")
                if body and not body.endswith(b"\n"):
                    n += 1
            pks = PK_RE.findall(body)
            eids = EID_RE.findall(body)
            if n is None:
                n = len(eids)
            caps = CAP_RE.findall(body) if args.latency else None
            wid = self.headers.get("webhook-id") or "-"
            # the acknowledgement
            self._answer(200)
            with st.lock:
                st.requests += 1
                st.events += n
                st.bytes += nbytes
                st.formats[fmt] = st.formats.get(fmt, 0) + 1
                st.encodings[enc or "identity"] = st.encodings.get(enc or "identity", 0) + 1
                st.pk_ids.extend(map(int, pks))
                st.event_ids.extend(map(int, eids))
                if wid == "-":
                    pass
                elif wid in st.webhook_ids:
                    st.resent += 1
                    st.webhook_ids[wid] += 1
                else:
                    st.webhook_ids[wid] = 1
                st.reqlog.append((t_start, t_recv, n, nbytes, wid,
                                  int(eids[0]) if eids else -1, int(eids[-1]) if eids else -1))
                if st.first_at is None:
                    st.first_at = t_recv
                st.last_at = t_recv
                if caps is not None:
                    for c in caps:
                        ts = parse_ts(c.decode("ascii", "replace"))
                        if ts is None:
                            st.bad_ts += 1
                        else:
                            st.lat.append(t_recv - ts)
                if st.done_at is None:
                    expect = read_expect(args)
                    if expect > 0 and st.events >= expect:
                        st.done_at = t_recv
                        write_atomic(args.done, "%.6f\n" % t_recv)

    return Handler


def summarize(st, out):
    args = st.args
    out.append(("requests", st.requests))
    out.append(("other_requests", st.other_requests))
    out.append(("connections", st.connections))
    out.append(("lines", st.events))
    out.append(("bytes", st.bytes))
    out.append(("pk_ids", len(st.pk_ids)))
    out.append(("event_ids", len(st.event_ids)))
    out.append(("resent_requests", st.resent))
    out.append(("formats", ",".join("%s:%d" % kv for kv in sorted(st.formats.items())) or "-"))
    out.append(("encodings", ",".join("%s:%d" % kv for kv in sorted(st.encodings.items())) or "-"))
    out.append(("first_at", "%.6f" % st.first_at if st.first_at else "-"))
    out.append(("last_at", "%.6f" % st.last_at if st.last_at else "-"))
    out.append(("done_at", "%.6f" % st.done_at if st.done_at else "-"))
    sizes = sorted(r[2] for r in st.reqlog)
    out.append(("events_per_request_p50", percentile(sizes, 50) if sizes else "-"))
    out.append(("events_per_request_max", sizes[-1] if sizes else "-"))
    rd = sorted(r[1] - r[0] for r in st.reqlog)
    for p in (50, 99):
        v = percentile(rd, p)
        out.append(("read_p%d_ms" % p, "%.2f" % (v * 1000) if v is not None else "-"))
    # between the receive time of one request and the start of the next on
    # the same connection (there is one): the sender's time per batch
    # outside the transfer
    gaps = sorted(st.reqlog[i][0] - st.reqlog[i - 1][1] for i in range(1, len(st.reqlog)))
    for p in (50, 99):
        v = percentile(gaps, p)
        out.append(("gap_p%d_ms" % p, "%.2f" % (v * 1000) if v is not None else "-"))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out.append(("cpu_s", "%.2f" % (ru.ru_utime + ru.ru_stime)))
    if args.latency:
        out.append(("bad_timestamps", st.bad_ts))
        s = sorted(st.lat)
        out.append(("lat_samples", len(s)))
        for p in (50, 90, 99, 99.9):
            v = percentile(s, p)
            out.append(("lat_p%s_ms" % str(p).replace(".", "_"), "%.1f" % (v * 1000) if v is not None else "-"))
        out.append(("lat_max_ms", "%.1f" % (s[-1] * 1000) if s else "-"))
        out.append(("lat_min_ms", "%.1f" % (s[0] * 1000) if s else "-"))
        if args.latency != "-":
            with open(args.latency, "w") as f:
                for v in st.lat:
                    f.write("%.6f\n" % v)
    # event ids: each at most once (a resent batch repeats its ids)
    eids = sorted(st.event_ids)
    dup_e = sum(1 for i in range(1, len(eids)) if eids[i] == eids[i - 1])
    out.append(("verify_duplicate_event_id", dup_e))
    if args.verify:
        lo, hi = args.verify
        span = hi - lo + 1
        hits = bytearray(span)
        dup = outside = 0
        for rid in st.pk_ids:
            if rid < lo or rid > hi:
                outside += 1
            elif hits[rid - lo]:
                dup += 1
            else:
                hits[rid - lo] = 1
        out.append(("verify_missing", span - sum(hits)))
        out.append(("verify_duplicate", dup))
        out.append(("verify_outside", outside))
    if args.log:
        with open(args.log, "w") as f:
            for r in st.reqlog:
                f.write("%.6f %.6f %d %d %s %d %d\n" % r)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--expect-file")
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("--count", choices=["parse", "regex"], default="parse",
                    help="json bodies: len(events) by json.loads (default) or by counting event_id keys")
    ap.add_argument("--latency")
    ap.add_argument("--verify", type=int, nargs=2, metavar=("LO", "HI"))
    ap.add_argument("--log")
    ap.add_argument("--ready", required=True)
    ap.add_argument("--done", required=True)
    ap.add_argument("--summary", required=True)
    args = ap.parse_args()

    st = State(args)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 64
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(st))
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    th.start()

    def on_signal(signum, frame):
        st.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    write_atomic(args.ready, "%d\n" % srv.server_address[1])
    timed_out = 0
    deadline = time.time() + args.timeout
    while not st.stop.wait(0.05):
        # the count may be known only after the last request (--expect-file)
        with st.lock:
            if st.done_at is None and st.last_at is not None:
                expect = read_expect(args)
                if expect > 0 and st.events >= expect:
                    st.done_at = st.last_at
                    write_atomic(args.done, "%.6f\n" % st.last_at)
        if time.time() > deadline:
            timed_out = 1
            break
    srv.shutdown()
    srv.server_close()
    out = [("timed_out", timed_out)]
    with st.lock:
        summarize(st, out)
    write_atomic(args.summary, "".join("%s %s\n" % (k, v) for k, v in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
