"""The Tooling API's ``CustomField`` (:mod:`connectors.sandbox.salesforce.tooling`): create, query,
get and delete custom fields, and write every custom field type.
"""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox.salesforce.conftest import add_field, create_many, error, lead


def test_custom_field_lifecycle(sf):
    field_id = add_field(sf, "Lead.Warmly_Last_Seen__c", type="DateTime", label="Warmly Last Seen")
    assert field_id.startswith("00N") and len(field_id) == 18
    add_field(sf, "Lead.Warmly_Sessions__c", type="Number", label="Sessions", precision=8, scale=0)
    described = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    seen = described["Warmly_Last_Seen__c"]
    assert (seen["custom"], seen["type"], seen["label"], seen["nillable"]) == (True, "datetime", "Warmly Last Seen",
                                                                              True)
    assert described["Warmly_Sessions__c"]["type"] == "double" and described["Warmly_Sessions__c"]["precision"] == 8

    tooling = sf.toolingexecute(
        "query/?q=" + "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = 'Lead'"
    )
    assert {(r["Id"], r["DeveloperName"], r["TableEnumOrId"]) for r in tooling["records"]} >= {
        (field_id, "Warmly_Last_Seen", "Lead"),
    }
    one = sf.toolingexecute(f"sobjects/CustomField/{field_id}")
    assert one["FullName"] == "Lead.Warmly_Last_Seen__c" and one["Metadata"]["type"] == "DateTime"

    rid = sf.Lead.create(lead(Warmly_Last_Seen__c="2024-05-01T10:00:00+02:00", Warmly_Sessions__c=3.4))["id"]
    row = sf.query(f"SELECT Warmly_Last_Seen__c, Warmly_Sessions__c FROM Lead WHERE Id = '{rid}'")["records"][0]
    assert row["Warmly_Last_Seen__c"] == "2024-05-01T08:00:00.000+0000" and row["Warmly_Sessions__c"] == 3.0

    assert sf.toolingexecute(f"sobjects/CustomField/{field_id}", method="DELETE") == ""
    assert "Warmly_Last_Seen__c" not in {f["name"] for f in sf.Lead.describe()["fields"]}
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.update(rid, {"Warmly_Last_Seen__c": "2024-06-01T00:00:00Z"})
    assert error(exc)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Warmly_Last_Seen__c FROM Lead")
    assert error(exc)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest):
        create_many(sf, "Lead", [lead(Warmly_Last_Seen__c="2024-06-01T00:00:00Z")])

    add_field(sf, "Lead.Warmly_Last_Seen__c", type="DateTime", label="Warmly Last Seen")  # restored, data gone
    assert sf.Lead.get(rid)["Warmly_Last_Seen__c"] is None
    assert sf.Lead.update(rid, {"Warmly_Last_Seen__c": "2024-06-01T00:00:00Z"}) == 204


@pytest.mark.parametrize(
    ("full_name", "metadata", "code"),
    [
        ("Lead.Warmly_Id__c", {"type": "Text", "label": "Again", "length": 10}, "DUPLICATE_DEVELOPER_NAME"),
        ("Lead.warmly_id__c", {"type": "Text", "label": "Again", "length": 10}, "DUPLICATE_DEVELOPER_NAME"),
        ("Lead.Company__c", {"type": "Text", "label": "Company"}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.NoSuffix", {"type": "Text", "label": "x", "length": 10}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Bad__Name__c", {"type": "Text", "label": "x", "length": 10}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Opportunity.Foo__c", {"type": "Text", "label": "x", "length": 10}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Flag__c", {"type": "Checkbox", "label": "Flag"}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Notes__c", {"type": "LongTextArea", "label": "Notes", "length": 5000}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Score__c", {"type": "Number", "label": "Score"}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Thing__c", {"type": "Hologram", "label": "Thing"}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Unlabelled__c", {"type": "Date"}, "REQUIRED_FIELD_MISSING"),
    ],
)
def test_custom_field_create_is_validated(sf, full_name, metadata, code):
    add_field(sf, "Lead.Warmly_Id__c", type="Text", label="Warmly Id", length=64)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.toolingexecute("sobjects/CustomField", method="POST", data={"FullName": full_name, "Metadata": metadata})
    assert error(exc)["errorCode"] == code


def test_every_custom_field_type_is_writable(sf):
    specs = {
        "Seen__c": ({"type": "DateTime"}, "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000+0000"),
        "Day__c": ({"type": "Date"}, "2024-02-29", "2024-02-29"),
        "Key__c": ({"type": "Text", "length": 5}, "abcde", "abcde"),
        "Count__c": ({"type": "Number", "precision": 5, "scale": 2}, 123.456, 123.46),
        "Flag__c": ({"type": "Checkbox", "defaultValue": False}, True, True),
        "Notes__c": ({"type": "LongTextArea", "length": 1000, "visibleLines": 3}, "n" * 1000, "n" * 1000),
        "Home__c": ({"type": "Url"}, "https://acme.io", "https://acme.io"),
        "Work_Email__c": ({"type": "Email"}, "w@acme.io", "w@acme.io"),
    }
    for name, (meta, _, _) in specs.items():
        add_field(sf, f"Contact.{name}", label=name[:-3], **meta)
    rid = sf.Contact.create({"LastName": "Typed", **{n: v for n, (_, v, _) in specs.items()}})["id"]
    got = sf.Contact.get(rid)
    assert {n: got[n] for n in specs} == {n: expected for n, (_, _, expected) in specs.items()}
    assert sf.Contact.get(sf.Contact.create({"LastName": "Default"})["id"])["Flag__c"] is False
    for field, bad, code in (("Key__c", "abcdef", "STRING_TOO_LONG"), ("Count__c", 1000, "NUMBER_OUTSIDE_VALID_RANGE"),
                             ("Work_Email__c", "nope", "INVALID_EMAIL_ADDRESS")):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Contact.update(rid, {field: bad})
        assert error(exc)["errorCode"] == code
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.update(rid, {"Day__c": "yesterday"})
    assert error(exc)["errorCode"] == "JSON_PARSER_ERROR"
