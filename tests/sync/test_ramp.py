"""The ramp guard (README "Rolling out a workflow"): a new or changed segment creates a few records
per run, highest intent first, until the ramp ends by date, by count or by `writeback ramp end`.

Every scenario drives the engine against the sandbox through the real SDKs and counts the CRM's
records through the SDK after each run.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from connectors.warehouse import Warehouse
from dagster_pipeline.sync import ramp as ramp_module
from dagster_pipeline.sync.segments import load_vars, segment_hash
from tests.sync.conftest import Runner
from tests.sync.frames import companies, company, person, persons
from tests.sync.helpers import logged
from tests.sync.test_cli import writeback

WF = "website_visitor"
SEGMENT = "segment-a"


def ramp(per_run: int = 2, **more: Any) -> dict[str, Any]:
    return {"workflows": {WF: {"ramp": {"max_creates_per_run": per_run, **more}}}}


def leads(sf: Any) -> list[str]:
    """Every Lead's email, through the SDK (duplicates kept, so a test can see them)."""
    return sorted(r["Email"].lower() for r in sf.query_all("SELECT Email FROM Lead")["records"])


def people(*emails: str, **over: Any) -> pl.DataFrame:
    return persons(*(person(e, **over) for e in emails))


@pytest.fixture
def ready(sf_runner: Runner) -> Runner:
    sf_runner.setup()
    return sf_runner


def test_a_ramp_reaches_every_record_once_highest_intent_first_and_never_holds_updates(ready, sf) -> None:
    existing = sf.Lead.create({"LastName": "Old", "Company": "Acme", "Email": "zed@acme.io", "Title": "Intern"})
    p = persons(
        person("amy@acme.io"), person("bea@acme.io", chat_count=5), person("cat@acme.io"),
        person("dan@acme.io", demo_requested=True), person("eve@acme.io"), person("zed@acme.io"),
    )
    c = companies(company("acme.io"))
    settings = ramp(2)

    plan = ready.sync(p, c, mode="plan", settings=settings, segment=SEGMENT)
    assert plan.summary["Lead"].planned_create == 2 and plan.summary["Lead"].skipped == {"ramp_limit": 3}
    assert plan.summary["Lead"].planned_update == 1  # the existing Lead is not held back
    assert plan.as_dict()["ramp"]["held"] == 3
    assert leads(sf) == ["zed@acme.io"]  # a plan writes nothing

    first = ready.sync(p, c, settings=settings, segment=SEGMENT)
    run = logged(ready.warehouse, first.run_id)
    assert {k for k, v in run.items() if v == ("create", "succeeded", None)} == {"dan@acme.io", "bea@acme.io",
                                                                                   "acme.io"}
    assert run["zed@acme.io"] == ("update", "succeeded", None)  # updates go whatever the cap
    assert [k for k, v in run.items() if v == ("skipped", "skipped", "ramp_limit")] == ["amy@acme.io", "cat@acme.io",
                                                                                       "eve@acme.io"]
    assert first.summary["Lead"].skipped == {"ramp_limit": 3}
    assert len(leads(sf)) == 3 and sf.Lead.get(existing["id"])["Title"] == "VP Sales"

    second = ready.sync(p, c, settings=settings, segment=SEGMENT)
    assert len(leads(sf)) == 5 and {"amy@acme.io", "cat@acme.io"} <= set(leads(sf))  # the key breaks the tie
    assert second.summary["Lead"].skipped == {"ramp_limit": 1}

    third = ready.sync(p, c, settings=settings, segment=SEGMENT)
    assert leads(sf) == sorted({"amy@acme.io", "bea@acme.io", "cat@acme.io", "dan@acme.io", "eve@acme.io",
                                "zed@acme.io"})  # every record, none twice
    assert third.summary["Lead"].skipped == {}
    assert third.ramp is not None and third.ramp["created"] == 6 and third.ramp["active"]  # 5 Leads + 1 Account


def test_the_ramp_ends_by_count_and_a_changed_segment_starts_a_new_one(ready, sf) -> None:
    settings = ramp(2, max_creates=2)
    c = companies()
    first_four = people("a1@acme.io", "a2@acme.io", "a3@acme.io", "a4@acme.io")
    ready.sync(first_four, c, settings=settings, segment=SEGMENT)
    assert len(leads(sf)) == 2

    ended = ready.sync(first_four, c, settings=settings, segment=SEGMENT)
    assert len(leads(sf)) == 4 and ended.summary["Lead"].skipped == {}  # 2 created in all: the ramp is over
    assert ended.ramp is not None and ended.ramp["ended_by"] == "max_creates"

    broader = pl.concat([first_four, people("b1@acme.io", "b2@acme.io", "b3@acme.io")])
    restarted = ready.sync(broader, c, settings=settings, segment="segment-b")
    assert len(leads(sf)) == 6 and restarted.summary["Lead"].skipped == {"ramp_limit": 1}
    assert restarted.ramp is not None and restarted.ramp["segment"] == "segment-b"


def test_the_ramp_ends_after_its_days(ready, sf, monkeypatch) -> None:
    p = people("a1@acme.io", "a2@acme.io", "a3@acme.io", "a4@acme.io")
    ready.sync(p, companies(), settings=ramp(1, days=7), segment=SEGMENT)
    assert len(leads(sf)) == 1
    later = ramp_module.utcnow() + dt.timedelta(days=7, minutes=1)
    monkeypatch.setattr(ramp_module, "utcnow", lambda: later)
    after = ready.sync(p, companies(), settings=ramp(1, days=7), segment=SEGMENT)
    assert len(leads(sf)) == 4 and after.ramp is not None and after.ramp["ended_by"] == "days"


def test_a_workflow_without_ramp_settings_is_never_capped(ready, sf) -> None:
    settings = {"workflows": {"website_visitor": {"enabled": True},
                              "inbound_agent": {"ramp": {"max_creates_per_run": 1}}}}
    ready.sync(people("w1@acme.io", "w2@acme.io", "w3@acme.io"), companies(), settings=settings)
    assert len(leads(sf)) == 3
    inbound = ready.sync(people("i1@acme.io", "i2@acme.io", "i3@acme.io"), companies(), workflow="inbound_agent",
                         settings=settings, segment=SEGMENT)
    assert len(leads(sf)) == 4 and inbound.summary["Lead"].skipped == {"ramp_limit": 2}
    assert ready.sync(people("w4@acme.io", "w5@acme.io"), companies(), settings={}).ramp is None
    assert len(leads(sf)) == 6


def test_writeback_ramp_end_lifts_the_cap(project, sf) -> None:
    project["settings"].write_text("crm: salesforce\nworkflows:\n  website_visitor:\n"
                                   "    ramp: {max_creates_per_run: 1}\n")
    assert writeback(project, "setup").returncode == 0
    first = writeback(project, "sync", "--workflow", WF, "--json")
    assert first.returncode == 0, first.stderr
    done = json.loads(first.stdout)["workflows"][WF]
    assert len(leads(sf)) == 1 and done["objects"]["Lead"]["skipped"] == {"ramp_limit": 2}
    assert done["ramp"]["held"] == 3  # 2 Leads and 1 Account

    end = writeback(project, "ramp", "end", "--workflow", WF)
    assert end.returncode == 0, end.stderr
    assert "ended" in end.stdout
    rows = Warehouse(f"duckdb:///{project['db']}").read_model("ramp", schema="writeback")
    assert rows.sort("recorded_at")["ended_by"].to_list()[-1] == "command"

    second = writeback(project, "sync", "--workflow", WF)
    assert second.returncode == 0, second.stderr
    assert len(leads(sf)) == 3


def test_the_segment_hash_follows_the_rules_meaning() -> None:
    vars = load_vars()
    same = copy.deepcopy(vars)
    same["segment_website_visitor"]["company"] = [{"column": "industry", "op": "=", "value": "cloud services"},
                                                  {"column": "employee_count", "op": ">", "value": 49}]
    broader = copy.deepcopy(vars)
    broader["segment_website_visitor"]["company"] = [{"column": "employee_count", "op": ">=", "value": 20}]
    assert segment_hash(WF, vars) == segment_hash(WF, same)
    assert segment_hash(WF, vars) != segment_hash(WF, broader)
    assert segment_hash("inbound_agent", vars) == segment_hash("inbound_agent", broader)  # one workflow only

