"""The OAuth 2.0 endpoints: the token endpoint (``POST /services/oauth2/token``: password,
client-credentials and JWT bearer grants) and the UserInfo endpoint (``GET /services/oauth2/userinfo``).

The password (or the client secret) is the sandbox token. The JWT bearer grant takes an assertion
signed for the connected app the config describes — ``jwt_consumer_key``, ``jwt_certificate`` (PEM),
``jwt_audience`` (default ``https://test.salesforce.com``: the sandbox is a sandbox org) — for the
integration user's username; :mod:`.jwt_bearer` says what is checked. ``jwt_clock_offset_seconds``
moves the sandbox's clock for that check (a client clock running behind). A successful grant stores
a new session id, which :mod:`.hooks` accepts as a bearer token until the data file is deleted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qs

from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.jwt_bearer import GRANT_TYPE, check_assertion
from connectors.sandbox.salesforce.state import SalesforceState
from connectors.sandbox.salesforce_schema import USER_ID, USER_RECORD, now_iso


class OAuthMixin(SalesforceState):
    def oauth_token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except ValueError:
                pass
        if grant == "password":
            if not form.get("username") or form.get("password") != self.token:
                return Response(400, {"error": "invalid_grant", "error_description": "authentication failure"})
        elif grant == "client_credentials":
            if not client_id or client_secret != self.token:
                return Response(400, {"error": "invalid_client", "error_description": "invalid client credentials"})
        elif grant == GRANT_TYPE:
            refused = check_assertion(
                form.get("assertion") or "", consumer_key=self.config.get("jwt_consumer_key"),
                certificate=self.config.get("jwt_certificate"), audience=str(self.config["jwt_audience"]),
                username=str(USER_RECORD["Username"]),
                now=time.time() + float(self.config.get("jwt_clock_offset_seconds") or 0),
            )
            if refused:
                return Response(400, {"error": refused[0], "error_description": refused[1]})
        else:
            return Response(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        org_id = str(self.config["organization_id"])
        access = f"{org_id[:15]}!{secrets.token_urlsafe(48)}"
        self.db.execute("INSERT INTO sessions (token, created) VALUES (?, ?)", (access, now_iso()))
        self._sessions.add(access)
        instance = f"https://{req.headers.get('host', '127.0.0.1')}"
        issued = str(int(time.time() * 1000))
        identity = f"{instance}/id/{org_id}/{USER_ID}"
        signature = base64.b64encode(
            hmac.new(self.token.encode(), (identity + issued).encode(), hashlib.sha256).digest()
        ).decode()
        return Response(200, {
            "access_token": access, "instance_url": instance, "id": identity, "token_type": "Bearer",
            "issued_at": issued, "signature": signature, "scope": "api",
        })

    def userinfo(self, req: Request) -> Response:
        """``GET /services/oauth2/userinfo``: who the access token belongs to (OpenID Connect UserInfo).

        Salesforce Help, "Query for User Information": the endpoint answers for the token's own user
        (served on the login host and on the instance) with ``sub`` (the identity URL), ``user_id``,
        ``organization_id``, ``preferred_username``, ``name``, ``email``, ``user_type``, ``active``,
        ``is_salesforce_integration_user``, ``urls`` and more. A token the identity service does not
        accept is a 403 with the plain-text body ``Bad_OAuth_Token`` (where the data API answers 401),
        as client libraries that handle it report. It is not an API call: not counted, never limited.
        """
        token = req.bearer_token
        if not token or (token != self.token and token not in self._sessions):
            return Response(403, "Bad_OAuth_Token")
        org_id = str(self.config["organization_id"])
        instance = f"https://{req.headers.get('host', '127.0.0.1')}"
        return Response(200, {
            "sub": f"{instance}/id/{org_id}/{USER_ID}", "user_id": USER_ID, "organization_id": org_id,
            "preferred_username": USER_RECORD["Username"], "nickname": "integration", "name": USER_RECORD["Name"],
            "email": USER_RECORD["Email"], "email_verified": True, "given_name": "Integration",
            "family_name": "User", "zoneinfo": "America/Los_Angeles", "active": True, "user_type": "STANDARD",
            "language": "en_US", "locale": "en_US", "utcOffset": -28800000, "updated_at": now_iso(),
            "is_salesforce_integration_user": False,
            "urls": {"rest": f"{instance}/services/data/v{{version}}/", "sobjects":
                     f"{instance}/services/data/v{{version}}/sobjects/", "query":
                     f"{instance}/services/data/v{{version}}/query/", "custom_domain": instance,
                     "limits": f"{instance}/services/data/v{{version}}/limits"},
        })
