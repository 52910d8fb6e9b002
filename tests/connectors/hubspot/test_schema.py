"""Properties through the connector against the HubSpot sandbox, checked through the SDK."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot

from connectors.crm import FieldSpec
from connectors.hubspot.api import HubSpotConnector
from tests.connectors.hubspot.helpers import server_calls

SPECS = [
    FieldSpec("warmly_last_seen", "Warmly last seen", "datetime", description="Last visit"),
    FieldSpec("warmly_first_seen_date", "Warmly first seen", "date"),
    FieldSpec("warmly_sessions", "Warmly sessions", "int"),
    FieldSpec("warmly_top_pages", "Warmly top pages", "textarea"),
    FieldSpec("warmly_chatted", "Warmly chatted", "bool"),
    FieldSpec("warmly_linkedin", "Warmly LinkedIn", "url"),
    FieldSpec("warmly_uid", "Warmly id", "string", unique_key=True),
]


def test_describe_maps_the_portal_properties(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    schema = conn.describe("contacts")
    assert schema.object_type == "contacts"
    email = schema.fields["email"]
    assert (email.kind, email.createable, email.custom) == ("string", True, False)
    stage = schema.fields["lifecyclestage"]
    assert stage.kind == "picklist" and stage.options and "lead" in stage.options
    assert schema.fields["hs_object_id"].createable is False
    assert schema.missing(["email", "warmly_last_seen", "hs_object_id"]) == ["warmly_last_seen", "hs_object_id"]
    assert conn.describe("contacts") is schema  # cached: no second call
    assert server_calls(sandbox_clean, "properties/{type}") == 1
    conn.describe("contacts", refresh=True)
    assert server_calls(sandbox_clean, "properties/{type}") == 2
    with pytest.raises(ValueError, match="deals"):
        conn.describe("deals")


def test_create_properties_is_idempotent(conn: HubSpotConnector, hs: HubSpot, sandbox_clean: Any) -> None:
    created = conn.create_properties("contacts", SPECS)
    assert created == [s.name for s in SPECS]
    assert conn.create_properties("contacts", SPECS) == []  # nothing left to create
    assert conn.calls.by_endpoint["POST /crm/v3/properties/contacts"] == len(SPECS)
    assert conn.calls.by_endpoint["POST /crm/v3/properties/contacts/groups"] == 1
    group = hs.crm.properties.groups_api.get_by_name("contacts", "warmly")
    assert group.label == "Warmly"
    expect = {"warmly_last_seen": ("datetime", "date"), "warmly_first_seen_date": ("date", "date"),
              "warmly_sessions": ("number", "number"), "warmly_top_pages": ("string", "textarea"),
              "warmly_chatted": ("bool", "booleancheckbox"), "warmly_linkedin": ("string", "text"),
              "warmly_uid": ("string", "text")}
    for name, (type_, field_type) in expect.items():
        prop = hs.crm.properties.core_api.get_by_name("contacts", name)
        assert (prop.type, prop.field_type, prop.group_name) == (type_, field_type, "warmly")
    assert hs.crm.properties.core_api.get_by_name("contacts", "warmly_uid").has_unique_value is True
    schema = conn.describe("contacts")
    assert schema.fields["warmly_uid"].unique and schema.fields["warmly_chatted"].kind == "bool"
    assert schema.missing([s.name for s in SPECS]) == []


def test_account_details_and_the_daily_allowance_seen_in_headers(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    assert conn.daily_allowance() is None  # nothing seen yet
    details = conn.org_details()
    assert details["portalId"] == 62515 and details["timeZone"] == "US/Eastern"
    remaining, most = conn.daily_allowance() or (0, 0)
    assert most == 1_000_000 and remaining == most - 1
