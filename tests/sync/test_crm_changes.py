"""What happens in the CRM is noticed: deleted and recreated fields, another org, other workflows' writes.

Each test drives the engine against the sandboxes through the real SDKs and reads the CRM back
through the SDK, so it checks what a RevOps admin would see, not what the engine reports.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hubspot.crm.contacts import SimplePublicObjectInput
from simple_salesforce import format_soql

from dagster_pipeline.sync.classify import WORKFLOW_PRECEDENCE
from dagster_pipeline.sync.state import SyncStore
from tests.sync.conftest import Runner, outcome
from tests.sync.frames import SEEN, companies, company, person, persons
from tests.sync.helpers import hs_contact

SETTINGS = {"objects": {"contact": {"create": False}}}


def world() -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        persons(person("ann@acme.io", first_name="Ann"), person("bob@acme.io", first_name="Bob")),
        companies(company("acme.io", name="Acme")),
    )


@pytest.fixture
def ready(sf_runner: Runner) -> Runner:
    sf_runner.settings_data = SETTINGS
    sf_runner.setup()
    return sf_runner


def delete_field(sf: Any, obj: str, developer_name: str) -> None:
    field = sf.toolingexecute("query/?q=" + format_soql(
        "SELECT Id FROM CustomField WHERE DeveloperName = {} AND TableEnumOrId = {}", developer_name, obj))
    sf.toolingexecute(f"sobjects/CustomField/{field['records'][0]['Id']}", method="DELETE")


def last_seen(sf: Any) -> dict[str, Any]:
    rows = sf.query("SELECT Email, Warmly_Last_Seen__c FROM Lead")["records"]
    return {r["Email"]: r["Warmly_Last_Seen__c"] for r in rows}


def test_a_missing_field_fails_every_record_of_its_object_even_when_nothing_changed(ready: Runner, sf: Any) -> None:
    p, c = world()
    ready.sync(p, c)
    delete_field(sf, "Lead", "Warmly_Last_Seen")
    for mode in ("plan", "sync"):
        again = ready.sync(p, c, mode=mode)  # the warehouse did not change
        leads = again.log.filter(pl.col("object") == "Lead")
        assert leads.height == 2 and set(leads["reason"]) == {"missing_required_field"}, leads.to_dicts()
        assert "Warmly_Last_Seen__c" in leads["message"][0]
        assert again.summary["Account"].unchanged == 1  # other objects are not held back


@pytest.mark.parametrize("sync_in_between", [True, False], ids=["a-run-saw-it-missing", "setup-right-after"])
def test_a_field_recreated_by_setup_is_filled_on_every_record_without_a_warehouse_change(
        ready: Runner, sf: Any, sync_in_between: bool) -> None:
    p, c = world()
    ready.sync(p, c)
    assert all(last_seen(sf).values())
    delete_field(sf, "Lead", "Warmly_Last_Seen")
    if sync_in_between:
        ready.sync(p, c)
    assert ready.setup().created["Lead"] == ["Warmly_Last_Seen__c"]
    assert set(last_seen(sf).values()) == {None}  # a recreated field starts empty, as in a real org

    healed = ready.sync(p, c)  # same warehouse rows as before
    assert healed.failed == 0
    assert {outcome(healed, k)["changed_fields"] for k in ("ann@acme.io", "bob@acme.io")} == {"Warmly_Last_Seen__c"}
    assert all(v and v.startswith(SEEN.strftime("%Y-%m-%dT%H:%M")) for v in last_seen(sf).values())
    assert ready.sync(p, c).api_calls["writes"] == 0  # and then it settles


def test_state_belongs_to_one_org_so_a_new_org_is_a_first_sync(ready: Runner, sf: Any, sandbox: Any) -> None:
    p, c = world()
    first = ready.sync(p, c)
    assert first.summary["Lead"].created == 2
    # The same warehouse now points at another org (sandbox -> production): a fresh, empty one.
    sandbox.admin("salesforce", "POST", "reset")
    sandbox.admin("salesforce", "POST", "config", {"organization_id": "00D5e000000PROD"})
    ready.setup()
    moved = ready.sync(p, c)
    assert moved.summary["Lead"].created == 2 and moved.summary["Account"].created == 1
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 2
    assert set(moved.log["org"]) == {"00D5e000000PROD"}


def test_a_new_hubspot_portal_is_a_first_sync(hs_runner: Runner, hs: Any, sandbox: Any) -> None:
    hs_runner.setup()
    p, c = world()
    assert hs_runner.sync(p, c).summary["contacts"].created == 2
    sandbox.admin("hubspot", "POST", "reset")
    sandbox.admin("hubspot", "POST", "config", {"portal_id": 24681357})
    hs_runner.setup()
    moved = hs_runner.sync(p, c)
    assert moved.summary["contacts"].created == 2 and moved.summary["companies"].created == 1
    assert set(moved.log["org"]) == {"24681357"}


# -- workflows that write the same record --------------------------------------------------------

def shared_world(workflow: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The same person and company as each workflow sees them: different signals, different times."""
    import datetime as dt

    signal = {
        "website_visitor": dict(last_seen_at=SEEN, intent_topic=None, intent_signal=None, intent_signal_at=None),
        "inbound_agent": dict(last_seen_at=SEEN, intent_topic="chat", intent_signal="demo request",
                              intent_signal_at=None),
        "outbound_agent": dict(last_seen_at=None, intent_topic="CRM software", intent_signal="job change",
                               intent_signal_at=SEEN + dt.timedelta(hours=2)),
    }[workflow]
    return (persons(person("ann@acme.io", first_name="Ann", **signal)),
            companies(company("acme.io", name="Acme", **signal)))


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_workflows_that_write_one_record_converge_and_the_freshest_signal_wins(
        crm: str, sf_runner: Runner, hs_runner: Runner, sf: Any, hs: Any) -> None:
    runner = sf_runner if crm == "salesforce" else hs_runner
    runner.settings_data = SETTINGS if crm == "salesforce" else {}
    runner.setup()
    order = ["website_visitor", "inbound_agent", "outbound_agent"]
    for full_refresh in (False, True, True):
        for wf in order:
            runner.sync(*shared_world(wf), workflow=wf, full_refresh=full_refresh)
    for full_refresh in (False, True):
        writes = [runner.sync(*shared_world(wf), workflow=wf, full_refresh=full_refresh).api_calls["writes"]
                  for wf in order]
        assert writes == [0, 0, 0], f"full_refresh={full_refresh}: {writes}"
    # The outbound signal is the most recent: its Warmly data is what the CRM holds.
    if crm == "salesforce":
        acct = sf.query("SELECT Warmly_Workflow__c, Warmly_Intent_Topic__c FROM Account")["records"][0]
        lead = sf.query("SELECT Warmly_Workflow__c, Warmly_Intent_Topic__c FROM Lead")["records"][0]
        got = {(r["Warmly_Workflow__c"], r["Warmly_Intent_Topic__c"]) for r in (acct, lead)}
    else:
        comp = hs.crm.companies.basic_api.get_page(properties=["warmly_workflow", "warmly_intent_topic"]).results[0]
        cont = hs.crm.contacts.basic_api.get_page(properties=["warmly_workflow", "warmly_intent_topic"]).results[0]
        got = {(o.properties["warmly_workflow"], o.properties["warmly_intent_topic"]) for o in (comp, cont)}
    assert got == {("outbound_agent", "CRM software")}


def test_on_equal_signals_the_workflow_first_in_precedence_wins(sf_runner: Runner, sf: Any) -> None:
    sf_runner.settings_data = SETTINGS
    sf_runner.setup()
    same_time = {"last_seen_at": SEEN, "intent_signal_at": None}
    topics = {"website_visitor": "pricing page", "inbound_agent": "chat"}
    for _ in range(2):
        for wf in ("inbound_agent", "website_visitor"):
            sf_runner.sync(persons(person("ann@acme.io", intent_topic=topics[wf], **same_time)),
                           companies(company("acme.io", intent_topic=topics[wf], **same_time)),
                           workflow=wf, full_refresh=True)
    lead = sf.query("SELECT Warmly_Workflow__c, Warmly_Intent_Topic__c FROM Lead")["records"][0]
    assert WORKFLOW_PRECEDENCE[0] == "inbound_agent"
    assert (lead["Warmly_Workflow__c"], lead["Warmly_Intent_Topic__c"]) == ("inbound_agent", "chat")


# -- reconcile: edits and deletes made in the CRM ------------------------------------------------

def test_reconcile_restores_our_fields_keeps_the_reps_and_recreates_deleted_records(ready: Runner, sf: Any) -> None:
    p, c = world()
    ready.sync(p, c)
    ann = sf.query("SELECT Id FROM Lead WHERE Email = 'ann@acme.io'")["records"][0]["Id"]
    bob = sf.query("SELECT Id FROM Lead WHERE Email = 'bob@acme.io'")["records"][0]["Id"]
    # A rep edits what we own (engagement data, title) and what they own (the name), and deletes Bob.
    sf.Lead.update(ann, {"Warmly_Session_Count__c": 99, "Title": "Intern", "FirstName": "Annie"})
    sf.Lead.delete(bob)

    quiet = ready.sync(p, c)
    assert quiet.api_calls["writes"] == 0  # a plain run trusts the fingerprint: nothing read, nothing written

    planned = ready.sync(p, c, mode="plan", full_refresh=True)
    assert planned.api_calls["writes"] == 0
    assert planned.summary["Lead"].drift == {"Title": 1, "Warmly_Session_Count__c": 1}
    assert planned.summary["Lead"].deleted_in_crm == 1

    fixed = ready.sync(p, c, full_refresh=True)
    row = outcome(fixed, "ann@acme.io")
    assert (row["action"], row["reason"], row["changed_fields"]) == ("update", "drift", "Title,Warmly_Session_Count__c")
    assert (outcome(fixed, "bob@acme.io")["action"], outcome(fixed, "bob@acme.io")["reason"]) == (
        "create", "deleted_in_crm")
    after = sf.query(f"SELECT FirstName, Title, Warmly_Session_Count__c FROM Lead WHERE Id = '{ann}'")["records"][0]
    assert (after["FirstName"], after["Title"], after["Warmly_Session_Count__c"]) == ("Annie", "VP Sales", 3)
    assert sf.query("SELECT COUNT() FROM Lead WHERE Email = 'bob@acme.io'")["totalSize"] == 1
    assert ready.sync(p, c, full_refresh=True).api_calls["writes"] == 0  # and it converges


# -- reconcile at volume: the column-wise diff finds exactly the records a rep edited ---------------

MANY = 60
#: What reps changed, per record index: fields we own (drift, restored) and one they own (kept).
EDITS = {
    3: ({"Title": "Intern"}, {"jobtitle": "Intern"}, "Title", "jobtitle"),
    17: ({"Warmly_Session_Count__c": 99}, {"warmly_session_count": "99"}, "Warmly_Session_Count__c",
         "warmly_session_count"),
    41: ({"Warmly_Demo_Requested__c": True}, {"warmly_demo_requested": "true"}, "Warmly_Demo_Requested__c",
         "warmly_demo_requested"),
    52: ({"Warmly_Last_Seen__c": "2026-11-21T09:30:00.000+0000", "FirstName": "Renamed"},
         {"warmly_last_seen": "2026-11-21T09:30:00Z", "firstname": "Renamed"}, "Warmly_Last_Seen__c",
         "warmly_last_seen"),
}
#: The same values, written in the CRM's other formats: no change (not drift).
SAME = {
    8: ({"Warmly_Last_Seen__c": "2026-11-20T09:30:00Z", "Warmly_Session_Count__c": 3.0},
        {"warmly_last_seen": str(int(SEEN.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)),
         "warmly_session_count": "3.0"}),
    9: ({"Title": "  VP Sales "}, {"jobtitle": "VP Sales  "}),
}


def many() -> tuple[pl.DataFrame, pl.DataFrame]:
    return (persons(*(person(f"p{i}@acme.io") for i in range(MANY))), companies(company("acme.io", name="Acme")))


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_reconcile_among_many_updates_exactly_the_drifted_records(crm: str, sf_runner: Runner, hs_runner: Runner,
                                                                  sf: Any, hs: Any) -> None:
    runner = sf_runner if crm == "salesforce" else hs_runner
    runner.settings_data = SETTINGS if crm == "salesforce" else {}
    runner.setup()
    p, c = many()
    runner.sync(p, c)
    obj = "Lead" if crm == "salesforce" else "contacts"
    if crm == "salesforce":
        ids = {r["Email"]: r["Id"] for r in sf.query_all("SELECT Id, Email FROM Lead")["records"]}
        for i, (sf_edit, *_rest) in {**EDITS, **SAME}.items():
            sf.Lead.update(ids[f"p{i}@acme.io"], sf_edit)
    else:
        for i, (_sf, hs_edit, *_rest) in {**EDITS, **SAME}.items():
            contact = hs_contact(hs, f"p{i}@acme.io", ["email"])
            hs.crm.contacts.basic_api.update(contact.id, SimplePublicObjectInput(properties=hs_edit))

    fixed = runner.sync(p, c, full_refresh=True)
    log = fixed.log.filter(pl.col("object") == obj)
    drifted = {f"p{i}@acme.io": (edit[2] if crm == "salesforce" else edit[3]) for i, edit in EDITS.items()}
    got = {r["key"]: r["changed_fields"] for r in log.filter(pl.col("action") == "update").to_dicts()}
    assert got == drifted
    assert set(log.filter(pl.col("action") == "update")["reason"]) == {"drift"}
    assert log.filter(pl.col("action") == "unchanged").height == MANY - len(EDITS)
    assert log.filter(pl.col("action") == "unchanged")["crm_id"].null_count() == 0
    assert fixed.summary[obj].updated == len(EDITS)

    # Read back through the SDK: our values restored, the rep's own field kept.
    for i in EDITS:
        email = f"p{i}@acme.io"
        if crm == "salesforce":
            rec = sf.query(format_soql("SELECT FirstName, Title, Warmly_Session_Count__c, Warmly_Demo_Requested__c, "
                                       "Warmly_Last_Seen__c FROM Lead WHERE Email = {}", email))["records"][0]
            assert (rec["Title"], rec["Warmly_Session_Count__c"], rec["Warmly_Demo_Requested__c"]) == (
                "VP Sales", 3, False)
            assert rec["Warmly_Last_Seen__c"].startswith("2026-11-20T09:30:00")
            assert rec["FirstName"] == ("Renamed" if i == 52 else f"P{i}")
        else:
            props = hs_contact(hs, email, ["firstname", "jobtitle", "warmly_session_count", "warmly_demo_requested",
                                           "warmly_last_seen"]).properties
            assert (props["jobtitle"], props["warmly_session_count"], props["warmly_demo_requested"]) == (
                "VP Sales", "3", "false")
            assert props["warmly_last_seen"].startswith("2026-11-20T09:30:00")
            assert props["firstname"] == ("Renamed" if i == 52 else f"P{i}")

    # The unchanged records were remembered by the reconcile (column-wise): a plain run reads nothing.
    state = SyncStore(runner.warehouse).load_state(crm, str(runner.connector().org_id()), "website_visitor", "person")
    assert state.filter(pl.col("run_id") == fixed.run_id).height == MANY
    quiet = runner.sync(p, c)
    assert quiet.api_calls["writes"] == 0 and quiet.summary[obj].unchanged == MANY
    again = runner.sync(p, c, full_refresh=True)
    assert again.api_calls["writes"] == 0 and again.summary[obj].unchanged == MANY
