"""The benchmark scripts still run: each at a tiny size, as a subprocess, as a user runs it.

A benchmark broken by an engine change (a renamed argument, a connector method it wraps, a result
field it reads) would otherwise go unnoticed until someone needs its figures. These runs say
nothing about speed: they check that every row the script promises is there, with numbers, and
that the CRM-holding-them scenarios find every loaded record ``unchanged``.

The three scripts run at once (each spawns one process per measurement, so most of their time is
start-up) and each runs one CRM: ``sync_bench`` Salesforce (its sync rows; its plan rows are the
same worker in plan mode, which ``crm_bench``'s first plan runs), ``crm_bench`` HubSpot (its
loader's linked creates are the subtler path; reconcile follows its change run at the same size),
``warehouse_bench`` the Salesforce sandbox it is built on. ``reconcile_bench`` runs its two steps
(prepare an org, time its reconcile) on its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from numbers import Number
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PERSONS = 200
TIMEOUT = 300

pytestmark = pytest.mark.slow

RUNS = {
    # its plan rows run the same worker in plan mode, which crm_bench's first plan covers
    "sync_bench": ["bench/sync_bench.py", "--sizes", str(PERSONS), "--plan-size", "0", "--crm", "salesforce"],
    "warehouse_bench": ["bench/warehouse_bench.py", "--sizes", str(PERSONS), "--big", "0"],
    # 210 records = 200 persons + 10 companies: the held series reconciles what it synced
    "crm_bench": ["bench/crm_bench.py", "--held-size", str(PERSONS), "--reconcile-size", str(PERSONS * 21 // 20),
                  "--crm", "hubspot"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess, Any]]:
    tmp = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = {}
    for name, argv in RUNS.items():
        out = tmp / f"{name}.json"
        procs[name] = (out, subprocess.Popen([sys.executable, *argv, "--out", str(out)], cwd=ROOT, env=env,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    done = {}
    for name, (out, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        done[name] = (result, json.loads(out.read_text()) if out.exists() else None)
    return done


def _ok(runs: dict[str, Any], name: str) -> Any:
    result, doc = runs[name]
    assert result.returncode == 0 and doc is not None, f"{name} failed:\n{result.stderr[-3000:]}"
    assert "Total" in result.stdout and "wrote" in result.stdout
    return doc


def _numbers(row: dict[str, Any], *fields: str) -> None:
    for f in fields:
        assert isinstance(row.get(f), Number), f"{row.get('measurement')}: {f} = {row.get(f)!r}"


def test_sync_bench_prints_every_row_with_numbers(runs):
    doc = _ok(runs, "sync_bench")
    rows = doc["table"]
    assert [r["measurement"] for r in rows] == ["first sync", "no-change re-run", "1% change re-run"]
    for r in rows:
        assert "error" not in r and r["failed"] == 0, r
        _numbers(r, "seconds", "writes", "writes_sandbox", "writes_min", "reads", "reads_sandbox", "reads_min",
                 "peak_mb", "engine_s")
    assert rows[1]["writes_sandbox"] == 0  # a no-change re-run writes nothing


def test_warehouse_bench_prints_every_row_with_numbers(runs):
    doc = _ok(runs, "warehouse_bench")
    steps = doc["results"][str(PERSONS)]
    assert all("error" not in s for s in steps.values() if isinstance(s, dict)), steps
    for kind in ("no_change", "change"):
        _numbers(steps[kind], "rows_fetched", "seconds", "peak_mb", "sandbox_calls")
    assert steps["no_change"]["rows_fetched"] == 0


def test_crm_bench_prints_every_row_with_numbers_and_finds_what_it_loaded(runs):
    doc = _ok(runs, "crm_bench")
    rows = doc["table"]
    assert [(r["series"], r["measurement"]) for r in rows] == [
        ("held", "first plan, CRM holding them"), ("held", "sync, CRM holding them (state)"),
        ("held", "1% change run"), ("held", "reconcile (full_refresh)")]
    for r in rows:
        assert "error" not in r and r["failed"] == 0, r
        _numbers(r, "seconds", "writes", "writes_min", "reads", "reads_min", "peak_mb", "preload_seconds")
    for r in rows:
        if r["measurement"] != "1% change run":
            assert r["found"] == "all unchanged" and r["writes"] == 0, r
    change = rows[2]
    assert change["writes"] == change["writes_min"] > 0 and change["summary"]["updated"] > 0


def test_reconcile_bench_prepares_an_org_then_times_its_reconcile(tmp_path: Path) -> None:
    # Two steps against one sandbox org on disk: a first sync, then a reconcile plan that finds
    # every record unchanged and says how long comparing them took.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "bench/reconcile_bench.py"]
    args = ["--crm", "salesforce", "--persons", str(PERSONS), "--data", str(tmp_path)]
    steps = {}
    for step in ("prepare", "measure"):
        result = subprocess.run([*base, step, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=TIMEOUT)
        assert result.returncode == 0, f"reconcile_bench {step} failed:\n{result.stderr[-3000:]}"
        steps[step] = json.loads(result.stdout.strip().splitlines()[-1])
    assert steps["prepare"]["failed"] == 0
    (run,) = steps["measure"]["runs"]
    _numbers(run, "seconds", "comparison_seconds", "peak_mb")
    assert run["comparison_seconds"] > 0  # the comparison it times is still the engine's
    assert run["summary"]["Lead"]["unchanged"] == PERSONS and run["api_calls"]["writes"] == 0
