"""Benchmark against a CRM that already holds the records: first plan, reconcile, 1% change run.

    python bench/crm_bench.py                                  # 1M held, reconcile of 100k, both CRMs
    python bench/crm_bench.py --held-size 2000 --reconcile-size 1000   # a quick look

``sync_bench.py`` starts from an empty CRM. Most syncs do not: reps' records are already there,
and a first sync must find every one of them before it can say "unchanged". These scenarios
measure that, per CRM:

1. **held**: the CRM is loaded with M persons over M/20 companies (``POST /__sandbox/load``, an
   admin route: not API use, as reps' records would exist) holding exactly what a sync would
   write, so a first plan finds every record ``unchanged``. How the values are made: the engine
   itself runs a sync of the bench frames into the empty CRM through :class:`LoadingConnector`,
   whose writes go to the admin load instead of the API (reads go to the CRM as usual). Every
   value is therefore the one the engine's own create payload carries, typed by the connector's
   own wire conversion; the plan afterwards checks it (all ``unchanged``, or the table says not).
   Then, each in its own process (peak RSS = ``ru_maxrss``; calls from the sandbox's
   ``/__sandbox/calls`` counter):

   - **first plan, CRM holding them**: a plan with no sync state; reads against the target;
   - **sync, CRM holding them**: the same as a sync, with a warehouse: 0 writes, and the state for
     M records with their real CRM ids lands in the warehouse;
   - **1% change run**: 1% of persons got a new title; a real sync, state in the warehouse;
     writes and reads beside the floor ``sync_bench.minimum`` computes for a change re-run.
2. **reconcile**: the same for R records (persons + companies: ``--reconcile-size`` is the total,
   persons are 20/21 of it), then ``full_refresh=True`` (reconcile: every synced record read
   again, whatever the state says). When R's persons are the held series' persons, the held
   series reconciles what it synced instead (one load fewer: the smoke test's tiny run).

The floors for a CRM holding the records (:func:`held_floor`): Salesforce — 3 describes, the
``Organization``, and per lookup the cheaper of its keyed ``IN`` statements (nothing selected but
``Id`` and the key) and a Bulk API 2.0 query job of every record it could find (create, one poll,
a result page per 100,000 rows); the Contact lookup, which finds nothing, one ``COUNT()``.
HubSpot — 2 property reads, 2 identity calls, ceil(keys/100) batch reads of companies, and for
contacts the cheaper of ceil(keys/100) batch reads plus ceil(contacts with a company / 1,000)
association reads (is each contact already linked?) and the list of every contact with its company
associations inline, ceil(contacts held / 100) pages (the portal holds exactly these records).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import sync_bench as sb  # noqa: E402  (bench/ is not a package)

LOAD_CHUNK = 20_000  # records per admin load call: bounded request bodies
#: Issue 10's targets for these rows; ``None`` where the target is "at the floor".
TARGETS = {
    ("salesforce", "plan_held"): 60, ("salesforce", "reconcile"): 30,
    ("hubspot", "reconcile"): 1_010,
}


# ------------------------------------------------------------------------------------------
# Loading a CRM with what a sync would write
# ------------------------------------------------------------------------------------------

class LoadingConnector:
    """The real connector, whose writes go to the sandbox's admin load instead of the CRM API.

    Reads (describe, identity, lookups) pass through, so the engine plans as it would against
    the empty CRM; the records it would create are stored by ``POST /__sandbox/load/{object}``,
    which checks and stores them as a create does, and their new ids come back as the write
    results (HubSpot contacts need their company's id for the association). Only creates can
    happen into an empty CRM; anything else means the CRM was not empty and is refused.
    """

    def __init__(self, inner: Any, crm: str, info: dict[str, str]) -> None:
        self._inner, self._crm, self._info = inner, crm, info
        self.loaded: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _load(self, obj: str, rows: list[dict[str, Any]]) -> list[str]:
        ids: list[str] = []
        for start in range(0, len(rows), LOAD_CHUNK):
            ids += sb.admin(self._info, self._crm, "POST", f"load/{obj}", rows[start:start + LOAD_CHUNK])["ids"]
        self.loaded[obj] = self.loaded.get(obj, 0) + len(ids)
        return ids

    def upsert(self, *args: Any) -> list[Any]:
        from connectors.crm import RecordResult

        if self._crm == "salesforce":
            from connectors.salesforce.wire import prepare_record

            sobject, key_field, records, keys = args
            rows = [prepare_record(r, key_field) for r in records]  # the connector's own wire values
            ids = self._load(sobject, rows)
            return [RecordResult(k, True, crm_id=i, created=True) for k, i in zip(keys, ids, strict=True)]
        object_type, _, inputs = args
        ids = self._load(object_type, [{"properties": props} for _, props in inputs])
        return [RecordResult(k, True, crm_id=i, created=True) for (k, _), i in zip(inputs, ids, strict=True)]

    def create_linked(self, object_type: str, id_property: str, to_type: str,
                      inputs: list[tuple[str, dict, str]]) -> list[Any]:
        from connectors.crm import RecordResult
        from connectors.hubspot.writes import DEFAULT_LINK_TYPES

        types = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t}
                 for t in DEFAULT_LINK_TYPES[(object_type, to_type)]]
        rows = [{"properties": props, "associations": [{"to": {"id": to}, "types": types}]} for _, props, to in inputs]
        ids = self._load(object_type, rows)
        return [RecordResult(k, True, crm_id=i, created=True) for (k, _, _), i in zip(inputs, ids, strict=True)]

    def update(self, *args: Any) -> list[Any]:
        raise RuntimeError("loading found records to update: the CRM was not empty")

    def associate_default(self, from_type: str, to_type: str, pairs: list[Any]) -> list[Any]:
        if pairs:
            raise RuntimeError("loading found contacts to link: the CRM was not empty")
        return []


def _worker_preload(spec: dict[str, Any]) -> dict[str, Any]:
    """Fill the empty CRM with the records a sync of ``spec['persons']`` would create (see the docstring)."""
    import frames

    from connectors.warehouse import Warehouse
    from dagster_pipeline.sync.engine import run_workflow

    info, crm, limits = spec["sandbox"], spec["crm"], spec["limits"]
    persons, companies = frames.build(spec["persons"], seed=spec["seed"])
    settings = sb._settings(crm, limits)
    loader = LoadingConnector(sb._connector(crm, info, settings, limits), crm, info)
    t0 = time.perf_counter()
    result = run_workflow(sb.WORKFLOW, settings, Warehouse(f"duckdb:///{spec['warehouse']}"), loader, mode="sync",
                          persons=persons, companies=companies)
    return {"kind": "preload", "crm": crm, "persons": persons.height, "companies": companies.height,
            "seconds": round(time.perf_counter() - t0, 1), "loaded": loader.loaded, "failed": result.failed,
            "summary": {k: v.as_dict() for k, v in result.summary.items()}, "peak_mb": round(sb._peak_mb(), 1)}


# ------------------------------------------------------------------------------------------
# Floors for a CRM holding the records
# ------------------------------------------------------------------------------------------

def held_floor(crm: str, connector: Any, persons: Any, companies: Any) -> dict[str, Any]:
    """Fewest reads that find every one of these records in a CRM holding them (see the docstring)."""
    p_keys = persons["email"].str.strip_chars().str.to_lowercase().to_list()
    c_keys = companies["domain"].str.strip_chars().str.to_lowercase().to_list()
    reads: dict[str, int] = {}
    if crm == "salesforce":
        reads["describe"] = 3
        reads["which org (Organization)"] = 1

        def cheaper(sobject: str, field: str, keys: list[str]) -> int:
            return min(sb._soql_statements(connector, sobject, field, keys), connector.bulk_query_calls(len(keys)))

        reads["Account by sync key (keyed or Bulk)"] = cheaper("Account", "Warmly_Sync_Key__c", c_keys)
        reads["Contact by Email (none held: COUNT())"] = 1
        reads["Lead by Email (keyed or Bulk)"] = cheaper("Lead", "Email", p_keys)
    else:
        reads["properties"] = 2
        reads["which portal, which scopes"] = 2
        reads["companies batch read by sync key"] = math.ceil(len(c_keys) / 100)
        # The list costs what the batch reads cost, without their association reads.
        reads["contacts: the list, company associations inline"] = math.ceil(len(p_keys) / 100)
    return {"writes": 0, "reads": sum(reads.values()), "writes_detail": {}, "reads_detail": reads,
            "target_rule": ("ceil(keys/100) + 10" if crm == "hubspot" else "60"),
            "hubspot_target": math.ceil((len(p_keys) + len(c_keys)) / 100) + 10}


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["kind"] == "preload":
        return _worker_preload(spec)
    if spec["kind"] == "setup":
        return sb.worker(spec)
    out = sb.worker(spec)  # the measurement itself: sync_bench's, with its probe and counters
    if spec["kind"] != "change":  # a change re-run keeps sync_bench's floor
        import frames

        persons, companies = frames.build(spec["persons"], seed=spec["seed"])
        settings = sb._settings(spec["crm"], spec["limits"])
        out["minimum"] = held_floor(spec["crm"], sb._connector(spec["crm"], spec["sandbox"], settings,
                                                               spec["limits"]), persons, companies)
    return out


# ------------------------------------------------------------------------------------------
# Orchestration and the table
# ------------------------------------------------------------------------------------------

def _run(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    return sb.run_worker(spec, timeout, script=Path(__file__).resolve())


def bench_crm(crm: str, args: argparse.Namespace, info: dict[str, str], tmp: Path) -> dict[str, Any]:
    base = {"crm": crm, "sandbox": info, "limits": args.hubspot_limits, "seed": args.seed}
    out: dict[str, Any] = {}
    series: list[tuple[str, int, tuple[str, ...]]] = []
    reconciled = max(1, round(args.reconcile_size * sb_ratio())) if args.reconcile_size else 0
    if args.held_size:
        # Same size: reconcile what the held series synced (after its change run) instead of loading again.
        again = ("reconcile",) if reconciled == args.held_size else ()
        series.append(("held", args.held_size, ("plan_held", "sync_held", "change", *again)))
    if reconciled and reconciled != args.held_size:
        series.append(("reconcile", reconciled, ("sync_held", "reconcile")))
    for name, n, kinds in series:
        wh = str(tmp / f"{crm}-{name}.duckdb")
        runs: dict[str, Any] = {"setup": _run({**base, "kind": "setup"}, args.timeout)}
        runs["preload"] = _run({**base, "kind": "preload", "persons": n,
                                "warehouse": str(tmp / f"{crm}-{name}-load.duckdb")}, args.timeout)
        if "error" in runs["preload"] or runs["preload"]["failed"]:
            out[name] = runs
            continue
        for kind in kinds:
            spec = {**base, "kind": kind, "persons": n, "mode": "plan" if kind == "plan_held" else "sync",
                    "warehouse": str(tmp / f"{crm}-{name}-plan.duckdb") if kind == "plan_held" else wh}
            if kind == "change" or (kind == "reconcile" and "change" in kinds):
                spec["change"] = True  # a reconcile after the change run reads what that run synced
            if kind == "reconcile":
                spec["full_refresh"] = True
            runs[kind] = _run(spec, args.timeout)
        out[name] = runs
    return out


def sb_ratio() -> float:
    """Persons per record in the bench frames (persons over persons/20 companies)."""
    import frames

    return frames.PERSONS_PER_COMPANY / (frames.PERSONS_PER_COMPANY + 1)


LABELS = {"plan_held": "first plan, CRM holding them", "sync_held": "sync, CRM holding them (state)",
          "change": "1% change run", "reconcile": "reconcile (full_refresh)"}


def table_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for crm, by_series in results.items():
        for series, runs in by_series.items():
            pre = runs.get("preload", {})
            for kind, r in runs.items():
                if kind in ("setup", "preload"):
                    continue
                if "error" in r:
                    rows.append({"crm": crm, "series": series, "measurement": LABELS[kind], "error": r["error"]})
                    continue
                w, rd = sb.sandbox_split(r["sandbox_by_endpoint"])
                mn = r["minimum"]
                target: Any = TARGETS.get((crm, kind))
                if (crm, kind) == ("hubspot", "plan_held"):
                    target = mn["hubspot_target"]
                if kind == "change":
                    target = "floor"
                summary = {k: v for obj in r["summary"].values() for k, v in obj.items() if v}
                rows.append({
                    "crm": crm, "series": series, "measurement": LABELS[kind], "persons": r["persons"],
                    "companies": r["companies"], "records": r["persons"] + r["companies"], "seconds": r["seconds"],
                    "writes": w, "writes_min": mn["writes"], "reads": rd, "reads_min": mn["reads"],
                    "reads_target": target, "peak_mb": r["peak_mb"], "failed": r["failed"],
                    "found": _found(r), "summary": summary, "preload_seconds": pre.get("seconds"),
                    "crm_read_s": r["split"]["crm_read"], "engine_s": r["split"]["engine"],
                })
    return rows


def _found(r: dict[str, Any]) -> str:
    """What the run found, in words: ``all unchanged``, or its outcome counts."""
    totals: dict[str, int] = {}
    for obj in r["summary"].values():
        for k, v in obj.items():
            if isinstance(v, int) and v:
                totals[k] = totals.get(k, 0) + v
    records = r["persons"] + r["companies"]
    if totals.get("unchanged") == records and r["failed"] == 0:
        return "all unchanged"
    return ", ".join(f"{k} {v:,}" for k, v in sorted(totals.items()))


def render(rows: list[dict[str, Any]]) -> str:
    head = ("CRM", "measurement", "records", "s", "writes sbx|min", "reads sbx|min|target", "read s", "engine s",
            "peak MB", "found")
    lines = []
    for r in rows:
        if "error" in r:
            lines.append((r["crm"], r["measurement"], "", "", f"ERROR {r['error']}", "", "", "", "", ""))
            continue
        lines.append((r["crm"], r["measurement"], f"{r['records']:,}", f"{r['seconds']:.1f}",
                      f"{r['writes']}|{r['writes_min']}", f"{r['reads']}|{r['reads_min']}|{r['reads_target'] or '-'}",
                      f"{r['crm_read_s']:.1f}", f"{r['engine_s']:.1f}", f"{r['peak_mb']:.0f}", r["found"]))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    fmt = lambda row: "  ".join(str(c).rjust(w) if 2 <= i <= 8 else str(c).ljust(w)  # noqa: E731
                                for i, (c, w) in enumerate(zip(row, widths, strict=True)))
    return "\n".join([fmt(head), fmt(tuple("-" * w for w in widths))] + [fmt(line) for line in lines])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--held-size", type=int, default=1_000_000, help="persons the CRM holds (0: skip)")
    ap.add_argument("--reconcile-size", type=int, default=100_000,
                    help="records (persons + companies) synced, then reconciled (0: skip)")
    ap.add_argument("--crm", choices=("salesforce", "hubspot", "both"), default="both")
    ap.add_argument("--out", type=Path, default=BENCH / "out" / "crm_results.json")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hubspot-limits", choices=("lifted", "real"), default="lifted")
    ap.add_argument("--timeout", type=float, default=7200.0, help="seconds one measurement may take")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        res = worker(json.loads(args.worker))
        print(sb.RESULT_PREFIX + json.dumps(res, default=str), flush=True)
        return 0
    args.out = args.out.resolve()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    commit = sb._commit()
    results, total = sb.run_crms(bench_crm, args, prefix="crm-bench-")
    rows = table_rows(results)
    print(render(rows))
    for crm, by_series in results.items():
        for series, runs in by_series.items():
            pre = runs.get("preload", {})
            if "error" in pre:
                print(f"{crm} {series}: loading the CRM failed: {pre['error']}")
            elif pre:
                print(f"{crm} {series}: loaded {pre['loaded']} through the admin API in {pre['seconds']:.0f} s "
                      f"(not API use); failed {pre['failed']}")
    print(f"Total {total / 60:.1f} min on {os.cpu_count()} cores, code at {commit or 'unknown commit'}.")
    for by_series in results.values():  # the sandbox's access details are not results
        for runs in by_series.values():
            for run in runs.values():
                run.pop("sandbox", None)
    doc = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "commit": commit,
           "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "worker"},
           "total_seconds": round(total, 1), "table": rows, "results": results}
    args.out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
