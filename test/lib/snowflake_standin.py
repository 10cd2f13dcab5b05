#!/usr/bin/python3
"""snowflake_standin.py: a stand-in for the Snowflake SQL API v2, for the
globalsync snowflake target tests.

Debian's python3 with python3-jwt and python3-cryptography.  It listens on
127.0.0.1, checks every request on its own (independently of the extension)
and carries out the effect of the MERGE statements the driver sends on a
table it keeps in memory, so that a test can see which rows landed.

Usage:
  snowflake_standin.py --log FILE --public-key PEM --account A --user U
                       --table T [--database D] [--schema S]
                       [--warehouse W] [--role R]
                       [--port N | --port 0 --port-file FILE]
                       [--max-lifetime S]

What it checks (a failed check is a "problem" in the log, and the request
is refused as Snowflake would refuse it):
  - the JWT (Authorization: Bearer): RS256 signature with the public key;
    iss = ACCOUNT.USER.SHA256:<base64 SHA-256 of the DER public key, which
    it computes itself>, sub = ACCOUNT.USER (account upper-cased, only the
    part before its first dot; user upper-cased); iat, exp present,
    0 < exp - iat <= 3600, not expired, not issued in the future -> 401
    with code 390144 otherwise;
  - the headers: X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT,
    Accept and (POST) Content-Type application/json, a User-Agent
    globalsync/..., no Expect header -> 400 otherwise;
  - POST /api/v2/statements: requestId a version-4 UUID; the body a JSON
    object with statement, bindings, timeout and exactly the database,
    schema, warehouse and role it was started with; the statement a MERGE
    INTO <table> ... FROM VALUES (?, ...), ... WHEN NOT MATCHED THEN INSERT
    of the shape the driver documents; as many bindings ("1".."N") as
    placeholders; types TEXT or FIXED (digits), values strings or null
    -> 400 otherwise, and 422 002003/42S02 for another table, 422
    100069/22P02 for a PARSE_JSON of something that is not JSON, 422
    100035/22007 for a timestamp it cannot read.

What it does with a statement: every VALUES row becomes a row (event_key,
batch_id, target_id, event_id, table_name, op, pk, row_data, old_data,
facility_id, captured_at; and "_raw": the text bound for each PARSE_JSON
column, as floats lose digits) that is inserted unless the table holds its
event_key already; the answer is 200 with resultSetMetaData and
data [["<rows inserted>"]], as Snowflake answers a MERGE.  A requestId seen
before, sent again with retry=true, gets the stored answer of its first run
without running the statement again ("dedup" in the log); without
retry=true the statement runs again.  A repeated requestId whose body
differs from the first is a problem.

Modes (POST /_control {"mode": ..., "count": N, "then": MODE, ...}; with a
count the mode answers the next N statement requests, then becomes "then",
default "ok"; {"reset": true} first restores the defaults):
  ok            run the statement, 200
  async         run it, answer 202 with a statementHandle; the first
                <async_polls> (default 2) GET /api/v2/statements/<handle>
                answer 202, then 200 with the result
  sql_error     422 (code <code> 100038, sqlState <sqlstate> 22018,
                message naming the value) for a statement whose bindings
                hold <marker> (default POISON); others run as in ok
  table_missing 422 002003 / 42S02 "Object ... does not exist" for every
                statement
  throttle      429 with Retry-After: <retry_after> (default 1)
  drop          run the statement, then reset the connection without an
                answer
  unauthorized  401 (code 390318, "token expired")
  slow          run it and answer after <slow_ms> (default 300)
GET /_control   the settings and counters; GET /_rows the table
({"rows": [...]}); POST /_clear empties the table and the stored results.
Control requests are not logged and need no token.

The log: one JSON object per line, flushed before the answer is sent:
  {"kind": "request", "seq", "time", "method", "path", "query",
   "headers" (lower-case; the token's signature replaced by "<sig>"),
   "body", "jwt_claims", "jwt_ok", "problems" [..], "request_id", "retry",
   "mode", "status" (an integer, or "dropped"), "dedup", "batch_id",
   "event_keys" [..], "inserted", "matched", "handle"}
  {"kind": "start", "port"} and {"kind": "stop"}.

It exits 0 on SIGTERM or SIGINT, when its parent process goes away, and
after --max-lifetime seconds (default 900).
"""

import argparse
import base64
import datetime
import hashlib
import json
import re
import sys
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization

import standin

MODES = ("ok", "async", "sql_error", "table_missing", "throttle", "drop",
         "unauthorized", "slow")
DEFAULTS = {"mode": "ok", "count": None, "then": "ok", "marker": "POISON",
            "async_polls": 2, "retry_after": 1, "slow_ms": 300,
            "code": "100038", "sqlstate": "22018"}
COLUMNS = ["event_key", "batch_id", "target_id", "event_id", "table_name",
           "op", "pk", "row_data", "old_data", "facility_id", "captured_at"]

STATEMENT_RE = re.compile(
    r"^MERGE INTO (?P<table>\S+) t USING \(SELECT (?P<select>.+?) FROM VALUES "
    r"(?P<values>.+)\) s ON t\.event_key = s\.event_key WHEN NOT MATCHED "
    r"THEN INSERT \((?P<cols>[^()]*)\) VALUES \((?P<vals>[^()]*)\)$", re.S)
ITEM_RE = re.compile(r"^(?P<expr>.+) AS (?P<name>[a-z_]+)$")
EXPR_RES = [
    (re.compile(r"^\$(\d+)$"), "text"),
    (re.compile(r"^\$(\d+)::NUMBER\(38,0\)$"), "number"),
    (re.compile(r"^PARSE_JSON\(\$(\d+)\)$"), "json"),
    (re.compile(r"^TO_TIMESTAMP_TZ\(\$(\d+)\)$"), "timestamp"),
]


class SqlError(Exception):
    def __init__(self, code, sqlstate, message):
        super().__init__(message)
        self.code, self.sqlstate, self.message = code, sqlstate, message


def split_top(s):
    """Split on ", " outside parentheses."""
    out, depth, cur = [], 0, ""
    i = 0
    while i < len(s):
        c = s[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if depth == 0 and s.startswith(", ", i):
            out.append(cur)
            cur = ""
            i += 2
            continue
        cur += c
        i += 1
    out.append(cur)
    return out


class State(standin.Modes):
    """Settings (standin.Modes, one set for every statement request), the
    table, the stored results, the log."""

    def __init__(self, args):
        super().__init__(MODES, DEFAULTS)
        self.args = args
        with open(args.public_key, "rb") as f:
            self.pub = serialization.load_pem_public_key(f.read())
        der = self.pub.public_bytes(serialization.Encoding.DER,
                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        fp = base64.b64encode(hashlib.sha256(der).digest()).decode()
        acc = args.account.split(".")[0].upper()
        self.sub = f"{acc}.{args.user.upper()}"
        self.iss = f"{self.sub}.SHA256:{fp}"
        self.rows = {}            # event_key -> row
        self.results = {}         # requestId -> (body sha, status, answer)
        self.handles = {}         # handle -> {"left": n, "answer": {...}}
        self.counts = {"requests": 0, "statements_run": 0}
        self.log = standin.JsonLog(args.log)

    def _config(self):
        return dict(self.defaults, **self.counts)

    # ---- checks -----------------------------------------------------
    def check_jwt(self, headers, rec):
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            rec["problems"].append("no Bearer token")
            return False
        token = auth[len("Bearer "):]
        parts = token.split(".")
        if len(parts) == 3:
            rec["headers"]["authorization"] = f"Bearer {parts[0]}.{parts[1]}.<sig>"
        try:
            hdr = jwt.get_unverified_header(token)
            if hdr.get("alg") != "RS256" or hdr.get("typ") != "JWT":
                rec["problems"].append(f"JWT header {hdr}")
            claims = jwt.decode(token, self.pub, algorithms=["RS256"],
                                options={"require": ["iss", "sub", "iat", "exp"],
                                         "verify_aud": False}, leeway=5)
        except jwt.PyJWTError as e:
            rec["problems"].append(f"JWT: {type(e).__name__}: {e}")
            try:
                rec["jwt_claims"] = jwt.decode(token, options={"verify_signature": False})
            except jwt.PyJWTError:
                pass
            return False
        rec["jwt_claims"] = claims
        ok = True
        if claims["iss"] != self.iss:
            rec["problems"].append(f"JWT iss {claims['iss']} (expected {self.iss})")
            ok = False
        if claims["sub"] != self.sub:
            rec["problems"].append(f"JWT sub {claims['sub']} (expected {self.sub})")
            ok = False
        life = claims["exp"] - claims["iat"]
        if not (0 < life <= 3600):
            rec["problems"].append(f"JWT lifetime {life} s")
            ok = False
        if claims["iat"] > time.time() + 5:
            rec["problems"].append("JWT issued in the future")
            ok = False
        return ok

    def check_headers(self, method, headers, rec):
        p = rec["problems"]
        if headers.get("x-snowflake-authorization-token-type") != "KEYPAIR_JWT":
            p.append("X-Snowflake-Authorization-Token-Type is not KEYPAIR_JWT")
        if "application/json" not in headers.get("accept", ""):
            p.append(f"Accept {headers.get('accept')}")
        if method == "POST" and not headers.get("content-type", "").startswith("application/json"):
            p.append(f"Content-Type {headers.get('content-type')}")
        if not headers.get("user-agent", "").startswith("globalsync/"):
            p.append(f"User-Agent {headers.get('user-agent')}")
        if "expect" in headers:
            p.append("an Expect header")

    def check_body(self, body, rec):
        """The statement's rows, or raises SqlError; problems go to rec."""
        a = self.args
        p = rec["problems"]
        try:
            obj = json.loads(body)
        except ValueError as e:
            p.append(f"body is not JSON: {e}")
            return None
        if not isinstance(obj, dict):
            p.append("body is not an object")
            return None
        allowed = {"statement", "bindings", "timeout", "database", "schema",
                   "warehouse", "role"}
        for k in obj:
            if k not in allowed:
                p.append(f"unexpected body field {k}")
        for k in ("database", "schema", "warehouse", "role"):
            want = getattr(a, k)
            if obj.get(k) != want:
                p.append(f"{k} {obj.get(k)!r} (expected {want!r})")
        if not isinstance(obj.get("timeout"), int) or obj["timeout"] < 1:
            p.append(f"timeout {obj.get('timeout')!r}")
        stmt = obj.get("statement")
        binds = obj.get("bindings")
        if not isinstance(stmt, str) or not isinstance(binds, dict):
            p.append("no statement or bindings")
            return None
        m = STATEMENT_RE.match(stmt)
        if not m:
            p.append("statement is not the documented MERGE: " + stmt[:300])
            return None
        # bindings: "1".."N", typed, as many as placeholders
        nph = stmt.count("?")
        if sorted(binds, key=lambda k: int(k) if k.isdigit() else -1) != [str(i) for i in range(1, nph + 1)]:
            p.append(f"{len(binds)} bindings for {nph} placeholders")
            return None
        vals = []
        for i in range(1, nph + 1):
            b = binds[str(i)]
            if not isinstance(b, dict) or set(b) != {"type", "value"}:
                p.append(f"binding {i} is not {{type, value}}")
                return None
            if b["type"] not in ("TEXT", "FIXED"):
                p.append(f"binding {i} has type {b['type']}")
            if b["value"] is not None and not isinstance(b["value"], str):
                p.append(f"binding {i} value is not a string")
            if b["type"] == "FIXED" and b["value"] is not None and not re.match(r"^-?\d+$", b["value"]):
                p.append(f"binding {i} FIXED value {b['value']!r}")
            vals.append(b["value"])
        # the SELECT list: ? (statement-wide) and $k expressions (per row)
        items = []
        nq = 0
        for it in split_top(m.group("select")):
            im = ITEM_RE.match(it)
            if not im:
                p.append(f"select item {it!r}")
                return None
            expr, name = im.group("expr"), im.group("name")
            if expr == "?":
                items.append((name, "param", nq))
                nq += 1
                continue
            for rx, kind in EXPR_RES:
                em = rx.match(expr)
                if em:
                    items.append((name, kind, int(em.group(1))))
                    break
            else:
                p.append(f"select expression {expr!r}")
                return None
        names = [i[0] for i in items]
        if sorted(names) != sorted(COLUMNS):
            p.append(f"select columns {names}")
        cols = [c.strip() for c in m.group("cols").split(",")]
        if cols != COLUMNS:
            p.append(f"INSERT columns {cols}")
        if [v.strip() for v in m.group("vals").split(",")] != [f"s.{c}" for c in cols]:
            p.append("INSERT values are not s.<column>")
        tuples = re.findall(r"\(([^()]*)\)", m.group("values"))
        if ", ".join(f"({t})" for t in tuples) != m.group("values"):
            p.append("VALUES is not a list of tuples")
            return None
        width = max((i[2] for i in items if i[1] != "param"), default=0)
        if any([x.strip() for x in t.split(",")] != ["?"] * width for t in tuples):
            p.append(f"a VALUES tuple is not {width} placeholders")
            return None
        if nq + width * len(tuples) != nph:
            p.append("placeholder count")
            return None
        if p:
            return None
        if m.group("table") != a.table:
            raise SqlError("002003", "42S02",
                           f"SQL compilation error:\nObject '{m.group('table')}' does not exist or not authorized.")
        rows = []
        for r, _ in enumerate(tuples):
            row_vals = vals[nq + r * width: nq + (r + 1) * width]
            row = {"_raw": {}}
            for name, kind, k in items:
                v = vals[k] if kind == "param" else row_vals[k - 1]
                if v is None:
                    row[name] = None
                elif kind == "number":
                    row[name] = int(v)
                elif kind == "json":
                    # the text as bound too: floats would lose digits
                    row["_raw"][name] = v
                    try:
                        row[name] = json.loads(v)
                    except ValueError:
                        raise SqlError("100069", "22P02", f"Error parsing JSON: {v[:40]}")
                elif kind == "timestamp":
                    try:
                        datetime.datetime.fromisoformat(v)
                    except ValueError:
                        raise SqlError("100035", "22007", f"Timestamp '{v[:40]}' is not recognized")
                    row[name] = v
                else:
                    row[name] = v
            rows.append(row)
        keys = [r["event_key"] for r in rows]
        if len(set(keys)) != len(keys):
            p.append("the same event_key twice in one statement")
        return rows, vals

    # ---- execution --------------------------------------------------
    def answer(self, handle, rid, inserted):
        return {
            "resultSetMetaData": {
                "numRows": 1, "format": "jsonv2",
                "partitionInfo": [{"rowCount": 1, "uncompressedSize": 8}],
                "rowType": [{"name": "number of rows inserted", "database": "",
                             "schema": "", "table": "", "type": "fixed",
                             "scale": 0, "precision": 19, "nullable": False,
                             "byteLength": None, "length": None,
                             "collation": None}]},
            "data": [[str(inserted)]],
            "code": "090001", "sqlState": "00000",
            "statementStatusUrl": f"/api/v2/statements/{handle}?requestId={rid}",
            "requestId": rid, "statementHandle": handle,
            "message": "Statement executed successfully.",
            "createdOn": int(time.time() * 1000),
            "stats": {"numRowsInserted": inserted, "numRowsUpdated": 0,
                      "numRowsDeleted": 0, "numDuplicateRowsUpdated": 0},
        }

    def run(self, rows, rid, seq):
        """Insert the rows whose event_key is new; returns (inserted, matched)."""
        inserted = matched = 0
        with self.lock:
            for r in rows:
                if r["event_key"] in self.rows:
                    matched += 1
                else:
                    self.rows[r["event_key"]] = dict(r, _request_id=rid, _seq=seq)
                    inserted += 1
            self.counts["statements_run"] += 1
        return inserted, matched


def error_body(code, sqlstate, message, handle=None):
    d = {"code": code, "sqlState": sqlstate, "message": message}
    if handle:
        d["statementHandle"] = handle
    return d


class Handler(standin.Handler):
    server_version = "gs-snowflake-standin/1"

    def _send(self, status, obj, extra=()):
        self.answer(status, (json.dumps(obj) + "\n").encode(), "application/json", extra)

    def do_GET(self):
        st = self.server.state
        u = urlsplit(self.path)
        if u.path == "/_control":
            self._send(200, st.config())
            return
        if u.path == "/_rows":
            with st.lock:
                self._send(200, {"rows": list(st.rows.values())})
            return
        self._statement_request("GET", u)

    def do_POST(self):
        st = self.server.state
        u = urlsplit(self.path)
        if u.path == "/_control":
            self.answer_control(st, self.read_body())
            return
        if u.path == "/_clear":
            self.read_body()
            with st.lock:
                st.rows.clear()
                st.results.clear()
                st.handles.clear()
            self._send(200, {"cleared": True})
            return
        self._statement_request("POST", u)

    def _statement_request(self, method, u):
        st = self.server.state
        raw = self.read_body() if method == "POST" else b""
        headers = {}
        for k, v in self.headers.items():
            headers[k.lower()] = v
        query = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        rec = {"kind": "request", "time": time.time(), "method": method,
               "path": u.path, "query": query, "headers": dict(headers),
               "body": raw.decode("utf-8", errors="replace"), "problems": [],
               "jwt_claims": None, "request_id": query.get("requestId"),
               "retry": query.get("retry") == "true", "dedup": False,
               "event_keys": None, "batch_id": None, "inserted": None,
               "matched": None, "handle": None, "mode": None}
        with st.lock:
            st.counts["requests"] += 1
        status, obj, extra = self._decide(method, u, raw, headers, rec)
        rec["status"] = status
        if "seq" not in rec:
            with st.lock:
                st.seq += 1
                rec["seq"] = st.seq
        st.log.write(rec)
        if status == "dropped":
            standin.reset_connection(self)
            return
        if rec.get("mode") == "slow":
            standin.STOP.wait(rec.get("slow_ms", 300) / 1000.0)
        self._send(status, obj, extra)

    def _decide(self, method, u, raw, headers, rec):
        st = self.server.state
        jwt_ok = st.check_jwt(headers, rec)
        rec["jwt_ok"] = jwt_ok
        if not jwt_ok:
            return 401, error_body("390144", None, "JWT token is invalid. [" + "; ".join(rec["problems"])[:200] + "]"), ()
        st.check_headers(method, headers, rec)
        if rec["problems"]:
            return 400, error_body("391902", None, "; ".join(rec["problems"])), ()

        if method == "GET":
            m = re.match(r"^/api/v2/statements/([0-9a-f-]+)$", u.path)
            if not m:
                rec["problems"].append(f"GET of {u.path}")
                return 404, error_body("390404", None, "no such resource"), ()
            h = m.group(1)
            rec["handle"] = h
            with st.lock:
                ent = st.handles.get(h)
                if ent is None:
                    return 404, error_body("333333", None, f"Statement {h} not found"), ()
                if ent["left"] > 0:
                    ent["left"] -= 1
                    return 202, {"code": "333334", "message": "Asynchronous execution in progress.",
                                 "statementHandle": h,
                                 "statementStatusUrl": f"/api/v2/statements/{h}"}, ()
                rec["inserted"] = ent["answer"]["stats"]["numRowsInserted"]
                return 200, ent["answer"], ()

        if u.path != "/api/v2/statements":
            rec["problems"].append(f"POST to {u.path}")
            return 404, error_body("390404", None, "no such resource"), ()
        rid = rec["request_id"]
        try:
            if rid is None or uuid.UUID(rid).version != 4 or str(uuid.UUID(rid)) != rid:
                raise ValueError
        except ValueError:
            rec["problems"].append(f"requestId {rid!r} is not a version-4 UUID")
            return 400, error_body("391902", None, "bad requestId"), ()
        if set(rec["query"]) - {"requestId", "retry"}:
            rec["problems"].append(f"query {rec['query']}")
        body_sha = hashlib.sha256(raw).hexdigest()

        try:
            checked = st.check_body(raw, rec)
        except SqlError as e:
            eff, seq = st.decide()
            rec["seq"], rec["mode"] = seq, eff["mode"]
            return 422, error_body(e.code, e.sqlstate, e.message, str(uuid.uuid4())), ()
        if checked is None:
            return 400, error_body("391902", None, "; ".join(rec["problems"])), ()
        rows, vals = checked
        rec["event_keys"] = [r["event_key"] for r in rows]
        rec["batch_id"] = vals[0]

        eff, seq = st.decide()
        rec["seq"], rec["mode"], rec["slow_ms"] = seq, eff["mode"], eff["slow_ms"]
        mode = eff["mode"]
        if mode == "unauthorized":
            return 401, error_body("390318", None, "OAuth access token expired. [token expired]"), ()
        if mode == "throttle":
            return 429, error_body("390001", None, "Too many requests (stand-in throttle)."), \
                [("Retry-After", str(int(eff["retry_after"])))]
        if mode == "table_missing":
            return 422, error_body("002003", "42S02",
                                   f"SQL compilation error:\nObject '{st.args.table}' does not exist or not authorized.",
                                   str(uuid.uuid4())), ()

        with st.lock:
            prev = st.results.get(rid)
        if prev is not None:
            if prev[0] != body_sha:
                rec["problems"].append("requestId reused with another body")
            if rec["retry"]:
                rec["dedup"] = True
                rec["inserted"] = prev[2]["stats"]["numRowsInserted"]
                return 200, prev[2], ()

        if mode == "sql_error" and eff["marker"] and any(
                v is not None and eff["marker"] in v for v in vals):
            return 422, error_body(eff["code"], eff["sqlstate"],
                                   f"Numeric value '{eff['marker']}' is not recognized",
                                   str(uuid.uuid4())), ()

        handle = str(uuid.uuid4())
        rec["handle"] = handle
        inserted, matched = st.run(rows, rid, seq)
        rec["inserted"], rec["matched"] = inserted, matched
        ans = st.answer(handle, rid, inserted)
        with st.lock:
            st.results[rid] = (body_sha, 200, ans)
        if mode == "drop":
            return "dropped", None, ()
        if mode == "async":
            with st.lock:
                st.handles[handle] = {"left": int(eff["async_polls"]), "answer": ans}
            return 202, {"code": "333334", "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
                         "statementHandle": handle,
                         "statementStatusUrl": f"/api/v2/statements/{handle}"}, ()
        return 200, ans, ()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    standin.add_server_args(ap)
    ap.add_argument("--public-key", required=True)
    ap.add_argument("--account", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--database")
    ap.add_argument("--schema")
    ap.add_argument("--warehouse")
    ap.add_argument("--role")
    args = ap.parse_args()

    return standin.serve(args, Handler, State(args))


if __name__ == "__main__":
    sys.exit(main())
