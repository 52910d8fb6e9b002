"""Credentials, URLs and CA files checked when read from the environment: the variable is named,
its value never; and the last-resort scrubbing of text nobody built on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.credentials import env_ca_file, env_secret, env_url, redact_environment
from connectors.hubspot.client import HubSpotCredentials
from connectors.salesforce.client import SalesforceCredentials

SECRET = "SECRET-TOKEN-c0ffee-5eb7a1d9e3"


@pytest.mark.parametrize(
    ("value", "header", "spaces", "expected"),
    [
        (SECRET + "\n", True, False, "X ends with a line break"),
        ("\r" + SECRET, True, False, "X starts with a line break"),
        (SECRET[:5] + "\t" + SECRET[5:], True, False, "X contains a tab"),
        (SECRET[:5] + " " + SECRET[5:], True, False, "X contains a space"),
        (SECRET[:5] + "\u00e9" + SECRET[5:], True, False, "X contains a non-ASCII character"),
        (SECRET[:5] + "\x00" + SECRET[5:], False, True, "X contains a control or blank character"),
        ("pass word\n", False, True, "X ends with a line break"),
    ],
)
def test_a_bad_character_names_the_variable_never_the_value(value, header, spaces, expected) -> None:
    with pytest.raises(ValueError) as info:
        env_secret({"X": value}, "X", header=header, spaces=spaces)
    assert str(info.value).startswith(expected)
    assert SECRET[:5] not in str(info.value) and "pass" not in str(info.value)


def test_good_credentials_pass_unchanged() -> None:
    assert env_secret({"X": SECRET}, "X", header=True) == SECRET
    assert env_secret({"X": "pass word"}, "X", spaces=True) == "pass word"
    assert env_secret({"X": ""}, "X") is None and env_secret({}, "X") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme.my.salesforce.com", "has no scheme"),
        ("http://acme.my.salesforce.com", "must start with https:// (it starts with http://)"),
        ("https://", "has no host name"),
        ("https://acme.io:99999", "port that is not a number"),
        ("https://acme.io:x", "port that is not a number"),
        (f"https://me:{SECRET}@acme.io", "must not carry a user name or password"),
        (f"https://acme.io/?token={SECRET}", "must not carry a query string"),
        ("https://acme .io", "contains a space"),
    ],
)
def test_a_malformed_url_is_refused(value: str, expected: str) -> None:
    with pytest.raises(ValueError) as info:
        env_url({"U": value}, "U", schemes=("https",))
    assert expected in str(info.value) and SECRET not in str(info.value)


def test_urls_are_normalised_and_defaulted() -> None:
    assert env_url({"U": " https://acme.io:8443/ \n"}, "U", schemes=("https",)) == "https://acme.io:8443"
    assert env_url({}, "U", schemes=("https",), default="https://d.io") == "https://d.io"
    with pytest.raises(ValueError, match="U is not set"):
        env_url({}, "U", schemes=("https",), required=True)


def test_ca_file_must_exist_be_readable_and_hold_a_certificate(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="C: no such file"):
        env_ca_file({"C": str(tmp_path / "missing.pem")}, "C")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ValueError, match="C: holds no PEM certificate"):
        env_ca_file({"C": str(junk)}, "C")
    assert env_ca_file({"C": str(tmp_path)}, "C") == str(tmp_path)  # a directory of certificates is allowed
    assert env_ca_file({}, "C") is None


def test_both_crms_check_every_variable() -> None:
    with pytest.raises(ValueError, match="^SALESFORCE_CLIENT_SECRET ends with a line break"):
        SalesforceCredentials.from_env({"SALESFORCE_INSTANCE_URL": "https://acme.io", "SALESFORCE_CLIENT_ID": "a",
                                        "SALESFORCE_CLIENT_SECRET": SECRET + "\n"})
    with pytest.raises(ValueError, match="^SALESFORCE_API_VERSION must look like 62.0"):
        SalesforceCredentials.from_env({"SALESFORCE_INSTANCE_URL": "https://acme.io", "SALESFORCE_ACCESS_TOKEN": SECRET,
                                        "SALESFORCE_API_VERSION": "latest"})
    with pytest.raises(ValueError, match="^HUBSPOT_BASE_URL must start with https:// or http://"):
        HubSpotCredentials.from_env({"HUBSPOT_ACCESS_TOKEN": SECRET, "HUBSPOT_BASE_URL": "ftp://x"})
    creds = HubSpotCredentials.from_env({"HUBSPOT_ACCESS_TOKEN": SECRET})
    assert creds.base_url == "https://api.hubapi.com" and SECRET not in repr(creds)


def test_last_resort_scrubbing_removes_every_secret_variable() -> None:
    env = {"SALESFORCE_PASSWORD": "hunter2-long", "HUBSPOT_ACCESS_TOKEN": SECRET + "\n",
           "WRITEBACK_WAREHOUSE_URL": "snowflake://writer:s%40cret!@acct/db"}
    text = f"boom hunter2-long {SECRET} Authorization: Bearer 00Dxx!AQ0abcdefgh s@cret! s%40cret!"
    scrubbed = redact_environment(text, env)
    for secret in ("hunter2-long", SECRET, "00Dxx!AQ0abcdefgh", "s@cret!", "s%40cret!"):
        assert secret not in scrubbed
    assert scrubbed.startswith("boom [redacted]")
