"""A read that fails after its retries fails the records it was for; the rest of the run goes on,
and the log and state of what was done are always written. Faults come from the sandboxes'
fault API; the CRM is checked through the SDKs."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import polars as pl
import pytest
from simple_salesforce import format_soql

from connectors.errors import AuthenticationError
from dagster_pipeline.sync.state import SyncStore
from tests.sync.conftest import Runner, outcome
from tests.sync.frames import companies, company, person, persons

UNAVAILABLE = {"kind": "status", "status": 503, "count": None,
               "body": [{"errorCode": "SERVER_UNAVAILABLE", "message": "Service temporarily unavailable"}]}


@pytest.fixture
def ready(sf_runner: Runner) -> Runner:
    sf_runner.settings_data = {"objects": {"contact": {"create": False}}}
    sf_runner.setup()
    return sf_runner


@pytest.fixture
def hs_ready(hs_runner: Runner) -> Runner:
    hs_runner.setup()
    return hs_runner


def count(sf: Any, soql: str, *args: Any) -> int:
    return int(sf.query(format_soql(soql, *args))["totalSize"])


def logged(r: Runner, run_id: str) -> pl.DataFrame:
    return SyncStore(r.warehouse).read_log(run_id)


def test_a_failed_website_read_fails_that_company_only(ready: Runner, sf: Any, sandbox: Any) -> None:
    ready.sync(persons(person("ann@acme.io")), companies(company("acme.io")))
    sandbox.admin("salesforce", "POST", "faults", {**UNAVAILABLE, "path": "query", "query": "Website LIKE"})
    p = persons(person("ann@acme.io"), person("bob@globex.com", "globex.com"))
    c = companies(company("acme.io", session_count=99), company("globex.com"))
    result = ready.sync(p, c)

    assert outcome(result, "acme.io")["action"] == "update"  # found by our sync key: no Website read needed
    failed = outcome(result, "globex.com")
    assert (failed["status"], failed["reason"]) == ("failed", "read_failed")
    assert "503" in failed["message"] and "SERVER_UNAVAILABLE" in failed["message"]
    assert outcome(result, "bob@globex.com")["action"] == "create"  # people go on
    assert count(sf, "SELECT COUNT() FROM Account WHERE Website = {}", "globex.com") == 0
    assert count(sf, "SELECT COUNT() FROM Account WHERE Warmly_Session_Count__c = 99") == 1
    assert logged(ready, result.run_id).height == 4

    sandbox.admin("salesforce", "DELETE", "faults")
    healed = ready.sync(p, c)
    assert outcome(healed, "globex.com")["action"] == "create" and healed.failed == 0
    assert count(sf, "SELECT COUNT() FROM Account") == 2


def test_a_failed_person_read_keeps_what_was_written_before_it(ready: Runner, sf: Any, sandbox: Any) -> None:
    sandbox.admin("salesforce", "POST", "faults", {**UNAVAILABLE, "path": "query", "query": "FROM Contact"})
    p = persons(person("ann@acme.io"), person("bob@globex.com", "globex.com"), person("carol@acme.io"))
    c = companies(company("acme.io"), company("globex.com"))
    result = ready.sync(p, c)

    assert result.summary["Account"].created == 2 and count(sf, "SELECT COUNT() FROM Account") == 2
    people = result.log.filter(pl.col("object") == "Lead")
    assert people.height == 3 and set(people["reason"]) == {"read_failed"}
    assert count(sf, "SELECT COUNT() FROM Lead") == 0  # unseen, a Contact might exist: nothing created
    assert logged(ready, result.run_id).height == 5  # the Accounts written are in the log…

    sandbox.admin("salesforce", "DELETE", "faults")
    urls: list[str] = []
    sf.session.hooks["response"].append(lambda resp, *a, **k: urls.append(unquote_plus(resp.url)))
    healed = ready.sync(p, c)
    assert healed.summary["Account"].unchanged == 2  # …and in the state: not even read again
    assert not [u for u in urls if "FROM Account" in u]
    assert healed.summary["Lead"].created == 3 and count(sf, "SELECT COUNT() FROM Lead") == 3


def test_a_failed_describe_fails_its_entity_and_the_other_goes_on(ready: Runner, sf: Any, sandbox: Any) -> None:
    sandbox.admin("salesforce", "POST", "faults", {**UNAVAILABLE, "path": "sobjects/Lead/describe"})
    result = ready.sync(persons(person("ann@acme.io")), companies(company("acme.io")))
    assert outcome(result, "ann@acme.io")["reason"] == "read_failed"
    assert outcome(result, "acme.io")["action"] == "create"
    assert count(sf, "SELECT COUNT() FROM Account") == 1


def test_refused_credentials_mid_run_fail_the_rest_log_everything_and_raise(ready: Runner, sf: Any,
                                                                            sandbox: Any) -> None:
    sandbox.admin("salesforce", "POST", "faults", {
        "kind": "status", "status": 401, "count": None, "path": "query", "query": "FROM Contact",
        "body": [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]})
    p = persons(person("ann@acme.io"), person("bob@acme.io"))
    with pytest.raises(AuthenticationError):
        ready.sync(p, companies(company("acme.io")))
    log = SyncStore(ready.warehouse).read_log()
    assert log.height == 3
    assert log.filter(pl.col("object") == "Account")["action"].to_list() == ["create"]
    assert set(log.filter(pl.col("object") == "Lead")["reason"]) == {"run_aborted"}
    assert count(sf, "SELECT COUNT() FROM Account") == 1


def test_hubspot_a_failed_contact_read_keeps_the_companies_written(hs_ready: Runner, hs: Any, sandbox: Any) -> None:
    sandbox.admin("hubspot", "POST", "faults", {"kind": "status", "status": 503, "count": None,
                                                "path": "objects/contacts/batch/read"})
    p = persons(person("ann@acme.io"), person("bob@globex.com", "globex.com"))
    c = companies(company("acme.io"), company("globex.com"))
    result = hs_ready.sync(p, c)
    assert result.summary["companies"].created == 2 and len(hs.crm.companies.get_all()) == 2
    contacts = result.log.filter(pl.col("object") == "contacts")
    assert set(contacts["reason"]) == {"read_failed"} and "503" in contacts["message"][0]
    assert hs.crm.contacts.get_all() == []
    assert logged(hs_ready, result.run_id).height == 4

    sandbox.admin("hubspot", "DELETE", "faults")
    healed = hs_ready.sync(p, c)
    assert healed.summary["companies"].unchanged == 2 and healed.summary["contacts"].created == 2
    assert len(hs.crm.contacts.get_all()) == 2


def test_hubspot_a_failed_domain_search_fails_only_the_companies_it_was_for(hs_ready: Runner, hs: Any,
                                                                            sandbox: Any) -> None:
    hs_ready.sync(persons(), companies(company("acme.io")))
    sandbox.admin("hubspot", "POST", "faults", {"kind": "status", "status": 502, "count": None,
                                                "path": "objects/companies/search"})
    result = hs_ready.sync(persons(person("bob@globex.com", "globex.com")),
                           companies(company("acme.io", session_count=99), company("globex.com")))
    assert outcome(result, "acme.io")["action"] == "update"  # read by our sync key, no search needed
    assert outcome(result, "globex.com")["reason"] == "read_failed"
    assert outcome(result, "bob@globex.com")["action"] == "create"
    assert [c.properties["domain"] for c in hs.crm.companies.get_all(properties=["domain"])] == ["acme.io"]
