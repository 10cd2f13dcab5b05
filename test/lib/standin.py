"""standin.py: what the loopback stand-ins of the globalsync TAP tests share
(webhook_receiver.py, s3_sigv4_receiver.py, snowflake_standin.py,
fhir_standin.py).  Python 3 standard library only.

  add_server_args  --port, --port-file, --log, --max-lifetime
  JsonLog          the request log: one JSON object per line, flushed at once
  Modes            the answer settings a test changes while it runs: defaults,
                   settings per request path, "count" and "then"
  Handler          a quiet HTTP/1.1 request handler with a socket timeout
  Server           a threading HTTP server on 127.0.0.1 for which a client
                   that goes away is no error
  reset_connection close a connection without an answer (RST)
  serve, run       serve until SIGTERM/SIGINT/SIGHUP, until the parent goes
                   away or after --max-lifetime seconds: never linger

STOP is set when the stand-in is to stop; a request that waits (a hang, a
slow answer) waits on it.
"""

import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STOP = threading.Event()


def add_server_args(ap):
    """The options every stand-in takes, on an argparse (sub)parser."""
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--max-lifetime", type=float, default=900)


class JsonLog:
    """A JSONL file; each record written and flushed under a lock, so that a
    test reading it never sees two records mixed."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8")

    def write(self, rec):
        with self.lock:
            self.file.write(json.dumps(rec, sort_keys=True) + "\n")
            self.file.flush()

    def close(self):
        with self.lock:
            self.file.close()


class Modes:
    """Answer settings: defaults and, per request path, settings that
    override them.  A mode with "count": N answers the next N requests (of
    its path), after which it becomes "then" (default "ok").  Every access
    under self.lock, which subclasses use for their own state too."""

    def __init__(self, modes, defaults, keys=None):
        self.lock = threading.Lock()
        self.modes = modes
        self.initial = dict(defaults)
        self.keys = tuple(keys or defaults)
        self.defaults = dict(defaults)
        self.paths = {}
        self.seq = 0

    def clean(self, d):
        """The settings of d (a control request), modes checked."""
        if not isinstance(d, dict):
            raise ValueError("a JSON object is needed")
        out = {k: d[k] for k in self.keys if k in d}
        for k in ("mode", "then"):
            if k in out and out[k] not in self.modes:
                raise ValueError(f"unknown mode {out[k]!r}")
        return out

    def control(self, req):
        """Apply a control request: {"reset": true} first drops the settings
        of its "path" (without path: every setting); returns config()."""
        new = self.clean(req)
        with self.lock:
            path = req.get("path")
            if path is None:
                if req.get("reset"):
                    self.defaults = dict(self.initial)
                    self.paths = {}
                self.defaults.update(new)
            else:
                cur = {} if req.get("reset") else self.paths.get(path, {})
                cur.update(new)
                self.paths[path] = cur
            return self._config()

    def _config(self):
        return {"defaults": self.defaults, "paths": self.paths}

    def config(self):
        with self.lock:
            return self._config()

    def _take(self, path):
        """(settings, seq) that answer one request of path; consumes a
        count.  The caller holds self.lock."""
        target = self.paths.get(path)
        if target is None or "mode" not in target:
            target = self.defaults
        eff = dict(self.defaults)
        eff.update(self.paths.get(path, {}))
        if target.get("count") is not None:
            if target["count"] <= 0:
                target["mode"] = target.get("then") or "ok"
                target["count"] = None
                eff["mode"] = target["mode"]
            else:
                target["count"] -= 1
                eff["mode"] = target["mode"]
                if target["count"] == 0:
                    target["mode"] = target.get("then") or "ok"
                    target["count"] = None
        self.seq += 1
        return eff, self.seq

    def decide(self, path=None):
        with self.lock:
            return self._take(path)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive; answers Expect: 100-continue
    timeout = 60                      # on the socket: no read blocks forever

    def log_message(self, fmt, *args):  # quiet
        pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def answer(self, status, data, ctype, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def answer_json(self, status, obj, ctype="application/json", headers=()):
        """Answer obj as one line of JSON; returns that text."""
        data = (json.dumps(obj, sort_keys=True) + "\n").encode()
        self.answer(status, data, ctype, headers)
        return data.decode()

    def answer_control(self, state, body):
        """Apply a control request (body: JSON) to state (a Modes) and answer
        the configuration; 400 and why when it is refused."""
        try:
            cfg = state.control(json.loads(body or b"{}"))
        except ValueError as e:
            self.answer_json(400, {"error": str(e)})
            return
        self.answer_json(200, cfg)

    def pause(self, seconds):
        """Wait before answering; False (and the connection to be closed)
        when the stand-in stops meanwhile."""
        STOP.wait(seconds)
        if STOP.is_set():
            self.close_connection = True
            return False
        return True


def reset_connection(handler):
    """Close the connection without an answer, with RST rather than FIN: the
    client sees the connection reset."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
    except OSError:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    # errors of a client that went away (timeout, reset) are normal here
    quiet_errors = (OSError,)

    def __init__(self, port, handler, state):
        super().__init__(("127.0.0.1", port), handler)
        self.state = state

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], self.quiet_errors):
            return
        super().handle_error(request, client_address)


def serve(args, handler, state, server_class=Server, cert=None, key=None):
    """Serve handler (its state: state, with a JsonLog in state.log) as the
    options of add_server_args say; over TLS with cert and key.  Returns
    the exit status, 0."""
    server = server_class(args.port, handler, state)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        # the handshake runs in the request's thread (the handler's setup),
        # so a client that stalls it cannot block the accept loop
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    return run(server, state.log, args.port_file, args.max_lifetime, tls=bool(cert))


def run(server, log, port_file, max_lifetime, **start):
    """Log {"kind": "start", "port", "pid", **start}, serve, write the port
    to port_file (through a rename: a reader never sees half of it), and
    stop (log {"kind": "stop"}) on a signal, when the parent process goes
    away or after max_lifetime seconds.  Returns the exit status, 0."""
    port = server.server_address[1]
    log.write(dict(start, kind="start", port=port, pid=os.getpid()))

    def on_signal(signum, frame):
        STOP.set()

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    th = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                          daemon=True)
    th.start()
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, port_file)

    parent = os.getppid()
    deadline = time.monotonic() + max_lifetime
    while not STOP.wait(0.2):
        if time.monotonic() > deadline or os.getppid() != parent:
            STOP.set()
    server.shutdown()
    server.server_close()
    log.write({"kind": "stop"})
    log.close()
    return 0
