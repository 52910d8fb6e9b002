"""Bodies of `writeback segments` and `writeback report` (argument parsing lives in cli.py).

Both only read: the dbt project file (segments) and the sync log in the warehouse (report).
"""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from connectors.errors import ConfigError

err = Console(stderr=True, soft_wrap=True)

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
    out = Console(width=max(Console().width, 160))
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
