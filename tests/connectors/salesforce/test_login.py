"""Logging in (:mod:`connectors.salesforce.login`, ``client``): the JWT bearer flow through simple-salesforce,
the login host ``SALESFORCE_DOMAIN`` names (pointed at the sandbox with ``SALESFORCE_LOGIN_URL``), and one
clear line, with its fix and without any secret, when Salesforce refuses.
"""

from __future__ import annotations

from typing import Any

import pytest

from connectors.crm import ApiCalls
from connectors.errors import AuthenticationError
from connectors.salesforce.api import SalesforceConnector
from connectors.salesforce.client import SalesforceCredentials, make_client
from tests.conftest import make_keypair


def _login(env: dict[str, str], calls: ApiCalls | None = None) -> Any:
    return make_client(SalesforceCredentials.from_env(env), calls=calls)


def test_jwt_bearer_log_in_at_the_sandbox_orgs_login_host(sandbox_clean, connected_app) -> None:
    connected_app.configure(sandbox_clean)
    env = connected_app.env(sandbox_clean)
    assert "SALESFORCE_INSTANCE_URL" not in env  # the session's answer names the instance
    calls = ApiCalls()
    sf = _login(env, calls)
    assert sf.session_id and sf.sf_instance == sandbox_clean.salesforce_url.removeprefix("https://")
    assert calls.by_endpoint == {"POST services/oauth2/token": 1}
    conn = SalesforceConnector(sf, calls=calls)
    assert conn.org_id().startswith("00D") and conn.running_user_id().startswith("005")
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def _refusal(env: dict[str, str]) -> str:
    with pytest.raises(AuthenticationError) as exc:
        _login(env)
    message = str(exc.value)
    assert "\n" not in message and "PRIVATE KEY" not in message  # one line, no key material
    return message


def test_a_refused_assertion_is_one_clear_line(sandbox_clean, connected_app) -> None:
    connected_app.configure(sandbox_clean)
    other_key, _ = make_keypair("not the connected app's")
    wrong_key = _refusal(connected_app.env(sandbox_clean, SALESFORCE_PRIVATE_KEY=other_key))
    assert "signature does not match the certificate of the connected app" in wrong_key
    assert wrong_key.endswith("(invalid assertion) (400, invalid_grant)")
    assert wrong_key.startswith("salesforce: log-in failed: the JWT was not accepted")
    production = _refusal(connected_app.env(sandbox_clean, SALESFORCE_DOMAIN="login"))
    assert "set SALESFORCE_DOMAIN to test for a sandbox org" in production and "audience is invalid" in production
    connected_app.configure(sandbox_clean, jwt_clock_offset_seconds=600)
    expired = _refusal(connected_app.env(sandbox_clean))
    assert "expired" in expired and "clock" in expired
    connected_app.configure(sandbox_clean, jwt_clock_offset_seconds=0, jwt_consumer_key="another-app")
    assert "SALESFORCE_CLIENT_ID is not the consumer key" in _refusal(connected_app.env(sandbox_clean))


def test_a_key_that_cannot_sign_names_the_variable_not_the_value(sandbox_clean, connected_app, tmp_path) -> None:
    with pytest.raises(ValueError) as exc:
        _login(connected_app.env(sandbox_clean, SALESFORCE_PRIVATE_KEY="-----BEGIN NONSENSE-----"))
    assert "SALESFORCE_PRIVATE_KEY is not an RSA private key" in str(exc.value)
    assert "NONSENSE" not in str(exc.value)
    key_file = tmp_path / "app.key"
    key_file.write_text(connected_app.private_key)
    connected_app.configure(sandbox_clean)
    env = {k: v for k, v in connected_app.env(sandbox_clean).items() if k != "SALESFORCE_PRIVATE_KEY"}
    assert _login({**env, "SALESFORCE_PRIVATE_KEY_FILE": str(key_file)}).session_id


def test_password_grant_at_the_login_host(sandbox_clean) -> None:
    env = {"SALESFORCE_DOMAIN": "test", "SALESFORCE_LOGIN_URL": sandbox_clean.salesforce_url,
           "SALESFORCE_CA_BUNDLE": sandbox_clean.ca_file, "SALESFORCE_USERNAME": "integration@acme.io",
           "SALESFORCE_PASSWORD": sandbox_clean.token}
    assert _login(env).query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    assert "wrong username or password" in _refusal({**env, "SALESFORCE_PASSWORD": "wrong"})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SALESFORCE_DOMAIN": "https://acme.my.salesforce.com/", "SALESFORCE_USERNAME": "u",
          "SALESFORCE_PASSWORD": "p"}, {"domain": "acme.my", "instance_url": ""}),
        ({"SALESFORCE_DOMAIN": "Test", "SALESFORCE_CLIENT_ID": "k", "SALESFORCE_USERNAME": "u",
          "SALESFORCE_PRIVATE_KEY": "pem"}, {"domain": "test", "jwt": True, "client_credentials": False}),
        ({"SALESFORCE_INSTANCE_URL": "https://x.my.salesforce.com/", "SALESFORCE_ACCESS_TOKEN": "t",
          "SALESFORCE_PRIVATE_KEY": "pem", "SALESFORCE_CLIENT_ID": "k", "SALESFORCE_USERNAME": "u"},
         {"jwt": False, "instance_url": "https://x.my.salesforce.com"}),
    ],
)
def test_credentials_from_the_environment(env: dict[str, str], expected: dict[str, Any]) -> None:
    creds = SalesforceCredentials.from_env(env)
    assert {k: getattr(creds, k) for k in expected} == expected
    assert "pem" not in repr(creds) and "'p'" not in repr(creds)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p"}, "SALESFORCE_INSTANCE_URL is not set"),
        ({"SALESFORCE_DOMAIN": "test", "SALESFORCE_PRIVATE_KEY": "pem"}, "needs SALESFORCE_CLIENT_ID"),
        ({"SALESFORCE_DOMAIN": "not a domain!", "SALESFORCE_ACCESS_TOKEN": "t"}, "SALESFORCE_DOMAIN must be"),
        ({"SALESFORCE_DOMAIN": "test", "SALESFORCE_CLIENT_ID": "k", "SALESFORCE_USERNAME": "u",
          "SALESFORCE_PRIVATE_KEY_FILE": "/nonexistent/app.key"}, "SALESFORCE_PRIVATE_KEY_FILE names no readable file"),
        ({"SALESFORCE_DOMAIN": "test"}, "JWT bearer"),
    ],
)
def test_incomplete_credentials_say_what_is_missing(env: dict[str, str], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        SalesforceCredentials.from_env(env)
