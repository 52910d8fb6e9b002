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


def _writes(sandbox: Any, crm: str, needle: str = "") -> dict[str, int]:
    """Write calls the sandbox received (on endpoints containing ``needle``)."""
    calls = sandbox.calls(crm)["by_endpoint"]
    return {k: n for k, n in calls.items() if needle in k and k.split(" ")[0] in ("POST", "PATCH", "PUT", "DELETE")
            and not any(r in k for r in ("batch/read", "/search", "access-token-info", "query"))}


def test_a_token_without_contacts_write_fails_contacts_with_missing_scope_before_any_write(
        hs_runner: Runner, sandbox_clean: Any) -> None:
    from connectors.sandbox.hubspot.scopes import ALL_SCOPES

    hs_runner.setup()
    sandbox_clean.admin("hubspot", "POST", "config",
                        {"scopes": [s for s in ALL_SCOPES if s != "crm.objects.contacts.write"]})
    sandbox_clean.admin("hubspot", "DELETE", "calls")
    p, c = _world()
    result = hs_runner.sync(p, c)
    ann = outcome(result, "ann@acme.io")
    assert (ann["object"], ann["status"], ann["reason"]) == ("contacts", "failed", "missing_scope")
    assert "lacks the scope crm.objects.contacts.write" in ann["message"]
    assert "or set objects.hubspot.contact.create: false" in ann["message"]
    assert _writes(sandbox_clean, "hubspot", "contacts") == {}  # no contact write, no association, was sent
    assert result.summary["companies"].created == 1  # companies: the token may write them


def test_a_token_without_contacts_read_fails_every_contact(hs_runner: Runner, sandbox_clean: Any) -> None:
    from connectors.sandbox.hubspot.scopes import ALL_SCOPES

    hs_runner.setup()
    sandbox_clean.admin("hubspot", "POST", "config",
                        {"scopes": [s for s in ALL_SCOPES if s != "crm.objects.contacts.read"]})
    p, c = _world()
    result = hs_runner.sync(p, c, mode="plan")
    contacts = result.log.filter(result.log["object"] == "contacts")
    assert contacts.height == 2 and set(contacts["reason"]) == {"missing_scope"}
    assert "crm.objects.contacts.read" in contacts["message"][0]


def test_salesforce_object_permissions_refuse_by_name_before_any_write(sf_runner: Runner, sf,
                                                                       sandbox_clean: Any) -> None:
    sf_runner.settings_data = {"objects": {"contact": {"create": False}}}
    sf_runner.setup()
    p, c = _world()
    sf_runner.sync(p.head(1), c)  # ann and Acme exist now
    sandbox_clean.admin("salesforce", "POST", "config", {"object_permissions": {
        "Lead": {"PermissionsCreate": False}, "Account": {"PermissionsEdit": False}}})
    sandbox_clean.admin("salesforce", "DELETE", "calls")
    result = sf_runner.sync(p.with_columns(session_count=p["session_count"] + 1),
                            c.with_columns(session_count=c["session_count"] + 1))
    bob, ann, acme = outcome(result, "bob@acme.io"), outcome(result, "ann@acme.io"), outcome(result, "acme.io")
    assert (bob["action"], bob["reason"]) == ("failed", "missing_permission")
    assert "lacks the object permission Create on Lead" in bob["message"]
    assert "or set objects.lead.create: false" in bob["message"]
    assert (ann["action"], ann["status"]) == ("update", "succeeded")  # Edit on Lead is still granted
    assert (acme["action"], acme["reason"]) == ("update", "missing_permission")
    assert "Edit on Account" in acme["message"] and "objects.account.update: false" in acme["message"]
    assert _writes(sandbox_clean, "salesforce", "Account") == {}
    assert not any("Lead/Warmly_Sync_Key__c" in k for k in _writes(sandbox_clean, "salesforce"))
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 1
