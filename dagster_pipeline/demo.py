"""`writeback demo` and `writeback dev`: the whole product on the embedded default, nothing to configure.

The demo starts the sandbox CRMs on free ports, runs `writeback doctor` (and stops if it finds
what setup cannot fix), creates the Warmly fields and grants them (`writeback setup`), and runs
the code location's own jobs in this process over every daily partition: ``warehouse_job``
(the dbt build of ``seeds/`` into DuckDB), then each workflow's job for its CRM half (the fields
check and the sync), listed under their job in the UI as a schedule's or a backfill's runs are.
It prints what each workflow did to each CRM object, summed over the partitions, then the week of
records to monitor as `writeback report` prints it. Everything it
keeps lives under ``--data-dir`` (default ``.data/``): the warehouse with its sync log, the sandbox
CRMs' state, and the Dagster instance — so a second run writes nothing, and `writeback dev` (the
Dagster UI) shows the demo's runs on the same data.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from connectors.errors import WritebackError
from dagster_pipeline.output import stdout_console

REPO_ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILE = REPO_ROOT / "writeback.yml"  # holds both CRMs' object settings; WRITEBACK_CRM picks one


def settings_without_ramp(target: Path, source: Path = SETTINGS_FILE) -> Path:
    """The shipped settings without the workflows' ramp guard, written to ``target``.

    The demo shows every record of the sample data synced in one run, on sandbox CRMs; the ramp
    is for a real CRM (README "Rolling out a workflow").
    """
    import yaml

    data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    for workflow in (data.get("workflows") or {}).values():
        if isinstance(workflow, dict):
            workflow.pop("ramp", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


#: The demo's Dagster instance: one op at a time in each concurrency pool, so the syncs of one CRM
#: org (its pool, ``crm-<crm>-<org>``) never run at once (README "Sharing the API allowance").
DAGSTER_CONCURRENCY = "concurrency:\n  pools:\n    default_limit: 1\n"


def write_dagster_config(dagster_home: Path) -> Path:
    """``dagster.yaml`` of the demo's instance; an older one without the pool limit gets it added."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n" + DAGSTER_CONCURRENCY)
    elif "concurrency:" not in config.read_text():
        config.write_text(config.read_text().rstrip("\n") + "\n" + DAGSTER_CONCURRENCY)
    return config


def prepare_environment(data_dir: Path, crm: str, sandboxes: Any) -> None:
    """Point this process (and the dbt subprocess) at the demo's warehouse, settings and sandboxes."""
    os.environ.setdefault("WRITEBACK_DUCKDB_PATH", str(data_dir / "warehouse.duckdb"))
    if "WRITEBACK_SETTINGS" not in os.environ:
        os.environ["WRITEBACK_SETTINGS"] = str(settings_without_ramp(data_dir / "writeback.yml"))
    os.environ["WRITEBACK_CRM"] = crm
    dagster_home = data_dir / "dagster"
    write_dagster_config(dagster_home)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    os.environ.setdefault("WRITEBACK_STATE_DIR", str(data_dir / "state"))
    if crm == "salesforce":
        os.environ.update({"SALESFORCE_INSTANCE_URL": sandboxes.salesforce_url,
                           "SALESFORCE_ACCESS_TOKEN": sandboxes.token, "SALESFORCE_CA_BUNDLE": str(sandboxes.ca_file)})
    else:
        os.environ.update({"HUBSPOT_BASE_URL": sandboxes.hubspot_url, "HUBSPOT_ACCESS_TOKEN": sandboxes.token})


def seed_existing_crm(crm: str, count: int = 6) -> int:
    """On an empty sandbox, play the sales team: a few Accounts and Contacts typed in by reps.

    They show what the sync does with records it did not create: a person who already exists
    as a Contact is updated as that Contact (not duplicated as a Lead), an Account whose
    Website a rep typed as ``https://www.acme.io/`` is matched by domain, and the rep's own
    names are kept. Returns how many people were seeded (0 when the CRM already had data).
    """
    from connectors.warehouse import Warehouse

    people = (Warehouse.from_env().read_model("sync_website_visitor__persons")
              .filter(pl_col_not_null("company_domain")).sort("email").head(count))
    if crm == "salesforce":
        from connectors.salesforce.client import SalesforceCredentials, make_client

        sf: Any = make_client(SalesforceCredentials.from_env())  # sf.Account & co. are dynamic
        if sf.query("SELECT COUNT() FROM Contact")["totalSize"]:
            return 0
        accounts: dict[str, str] = {}
        for row in people.iter_rows(named=True):
            domain = row["company_domain"]
            if domain not in accounts:
                accounts[domain] = sf.Account.create(
                    {"Name": f"{row['company_name'] or domain} (rep)", "Website": f"https://www.{domain}/"})["id"]
            sf.Contact.create({"LastName": row["last_name"] or "Unknown", "FirstName": row["first_name"],
                               "Email": row["email"].upper(), "Title": "entered by a rep",
                               "AccountId": accounts[domain]})
        return people.height
    from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyInput
    from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactInput

    from connectors.hubspot.client import HubSpotCredentials
    from connectors.hubspot.client import make_client as make_hubspot

    hs = make_hubspot(HubSpotCredentials.from_env())
    if hs.crm.contacts.basic_api.get_page(limit=1).results:
        return 0
    seen: set[str] = set()
    for row in people.iter_rows(named=True):
        if row["company_domain"] not in seen:
            seen.add(row["company_domain"])
            hs.crm.companies.basic_api.create(CompanyInput(properties={
                "name": f"{row['company_name'] or row['company_domain']} (rep)", "domain": row["company_domain"]}))
        hs.crm.contacts.basic_api.create(ContactInput(properties={
            "email": row["email"], "firstname": row["first_name"] or "", "jobtitle": "entered by a rep"}))
    return people.height


def pl_col_not_null(name: str) -> Any:
    import polars as pl

    return pl.col(name).is_not_null()


def _summary_table(metadata: dict[str, dict[str, Any]], crm: str, elapsed: float) -> Table:
    table = Table(title=f"CRM writeback demo — {crm} ({elapsed:.0f}s)")
    for col in ("workflow", "object", "created", "updated", "unchanged", "skipped", "failed", "API calls r/w"):
        table.add_column(col, justify="left" if col in ("workflow", "object", "skipped", "failed") else "right")
    for workflow, meta in sorted(metadata.items()):
        calls = meta.get("api_calls", {})
        for i, (obj, s) in enumerate(sorted(meta.get("by_object", {}).items())):
            skipped = ", ".join(f"{k} {v:,}" for k, v in s["skipped"].items()) or "0"
            failed = ", ".join(f"{k} {v:,}" for k, v in s["failed"].items()) or "0"
            table.add_row(workflow if i == 0 else "", obj, f"{s['created']:,}", f"{s['updated']:,}",
                          f"{s['unchanged']:,}", skipped, failed,
                          f"{calls.get('reads', 0):,}/{calls.get('writes', 0):,}" if i == 0 else "")
    return table


def main(args: argparse.Namespace) -> int:
    console = stdout_console(min_width=120)
    data_dir = Path(getattr(args, "data_dir", None) or REPO_ROOT / ".data").resolve()
    crm = args.crm
    started = time.monotonic()

    from connectors.sandbox.server import start

    sandboxes = start(data_dir / "sandbox")
    try:
        prepare_environment(data_dir, crm, sandboxes)
        console.print(f"Sandbox {crm} CRM on {getattr(sandboxes, crm + '_url')}; data in {data_dir}")
        return _run(console, data_dir, crm, started)
    except WritebackError as exc:
        console.print(f"[bold red]demo failed:[/] {exc}")
        return 1
    finally:
        sandboxes.stop()


#: A sync's per-object counts: ``Lead created`` … and per reason, ``Lead skipped: create_disabled``.
_OBJECT_COUNT = re.compile(r"^(\S+) (?:(created|updated|unchanged)|(skipped|failed): (.+))$")


def _workflow_summary(result: Any, workflow: str) -> dict[str, Any] | None:
    """A workflow's run summed over its partitions: each partition reports only its own records."""
    from dagster import AssetKey

    key = AssetKey(f"{workflow}_crm_sync")
    metas = [e.step_materialization_data.materialization.metadata for e in result.get_asset_materialization_events()
             if e.step_materialization_data.materialization.asset_key == key]
    if not metas:
        return None
    by_object: dict[str, dict[str, Any]] = {}
    for meta in metas:
        for name, value in meta.items():
            match = _OBJECT_COUNT.match(name)
            if not match:
                continue
            obj, counted, reasoned, reason = match.groups()
            action = counted or reasoned
            total = by_object.setdefault(obj, {"created": 0, "updated": 0, "unchanged": 0, "skipped": {}, "failed": {}})
            if reason is None:
                total[action] += value.value
            else:
                total[action][reason] = total[action].get(reason, 0) + value.value
    return {"by_object": by_object,
            "api_calls": {k: metas[0][f"run_api_{k}"].value for k in ("reads", "writes") if f"run_api_{k}" in metas[0]},
            "failed": sum(meta["failed"].value for meta in metas)}


def _run(console: Console, data_dir: Path, crm: str, started: float) -> int:
    from dagster import AssetKey, DagsterInstance

    from dagster_pipeline.commands import print_doctor
    from dagster_pipeline.connect import make_connector
    from dagster_pipeline.defs.partitions import daily_partitions
    from dagster_pipeline.local_run import run_job
    from dagster_pipeline.sync.doctor import run_doctor
    from dagster_pipeline.sync.settings import WORKFLOWS, load_settings
    from dagster_pipeline.sync.setup import run_setup

    settings = load_settings().for_crm(crm)
    checked = run_doctor(settings, lambda: make_connector(settings))
    print_doctor(checked, console)
    if not checked.only_setup_needed:
        console.print("[bold red]writeback doctor found what `writeback setup` cannot fix; see above[/]")
        return 1
    report = run_setup(settings, make_connector(settings))
    made = sum(len(v) for v in report.created.values())
    granted = sum(len(v) for v in report.granted.values())
    console.print(f"writeback setup: created {made} field(s)" + (" (all present already)" if not made else "")
                  + (f", granted {granted} through permission set {report.permission_set}" if granted else ""))

    keys = daily_partitions.get_partition_keys()
    first, last = dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])
    instance = DagsterInstance.get()
    dbt_log = data_dir / "dbt.log"
    runs = 1 + len(WORKFLOWS)
    console.print(f"Dagster run 1/{runs}: warehouse_job — dbt build of seeds → staging → intermediate → sync models, "
                  f"partitions {first} … {last} (dbt output: {dbt_log}) …")
    with dbt_log.open("w") as log, contextlib.redirect_stdout(log):
        built = run_job("warehouse_job", first, last, instance=instance, raise_on_error=False, quiet=True)
    if not built.success:
        console.print(f"[bold red]dbt build failed[/]; see {dbt_log}")
        return 1
    seeded = seed_existing_crm(crm)
    if seeded:
        console.print(f"Seeded the empty sandbox with {seeded} Contacts and their Accounts, as reps would have.")
    metadata: dict[str, dict[str, Any]] = {}
    failed_checks: dict[tuple[str, str], Any] = {}
    all_ran = True
    for n, workflow in enumerate(WORKFLOWS, start=2):
        # The job's CRM half: run 1 has just built its sync models, and rebuilding them three more
        # times would only repeat that dbt build.
        console.print(f"Dagster run {n}/{runs}: {workflow}_job — the CRM fields check, then the sync …")
        result = run_job(f"{workflow}_job", first, last, selection=[AssetKey("crm_fields"),
                         AssetKey(f"{workflow}_crm_sync")], instance=instance, raise_on_error=False, quiet=True)
        all_ran = all_ran and result.success
        summary = _workflow_summary(result, workflow)
        if summary:
            metadata[workflow] = summary
        for check in result.get_asset_check_evaluations():
            if not check.passed:
                failed_checks[(check.asset_key.to_user_string(), check.check_name)] = check
    console.print(_summary_table(metadata, crm, time.monotonic() - started))
    for check in failed_checks.values():
        console.print(f"[red]check failed[/] {check.asset_key.to_user_string()}.{check.check_name}: "
                      f"{check.description or ''}")
    # What a RevOps admin watches for the first week of a workflow: the same table as `writeback report`.
    from dagster_pipeline.monitor_commands import run_report_command

    console.print("\n`writeback report` — the records to monitor, day by day (a Dagster asset, sync_activity, "
                  "draws the same numbers):")
    run_report_command(argparse.Namespace(days=7, json=False))
    warehouse = os.environ["WRITEBACK_DUCKDB_PATH"]
    console.print(
        "\nInspect the results:\n"
        f"  sync log   : table writeback.sync_log in {warehouse} — one row per record per run;\n"
        f"               `WRITEBACK_DUCKDB_PATH={warehouse} .venv/bin/writeback log` summarises the last runs\n"
        f"  CRM state  : `.venv/bin/writeback sandbox --data-dir {data_dir / 'sandbox'}`, then "
        f"GET <url>/__sandbox/records/{'Lead' if crm == 'salesforce' else 'contacts'}\n"
        "  Dagster UI : `make dev` — the same data; the runs are listed under their jobs, and each sync's\n"
        "               partitions show that day's records\n"
        "Run `make demo` again: the second run writes nothing."
    )
    if not all_ran or len(metadata) < len(WORKFLOWS):
        console.print("[bold red]some steps failed; see the messages above[/]")
        return 1
    return 0 if all(m["failed"] == 0 for m in metadata.values()) and not failed_checks else 1


def dev(args: argparse.Namespace) -> int:
    """Start the sandbox CRMs and `dagster dev` on the demo's data, until Ctrl-C."""
    from connectors.sandbox.server import start

    data_dir = Path(getattr(args, "data_dir", None) or REPO_ROOT / ".data").resolve()
    sandboxes = start(data_dir / "sandbox")
    prepare_environment(data_dir, args.crm, sandboxes)
    # `dagster dev` in its own process group, with SIGINT restored to its default (a job started
    # with `&` from a script inherits SIGINT ignored, and then `dagster dev` cannot be stopped).
    # We forward Ctrl-C / SIGTERM to the whole group as SIGINT, which it handles gracefully, and
    # kill the group if it is still there 30 s later.
    # This Python's scripts first on PATH: under `dagster dev`, dagster-dbt parses the dbt project on
    # every load with the `dbt` it finds there, and it must be the one beside this dagster.
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("dagster")), "dev", "-m",
                             "dagster_pipeline.definitions", "--port", str(args.port)],
                            cwd=REPO_ROOT, env=env, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def kill_group() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def forward(signum: int, frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        timer = threading.Timer(30, kill_group)
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        code = proc.wait()
        return 0 if code in (0, -signal.SIGINT, 130) else code
    finally:
        kill_group()  # whatever of the group is left (code servers) goes with it
        sandboxes.stop()
