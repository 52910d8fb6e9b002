"""`writeback setup | plan | sync` as a user runs them: real processes, real sandbox, real warehouse file."""

from __future__ import annotations

import json
import re
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
     ("objects:\n  salesforce:\n    lead:\n      creat: true\n", "objects.salesforce.lead.creat: unknown key"),
     ("objects:\n  salesforce:\n    contact:\n      create: true\n", "set create_when_lead_off: true"),
     ("crm: zoho\n", "crm"),
     ("objects:\n  salesforce:\n    lead:\n      field_mapping:\n        X__c: {chat_answer: Team Size}\n",
      "objects.salesforce.lead.field_mapping.X__c.chat_answer: 'Team Size' is not a question key"),
     ("crm: salesforce\nobjects:\n  lead:\n    field_mapping:\n      X__c: {column: nope}\n",
      "objects.lead.field_mapping.X__c.column"),
     ("objects:\n  salesforce:\n    lead:\n      field_mapping:\n        X__c: {column: team_size}\n",
      "objects.salesforce.lead.field_mapping.X__c.column: unknown sync-model column 'team_size'; an answer captured "
      "in chat is mapped as {chat_answer: team_size}")],
)
def test_configuration_errors_exit_2_and_write_nothing(project, settings, expected) -> None:
    project["settings"].write_text(settings)
    proc = writeback(project, "sync", "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()  # one line, however long: it can be grepped from a log
    assert line.startswith("configuration error: ") and expected in line
    writes = [k for k in project["sandbox"].calls("salesforce")["by_endpoint"] if k.startswith(("POST", "PATCH"))]
    assert writes == []


def test_crm_hubspot_with_the_shipped_settings_file_creates_hubspot_contacts(project, hs) -> None:
    """One file holds both CRMs: `--crm hubspot` runs HubSpot with HubSpot's own object settings."""
    env = {k: v for k, v in project["env"].items() if not k.startswith("SALESFORCE_")}
    env.update(project["sandbox"].hubspot_env())
    env["WRITEBACK_SETTINGS"] = str(ROOT / "writeback.yml")
    setup = writeback(project, "setup", "--crm", "hubspot", "--json", env=env)
    assert setup.returncode == 0, setup.stderr
    proc = writeback(project, "sync", "--crm", "hubspot", "--workflow", "website_visitor", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    contacts = json.loads(proc.stdout)["workflows"]["website_visitor"]["objects"]["contacts"]
    assert contacts["created"] == 3 and contacts["skipped"] == {}
    emails = {c.properties["email"] for c in hs.crm.contacts.get_all(properties=["email"])}
    assert emails == {"ann@acme.io", "o'hara@acme.io", "bob@globex.com"}


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


def test_a_mapping_one_workflows_model_lacks_stops_every_workflow_before_any_write(project) -> None:
    wh = Warehouse(f"duckdb:///{project['db']}")
    wh.execute("alter table syncs.sync_outbound_agent__persons drop column chat_use_case")
    wh.close()
    project["settings"].write_text(
        "crm: salesforce\nobjects:\n  lead:\n    field_mapping:\n      Description: {column: chat_use_case}\n")
    assert writeback(project, "setup").returncode == 0
    project["sandbox"].admin("salesforce", "DELETE", "calls")
    proc = writeback(project, "sync")  # website_visitor's models fit, and it runs first
    assert proc.returncode == 2, proc.stderr
    message = proc.stderr.strip()
    assert "\n" not in message  # one line, however wide
    assert "objects.lead.field_mapping.Description.column" in message
    assert "sync_outbound_agent__persons" in message
    assert project["sandbox"].calls("salesforce")["total"] == 0  # not one CRM call: nothing written anywhere
    assert not Warehouse(f"duckdb:///{project['db']}").table_exists("sync_log", schema="writeback")
def _jwt_env(project: dict[str, Any], connected_app: Any) -> dict[str, str]:
    env = {k: v for k, v in project["env"].items() if not k.startswith("SALESFORCE_")}
    return {**env, **connected_app.env(project["sandbox"])}


def test_jwt_log_in_runs_setup_and_sync(project, connected_app) -> None:
    connected_app.configure(project["sandbox"])
    env = _jwt_env(project, connected_app)
    setup = writeback(project, "setup", "--json", env=env)
    assert setup.returncode == 0, setup.stderr
    assert json.loads(setup.stdout)["permission_set"] == "Warmly_CRM_Writeback"
    sync = writeback(project, "sync", "--workflow", "website_visitor", "--json", env=env)
    assert sync.returncode == 0, sync.stderr
    assert connected_app.private_key.splitlines()[1] not in setup.stdout + setup.stderr + sync.stdout + sync.stderr


@pytest.mark.parametrize("problem", ["expired", "wrongly_signed"])
def test_a_refused_assertion_is_one_line_and_exit_2(project, connected_app, problem) -> None:
    from tests.conftest import make_keypair

    connected_app.configure(project["sandbox"], jwt_clock_offset_seconds=600 if problem == "expired" else 0)
    env = _jwt_env(project, connected_app)
    if problem == "wrongly_signed":
        env["SALESFORCE_PRIVATE_KEY"] = make_keypair("another key")[0]
    proc = writeback(project, "sync", env=env)
    assert proc.returncode == 2 and proc.stdout == ""  # credentials refused: a configuration error
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "log-in failed" in lines[0]
    assert ("clock" if problem == "expired" else "signature does not match") in lines[0]
    assert env["SALESFORCE_PRIVATE_KEY"].splitlines()[1] not in proc.stderr


def test_doctor_exit_codes_0_1_2(project) -> None:
    before = writeback(project, "doctor", "--json")
    assert before.returncode == 1, before.stderr
    checks = {c["name"]: c for c in json.loads(before.stdout)["checks"]}
    assert checks["Lead fields"]["fix"] == "run `writeback setup` to create them" and checks["log in"]["ok"]
    text = writeback(project, "doctor")
    assert text.returncode == 1 and "✗ Lead fields" in text.stdout and "fix: run `writeback setup`" in text.stdout
    assert writeback(project, "setup").returncode == 0
    after = writeback(project, "doctor")
    assert after.returncode == 0 and "All good" in after.stdout, after.stdout
    env = {k: v for k, v in project["env"].items() if k != "SALESFORCE_ACCESS_TOKEN"}
    missing = writeback(project, "doctor", "--json", env=env)
    assert missing.returncode == 2 and json.loads(missing.stdout)["exit_code"] == 2


def test_doctor_names_the_scope_a_hubspot_token_lacks(project) -> None:
    from connectors.sandbox.hubspot.scopes import ALL_SCOPES

    sandbox = project["sandbox"]
    sandbox.admin("hubspot", "POST", "config", {"scopes": [s for s in ALL_SCOPES if s != "crm.objects.contacts.write"]})
    env = {**project["env"], **sandbox.hubspot_env()}
    proc = writeback(project, "doctor", "--crm", "hubspot", env=env)
    assert proc.returncode == 1
    assert "✗ scopes" in proc.stdout and "the token lacks crm.objects.contacts.write" in proc.stdout


def test_piped_output_keeps_long_lines_whole_and_counts_have_separators(project) -> None:
    """Piped into a file or `less`, a line longer than 80 columns stays one line (it can be grepped,
    and a command in it copied), counts read 1,200, and no progress bar is drawn."""
    many = persons(*(person(f"p{i}@acme.io") for i in range(1_200)),
                   person("not-an-email-but-a-rather-long-value-that-pushes-the-line-past-eighty-columns", "acme.io"))
    wh = Warehouse(f"duckdb:///{project['db']}")
    wh.execute("delete from syncs.sync_website_visitor__persons")
    wh.append(sync_model("website_visitor", "person"), many, schema="syncs")
    wh.close()
    assert writeback(project, "setup").returncode == 0
    proc = writeback(project, "sync", "--workflow", "website_visitor")
    assert proc.returncode == 1  # the invalid e-mail failed
    assert proc.stderr == ""  # no bars, no escape codes: stdout is not a terminal
    [failed] = [line for line in proc.stdout.splitlines() if "failed website_visitor Lead" in line]
    assert failed.endswith("invalid_email — not a valid e-mail address; fix it in the warehouse") and len(failed) > 120
    [lead_row] = [line for line in proc.stdout.splitlines() if "│ Lead" in line]
    assert "1,200" in lead_row, proc.stdout  # created, with its separator
    assert re.search(r"API calls: \d+ reads, \d+ writes", proc.stdout)
