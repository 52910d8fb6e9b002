"""Every failure path as a user meets it: the real CLI in a subprocess, the sandboxes, a warehouse file.

Each bad input ends in one line and the documented exit code (2: configuration, nothing
written; 1: the CRM failed, records retried next run), and no credential appears anywhere the
product writes: stdout, stderr or the sync log in the warehouse (Dagster metadata, built from
the same outcomes: ``tests/dagster/test_metadata.py``). The
credentials are recognisable (``SECRET-TOKEN-c0ffee…``) or the sandbox's own token, and every
output is searched for them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors.warehouse import Warehouse
from tests.network import closed_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "SECRET-TOKEN-c0ffee-5eb7a1d9e3"
ALIAS_BOMB = "\n".join(
    ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
) + "\nsync: {bulk_threshold: *a9}\n"


def cli(project: dict[str, Any], *args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    """``writeback …`` in a subprocess running this checkout; fails the test if any output holds a credential."""
    env = {**(env or project["env"]), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "dagster_pipeline.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert_clean(proc.stdout + proc.stderr, project)
    return proc


def secrets(project: dict[str, Any]) -> list[str]:
    return [SECRET, SECRET[:19], project["token"]]


def assert_clean(text: str, project: dict[str, Any]) -> None:
    for secret in secrets(project):
        assert secret not in text, f"a credential leaked into: {text[-2000:]}"


def assert_log_clean(project: dict[str, Any]) -> pl.DataFrame:
    """The sync log in the warehouse, every column of every row searched for a credential."""
    wh = Warehouse(f"duckdb:///{project['db']}")
    try:
        log = wh.read_model("sync_log", schema="writeback")
    finally:
        wh.close()
    assert_clean(log.cast(pl.Utf8).write_csv(), project)
    return log


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def sf_env(project: dict[str, Any], **changes: str | None) -> dict[str, str]:
    env = dict(project["env"])
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def no_writes(project: dict[str, Any]) -> bool:
    calls = project["sandbox"].calls("salesforce")["by_endpoint"]
    return not [k for k in calls if k.startswith(("POST", "PATCH", "PUT", "DELETE")) and "oauth2" not in k]


CREDENTIAL_ERRORS = [
    ({"SALESFORCE_ACCESS_TOKEN": SECRET + "\n"}, "SALESFORCE_ACCESS_TOKEN ends with a line break"),
    ({"SALESFORCE_ACCESS_TOKEN": SECRET + "\r\n"}, "SALESFORCE_ACCESS_TOKEN contains a line break"),
    ({"SALESFORCE_ACCESS_TOKEN": SECRET[:12] + "\t" + SECRET[12:]}, "SALESFORCE_ACCESS_TOKEN contains a tab"),
    ({"SALESFORCE_ACCESS_TOKEN": SECRET[:12] + " " + SECRET[12:]}, "SALESFORCE_ACCESS_TOKEN contains a space"),
    ({"SALESFORCE_ACCESS_TOKEN": None, "SALESFORCE_USERNAME": "integration@acme.io",
      "SALESFORCE_PASSWORD": SECRET + "\n"}, "SALESFORCE_PASSWORD ends with a line break"),
    ({"SALESFORCE_ACCESS_TOKEN": None, "SALESFORCE_USERNAME": "integration@acme.io", "SALESFORCE_PASSWORD": SECRET},
     "(invalid_grant: authentication failure); check SALESFORCE_USERNAME, SALESFORCE_PASSWORD and "
     "SALESFORCE_SECURITY_TOKEN"),
    ({"SALESFORCE_ACCESS_TOKEN": None, "SALESFORCE_CLIENT_ID": "app", "SALESFORCE_CLIENT_SECRET": SECRET},
     "(invalid_client: invalid client credentials); check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET"),
    ({"SALESFORCE_ACCESS_TOKEN": SECRET, "SALESFORCE_INSTANCE_URL": "htps://127.0.0.1:1"},
     "SALESFORCE_INSTANCE_URL must start with https:// (it starts with htps://)"),
    ({"SALESFORCE_ACCESS_TOKEN": SECRET, "SALESFORCE_INSTANCE_URL": "127.0.0.1:8443"},
     "SALESFORCE_INSTANCE_URL has no scheme; write it as https://<host>[:port]"),
    ({"SALESFORCE_ACCESS_TOKEN": SECRET, "SALESFORCE_INSTANCE_URL": f"https://user:{SECRET}@127.0.0.1:1"},
     "SALESFORCE_INSTANCE_URL must not carry a user name or password"),
    ({"SALESFORCE_ACCESS_TOKEN": SECRET, "SALESFORCE_CA_BUNDLE": "/nonexistent/ca.pem"},
     "SALESFORCE_CA_BUNDLE: no such file: /nonexistent/ca.pem"),
    ({"SALESFORCE_ACCESS_TOKEN": SECRET, "SALESFORCE_CA_BUNDLE": __file__},
     "SALESFORCE_CA_BUNDLE: holds no PEM certificate"),
]


@pytest.mark.parametrize(("changes", "expected"), CREDENTIAL_ERRORS,
                         ids=[e[1].split(" (")[0][:40] for e in CREDENTIAL_ERRORS])
def test_a_bad_credential_url_or_ca_file_is_one_line_exit_2_naming_the_variable(project, changes, expected) -> None:
    proc = cli(project, "sync", env=sf_env(project, **changes))
    assert proc.returncode == 2 and proc.stdout == ""
    line = one_line(proc)
    assert line.startswith("configuration error: environment: ") and expected in line
    assert no_writes(project)


def test_a_hubspot_token_with_a_line_break_is_one_line_exit_2(project) -> None:
    env = {**project["env"], **project["sandbox"].hubspot_env(), "HUBSPOT_ACCESS_TOKEN": f"{SECRET}\r\nX-Evil: 1"}
    proc = cli(project, "sync", "--crm", "hubspot", env=env)
    assert proc.returncode == 2
    assert "HUBSPOT_ACCESS_TOKEN contains a line break" in one_line(proc)


SETTINGS_FILE_ERRORS = [
    (b"crm: salesforce\nobjects: {lead: {create: \xfe}}\n", "not UTF-8 text (byte 0xfe at line 2, column 26)"),
    (b"", "the file is empty"),
    (ALIAS_BOMB.encode(), "line 1: YAML anchors and aliases (&name, *name) are not allowed"),
    (b"crm: salesforce\nobjects:\n  lead: {create: [unclosed\n", "not valid YAML: line 4, column 1"),
]


@pytest.mark.parametrize(("content", "expected"), SETTINGS_FILE_ERRORS,
                         ids=["not-utf8", "empty", "alias-bomb", "bad-yaml"])
def test_a_bad_settings_file_is_one_line_exit_2(project, content: bytes, expected: str) -> None:
    project["settings"].write_bytes(content)
    started = time.monotonic()
    proc = cli(project, "sync", timeout=60)  # the alias bomb used to hang for minutes
    assert time.monotonic() - started < 30
    assert proc.returncode == 2
    assert expected in one_line(proc)


def test_a_settings_path_that_is_a_directory_is_named_as_such(project, tmp_path: Path) -> None:
    proc = cli(project, "plan", "--settings", str(tmp_path))
    assert proc.returncode == 2
    assert f"{tmp_path}: is a directory, not a settings file" in one_line(proc)


def test_a_refused_token_or_an_unreachable_crm_is_one_line_exit_1(project) -> None:
    proc = cli(project, "sync", env=sf_env(project, SALESFORCE_ACCESS_TOKEN=SECRET))
    assert proc.returncode == 1
    assert "INVALID_SESSION_ID" in one_line(proc) and "check SALESFORCE_ACCESS_TOKEN" in proc.stderr

    port = closed_port()
    started = time.monotonic()
    proc = cli(project, "sync", env=sf_env(project, SALESFORCE_ACCESS_TOKEN=SECRET,
                                           SALESFORCE_INSTANCE_URL=f"https://127.0.0.1:{port}"))
    assert time.monotonic() - started < 15  # no silent minute of retries
    assert proc.returncode == 1
    line = one_line(proc)
    assert f"could not connect to https://127.0.0.1:{port} (connection refused), tried 2 times" in line
    assert "a read: nothing was changed" in line and "check SALESFORCE_INSTANCE_URL" in line

    proc = cli(project, "sync", env=sf_env(project, SALESFORCE_ACCESS_TOKEN=None, SALESFORCE_USERNAME="a@b.io",
                                           SALESFORCE_PASSWORD=SECRET,
                                           SALESFORCE_INSTANCE_URL=f"https://127.0.0.1:{port}"))
    assert proc.returncode == 1
    assert "POST oauth2/token: could not connect to" in one_line(proc)


def test_a_crm_that_echoes_the_token_leaves_no_trace_of_it(project) -> None:
    sandbox = project["sandbox"]
    assert cli(project, "setup").returncode == 0
    sandbox.admin("salesforce", "POST", "faults", {
        "kind": "status", "status": 400, "method": "PATCH", "path": "composite/sobjects", "count": None,
        "echo_authorization": True, "body": [{"errorCode": "JSON_PARSER_ERROR", "message": "cannot parse"}]})
    proc = cli(project, "sync", "--workflow", "website_visitor", "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)["workflows"]["website_visitor"]["objects"]
    assert out["Lead"]["failed"] == {"JSON_PARSER_ERROR": 3} and out["Account"]["failed"] == {"JSON_PARSER_ERROR": 2}
    log = assert_log_clean(project)
    assert log.filter(pl.col("message").str.contains("Authorization: Bearer [redacted]", literal=True)).height == 5

    sandbox.admin("salesforce", "DELETE", "faults")
    sandbox.admin("salesforce", "POST", "faults", {"kind": "status", "status": 500, "method": "GET",
                                                    "path": "/query", "count": None, "echo_authorization": True})
    project["settings"].write_text("crm: salesforce\nsync: {max_attempts: 1}\n")
    proc = cli(project, "plan")
    assert proc.returncode == 1
    assert "Authorization: Bearer [redacted]" in one_line(proc)
    log_counts = assert_log_clean(project).height
    assert log_counts == 5  # a plan writes no log, and the failed read wrote nothing either


def _sync_json(project: dict[str, Any], env: dict[str, str], *args: str) -> tuple[dict[str, Any], float, int]:
    started = time.monotonic()
    proc = cli(project, "sync", "--workflow", "website_visitor", "--json", *args, env=env, timeout=90)
    elapsed = time.monotonic() - started
    return json.loads(proc.stdout), elapsed, proc.returncode


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_a_retry_after_of_an_hour_fails_records_rate_limited_and_the_run_returns(project, crm: str) -> None:
    sandbox = project["sandbox"]
    env = {**project["env"], **sandbox.hubspot_env()}
    flag = ("--crm", crm)
    assert cli(project, "setup", *flag, env=env).returncode == 0
    rate_limited = {"kind": "status", "status": 429, "count": None, "headers": {"Retry-After": "3600"}}
    if crm == "salesforce":
        sandbox.admin("salesforce", "POST", "faults", {
            **rate_limited, "method": "PATCH", "path": "composite/sobjects",
            "body": [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}]})
        person_object, company_object = "Lead", "Account"
    else:
        sandbox.admin("hubspot", "POST", "faults", {
            **rate_limited, "method": "POST", "path": "batch/upsert",
            "body": {"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
                     "message": "You have reached your ten_secondly_rolling limit."}})
        person_object, company_object = "contacts", "companies"
    out, elapsed, code = _sync_json(project, env, *flag)
    assert elapsed < 20  # generous: the CRM asked for an hour
    assert code == 1
    objects = out["workflows"]["website_visitor"]["objects"]
    assert objects[company_object]["failed"] == {"rate_limited": 2}
    assert objects[person_object]["failed"] == {"rate_limited": 3}
    log = assert_log_clean(project)
    assert "sync.max_retry_after_seconds (30 s)" in log["message"][0]

    # Next run, the CRM answers again: the same records go through.
    sandbox.admin(crm, "DELETE", "faults")
    out, _, code = _sync_json(project, env, *flag)
    assert code == 0
    objects = out["workflows"]["website_visitor"]["objects"]
    assert objects[company_object]["created"] == 2 and objects[person_object]["created"] == 3


def test_the_retry_after_cap_is_the_settings(project) -> None:
    sandbox = project["sandbox"]
    assert cli(project, "setup").returncode == 0
    project["settings"].write_text("crm: salesforce\nsync: {max_retry_after_seconds: 2}\n")
    sandbox.admin("salesforce", "POST", "faults", {
        "kind": "status", "status": 429, "method": "PATCH", "path": "composite/sobjects/Account", "count": 1,
        "headers": {"Retry-After": "1"}, "body": [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}]})
    sandbox.admin("salesforce", "POST", "faults", {
        "kind": "status", "status": 429, "method": "PATCH", "path": "composite/sobjects/Lead", "count": None,
        "headers": {"Retry-After": "3"}, "body": [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}]})
    out, _, code = _sync_json(project, project["env"])
    objects = out["workflows"]["website_visitor"]["objects"]
    assert objects["Account"]["created"] == 2  # 1 s is within the 2 s allowed: waited, then written
    assert objects["Lead"]["failed"] == {"rate_limited": 3} and code == 1

