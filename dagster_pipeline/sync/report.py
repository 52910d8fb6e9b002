"""How a run is shown: a readable summary table, or one JSON object (``--json``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from dagster_pipeline.sync.engine import WorkflowResult


def exit_code(results: list[WorkflowResult]) -> int:
    """0 when every record is accounted for without failure, 1 when some failed or the run stopped."""
    return 1 if any(r.failed or r.stopped for r in results) else 0


def as_json(results: list[WorkflowResult], *, include_samples: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mode": results[0].mode if results else None,
        "crm": results[0].crm if results else None,
        "workflows": {},
        "api_calls": {"reads": 0, "writes": 0},
    }
    for r in results:
        d = r.as_dict()
        if include_samples:
            d["changes"] = r.samples
        out["workflows"][r.workflow] = d
        for k in ("reads", "writes"):
            out["api_calls"][k] += r.api_calls.get(k, 0)
    out["exit_code"] = exit_code(results)
    return out


def _reasons(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(d.items())) or "-"


def print_summary(results: list[WorkflowResult], console: Console | None = None, *, samples: int = 10) -> None:
    console = console or Console()
    planning = bool(results) and results[0].mode == "plan"
    title = "Plan (nothing written)" if planning else "Sync"
    table = Table(title=f"{title} — {results[0].crm if results else ''}", show_lines=False)
    for col in ("workflow", "object", "create" if planning else "created", "update" if planning else "updated",
                "unchanged", "skipped", "failed"):
        table.add_column(col, justify="left" if col in ("workflow", "object", "skipped", "failed") else "right")
    for r in results:
        for obj, s in r.summary.items():
            table.add_row(
                r.workflow, obj,
                f"{s.planned_create if planning else s.created:,}",
                f"{s.planned_update if planning else s.updated:,}",
                f"{s.unchanged:,}", _reasons(s.skipped), _reasons(s.failed),
            )
    console.print(table)
    reads = sum(r.api_calls.get("reads", 0) for r in results)
    writes = sum(r.api_calls.get("writes", 0) for r in results)
    console.print(f"API calls: {reads:,} reads, {writes:,} writes")
    for r in results:
        for obj, s in r.summary.items():
            if s.drift or s.deleted_in_crm:
                what = ", ".join(f"{f} {n:,}" for f, n in sorted(s.drift.items()))
                verb = "would restore" if planning else "restored"
                console.print(f"Drift in {r.workflow} {obj}: {verb} " + (what or "no field")
                              + (f"; {s.deleted_in_crm:,} deleted in the CRM, "
                                 + ("would be created again" if planning else "created again")
                                 if s.deleted_in_crm else ""))
    for r in results:
        if r.ramp and (r.ramp["active"] or r.ramp["held"]):
            ramp = r.ramp
            ends = f", ends {ramp['ends_at'][:10]}" if ramp["ends_at"] else ""
            cap = f" or at {ramp['max_creates']:,} created" if ramp["max_creates"] else ""
            console.print(f"Ramp of {r.workflow}: {ramp['max_creates_per_run']:,} creates per object per run, "
                          f"{ramp['created']:,} created since {ramp['started_at'][:10]}{ends}{cap}; "
                          f"{ramp['held']:,} {'would be ' if planning else ''}held for the next runs "
                          "(`writeback ramp end` lifts it)")
    for r in results:
        if r.stopped:
            console.print(f"[bold red]{r.workflow} stopped early:[/] {r.stopped}")
    shown = 0
    for r in results:
        for sample in r.samples:
            if shown >= samples:
                break
            if shown == 0:
                console.print("\nField-level changes (sample):")
            changes = "; ".join(f"{f}: {c['old']!r} → {c['new']!r}" for f, c in sample["changes"].items())
            console.print(f"  {r.workflow} {sample['object']} {sample['key']} [{sample['action']}] {changes}")
            shown += 1
    failed = [r for r in results if r.failed]
    for r in failed:
        rows = r.log.filter(r.log["status"] == "failed").head(5)
        for row in rows.iter_rows(named=True):
            console.print(f"  [red]failed[/] {r.workflow} {row['object']} {row['key']}: {row['reason']}"
                          + (f" — {row['message']}" if row["message"] else ""))
