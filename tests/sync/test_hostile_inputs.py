"""Hostile inputs: every case gets a named outcome, never sinks its batch, never touches another record.

One person model and one company model hold every case of :mod:`tests.sync.hostile_cases` (quotes
and SOQL/LIKE metacharacters, unicode, right-to-left, zero-width, NUL and CR/LF, 10,000-character
text, invalid and near-valid e-mails, case/space variants and duplicate keys, nulls in the key and
in required columns, out-of-range numbers and dates, spellings of one domain, picklist misses) and
a batch of 200 new people with one the CRM refuses in the middle. Each CRM syncs them once, then
once more comparing every record with the CRM (``--reconcile``): nothing is written again and what
failed fails the same way. Every case is asserted against ``writeback.sync_log`` and against the CRM
read back through the SDK (simple-salesforce / hubspot-api-client); records a rep made before the
run, and not in the model, must come out as they went in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors.hubspot.client import HubSpotCredentials
from connectors.hubspot.client import make_client as make_hubspot
from connectors.salesforce.client import SalesforceCredentials
from connectors.salesforce.client import make_client as make_salesforce
from connectors.warehouse import Warehouse
from dagster_pipeline.sync.keys import normalise_domain
from tests.sync.conftest import Runner
from tests.sync.helpers import log_table
from tests.sync.hostile_cases import (
    BAD_AT,
    BAD_IN_BATCH,
    BATCH,
    CASES,
    CREATED,
    CRMS,
    DUPLICATE_KEY,
    PERSON_CASES,
    Case,
    crm_value,
    models,
)

SF_PERSON = ["Id", "Email", "FirstName", "LastName", "Title", "Company", "Website", "Status", "NumberOfEmployees",
             "Warmly_Session_Count__c", "Warmly_First_Seen__c", "Warmly_Last_Seen__c", "Warmly_Top_Pages__c",
             "Warmly_Sync_Key__c"]
SF_COMPANY = ["Id", "Name", "Website", "Industry", "NumberOfEmployees", "AnnualRevenue", "Warmly_First_Seen__c",
              "Warmly_Last_Seen__c", "Warmly_Sync_Key__c"]
HS_PERSON = ["email", "firstname", "lastname", "jobtitle", "company", "website", "warmly_session_count",
             "warmly_first_seen",
             "warmly_last_seen", "warmly_top_pages"]
HS_COMPANY = ["name", "domain", "industry", "numberofemployees", "annualrevenue", "warmly_first_seen",
              "warmly_last_seen", "warmly_sync_key"]

#: Records a rep made before the first run, none of them in the model. The Accounts' websites are
#: what an unescaped LIKE on ``a_b.io`` / ``100%.io`` would match; the Lead shares the domain.
REP_PERSON = {"email": "rep@acme.io", "first": "Rita", "title": "Rep title"}
REP_SITES = ("axb.io", "100x.io")


@dataclass
class Synced:
    """One CRM after the two runs: both logs and what the CRM holds, read through the SDK."""

    crm: str
    first: pl.DataFrame
    second: pl.DataFrame
    people: dict[str, list[dict[str, Any]]]  # email (lower-case) -> records
    firms: dict[str, list[dict[str, Any]]]  # our sync key -> records
    rep_firms: dict[str, list[dict[str, Any]]]  # website/domain of the rep's companies -> records
    person_rows: int
    company_rows: int


def _make_rep_records(crm: str, client: Any) -> None:
    if crm == "salesforce":
        client.Lead.create({"FirstName": REP_PERSON["first"], "LastName": "Rep", "Company": "Acme",
                            "Email": REP_PERSON["email"], "Title": REP_PERSON["title"]})
        client.Account.create({"Name": "RepMatch", "Website": "https://www.repmatch.io/path"})
        for site in REP_SITES:
            client.Account.create({"Name": f"Rep {site}", "Website": site})
        return
    client.crm.contacts.basic_api.create({"properties": {"email": REP_PERSON["email"], "firstname": REP_PERSON["first"],
                                                          "jobtitle": REP_PERSON["title"]}})
    client.crm.companies.basic_api.create({"properties": {"name": "RepMatch", "domain": "https://www.repmatch.io/path"}})
    for site in REP_SITES:
        client.crm.companies.basic_api.create({"properties": {"name": f"Rep {site}", "domain": site}})


def _group(records: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        out.setdefault(str(rec.get(key) or "").lower(), []).append(rec)
    return out


def _read_crm(crm: str, client: Any) -> tuple[dict, dict, dict]:
    if crm == "salesforce":
        people = client.query_all(f"SELECT {', '.join(SF_PERSON)} FROM Lead")["records"]
        firms = client.query_all(f"SELECT {', '.join(SF_COMPANY)} FROM Account")["records"]
        return _group(people, "Email"), _group(firms, "Warmly_Sync_Key__c"), _group(firms, "Website")
    people = [{**c.properties, "id": c.id} for c in client.crm.contacts.get_all(properties=HS_PERSON)]
    firms = [{**c.properties, "id": c.id} for c in client.crm.companies.get_all(properties=HS_COMPANY)]
    return _group(people, "email"), _group(firms, "warmly_sync_key"), _group(firms, "domain")


@pytest.fixture(scope="module")
def synced(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synced]:
    """Both CRMs, each synced twice from the same hostile models (the second run ``--reconcile``)."""
    out: dict[str, Synced] = {}
    p, c = models()
    for crm in CRMS:
        sandbox.admin(crm, "POST", "reset")
        if crm == "salesforce":
            client = make_salesforce(SalesforceCredentials.from_env(sandbox.salesforce_env()))
        else:
            client = make_hubspot(HubSpotCredentials.from_env(sandbox.hubspot_env()))
        _make_rep_records(crm, client)
        warehouse = Warehouse(f"duckdb:///{Path(tmp_path_factory.mktemp(crm)) / 'warehouse.duckdb'}")
        runner = Runner(crm, client, warehouse)
        if crm == "salesforce":  # Lead.Status is a restricted picklist: the picklist cases map it
            runner.settings_data = {"objects": {"contact": {"create": False}, "lead": {
                "field_mapping": {"Status": {"column": "intent_signal"}}}}}
        runner.setup()
        first = runner.sync(p, c)
        second = runner.sync(p, c, full_refresh=True)
        people, firms, rep_firms = _read_crm(crm, client)
        out[crm] = Synced(crm, log_table(warehouse, first.run_id), log_table(warehouse, second.run_id),
                          people, firms, rep_firms, p.height, c.height)
        warehouse.close()
    return out


def _outcome_row(log: pl.DataFrame, case: Case) -> dict[str, Any]:
    objects = ("Lead", "Contact", "contacts") if case.entity == "person" else ("Account", "companies")
    rows = log.filter(pl.col("key") == case.key, pl.col("object").is_in(objects))
    dupe = pl.col("reason").fill_null("") == "duplicate_key"
    rows = rows.filter(dupe if case.expected("salesforce") == DUPLICATE_KEY else ~dupe)
    assert rows.height == 1, f"{case.id}: expected one log row for {case.key!r}, got {rows.to_dicts()}"
    return rows.row(0, named=True)


def _crm_records(s: Synced, case: Case) -> list[dict[str, Any]]:
    assert case.key is not None
    if case.entity == "person":
        return s.people.get(case.key.strip().lower(), [])
    return s.firms.get(normalise_domain(case.key) or "", [])


@pytest.mark.parametrize("crm", CRMS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_case_gets_its_named_outcome_and_the_crm_holds_what_it_says(
        synced: dict[str, Synced], crm: str, case: Case) -> None:
    s = synced[crm]
    row = _outcome_row(s.first, case)
    expected = case.expected(crm)
    assert (row["action"], row["status"], row["reason"]) == expected, row
    if expected[1] == "succeeded":
        assert (row["message"] or None) == case.expected_note(crm), row["message"]
    else:
        assert row["message"], "a failed or skipped record says why"

    if case.key is None or case.key.startswith("(row "):
        return  # no key: nothing in the CRM can be its record
    records = _crm_records(s, case)
    if expected[1] == "failed":
        assert records == [], f"{case.id} failed yet the CRM has {records}"
        return
    assert len(records) == 1, f"{case.id}: expected one CRM record, found {len(records)}"
    for name, want in case.crm.get(crm, {}).items():
        check = want if callable(want) else crm_value(want)
        assert check(records[0].get(name)), f"{case.id}: {name} is {records[0].get(name)!r}, wanted {check.__doc__}"


@pytest.mark.parametrize("crm", CRMS)
def test_one_bad_record_in_a_batch_of_200_fails_alone(synced: dict[str, Synced], crm: str) -> None:
    s = synced[crm]
    log = s.first.filter(pl.col("key").str.ends_with("batch.io"))
    outcomes = {k: (a, st) for k, a, st in log.select("key", "action", "status").rows()}
    good = [e for i, e in enumerate(BATCH) if i != BAD_AT]
    assert {k: outcomes.get(k) for k in good} == dict.fromkeys(good, CREATED[:2])
    assert [s.people[e][0].get("Title" if crm == "salesforce" else "jobtitle") for e in good] == [
        f"Batch {i}" for i, e in enumerate(BATCH) if i != BAD_AT]
    bad = s.first.filter(pl.col("key") == BAD_IN_BATCH).row(0, named=True)
    code = "STRING_TOO_LONG" if crm == "salesforce" else "INVALID_EMAIL"
    assert (bad["action"], bad["status"], bad["reason"]) == ("create", "failed", code)
    assert BAD_IN_BATCH in bad["message"]
    assert BAD_IN_BATCH not in s.people


@pytest.mark.parametrize("crm", CRMS)
def test_every_row_has_exactly_one_outcome(synced: dict[str, Synced], crm: str) -> None:
    s = synced[crm]
    people = s.first.filter(pl.col("object").is_in(["Lead", "Contact", "contacts"]))
    firms = s.first.filter(pl.col("object").is_in(["Account", "companies"]))
    assert (people.height, firms.height) == (s.person_rows, s.company_rows)
    twice = [k for k, n in Counter(s.first.select("object", "key", "reason").rows()).items() if n > 1]
    assert twice == []


@pytest.mark.parametrize("crm", CRMS)
def test_no_record_is_duplicated_in_the_crm(synced: dict[str, Synced], crm: str) -> None:
    s = synced[crm]
    assert {k: len(v) for k, v in s.people.items() if len(v) > 1} == {}
    assert {k: len(v) for k, v in s.firms.items() if len(v) > 1 and k} == {}
    sites = [normalise_domain(site) for recs in s.rep_firms.values() for site in [recs[0].get(
        "Website" if crm == "salesforce" else "domain")] * len(recs)]
    assert sites.count("repmatch.io") == 1 and sites.count("spell.io") == 1  # every spelling: one company
    expected_people = {c.key.strip().lower() for c in PERSON_CASES if c.key and c.expected(crm)[1] == "succeeded"
                       and not c.key.startswith("(row ")} | {e for i, e in enumerate(BATCH) if i != BAD_AT}
    assert set(s.people) == expected_people | {REP_PERSON["email"]}


@pytest.mark.parametrize("crm", CRMS)
def test_the_reps_records_are_untouched(synced: dict[str, Synced], crm: str) -> None:
    s = synced[crm]
    (rep,) = s.people[REP_PERSON["email"]]
    if crm == "salesforce":
        assert (rep["FirstName"], rep["Title"], rep["Warmly_Sync_Key__c"], rep["Warmly_Session_Count__c"]) == (
            REP_PERSON["first"], REP_PERSON["title"], None, None)
    else:
        assert (rep["firstname"], rep["jobtitle"], rep.get("warmly_session_count")) == (
            REP_PERSON["first"], REP_PERSON["title"], None)
    for site in REP_SITES:
        (firm,) = s.rep_firms[site]
        key, name = ("Warmly_Sync_Key__c", "Name") if crm == "salesforce" else ("warmly_sync_key", "name")
        assert (firm.get(key), firm[name]) == (None, f"Rep {site}"), f"the rep's {site} was written to"
    log = s.first
    assert log.filter(pl.col("key").is_in([REP_PERSON["email"], *REP_SITES])).height == 0


@pytest.mark.parametrize("crm", CRMS)
def test_a_second_run_rewrites_nothing_and_fails_what_failed_the_same_way(
        synced: dict[str, Synced], crm: str) -> None:
    s = synced[crm]
    cols = ["object", "key", "action", "status", "reason"]
    first = {(o, k, r): (a, st) for o, k, a, st, r in s.first.select(cols).rows()}
    second = {(o, k, r): (a, st) for o, k, a, st, r in s.second.select(cols).rows()}
    assert s.second.height == s.first.height
    # Every record the first run wrote is found in the CRM as the warehouse wants it: no drift.
    written = [k for k, (_, status) in first.items() if status == "succeeded"]
    assert {k: second.get(k) for k in written} == dict.fromkeys(written, ("unchanged", "unchanged"))
    # What failed or was skipped is tried again and gets the same outcome.
    others = {k: v for k, v in first.items() if v[1] != "succeeded"}
    assert {k: second.get(k) for k in others} == others
