"""The machinery both sandbox CRMs share: routing, state on disk, call counts, fault injection.

A sandbox is an :class:`App` (routes + a SQLite state file) served by :func:`serve` on a
loopback port, over TLS when given a certificate (Salesforce clients only speak https).
Requests are handled one at a time under the app's lock, so parallel clients see the same
serial order a real CRM's row locks would give them; injected latency is slept *outside*
the lock so slow responses do not hold up other clients.

The admin API lives under ``/__sandbox/`` on every sandbox and is not counted as API use:

- ``POST /__sandbox/reset`` — wipe state, faults, counts and config back to defaults;
- ``GET /__sandbox/calls`` — ``{"total": N, "by_endpoint": {"POST composite/sobjects": 3, …}}``;
  ``DELETE /__sandbox/calls`` zeroes them;
- ``POST /__sandbox/faults`` — add a fault (see :class:`Fault`); ``GET`` lists, ``DELETE`` clears;
- ``GET /__sandbox/config`` / ``POST /__sandbox/config`` — read / merge sandbox switches
  (daily allocation, duplicate rules, …; each sandbox documents its own);
- anything else under ``/__sandbox/`` is routed to the sandbox's own admin routes.
"""

from __future__ import annotations

import json
import random
import re
import socket
import sqlite3
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ADMIN_PREFIX = "/__sandbox"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route pattern
    route_name: str = ""

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def bearer_token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        if auth.lower().startswith("oauth "):
            return auth[6:].strip()
        return None


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str -> text, bytes -> raw, None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def encode(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", self.content_type or "application/json"
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.content_type or "text/plain; charset=utf-8"
        return (
            json.dumps(self.body, separators=(",", ":"), default=str).encode("utf-8"),
            self.content_type or "application/json;charset=UTF-8",
        )


@dataclass
class Fault:
    """One injected fault, matched against non-admin requests in the order added.

    kind:
      ``latency``           sleep ``seconds`` then handle normally;
      ``status``            answer ``status`` with ``body``/``headers`` *without* handling; with
                            ``echo_authorization: true`` the answer quotes the request's
                            ``Authorization`` header (as a careless proxy or server would), so
                            tests can prove a client keeps the token out of its errors;
      ``drop_after_commit`` handle and commit, then close the connection with no response
                            (the lost-response case: the write happened, the client never hears);
      ``reset``             reset the TCP connection (RST) *without* handling: nothing was
                            applied, the client sees ``ECONNRESET`` — what a load balancer or
                            proxy between the client and the CRM does when it drops a
                            connection; neither CRM documents it as an API answer (HubSpot's
                            error handling page,
                            https://developers.hubspot.com/docs/api-reference/error-handling,
                            lists HTTP answers only), so clients must treat it like a 5xx;
      any other kind        is left for the sandbox to consult with :meth:`App.take_fault`
                            (e.g. Salesforce ``lock_row``).
    A fault fires for the next ``count`` matching calls (``None`` = unlimited) after letting
    the first ``skip`` matching calls through untouched (so the second of three batches can
    fail while the first lands), each with probability ``rate`` (1.0 = always), on requests
    whose method and path match — and, with
    ``query``, whose decoded query string (``q=SELECT Id FROM Contact WHERE …``) matches too,
    so one SOQL statement can fail while others succeed.
    """

    kind: str
    method: str | None = None
    path: str | None = None  # regex searched in the request path
    query: str | None = None  # regex searched in the decoded query string ("k=v&k2=v2")
    count: int | None = 1
    rate: float = 1.0
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    echo_authorization: bool = False
    skip: int = 0
    fired: int = 0
    seen: int = 0  # matching calls let through because of ``skip``

    def matches(self, req: Request) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if self.method and self.method.upper() != req.method:
            return False
        if self.path and not re.search(self.path, req.path):
            return False
        if self.query:
            text = "&".join(f"{k}={v}" for k, values in req.query.items() for v in values)
            if not re.search(self.query, text):
                return False
        return True

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


Handler = Callable[[Request], Response]


class DroppedConnection(Exception):
    """Raised inside the server to close the socket without answering."""


class ResetConnection(Exception):
    """Raised inside the server to reset the connection (RST) without handling the request."""


class App:
    """A sandbox API: routes, a SQLite state file, call counts and faults."""

    name = "sandbox"

    def __init__(self, db_path: Path, *, seed: int = 0) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(str(self.db_path), check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self.admin_routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self.calls: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self.random = random.Random(seed)
        self.config: dict[str, Any] = self.default_config()
        self.create_schema()

    # -- to override -------------------------------------------------------------------
    def default_config(self) -> dict[str, Any]:
        return {}

    def create_schema(self) -> None:
        """Create tables if missing (state survives restarts)."""

    def drop_state(self) -> None:
        """Delete every row of the sandbox's own tables."""

    def before_request(self, req: Request) -> Response | None:
        """Authentication, limits: return a response to short-circuit the call."""
        return None

    def after_request(self, req: Request, resp: Response) -> None:
        """Add headers every response carries (limit info and the like)."""

    def error_response(self, exc: Exception) -> Response:
        return Response(500, {"message": f"sandbox error: {exc}"})

    def echo_body(self, authorization: str) -> Any:
        """The error body of an ``echo_authorization`` fault that gave none of its own."""
        return {"status": "error", "message": f"request rejected; it carried Authorization: {authorization}"}

    # -- routing -----------------------------------------------------------------------
    def route(self, method: str, pattern: str, name: str | None = None) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.routes.append((method.upper(), re.compile(f"^{pattern}$"), name or fn.__name__, fn))
            return fn

        return register

    def admin_route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.admin_routes.append(
                (method.upper(), re.compile(f"^{ADMIN_PREFIX}{pattern}$"), fn.__name__, fn)
            )
            return fn

        return register

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of state change; callers already hold :attr:`lock`."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def take_fault(self, kind: str, req: Request) -> Fault | None:
        """Consume one firing of the first matching fault of ``kind``, if it fires now."""
        with self.lock:
            for fault in self.faults:
                if fault.kind == kind and fault.matches(req):
                    if fault.seen < fault.skip:
                        fault.seen += 1
                        continue
                    if self.random.random() < fault.rate:
                        fault.fired += 1
                        return fault
        return None

    # -- dispatch ----------------------------------------------------------------------
    def _find(
        self, table: list[tuple[str, re.Pattern[str], str, Handler]], req: Request
    ) -> tuple[Handler, str] | None | bool:
        path_matched = False
        for method, pattern, name, fn in table:
            m = pattern.match(req.path)
            if not m:
                continue
            path_matched = True
            if method == req.method:
                req.params = {k: v for k, v in m.groupdict().items() if v is not None}
                return fn, name
        return path_matched  # True: 405, False: 404

    def handle(self, req: Request) -> Response:
        """Answer one request; raises :class:`DroppedConnection` to hang up after a commit."""
        if req.path.startswith(ADMIN_PREFIX + "/"):
            return self._handle_admin(req)
        found = self._find(self.routes, req)
        if not isinstance(found, tuple):
            status = 405 if found else 404
            return Response(status, self.not_found_body(req, status))
        fn, name = found
        req.route_name = name
        with self.lock:
            self.calls[f"{req.method} {name}"] += 1
        latency = self.take_fault("latency", req)
        if latency is not None:
            time.sleep(latency.seconds)
        if self.take_fault("reset", req) is not None:
            raise ResetConnection()
        injected = self.take_fault("status", req)
        if injected is not None:
            body = injected.body
            if injected.echo_authorization:
                header = req.headers.get("authorization", "")
                body = self.echo_body(header) if body is None else _echo_in_messages(body, header)
            resp = Response(injected.status, body, dict(injected.headers))
            with self.lock:
                self.after_request(req, resp)
            return resp
        drop = self.take_fault("drop_after_commit", req)
        with self.lock:
            early = self.before_request(req)
            if early is not None:
                resp = early
            else:
                try:
                    resp = fn(req)
                except Exception as exc:  # a sandbox bug must answer, not hang the client
                    resp = self.error_response(exc)
            self.after_request(req, resp)
        if drop is not None:
            raise DroppedConnection()
        return resp

    def not_found_body(self, req: Request, status: int) -> Any:
        return {"message": f"{req.method} {req.path} is not emulated by the sandbox", "status": status}

    def _handle_admin(self, req: Request) -> Response:
        sub = req.path[len(ADMIN_PREFIX) :]
        with self.lock:
            if sub == "/reset" and req.method == "POST":
                self.drop_state()
                self.calls.clear()
                self.faults.clear()
                self.config = self.default_config()
                return Response(200, {"reset": True})
            if sub == "/calls":
                if req.method == "DELETE":
                    self.calls.clear()
                return Response(200, {"total": sum(self.calls.values()), "by_endpoint": dict(self.calls)})
            if sub == "/faults":
                if req.method == "POST":
                    spec = req.json() or {}
                    try:
                        fault = Fault(**{k: v for k, v in spec.items() if k not in ("fired", "seen")})
                    except TypeError as exc:
                        return Response(400, {"message": f"bad fault: {exc}"})
                    self.faults.append(fault)
                    return Response(201, fault.public())
                if req.method == "DELETE":
                    self.faults.clear()
                return Response(200, [f.public() for f in self.faults])
            if sub == "/config":
                if req.method == "POST":
                    patch = req.json() or {}
                    unknown = sorted(set(patch) - set(self.config))
                    if unknown:
                        known = sorted(self.config)
                        return Response(400, {"message": f"unknown config keys {unknown}; known: {known}"})
                    self.config.update(patch)
                return Response(200, self.config)
            found = self._find(self.admin_routes, req)
            if isinstance(found, tuple):
                return found[0](req)
            return Response(404, {"message": f"unknown admin path {req.path}"})


def _echo_in_messages(body: Any, authorization: str) -> Any:
    """``body`` with every ``message`` text ending in a quote of the request's Authorization header."""
    if isinstance(body, list):
        return [_echo_in_messages(item, authorization) for item in body]
    if isinstance(body, dict):
        return {k: (f"{v} (request carried Authorization: {authorization})" if k == "message" and isinstance(v, str)
                    else _echo_in_messages(v, authorization)) for k, v in body.items()}
    return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: tests and the demo read stdout

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            resp = self.server.app.handle(req)
        except DroppedConnection:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        except ResetConnection:
            self.close_connection = True
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN. Closed here, before
            # the server's own shutdown() would send a FIN first.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # the only file object holding the socket open (wfile is unbuffered)
            self.connection.close()
            return
        payload, ctype = resp.encode()
        self.send_response(resp.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], app: App, ssl_context: ssl.SSLContext | None) -> None:
        self.app = app
        self.ssl_context = ssl_context
        super().__init__(addr, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        # Headers and body go out as separate writes; without TCP_NODELAY, Nagle's algorithm
        # holds the body until the client's delayed ACK (~40 ms), on every single request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            # Handshake in the handler thread, not the accept loop, so one slow client
            # cannot stall the others.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


@dataclass
class Served:
    app: App
    server: _Server
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.app.db.close()


def serve(app: App, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None) -> Served:
    """Start ``app`` on a background thread; port 0 picks a free port."""
    server = _Server((host, port), app, ssl_context)
    thread = threading.Thread(target=server.serve_forever, name=f"{app.name}-sandbox", daemon=True)
    thread.start()
    scheme = "https" if ssl_context is not None else "http"
    return Served(app, server, thread, f"{scheme}://{host}:{server.server_address[1]}")
