#!/usr/bin/env python3
"""fhir_standin.py: a FHIR R4 server stand-in for the globalsync fhir target tests.

Python 3 standard library only.  It listens on 127.0.0.1, takes transaction
Bundles POSTed to a base path (any path: each base path has a store of its
own), applies their conditional updates and deletes all or nothing, answers
transaction-response Bundles, keeps the resources it holds, records every
request as one JSON line, and answers according to a mode that a test can
change while it runs.

Usage:
  fhir_standin.py --log FILE [--port N | --port 0 --port-file FILE]
                  [--token TOKEN] [--max-lifetime S]

Transactions (POST <base>, Content-Type application/fhir+json, with
"Authorization: Bearer TOKEN" when --token is given; else 415 / 401):
  - the body must be a Bundle of type "transaction" whose entries are
    "PUT Type?identifier=system|value" with a resource of that type that
    carries that identifier, or "DELETE Type?identifier=system|value";
    the same conditional URL twice in one bundle is refused (400);
  - DELETEs are processed first, then PUTs, in bundle order (as R4
    prescribes); a PUT with no match creates (201 Created), with one
    match updates (200 OK, a new version), with several matches fails the
    transaction with 412; a DELETE removes its match (204) or finds none
    (204), several matches give 412;
  - a Patient's managingOrganization.reference
    "Organization?identifier=system|value" is resolved against the store
    as the transaction has left it so far and replaced by
    "Organization/<id>"; no match fails the transaction (400, not-found);
  - nothing of a failed transaction is kept; the answer to a failure is
    an OperationOutcome.
  The answer to success: 200 and a Bundle of type transaction-response, one
  entry per request entry, in order, each with response.status, location
  and etag (W/"<version>").

Searches and state:
  GET <base>/<Type>?identifier=system|value   a searchset Bundle
  GET /__state?base=<base>                    {"Type": {"id": resource}}
  POST /__seed {"base", "resource"}           store a resource as it is
                                              (say, a second Patient with
                                              the same identifier, for 412)

Modes (POST /__control {"path": <base>, "mode": ..., "count": N, "then": ...},
{"reset": true} drops the settings of the path or, without path, all):
  ok           as above
  fail500      500 with an OperationOutcome
  reject400_if 400 with an OperationOutcome (code invalid) when the body
               contains <marker>; ok otherwise
  entry_fail_if  when the body contains <marker>: 200 with a
               transaction-response whose entry holding the marker has
               status "422 Unprocessable Entity" and an outcome (the others
               200 OK); nothing is kept.  ok otherwise
  hang         wait <hang_seconds> (default 30) before answering (ok)
  gone410      410
  slow         answer after <slow_ms> (default 500)
Any mode but hang and slow answers after <delay_ms> (default 0), so that a
test can watch what happens between answers.
With "count": N the mode answers the next N transactions of that path,
after which it becomes "then" (default "ok").

The log (--log): one JSON object per line, written before the answer:
  {"kind": "request", "seq", "time", "method", "path", "query", "headers"
   {lower-case name: value}, "body" (text), "mode", "status" (an integer,
   or "hang"), "response" (the answer's text, for POSTs)}
  {"kind": "start", "port"} and {"kind": "stop"}.
Requests to /__control, /__state and /__seed are not logged.

It exits 0 on SIGTERM or SIGINT, when its parent goes away, and after
--max-lifetime seconds (default 900).  Every socket has a timeout.
"""

import argparse
import copy
import json
import sys
import time
import urllib.parse

import standin

MODES = ("ok", "fail500", "reject400_if", "entry_fail_if", "hang", "gone410", "slow")
SETTING_KEYS = ("mode", "marker", "hang_seconds", "slow_ms", "delay_ms", "count", "then")
DEFAULTS = {"mode": "ok", "marker": "POISON", "hang_seconds": 30, "slow_ms": 500,
            "delay_ms": 0, "count": None, "then": "ok"}
FHIR_JSON = "application/fhir+json"


class TxError(Exception):
    """A transaction that fails: status, issue code, diagnostics."""

    def __init__(self, status, code, diagnostics):
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics


def outcome(code, diagnostics, severity="error"):
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}]}


def unescape_token(s):
    """FHIR search escapes: \\| \\, \\$ \\\\ stand for the character."""
    out = []
    i = 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def split_token(s):
    """system|value at the first unescaped |."""
    i = 0
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == "|":
            return unescape_token(s[:i]), unescape_token(s[i + 1:])
        i += 1
    return None, unescape_token(s)


def parse_conditional(url):
    """'Type?identifier=system|value' -> (Type, system, value)."""
    if "?" not in url:
        raise TxError(400, "invalid", f"not a conditional URL: {url}")
    rtype, query = url.split("?", 1)
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    if list(params) != ["identifier"] or len(params["identifier"]) != 1:
        raise TxError(400, "invalid", f"a conditional URL with one identifier parameter is expected: {url}")
    system, value = split_token(params["identifier"][0])
    if rtype not in ("Patient", "Organization") or not value:
        raise TxError(400, "not-supported", f"unsupported conditional URL: {url}")
    return rtype, system, value


def has_identifier(res, system, value):
    for ident in res.get("identifier") or []:
        if ident.get("value") == value and (system is None or ident.get("system") == system):
            return True
    return False


class State(standin.Modes):
    """Settings (standin.Modes, per base path), the stores and the log."""

    def __init__(self, args):
        super().__init__(MODES, DEFAULTS, SETTING_KEYS)
        self.token = args.token
        self.stores = {}        # base -> {"Type": {id: resource}}
        self.indexes = {}       # base -> {(Type, system or None, value): {id}}
        self.next_id = 1
        self.log = standin.JsonLog(args.log)

    def new_id(self):
        # under self.lock
        i = self.next_id
        self.next_id += 1
        return f"gs{i}"

    def store(self, base):
        return self.stores.setdefault(base, {"Patient": {}, "Organization": {}})

    # The identifier index: a lookup per conditional URL instead of a scan
    # of the store (the benchmark sends tens of thousands of Patients).
    # Under self.lock.
    def _index_keys(self, rtype, res):
        for ident in res.get("identifier") or []:
            yield (rtype, ident.get("system"), ident.get("value"))
            yield (rtype, None, ident.get("value"))

    def _matches(self, base, rtype, system, value):
        return sorted(self.indexes.get(base, {}).get((rtype, system, value), ()))

    def _set(self, base, rtype, rid, res):
        """Store res (None: delete) under rid; returns what was there."""
        store = self.store(base).setdefault(rtype, {})
        index = self.indexes.setdefault(base, {})
        old = store.pop(rid, None)
        if old is not None:
            for k in self._index_keys(rtype, old):
                index.get(k, set()).discard(rid)
        if res is not None:
            store[rid] = res
            for k in self._index_keys(rtype, res):
                index.setdefault(k, set()).add(rid)
        return old

    def seed(self, base, res):
        with self.lock:
            res = copy.deepcopy(res)
            rid = res.get("id") or self.new_id()
            res["id"] = rid
            res.setdefault("meta", {})["versionId"] = "1"
            self._set(base, res["resourceType"], rid, res)
            return res

    def search(self, base, rtype, system, value):
        with self.lock:
            store = self.store(base).get(rtype, {})
            return [copy.deepcopy(store[rid]) for rid in self._matches(base, rtype, system, value)]

    def dump(self, base):
        with self.lock:
            return copy.deepcopy(self.store(base))

    def transaction(self, base, bundle):
        """Apply a transaction bundle all or nothing; the response entries."""
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise TxError(400, "invalid", "the body is not a Bundle")
        if bundle.get("type") != "transaction":
            raise TxError(400, "invalid", f"Bundle.type is {bundle.get('type')!r}, not transaction")
        entries = bundle.get("entry") or []
        if not isinstance(entries, list) or not entries:
            raise TxError(400, "invalid", "a transaction without entries")
        seen = set()
        plan = []
        for i, e in enumerate(entries):
            req = (e or {}).get("request") or {}
            method, url = req.get("method"), req.get("url") or ""
            rtype, system, value = parse_conditional(url)
            key = (rtype, system, value)
            if key in seen:
                raise TxError(400, "invalid",
                              f"entry {i}: the conditional URL {url} appears twice in the transaction")
            seen.add(key)
            if method == "PUT":
                res = e.get("resource")
                if not isinstance(res, dict) or res.get("resourceType") != rtype:
                    raise TxError(400, "invalid", f"entry {i}: PUT {url} without a {rtype} resource")
                if not has_identifier(res, system, value):
                    raise TxError(400, "invalid", f"entry {i}: the resource does not carry the identifier of {url}")
            elif method != "DELETE":
                raise TxError(400, "not-supported", f"entry {i}: method {method!r} is not supported here")
            plan.append((i, method, url, rtype, system, value, e.get("resource")))

        with self.lock:
            # all or nothing: changes go to the store at once and are undone
            # (newest first) if an entry fails
            undo = []
            try:
                out = self._apply(base, plan, len(entries), undo)
            except TxError:
                for rtype, rid, old in reversed(undo):
                    self._set(base, rtype, rid, old)
                raise
        return out

    def _apply(self, base, plan, n, undo):
        out = [None] * n
        store = self.store(base)
        # R4 transaction processing order: DELETE before PUT
        for i, method, url, rtype, system, value, res in \
                [p for p in plan if p[1] == "DELETE"] + [p for p in plan if p[1] == "PUT"]:
            matches = self._matches(base, rtype, system, value)
            if len(matches) > 1:
                raise TxError(412, "multiple-matches",
                              f"entry {i}: {method} {url} matches {len(matches)} resources")
            if method == "DELETE":
                for rid in matches:
                    undo.append((rtype, rid, self._set(base, rtype, rid, None)))
                out[i] = {"status": "204 No Content"}
                continue
            res = copy.deepcopy(res)
            ref = (res.get("managingOrganization") or {}).get("reference") or ""
            if ref.startswith("Organization?"):
                otype, osys, oval = parse_conditional(ref)
                orgs = self._matches(base, "Organization", osys, oval)
                if len(orgs) != 1:
                    raise TxError(412 if orgs else 400, "multiple-matches" if orgs else "not-found",
                                  f"entry {i}: the conditional reference {ref} matches {len(orgs)} resources")
                res["managingOrganization"]["reference"] = f"Organization/{orgs[0]}"
            if matches:
                rid = matches[0]
                version = int(store[rtype][rid]["meta"]["versionId"]) + 1
                status = "200 OK"
            else:
                rid = self.new_id()
                version = 1
                status = "201 Created"
            res["id"] = rid
            res["meta"] = {"versionId": str(version),
                           "lastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            undo.append((rtype, rid, self._set(base, rtype, rid, res)))
            out[i] = {"status": status, "location": f"{rtype}/{rid}/_history/{version}",
                      "etag": f'W/"{version}"'}
        return out


class Handler(standin.Handler):
    server_version = "gs-fhir-standin/1"

    def _send(self, status, obj, ctype=FHIR_JSON):
        return self.answer_json(status, obj, ctype)

    def do_GET(self):
        st = self.server.state
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        if u.path == "/__state":
            self._send(200, st.dump((q.get("base") or ["/fhir"])[0]), "application/json")
            return
        if u.path == "/__control":
            self._send(200, st.config(), "application/json")
            return
        base, _, rtype = u.path.rpartition("/")
        if rtype not in ("Patient", "Organization") or "identifier" not in q:
            self._send(404, outcome("not-found", f"no such search: {u.path}"))
            return
        system, value = split_token(q["identifier"][0])
        found = st.search(base, rtype, system, value)
        self._send(200, {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                         "entry": [{"fullUrl": f"{rtype}/{r['id']}", "resource": r,
                                    "search": {"mode": "match"}} for r in found]})

    def do_POST(self):
        st = self.server.state
        u = urllib.parse.urlsplit(self.path)
        raw = self.read_body()
        if u.path == "/__control":
            self.answer_control(st, raw)
            return
        if u.path == "/__seed":
            try:
                req = json.loads(raw or b"{}")
                if not isinstance(req, dict):
                    raise ValueError("a JSON object is needed")
                self._send(200, st.seed(req.get("base") or "/fhir", req["resource"]), "application/json")
            except (ValueError, KeyError) as e:
                self._send(400, {"error": str(e)}, "application/json")
            return
        self._transaction(u, raw)

    def _transaction(self, u, raw):
        st = self.server.state
        t0 = time.time()
        headers = {k.lower(): v for k, v in self.headers.items()}
        text = raw.decode("utf-8", errors="replace")
        eff, seq = st.decide(u.path)
        mode = eff["mode"]
        marker = eff["marker"]
        status, body, delay = 200, None, 0
        try:
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            auth = headers.get("authorization")
            if st.token is not None and auth != f"Bearer {st.token}":
                status, body = 401, outcome("login", "a valid bearer token is required")
            elif ctype != FHIR_JSON:
                status, body = 415, outcome("not-supported", f"Content-Type {ctype!r} is not {FHIR_JSON}")
            elif mode == "fail500":
                status, body = 500, outcome("exception", "internal error (FHIR stand-in, mode fail500)")
            elif mode == "gone410":
                status, body = 410, outcome("deleted", "this FHIR endpoint was removed (stand-in)")
            elif mode == "reject400_if" and marker in text:
                status, body = 400, outcome("invalid", f"rejected: the bundle contains the marker {marker} (stand-in)")
            elif mode == "entry_fail_if" and marker in text:
                bundle = json.loads(text)
                entries = []
                for e in bundle.get("entry") or []:
                    if marker in json.dumps(e):
                        entries.append({"response": {
                            "status": "422 Unprocessable Entity",
                            "outcome": outcome("business-rule", f"the entry contains the marker {marker} (stand-in)")}})
                    else:
                        entries.append({"response": {"status": "200 OK"}})
                body = {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
            else:
                try:
                    bundle = json.loads(text)
                except ValueError as e:
                    raise TxError(400, "structure", f"the body is not JSON: {e}")
                resp = st.transaction(u.path, bundle)
                body = {"resourceType": "Bundle", "type": "transaction-response",
                        "entry": [{"response": r} for r in resp]}
            if mode == "hang":
                delay = float(eff["hang_seconds"])
            elif mode == "slow":
                delay = int(eff["slow_ms"]) / 1000.0
            else:
                delay = int(eff["delay_ms"] or 0) / 1000.0
        except TxError as e:
            status, body = e.status, outcome(e.code, e.diagnostics)
        resp_text = json.dumps(body, sort_keys=True)
        st.log.write({"kind": "request", "seq": seq, "time": t0, "method": "POST", "path": u.path,
                  "query": u.query, "headers": headers, "body": text, "mode": mode,
                  "status": "hang" if mode == "hang" else status, "response": resp_text})
        if delay and not self.pause(delay):
            return
        self._send(status, body)

    def do_PUT(self):
        self._send(405, outcome("not-supported", "only transactions at the base are supported here"))

    do_DELETE = do_PUT


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    standin.add_server_args(ap)
    ap.add_argument("--token")
    args = ap.parse_args()

    return standin.serve(args, Handler, State(args))


if __name__ == "__main__":
    sys.exit(main())
