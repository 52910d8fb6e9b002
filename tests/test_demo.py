"""`writeback demo` end to end, as a newcomer runs it: twice, the second run writing nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from dagster import DagsterInstance

from connectors.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.demo
@pytest.mark.slow
def test_demo_runs_end_to_end_and_a_second_run_writes_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SALESFORCE_", "HUBSPOT_", "WRITEBACK_", "DAGSTER_HOME"))}
    cmd = [sys.executable, "-m", "dagster_pipeline.cli", "demo", "--data-dir", str(tmp_path)]
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    for workflow in ("website_visitor", "inbound_agent", "outbound_agent"):
        assert workflow in first.stdout
    assert "Seeded the empty sandbox" in first.stdout
    # The doctor runs first: on a fresh sandbox only what setup fixes is missing, so the demo goes on.
    assert "writeback doctor — salesforce" in first.stdout and "fix: run `writeback setup`" in first.stdout
    assert "granted" in first.stdout and "Warmly_CRM_Writeback" in first.stdout
    # The commands it prints to copy stay whole on one line, however long the path, though stdout is a pipe.
    lines = first.stdout.splitlines()
    warehouse = tmp_path / "warehouse.duckdb"
    assert any(f"`WRITEBACK_DUCKDB_PATH={warehouse} .venv/bin/writeback log` summarises" in line for line in lines)
    assert any(f"`.venv/bin/writeback sandbox --data-dir {tmp_path / 'sandbox'}`, then GET" in line for line in lines)
    # The week of records to monitor, as `writeback report` prints it: today's creates per workflow.
    report = first.stdout[first.stdout.index("`writeback report`"):]
    assert "Records synced — last 7 day(s), UTC" in report
    assert all(workflow in report for workflow in ("website_visitor", "inbound_agent", "outbound_agent"))
    assert "create" in report

    log = Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}").read_model("sync_log", schema="writeback")
    assert log.filter(pl.col("action") == "create").height > 100
    assert log.filter(pl.col("status") == "failed").is_empty()
    assert set(log.filter(pl.col("action") == "update")["object"]) >= {"Contact", "Account"}  # the reps' records
    with DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:  # runs listed under their jobs
        jobs = {run.job_name for run in instance.get_runs()}
    assert jobs == {"warehouse_job", "website_visitor_job", "inbound_agent_job", "outbound_agent_job"}

    second = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "All good" in second.stdout
    log = Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}").read_model("sync_log", schema="writeback")
    last_runs = log.sort("run_at").group_by("workflow").agg(pl.col("run_id").last())
    latest = log.join(last_runs, on=["workflow", "run_id"])
    assert latest.height > 300
    assert set(latest["action"]) == {"unchanged"}  # nothing written the second time
