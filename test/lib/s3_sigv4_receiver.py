#!/usr/bin/env python3
"""s3_sigv4_receiver.py: an S3 PutObject stand-in that verifies AWS SigV4.

For the globalsync s3 target tests.  Runs with Debian's /usr/bin/python3:
the standard library's http.server, and python3-botocore's S3SigV4Auth to
compute the reference signature over the canonical request built from what
was received (method, raw path, the headers named in SignedHeaders, the
x-amz-date) -- independently of libcurl, which signed it.

Usage (server):
  s3_sigv4_receiver.py serve --log FILE --store DIR --bucket NAME
                       --access-key-id ID --secret-access-key KEY
                       [--session-token TOKEN] [--region us-east-1]
                       [--port 0 --port-file FILE] [--max-lifetime S]

Every PUT is checked, in this order; the first failure is answered with
the S3 error XML (<Error><Code>..</Code><Message>..</Message></Error>):
  Authorization missing or not AWS4-HMAC-SHA256 ... 403 AccessDenied
  the access key id is not the configured one ..... 403 InvalidAccessKeyId
  credential scope (date, region, s3) wrong ........ 403 SignatureDoesNotMatch
  x-amz-date missing or more than 15 min off ....... 403 RequestTimeTooSkewed
  host, x-amz-date, x-amz-content-sha256 unsigned .. 403 AccessDenied
  x-amz-content-sha256 != SHA-256 of the body ....... 400 XAmzContentSHA256Mismatch
  the signature differs from botocore's ............ 403 SignatureDoesNotMatch
  session token configured but not sent (signed) ... 403 InvalidToken
  Content-MD5 missing or not the body's MD5 ........ 400 BadDigest
  bucket not the configured one ..................... 404 NoSuchBucket
Then the mode (see below) may answer an error; otherwise the object is
stored (file DIR/<key percent-encoded with quote(key, safe='')>) BEFORE any
delay of mode "slow", and answered 200 with ETag "<md5 hex>".  Both
path-style (/BUCKET/KEY) and virtual-hosted (Host: BUCKET.host) requests
are understood.

Modes (POST /__control {"mode": ..., "count": N, "then": ..., "marker": ...,
"slow_ms": ...}; without count the mode stays):
  ok          store, 200
  slow        store, then answer 200 after slow_ms (default 800)
  fail500     500 InternalError, nothing stored
  fail503     503 SlowDown, nothing stored
  bad400_if   400 InvalidArgument when the body (gunzipped if needed)
              contains the marker, nothing stored; else as ok
  badetag     store, but answer an ETag that is not the body's MD5
GET /__control: the settings and counters.  Control requests are neither
checked nor logged.

The log: one JSON line per request, flushed before the answer: kind
"request", seq, time, method, path (raw), host, bucket, key (decoded),
headers (lower-case names), signed_headers, sig_ok, sha_ok, md5_ok,
date_ok, token_ok, code (the error code answered, or null), status, mode,
len, md5, stored (bool).

Client (for tests that show the checks are real):
  s3_sigv4_receiver.py put --url URL --access-key-id ID
      --secret-access-key KEY [--region R] [--body TEXT]
      [--skew-seconds N] [--bad-sha] [--session-token T [--no-token]]
signs a PUT with botocore (optionally dated N seconds in the past, or with
an x-amz-content-sha256 that is not the body's), sends it with urllib and
prints "<status> <code>".

It exits 0 on SIGTERM/SIGINT, when its parent goes away, and after
--max-lifetime seconds (default 900).  Every socket has a timeout.
"""

import argparse
import base64
import datetime
import gzip
import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import standin

MODES = ("ok", "slow", "fail500", "fail503", "bad400_if", "badetag")
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$")
DEFAULTS = {"mode": "ok", "count": None, "then": "ok", "marker": "POISON", "slow_ms": 800}


def xml_error(code, message):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>test</RequestId></Error>").encode()


def reference_signature(method, url, headers, body, amz_date, key_id, secret,
                        token, region):
    """botocore's SigV4 signature of a request (only the given headers)."""
    req = AWSRequest(method=method, url=url, headers=headers, data=body)
    req.context["timestamp"] = amz_date
    auth = S3SigV4Auth(Credentials(key_id, secret, token), "s3", region)
    canonical = auth.canonical_request(req)
    sts = auth.string_to_sign(req, canonical)
    return auth.signature(sts, req), canonical


class State(standin.Modes):
    """Settings (standin.Modes, one set for every PUT), requests per mode
    answered, the log."""

    def __init__(self, args):
        super().__init__(MODES, DEFAULTS)
        self.args = args
        self.counts = {}
        self.log = standin.JsonLog(args.log)
        os.makedirs(args.store, exist_ok=True)

    def _config(self):
        return {"settings": self.defaults, "counts": self.counts}

    def decide(self):
        with self.lock:
            s, seq = self._take(None)
            self.counts[s["mode"]] = self.counts.get(s["mode"], 0) + 1
            return s, seq


class Handler(standin.Handler):
    server_version = "gs-s3-receiver/1"

    def _error(self, status, code, message):
        self.answer(status, xml_error(code, message), "application/xml")

    def do_GET(self):
        if self.path == "/__control":
            self.answer_json(200, self.server.state.config())
        else:
            self._error(405, "MethodNotAllowed", "only PUT")

    def do_POST(self):
        body = self.read_body()
        if self.path != "/__control":
            self._error(405, "MethodNotAllowed", "only PUT")
            return
        self.answer_control(self.server.state, body)

    def do_PUT(self):
        st = self.server.state
        a = st.args
        t0 = time.time()
        body = self.read_body()
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = v if k not in headers else headers[k] + "," + v
        host = headers.get("host", "")
        raw_path = self.path
        # virtual-hosted or path-style
        if host.split(":")[0].startswith(a.bucket + "."):
            bucket, raw_key = a.bucket, raw_path.lstrip("/")
        else:
            parts = raw_path.lstrip("/").split("/", 1)
            bucket, raw_key = parts[0], (parts[1] if len(parts) > 1 else "")
        key = urllib.parse.unquote(raw_key)
        rec = {"kind": "request", "time": t0, "method": "PUT", "path": raw_path,
               "host": host, "bucket": bucket, "key": key, "headers": headers,
               "len": len(body), "md5": hashlib.md5(body).hexdigest(),
               "sig_ok": None, "sha_ok": None, "md5_ok": None, "date_ok": None,
               "token_ok": None, "code": None, "stored": False}
        status, code, msg = self._check(a, body, headers, host, raw_path, rec)
        if code is None and bucket != a.bucket:
            status, code, msg = 404, "NoSuchBucket", "The specified bucket does not exist"
        eff, seq = st.decide() if code is None else ({"mode": "-"}, None)
        rec["seq"] = seq
        mode = eff["mode"]
        rec["mode"] = mode
        rec["slow_ms"] = eff.get("slow_ms")
        etag = '"' + rec["md5"] + '"'
        if code is None:
            if mode == "fail500":
                status, code, msg = 500, "InternalError", "We encountered an internal error. Please try again."
            elif mode == "fail503":
                status, code, msg = 503, "SlowDown", "Please reduce your request rate."
            elif mode == "bad400_if":
                text = body
                if headers.get("content-type") == "application/gzip":
                    try:
                        text = gzip.decompress(body)
                    except (OSError, EOFError):
                        pass
                if eff["marker"].encode() in text:
                    status, code, msg = 400, "InvalidArgument", f"the object holds the marker {eff['marker']}"
            elif mode == "badetag":
                etag = '"' + hashlib.md5(body + b"x").hexdigest() + '"'
        if code is None:
            name = urllib.parse.quote(key, safe="")
            tmp = os.path.join(a.store, "." + name + ".tmp")
            with open(tmp, "wb") as f:
                f.write(body)
            os.replace(tmp, os.path.join(a.store, name))
            with open(os.path.join(a.store, "." + name + ".meta"), "w") as f:
                json.dump({"content_type": headers.get("content-type")}, f)
            rec["stored"] = True
            status = 200
        rec["code"] = code
        rec["status"] = status
        st.log.write(rec)
        if code is not None:
            self._error(status, code, msg)
            return
        if mode == "slow" and not self.pause(float(eff["slow_ms"]) / 1000.0):
            return
        self.answer(200, b"", "application/json", [("ETag", etag)])

    def _check(self, a, body, headers, host, raw_path, rec):
        auth = headers.get("authorization", "")
        m = AUTH_RE.match(auth)
        if not m:
            return 403, "AccessDenied", "Access Denied (no AWS4-HMAC-SHA256 authorization)"
        key_id, scope_date, region, service, signed, signature = m.groups()
        signed_list = signed.split(";")
        rec["signed_headers"] = signed_list
        if key_id != a.access_key_id:
            return 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
        amz_date = headers.get("x-amz-date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            rec["date_ok"] = abs(time.time() - when) <= 15 * 60
        except ValueError:
            rec["date_ok"] = False
        if region != a.region or service != "s3" or scope_date != amz_date[:8]:
            return 403, "SignatureDoesNotMatch", "The credential scope is wrong."
        if not rec["date_ok"]:
            return 403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
        for h in ("host", "x-amz-date", "x-amz-content-sha256"):
            if h not in signed_list:
                return 403, "AccessDenied", f"{h} must be signed"
        rec["sha_ok"] = headers.get("x-amz-content-sha256") == hashlib.sha256(body).hexdigest()
        if not rec["sha_ok"]:
            return 400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."
        missing = [h for h in signed_list if h not in headers]
        if missing:
            return 403, "SignatureDoesNotMatch", "a signed header is missing"
        ref, _ = reference_signature(
            "PUT", f"http://{host}{raw_path}", {h: headers[h] for h in signed_list}, body,
            amz_date, a.access_key_id, a.secret_access_key, a.session_token, a.region)
        rec["sig_ok"] = hmac.compare_digest(ref, signature)
        if not rec["sig_ok"]:
            return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        if a.session_token:
            rec["token_ok"] = ("x-amz-security-token" in signed_list
                               and headers.get("x-amz-security-token") == a.session_token)
            if not rec["token_ok"]:
                return 403, "InvalidToken", "The provided token is malformed or otherwise invalid."
        md5 = headers.get("content-md5")
        rec["md5_ok"] = md5 == base64.b64encode(hashlib.md5(body).digest()).decode()
        if not rec["md5_ok"]:
            return 400, "BadDigest", "The Content-MD5 you specified did not match what we received."
        return 200, None, None


class Server(standin.Server):
    # a client that goes away (the server under test is stopped) is expected
    quiet_errors = (ConnectionError, TimeoutError)


def serve(args):
    return standin.serve(args, Handler, State(args), server_class=Server)


def put(args):
    body = args.body.encode()
    when = datetime.datetime.utcnow() - datetime.timedelta(seconds=args.skew_seconds)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    sha = hashlib.sha256(body + (b"tampered" if args.bad_sha else b"")).hexdigest()
    u = urllib.parse.urlsplit(args.url)
    headers = {"host": u.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": sha,
               "content-md5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    if args.session_token and not args.no_token:
        headers["x-amz-security-token"] = args.session_token
    req = AWSRequest(method="PUT", url=args.url, headers=headers, data=body)
    req.context["timestamp"] = amz_date
    auth = S3SigV4Auth(Credentials(args.access_key_id, args.secret_access_key), "s3", args.region)
    canonical = auth.canonical_request(req)
    sig = auth.signature(auth.string_to_sign(req, canonical), req)
    signed = ";".join(sorted(headers))
    scope = f"{amz_date[:8]}/{args.region}/s3/aws4_request"
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={args.access_key_id}/{scope}, "
                                f"SignedHeaders={signed}, Signature={sig}")
    r = urllib.request.Request(args.url, data=body, method="PUT",
                               headers={k: v for k, v in headers.items() if k != "host"})
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            print(resp.status, "-")
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        m = re.search(r"<Code>([^<]*)</Code>", text)
        print(e.code, m.group(1) if m else "-")
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    standin.add_server_args(s)
    s.add_argument("--store", required=True)
    s.add_argument("--bucket", required=True)
    s.add_argument("--access-key-id", required=True)
    s.add_argument("--secret-access-key", required=True)
    s.add_argument("--session-token")
    s.add_argument("--region", default="us-east-1")
    c = sub.add_parser("put")
    c.add_argument("--url", required=True)
    c.add_argument("--access-key-id", required=True)
    c.add_argument("--secret-access-key", required=True)
    c.add_argument("--region", default="us-east-1")
    c.add_argument("--body", default="hello\n")
    c.add_argument("--skew-seconds", type=int, default=0)
    c.add_argument("--bad-sha", action="store_true")
    c.add_argument("--session-token")
    c.add_argument("--no-token", action="store_true")
    args = p.parse_args()
    return serve(args) if args.cmd == "serve" else put(args)


if __name__ == "__main__":
    sys.exit(main())
