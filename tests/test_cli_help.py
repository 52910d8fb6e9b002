"""`writeback --help`, `--version` and each command's help, as a user reads them (README "Commands").

Run as real processes with stdout piped. The environment variables the help must list are read
from the code that reads them, so a variable added there and forgotten in the help fails here.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("plan", "sync", "setup", "doctor", "log", "report", "segments", "ramp", "demo", "dev", "sandbox")


def writeback(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_", "WRITEBACK_"))}
    return subprocess.run([sys.executable, "-m", "dagster_pipeline.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def top_help() -> str:
    proc = writeback("--help")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def variables_read_by_the_code() -> set[str]:
    """Every SALESFORCE_* / HUBSPOT_* variable the credential readers name, and the warehouse's and settings'."""
    found: set[str] = set()
    for path in ("connectors/salesforce/client.py", "connectors/hubspot/client.py"):
        found |= set(re.findall(r'"((?:SALESFORCE|HUBSPOT)_[A-Z_]+)"', (ROOT / path).read_text()))
    found |= set(re.findall(r'"(WRITEBACK_[A-Z_]+)"', (ROOT / "connectors/warehouse.py").read_text()))
    found |= set(re.findall(r'"(WRITEBACK_SETTINGS)"', (ROOT / "dagster_pipeline/sync/settings.py").read_text()))
    return found


def test_version_comes_from_the_package_metadata() -> None:
    proc = writeback("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"writeback {importlib.metadata.version('crm-writeback')}"


def test_help_says_what_the_tool_does_for_its_users(top_help: str) -> None:
    assert "Keep Salesforce or HubSpot in step with your warehouse." in top_help
    text = re.sub(r"\s+", " ", top_help)
    assert "dbt sync models" in text and "writes only the difference" in text and "one outcome per record" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_every_command(top_help: str, command: str) -> None:
    assert re.search(rf"^  {command}\s{{2,}}\S", top_help, re.M), top_help


def test_help_lists_every_environment_variable_the_code_reads(top_help: str) -> None:
    names = variables_read_by_the_code()
    assert {"SALESFORCE_INSTANCE_URL", "HUBSPOT_ACCESS_TOKEN", "WRITEBACK_WAREHOUSE_URL"} <= names
    missing = sorted(v for v in names if v not in top_help)
    assert missing == []


def test_help_states_the_defaults_the_code_uses(top_help: str) -> None:
    from connectors.hubspot.client import DEFAULT_BASE_URL
    from connectors.salesforce.client import DEFAULT_API_VERSION

    assert f"[default: {DEFAULT_API_VERSION}]" in top_help and f"[default: {DEFAULT_BASE_URL}]" in top_help


def test_help_gives_the_exit_codes_and_an_example(top_help: str) -> None:
    codes = top_help[top_help.index("Exit codes:"):top_help.index("Example:")]
    assert re.search(r"^\s+0\s+every record accounted for", codes, re.M)
    assert re.search(r"^\s+1\s+some records failed", codes, re.M)
    assert re.search(r"^\s+2\s+configuration error", codes, re.M) and "nothing was written" in codes
    example = top_help[top_help.index("Example:"):]
    for line in ("writeback doctor", "writeback setup", "writeback plan --workflow website_visitor", "writeback sync"):
        assert line in example


@pytest.mark.parametrize(("command", "expected"), [
    (["log"], ["--runs INTEGER RANGE", "[default: 3; x>=1]", "--failures", "[default: 10; x>=0]", "--json"]),
    (["report"], ["--days INTEGER", "[default: 7]"]),
    (["sync"], ["--workflow", "[default: all three]", "--crm", "--settings FILE", "$WRITEBACK_SETTINGS",
                "--reconcile, --full-refresh", "--json"]),
    (["plan"], ["--reconcile, --full-refresh", "Makes no write call"]),
    (["setup"], ["--dry-run", "--crm", "--json"]),
    (["doctor"], ["Exit 0 all good, 1 something to fix, 2 configuration error"]),
    (["ramp", "end"], ["--workflow", "[required]"]),
    (["demo"], ["--crm [salesforce|hubspot]", "[default: salesforce]", "[default: .data/]"]),
    (["dev"], ["--port INTEGER", "[default: 3000]"]),
    (["sandbox"], ["--data-dir DIR", "[default: .data/sandbox]", "[default: 127.0.0.1]", "[default: 0]"]),
    (["segments"], ["--project-file FILE", "[default: dbt_project/dbt_project.yml]"]),
])
def test_each_command_lists_its_options_with_their_defaults(command: list[str], expected: list[str]) -> None:
    proc = writeback(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    text = re.sub(r"\s+", " ", proc.stdout)  # an option's help may be wrapped over lines
    for item in expected:
        assert re.sub(r"\s+", " ", item) in text, (item, proc.stdout)


@pytest.mark.parametrize("args", [["sync", "--bogus"], ["ramp", "end"], ["sync", "--crm", "zoho"], ["nothing"], []])
def test_usage_errors_exit_2_and_write_nothing_on_stdout(args: list[str]) -> None:
    proc = writeback(*args)
    assert proc.returncode == 2
    assert "Usage: writeback" in proc.stderr + proc.stdout


def test_setup_still_accepts_workflow_and_says_it_changes_nothing() -> None:
    """Scripts written for the earlier command line pass `setup --workflow W`: it still parses (no
    usage error), and says that the fields are the same for every workflow."""
    proc = writeback("setup", "--workflow", "website_visitor")
    assert proc.returncode == 2  # no credentials in this environment: a configuration error, not a usage error
    assert "Usage:" not in proc.stderr
    assert "note: setup creates the fields every workflow needs; --workflow changes nothing" in proc.stderr
    assert "configuration error: " in proc.stderr
