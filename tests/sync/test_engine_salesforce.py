"""The sync engine against the Salesforce sandbox, checked through simple-salesforce."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import format_soql

from tests.sandbox.salesforce.conftest import grant
from tests.sync.conftest import Runner, outcome
from tests.sync.frames import companies, company, person, persons

SETTINGS = {
    "objects": {
        "lead": {"field_mapping": {"LeadSource": {"value": "Web"},
                                   "Description": {"column": "chat_use_case", "mode": "if_empty"}}},
        "contact": {"create": False},
    }
}
LEAD_FIELDS = ("Id, FirstName, LastName, Email, Title, Company, LeadSource, Description, "
               "Warmly_Session_Count__c, Warmly_Last_Seen__c, Warmly_Workflow__c, Warmly_Sync_Key__c")


def one(sf: Any, soql: str, *args: Any) -> dict[str, Any]:
    records = sf.query(format_soql(soql, *args))["records"]
    assert len(records) == 1, records
    return records[0]


def count(sf: Any, soql: str, *args: Any) -> int:
    return sf.query(format_soql(soql, *args))["totalSize"]


def server_writes(sandbox: Any) -> int:
    calls = sandbox.calls("salesforce")["by_endpoint"]
    return sum(n for k, n in calls.items() if k.split(" ")[0] in ("POST", "PATCH", "PUT", "DELETE"))


@pytest.fixture
def ready(sf_runner: Runner) -> Runner:
    sf_runner.settings_data = SETTINGS
    report = sf_runner.setup()
    assert report.created["Lead"], "setup should create the Warmly fields on a fresh org"
    return sf_runner


def world() -> tuple[Any, Any]:
    return (
        persons(
            person("ann@acme.io", first_name="Ann", title="VP Sales"),
            person("bob@globex.com", "globex.com", first_name="Bob", title="CMO", chat_use_case=None),
            person("carol@acme.io", first_name="Carol", title="Director of Marketing"),
        ),
        companies(company("acme.io", name="Acme"), company("globex.com", name="Globex")),
    )


def test_first_sync_writes_three_categories_links_people_and_updates_the_existing_contact(ready, sf) -> None:
    existing = sf.Contact.create({"LastName": "Rivers", "FirstName": "Carol", "Email": "Carol@Acme.io"})
    p, c = world()
    result = ready.sync(p, c)
    assert result.failed == 0, result.log.filter(result.log["status"] == "failed").to_dicts()

    acme = one(sf, "SELECT Id, Name, Website, Warmly_Session_Count__c, Warmly_Sync_Key__c FROM Account "
                   "WHERE Warmly_Sync_Key__c = {}", "acme.io")
    assert (acme["Name"], acme["Website"], acme["Warmly_Session_Count__c"]) == ("Acme", "acme.io", 12)

    ann = one(sf, f"SELECT {LEAD_FIELDS} FROM Lead WHERE Email = {{}}", "ann@acme.io")
    assert (ann["FirstName"], ann["Title"], ann["Company"]) == ("Ann", "VP Sales", "Acme")  # standard
    assert ann["Warmly_Session_Count__c"] == 3 and ann["Warmly_Workflow__c"] == "website_visitor"  # Warmly data
    assert ann["Warmly_Last_Seen__c"].startswith("2026-11-20T09:30:00")
    assert (ann["LeadSource"], ann["Description"]) == ("Web", "Route inbound leads")  # mapped fields

    # The existing Contact is updated and linked to its Account, never duplicated as a Lead.
    carol = one(sf, "SELECT Id, AccountId, LastName, Warmly_Session_Count__c FROM Contact WHERE Id = {}",
                existing["id"])
    assert carol["AccountId"] == acme["Id"] and carol["LastName"] == "Rivers"
    assert carol["Warmly_Session_Count__c"] == 3
    assert count(sf, "SELECT COUNT() FROM Lead WHERE Email = {}", "carol@acme.io") == 0
    assert outcome(result, "carol@acme.io")["object"] == "Contact"
    assert result.summary["Lead"].created == 2 and result.summary["Account"].created == 2
    assert result.summary["Contact"].updated == 1


def test_second_sync_makes_no_write_and_no_per_record_read(ready, sf, sandbox) -> None:
    p, c = world()
    ready.sync(p, c)
    sandbox.admin("salesforce", "DELETE", "calls")
    again = ready.sync(p, c)
    assert again.api_calls["writes"] == 0
    assert server_writes(sandbox) == 0
    queries = sum(n for k, n in sandbox.calls("salesforce")["by_endpoint"].items() if "query" in k)
    assert queries == 1  # which org (once per run); besides it only the once-per-object describe calls remain
    assert {s.unchanged for s in again.summary.values()} and all(
        s.created == s.updated == s.failed_total == 0 for s in again.summary.values())


def test_a_warehouse_change_updates_only_the_changed_fields_and_keeps_rep_edits(ready, sf) -> None:
    p, c = world()
    ready.sync(p, c)
    ann = one(sf, "SELECT Id FROM Lead WHERE Email = {}", "ann@acme.io")
    sf.Lead.update(ann["Id"], {"FirstName": "Annie"})  # a rep's correction
    changed = p.with_columns(
        title=p["email"].replace_strict({"ann@acme.io": "Chief Revenue Officer"}, default=p["title"]),
        session_count=p["email"].replace_strict({"ann@acme.io": 5}, default=p["session_count"]),
    )
    result = ready.sync(changed, c)
    row = outcome(result, "ann@acme.io")
    assert (row["action"], row["status"]) == ("update", "succeeded")
    assert row["changed_fields"] == "Title,Warmly_Session_Count__c"
    assert result.summary["Lead"].updated == 1 and result.api_calls["writes"] == 1
    after = one(sf, f"SELECT {LEAD_FIELDS} FROM Lead WHERE Id = {{}}", ann["Id"])
    assert (after["FirstName"], after["Title"], after["Warmly_Session_Count__c"]) == (
        "Annie", "Chief Revenue Officer", 5)


@pytest.mark.parametrize("workflow", ["website_visitor", "inbound_agent", "outbound_agent"])
def test_create_switch_off_stops_every_workflow_from_creating(ready, sf, workflow) -> None:
    p, c = world()
    off = {"objects": {"lead": {"create": False}, "account": {"create": False}, "contact": {"create": False}}}
    result = ready.sync(p, c, workflow=workflow, settings=off)
    assert count(sf, "SELECT COUNT() FROM Lead") == 0
    assert count(sf, "SELECT COUNT() FROM Account") == 0
    assert result.summary["Lead"].skipped == {"create_disabled": 3}
    assert result.summary["Account"].skipped == {"create_disabled": 2}


def test_update_switch_off_leaves_existing_records_alone(ready, sf) -> None:
    lead = sf.Lead.create({"LastName": "Example", "Company": "Acme", "Email": "ann@acme.io", "Title": "Intern"})
    p, c = world()
    result = ready.sync(p, c, settings={**SETTINGS, "objects": {**SETTINGS["objects"], "lead": {"update": False}}})
    assert one(sf, "SELECT Title FROM Lead WHERE Id = {}", lead["id"])["Title"] == "Intern"
    assert outcome(result, "ann@acme.io")["reason"] == "update_disabled"
    assert result.summary["Lead"].created == 2  # creation still allowed for the others


def test_deleted_engagement_field_fails_that_object_only_until_setup_restores_it(ready, sf) -> None:
    p, c = world()
    ready.sync(p, c)
    field = sf.toolingexecute(
        "query/?q=" + format_soql("SELECT Id FROM CustomField WHERE DeveloperName = {} AND TableEnumOrId = {}",
                                  "Warmly_Last_Seen", "Lead"))["records"][0]
    sf.toolingexecute(f"sobjects/CustomField/{field['Id']}", method="DELETE")
    changed = p.with_columns(session_count=p["session_count"] + 1)
    changed_c = c.with_columns(session_count=c["session_count"] + 1)

    blocked = ready.sync(changed, changed_c)
    leads = blocked.log.filter(blocked.log["object"] == "Lead")
    assert set(leads["reason"]) == {"missing_required_field"}
    assert "Warmly_Last_Seen__c" in leads["message"][0] and "writeback setup" in leads["message"][0]
    assert one(sf, "SELECT Warmly_Session_Count__c FROM Lead WHERE Email = {}",
               "ann@acme.io")["Warmly_Session_Count__c"] == 3  # nothing of the record was written
    assert blocked.summary["Account"].updated == 2  # other objects proceed
    assert set(blocked.log.filter(blocked.log["status"] == "failed")["object"]) == {"Lead"}

    assert ready.setup().created["Lead"] == ["Warmly_Last_Seen__c"]
    healed = ready.sync(changed, changed_c)
    assert healed.summary["Lead"].updated == 3 and healed.failed == 0
    assert one(sf, "SELECT Warmly_Session_Count__c FROM Lead WHERE Email = {}",
               "ann@acme.io")["Warmly_Session_Count__c"] == 4


def test_a_lost_response_does_not_duplicate(ready, sf, sandbox) -> None:
    sandbox.admin("salesforce", "POST", "faults",
                  {"kind": "drop_after_commit", "method": "PATCH", "path": "composite/sobjects/Lead", "count": 1})
    p, c = world()
    result = ready.sync(p, c)
    assert result.failed == 0
    for email in ("ann@acme.io", "bob@globex.com"):
        assert count(sf, "SELECT COUNT() FROM Lead WHERE Email = {}", email) == 1


def test_rate_limits_and_server_errors_are_survived(ready, sf, sandbox) -> None:
    sandbox.admin("salesforce", "POST", "faults", {"kind": "status", "status": 503, "count": 2,
                                                   "path": "composite/sobjects"})
    sandbox.admin("salesforce", "POST", "faults", {
        "kind": "status", "status": 429, "count": 1, "path": "query", "headers": {"Retry-After": "1"},
        "body": [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "ConcurrentPerOrgLongTxn Limit exceeded."}]})
    sandbox.admin("salesforce", "POST", "faults", {"kind": "lock_row", "count": 1, "path": "composite/sobjects"})
    p, c = world()
    result = ready.sync(p, c)
    assert result.failed == 0
    assert count(sf, "SELECT COUNT() FROM Lead") == 3 and count(sf, "SELECT COUNT() FROM Account") == 2


def test_an_apostrophe_email_matches_its_existing_lead(ready, sf) -> None:
    existing = sf.Lead.create({"LastName": "O'Hara", "Company": "Acme", "Email": "o'hara@acme.io"})
    result = ready.sync(persons(person("o'hara@acme.io", first_name="Maureen")), companies(company("acme.io")))
    row = outcome(result, "o'hara@acme.io")
    assert (row["action"], row["crm_id"]) == ("update", existing["id"])
    assert count(sf, "SELECT COUNT() FROM Lead WHERE Email = {}", "o'hara@acme.io") == 1


def test_one_bad_record_never_sinks_its_batch(ready, sf) -> None:
    long_title = "Senior Vice President, Worldwide Revenue Operations and Strategic Partnerships " * 3
    p = persons(person("ann@acme.io"), person("not-an-email"), person("zed@acme.io", title=long_title))
    result = ready.sync(p, companies(company("acme.io")))
    assert outcome(result, "not-an-email")["reason"] == "invalid_email"
    assert count(sf, "SELECT COUNT() FROM Lead") == 2
    zed = one(sf, "SELECT Title FROM Lead WHERE Email = {}", "zed@acme.io")
    assert zed["Title"] == long_title[:128]
    assert outcome(result, "zed@acme.io")["message"] == "truncated:Title"  # the sync log says what was adjusted


def test_plan_writes_nothing_and_shows_field_level_changes(ready, sf, sandbox) -> None:
    p, c = world()
    ready.sync(p, c)
    sandbox.admin("salesforce", "DELETE", "calls")
    changed = p.with_columns(title=p["email"].replace_strict({"bob@globex.com": "CEO"}, default=p["title"]))
    plan = ready.sync(changed, c, mode="plan")
    assert server_writes(sandbox) == 0 and plan.api_calls["writes"] == 0
    assert plan.summary["Lead"].planned_update == 1
    sample = [s for s in plan.samples if s["key"] == "bob@globex.com"][0]
    assert sample["changes"] == {"Title": {"old": "CMO", "new": "CEO"}}
    assert one(sf, "SELECT Title FROM Lead WHERE Email = {}", "bob@globex.com")["Title"] == "CMO"
    # A plan leaves no state behind: the real sync still sees the change.
    assert ready.sync(changed, c).summary["Lead"].updated == 1


def test_a_spent_daily_allocation_stops_cleanly_and_the_next_run_finishes(ready, sf, sandbox) -> None:
    used = sandbox.admin("salesforce", "GET", "config")
    sandbox.admin("salesforce", "POST", "config", {"daily_api_limit": 1})
    p, c = world()
    result = ready.sync(p, c)
    assert result.stopped and "daily" in result.stopped.lower()
    assert result.failed == result.log.height  # every record accounted for, none written
    assert set(result.log["reason"]) == {"api_limit_exhausted"}
    sandbox.admin("salesforce", "POST", "config", {"daily_api_limit": used["daily_api_limit"]})
    retry = ready.sync(p, c)
    assert retry.failed == 0 and count(sf, "SELECT COUNT() FROM Lead") == 3


def test_full_refresh_rereads_the_crm_and_restores_a_deleted_record(ready, sf) -> None:
    p, c = world()
    ready.sync(p, c)
    ann = one(sf, "SELECT Id FROM Lead WHERE Email = {}", "ann@acme.io")
    sf.Lead.delete(ann["Id"])  # a rep deleted it
    quiet = ready.sync(p, c)
    assert quiet.api_calls["writes"] == 0  # same fingerprint: not even read
    assert count(sf, "SELECT COUNT() FROM Lead WHERE Email = {}", "ann@acme.io") == 0
    full = ready.sync(p, c, full_refresh=True)
    assert outcome(full, "ann@acme.io")["action"] == "create"
    assert full.summary["Lead"].unchanged == 2 and full.summary["Account"].unchanged == 2
    assert count(sf, "SELECT COUNT() FROM Lead WHERE Email = {}", "ann@acme.io") == 1


def test_a_disabled_workflow_writes_nothing_and_says_why(ready, sf, sandbox) -> None:
    sandbox.admin("salesforce", "DELETE", "calls")
    p, c = world()
    result = ready.sync(p, c, settings={"workflows": {"website_visitor": {"enabled": False}}})
    assert sandbox.calls("salesforce")["total"] == 0
    assert result.summary["Lead"].skipped == {"workflow_disabled": 3}
    assert result.summary["Account"].skipped == {"workflow_disabled": 2}
    other = ready.sync(p, c, workflow="inbound_agent", settings={"workflows": {"website_visitor": {"enabled": False}}})
    assert other.summary["Lead"].created == 3  # switching one workflow off leaves the others alone


@pytest.mark.parametrize("objects", [
    {"lead": {"create": False}},                    # the one key, in the flat form for `crm: salesforce`
    {"salesforce": {"lead": {"create": False}}},    # the one key, per CRM
])
def test_lead_creation_off_alone_creates_no_person_of_any_kind(ready, sf, objects) -> None:
    existing = sf.Contact.create({"LastName": "Rivers", "FirstName": "Carol", "Email": "carol@acme.io"})
    p, c = world()
    result = ready.sync(p, c, settings={"objects": objects})
    assert result.failed == 0
    assert count(sf, "SELECT COUNT() FROM Lead") == 0
    assert count(sf, "SELECT COUNT() FROM Contact") == 1  # only the rep's, updated
    for email in ("ann@acme.io", "bob@globex.com"):
        row = outcome(result, email)
        assert (row["object"], row["action"], row["reason"]) == ("Lead", "skipped", "create_disabled")
    assert outcome(result, "carol@acme.io")["crm_id"] == existing["id"]
    assert result.summary["Lead"].skipped == {"create_disabled": 2} and result.summary["Contact"].updated == 1
    assert result.summary["Account"].created == 2  # Accounts are their own switch


def test_the_contact_fallback_creates_contacts_under_their_account_when_asked(ready, sf) -> None:
    fallback = {"objects": {"salesforce": {"lead": {"create": False}, "contact": {"create_when_lead_off": True}}}}
    p, c = world()
    result = ready.sync(p, c, settings=fallback)
    assert result.failed == 0, result.log.filter(result.log["status"] == "failed").to_dicts()
    assert count(sf, "SELECT COUNT() FROM Lead") == 0
    accounts = {r["Warmly_Sync_Key__c"]: r["Id"] for r in
                sf.query("SELECT Id, Warmly_Sync_Key__c FROM Account")["records"]}
    contacts = {r["Email"]: r for r in sf.query(
        "SELECT Id, Email, FirstName, AccountId, Warmly_Session_Count__c, Warmly_Sync_Key__c FROM Contact")["records"]}
    assert set(contacts) == {"ann@acme.io", "bob@globex.com", "carol@acme.io"}
    assert contacts["ann@acme.io"]["AccountId"] == contacts["carol@acme.io"]["AccountId"] == accounts["acme.io"]
    assert contacts["bob@globex.com"]["AccountId"] == accounts["globex.com"]
    assert contacts["ann@acme.io"]["Warmly_Session_Count__c"] == 3
    assert contacts["ann@acme.io"]["Warmly_Sync_Key__c"] == "ann@acme.io"  # idempotent creates, as for Leads
    assert result.summary["Contact"].created == 3 and "Lead" not in result.summary
    again = ready.sync(p, c, settings=fallback)
    assert again.api_calls["writes"] == 0 and again.summary["Contact"].unchanged == 3


def test_a_chat_answer_mapping_writes_the_team_size_onto_the_lead(ready, sf) -> None:
    # The admin creates the field, as in Setup; mapped fields are the admin's, never ours.
    sf.toolingexecute("sobjects/CustomField", method="POST", data={
        "FullName": "Lead.Team_Size__c", "Metadata": {"type": "Text", "length": 40, "label": "Team Size"}})
    grant(sf, "Lead.Team_Size__c")  # and grants the integration user read and edit on it (field-level security)
    mapped = {"objects": {"salesforce": {
        "lead": {"field_mapping": {"Team_Size__c": {"chat_answer": "team_size"},
                                   "Description": {"chat_answer": "use_case", "mode": "if_empty"}}},
    }}}
    p = persons(
        person("ann@acme.io", chat_answers='{"phone":"+1 415 555 0100","team_size":"51-200","use_case":"Book demos"}'),
        person("bob@globex.com", "globex.com", chat_answers=None),
    )
    c = companies(company("acme.io"), company("globex.com"))
    result = ready.sync(p, c, settings=mapped)
    assert result.failed == 0, result.log.filter(result.log["status"] == "failed").to_dicts()
    ann = one(sf, "SELECT Id, Team_Size__c, Description FROM Lead WHERE Email = {}", "ann@acme.io")
    assert (ann["Team_Size__c"], ann["Description"]) == ("51-200", "Book demos")
    bob = one(sf, "SELECT Team_Size__c, Description FROM Lead WHERE Email = {}", "bob@globex.com")
    assert (bob["Team_Size__c"], bob["Description"]) == (None, None)

    # A corrected answer is one changed field on the next run.
    corrected = p.with_columns(chat_answers=p["chat_answers"].str.replace("51-200", "201-1000", literal=True))
    again = ready.sync(corrected, c, settings=mapped)
    assert outcome(again, "ann@acme.io")["changed_fields"] == "Team_Size__c"
    assert one(sf, "SELECT Team_Size__c FROM Lead WHERE Id = {}", ann["Id"])["Team_Size__c"] == "201-1000"
