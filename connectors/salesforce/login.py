"""Logging in to Salesforce: the OAuth 2.0 grants, where they are sent, and what a refusal means.

Three grants end in a bearer session (the fourth route, a ready access token, needs none):

- **JWT bearer** — how server integrations log in (Salesforce Help, "OAuth 2.0 JWT Bearer Flow for
  Server-to-Server Integration"): a connected app with a certificate, its consumer key
  (``SALESFORCE_CLIENT_ID``), the private key of that certificate (``SALESFORCE_PRIVATE_KEY`` or
  ``SALESFORCE_PRIVATE_KEY_FILE``) and the integration user's username. simple-salesforce signs the
  assertion (RS256, ``aud`` = the login host, ``exp`` in 3 minutes) and posts it (:func:`jwt_login`);
- **username-password** and **client credentials**, posted by us (:func:`fetch_token`), because
  simple-salesforce's own username login speaks SOAP to ``*.salesforce.com`` only.

Where a grant goes: ``SALESFORCE_DOMAIN`` names the login host as Salesforce does — ``login``
(production), ``test`` (sandbox orgs), or a My Domain (``acme.my``) — giving
``https://{domain}.salesforce.com``; without it the password and client-credentials grants go to
the instance URL, as before. ``SALESFORCE_LOGIN_URL`` sends whatever is addressed to the login
host to another URL instead (a proxy, or the local sandbox CRM on loopback): the JWT's audience
stays the login host, only the request goes elsewhere (:class:`LoginHostAdapter`).

A refusal becomes one :class:`~connectors.errors.AuthenticationError` line that says what to fix
(:func:`login_failure`); the private key and secrets never appear in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jwt
import requests
from requests.adapters import BaseAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from connectors.errors import AuthenticationError, ConnectionFailed, CrmError, redact_bearer
from connectors.network import CONNECT_TIMEOUT, connection_failure, origin

if TYPE_CHECKING:
    from connectors.salesforce.client import SalesforceCredentials

CRM = "salesforce"

#: What each documented refusal of a grant means for the person who configured it.
_HINTS = {
    "invalid assertion": "the JWT was not accepted: its signature does not match the certificate of the connected "
                         "app — check that SALESFORCE_PRIVATE_KEY (or _FILE) is the key of the certificate uploaded "
                         "to the connected app",
    "expired authorization code": "the JWT had expired when Salesforce read it — this machine's clock must be within "
                                  "3 minutes of Salesforce's",
    "audience is invalid": "the JWT names the wrong login host — set SALESFORCE_DOMAIN to test for a sandbox org, "
                           "login for production, or your My Domain",
    "user hasn't approved this consumer": "SALESFORCE_USERNAME is not pre-authorized for the connected app — in its "
                                          "OAuth policies choose 'Admin approved users are pre-authorized' and add the "
                                          "user's profile or a permission set",
    "client identifier invalid": "SALESFORCE_CLIENT_ID is not the consumer key of a connected app that accepts this "
                                 "log-in (for JWT: 'Use digital signatures' with your certificate)",
    "authentication failure": "wrong username or password (append the security token to the password, or set "
                              "SALESFORCE_SECURITY_TOKEN)",
    "invalid client credentials": "wrong SALESFORCE_CLIENT_ID / SALESFORCE_CLIENT_SECRET",
}


def login_failure(error: str | None, description: str | None, status: int | None = None) -> AuthenticationError:
    """One line naming the refusal and its fix."""
    hint = _HINTS.get((description or "").strip().lower(), "check the log-in variables")
    said = f" ({description})" if description else ""
    return AuthenticationError(f"log-in failed: {hint}{said}", crm=CRM, status=status or 400,
                               code=error or "LOGIN_FAILED", fix=hint)


class LoginHostAdapter(BaseAdapter):
    """Sends what is addressed to the login host to ``target`` instead (``SALESFORCE_LOGIN_URL``).

    Mounted on the session for ``https://{domain}.salesforce.com``; the rewritten request goes
    through whatever adapter the session has for the target (so it is counted like any call).
    """

    def __init__(self, session: requests.Session, source: str, target: str) -> None:
        super().__init__()
        self.session, self.source, self.target = session, source.rstrip("/"), target.rstrip("/")

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        if url.startswith(self.source):
            request.url = self.target + url[len(self.source):]
        return self.session.get_adapter(request.url or "").send(request, *args, **kwargs)

    def close(self) -> None:
        pass


def route_login_host(session: requests.Session, creds: SalesforceCredentials) -> None:
    """With ``SALESFORCE_LOGIN_URL``, requests to the standard login host go there."""
    if creds.login_url:
        standard = f"https://{creds.domain or 'login'}.salesforce.com"
        session.mount(standard, LoginHostAdapter(session, standard, creds.login_url))


def jwt_login(creds: SalesforceCredentials, session: requests.Session) -> Salesforce:
    """The OAuth 2.0 JWT bearer flow through simple-salesforce; a client on the session it opened."""
    route_login_host(session, creds)
    try:
        return Salesforce(username=creds.username, consumer_key=creds.client_id, privatekey=creds.private_key,
                          privatekey_file=creds.private_key_file, domain=creds.domain or "login", session=session,
                          version=creds.api_version)
    except SalesforceAuthenticationFailed as exc:
        description = getattr(exc, "auth_message", None)  # simple-salesforce keeps error_description there
        raise login_failure(str(exc.code) if exc.code else None, str(description or "")) from None
    except (ValueError, TypeError, jwt.exceptions.PyJWTError) as exc:
        # PyJWT could not sign with the key: say which variable, never what it holds.
        which = "SALESFORCE_PRIVATE_KEY_FILE" if creds.private_key_file else "SALESFORCE_PRIVATE_KEY"
        raise ValueError(f"{which} is not an RSA private key in PEM form ({type(exc).__name__})") from None


def token_url(creds: SalesforceCredentials) -> str:
    """Where the password and client-credentials grants go: the login host, else the instance."""
    if creds.login_url:
        return f"{creds.login_url.rstrip('/')}/services/oauth2/token"
    if creds.domain:
        return f"https://{creds.domain}.salesforce.com/services/oauth2/token"
    return f"{creds.instance_url}/services/oauth2/token"


#: What to check when the OAuth token endpoint refuses a password or client-credentials grant, by its ``error``.
_LOGIN_HINTS = {
    "invalid_grant": "check SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN "
                     "(resetting a password issues a new security token)",
    "invalid_client": "check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (the connected app's "
                      "consumer key and secret)",
    "invalid_client_id": "check SALESFORCE_CLIENT_ID (the connected app's consumer key)",
}


def fetch_token(creds: SalesforceCredentials, session: requests.Session) -> tuple[str, str]:
    """OAuth 2.0 username-password or client-credentials grant; returns (access_token, instance_url).

    A refusal is one :class:`AuthenticationError` line: what Salesforce said, what it means, and
    which variables to check; a login host that cannot be reached is :class:`ConnectionFailed`
    (it may work on the next run). No message quotes a credential.
    """
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
    url = token_url(creds)
    what = "POST oauth2/token"
    try:
        resp = session.post(url, data=form, timeout=(CONNECT_TIMEOUT, 30.0))
    except requests.exceptions.SSLError:
        raise CrmError(f"{what}: TLS verification of {origin(url)} failed; check SALESFORCE_CA_BUNDLE (the CA "
                       "that signed the server's certificate)", crm=CRM, code="TLS_ERROR") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        reason, sent = connection_failure(exc)
        raise ConnectionFailed(crm=CRM, what=what, url=origin(url), reason=reason, write=False, sent=sent,
                               setting="SALESFORCE_LOGIN_URL" if creds.login_url else "SALESFORCE_INSTANCE_URL"
                               ) from None
    try:
        body = resp.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    if resp.status_code != 200:
        error = _scrub_login(str(body.get("error") or f"HTTP {resp.status_code}"), creds)[:80]
        detail = _scrub_login(str(body.get("error_description") or resp.reason or ""), creds)[:200]
        meaning = _HINTS.get(detail.strip().lower())
        hint = _LOGIN_HINTS.get(error) or (
            "check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET" if creds.client_credentials
            else "check SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN")
        if error == "invalid_grant" and creds.client_credentials:
            hint = ("check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET, and that the connected app has a "
                    "run-as user for the client-credentials flow")
        message = (f"{what}: log-in failed: " + (f"{meaning} — " if meaning else "")
                   + f"Salesforce refused the log-in at {origin(url)} ({error}" + (f": {detail}" if detail else ""))
        if resp.status_code in (400, 401, 403):
            raise AuthenticationError(f"{message}); {hint}", crm=CRM, status=resp.status_code, code=error, fix=hint)
        raise CrmError(f"{message}); try again later", crm=CRM, status=resp.status_code, code=error)
    token, instance = body.get("access_token"), body.get("instance_url")
    if not isinstance(token, str) or not token:
        raise CrmError(f"{what}: the log-in answer holds no access_token", crm=CRM, code="BAD_RESPONSE")
    return token, instance if isinstance(instance, str) and instance else creds.instance_url


def _scrub_login(text: str, creds: SalesforceCredentials) -> str:
    """Text from the token endpoint, without any credential we sent it."""
    for secret in ((creds.password or "") + (creds.security_token or ""), creds.password, creds.security_token,
                   creds.client_secret):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return redact_bearer(" ".join(text.split()))
