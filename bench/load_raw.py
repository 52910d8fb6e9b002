"""Load raw tables of any size (``bench/generate.py`` output, or your own CSVs) into the DuckDB warehouse.

    python bench/generate.py --persons 100000 --out bench/out/raw
    python bench/load_raw.py bench/out/raw                        # -> schema `landing` of .data/warehouse.duckdb
    WRITEBACK_RAW_SCHEMA=landing writeback demo                   # dbt reads them instead of the seeds

One table per ``<table>.csv`` found (companies, persons, sessions, page_views, chats, chat_inputs,
orchestrations, orchestration_outputs), each replaced whole, read by DuckDB's own CSV reader with
the column types the dbt seeds declare in ``dbt_project.yml``: the staging models then meet the same
types as with the sample. The schema is not ``raw`` on purpose: that is where the seeds land, and a
build without ``WRITEBACK_RAW_SCHEMA`` (or the ``raw_schema`` var) would load them over these tables.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = ROOT / "dbt_project" / "dbt_project.yml"
TABLES = ("companies", "persons", "sessions", "page_views", "chats", "chat_inputs", "orchestrations",
          "orchestration_outputs")
DEFAULT_SCHEMA = "landing"


def seed_column_types() -> dict[str, dict[str, str]]:
    """Per raw table, its columns and their types, as the dbt seeds declare them."""
    config = yaml.safe_load(DBT_PROJECT.read_text(encoding="utf-8"))
    seeds = config["seeds"]["writeback"]
    return {table: dict(seeds[table]["+column_types"]) for table in TABLES}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load(source: Path, duckdb_path: Path, schema: str = DEFAULT_SCHEMA) -> dict[str, int]:
    """Create or replace ``schema.<table>`` from ``source/<table>.csv``; returns the rows per table."""
    found = [table for table in TABLES if (source / f"{table}.csv").exists()]
    if not found:
        raise SystemExit(f"no raw table CSVs in {source} (expected {', '.join(t + '.csv' for t in TABLES)})")
    types = seed_column_types()
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with duckdb.connect(str(duckdb_path)) as con:
        con.execute(f"create schema if not exists {_identifier(schema)}")
        for table in found:
            columns = "{" + ", ".join(f"{_literal(c)}: {_literal(t)}" for c, t in types[table].items()) + "}"
            target = f"{_identifier(schema)}.{_identifier(table)}"
            path = _literal(str((source / f"{table}.csv").resolve()))
            con.execute(f"create or replace table {target} as select * from read_csv({path}, header = true, "
                        f"columns = {columns})")
            row = con.execute(f"select count(*) from {target}").fetchone()
            counts[table] = int(row[0]) if row else 0
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="directory holding <table>.csv files (bench/generate.py --out)")
    parser.add_argument("--schema", default=DEFAULT_SCHEMA, help=f"schema to load into (default {DEFAULT_SCHEMA})")
    parser.add_argument("--duckdb", type=Path, default=None,
                        help="warehouse file (default WRITEBACK_DUCKDB_PATH, else .data/warehouse.duckdb)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from dagster_pipeline.dbt_runner import resolve_duckdb_path

    path = resolve_duckdb_path(args.duckdb)
    started = time.perf_counter()
    counts = load(args.source, path, args.schema)
    rows = ", ".join(f"{table} {n:,}" for table, n in counts.items())
    print(f"loaded {path} schema {args.schema}: {rows} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    print(f"now build on them: WRITEBACK_RAW_SCHEMA={args.schema} writeback demo (or dbt build)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
