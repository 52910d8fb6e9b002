"""A week of records to monitor: the report's numbers, and the check for a run that went wide."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from dagster_pipeline.sync.monitoring import daily_activity, object_totals, wide_runs
from tests.sync.conftest import Runner
from tests.sync.frames import companies, company, person, persons
from tests.sync.log_frames import log_rows, steady_log

ROOT = Path(__file__).resolve().parents[2]
START = dt.datetime(2026, 11, 1, 6, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("creates", "flagged"), [
    ([300, 5, 6, 4, 7, 5], []),                 # the first load, then a steady trickle
    ([300, 5, 6, 4, 7, 40], [40]),              # 40 > 3 × median(300, 5, 6, 4, 7) = 18
    ([300, 5, 6, 4, 7, 18], []),                # exactly 3× is not more than 3×
    ([300, 0, 0, 0, 9], []),                    # a handful after quiet runs: under the floor of 10
    ([300, 0, 0, 0, 12], [12]),
    ([5000], []),                               # a first run has no history
    ([20, 20, 200, 20, 20], [200]),
])
def test_a_run_creating_more_than_3x_the_median_of_the_previous_runs_is_flagged(creates, flagged) -> None:
    found = wide_runs(steady_log(START, creates))
    assert [w.creates for w in found] == flagged
    if flagged:
        assert found[0].workflow == "website_visitor" and found[0].previous_runs == creates.index(flagged[0])


def test_each_workflow_is_compared_with_its_own_history_and_failed_creates_do_not_count() -> None:
    log = pl.concat([
        steady_log(START, [500, 50, 60, 55], "website_visitor"),   # a big workflow, steady
        steady_log(START, [10, 2, 3, 2], "inbound_agent"),         # a small one, steady
        log_rows("inbound-wide", START + dt.timedelta(days=5), "inbound_agent", "Lead",
                 {("create", "succeeded", None): 2, ("create", "failed", "STRING_TOO_LONG"): 40}),
    ])
    assert wide_runs(log) == []
    wider = pl.concat([log, log_rows("inbound-wider", START + dt.timedelta(days=6), "inbound_agent", "Lead",
                                     {("create", "succeeded", None): 30})])
    assert [(w.workflow, w.run_id) for w in wide_runs(wider)] == [("inbound_agent", "inbound-wider")]
    assert wide_runs(wider, since=START + dt.timedelta(days=7)) == []  # only runs of the window are reported


def test_the_report_keeps_the_last_days() -> None:
    log = steady_log(START, [3, 2, 1])
    report = daily_activity(log, days=2, today=dt.date(2026, 11, 3))
    assert report["day"].unique().sort().to_list() == [dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
    assert object_totals(report) == {"Lead": {"create": 3, "unchanged": 10}}


def _report(db: Path, *args: str) -> dict:
    env = {**os.environ, "WRITEBACK_DUCKDB_PATH": str(db)}
    proc = subprocess.run([sys.executable, "-m", "dagster_pipeline.cli", "report", "--json", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_report_counts_what_the_crm_holds_after_a_sync(sf_runner: Runner, sf, tmp_path: Path) -> None:
    db = Path(str(sf_runner.warehouse.url.database))
    assert _report(db)["rows"] == []  # nothing synced yet: an empty report, not an error
    sf_runner.setup()
    p = persons(person("ann@acme.io"), person("bob@acme.io"), person("cy@globex.com", "globex.com"),
                person(None), person("dup@acme.io"), person("DUP@acme.io"))
    c = companies(company("acme.io"), company("globex.com"))
    sf_runner.sync(p, c)
    sf_runner.sync(p, c)  # the second run writes nothing: unchanged

    rows = _report(db)["rows"]
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    counts = {(r["object"], r["action"]): r["records"] for r in rows if r["day"] == today}
    leads = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    accounts = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    assert counts[("Lead", "create")] == leads == 4  # ann, bob, cy, dup
    assert counts[("Account", "create")] == accounts == 2
    assert counts[("Lead", "unchanged")] == 4 and counts[("Account", "unchanged")] == 2
    # the row without an email fails and the second spelling of dup@ is skipped, in each of the two runs
    assert counts[("Lead", "failed")] == 2 and counts[("Lead", "skipped")] == 2
    failed = next(r for r in rows if r["object"] == "Lead" and r["action"] == "failed")
    assert failed["top_failure_reasons"] == "missing_key (2)" and failed["runs"] == 2
