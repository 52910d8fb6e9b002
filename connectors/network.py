"""A failed connection, told the same way for both CRMs: where to, why, and whether the request left.

Both SDKs fail a call that got no answer with an exception from ``requests`` (Salesforce) or
``urllib3`` (HubSpot), usually wrapped a few times. :func:`connection_failure` looks through
the wrapping and answers two questions: what happened, in words, and whether the request
may have reached the CRM (``sent``). A connection refused, a host name that does not resolve,
or a connect timeout means nothing was sent: a write was certainly not applied, and the
URL or the network is the thing to check. A read timeout or a connection cut after sending
means a write may have been applied.

:func:`origin` gives the part of a URL that is safe to print: ``scheme://host:port``, never
user info, path, query string or fragment (where credentials could hide).

The timeouts and attempt counts below keep a CRM that cannot be reached from holding a run in
silence: a refused connection fails in well under a second per attempt, and connecting is
tried at most :data:`CONNECT_ATTEMPTS` times (nothing was sent, so only a network blip can
make a second try succeed).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import requests
import urllib3

#: Seconds to wait for a TCP (and TLS) connection. A CRM answers a connect in milliseconds.
CONNECT_TIMEOUT = 5.0
#: Attempts for a call that could not connect at all (nothing sent), whatever ``max_attempts`` says.
CONNECT_ATTEMPTS = 2
_DEFAULT_PORTS = {"https": 443, "http": 80}


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``; nothing that could carry a credential."""
    parts = urlsplit(url)
    scheme = parts.scheme or "https"
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps: causes, contexts, and the exceptions urllib3/requests
    keep in ``reason`` or ``args``."""
    out: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(out) < 20:
        e = todo.pop(0)
        if any(e is seen for seen in out):
            continue
        out.append(e)
        for nxt in (getattr(e, "reason", None), e.__cause__, e.__context__, *getattr(e, "args", ())):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return out


def connection_failure(exc: BaseException) -> tuple[str, bool]:
    """``(what happened in words, sent)`` for an exception raised by a call that got no answer."""
    chain = _chain(exc)

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    # Order matters: urllib3's NewConnectionError derives from ConnectTimeoutError.
    if has(urllib3.exceptions.NameResolutionError, socket.gaierror):
        return "the host name does not resolve", False
    if has(urllib3.exceptions.ProxyError, requests.exceptions.ProxyError):
        return "the proxy refused or dropped the connection", False
    if has(ConnectionRefusedError) or any("refused" in str(e).lower() for e in chain
                                          if isinstance(e, urllib3.exceptions.NewConnectionError)):
        return "connection refused", False
    if has(urllib3.exceptions.NewConnectionError):
        return "could not open a connection", False
    if has(urllib3.exceptions.ConnectTimeoutError, requests.exceptions.ConnectTimeout):
        return f"no connection within {CONNECT_TIMEOUT:g} s", False
    if has(urllib3.exceptions.ReadTimeoutError, requests.exceptions.ReadTimeout, TimeoutError):
        return "no answer within the read timeout", True
    if has(requests.exceptions.ChunkedEncodingError, urllib3.exceptions.IncompleteRead):
        return "the answer was cut off", True
    if has(ConnectionResetError, ConnectionAbortedError, BrokenPipeError, urllib3.exceptions.ProtocolError):
        return "the connection was closed without an answer", True
    return type(exc).__name__, True
