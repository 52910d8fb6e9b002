"""HubSpot's wire format, as pure functions: property definitions and bodies, values, error bodies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from connectors.crm import FieldSpec
from connectors.hubspot.wire import (
    error_details,
    field_info,
    mentions,
    offending_value,
    property_create_body,
    wire_value,
)


@pytest.mark.parametrize(
    ("prop", "kind", "options"),
    [
        ({"type": "string", "fieldType": "text"}, "string", None),
        ({"type": "string", "fieldType": "textarea"}, "textarea", None),
        ({"type": "string", "fieldType": "phonenumber"}, "phone", None),
        ({"type": "string", "fieldType": "email"}, "email", None),
        ({"type": "number", "fieldType": "number"}, "number", None),
        ({"type": "bool", "fieldType": "booleancheckbox"}, "bool", None),
        ({"type": "enumeration", "fieldType": "booleancheckbox",
          "options": [{"value": "true"}, {"value": "false"}]}, "bool", None),
        ({"type": "date", "fieldType": "date"}, "date", None),
        ({"type": "datetime", "fieldType": "date"}, "datetime", None),
        ({"type": "enumeration", "fieldType": "select", "options": [{"label": "Lead", "value": "lead"},
                                                                    {"label": "Other", "value": "other"}]},
         "picklist", ("lead", "other")),
        ({"type": "object_coordinates", "fieldType": "text"}, "other", None),
    ],
)
def test_field_info_maps_type_and_field_type(prop: dict[str, Any], kind: str, options: Any) -> None:
    info = field_info({"name": "p", **prop})
    assert info.kind == kind
    assert info.options == options


def test_field_info_flags() -> None:
    ro = field_info({"name": "hs_object_id", "type": "number", "fieldType": "number", "hubspotDefined": True,
                     "modificationMetadata": {"readOnlyValue": True}})
    assert (ro.createable, ro.updateable, ro.custom) == (False, False, False)
    key = field_info({"name": "warmly_key", "type": "string", "fieldType": "text", "hasUniqueValue": True})
    assert (key.unique, key.external_id, key.custom, key.createable) == (True, True, True, True)
    assert field_info({"name": "x", "type": "string", "readOnlyValue": True}).updateable is False


@pytest.mark.parametrize(
    ("kind", "type_", "field_type"),
    [("string", "string", "text"), ("textarea", "string", "textarea"), ("int", "number", "number"),
     ("number", "number", "number"), ("bool", "bool", "booleancheckbox"), ("datetime", "datetime", "date"),
     ("date", "date", "date"), ("url", "string", "text"), ("email", "string", "text"), ("phone", "string", "text")],
)
def test_property_create_body_types(kind: str, type_: str, field_type: str) -> None:
    body = property_create_body(FieldSpec("warmly_x", "X", kind), "warmly")  # type: ignore[arg-type]
    assert (body["type"], body["fieldType"], body["groupName"]) == (type_, field_type, "warmly")
    assert ("options" in body) == (kind == "bool")
    assert "hasUniqueValue" not in body


def test_property_create_body_bool_options_unique_and_bad_kind() -> None:
    body = property_create_body(FieldSpec("warmly_flag", "Flag", "bool"), "g")
    assert [o["value"] for o in body["options"]] == ["true", "false"]
    assert property_create_body(FieldSpec("warmly_key", "Key", "string", unique_key=True), "g")["hasUniqueValue"]
    with pytest.raises(ValueError, match="picklist"):
        property_create_body(FieldSpec("warmly_pick", "Pick", "picklist"), "g")


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (True, "true"),
        (False, "false"),
        (12.0, "12"),
        (12.5, "12.5"),
        (7, "7"),
        (dt.date(2024, 3, 1), "2024-03-01"),
        (dt.datetime(2024, 3, 1, 12, 30, 5, 123456), "2024-03-01T12:30:05.123Z"),
        (dt.datetime(1, 1, 1), "0001-01-01T00:00:00.000Z"),  # four-digit year, as ISO-8601 has it
        (dt.datetime(2024, 3, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2024-03-01T12:30:00.000Z"),
        ("as is", "as is"),
    ],
)
def test_wire_value(value: Any, wire: str) -> None:
    assert wire_value(value) == wire


@pytest.mark.parametrize(
    ("text", "value", "found"),
    [
        ("Email address bad@x is invalid", "bad@x", True),
        ("Email address xbad@x is invalid", "bad@x", False),
        ("Email address bad@x.co.uk is invalid", "bad@x.co", False),
        ("Email address bad@x.co. is invalid", "bad@x.co", True),
        ("10 was not a valid number.", "1", False),
        ("foo was not one of the allowed options: [a, b]", "foo", True),
        ("Email address O'Brien@X.com is invalid", "o'brien@x.com", False),
    ],
)
def test_mentions_matches_whole_tokens(text: str, value: str, found: bool) -> None:
    assert mentions(text, value) is found


def test_mentions_ignore_case() -> None:
    assert mentions("Email address O'Brien@X.com is invalid", "o'brien@x.com", ignore_case=True)


@pytest.mark.parametrize(
    ("text", "values", "bad"),
    [
        ("bogus was not one of the allowed options: [lead, customer]", ["lead", "bogus", "customer"], "bogus"),
        ("Email address nope is invalid", ["a@x.com", "nope"], "nope"),
        ("12x was not a valid number.", ["12", "12x"], "12x"),
        ("nothing to see", ["a", "bb"], None),
    ],
)
def test_offending_value_skips_listed_alternatives(text: str, values: list[str], bad: str | None) -> None:
    assert offending_value(text, values) == bad


def test_error_details_reads_the_validation_list_in_the_message() -> None:
    body = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": 'Property values were not valid: [{"isValid":false,"message":"Email address nope is invalid",'
                   '"error":"INVALID_EMAIL","name":"email"}]',
        "errors": [{"message": "Email address nope is invalid", "code": "INVALID_EMAIL",
                    "context": {"propertyName": ["email"]}}],
    }
    details = error_details(body)
    assert details[0]["code"] == "INVALID_EMAIL"
    assert {"code": "INVALID_EMAIL", "message": "Email address nope is invalid", "name": "email"} in details
    assert details[-1]["category"] == "VALIDATION_ERROR"
    assert error_details(None) == []
