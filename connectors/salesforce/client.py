"""One factory for a simple-salesforce client, from typed credentials read from the environment.

Credentials never come from files in the repository and are never logged: the dataclass
hides them from ``repr`` so an exception or a debug print cannot leak them.

Four log-in routes, all ending in a bearer session (:mod:`connectors.salesforce.login` has the grants):
- ``SALESFORCE_INSTANCE_URL`` + ``SALESFORCE_ACCESS_TOKEN`` (a session id or OAuth token);
- the OAuth 2.0 **JWT bearer** flow, as server integrations log in: ``SALESFORCE_CLIENT_ID`` (the
  connected app's consumer key) + ``SALESFORCE_USERNAME`` + ``SALESFORCE_PRIVATE_KEY`` (PEM) or
  ``SALESFORCE_PRIVATE_KEY_FILE``; the instance URL comes back with the session;
- ``SALESFORCE_USERNAME`` / ``SALESFORCE_PASSWORD`` / ``SALESFORCE_SECURITY_TOKEN`` (+ optional
  ``SALESFORCE_CLIENT_ID`` / ``SALESFORCE_CLIENT_SECRET``): the OAuth 2.0 username-password grant;
- ``SALESFORCE_CLIENT_ID`` / ``SALESFORCE_CLIENT_SECRET`` alone: the client-credentials grant (a
  connected app that runs as its integration user).
The grants go to the login host ``SALESFORCE_DOMAIN`` names (``login``, ``test`` for a sandbox org,
or a My Domain such as ``acme.my``), else (password, client credentials) to
``{SALESFORCE_INSTANCE_URL}/services/oauth2/token``. ``SALESFORCE_LOGIN_URL`` sends what is
addressed to the login host elsewhere (the local sandbox CRM). ``SALESFORCE_CA_BUNDLE`` pins the
certificate authority to trust (the sandbox's own CA).

Every variable is checked when read (:mod:`connectors.credentials`): a token with a line
break, a URL without ``https://host``, a CA file that is missing fail here, naming the
variable, before any call. A refused log-in is an :class:`~connectors.errors.AuthenticationError`
saying which variables to check; a log-in endpoint that cannot be reached, a
:class:`~connectors.errors.ConnectionFailed`. None of their messages quotes a credential.

API calls are counted at the transport (:func:`count_calls`), below the SDK, so every HTTP
attempt is seen — retries, query pages, Bulk polls, and requests whose connection dropped
before any response (a response hook would miss those, yet the CRM may have counted them).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from simple_salesforce import Salesforce

from connectors.credentials import env_ca_file, env_secret, env_url
from connectors.crm import ApiCalls

DEFAULT_API_VERSION = "62.0"
_API_VERSION = re.compile(r"^\d{2,3}\.\d$")


_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def _domain(value: str | None) -> str | None:
    """``SALESFORCE_DOMAIN`` as simple-salesforce takes it: ``login``, ``test``, ``acme.my``."""
    if not value or not value.strip():
        return None
    d = value.strip().lower().removeprefix("https://").rstrip("/").removesuffix(".salesforce.com")
    if not _DOMAIN.match(d):
        raise ValueError("SALESFORCE_DOMAIN must be login, test or your My Domain (e.g. acme.my)")
    return d


@dataclass(frozen=True)
class SalesforceCredentials:
    instance_url: str = ""
    access_token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    private_key_file: str | None = field(default=None, repr=False)
    domain: str | None = None
    login_url: str | None = None
    ca_bundle: str | None = None
    api_version: str = DEFAULT_API_VERSION

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SalesforceCredentials:
        """Read and check every variable; ``ValueError`` names the first bad one, never its value."""
        env = os.environ if env is None else env
        url = env_url(env, "SALESFORCE_INSTANCE_URL", schemes=("https",))
        version = (env.get("SALESFORCE_API_VERSION") or DEFAULT_API_VERSION).strip().removeprefix("v")
        if not _API_VERSION.match(version):
            raise ValueError("SALESFORCE_API_VERSION must look like 62.0")
        creds = cls(
            instance_url=url or "",
            access_token=env_secret(env, "SALESFORCE_ACCESS_TOKEN", header=True),
            username=env_secret(env, "SALESFORCE_USERNAME"),
            password=env_secret(env, "SALESFORCE_PASSWORD", spaces=True),
            security_token=env_secret(env, "SALESFORCE_SECURITY_TOKEN"),
            client_id=env_secret(env, "SALESFORCE_CLIENT_ID"),
            client_secret=env_secret(env, "SALESFORCE_CLIENT_SECRET"),
            # A PEM key spans lines: it is read as it is, never sent, only used to sign.
            private_key=env.get("SALESFORCE_PRIVATE_KEY") or None,
            private_key_file=env.get("SALESFORCE_PRIVATE_KEY_FILE") or None,
            domain=_domain(env.get("SALESFORCE_DOMAIN")),
            login_url=env_url(env, "SALESFORCE_LOGIN_URL", schemes=("https",)),
            ca_bundle=env_ca_file(env, "SALESFORCE_CA_BUNDLE"),
            api_version=version,
        )
        if creds.private_key and creds.private_key_file:
            raise ValueError("set SALESFORCE_PRIVATE_KEY or SALESFORCE_PRIVATE_KEY_FILE, not both")
        if (creds.private_key or creds.private_key_file) and not (creds.client_id and creds.username):
            raise ValueError("the JWT bearer log-in needs SALESFORCE_CLIENT_ID (the connected app's consumer key) "
                             "and SALESFORCE_USERNAME beside the private key")
        if creds.private_key_file and not os.path.isfile(creds.private_key_file):
            raise ValueError("SALESFORCE_PRIVATE_KEY_FILE names no readable file")
        if not (creds.access_token or creds.jwt or (creds.username and creds.password) or creds.client_credentials):
            raise ValueError(
                "set SALESFORCE_ACCESS_TOKEN; or SALESFORCE_CLIENT_ID, SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY "
                "(JWT bearer); or SALESFORCE_USERNAME and SALESFORCE_PASSWORD; or SALESFORCE_CLIENT_ID and "
                "SALESFORCE_CLIENT_SECRET"
            )
        if not creds.instance_url and (creds.access_token or not (creds.jwt or creds.domain or creds.login_url)):
            raise ValueError("SALESFORCE_INSTANCE_URL is not set (or set SALESFORCE_DOMAIN to log in at login, "
                             "test or your My Domain)")
        return creds

    @property
    def jwt(self) -> bool:
        """Log in with the JWT bearer flow (a consumer key, a username and a private key)."""
        return bool(self.client_id and self.username and (self.private_key or self.private_key_file)
                    and not self.access_token)
    @property
    def client_credentials(self) -> bool:
        """Log in with the client-credentials grant (a client id and secret, no user password)."""
        return bool(self.client_id and self.client_secret and not (self.username and self.password) and not self.jwt)


def http_session(ca_bundle: str | None) -> requests.Session:
    """A session that trusts exactly ``ca_bundle`` when given.

    ``trust_env`` is off when a bundle is pinned: otherwise ``REQUESTS_CA_BUNDLE`` from the
    machine silently replaces our ``verify`` setting on every request.
    """
    session = requests.Session()
    if ca_bundle:
        session.verify = ca_bundle
        session.trust_env = False
    return session


_API_PREFIX = re.compile(r"^/services/data/v\d+\.\d+/")
# Record / job ids (15 or 18 characters, with digits) and query locators ("01g…-2000").
_ID_SEGMENT = re.compile(r"^(?=[0-9A-Za-z-]*[0-9])[0-9A-Za-z]{15,18}(-\d+)?$")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def endpoint_name(method: str, url: str) -> str:
    """``"PATCH composite/sobjects/Lead/Email__c"``: method + API path, ids folded to ``{id}``.

    Folding ids keeps the per-endpoint counts a short, stable list (one Bulk job's polls
    and query pages add up under one name instead of one name per job or cursor).
    """
    path = _API_PREFIX.sub("", urlsplit(url).path).strip("/")
    parts = ["{id}" if _ID_SEGMENT.match(p) else p for p in path.split("/")]
    return f"{method.upper()} {'/'.join(parts)}"


class CountingAdapter(BaseAdapter):
    """Wraps a session's transport and counts each request into every registered :class:`ApiCalls`.

    Counted before sending: a request whose connection drops (the server may have done the
    work and billed the call) still counts. GET/HEAD are reads, everything else a write.
    """

    def __init__(self, inner: BaseAdapter) -> None:
        super().__init__()
        self.inner = inner
        self.counters: list[ApiCalls] = []
        self._lock = threading.Lock()

    def add(self, calls: ApiCalls) -> None:
        with self._lock:
            if not any(c is calls for c in self.counters):
                self.counters.append(calls)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        method = (request.method or "GET").upper()
        name = endpoint_name(method, request.url or "")
        with self._lock:
            counters = list(self.counters)
        for calls in counters:
            calls.add(name, write=method not in _READ_METHODS)
        return self.inner.send(request, *args, **kwargs)

    def close(self) -> None:
        self.inner.close()


def count_calls(session: requests.Session, calls: ApiCalls) -> ApiCalls:
    """Count every HTTP call ``session`` makes into ``calls`` (idempotent per ``calls`` object)."""
    for prefix in ("https://", "http://"):
        adapter = session.get_adapter(prefix)
        if not isinstance(adapter, CountingAdapter):
            adapter = CountingAdapter(adapter)
            session.mount(prefix, adapter)
        adapter.add(calls)
    return calls


def make_client(creds: SalesforceCredentials, *, calls: ApiCalls | None = None) -> Salesforce:
    """A logged-in simple-salesforce client; with ``calls``, every HTTP call it makes is counted there.

    A refused log-in raises :class:`~connectors.errors.AuthenticationError` (one line, with the fix);
    a private key that cannot sign raises ``ValueError`` naming the variable.
    """
    from connectors.salesforce.login import fetch_token, jwt_login, route_login_host

    session = http_session(creds.ca_bundle)
    if calls is not None:
        count_calls(session, calls)
    if creds.jwt:
        return jwt_login(creds, session)
    route_login_host(session, creds)
    token, instance_url = (
        (creds.access_token, creds.instance_url) if creds.access_token else fetch_token(creds, session)
    )
    # simple-salesforce keeps host:port of instance_url and always speaks https.
    netloc = urlsplit(instance_url).netloc or instance_url
    return Salesforce(instance_url=f"https://{netloc}", session_id=token, session=session, version=creds.api_version)
