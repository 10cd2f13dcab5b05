#!/usr/bin/env python3
"""bench/deliver/watch.py: watches what a delivery benchmark run produces.

Run by bench/deliver/run.sh; not meant to be used on its own.

Two modes:

  dir   a file target's folder.  Every --interval seconds it lists the
        folder; each new <batch_id>.ndjson file (the target writes
        .<batch_id>.tmp and renames it, so a listed .ndjson file is
        complete) is read once and the time it was first seen is recorded.
        It stops when it has seen --expect event lines (or the number in
        --expect-file, once that file exists), or at --timeout.
        --latency OUT: for every event line, first-seen time minus the
        event's captured_at (and the file's mtime minus captured_at) go
        into the summary as percentiles, and every sample into OUT.
        --verify LO HI: afterwards (not timed) every line is parsed and
        its primary key "id" checked against the range LO..HI: missing,
        duplicate and out-of-range ids are counted.

  tail  a file another program appends to (pg_recvlogical -f).  It counts
        the occurrences of --pattern in the bytes appended and stops when
        the count reaches --expect, or at --timeout.

Both modes write --ready once they are watching, --done when the expected
count is reached (its content: the time, seconds since the epoch), and at
the end a summary of "key value" lines to --summary.
"""

import argparse
import json
import os
import re
import sys
import time


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


TS_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$"
)


def parse_ts(s):
    """ISO 8601 timestamp (as PostgreSQL or jsonb writes it) -> seconds since
    the epoch.  No offset: taken as UTC."""
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
    # nearest rank
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


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


def watch_dir(args, out):
    seen = {}  # name -> (first_seen, lines, mtime)
    order = []
    lines = 0
    lat_seen = []
    lat_mtime = []
    bad_ts = 0
    first_at = last_at = done_at = None
    deadline = time.time() + args.timeout
    write_atomic(args.ready, "%.6f\n" % time.time())
    timed_out = 0
    while True:
        now = time.time()
        try:
            entries = list(os.scandir(args.dir))
        except FileNotFoundError:
            entries = []
        for e in entries:
            name = e.name
            if name in seen or not name.endswith(".ndjson") or name.startswith("."):
                continue
            t = time.time()
            try:
                with open(e.path, "rb") as f:
                    data = f.read()
                st = os.stat(e.path)
            except FileNotFoundError:
                continue
            if data and not data.endswith(b"\n"):
                # not complete yet (should not happen: the target renames
                # finished files); look again next time
                continue
            n = data.count(b"\n")
            seen[name] = (t, n, st.st_mtime)
            order.append(name)
            lines += n
            if first_at is None:
                first_at = t
            last_at = t
            if args.latency:
                for ln in data.splitlines():
                    if not ln.strip():
                        continue
                    try:
                        ev = json.loads(ln)
                        c = parse_ts(ev.get("captured_at") or "")
                    except (ValueError, AttributeError):
                        c = None
                    if c is None:
                        bad_ts += 1
                        continue
                    lat_seen.append(t - c)
                    lat_mtime.append(st.st_mtime - c)
        expect = read_expect(args)
        if expect > 0 and lines >= expect and done_at is None:
            done_at = last_at if last_at is not None else time.time()
            write_atomic(args.done, "%.6f\n" % done_at)
            break
        if now > deadline:
            timed_out = 1
            break
        time.sleep(args.interval)

    out.append(("files", len(seen)))
    out.append(("lines", lines))
    out.append(("timed_out", timed_out))
    out.append(("first_at", "%.6f" % first_at if first_at else "-"))
    out.append(("last_at", "%.6f" % last_at if last_at else "-"))
    out.append(("done_at", "%.6f" % done_at if done_at else "-"))
    if args.latency:
        out.append(("bad_timestamps", bad_ts))
        s = sorted(lat_seen)
        m = sorted(lat_mtime)
        out.append(("lat_samples", len(s)))
        for p in (50, 90, 99, 99.9):
            v = percentile(s, p)
            out.append(("lat_p%s_ms" % str(p).replace(".", "_"), "%.1f" % (v * 1000) if v is not None else "-"))
        out.append(("lat_max_ms", "%.1f" % (s[-1] * 1000) if s else "-"))
        out.append(("lat_min_ms", "%.1f" % (s[0] * 1000) if s else "-"))
        for p in (50, 99):
            v = percentile(m, p)
            out.append(("mtime_p%s_ms" % p, "%.1f" % (v * 1000) if v is not None else "-"))
        if args.latency != "-":
            with open(args.latency, "w") as f:
                for a, b in zip(lat_seen, lat_mtime):
                    f.write("%.6f %.6f\n" % (a, b))
    if args.verify:
        verify(args, order, out)


def verify(args, names, out):
    lo, hi = args.verify
    span = hi - lo + 1
    hits = bytearray(span)
    dup = outside = nokey = parsed = 0
    ops = {}
    tables = set()
    event_ids = set()
    dup_event = 0
    for name in names:
        try:
            with open(os.path.join(args.dir, name), "rb") as f:
                data = f.read()
        except OSError:
            continue
        for ln in data.splitlines():
            if not ln.strip():
                continue
            try:
                ev = json.loads(ln)
            except ValueError:
                nokey += 1
                continue
            parsed += 1
            ops[ev.get("op")] = ops.get(ev.get("op"), 0) + 1
            tables.add(str(ev.get("table")))
            eid = ev.get("event_id")
            if eid is not None:
                if eid in event_ids:
                    dup_event += 1
                else:
                    event_ids.add(eid)
            pk = ev.get("pk") or {}
            rid = pk.get("id") if isinstance(pk, dict) else None
            if rid is None and isinstance(ev.get("row"), dict):
                rid = ev["row"].get("id")
            try:
                rid = int(rid)
            except (TypeError, ValueError):
                nokey += 1
                continue
            if rid < lo or rid > hi:
                outside += 1
                continue
            if hits[rid - lo]:
                dup += 1
            else:
                hits[rid - lo] = 1
    missing = span - sum(hits)
    out.append(("verify_parsed", parsed))
    out.append(("verify_missing", missing))
    out.append(("verify_duplicate", dup))
    out.append(("verify_duplicate_event_id", dup_event))
    out.append(("verify_outside", outside))
    out.append(("verify_unreadable", nokey))
    out.append(("verify_ops", ",".join("%s:%d" % (k, v) for k, v in sorted(ops.items(), key=lambda x: str(x[0])))))
    out.append(("verify_tables", ",".join(sorted(tables))))


def watch_tail(args, out):
    pat = args.pattern.encode()
    keep = len(pat) - 1
    count = 0
    pos = 0
    carry = b""
    first_at = done_at = None
    deadline = time.time() + args.timeout
    write_atomic(args.ready, "%.6f\n" % time.time())
    timed_out = 0
    f = None
    while True:
        now = time.time()
        if f is None and os.path.exists(args.file):
            f = open(args.file, "rb")
        if f is not None:
            f.seek(pos)
            chunk = f.read()
            if chunk:
                t = time.time()
                if first_at is None:
                    first_at = t
                pos += len(chunk)
                buf = carry + chunk
                count += buf.count(pat)
                # a match may straddle two reads: keep the tail that cannot
                # hold a whole match, so nothing is counted twice
                carry = buf[-keep:] if keep > 0 else b""
                if count >= args.expect and done_at is None:
                    done_at = t
                    write_atomic(args.done, "%.6f\n" % done_at)
                    break
        if now > deadline:
            timed_out = 1
            break
        time.sleep(args.interval)
    if f is not None:
        f.close()
    out.append(("lines", count))
    out.append(("bytes", pos))
    out.append(("timed_out", timed_out))
    out.append(("first_at", "%.6f" % first_at if first_at else "-"))
    out.append(("done_at", "%.6f" % done_at if done_at else "-"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["dir", "tail"])
    ap.add_argument("--dir")
    ap.add_argument("--file")
    ap.add_argument("--pattern", default='"action":"I"')
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--expect-file")
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--latency")
    ap.add_argument("--verify", type=int, nargs=2, metavar=("LO", "HI"))
    ap.add_argument("--ready", required=True)
    ap.add_argument("--done", required=True)
    ap.add_argument("--summary", required=True)
    args = ap.parse_args()
    out = []
    if args.mode == "dir":
        if not args.dir:
            ap.error("dir mode needs --dir")
        watch_dir(args, out)
    else:
        if not args.file or args.expect < 1:
            ap.error("tail mode needs --file and --expect")
        watch_tail(args, out)
    write_atomic(args.summary, "".join("%s %s\n" % (k, v) for k, v in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
