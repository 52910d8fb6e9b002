"""`writeback setup | plan | sync` as a user runs them: real processes, real sandbox, real warehouse file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors.warehouse import Warehouse
from dagster_pipeline.sync.catalog import sync_model
from tests.sync.frames import person, persons

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ("website_visitor", "inbound_agent", "outbound_agent")


def writeback(project: dict[str, Any], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "dagster_pipeline.cli", *args], cwd=ROOT, env=env or project["env"],
                          capture_output=True, text=True, timeout=300)
    # Credentials never appear in anything we print.
    assert project["token"] not in proc.stdout and project["token"] not in proc.stderr
    return proc


def test_setup_then_sync_then_nothing_to_do(project) -> None:
    setup = writeback(project, "setup", "--json")
    assert setup.returncode == 0, setup.stderr
    assert "Warmly_Last_Seen__c" in json.loads(setup.stdout)["created"]["Lead"]

    plan = writeback(project, "plan", "--json")
    assert plan.returncode == 0, plan.stderr
    planned = json.loads(plan.stdout)
    assert planned["api_calls"]["writes"] == 0
    assert planned["workflows"]["website_visitor"]["objects"]["Lead"]["planned_create"] == 3
    assert any(c["key"] == "o'hara@acme.io" for c in planned["workflows"]["website_visitor"]["changes"])

    first = writeback(project, "sync", "--json")
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["workflows"]["website_visitor"]["objects"]["Lead"]["created"] == 3
    # The other workflows see the same people: already written, field values equal -> unchanged or updated
    # (the Warmly workflow field names who wrote last), never created twice.
    assert out["workflows"]["inbound_agent"]["objects"]["Lead"]["created"] == 0
    assert out["exit_code"] == 0

    again = writeback(project, "sync", "--json")
    assert again.returncode == 0
    repeat = json.loads(again.stdout)
    assert repeat["api_calls"]["writes"] == 0
    for wf in WORKFLOWS:
        assert all(o["created"] == o["updated"] == 0 for o in repeat["workflows"][wf]["objects"].values())

    # One sync-log row per record per run, in the warehouse.
    log = Warehouse(f"duckdb:///{project['db']}").read_model("sync_log", schema="writeback")
    runs = log.filter(pl.col("workflow") == "website_visitor").group_by("run_id").len()
    assert sorted(runs["len"].to_list()) == [5, 5]


def test_readable_summary_table(project) -> None:
    writeback(project, "setup")
    proc = writeback(project, "sync", "--workflow", "website_visitor")
    assert proc.returncode == 0, proc.stderr
    assert "website_visitor" in proc.stdout and "Lead" in proc.stdout and "API calls" in proc.stdout


@pytest.mark.parametrize(
    ("settings", "expected"),
    [("crm: salesforce\nobjects:\n  lead:\n    creat: true\n", "objects.lead.creat: unknown key"),
     ("crm: zoho\n", "crm"),
     ("crm: salesforce\nobjects:\n  lead:\n    field_mapping:\n      X__c: {column: nope}\n",
      "objects.lead.field_mapping.X__c.column")],
)
def test_configuration_errors_exit_2_and_write_nothing(project, settings, expected) -> None:
    project["settings"].write_text(settings)
    proc = writeback(project, "sync", "--json")
    assert proc.returncode == 2
    assert expected in proc.stderr and proc.stdout == ""
    writes = [k for k in project["sandbox"].calls("salesforce")["by_endpoint"] if k.startswith(("POST", "PATCH"))]
    assert writes == []


def test_missing_credentials_exit_2(project) -> None:
    env = {k: v for k, v in project["env"].items() if k != "SALESFORCE_INSTANCE_URL"}
    proc = writeback(project, "sync", env=env)
    assert proc.returncode == 2 and "SALESFORCE_INSTANCE_URL" in proc.stderr


def test_a_wrong_token_fails_without_echoing_any_credential(project) -> None:
    env = {**project["env"], "SALESFORCE_ACCESS_TOKEN": "wrong-" + project["token"][::-1]}
    proc = writeback(project, "sync", env=env)
    assert proc.returncode == 1
    assert "INVALID_SESSION_ID" in proc.stderr or "401" in proc.stderr
    assert env["SALESFORCE_ACCESS_TOKEN"] not in proc.stderr + proc.stdout


def test_failed_records_exit_1_and_are_named(project) -> None:
    wh = Warehouse(f"duckdb:///{project['db']}")
    wh.append(sync_model("website_visitor", "person"), persons(person("not-an-email", "acme.io")), schema="syncs")
    wh.close()
    writeback(project, "setup")
    proc = writeback(project, "sync", "--workflow", "website_visitor", "--json")
    assert proc.returncode == 1
    failed = json.loads(proc.stdout)["workflows"]["website_visitor"]["objects"]["Lead"]["failed"]
    assert failed == {"invalid_email": 1}
