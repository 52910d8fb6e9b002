"""Bodies of `writeback segments` and `writeback report` (argument parsing lives in cli.py).

Both only read: the dbt project file (segments) and the sync log in the warehouse (report).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

from rich.markup import escape
from rich.table import Table

from connectors.errors import ConfigError, WritebackError
from dagster_pipeline.output import n, stderr_console, stdout_console

err = stderr_console()

_STATUS_STYLE = {"agree": "green", "declared": "yellow", "disagree": "bold red"}


def run_segments_command(args: argparse.Namespace) -> int:
    """Side by side, rule by rule: exit 0 when the segments agree (or differ only as declared), 1 if not."""
    from dagster_pipeline.sync.segments import PROJECT_FILE, compare_project

    try:
        report = compare_project(args.project_file or PROJECT_FILE)
    except ConfigError as exc:
        err.print(f"[bold red]configuration error:[/] {escape(str(exc))}", soft_wrap=True)
        return 2
    if args.json:
        print(json.dumps(report.as_dict()))
        return 0 if report.ok else 1
    table = Table(title=f"Segments, rule by rule ({report.source}; --vars overrides are not seen)")
    table.add_column("rule")
    for scope in report.scopes:
        table.add_column(scope.replace("outbound_agent.", "outbound: "))
    table.add_column("status")
    for c in report.comparisons:
        style = _STATUS_STYLE[c.status]
        table.add_row(f"{c.entity}.{c.column}", *(escape(c.constraints[s].render()) for s in report.scopes),
                      f"[{style}]{c.status}[/]")
    out = stdout_console(min_width=160)
    out.print(table)
    for c in report.comparisons:
        for e in c.declared:
            out.print(f"  [yellow]declared[/] {c.entity}.{c.column} in {e.segment}: {escape(e.reason)}")
    if report.ok:
        out.print("The segments agree, or differ only where segment_exceptions says so.")
        return 0
    names = ", ".join(f"{c.entity}.{c.column}" for c in report.disagreements)
    out.print(f"[bold red]The segments disagree on {names}.[/] Align the rules, or declare the difference "
              "with a reason in the segment_exceptions var.")
    return 1


def run_report_command(args: argparse.Namespace) -> int:
    """Records per day × workflow × object × action over the last ``--days`` days (UTC), from the sync log."""
    from dagster_pipeline.connect import make_warehouse
    from dagster_pipeline.sync.monitoring import daily_activity, wide_runs
    from dagster_pipeline.sync.state import SyncStore

    if args.days < 1:
        err.print("[bold red]configuration error:[/] --days must be at least 1")
        return 2
    try:
        log = SyncStore(make_warehouse()).read_log()
    except WritebackError as exc:
        err.print(f"[bold red]cannot read the sync log:[/] {escape(str(exc))}")
        return 1
    report = daily_activity(log, days=args.days)
    first_day = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=args.days - 1)
    wide = wide_runs(log, since=dt.datetime.combine(first_day, dt.time(), dt.timezone.utc))
    if args.json:
        rows = [{**row, "day": row["day"].isoformat()} for row in report.iter_rows(named=True)]
        print(json.dumps({"days": args.days, "rows": rows, "wide_runs": [w.as_dict() for w in wide]}))
        return 0
    if report.is_empty():
        err.print(f"Nothing was synced in the last {n(args.days)} day(s) (the sync log is empty or older).")
        return 0
    table = Table(title=f"Records synced — last {args.days} day(s), UTC")
    for col in ("day", "workflow", "crm", "object", "action", "records", "runs", "top failure reasons"):
        table.add_column(col, justify="right" if col in ("records", "runs") else "left")
    for row in report.iter_rows(named=True):
        style = "red" if row["action"] == "failed" else None
        table.add_row(row["day"].isoformat(), row["workflow"], row["crm"], row["object"], row["action"],
                      n(row["records"]), n(row["runs"]), escape(row["top_failure_reasons"] or ""), style=style)
    out = stdout_console(min_width=140)
    out.print(table)
    for w in wide:
        out.print(f"[bold yellow]run {w.run_id} of {w.workflow}[/] created {n(w.creates)} records, more than 3× "
                  f"the median ({w.median_before:,g}) of its {n(w.previous_runs)} previous run(s): "
                  "has its segment gone wide?")
    return 0
