"""Logging in (:mod:`connectors.sandbox.salesforce.auth`, ``jwt_bearer``): a wrong session is refused,
and the OAuth password, client-credentials and JWT bearer grants hand out sessions — the last one only
for an assertion signed for the configured connected app, for the login host, and not expired.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from simple_salesforce.exceptions import SalesforceExpiredSession

from connectors.errors import AuthenticationError
from connectors.salesforce.client import SalesforceCredentials, make_client
from tests.conftest import make_keypair
from tests.sandbox.salesforce.conftest import client, lead


def test_wrong_or_missing_token_is_401(sandbox_clean):
    bad = client(sandbox_clean, SALESFORCE_ACCESS_TOKEN="wrong-token")
    with pytest.raises(SalesforceExpiredSession) as exc:
        bad.query("SELECT Id FROM Lead")
    assert exc.value.status == 401
    assert exc.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    resp = requests.get(f"{sandbox_clean.salesforce_url}/services/data/v62.0/limits", verify=sandbox_clean.ca_file,
                        timeout=10)
    assert resp.status_code == 401


def test_oauth_password_and_client_credentials_grants(sandbox_clean):
    token = sandbox_clean.token
    base = {"SALESFORCE_INSTANCE_URL": sandbox_clean.salesforce_url, "SALESFORCE_CA_BUNDLE": sandbox_clean.ca_file}
    by_password = make_client(SalesforceCredentials.from_env({
        **base, "SALESFORCE_USERNAME": "integration@acme.io", "SALESFORCE_PASSWORD": token[:8],
        "SALESFORCE_SECURITY_TOKEN": token[8:],
    }))
    assert by_password.session_id != token
    assert by_password.Lead.create(lead())["success"] is True
    by_client = make_client(SalesforceCredentials.from_env({
        **base, "SALESFORCE_CLIENT_ID": "writeback-app", "SALESFORCE_CLIENT_SECRET": token,
    }))
    assert by_client.query("SELECT COUNT() FROM Lead")["totalSize"] == 1

    with pytest.raises(AuthenticationError, match="wrong username or password .*invalid_grant: authentication failure"):
        make_client(SalesforceCredentials.from_env({
            **base, "SALESFORCE_USERNAME": "integration@acme.io", "SALESFORCE_PASSWORD": "wrong",
        }))
    url = f"{sandbox_clean.salesforce_url}/services/oauth2/token"
    ok = requests.post(url, data={"grant_type": "client_credentials", "client_id": "app", "client_secret": token},
                       verify=sandbox_clean.ca_file, timeout=10)
    body = ok.json()
    assert ok.status_code == 200 and body["token_type"] == "Bearer"
    assert {"access_token", "instance_url", "id", "issued_at", "signature"} <= set(body)
    assert body["instance_url"] == sandbox_clean.salesforce_url
    bad_secret = requests.post(url, data={"grant_type": "client_credentials", "client_id": "app",
                                          "client_secret": "nope"}, verify=sandbox_clean.ca_file, timeout=10)
    assert bad_secret.status_code == 400 and bad_secret.json()["error"] == "invalid_client"
    bad_grant = requests.post(url, data={"grant_type": "magic"}, verify=sandbox_clean.ca_file, timeout=10)
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "unsupported_grant_type"


def _assertion(app, *, key: str | None = None, **claims: Any) -> str:
    payload = {"iss": app.consumer_key, "sub": app.username, "aud": "https://test.salesforce.com",
               "exp": f"{time.time() + 180:.0f}", **claims}  # exp as simple-salesforce sends it: a string
    return jwt.encode(payload, key or app.private_key, algorithm="RS256")


def _grant(sandbox, assertion: str) -> requests.Response:
    return requests.post(f"{sandbox.salesforce_url}/services/oauth2/token", verify=sandbox.ca_file, timeout=10,
                         data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion})


def test_jwt_bearer_grant_checks_signature_audience_expiry_and_user(sandbox_clean, connected_app):
    assert _grant(sandbox_clean, _assertion(connected_app)).json() == {
        "error": "invalid_client_id", "error_description": "client identifier invalid"}  # no app registered yet
    connected_app.configure(sandbox_clean)
    ok = _grant(sandbox_clean, _assertion(connected_app))
    body = ok.json()
    assert (ok.status_code, body["token_type"], body["instance_url"]) == (200, "Bearer", sandbox_clean.salesforce_url)
    limits = requests.get(f"{sandbox_clean.salesforce_url}/services/data/v62.0/limits", verify=sandbox_clean.ca_file,
                          headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10)
    assert limits.status_code == 200

    other_key, _ = make_keypair("someone else")
    cases = [
        (_assertion(connected_app, key=other_key), "invalid_grant", "invalid assertion"),
        (_assertion(connected_app, exp=time.time() - 5), "invalid_grant", "expired authorization code"),
        (_assertion(connected_app, exp=time.time() + 3600), "invalid_grant", "invalid assertion"),
        (_assertion(connected_app, aud="https://login.salesforce.com"), "invalid_grant", "audience is invalid"),
        (_assertion(connected_app, iss="another-app"), "invalid_client_id", "client identifier invalid"),
        (_assertion(connected_app, sub="someone@acme.io"), "invalid_grant", "user hasn't approved this consumer"),
        ("not.a.jwt", "invalid_grant", "invalid assertion"),
        (jwt.encode({"iss": connected_app.consumer_key}, "a-shared-secret-of-thirty-two-bytes!",
                    algorithm="HS256"), "invalid_grant",
         "invalid assertion"),
    ]
    for assertion, error, description in cases:
        refused = _grant(sandbox_clean, assertion)
        assert (refused.status_code, refused.json()) == (400, {"error": error, "error_description": description})
    connected_app.configure(sandbox_clean, jwt_audience="https://login.salesforce.com")  # a production org
    assert _grant(sandbox_clean, _assertion(connected_app, aud="https://login.salesforce.com")).status_code == 200
    connected_app.configure(sandbox_clean, jwt_clock_offset_seconds=600)  # this machine's clock runs 10 min late
    late = _grant(sandbox_clean, _assertion(connected_app, aud="https://login.salesforce.com"))
    assert late.json()["error_description"] == "expired authorization code"
