"""Faults outside the CRM: the ``writeback sync`` process killed with ``kill -9`` while it writes, and
the DuckDB warehouse file held by another process's write lock — on both CRMs.

The killed run is the installed ``writeback`` command in a subprocess, against a sandbox that
answers slowly so it is caught between two write calls; nothing of it can be logged, and the
next run accounts for every row. The warehouse lock is held by a second process, as a
``dbt build`` or a DuckDB shell would hold it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from dagster_pipeline.sync.catalog import sync_model
from tests.faults.conftest import (
    TUNING,
    Faulty,
    assert_accounted,
    assert_heals,
    assert_no_duplicates,
    world,
)
from tests.sync.helpers import Calls, log_table

ROOT = Path(__file__).resolve().parents[2]
#: Where the CRM's person writes go, how the sandbox counts them, and how many calls so counted come
#: before the first person write: Salesforce counts the Accounts' upserts (2 calls) with the Leads',
#: HubSpot creates new contacts with their company inline by batch create, which companies never use.
PERSON_WRITE = {"salesforce": ("PATCH", r"composite/sobjects/Lead/", "PATCH composite/sobjects/upsert", 2),
                "hubspot": ("POST", r"contacts/batch/create", "batch/create", 0)}
HOLD_LOCK = ("import duckdb, sys, time\n"
             "con = duckdb.connect(sys.argv[1])\n"
             "print('held', flush=True)\n"
             "time.sleep(float(sys.argv[2]))\n")


def writeback() -> list[str]:
    """The installed command (the venv's ``writeback`` script), else the module it runs."""
    script = Path(sys.executable).parent / "writeback"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dagster_pipeline.cli"]


def project(f: Faulty, tmp_path: Path) -> dict[str, str]:
    """The sync models in the warehouse file, a settings file, and the environment a user exports."""
    p, c = world(f.ns)
    f.warehouse.append(sync_model("website_visitor", "person"), p, schema="syncs")
    f.warehouse.append(sync_model("website_visitor", "company"), c, schema="syncs")
    settings = tmp_path / "writeback.yml"
    objects = "objects: {contact: {create: false}}\n" if f.crm == "salesforce" else ""
    tuning = ", ".join(f"{k}: {v}" for k, v in TUNING.items())
    settings.write_text(f"crm: {f.crm}\n{objects}sync: {{{tuning}}}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_"))}
    env.update(f.sandbox.salesforce_env() if f.crm == "salesforce" else f.sandbox.hubspot_env())
    db = f.warehouse.duckdb_path
    assert db is not None
    env.update({"WRITEBACK_DUCKDB_PATH": str(db), "WRITEBACK_SETTINGS": str(settings), "PYTHONPATH": str(ROOT)})
    return env


def hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process with the DuckDB file open for writing (DuckDB locks the whole file)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), str(seconds)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def wait_for_writes(calls: Calls, endpoint: str, n: int, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + 60
    while calls.matching(endpoint) < n:
        assert time.monotonic() < deadline, f"the sync never reached write call {n}: {calls.by_endpoint()}"
        assert proc is None or proc.poll() is None, "the sync ended before it could be killed"
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_mid_write_duplicates_nothing_and_the_next_run_accounts_for_every_row(faulty: Faulty,
                                                                                       tmp_path: Path) -> None:
    env = project(faulty, tmp_path)
    method, path, endpoint, before = PERSON_WRITE[faulty.crm]
    faulty.fault(kind="latency", seconds=0.5, count=None, method=method, path=path)
    calls = Calls(faulty.sandbox, faulty.crm)
    calls.reset()
    proc = subprocess.Popen([*writeback(), "sync", "--workflow", "website_visitor"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # At the second person write the first batch of people is written and the second is in flight.
        wait_for_writes(calls, endpoint, before + 2, proc)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    faulty.clear()
    time.sleep(0.6)  # the call in flight when the process died still lands

    assert log_table(faulty.warehouse).is_empty()  # killed: it never got to write its log
    assert_no_duplicates(faulty)
    assert 3 <= len(faulty.people()) < 12
    healed = assert_heals(faulty)  # the next run accounts for every row
    assert healed.log.filter(pl.col("action") == "create").height < healed.log.height


@pytest.mark.slow
def test_a_warehouse_locked_at_the_start_writes_nothing_and_says_so_in_one_line(faulty: Faulty,
                                                                                 tmp_path: Path) -> None:
    env = project(faulty, tmp_path)
    db = faulty.warehouse.duckdb_path
    assert db is not None
    calls = Calls(faulty.sandbox, faulty.crm)
    calls.reset()
    holder = hold_lock(db, 60)
    try:
        proc = subprocess.run([*writeback(), "sync", "--workflow", "website_visitor"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "locked by another process" in lines[0], lines[0]
    assert calls.writes() == 0
    assert_no_duplicates(faulty)
    assert faulty.people() == []
    assert_heals(faulty)


def test_a_warehouse_locked_while_the_run_writes_is_waited_for_and_the_log_is_written(faulty: Faulty) -> None:
    db = faulty.warehouse.duckdb_path
    assert db is not None
    method, path, endpoint, before = PERSON_WRITE[faulty.crm]
    faulty.fault(kind="latency", seconds=0.3, count=None, method=method, path=path)
    calls = Calls(faulty.sandbox, faulty.crm)
    calls.reset()
    holders: list[subprocess.Popen[str]] = []

    def lock_mid_run() -> None:
        wait_for_writes(calls, endpoint, before + 1)  # the people are being written
        holders.append(hold_lock(db, 2.0))  # released by its process ending, well before the run gives up

    locker = threading.Thread(target=lock_mid_run)
    locker.start()
    try:
        result = faulty.sync()
    finally:
        locker.join()
        for h in holders:
            h.wait(timeout=30)
    assert holders, "the lock was never taken"
    assert result.failed == 0
    assert_accounted(faulty, result.run_id)
    assert_no_duplicates(faulty)
    assert_heals(faulty)
