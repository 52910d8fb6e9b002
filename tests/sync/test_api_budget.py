"""One API budget per org: two syncs at once, as two real `writeback sync` processes against one
sandbox org, never cross the org's limits, keep ``sync.api_reserve`` of the daily allocation for
the org's other integrations, and account for every record; the records the reserve held back
are written by the next run.

Each CRM's scenario runs once (module-scoped) and the assertions share it: two processes with
their own warehouse file (DuckDB allows one writer per file) and the same state directory, the
way two Dagster runs or a run and the CLI share a deployment. The sandbox's limits are tiny so
the budget bites within seconds.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors.hubspot.api import HubSpotConnector
from connectors.hubspot.client import HubSpotCredentials
from connectors.hubspot.client import make_client as make_hubspot
from connectors.salesforce.api import SalesforceConnector
from connectors.salesforce.client import SalesforceCredentials
from connectors.salesforce.client import make_client as make_salesforce
from connectors.warehouse import Warehouse
from dagster_pipeline.sync.catalog import sync_model
from dagster_pipeline.sync.engine import run_workflow
from dagster_pipeline.sync.settings import parse_settings
from dagster_pipeline.sync.setup import run_setup
from tests.sync.frames import companies, company, person, persons

ROOT = Path(__file__).resolve().parents[2]
RESERVE = 0.5
#: Two workflows, each with its own people and companies (no two processes race on one record).
WORKFLOWS = {
    "website_visitor": ("acme.io", "initech.com"),
    "inbound_agent": ("globex.com", "umbrella.io"),
}
PEOPLE_PER_DOMAIN = 3
#: HubSpot's burst window in these tests: so many calls a second, far below what even one process sends unthrottled.
WINDOW_LIMIT = 2


def _models(domains: tuple[str, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    people = [person(f"p{i}@{d}", d) for d in domains for i in range(PEOPLE_PER_DOMAIN)]
    return persons(*people), companies(*(company(d) for d in domains))


def _project(root: Path, workflow: str, crm: str, sandbox: Any) -> dict[str, Any]:
    """A warehouse file with ``workflow``'s sync models, and the environment of a process syncing it."""
    root.mkdir(parents=True, exist_ok=True)
    db = root / "warehouse.duckdb"
    wh = Warehouse(f"duckdb:///{db}")
    p, c = _models(WORKFLOWS[workflow])
    wh.append(sync_model(workflow, "person"), p, schema="syncs")
    wh.append(sync_model(workflow, "company"), c, schema="syncs")
    wh.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_", "WRITEBACK_"))}
    env.update(sandbox.salesforce_env() if crm == "salesforce" else sandbox.hubspot_env())
    env.update({"WRITEBACK_DUCKDB_PATH": str(db), "WRITEBACK_SETTINGS": str(root.parent / "writeback.yml"),
                "WRITEBACK_STATE_DIR": str(root.parent / "state")})
    return {"db": db, "env": env, "workflow": workflow}


def _start(project: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dagster_pipeline.cli", "sync", "--workflow", project["workflow"],
                             "--json"], cwd=ROOT, env=project["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=240)
    assert out.strip(), err[-2000:]
    return json.loads(out)


def _log(project: dict[str, Any]) -> pl.DataFrame:
    return Warehouse(f"duckdb:///{project['db']}").read_model("sync_log", schema="writeback")


def _daily_used(crm: str, sandbox: Any, sf: Any) -> int:
    """The CRM's own count of today's calls: Salesforce's limits resource (which counts itself), HubSpot's
    ``X-HubSpot-RateLimit-Daily-Remaining`` source in the sandbox."""
    if crm == "salesforce":
        daily = sf.limits()["DailyApiRequests"]
        return int(daily["Max"]) - int(daily["Remaining"]) - 1
    return int(sandbox.admin("hubspot", "GET", "usage")["daily_used"])


@pytest.fixture(scope="module", params=["salesforce", "hubspot"])
def scenario(request: pytest.FixtureRequest, sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two syncs of one org at once under a daily allocation that cannot hold both, then a next run
    on a fresh allocation."""
    crm = request.param
    sandbox.reset()
    root = tmp_path_factory.mktemp(f"budget-{crm}")
    (root / "writeback.yml").write_text(f"crm: {crm}\nsync:\n  api_reserve: {RESERVE}\n")
    # The fields first, by a connector of its own (setup spends no budget of the runs below).
    if crm == "salesforce":
        sf = make_salesforce(SalesforceCredentials.from_env(sandbox.salesforce_env()))
        connector: Any = SalesforceConnector(sf)
    else:
        sf = None
        connector = HubSpotConnector(make_hubspot(HubSpotCredentials.from_env(sandbox.hubspot_env())))
    settings = parse_settings({"crm": crm})
    run_setup(settings, connector)
    used = _daily_used(crm, sandbox, sf)
    # Room for about one workflow's calls within the allowance: the reserve must stop the other.
    limit = 2 * (used + 14)
    allowed = limit - math.ceil(limit * RESERVE)
    if crm == "salesforce":
        sandbox.admin("salesforce", "POST", "config", {"daily_api_limit": limit})
    else:
        sandbox.admin("hubspot", "POST", "config", {"daily_limit": limit, "ten_second_limit": WINDOW_LIMIT,
                                                    "ten_second_window_ms": 1000})
        sandbox.admin("hubspot", "DELETE", "usage")  # the window's peak from here on
    projects = [_project(root / wf, wf, crm, sandbox) for wf in WORKFLOWS]
    procs = [_start(p) for p in projects]
    results = [_finish(p) for p in procs]
    usage_after = _daily_used(crm, sandbox, sf)
    window = sandbox.admin("hubspot", "GET", "usage") if crm == "hubspot" else None
    logs = [_log(p) for p in projects]
    # The next day: a fresh allocation. The records held back go now.
    if crm == "salesforce":
        sandbox.admin("salesforce", "POST", "config", {"daily_api_limit": 100_000})
    else:
        sandbox.admin("hubspot", "POST", "config", {"daily_limit": 1_000_000})
        sandbox.admin("hubspot", "POST", "config", {"ten_second_limit": 190, "ten_second_window_ms": 10_000})
    for p in projects:  # in this process: the next run is any run, and a process start costs seconds here
        run_workflow(p["workflow"], settings, Warehouse(f"duckdb:///{p['db']}"), connector, mode="sync")
    return {"crm": crm, "allowed": allowed, "limit": limit, "used_after": usage_after, "window": window,
            "results": results, "logs": logs, "rerun_logs": [_log(p) for p in projects]}


def test_the_daily_reserve_is_never_spent(scenario: dict[str, Any]) -> None:
    assert scenario["used_after"] <= scenario["allowed"] < scenario["limit"]


def test_the_reserve_stopped_a_run_and_says_so(scenario: dict[str, Any]) -> None:
    reasons = set(pl.concat(scenario["logs"]).filter(pl.col("status") == "failed")["reason"])
    assert reasons == {"api_budget_reserved"}
    stopped = [wf["stopped"] for r in scenario["results"] for wf in r["workflows"].values() if wf["stopped"]]
    assert stopped and all("api_reserve" in s for s in stopped)


def test_every_record_is_accounted_for_in_both_runs(scenario: dict[str, Any]) -> None:
    per_workflow = PEOPLE_PER_DOMAIN * 2 + 2
    for log in scenario["logs"]:
        assert log.height == per_workflow and log["key"].n_unique() == per_workflow


def test_the_next_run_writes_what_the_reserve_held_back(scenario: dict[str, Any]) -> None:
    for first, again in zip(scenario["logs"], scenario["rerun_logs"], strict=True):
        held = set(first.filter(pl.col("reason") == "api_budget_reserved")["key"])
        latest = again.filter(pl.col("run_id") == again.sort("run_at")["run_id"][-1])
        assert latest.filter(pl.col("status") == "failed").is_empty()
        done = set(latest.filter(pl.col("status") == "succeeded")["key"])
        assert held <= done


def test_hubspot_burst_window_is_shared_by_both_processes(scenario: dict[str, Any]) -> None:
    if scenario["crm"] != "hubspot":
        pytest.skip("the burst window is HubSpot's")
    window = scenario["window"]
    assert window["rate_limited"] == {}  # not one 429: the processes never raced past the window
    assert 1 <= window["window_peak"] <= WINDOW_LIMIT
