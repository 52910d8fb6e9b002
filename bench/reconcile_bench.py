"""Reconcile of N synced records: the time a ``--reconcile`` plan spends deciding them.

    python bench/reconcile_bench.py prepare --crm salesforce --persons 100000 --data DIR
    python bench/reconcile_bench.py measure --crm salesforce --persons 100000 --data DIR --repeat 2

``prepare`` empties the sandbox CRM in ``DIR``, runs setup and a first sync of N persons over N/20
companies (``bench/frames.py``, the same frames as ``sync_bench.py``), leaving the CRM and the
warehouse (``DIR/<crm>-<N>.duckdb``) as a synced org. ``measure`` then runs ``run_workflow`` in
``plan`` mode with ``full_refresh=True`` (``writeback plan --reconcile``): every record is read back
from the CRM and compared. It prints, per run, the wall time, its split as ``sync_bench.py`` splits
it (CRM reads, warehouse, engine = the rest), the time inside the comparison of the records found
(``_Pass.classify_rows``, or per-record ``_Pass.classify`` in code before it), calls and peak RSS.
The sandbox's state is on disk in ``DIR``, so ``measure`` can run again, at another commit, against
the same org: a plan writes nothing. Run it from a checkout of the commit to measure (copied into
an older one): ``sync_bench.py`` puts its own checkout first on ``sys.path``, so the engine measured
is the one beside the script, whatever ``PYTHONPATH`` says.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_bench as sb  # noqa: E402  (bench/ on the path, as sync_bench has it)


def _timed_comparison() -> dict[str, float]:
    """Accumulate the time spent comparing the records the CRM holds (whichever method the code has)."""
    from dagster_pipeline.sync import passes

    spent = {"seconds": 0.0}
    name = "classify_rows" if hasattr(passes._Pass, "classify_rows") else "classify"
    inner = getattr(passes._Pass, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent["seconds"] += time.perf_counter() - t0

    setattr(passes._Pass, name, timed)
    return spent


def measure(info: dict[str, str], crm: str, n: int, warehouse_path: str, repeat: int) -> list[dict[str, Any]]:
    import frames

    from connectors.warehouse import Warehouse
    from dagster_pipeline.sync.engine import run_workflow

    persons, companies = frames.build(n, seed=7)
    settings = sb._settings(crm, "lifted")
    spent = _timed_comparison()
    out = []
    for _ in range(repeat):
        connector = sb._connector(crm, info, settings, "lifted")
        warehouse = Warehouse(f"duckdb:///{warehouse_path}")
        probe = sb.Probe(connector, warehouse)
        spent["seconds"] = 0.0
        t0 = time.perf_counter()
        result = run_workflow(sb.WORKFLOW, settings, warehouse, connector, mode="plan", full_refresh=True,
                              persons=persons, companies=companies)
        elapsed = time.perf_counter() - t0 - probe.overhead
        split = {k: round(v, 2) for k, v in probe.seconds.items()}
        split["engine"] = round(elapsed - sum(probe.seconds.values()), 2)
        out.append({"seconds": round(elapsed, 2), "comparison_seconds": round(spent["seconds"], 2), "split": split,
                    "api_calls": result.api_calls, "peak_mb": round(sb._peak_mb()),
                    "summary": {k: v.as_dict() for k, v in result.summary.items()}})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("prepare", "measure"))
    ap.add_argument("--crm", choices=("salesforce", "hubspot"), default="salesforce")
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--data", type=Path, required=True, help="where the sandbox's state and the warehouse live")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    args.data.mkdir(parents=True, exist_ok=True)
    sandbox = sb.Sandbox(args.data / "sandbox")
    info = sandbox.info
    try:
        if args.crm == "hubspot":
            sb.admin(info, "hubspot", "POST", "config", {"ten_second_limit": sb.LIFTED, "search_per_second": sb.LIFTED})
        warehouse_path = str(args.data / f"{args.crm}-{args.persons}.duckdb")
        if args.step == "prepare":
            sb._worker_setup(info, args.crm, "lifted")
            first = sb.worker({"crm": args.crm, "sandbox": info, "limits": "lifted", "seed": 7,
                               "persons": args.persons, "warehouse": warehouse_path, "mode": "sync", "kind": "first"})
            print(json.dumps({k: first[k] for k in ("seconds", "split", "summary", "failed")}))
        else:
            print(json.dumps({"commit": sb._commit(), "runs": measure(info, args.crm, args.persons, warehouse_path,
                                                                      args.repeat)}))
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
