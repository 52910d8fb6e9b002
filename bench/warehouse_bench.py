"""Warehouse-diff benchmark: plans of big sync models whose state is in the warehouse.

    python bench/warehouse_bench.py                                  # 1M no-change and 1% change, 10M no-change
    python bench/warehouse_bench.py --sizes 100000 --big 0           # quick look

What it measures (Salesforce sandbox, ``website_visitor``, default settings), each in its own
child process so peak RSS (``ru_maxrss``) is that measurement's alone:

1. **publish** — the sync models as dbt would leave them: ``syncs.*`` tables of N persons over
   N/20 companies (``bench/frames.py``); the 10M model is the 1M one repeated ten times with
   the email prefixed, in SQL, over the same companies;
2. **seed** — the sync state a sync of those rows would leave: the key map (each raw key
   normalised once in Python, streamed) and one state row per key, whose fingerprint is the
   warehouse's own (``INSERT … SELECT`` over the diff's SQL). The CRM ids are placeholders: a
   plan whose rows are all unchanged asks the CRM nothing about records. (A real sync of 1M into
   the sandbox takes ~20 min here; what is measured below is the engine, which is the same.)
3. **no-change plan** — every row unchanged: engine wall time after start-up, peak RSS, rows
   brought back into Python (the figure of merit: 0), CRM calls;
4. **1% change plan** — 1% of persons got a new title (republished): rows brought back (exactly
   the changed ones) and the same figures. Their CRM records are not in the sandbox (the state
   is seeded), so they plan as creates: the CRM reads they cost are the keyed lookups of 1%.

Prints a table and writes ``bench/out/warehouse.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

from sync_bench import (  # noqa: E402
    RESULT_PREFIX,
    WORKFLOW,
    Sandbox,
    _commit,
    _connector,
    _peak_mb,
    _rss_mb,
    _settings,
    admin,
)

#: The CRM objects a seeded state names, per CRM (the diff itself is the same SQL for both).
OBJECTS = {"salesforce": {"company": "Account", "person": "Lead"},
           "hubspot": {"company": "companies", "person": "contacts"}}
TARGETS = {"no_change": (3.0, 1024.0), "change": (None, 1024.0), "big": (None, 2048.0)}  # seconds, MB


def _warehouse(path: str) -> Any:
    from connectors.warehouse import Warehouse

    return Warehouse(f"duckdb:///{path}")


def publish(spec: dict[str, Any]) -> dict[str, Any]:
    """Write the sync models (``repeat`` copies of the persons, emails prefixed) into ``syncs.*``."""
    import frames

    from dagster_pipeline.sync.catalog import sync_model

    persons, companies = frames.build(spec["persons"], seed=spec["seed"])
    changed = 0
    if spec.get("change"):
        persons, changed = frames.change_one_field(persons, 0.01, seed=spec["seed"])
    wh = _warehouse(spec["warehouse"])
    pm, cm = sync_model(WORKFLOW, "person"), sync_model(WORKFLOW, "company")
    for name, frame in ((pm, persons), (cm, companies)):
        wh.drop(name, schema="syncs")
        wh.append(name, frame, schema="syncs")
    repeat = int(spec.get("repeat", 1))
    if repeat > 1:
        cols = ", ".join(f'"{c}"' for c in persons.columns if c != "email")
        wh.execute(f'create table syncs."{pm}_x" as select \'r\' || k || \'.\' || "email" as "email", {cols} '
                   f'from syncs."{pm}", range({repeat}) t(k)')
        wh.drop(pm, schema="syncs")
        wh.execute(f'alter table syncs."{pm}_x" rename to "{pm}"')
    return {"kind": "publish", "rows": wh.row_count(pm, schema="syncs"), "changed": changed * repeat}


def seed(spec: dict[str, Any]) -> dict[str, Any]:
    """The state a sync of every row would leave, computed by the diff's own SQL."""
    from connectors.warehouse import SYNC_SCHEMA
    from dagster_pipeline.sync.catalog import sync_model
    from dagster_pipeline.sync.engine import _diff
    from dagster_pipeline.sync.hubspot_pass import HubSpotPass
    from dagster_pipeline.sync.salesforce_pass import SalesforcePass
    from dagster_pipeline.sync.state import SCHEMA, STATE_TABLE, SyncStore

    crm = spec["crm"]
    settings = _settings(crm, "lifted")
    connector = _connector(crm, spec["sandbox"], settings, "lifted")
    wh = _warehouse(spec["warehouse"])
    t0 = time.perf_counter()
    cls = SalesforcePass if crm == "salesforce" else HubSpotPass
    p = cls(WORKFLOW, settings, connector, SyncStore(wh), mode="plan", full_refresh=False,
                       run_id="seed", sample_size=0)
    sources = {e: (SYNC_SCHEMA, sync_model(WORKFLOW, e)) for e in ("company", "person")}  # type: ignore[arg-type]
    diff = _diff(p, wh, sources, enabled=True)  # also maps every raw key (streamed, in Python)
    seed_state(diff, objects=OBJECTS[crm])
    return {"kind": "seed", "seconds": round(time.perf_counter() - t0, 1),
            "state_rows": wh.row_count(STATE_TABLE, schema=SCHEMA), "rss_peak_mb": round(_peak_mb(), 1)}


def seed_state(diff: Any, objects: dict[str, str]) -> None:
    """One state row per key of a single row (what a sync leaves), its fingerprint the warehouse's own.

    Companies first: a person's fingerprint ends with the CRM id of its company, when that
    company is held (see :mod:`dagster_pipeline.sync.warehouse_diff`). CRM ids are placeholders.
    """
    from dagster_pipeline.sync.state import SCHEMA, STATE_TABLE

    wh = diff.wh
    ctes, params = diff._ctes()
    params = {**params, "at": dt.datetime.now(dt.timezone.utc)}
    cols = "crm, org, workflow, entity, key, crm_object, crm_id, payload_hash, run_id, synced_at"
    head = f"insert into {SCHEMA}.{STATE_TABLE} ({cols}) select * from (with {ctes} select :crm, :org, :wf"
    wh.execute(f"{head}, 'company', __k, '{objects['company']}', 'seed-' || __k, cast(__fp as varchar), 'seed', "
               ":at from c_g where __n = 1) q", params)
    wh.execute(f"{head}, 'person', g.__k, '{objects['person']}', 'seed-' || g.__k, cast(g.__fp as varchar) || '|' "
               "|| coalesce(ch.__crm_id, ''), 'seed', :at from p_g g left join c_h ch on ch.__k = g.__ck "
               "where g.__n = 1) q", params)


def plan(spec: dict[str, Any]) -> dict[str, Any]:
    """One measured plan of the models in the warehouse."""
    from dagster_pipeline.sync.engine import run_workflow

    crm = spec["crm"]
    settings = _settings(crm, "lifted")
    connector = _connector(crm, spec["sandbox"], settings, "lifted")
    wh = _warehouse(spec["warehouse"])
    admin(spec["sandbox"], crm, "DELETE", "calls")
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    result = run_workflow(WORKFLOW, settings, wh, connector, mode="plan")
    seconds = time.perf_counter() - t0
    peak = _peak_mb()
    calls = admin(spec["sandbox"], crm, "GET", "calls")
    return {"kind": spec["kind"], "seconds": round(seconds, 2), "peak_mb": round(peak, 1),
            "rss_before_mb": round(rss_before, 1), "rows_fetched": wh.rows_fetched,
            "held": result.held.total if result.held else 0, "own_outcomes": result.own_log.height,
            "summary": {k: v.as_dict() for k, v in result.summary.items()}, "api_calls": result.api_calls,
            "sandbox_calls": calls["total"]}


WORKERS = {"publish": publish, "seed": seed, "plan": plan}


def run_worker(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One step in its own process (its own peak RSS); its result, or what went wrong."""
    label = f"{spec['kind']} {spec.get('persons', '')}x{spec.get('repeat', 1)}"
    print(f"… {label}", file=sys.stderr, flush=True)
    try:
        # Preparing the models and their state is not measured: it may use more of DuckDB's memory.
        env = {**os.environ, **({"WRITEBACK_DUCKDB_MEMORY_LIMIT": "4GB"}
                                if spec.get("worker") in ("publish", "seed") else {})}
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
                              cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"kind": spec["kind"], "error": f"timed out after {timeout:.0f}s"}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            res = json.loads(line[len(RESULT_PREFIX):])
            print(f"  {json.dumps({k: v for k, v in res.items() if k != 'summary'}, default=str)}",
                  file=sys.stderr, flush=True)
            return res
    # The error's own line first: a failed statement's SQL alone can fill the tail.
    errors = [line[:500] for line in (proc.stderr or "").splitlines() if "Error" in line][-3:]
    tail = "\n".join([*errors, (proc.stderr or "")[-1500:]])
    print(f"  {label} failed (exit {proc.returncode}):\n{tail}", file=sys.stderr)
    return {"kind": spec["kind"], "error": f"exit {proc.returncode}", "stderr": tail}


def measure(label: str, n: int, repeat: int, args: argparse.Namespace, info: dict[str, str],
            tmp: Path) -> dict[str, Any]:
    wh = str(tmp / f"{label}.duckdb")
    base = {"sandbox": info, "seed": args.seed, "warehouse": wh, "persons": n, "repeat": repeat, "crm": args.crm}
    out: dict[str, Any] = {"persons": n * repeat, "companies": n // 20}  # the copies share the companies
    out["setup"] = run_worker({**base, "kind": "setup", "limits": "lifted", "sandbox_dir": "", "sandbox_index": False},
                              args.timeout)
    out["publish"] = run_worker({**base, "kind": "publish", "worker": "publish"}, args.timeout)
    out["seed"] = run_worker({**base, "kind": "seed", "worker": "seed"}, args.timeout)
    out["no_change"] = run_worker({**base, "kind": "no_change", "worker": "plan"}, args.timeout)
    if repeat == 1:
        out["republish"] = run_worker({**base, "kind": "publish", "worker": "publish", "change": True}, args.timeout)
        out["change"] = run_worker({**base, "kind": "change", "worker": "plan"}, args.timeout)
    return out


def render(results: dict[str, Any]) -> str:
    lines = ["| measurement | rows in model | rows brought back | engine wall s | peak RSS MB | CRM calls | target |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for label, r in results.items():
        for kind in ("no_change", "change"):
            m = r.get(kind)
            if not m:
                continue
            if "error" in m:
                lines.append(f"| {label} {kind} | {r['persons']:,} | error: {m['error']} | | | | |")
                continue
            big = r["persons"] > 1_000_000
            secs, mb = TARGETS["big" if big else kind]
            target = " / ".join(x for x in ((f"≤ {secs:g} s" if secs else ""), f"≤ {mb:g} MB") if x)
            name = {"no_change": "no-change plan", "change": "1% change plan"}[kind]
            lines.append(f"| {name}, {r['persons']:,} persons | {r['persons'] + r['companies']:,} | "
                         f"{m['rows_fetched']:,} | {m['seconds']:.2f} | {m['peak_mb']:,.0f} | "
                         f"{m['sandbox_calls']} | {target} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000", help="persons of the no-change and 1%% change plans")
    ap.add_argument("--big", type=int, default=10, help="the 10M model: this many copies of 1M persons (0: skip)")
    ap.add_argument("--crm", choices=tuple(OBJECTS), default="salesforce",
                    help="the sandbox CRM the plans ask (org, describes; the diff is the same SQL)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=7200.0)
    ap.add_argument("--out", type=Path, default=BENCH / "out" / "warehouse.json")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        spec = json.loads(args.worker)
        if spec["kind"] == "setup":
            from sync_bench import worker

            res = worker(spec)
        else:
            res = WORKERS[spec["worker"]](spec)
        print(RESULT_PREFIX + json.dumps(res, default=str), flush=True)
        return 0
    commit = _commit()
    tmp = Path(tempfile.mkdtemp(prefix="warehouse-bench-"))
    sandbox = Sandbox(tmp / "sandbox")
    results: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        for n in (int(s) for s in args.sizes.split(",") if s.strip() and int(s)):
            results[f"{n}"] = measure(f"n{n}", n, 1, args, sandbox.info, tmp)
        if args.big:
            results[f"{args.big}x1000000"] = measure("big", 1_000_000, args.big, args, sandbox.info, tmp)
    finally:
        sandbox.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(render(results))
    print(f"Total {(time.perf_counter() - started) / 60:.1f} min on {os.cpu_count()} cores, code at {commit}.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for r in results.values():
        for m in r.values():
            if isinstance(m, dict):
                m.pop("sandbox", None)
    when = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    args.out.write_text(json.dumps({"commit": commit, "crm": args.crm, "date": when, "results": results}, indent=1,
                                   default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
