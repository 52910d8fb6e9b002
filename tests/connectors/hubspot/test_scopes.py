"""Scopes (:mod:`connectors.hubspot.scopes`): the token's scopes are asked once and turned into what each
object allows; a 403 ``MISSING_SCOPES`` is never retried, and fails the records of a write by name.
"""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot

from connectors.errors import MissingScopeError
from connectors.hubspot.api import HubSpotConnector
from connectors.sandbox.hubspot.scopes import ALL_SCOPES
from tests.connectors.hubspot.helpers import FakeClock, all_contacts, fault, server_calls


def _grant_all_but(sandbox: Any, *scopes: str) -> None:
    sandbox.admin("hubspot", "POST", "config", {"scopes": [s for s in ALL_SCOPES if s not in scopes]})


def test_access_is_read_from_the_tokens_scopes_once(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    _grant_all_but(sandbox_clean, "crm.objects.contacts.write", "crm.schemas.companies.write")
    contacts, companies = conn.access("contacts"), conn.access("companies")
    assert contacts.reason == "missing_scope" and contacts.known
    assert contacts.missing("create") == contacts.missing("update") == ("crm.objects.contacts.write",)
    assert contacts.allows("read") and contacts.allows("describe") and contacts.allows("define")
    assert companies.missing("define") == ("crm.schemas.companies.write",) and companies.allows("create")
    assert conn.calls.by_endpoint == {"POST /oauth/v2/private-apps/get/access-token-info": 1}
    assert server_calls(sandbox_clean, "access-token-info") == 1


def test_without_token_info_every_call_is_tried(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    fault(sandbox_clean, kind="status", status=404, path="access-token-info", body={"status": "error"})
    access = conn.access("contacts")
    assert not access.known and access.allows("create")


def test_a_missing_scope_is_not_retried_and_names_the_scope(conn: HubSpotConnector, sandbox_clean: Any,
                                                            clock: FakeClock) -> None:
    _grant_all_but(sandbox_clean, "crm.objects.contacts.read")
    with pytest.raises(MissingScopeError) as exc:
        conn.read("contacts", "email", ["ann@acme.io"], ["email"])
    assert exc.value.scopes == ["crm.objects.contacts.read"] and exc.value.code == "missing_scope"
    assert "crm.objects.contacts.read" in str(exc.value) and "Private Apps" in str(exc.value)
    assert server_calls(sandbox_clean, "batch/read") == 1 and clock.sleeps == []


def test_a_write_outside_the_scopes_fails_its_records_and_sends_no_more(hs: HubSpot, sandbox_clean: Any,
                                                                        clock: FakeClock) -> None:
    conn = HubSpotConnector(hs, sleep=clock.sleep, clock=clock, seed=7)
    _grant_all_but(sandbox_clean, "crm.objects.contacts.write")
    results = conn.upsert("contacts", "email", [(f"u{i}@acme.io", {"firstname": "U"}) for i in range(150)])
    assert {(r.ok, r.error_code) for r in results} == {(False, "missing_scope")}
    assert "crm.objects.contacts.write" in (results[0].message or "")
    assert server_calls(sandbox_clean, "batch/upsert") == 1  # the second batch was not sent
    assert all_contacts(hs) == [] and clock.sleeps == []

