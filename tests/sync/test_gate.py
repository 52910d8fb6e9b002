"""The gate before any write (:mod:`dagster_pipeline.sync.gate`): a required field missing, hidden
by field-level security, or read-only fails every record of its object with a reason and the fix.
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import format_soql

from dagster_pipeline.sync.catalog import OBJECTS
from dagster_pipeline.sync.gate import PERMISSION_SET, FieldGap, our_fields
from tests.sync.conftest import Runner, outcome
from tests.sync.frames import companies, company, person, persons

LEAD = OBJECTS["salesforce"]["lead"]
OURS = our_fields(LEAD)


@pytest.mark.parametrize(
    ("gap", "reason", "says"),
    [
        (FieldGap("Lead", missing=("Warmly_Last_Seen__c",), ours=OURS, settings_key="objects.lead"),
         "missing_required_field",
         ["Lead is missing required field(s): Warmly_Last_Seen__c", "run `writeback setup` to create them,"]),
        (FieldGap("Lead", hidden=("Warmly_Last_Seen__c",), ours=OURS, settings_key="objects.lead"),
         "field_not_visible",
         ["Warmly_Last_Seen__c exist but are not visible to this user (field-level security)",
          f"run `writeback setup` to grant read and edit on them through the {PERMISSION_SET} permission set"]),
        (FieldGap("Lead", read_only=("Warmly_Sync_Key__c",), ours=OURS, settings_key="objects.lead"),
         "field_not_visible", ["Warmly_Sync_Key__c are read-only for this user", "run `writeback setup` to grant"]),
        (FieldGap("Lead", missing=("Warmly_Top_Pages__c",), hidden=("Warmly_Last_Seen__c",), ours=OURS,
                  settings_key="objects.lead"),
         "missing_required_field", ["run `writeback setup` to create them and grant read and edit on them"]),
        (FieldGap("Lead", missing=("Score__c",), hidden=("Notes__c",), ours=OURS, settings_key="objects.lead"),
         "missing_required_field",
         ["create the mapped field(s) Score__c in the CRM or remove them from objects.lead.field_mapping",
          "grant the integration user read and edit on Notes__c"]),
    ],
)
def test_each_kind_of_gap_names_its_reason_and_fix(gap: FieldGap, reason: str, says: list[str]) -> None:
    assert gap and gap.reason == reason
    message = gap.message()
    assert message.endswith(", then sync again.") and "Nothing was written to Lead" in message
    for fragment in says:
        assert fragment in message, message


def test_an_empty_gap_lets_the_object_through() -> None:
    assert not FieldGap("Lead")


def _world() -> tuple[Any, Any]:
    return (persons(person("ann@acme.io"), person("bob@acme.io")), companies(company("acme.io")))


def test_without_the_permission_set_the_gate_says_not_visible_until_setup_grants_again(sf_runner: Runner, sf) -> None:
    sf_runner.settings_data = {"objects": {"contact": {"create": False}}}
    sf_runner.setup()
    p, c = _world()
    assert sf_runner.sync(p, c).failed == 0
    ps = sf.query(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET))["records"][0]["Id"]
    sf.PermissionSet.delete(ps)  # an admin removed it: the fields stay, hidden from the integration user

    blocked = sf_runner.sync(p.with_columns(session_count=p["session_count"] + 1), c)
    ann = outcome(blocked, "ann@acme.io")
    assert (ann["object"], ann["status"], ann["reason"]) == ("Lead", "failed", "field_not_visible")
    assert "exist but are not visible to this user (field-level security)" in ann["message"]
    assert f"run `writeback setup` to grant read and edit on them through the {PERMISSION_SET}" in ann["message"]
    assert "Warmly_Last_Seen__c" in ann["message"]
    assert outcome(blocked, "acme.io")["reason"] == "field_not_visible"

    report = sf_runner.setup()
    assert report.created["Lead"] == [] and "Warmly_Last_Seen__c" in report.granted["Lead"]
    healed = sf_runner.sync(p.with_columns(session_count=p["session_count"] + 1), c)
    assert healed.failed == 0 and healed.summary["Lead"].updated == 2


def test_a_hidden_mapped_field_names_the_admins_fix(sf_runner: Runner, sf) -> None:
    sf_runner.settings_data = {"objects": {"lead": {"field_mapping": {"Route__c": {"value": "inbound"}}},
                                           "contact": {"create": False}}}
    sf.toolingexecute("sobjects/CustomField", method="POST",
                      data={"FullName": "Lead.Route__c", "Metadata": {"type": "Text", "label": "Route", "length": 40}})
    report = sf_runner.setup()
    assert report.missing_mapped["Lead"] == ["Route__c"]  # setup does not grant the admin's fields
    p, c = _world()
    result = sf_runner.sync(p, c)
    ann = outcome(result, "ann@acme.io")
    assert ann["reason"] == "field_not_visible"
    assert "grant the integration user read and edit on Route__c" in ann["message"]
    assert "writeback setup" not in ann["message"]
