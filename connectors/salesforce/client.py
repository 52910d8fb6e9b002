"""One factory for a simple-salesforce client, from typed credentials read from the environment.

Credentials never come from files in the repository and are never logged: the dataclass
hides them from ``repr`` so an exception or a debug print cannot leak them.

Three log-in routes, all ending in a bearer session:
- ``SALESFORCE_INSTANCE_URL`` + ``SALESFORCE_ACCESS_TOKEN`` (a session id or OAuth token);
- ``SALESFORCE_INSTANCE_URL`` + ``SALESFORCE_USERNAME`` / ``SALESFORCE_PASSWORD`` /
  ``SALESFORCE_SECURITY_TOKEN`` (+ optional ``SALESFORCE_CLIENT_ID`` / ``SALESFORCE_CLIENT_SECRET``),
  exchanged at ``{instance}/services/oauth2/token`` with the OAuth 2.0 username-password grant;
- ``SALESFORCE_INSTANCE_URL`` + ``SALESFORCE_CLIENT_ID`` / ``SALESFORCE_CLIENT_SECRET`` alone: the
  OAuth 2.0 client-credentials grant (a connected app that runs as its integration user).
  (simple-salesforce's own username login speaks SOAP to ``*.salesforce.com`` only, so a
  My Domain or sandbox instance URL would be ignored; the OAuth grant honours it.)
``SALESFORCE_CA_BUNDLE`` pins the certificate authority to trust (the sandbox's own CA).

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
from connectors.errors import AuthenticationError, ConnectionFailed, CrmError, redact_bearer
from connectors.network import CONNECT_TIMEOUT, connection_failure, origin

DEFAULT_API_VERSION = "62.0"
_API_VERSION = re.compile(r"^\d{2,3}\.\d$")
#: What to check when the OAuth token endpoint refuses a log-in, by its ``error``.
_LOGIN_HINTS = {
    "invalid_grant": "check SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN "
                     "(resetting a password issues a new security token)",
    "invalid_client": "check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (the connected app's "
                      "consumer key and secret)",
    "invalid_client_id": "check SALESFORCE_CLIENT_ID (the connected app's consumer key)",
}


@dataclass(frozen=True)
class SalesforceCredentials:
    instance_url: str
    access_token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    api_version: str = DEFAULT_API_VERSION

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SalesforceCredentials:
        """Read and check every variable; ``ValueError`` names the first bad one, never its value."""
        env = os.environ if env is None else env
        url = env_url(env, "SALESFORCE_INSTANCE_URL", schemes=("https",), required=True)
        assert url is not None
        version = (env.get("SALESFORCE_API_VERSION") or DEFAULT_API_VERSION).strip().removeprefix("v")
        if not _API_VERSION.match(version):
            raise ValueError("SALESFORCE_API_VERSION must look like 62.0")
        creds = cls(
            instance_url=url,
            access_token=env_secret(env, "SALESFORCE_ACCESS_TOKEN", header=True),
            username=env_secret(env, "SALESFORCE_USERNAME"),
            password=env_secret(env, "SALESFORCE_PASSWORD", spaces=True),
            security_token=env_secret(env, "SALESFORCE_SECURITY_TOKEN"),
            client_id=env_secret(env, "SALESFORCE_CLIENT_ID"),
            client_secret=env_secret(env, "SALESFORCE_CLIENT_SECRET"),
            ca_bundle=env_ca_file(env, "SALESFORCE_CA_BUNDLE"),
            api_version=version,
        )
        if not creds.access_token and not (creds.username and creds.password) and not creds.client_credentials:
            raise ValueError(
                "set SALESFORCE_ACCESS_TOKEN, or SALESFORCE_USERNAME and SALESFORCE_PASSWORD, "
                "or SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET"
            )
        return creds

    @property
    def client_credentials(self) -> bool:
        """Log in with the client-credentials grant (a client id and secret, no user password)."""
        return bool(self.client_id and self.client_secret and not (self.username and self.password))


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


def fetch_token(creds: SalesforceCredentials, session: requests.Session) -> tuple[str, str]:
    """OAuth 2.0 username-password or client-credentials grant; returns (access_token, instance_url)."""
    if creds.client_credentials:
        form = {"grant_type": "client_credentials"}
    else:
        form = {
            "grant_type": "password",
            "username": creds.username or "",
            "password": (creds.password or "") + (creds.security_token or ""),
        }
    if creds.client_id:
        form["client_id"] = creds.client_id
    if creds.client_secret:
        form["client_secret"] = creds.client_secret
    url = f"{creds.instance_url}/services/oauth2/token"
    what = "POST oauth2/token"
    try:
        resp = session.post(url, data=form, timeout=(CONNECT_TIMEOUT, 30.0))
    except requests.exceptions.SSLError:
        raise CrmError(f"{what}: TLS verification of {origin(url)} failed; check SALESFORCE_CA_BUNDLE (the CA "
                       "that signed the server's certificate)", crm="salesforce", code="TLS_ERROR") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        reason, sent = connection_failure(exc)
        raise ConnectionFailed(crm="salesforce", what=what, url=origin(url), reason=reason, write=False, sent=sent,
                               setting="SALESFORCE_INSTANCE_URL") from None
    try:
        body = resp.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    if resp.status_code != 200:
        error = _scrub_login(str(body.get("error") or f"HTTP {resp.status_code}"), creds)[:80]
        detail = _scrub_login(str(body.get("error_description") or resp.reason or ""), creds)[:200]
        hint = _LOGIN_HINTS.get(error) or (
            "check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET" if creds.client_credentials
            else "check SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN")
        if error == "invalid_grant" and creds.client_credentials:
            hint = ("check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET, and that the connected app has a "
                    "run-as user for the client-credentials flow")
        message = f"{what}: Salesforce refused the log-in at {origin(url)} ({error}" + (f": {detail}" if detail else "")
        if resp.status_code in (400, 401, 403):
            raise AuthenticationError(f"{message}); {hint}", crm="salesforce", status=resp.status_code, code=error)
        raise CrmError(f"{message}); try again later", crm="salesforce", status=resp.status_code, code=error)
    token, instance = body.get("access_token"), body.get("instance_url")
    if not isinstance(token, str) or not token:
        raise CrmError(f"{what}: the log-in answer holds no access_token", crm="salesforce", code="BAD_RESPONSE")
    return token, instance if isinstance(instance, str) and instance else creds.instance_url


def _scrub_login(text: str, creds: SalesforceCredentials) -> str:
    """Text from the token endpoint, without any credential we sent it."""
    for secret in ((creds.password or "") + (creds.security_token or ""), creds.password, creds.security_token,
                   creds.client_secret):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return redact_bearer(" ".join(text.split()))


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
    """A simple-salesforce client; with ``calls``, every HTTP call it makes is counted there."""
    session = http_session(creds.ca_bundle)
    if calls is not None:
        count_calls(session, calls)
    token, instance_url = (
        (creds.access_token, creds.instance_url) if creds.access_token else fetch_token(creds, session)
    )
    # simple-salesforce keeps host:port of instance_url and always speaks https.
    netloc = urlsplit(instance_url).netloc or instance_url
    return Salesforce(instance_url=f"https://{netloc}", session_id=token, session=session, version=creds.api_version)
