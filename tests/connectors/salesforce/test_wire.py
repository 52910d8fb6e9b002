"""Salesforce wire formats: values, CSV cells, error bodies and headers, describe fields and
custom-field metadata (pure, no server)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from connectors.crm import FieldSpec
from connectors.salesforce.wire import (
    InvalidValue,
    csv_text,
    custom_field_metadata,
    error_detail,
    field_info,
    parse_bulk_error,
    parse_csv,
    parse_limit_info,
    parse_retry_after,
    to_csv_cell,
    to_wire,
)

# -- pure: values and payloads -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc), "2026-11-20T10:00:00.000Z"),
        (datetime(2026, 11, 20, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1))), "2026-11-20T10:00:00.123Z"),
        (date(2026, 1, 2), "2026-01-02"),
        (datetime(1, 1, 1, tzinfo=timezone.utc), "0001-01-01T00:00:00.000Z"),  # four-digit year, as ISO-8601 has it
        (True, True),
        (7, 7),
        (1.5, 1.5),
        (Decimal("3.00"), 3),
        (None, None),
        ("x", "x"),
    ],
)
def test_to_wire(value: object, wire: object) -> None:
    assert to_wire("F", value) == wire


@pytest.mark.parametrize("value", [datetime(2026, 1, 1), math.nan, float("inf"), object(), b"bytes"])
def test_to_wire_refuses_values_without_a_faithful_form(value: object) -> None:
    with pytest.raises(InvalidValue) as err:
        to_wire("Warmly_Last_Seen__c", value)
    assert err.value.field == "Warmly_Last_Seen__c"


def test_csv_cells_blank_with_na_and_avoid_exponents() -> None:
    assert to_csv_cell("F", None) == "#N/A"
    assert to_csv_cell("F", False) == "false"
    assert to_csv_cell("F", 1e-07) == "0.0000001"
    assert to_csv_cell("F", datetime(2026, 11, 20, 10, tzinfo=timezone.utc)) == "2026-11-20T10:00:00.000Z"
    text = csv_text(["Email", "Title"], [["a,b@x.io", 'say "hi"\nthere']])
    assert parse_csv(text) == [{"Email": "a,b@x.io", "Title": 'say "hi"\nthere'}]
    assert parse_csv("") == []


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:Company --",
         ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Company]", ("Company",))),
        ("STRING_TOO_LONG:Title: data value too large:Title --",
         ("STRING_TOO_LONG", "Title: data value too large", ("Title",))),
        ("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--",
         ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", ())),
        ("INVALID_EMAIL_ADDRESS:Email: invalid email address: bad",
         ("INVALID_EMAIL_ADDRESS", "Email: invalid email address: bad", ())),
        ("something went wrong", ("BULK_ERROR", "something went wrong", ())),
    ],
)
def test_parse_bulk_error(raw: str, parsed: tuple[str, str, tuple[str, ...]]) -> None:
    assert parse_bulk_error(raw) == parsed


def test_headers_and_error_bodies() -> None:
    assert parse_limit_info("api-usage=18/15000") == (18, 15000)
    assert parse_limit_info("api-usage=25/5000; per-app-api-usage=17/250(appName=x)") == (25, 5000)
    assert parse_limit_info(None) is None
    assert parse_retry_after("7") == 7.0
    now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert error_detail([{"message": "Session expired", "errorCode": "INVALID_SESSION_ID"}]) == (
        "INVALID_SESSION_ID", "Session expired")
    assert error_detail({"message": "x"}) == (None, "x")
    assert error_detail("text") == (None, "")


# -- pure: schema ----------------------------------------------------------------------------


def _describe_field(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "X__c", "type": "string", "length": 80, "nillable": True, "createable": True,
        "updateable": True, "custom": True, "externalId": False, "unique": False,
        "defaultedOnCreate": False, "restrictedPicklist": False, "picklistValues": [],
    }
    return {**base, **over}


@pytest.mark.parametrize(
    ("sf_type", "kind"),
    [("string", "string"), ("textarea", "textarea"), ("email", "email"), ("url", "url"), ("phone", "phone"),
     ("int", "int"), ("double", "number"), ("currency", "number"), ("percent", "number"), ("boolean", "bool"),
     ("date", "date"), ("datetime", "datetime"), ("picklist", "picklist"), ("reference", "reference"),
     ("id", "id"), ("address", "other")],
)
def test_field_info_kinds(sf_type: str, kind: str) -> None:
    assert field_info(_describe_field(type=sf_type)).kind == kind


def test_field_info_bounds_from_describe() -> None:
    """What a field can hold, so a value past it is left out rather than failing the whole record."""
    assert field_info(_describe_field(type="int", digits=8)).number_limit == 10**8
    assert field_info(_describe_field(type="currency", precision=18, scale=0)).number_limit == 10**18
    assert field_info(_describe_field(type="double", precision=5, scale=2)).number_limit == 1000
    assert field_info(_describe_field(type="double", precision=5, scale=2)).scale == 2
    assert field_info(_describe_field(type="datetime")).bounds == (datetime(1700, 1, 1), datetime(4000, 12, 31))
    assert field_info(_describe_field(type="date")).bounds == (date(1700, 1, 1), date(4000, 12, 31))
    text = field_info(_describe_field(type="string", length=80))
    assert (text.bounds, text.number_limit) == (None, None)


def test_field_info_flags() -> None:
    company = field_info(_describe_field(name="Company", custom=False, nillable=False, length=255))
    assert company.required_on_create and company.length == 255 and not company.custom
    defaulted = field_info(_describe_field(name="Status", nillable=False, defaultedOnCreate=True))
    assert not defaulted.required_on_create
    read_only = field_info(_describe_field(name="Id", type="id", nillable=False, createable=False, updateable=False))
    assert not read_only.required_on_create and not read_only.updateable
    key = field_info(_describe_field(externalId=True, unique=True))
    assert key.external_id and key.unique
    assert field_info(_describe_field(type="boolean", length=0)).length is None
    values = [{"value": "Open", "active": True}, {"value": "Old", "active": False}]
    assert field_info(_describe_field(type="picklist", restrictedPicklist=True, picklistValues=values)).options == (
        "Open",)
    assert field_info(_describe_field(type="picklist", picklistValues=values)).options is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (FieldSpec("A__c", "A", "string", 40), {"type": "Text", "length": 40}),
        (FieldSpec("A__c", "A", "string", 1000), {"type": "Text", "length": 255}),
        (FieldSpec("A__c", "A", "textarea"), {"type": "LongTextArea", "length": 32768, "visibleLines": 3}),
        (FieldSpec("A__c", "A", "int"), {"type": "Number", "precision": 18, "scale": 0}),
        (FieldSpec("A__c", "A", "number"), {"type": "Number", "precision": 18, "scale": 2}),
        (FieldSpec("A__c", "A", "bool"), {"type": "Checkbox", "defaultValue": "false"}),
        (FieldSpec("A__c", "A", "datetime"), {"type": "DateTime"}),
        (FieldSpec("A__c", "A", "date"), {"type": "Date"}),
        (FieldSpec("A__c", "A", "url"), {"type": "Url"}),
        (FieldSpec("A__c", "A", "email"), {"type": "Email"}),
        (FieldSpec("A__c", "A", "string", 40, unique_key=True),
         {"type": "Text", "length": 255, "externalId": True, "unique": True, "caseSensitive": False}),
    ],
)
def test_custom_field_metadata(spec: FieldSpec, expected: dict[str, object]) -> None:
    assert custom_field_metadata(spec) == {**expected, "label": "A"}


def test_custom_field_metadata_refuses_unsupported_kinds() -> None:
    with pytest.raises(ValueError):
        custom_field_metadata(FieldSpec("A__c", "A", "reference"))
    assert custom_field_metadata(FieldSpec("A__c", "A", "int", description="why"))["description"] == "why"
