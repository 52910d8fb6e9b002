"""Where the dbt project writes and what it reads, per target and per raw schema.

- The DuckDB target (a production target: var production_targets) writes the schemas verbatim,
  where the sync engine reads them, and its raw source is where the seeds land.
- A development target prefixes every schema with its own (`dbt_alice_syncs`), so it never writes
  into production's schemas; the Snowflake target is compiled against fakesnow (dbt-snowflake
  opens a connection even to compile, and the monitoring model looks its source up), which also
  renders every Snowflake-dispatched macro.
- Generated raw data of any size (bench/generate.py, loaded by bench/load_raw.py) builds without
  the seeds once WRITEBACK_RAW_SCHEMA / the raw_schema var names its schema.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from connectors.warehouse import Warehouse
from dagster_pipeline.dbt_runner import DBT_PROJECT_DIR, run_dbt
from tests.dbt.conftest import ENTITIES, WORKFLOWS, Build
from tests.dbt.oracle import ROOT

DEV_SCHEMA = "dbt_alice"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _manifest(target: Path) -> dict:
    return json.loads((target / "manifest.json").read_text(encoding="utf-8"))


def test_the_duckdb_target_writes_schemas_verbatim_and_reads_the_seeds_schema(built: Build) -> None:
    manifest = _manifest(built.target)
    nodes = manifest["nodes"]
    assert {nodes[f"model.writeback.sync_{w}__{e}"]["schema"] for w in WORKFLOWS for e in ENTITIES} == {"syncs"}
    assert nodes["model.writeback.stg_raw__companies"]["schema"] == "staging"
    assert nodes["seed.writeback.companies"]["schema"] == "raw"
    assert manifest["sources"]["source.writeback.raw.companies"]["schema"] == "raw"
    # The seed is a parent of the staging model, so a first build loads it before the view reads it.
    assert "seed.writeback.companies" in nodes["model.writeback.stg_raw__companies"]["depends_on"]["nodes"]
    assert built.warehouse.row_count("sync_website_visitor__persons") > 0  # where Warehouse reads by default


_COMPILE = textwrap.dedent("""
    import sys
    import fakesnow
    from dbt.cli.main import dbtRunner
    with fakesnow.patch():
        result = dbtRunner().invoke(sys.argv[1:])
    sys.exit(0 if result.success else 1)
""")


@pytest.fixture(scope="module")
def snowflake_dev_compile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dbt compile --target snowflake` with a development schema, against fakesnow."""
    target = tmp_path_factory.mktemp("snowflake_compile") / "target"
    env = {**os.environ, "SNOWFLAKE_ACCOUNT": "acme-xy12345", "SNOWFLAKE_USER": "dbt", "SNOWFLAKE_PASSWORD": "unused",
           "SNOWFLAKE_DATABASE": "analytics", "SNOWFLAKE_WAREHOUSE": "transforming", "SNOWFLAKE_SCHEMA": DEV_SCHEMA,
           # One thread: fakesnow's single in-memory database refuses two threads creating a schema at once.
           "SNOWFLAKE_THREADS": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("WRITEBACK_RAW_SCHEMA", None)
    done = subprocess.run(
        [sys.executable, "-c", _COMPILE, "compile", "--target", "snowflake", "--quiet",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(target / "logs")],
        env=env, capture_output=True, text=True, timeout=600, cwd=DBT_PROJECT_DIR,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return target


def test_the_project_compiles_for_snowflake_and_a_dev_target_prefixes_every_schema(
        snowflake_dev_compile: Path) -> None:
    manifest = _manifest(snowflake_dev_compile)
    nodes = manifest["nodes"]
    assert nodes["model.writeback.sync_website_visitor__persons"]["schema"] == f"{DEV_SCHEMA}_syncs"
    assert nodes["seed.writeback.companies"]["schema"] == f"{DEV_SCHEMA}_raw"
    assert manifest["sources"]["source.writeback.raw.companies"]["schema"] == f"{DEV_SCHEMA}_raw"
    compiled = snowflake_dev_compile / "compiled" / "writeback" / "models"
    staging = (compiled / "staging" / "stg_raw__companies.sql").read_text(encoding="utf-8").lower()
    assert f"analytics.{DEV_SCHEMA}_raw.companies" in staging
    sync = (compiled / "syncs" / "sync_website_visitor__persons.sql").read_text(encoding="utf-8").lower()
    assert f"{DEV_SCHEMA}_intermediate." in sync and " syncs." not in sync and " intermediate." not in sync


@pytest.fixture(scope="module")
def generated_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """1,000 generated persons loaded into schema `landing`, then `dbt build` with raw_schema=landing."""
    root = tmp_path_factory.mktemp("generated")
    assert _script("generate").main(["--persons", "1000", "--out", str(root / "csv"), "--seed", "3"]) == 0
    path = root / "warehouse.duckdb"
    counts = _script("load_raw").load(root / "csv", path, "landing")
    run_dbt(["build"], duckdb_path=path, vars={"raw_schema": "landing"}, target_path=root / "target")
    return path, counts


def test_generated_data_of_any_size_builds_the_sync_models_without_the_seeds(
        generated_build: tuple[Path, dict[str, int]]) -> None:
    path, counts = generated_build
    with (ROOT / "seeds" / "persons.csv").open() as f:
        sample_persons = sum(1 for _ in csv.DictReader(f))
    assert counts["persons"] == 1000 != sample_persons
    warehouse = Warehouse.duckdb(path)
    for table, rows in counts.items():  # staging reads every loaded row, and nothing else
        assert warehouse.row_count(f"stg_raw__{table}", schema="staging") == rows, table
    assert not warehouse.table_exists("companies", schema="raw")  # the seeds stayed out
    synced = {(w, e): warehouse.row_count(f"sync_{w}__{e}") for w in WORKFLOWS for e in ENTITIES}
    assert all(n > 0 for n in synced.values()), synced
    assert synced[("website_visitor", "persons")] < 1000  # the segment keeps a part of them
