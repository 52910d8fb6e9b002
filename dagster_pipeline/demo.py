"""`writeback demo`: the whole product on the embedded default, with nothing to configure.

For now it builds the dbt project (seeds, models, tests) into ``.data/warehouse.duckdb`` and
prints how many records each workflow's sync models would write; the sync to the sandbox CRMs
joins here once the sync engine lands.
"""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console
from rich.table import Table

from connectors.errors import WarehouseError
from connectors.warehouse import Warehouse
from dagster_pipeline.dbt_runner import resolve_duckdb_path, run_dbt

WORKFLOWS = ("website_visitor", "inbound_agent", "outbound_agent")
ENTITIES = ("persons", "companies")


def sync_model_counts(warehouse: Warehouse) -> dict[tuple[str, str], int]:
    """Row count of every sync model, keyed by (workflow, entity)."""
    return {
        (workflow, entity): warehouse.row_count(f"sync_{workflow}__{entity}")
        for workflow in WORKFLOWS
        for entity in ENTITIES
    }


def main(args: argparse.Namespace | None = None) -> int:
    console = Console()
    path = resolve_duckdb_path()
    console.print(f"Building the warehouse with dbt (seed, run, test) into [bold]{path}[/bold] ...")
    started = time.monotonic()
    try:
        run_dbt(["build"], duckdb_path=path)
        counts = sync_model_counts(Warehouse.duckdb(path))
    except WarehouseError as exc:
        print(exc, file=sys.stderr)
        return 1
    console.print(f"dbt build passed in {time.monotonic() - started:.0f}s.")

    table = Table(title="Records per sync model")
    table.add_column("workflow")
    table.add_column("persons", justify="right")
    table.add_column("companies", justify="right")
    for workflow in WORKFLOWS:
        table.add_row(workflow, *(f"{counts[(workflow, entity)]:,}" for entity in ENTITIES))
    console.print(table)
    empty = [f"sync_{w}__{e}" for (w, e), n in counts.items() if n == 0]
    if empty:
        console.print(f"[yellow]Empty sync models: {', '.join(empty)} (check the segments in dbt_project.yml)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
