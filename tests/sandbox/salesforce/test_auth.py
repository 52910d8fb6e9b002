"""Logging in (:mod:`connectors.sandbox.salesforce.auth`): a wrong session is refused, and the OAuth
password and client-credentials grants hand out sessions.
"""

from __future__ import annotations

import pytest
import requests
from simple_salesforce.exceptions import SalesforceExpiredSession

from connectors.errors import AuthenticationError
from connectors.salesforce.client import SalesforceCredentials, make_client
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

    with pytest.raises(AuthenticationError, match="invalid_grant: authentication failure"):
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
