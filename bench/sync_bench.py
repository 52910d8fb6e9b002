"""Sync benchmark: API calls per record, records/s, and plan time and memory, against the sandbox CRMs.

    python bench/sync_bench.py                                   # 10k and 100k persons, 1M plan, both CRMs
    python bench/sync_bench.py --sizes 2000 --plan-size 0        # quick look
    python bench/sync_bench.py --crm salesforce --profile        # also cProfile the big runs

What it does, per CRM (``website_visitor`` workflow, default object settings):

1. for each size N in ``--sizes``: an empty sandbox (reset) and an empty DuckDB warehouse,
   ``run_setup``, then
   - **first sync** of N persons over N/20 companies;
   - **no-change re-run** of the same frames: must make 0 write calls and no per-record read;
   - **change re-run** where 1% of the persons got a new title;
2. for ``--plan-size`` M: **first plan** of M persons against an empty CRM (time split into
   CRM reads and the rest), then a real **sync** of M persons (state honestly in the warehouse),
   then the **no-change plan** of M. ``--plan-state-size`` syncs/plans a smaller size instead
   when the full sync would take too long.

Each measurement runs in its own child process (``--worker``), so peak memory
(``ru_maxrss``) is that measurement's alone. The sandboxes run as one more child process
(``python -m dagster_pipeline.cli sandbox``) so the server does not share the client's GIL.
Call counts come from both ends: the connector's own counter and the sandbox's
(``GET /__sandbox/calls``), the ground truth. Beside them the theoretical minimum:

- both: the run's identity (Salesforce ``Organization``; HubSpot account-info and the token's
  scopes, whose endpoint is a POST that reads);
- Salesforce writes: ceil(n/200) sObject Collections calls per object and operation, or, from
  ``bulk_threshold`` records up, the 3 write calls of each Bulk API 2.0 job (create, upload,
  close; one job per 100 MB of CSV); reads: one describe per object, the SOQL ``IN``
  statements the keys need at the URL budget with nothing but ``Id`` and the key selected (and
  for companies no Account holds our sync key for, the ``Website LIKE`` statements; for people
  found nowhere, the converted-Lead statements), each lookup at most one ``COUNT()`` when the
  CRM is empty (first sync, first plan; Contacts on every run, the benchmark makes none), and
  per Bulk job one status poll plus its success and failure results;
- HubSpot writes: ceil(n/100) upserts or creates per object (new contacts with a company are
  created with the association inline) + ceil(links/100) association calls for the others;
  reads: one properties read per object, ceil(keys/100) batch reads (at most one count in an
  empty portal), one count of the companies with a domain when some are not found by our sync
  key (an empty portal: nothing more to search), ceil(ids/1000) association reads.

HubSpot's rate limits are lifted in the sandbox and the connector by default (the benchmark
measures our code, not the 10-second window); the table prints how long HubSpot's real
window (100 or 190 calls per 10 s) would make the same calls take at the least.
``--hubspot-limits real`` keeps them.

Only loopback traffic; every loop and wait is bounded; everything lives in a temporary
directory that is removed at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

WORKFLOW = "website_visitor"
RESULT_PREFIX = "@@RESULT "
HUBSPOT_REAL_WINDOWS = {"Free/Starter 100/10s": 10.0, "Pro/Enterprise 190/10s": 19.0}
LIFTED = 10**9
SANDBOX_START_TIMEOUT = 60.0
ADMIN_TIMEOUT = 120.0


# ------------------------------------------------------------------------------------------
# The sandboxes, as a child process
# ------------------------------------------------------------------------------------------

class Sandbox:
    def __init__(self, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dagster_pipeline.cli", "sandbox", "--data-dir", str(data_dir)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + SANDBOX_START_TIMEOUT
        line = ""
        while time.monotonic() < deadline and not line:
            line = self.proc.stdout.readline().strip()
            if self.proc.poll() is not None:
                break
        if not line:
            self.stop()
            raise RuntimeError("the sandbox CRMs did not start")
        self.info: dict[str, str] = json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


def admin(info: dict[str, str], crm: str, method: str, path: str, body: Any = None) -> Any:
    """The sandbox admin API (``/__sandbox/…``): not CRM API use, not counted."""
    import requests

    base = info["salesforce_url"] if crm == "salesforce" else info["hubspot_url"]
    resp = requests.request(method, f"{base}/__sandbox/{path}", json=body, verify=info["ca_file"],
                            timeout=ADMIN_TIMEOUT)
    resp.raise_for_status()
    return resp.json() if resp.content else None


# ------------------------------------------------------------------------------------------
# Worker: one measurement in its own process
# ------------------------------------------------------------------------------------------

def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _settings(crm: str, limits: str) -> Any:
    from dagster_pipeline.sync.settings import parse_settings

    sync: dict[str, Any] = {}
    if crm == "hubspot" and limits == "lifted":
        sync["hubspot_ten_second_limit"] = LIFTED
    return parse_settings({"crm": crm, "sync": sync})


def _connector(crm: str, info: dict[str, str], settings: Any, limits: str) -> Any:
    """What ``dagster_pipeline.connect.make_connector`` builds, pointed at the sandbox."""
    if crm == "salesforce":
        from connectors.salesforce.api import SalesforceConnector
        from connectors.salesforce.client import SalesforceCredentials, make_client

        sf = make_client(SalesforceCredentials(instance_url=info["salesforce_url"], access_token=info["token"],
                                               ca_bundle=info["ca_file"]))
        return SalesforceConnector(sf, bulk_threshold=settings.sync.bulk_threshold,
                                   max_attempts=settings.sync.max_attempts)
    from connectors.hubspot.api import HubSpotConnector
    from connectors.hubspot.client import HubSpotCredentials
    from connectors.hubspot.client import make_client as make_hubspot

    hs = make_hubspot(HubSpotCredentials(access_token=info["token"], base_url=info["hubspot_url"]))
    return HubSpotConnector(hs, ten_second_limit=settings.sync.hubspot_ten_second_limit,
                            max_attempts=settings.sync.max_attempts,
                            search_per_second=LIFTED if limits == "lifted" else 4)


class Probe:
    """Wall time spent in the connector's reads and writes and in the warehouse, and what was asked."""

    READS = ("describe", "find", "find_containing", "read", "search_in", "count_having", "search_having",
             "search_containing", "associations", "count", "query_bulk", "read_all", "count_all")
    WRITES = ("upsert", "update", "associate_default", "create_linked")

    def __init__(self, connector: Any, warehouse: Any) -> None:
        self.seconds = {"crm_read": 0.0, "crm_write": 0.0, "warehouse": 0.0}
        self.overhead = 0.0  # the probe's own bookkeeping, taken out of the measured time
        self.asked: list[dict[str, Any]] = []  # one entry per connector call the engine made
        for name in self.READS:
            self._wrap(connector, name, "crm_read")
        for name in self.WRITES:
            self._wrap(connector, name, "crm_write")
        for name in ("append", "read_model"):
            self._wrap(warehouse, name, "warehouse")

    def _wrap(self, obj: Any, name: str, bucket: str) -> None:
        inner = getattr(obj, name, None)
        if inner is None:  # each CRM's connector has its own set of reads
            return

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                t1 = time.perf_counter()
                self.seconds[bucket] += t1 - t0
                if bucket != "warehouse":
                    self.asked.append(_describe_call(name, args, kwargs))
                    self.overhead += time.perf_counter() - t1

        setattr(obj, name, timed)


def _describe_call(name: str, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A small summary of one connector call: object, key field, how many records/keys, CSV bytes."""
    out: dict[str, Any] = {"method": name, "object": args[0] if args else kwargs.get("sobject")}
    if name == "find":  # (sobject, match_field, values, fields)
        select = args[3] if len(args) > 3 else kwargs.get("fields")
        out.update(field=args[1], n=len(args[2]), where=kwargs.get("where"), select=list(select or []))
    elif name in ("read", "read_all"):  # (object_type, id_property, values, properties)
        out.update(field=args[1], n=len(args[2]))
    elif name in ("search_in", "find_containing", "search_containing"):  # (object, field, values/needles, …)
        out.update(field=args[1], n=len(args[2]))
    elif name == "associations":  # (from, to, ids)
        out.update(n=len(args[2]))
    elif name in ("upsert", "update") and args and isinstance(args[0], str):
        recs = args[2] if name == "upsert" else args[1]
        out["n"] = len(recs)
        if recs and isinstance(recs[0], dict):  # Salesforce: dict records; estimate the Bulk CSV
            out["csv_bytes"] = sum(sum(len(str(v).encode()) + 3 for v in r.values() if v is not None) + 1
                                   for r in recs)
    elif name == "associate_default":
        out["n"] = len(args[2])
    elif name == "count_having":  # (object_type, prop)
        out["field"] = args[1]
    elif name == "create_linked":  # (object_type, id_property, to_type, inputs)
        out["n"] = len(args[3])
    elif name == "count":  # (sobject, where)
        out["where"] = args[1] if len(args) > 1 else kwargs.get("where")
    return out


def _top_functions(prof: Any, limit: int = 25) -> list[dict[str, Any]]:
    import pstats

    stats = pstats.Stats(prof)
    rows = []
    for (file, line, func), (_, nc, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        short = file
        for prefix in (str(ROOT) + "/", sys.prefix + "/", sysconfig.get_paths()["stdlib"] + "/"):
            short = short.replace(prefix, "")
        rows.append({"function": f"{short}:{line}({func})", "calls": nc, "tottime": round(tt, 3),
                     "cumtime": round(ct, 3)})
    by_tot = sorted(rows, key=lambda r: -r["tottime"])[:limit]
    by_cum = sorted(rows, key=lambda r: -r["cumtime"])[:limit]
    return [{"by": "tottime", "rows": by_tot}, {"by": "cumtime", "rows": by_cum}]


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    info, crm, limits = spec["sandbox"], spec["crm"], spec["limits"]
    if spec["kind"] == "setup":
        return _worker_setup(info, crm, limits)
    import frames

    t0 = time.perf_counter()
    persons, companies = frames.build(spec["persons"], seed=spec["seed"])
    n_changed, changed_keys = 0, []
    if spec.get("change"):
        original = persons
        persons, n_changed = frames.change_one_field(persons, 0.01, seed=spec["seed"])
        changed_keys = persons.filter(persons["title"] != original["title"])["email"].str.to_lowercase().to_list()
        del original
    build_s = time.perf_counter() - t0

    from connectors.warehouse import Warehouse
    from dagster_pipeline.sync.engine import run_workflow

    settings = _settings(crm, limits)
    connector = _connector(crm, info, settings, limits)
    warehouse = Warehouse(f"duckdb:///{spec['warehouse']}")
    probe = Probe(connector, warehouse)
    admin(info, crm, "DELETE", "calls")
    rss_before = _rss_mb()
    prof = None
    if spec.get("profile"):
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    result = run_workflow(WORKFLOW, settings, warehouse, connector, mode=spec["mode"], persons=persons,
                          companies=companies, full_refresh=bool(spec.get("full_refresh")))
    elapsed = time.perf_counter() - t0 - probe.overhead
    if prof is not None:
        prof.disable()
    sandbox_calls = admin(info, crm, "GET", "calls")
    out: dict[str, Any] = {
        "crm": crm, "kind": spec["kind"], "profiled": bool(spec.get("profile")), "mode": spec["mode"],
        "persons": persons.height,
        "companies": companies.height, "changed": n_changed, "build_seconds": round(build_s, 3),
        "seconds": round(elapsed, 3), "split": {k: round(v, 3) for k, v in probe.seconds.items()},
        "summary": {k: v.as_dict() for k, v in result.summary.items()},
        "failed": result.failed, "stopped": result.stopped,
        "api_calls": result.api_calls, "connector_by_endpoint": dict(connector.calls.by_endpoint),
        "sandbox_by_endpoint": sandbox_calls["by_endpoint"], "asked": _merge_asked(probe.asked),
        "rss_before_mb": round(rss_before, 1), "peak_mb": round(_peak_mb(), 1),
        "bulk_threshold": settings.sync.bulk_threshold, "probe_overhead_seconds": round(probe.overhead, 3),
    }
    out["split"]["engine"] = round(elapsed - sum(probe.seconds.values()), 3)
    if result.failed:
        failed = result.log.filter(result.log["status"] == "failed")
        out["failed_sample"] = failed.head(5).to_dicts()
        out["failed_reasons"] = failed.group_by("reason").len().to_dicts()
    out["minimum"] = minimum(spec, out, connector, persons, companies, changed_keys)
    if prof is not None:
        path = Path(spec["profile"])
        prof.dump_stats(str(path))
        out["profile"] = {"file": str(path), "top": _top_functions(prof)}
    return out


def _merge_asked(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[tuple, dict[str, Any]] = {}
    for c in calls:
        key = (c["method"], c.get("object"), c.get("field"), c.get("where"))
        m = merged.setdefault(key, {**{k: v for k, v in c.items() if k not in ("n", "csv_bytes")},
                                    "calls": 0, "n": 0})
        m["calls"] += 1
        m["n"] += c.get("n", 0) or 0
        if "csv_bytes" in c:
            m["csv_bytes"] = m.get("csv_bytes", 0) + c["csv_bytes"]
    return list(merged.values())


def _worker_setup(info: dict[str, str], crm: str, limits: str) -> dict[str, Any]:
    """Empty the CRM, lift or keep its limits, create the custom fields (``run_setup``)."""
    from dagster_pipeline.sync.setup import run_setup

    admin(info, crm, "POST", "reset")
    if crm == "hubspot" and limits == "lifted":
        admin(info, crm, "POST", "config", {"ten_second_limit": LIFTED, "search_per_second": LIFTED})
    settings = _settings(crm, limits)
    connector = _connector(crm, info, settings, limits)
    t0 = time.perf_counter()
    report = run_setup(settings, connector)
    elapsed = time.perf_counter() - t0
    calls = admin(info, crm, "GET", "calls")
    admin(info, crm, "DELETE", "calls")
    return {"kind": "setup", "crm": crm, "seconds": round(elapsed, 3), "created": report.created,
            "api_calls": connector.calls.as_dict(), "sandbox_total": calls["total"]}


# ------------------------------------------------------------------------------------------
# The theoretical minimum number of calls
# ------------------------------------------------------------------------------------------

def _soql_statements(connector: Any, sobject: str, field: str, values: list[str],
                     select: list[str] | None = None) -> int:
    """``IN`` statements needed for ``values`` at the connector's URL budget, selecting only Id and the key
    (finding a record needs no more), or ``select`` besides when the run must compare those fields."""
    from connectors.salesforce.soql import in_queries

    if not values:
        return 0
    fields = list(dict.fromkeys(["Id", field, *(select or [])]))
    return sum(1 for _ in in_queries(connector.sf.base_url + "query/", sobject, field, values, fields))


def _compared(out: dict[str, Any], sobject: str) -> list[str]:
    """The fields the run's lookup of ``sobject`` selected: what a change run must read to compare."""
    for a in out.get("asked", []):
        if a["method"] == "find" and a.get("object") == sobject and a.get("select"):
            return list(a["select"])
    return []


def _website_statements(connector: Any, domains: list[str]) -> int:
    """``Website LIKE`` statements needed to look for ``domains`` at the connector's URL budget."""
    from connectors.salesforce.soql import contains_query_chunks
    from dagster_pipeline.sync.keys import display_forms

    if not domains:
        return 0
    needles = [(d, display_forms(d)) for d in domains]
    return sum(1 for _ in contains_query_chunks(connector.sf.base_url + "query/", "Account", "Website", needles,
                                                ["Id", "Website"]))


def minimum(spec: dict[str, Any], out: dict[str, Any], connector: Any, persons: Any, companies: Any,
            changed_keys: list[str]) -> dict[str, Any]:
    """Fewest calls that can do what this measurement needs, whatever the implementation.

    What is needed: first sync / first plan — every person and company looked up and (sync)
    created; no-change re-run — nothing; change re-run — the changed persons looked up and
    updated. The describe/properties read per object is always needed (the schema gate).
    """
    crm, mode = spec["crm"], spec["mode"]
    first = spec["kind"] in ("first", "plan_first", "seed_sync")
    if first:
        p_keys = persons["email"].str.strip_chars().str.to_lowercase().to_list()
        c_keys = companies["domain"].str.strip_chars().str.to_lowercase().to_list()
    elif spec.get("change"):
        p_keys, c_keys = changed_keys, []
    else:
        p_keys, c_keys = [], []
    writes: dict[str, int] = {}
    reads: dict[str, int] = {}
    if crm == "salesforce":
        reads["describe"] = 3
        reads["which org (Organization)"] = 1  # state and field epochs are kept per org
        threshold = out["bulk_threshold"]
        def lookup(n_keyed: int) -> int:
            # An empty CRM (first sync / plan): one COUNT() answers the lookup when it would take more.
            return min(n_keyed, 1) if first else n_keyed

        reads["query Account by sync key"] = lookup(_soql_statements(connector, "Account", "Warmly_Sync_Key__c",
                                                                     c_keys))
        if first:  # none found by sync key: every Website containing each domain
            reads["query Account by Website"] = lookup(_website_statements(connector, c_keys))
        # The benchmark's CRM holds no Contact: one COUNT() answers that lookup on every run.
        reads["query Contact by Email"] = min(_soql_statements(connector, "Contact", "Email", p_keys), 1)
        # none of them is a Contact in this benchmark: every key is looked up as a Lead too
        # A change run updates records it finds, and writes only the fields that differ: it must
        # read the fields it compares, so its floor selects them (a first run creates: Id and key).
        compared = _compared(out, "Lead") if spec.get("change") else None
        reads["query Lead by Email"] = lookup(_soql_statements(connector, "Lead", "Email", p_keys, compared))
        if first:  # and, not being a Lead either, as a Lead a rep converted
            reads["query converted Lead by Email"] = lookup(_soql_statements(connector, "Lead", "Email", p_keys))
        if mode == "sync":
            bytes_by_obj = {a["object"]: a.get("csv_bytes", 0) for a in out["asked"] if a["method"] in ("upsert",
                                                                                                       "update")}
            needs = {"Account": len(c_keys) if first else 0, "Lead": len(p_keys)}
            for obj, n in needs.items():
                if n == 0:
                    continue
                if n >= threshold:
                    jobs = max(1, math.ceil(bytes_by_obj.get(obj, 0) / 100_000_000))
                    writes[f"{obj} Bulk 2.0 ({jobs} job)"] = 3 * jobs
                    reads[f"{obj} Bulk 2.0 poll + results"] = 3 * jobs
                else:
                    writes[f"{obj} collections"] = math.ceil(n / 200)
            writes_collections_only = sum(math.ceil(n / 200) for n in needs.values())
        else:
            writes_collections_only = 0
        extra = {"writes_if_collections_only": writes_collections_only}
    else:
        reads["properties"] = 2
        reads["which portal, which scopes"] = 2  # account-info (state per portal), the token's scopes
        def batch_reads(n: int) -> int:
            # An empty portal (first sync / plan): one count (a search, limit 1) answers a lookup of more.
            return min(math.ceil(n / 100), 1) if first else math.ceil(n / 100)

        reads["companies batch read by sync key"] = batch_reads(len(c_keys))
        if first:  # none found by sync key: count the companies with a domain (none in an empty portal)
            reads["companies with a domain (count)"] = 1
        reads["contacts batch read by email"] = batch_reads(len(p_keys))
        if not first and p_keys:  # existing contacts: do they already have their company link?
            reads["associations read"] = math.ceil(len(p_keys) / 1000)
        if mode == "sync":
            if first:
                linked = int(persons["company_domain"].is_in(companies["domain"].implode()).sum())
                writes["companies upsert"] = math.ceil(len(c_keys) / 100)
                # new contacts with a company: batch create, the association inline; the rest upserted
                writes["contacts create (linked inline)"] = math.ceil(linked / 100)
                writes["contacts upsert"] = math.ceil((len(p_keys) - linked) / 100)
            elif p_keys:
                writes["contacts update"] = math.ceil(len(p_keys) / 100)
        extra = {}
    return {"writes": sum(writes.values()), "reads": sum(reads.values()), "writes_detail": writes,
            "reads_detail": reads, **extra}


# ------------------------------------------------------------------------------------------
# Orchestration
# ------------------------------------------------------------------------------------------

def _is_read(endpoint: str) -> bool:
    method, _, path = endpoint.partition(" ")
    return method in ("GET", "HEAD") or any(s in path for s in ("batch/read", "/search", "retrieve", "query",
                                                                "access-token-info"))


def sandbox_split(by_endpoint: dict[str, int]) -> tuple[int, int]:
    reads = sum(n for k, n in by_endpoint.items() if _is_read(k))
    return sum(by_endpoint.values()) - reads, reads


def run_worker(spec: dict[str, Any], timeout: float, script: Path | None = None) -> dict[str, Any]:
    """One measurement in a child process: ``script --worker SPEC`` (this script's, or another scenario's)."""
    label = f"{spec['crm']} {spec['kind']} {spec.get('persons', '')}".strip()
    print(f"… {label}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, str(script or Path(__file__).resolve()), "--worker", json.dumps(spec)],
                              cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  {label}: gave up after {timeout:.0f}s", file=sys.stderr)
        return {"kind": spec["kind"], "crm": spec["crm"], "error": f"timed out after {timeout:.0f}s"}
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            res = json.loads(line[len(RESULT_PREFIX):])
            res["process_seconds"] = round(wall, 1)
            if "sandbox_by_endpoint" in res:
                w, r = sandbox_split(res["sandbox_by_endpoint"])
                print(f"  {res['seconds']:.1f}s, writes {w}, reads {r}, failed {res['failed']}, "
                      f"peak {res['peak_mb']:.0f} MB", file=sys.stderr, flush=True)
            return res
    tail = (proc.stderr or "")[-3000:]
    print(f"  {label} failed (exit {proc.returncode}):\n{tail}", file=sys.stderr)
    return {"kind": spec["kind"], "crm": spec["crm"], "error": f"exit {proc.returncode}", "stderr": tail}


def bench_crm(crm: str, args: argparse.Namespace, info: dict[str, str], tmp: Path) -> dict[str, Any]:
    base = {"crm": crm, "sandbox": info, "limits": args.hubspot_limits, "seed": args.seed}
    out: dict[str, Any] = {"sizes": {}, "plan": {}}
    for n in args.sizes:
        wh = str(tmp / f"{crm}-{n}.duckdb")
        runs: dict[str, Any] = {"setup": run_worker({**base, "kind": "setup"}, args.timeout)}
        common = {**base, "persons": n, "warehouse": wh, "mode": "sync"}
        runs["first"] = run_worker({**common, "kind": "first"}, args.timeout)
        runs["again"] = run_worker({**common, "kind": "again"}, args.timeout)
        runs["change"] = run_worker({**common, "kind": "change", "change": True}, args.timeout)
        if args.profile and n == max(args.sizes):
            run_worker({**base, "kind": "setup"}, args.timeout)
            wh2 = str(tmp / f"{crm}-{n}-profile.duckdb")
            runs["first_profiled"] = run_worker({**common, "warehouse": wh2, "kind": "first",
                                                 "profile": str(args.out.parent / f"{crm}-first-{n}.prof")},
                                                args.timeout)
        out["sizes"][str(n)] = runs
    if args.plan_size:
        m = args.plan_size
        wh = str(tmp / f"{crm}-plan.duckdb")
        plan: dict[str, Any] = {"setup": run_worker({**base, "kind": "setup"}, args.timeout)}
        plan["plan_first"] = run_worker({**base, "kind": "plan_first", "persons": m, "warehouse": wh,
                                         "mode": "plan"}, args.timeout)
        if args.profile:
            plan["plan_first_profiled"] = run_worker(
                {**base, "kind": "plan_first", "persons": m, "warehouse": wh, "mode": "plan",
                 "profile": str(args.out.parent / f"{crm}-plan-{m}.prof")}, args.timeout)
        s = min(args.plan_state_size or m, m)
        plan["seed_sync"] = run_worker({**base, "kind": "seed_sync", "persons": s, "warehouse": wh,
                                        "mode": "sync"}, args.timeout)
        if "error" not in plan["seed_sync"]:
            plan["plan_again"] = run_worker({**base, "kind": "plan_again", "persons": s, "warehouse": wh,
                                             "mode": "plan"}, args.timeout)
        out["plan"] = plan
    return out


# ------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------

LABELS = {"first": "first sync", "again": "no-change re-run", "change": "1% change re-run",
          "first_profiled": "first sync (cProfile on)", "plan_first": "first plan, empty CRM",
          "plan_first_profiled": "first plan (cProfile on)", "seed_sync": "sync (seeds plan state)",
          "plan_again": "no-change plan"}


def _label(r: dict[str, Any]) -> str:
    kind = r["kind"] + ("_profiled" if r.get("profiled") else "")
    return LABELS.get(kind, kind)


def table_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for crm, res in results.items():
        runs: list[dict[str, Any]] = []
        for by_kind in res["sizes"].values():
            runs += [by_kind[k] for k in ("first", "again", "change", "first_profiled") if k in by_kind]
        runs += [res["plan"][k] for k in ("plan_first", "plan_first_profiled", "seed_sync", "plan_again")
                 if k in res["plan"]]
        for r in runs:
            if "error" in r:
                rows.append({"crm": crm, "measurement": _label(r), "error": r["error"]})
                continue
            w_sb, r_sb = sandbox_split(r["sandbox_by_endpoint"])
            records = r["persons"] + r["companies"]
            mn = r["minimum"]
            row = {
                "crm": crm, "measurement": _label(r), "profiled": bool(r.get("profiled")), "persons": r["persons"],
                "companies": r["companies"], "seconds": r["seconds"],
                "persons_per_s": round(r["persons"] / r["seconds"]) if r["seconds"] else None,
                "s_per_million_persons": round(r["seconds"] / r["persons"] * 1e6, 1),
                "writes": r["api_calls"]["writes"], "writes_sandbox": w_sb, "writes_min": mn["writes"],
                "reads": r["api_calls"]["reads"], "reads_sandbox": r_sb, "reads_min": mn["reads"],
                "calls_per_record": round((w_sb + r_sb) / records, 4) if records else None,
                "crm_read_s": r["split"]["crm_read"], "crm_write_s": r["split"]["crm_write"],
                "warehouse_s": r["split"]["warehouse"], "engine_s": r["split"]["engine"],
                "peak_mb": r["peak_mb"], "rss_before_mb": r["rss_before_mb"], "failed": r["failed"],
            }
            if mn["writes"]:
                row["writes_vs_min_pct"] = round(100 * (w_sb - mn["writes"]) / mn["writes"], 1)
            if crm == "hubspot":
                row["hubspot_window_floor_s"] = {k: round((w_sb + r_sb) / v, 1)
                                                 for k, v in HUBSPOT_REAL_WINDOWS.items()}
            rows.append(row)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    head = ("CRM", "measurement", "persons", "s", "persons/s", "s/M", "writes ours|sbx|min", "reads ours|sbx|min",
            "calls/rec", "read s", "write s", "wh s", "engine s", "peak MB")
    lines = []
    for r in rows:
        if "error" in r:
            lines.append((r["crm"], r["measurement"], "", "", "", "", f"ERROR {r['error']}", "", "", "", "", "", "",
                          ""))
            continue
        lines.append((
            r["crm"], r["measurement"], f"{r['persons']:,}", f"{r['seconds']:.1f}", f"{r['persons_per_s']:,}",
            f"{r['s_per_million_persons']:.0f}",
            f"{r['writes']}|{r['writes_sandbox']}|{r['writes_min']}",
            f"{r['reads']}|{r['reads_sandbox']}|{r['reads_min']}",
            f"{r['calls_per_record']:.4f}", f"{r['crm_read_s']:.1f}", f"{r['crm_write_s']:.1f}",
            f"{r['warehouse_s']:.1f}", f"{r['engine_s']:.1f}", f"{r['peak_mb']:.0f}",
        ))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    fmt = lambda row: "  ".join(str(c).rjust(w) if i >= 2 else str(c).ljust(w)  # noqa: E731
                                for i, (c, w) in enumerate(zip(row, widths, strict=True)))
    out = [fmt(head), fmt(tuple("-" * w for w in widths))] + [fmt(line) for line in lines]
    return "\n".join(out)


def _commit() -> str | None:
    """The commit measured (``BENCH_COMMIT`` for a snapshot without .git), ``+dirty`` if engine code was edited."""
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "dagster_pipeline", "connectors"], cwd=ROOT,
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if head and dirty else head or None


def notes(rows: list[dict[str, Any]], results: dict[str, Any], args: argparse.Namespace) -> list[str]:
    out = [
        "writes/reads: ours = the connector's counter, sbx = the sandbox's own count (ground truth), min = the",
        "theoretical minimum for what the run had to do; calls/rec = sandbox calls / (persons + companies);",
        "s/M = seconds per million persons; read/write s = time inside the connector's reads/writes, wh s = warehouse",
        "(state, sync log), engine s = the rest; peak MB = ru_maxrss of the measurement's own process.",
    ]
    for r in rows:
        if "error" in r or r["profiled"]:
            continue
        if r.get("writes_vs_min_pct") is not None and r["measurement"] in ("first sync", "1% change re-run"):
            out.append(f"{r['crm']} {r['measurement']} {r['persons']:,}: writes {r['writes_vs_min_pct']:+.1f}% "
                       "vs the minimum")
        if r["crm"] == "hubspot" and r["measurement"] == "first sync":
            floors = ", ".join(f"{v:,.0f} s at {k}" for k, v in r["hubspot_window_floor_s"].items())
            out.append(f"hubspot first sync {r['persons']:,}: {r['writes_sandbox'] + r['reads_sandbox']:,} calls take "
                       f"at least {floors} under HubSpot's real window (lifted here)")
    for crm, res in results.items():
        for n, runs in res["sizes"].items():
            first = runs.get("first", {})
            coll = (first.get("minimum") or {}).get("writes_if_collections_only")
            if coll:
                out.append(f"salesforce first sync {int(n):,}: {coll} write calls if everything went through "
                           f"sObject Collections (Bulk 2.0 from {first['bulk_threshold']:,} records)")
        seed = res["plan"].get("seed_sync")
        if seed and "error" not in seed and args.plan_size and seed["persons"] < args.plan_size:
            out.append(f"{crm} no-change plan: measured at {seed['persons']:,} persons, the size whose real sync "
                       f"(it puts the state in the warehouse) fits in minutes; see bench/README.md")
    return out


def profile_summary(results: dict[str, Any], top: int = 12) -> list[str]:
    out: list[str] = []
    for crm, res in results.items():
        runs = [r for by_kind in [*res["sizes"].values(), res["plan"]] for r in by_kind.values()]
        for r in runs:
            prof = r.get("profile")
            if not prof:
                continue
            out.append(f"\ncProfile, {crm} {LABELS.get(r['kind'], r['kind'])} {r['persons']:,} "
                       f"(by own time; {prof['file']}):")
            for f in prof["top"][0]["rows"][:top]:
                out.append(f"  {f['tottime']:8.1f}s own {f['cumtime']:8.1f}s cum {f['calls']:>10,}  {f['function']}")
    return out


def run_crms(bench: Callable[..., dict[str, Any]], args: argparse.Namespace, *, prefix: str,
             keep: bool = False) -> tuple[dict[str, Any], float]:
    """``bench(crm, args, sandbox_info, tmp)`` for each CRM of ``args.crm`` against one sandbox child
    process in a temporary directory (removed unless ``keep``); the results per CRM and the seconds."""
    crms = ["salesforce", "hubspot"] if args.crm == "both" else [args.crm]
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    started = time.perf_counter()
    sandbox = Sandbox(tmp / "sandbox")
    results: dict[str, Any] = {}
    try:
        for crm in crms:
            results[crm] = bench(crm, args, sandbox.info, tmp)
    finally:
        sandbox.stop()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return results, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="persons per sync measurement, comma-separated")
    ap.add_argument("--plan-size", type=int, default=1_000_000, help="persons for the plan measurements (0: skip)")
    ap.add_argument("--plan-state-size", type=int, default=200_000,
                    help="persons synced for real (state into the warehouse), then planned again with no change; "
                         "a 1M sync takes ~20 min here, so the default is 200k (0: --plan-size)")
    ap.add_argument("--crm", choices=("salesforce", "hubspot", "both"), default="both")
    ap.add_argument("--out", type=Path, default=BENCH / "out" / "results.json")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hubspot-limits", choices=("lifted", "real"), default="lifted",
                    help="lift HubSpot's 10-second window and search limit in sandbox and connector (default)")
    ap.add_argument("--profile", action="store_true",
                    help="also run the largest first sync and the first plan under cProfile "
                         "(.prof files next to --out)")
    ap.add_argument("--timeout", type=float, default=7200.0, help="seconds one measurement may take")
    ap.add_argument("--keep", action="store_true", help="keep the temporary sandbox data and warehouses")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        res = worker(json.loads(args.worker))
        print(RESULT_PREFIX + json.dumps(res, default=str), flush=True)
        return 0
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.out = args.out.resolve()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    commit = _commit()  # taken before the run: the code the workers import
    results, total = run_crms(bench_crm, args, prefix="sync-bench-", keep=args.keep)
    rows = table_rows(results)
    print(render(rows))
    print()
    print("\n".join(notes(rows, results, args)))
    for line in profile_summary(results):
        print(line)
    print(f"Total {total / 60:.1f} min on {os.cpu_count()} cores, code at {commit or 'unknown commit'}.")
    import polars

    doc = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "commit": commit,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "polars": polars.__version__,
                    "platform": platform.platform()},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "worker"},
        "total_seconds": round(total, 1), "table": rows, "results": results,
    }
    for r in results.values():  # the sandbox's access details are not results
        for runs in [*r["sizes"].values(), r["plan"]]:
            for run in runs.values():
                run.pop("sandbox", None)
    args.out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
