from __future__ import annotations

import datetime as dt

import pytest

from connectors.crm import FieldInfo, ObjectSchema
from dagster_pipeline.sync.diff import canonical, changed_fields

SCHEMA = ObjectSchema("Lead", {
    "Title": FieldInfo("Title", "string", 128),
    "Email": FieldInfo("Email", "email", 80),
    "NumberOfEmployees": FieldInfo("NumberOfEmployees", "int"),
    "Warmly_Last_Seen__c": FieldInfo("Warmly_Last_Seen__c", "datetime"),
    "Warmly_Demo_Requested__c": FieldInfo("Warmly_Demo_Requested__c", "bool"),
    "FirstName": FieldInfo("FirstName", "string", 40),
    "Website": FieldInfo("Website", "url", 255),
})


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        ("int", 1200, "1200.0"),
        ("int", 1200, 1200.0),
        ("datetime", dt.datetime(2026, 11, 20, 10, 0), "2026-11-20T10:00:00.000+0000"),
        ("datetime", dt.datetime(2026, 11, 20, 10, 0, 0, 250000), "2026-11-20T10:00:00Z"),
        ("datetime", dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone.utc), "1795168800000"),
        ("bool", True, "true"),
        ("bool", False, "false"),
        ("email", "O'Hara@Acme.io", "o'hara@acme.io"),
        ("url", "acme.io/", "ACME.io"),
        ("string", "VP Sales ", "VP Sales"),
        ("date", dt.date(2026, 11, 20), "2026-11-20"),
    ],
)
def test_crm_formatting_is_not_a_change(kind, a, b) -> None:
    assert canonical(kind, a) == canonical(kind, b)


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [("int", 1200, "1201"), ("string", "VP Sales", "vp sales"), ("bool", True, "false"),
     ("datetime", dt.datetime(2026, 11, 20, 10, 0), "2026-11-20T10:00:01Z")],
)
def test_real_differences_are_changes(kind, a, b) -> None:
    assert canonical(kind, a) != canonical(kind, b)


def test_only_changed_fields_are_written() -> None:
    modes = {"Title": "overwrite", "NumberOfEmployees": "overwrite", "Warmly_Last_Seen__c": "overwrite"}
    current = {"Title": "VP Sales", "NumberOfEmployees": "120.0", "Warmly_Last_Seen__c": "2026-11-19T08:00:00.000+0000"}
    desired = {"Title": "VP Sales", "NumberOfEmployees": 120, "Warmly_Last_Seen__c": dt.datetime(2026, 11, 20, 9, 30)}
    changes = changed_fields(desired, current, modes, SCHEMA)
    assert list(changes) == ["Warmly_Last_Seen__c"]
    assert changes["Warmly_Last_Seen__c"][0] == "2026-11-19T08:00:00.000+0000"


def test_null_never_erases_a_crm_value() -> None:
    changes = changed_fields({"Title": None, "FirstName": "  "}, {"Title": "CEO", "FirstName": "Ann"},
                             {"Title": "overwrite", "FirstName": "overwrite"}, SCHEMA)
    assert changes == {}


def test_if_empty_only_fills_blanks() -> None:
    modes = {"FirstName": "if_empty", "Website": "if_empty"}
    changes = changed_fields({"FirstName": "Ann", "Website": "acme.io"}, {"FirstName": "Annie", "Website": ""},
                             modes, SCHEMA)
    assert changes == {"Website": ("", "acme.io")}


def test_new_record_writes_every_non_null_field() -> None:
    modes = {"FirstName": "if_empty", "Title": "overwrite", "Email": "if_empty"}
    changes = changed_fields({"FirstName": "Zoë", "Title": None, "Email": "zoe@acme.io"}, None, modes, SCHEMA)
    assert {k: v[1] for k, v in changes.items()} == {"FirstName": "Zoë", "Email": "zoe@acme.io"}
