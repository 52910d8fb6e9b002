"""Bodies of `writeback plan | sync | setup | doctor | log | ramp end` (argument parsing lives in cli.py)."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext, suppress
from typing import Any

from rich.console import Console
from rich.markup import escape

from connectors.errors import ApiLimitExhausted, ConfigError, WritebackError
from connectors.progress import Progress, ProgressEvent
from dagster_pipeline.connect import make_connector, make_warehouse
from dagster_pipeline.output import n, stderr_console, stdout_console
from dagster_pipeline.sync.doctor import DoctorReport, run_doctor
from dagster_pipeline.sync.engine import WorkflowResult, preflight, run_workflow
from dagster_pipeline.sync.report import as_json, exit_code, print_summary
from dagster_pipeline.sync.settings import WORKFLOWS, Settings, load_settings
from dagster_pipeline.sync.setup import run_setup
from dagster_pipeline.sync.state import SyncStore

err = stderr_console()  # one message, one line: a configuration error names its key


def fail_line(label: str, exc: BaseException) -> None:
    """One line on stderr: ``label: message``, never wrapped, never read as markup ("[redacted]")."""
    err.print(f"[bold red]{escape(label)}:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(getattr(args, "settings", None))
    if getattr(args, "crm", None):
        settings = settings.for_crm(args.crm)
    return settings


def _progress(args: argparse.Namespace) -> Any:
    """Bars on stderr, on a terminal only: piped or redirected output (a log, ``--json``) gets none."""
    if args.json or not (sys.stdout.isatty() and sys.stderr.isatty()):
        return nullcontext(None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed:,.0f}/{task.total:,.0f}"), TimeElapsedColumn(),
                    TextColumn("elapsed,"), TimeRemainingColumn(), TextColumn("left"), console=err, transient=True)


_VERBS = {"read": "reading", "write": "writing", "bulk": "Bulk job on"}


class Bars:
    """The connector's progress events (:mod:`connectors.progress`) as one bar per workflow, phase and object.

    A workflow makes several calls per object (Contacts by e-mail, then Leads for the rest; creates,
    then updates); each call starts at 0 with its own total, so a bar adds up its calls: its total
    grows when a call starts, and it advances batch by batch within the call.
    """

    def __init__(self, bar: Any, workflow: str) -> None:
        self.bar = bar
        self.workflow = workflow
        self.tasks: dict[tuple[str, str], Any] = {}
        self.before: dict[tuple[str, str], int] = {}  # done by the bar's earlier calls
        self.done: dict[tuple[str, str], int] = {}

    def __call__(self, event: ProgressEvent) -> None:
        key = (event.phase, event.label)
        if key not in self.tasks:
            self.tasks[key] = self.bar.add_task(f"{self.workflow}: {_VERBS[event.phase]} {event.label}", total=0)
            self.done[key] = 0
        if event.done == 0:  # a call starts: its records join the bar's total
            self.before[key] = self.done[key]
            self.bar.update(self.tasks[key], total=self.before[key] + event.total)
        self.done[key] = self.before[key] + event.done
        self.bar.update(self.tasks[key], completed=self.done[key])


def _bars(bar: Any, workflow: str) -> Progress | None:
    return Bars(bar, workflow) if bar is not None else None


def run_plan_or_sync(args: argparse.Namespace, mode: str) -> int:
    try:
        settings = _settings(args)
        connector = make_connector(settings)
        warehouse = make_warehouse()
    except ConfigError as exc:
        fail_line("configuration error", exc)
        return 2
    except WritebackError as exc:  # the CRM could not be reached to log in
        fail_line(f"{mode} failed", exc)
        return 1
    workflows = [args.workflow] if args.workflow else list(WORKFLOWS)
    results: list[WorkflowResult] = []
    try:
        preflight(workflows, settings, warehouse)  # every workflow's settings, before the first CRM call
        if any(settings.workflow_enabled(wf) for wf in workflows):
            # The first call of the run, and one it needs anyway (state is kept per org): a CRM that
            # cannot be reached, or refuses the session, is one line here, not a failure per record.
            # A day's allocation (or the reserve kept for other integrations) already spent is not:
            # each workflow's run then accounts for its records as stopped, retried next run.
            with suppress(ApiLimitExhausted):
                connector.org_id()
        with _progress(args) as bar:
            for wf in workflows:
                results.append(run_workflow(wf, settings, warehouse, connector, mode=mode,  # type: ignore[arg-type]
                                            full_refresh=args.full_refresh, progress=_bars(bar, wf),
                                            sample_size=10**9 if (args.json and mode == "plan") else 20))
    except ConfigError as exc:
        fail_line("configuration error", exc)
        return 2
    except WritebackError as exc:
        fail_line(f"{mode} failed", exc)
        return 1
    if args.json:
        print(json.dumps(as_json(results, include_samples=mode == "plan"), default=str))
    else:
        print_summary(results, stdout_console())
    return exit_code(results)


def run_setup_command(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
        connector = make_connector(settings)
        report = run_setup(settings, connector, dry_run=args.dry_run, store=SyncStore(make_warehouse()))
    except ConfigError as exc:
        fail_line("configuration error", exc)
        return 2
    except WritebackError as exc:
        fail_line("setup failed", exc)
        return 1
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        out = stdout_console()
        verb, grant_verb = ("would create", "would grant") if args.dry_run else ("created", "granted")
        for obj in report.present:
            created, granted = report.created.get(obj, []), report.granted.get(obj, [])
            line = f"{obj}: {verb} {n(len(created))} field(s)" + (f": {', '.join(created)}" if created else "")
            if granted:
                line += (f"; {grant_verb} read and edit on {n(len(granted))} through permission set "
                         f"{report.permission_set}")
            out.print(line + f"; {n(len(report.present[obj]))} already present")
            if report.not_usable.get(obj):
                out.print(f"  [red]still not visible or not writable on {obj}: {', '.join(report.not_usable[obj])}[/]"
                          " — grant the integration user read and edit on them in Setup")
            if report.missing_mapped.get(obj):
                out.print(f"  [red]mapped field(s) missing on {obj}: {', '.join(report.missing_mapped[obj])}[/] "
                          "— create them in the CRM or fix objects.*.field_mapping")
        for full, why in report.grant_failed.items():
            out.print(f"  [red]could not grant {full}[/]: {why}")
    return 0 if report.ok else 1


def run_doctor_command(args: argparse.Namespace) -> int:
    """Check everything a first run needs, writing nothing: 0 all good, 1 something to fix, 2 configuration."""
    try:
        settings = _settings(args)
        report = run_doctor(settings, lambda: make_connector(settings))
    except ConfigError as exc:
        if args.json:
            print(json.dumps({"ok": False, "exit_code": 2, "error": str(exc)}))
        fail_line("configuration error", exc)
        return 2
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        print_doctor(report, stdout_console())
    return report.exit_code


def print_doctor(report: DoctorReport, out: Console) -> None:
    """The checklist: one line per check, and under a failed one its fix."""
    out.print(f"[bold]writeback doctor[/] — {report.crm}")
    width = max(len(c.name) for c in report.checks)
    for c in report.checks:
        mark = "[green]✓[/]" if c.ok else "[red]✗[/]"
        out.print(f"  {mark} {c.name.ljust(width)}  {c.detail}", highlight=False)
        if not c.ok and c.fix:
            out.print(f"    {' ' * width}  [yellow]fix:[/] {c.fix}", highlight=False)
    failed = [c for c in report.checks if not c.ok]
    if not failed:
        out.print("[green]All good:[/] a first run has everything it needs.")
    else:
        out.print(f"[red]{n(len(failed))} thing(s) to fix[/] before a first run.")


def run_ramp_end_command(args: argparse.Namespace) -> int:
    """End a workflow's ramp in this org now (recorded in ``writeback.ramp``): 0 done, 1 failed, 2 configuration."""
    from dagster_pipeline.sync.passes import org_of
    from dagster_pipeline.sync.ramp import RampStore, end_ramp
    from dagster_pipeline.sync.segments import segment_hash

    try:
        settings = _settings(args)
        segment = segment_hash(args.workflow)
        connector = make_connector(settings)
        warehouse = make_warehouse()
        row = end_ramp(RampStore(warehouse), crm=settings.crm, org=org_of(connector), workflow=args.workflow,
                       segment=segment)
    except ConfigError as exc:
        fail_line("configuration error", exc)
        return 2
    except WritebackError as exc:
        fail_line("ramp end failed", exc)
        return 1
    if args.json:
        print(json.dumps({"workflow": args.workflow, "crm": settings.crm, **row}, default=str))
    else:
        print(f"{args.workflow}: ramp ended ({row['ended_by']}, {row['ended_at']:%Y-%m-%d %H:%M} UTC) after "
              f"{n(row['created'])} create(s) for segment {row['segment_hash']}; its next runs create without a cap, "
              "until its segment changes")
    return 0


def run_log_command(args: argparse.Namespace) -> int:
    """Summarise the sync log: per run, workflow, object, action and reason, newest runs first."""
    import polars as pl

    try:
        log = SyncStore(make_warehouse()).read_log()
    except WritebackError as exc:
        fail_line("cannot read the sync log", exc)
        return 1
    if log.is_empty():
        err.print("The sync log is empty: nothing has been synced into this warehouse yet.")
        return 0
    runs = log.group_by("run_id").agg(pl.col("run_at").max()).sort("run_at", descending=True).head(args.runs)
    recent = log.join(runs.select("run_id"), on="run_id")
    summary = (recent.group_by(["run_at", "workflow", "object", "action", "status", "reason"]).len()
               .sort(["run_at", "workflow", "object", "action"], descending=[True, False, False, False]))
    if args.json:
        print(json.dumps(summary.with_columns(pl.col("run_at").cast(pl.Utf8)).to_dicts()))
        return 0
    from rich.table import Table

    table = Table(title=f"Sync log — last {n(runs.height)} run(s)")
    for col in ("run at", "workflow", "object", "action", "status", "reason", "records"):
        table.add_column(col, justify="right" if col == "records" else "left")
    for row in summary.iter_rows(named=True):
        table.add_row(row["run_at"].strftime("%Y-%m-%d %H:%M:%S"), row["workflow"], row["object"], row["action"],
                      row["status"], row["reason"] or "", n(row["len"]))
    console = stdout_console(min_width=120)
    console.print(table)
    failed = recent.filter(pl.col("status") == "failed").head(args.failures)
    for row in failed.iter_rows(named=True):
        console.print(f"  [red]failed[/] {row['workflow']} {row['object']} {row['key']}: {row['reason']}"
                        + (f" — {row['message']}" if row["message"] else ""))
    return 0
