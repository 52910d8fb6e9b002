"""Builds of the dbt project on throwaway DuckDB files, shared by the whole test session.

The default build (seed, run, test) happens once. Variants (another segment, a date window)
re-run only the models they affect on a copy of that build, concurrently, and builds that must
fail stop at ``dbt parse``, which is where segment rules are checked.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors.errors import DbtError
from connectors.warehouse import Warehouse
from dagster_pipeline.dbt_runner import run_dbt
from tests.dbt.oracle import Seeds

WORKFLOWS = ("website_visitor", "inbound_agent", "outbound_agent")
ENTITIES = ("persons", "companies")
KEYS = {"persons": "email", "companies": "domain"}

# What a segment can change: the sync models and the outbound picks they read.
SEGMENT_DEPENDENT = ["path:models/syncs", "int_outbound_agent__picks"]

WEBSITE_OVERRIDE = {
    "website_visitor": {
        "company": [{"column": "industry", "op": "=", "value": "software"}],
        "person": [{"column": "seniority", "op": "in", "value": ["Director", "Manager"]}],
    }
}
WINDOW = {"min_date": "2026-11-01", "max_date": "2026-11-10"}

FAILING_SEGMENTS: dict[str, dict[str, Any]] = {
    "unknown_column": {
        "segment_website_visitor": {"company": [{"column": "employe_count", "op": ">=", "value": 50}]},
    },
    "unknown_op": {
        "segment_inbound_agent": {"person": [{"column": "seniority", "op": "like", "value": "VP%"}]},
    },
    "unknown_outbound_column": {
        "segment_outbound_agent": {
            "orchestrations": {"orc_job_changes": {"people": [{"column": "headcount", "op": ">", "value": 5}]}}
        },
    },
}


@dataclass
class Build:
    """One built warehouse."""

    path: Path
    target: Path

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse.duckdb(self.path)

    def model(self, workflow: str, entity: str) -> pl.DataFrame:
        """A sync model sorted by its key, so two builds compare row by row."""
        return self.warehouse.read_model(f"sync_{workflow}__{entity}").sort(KEYS[entity])

    def models(self) -> dict[tuple[str, str], pl.DataFrame]:
        return {(w, e): self.model(w, e) for w in WORKFLOWS for e in ENTITIES}


def rebuild(base: Build, directory: Path, vars: Mapping[str, Any]) -> Build:
    """A copy of ``base`` whose segment-dependent models were re-run with ``vars``."""
    directory.mkdir(parents=True, exist_ok=True)
    # Same file name: DuckDB names the catalog after the file, and the views refer to it.
    path = directory / base.path.name
    shutil.copy(base.path, path)
    build = Build(path, directory / "target")
    run_dbt(["run", "--select", *SEGMENT_DEPENDENT], duckdb_path=path, vars=vars, target_path=build.target)
    return build


def failing_parse(directory: Path, vars: Mapping[str, Any]) -> DbtError | None:
    try:
        run_dbt(["parse"], duckdb_path=directory / "warehouse.duckdb", vars=vars, target_path=directory / "target")
    except DbtError as exc:
        return exc
    return None


@pytest.fixture(scope="session")
def seeds() -> Seeds:
    return Seeds()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """`dbt build` (seeds, models, data tests, unit tests) of the project with its default vars."""
    directory = tmp_path_factory.mktemp("default_build")
    build = Build(directory / "warehouse.duckdb", directory / "target")
    run_dbt(["build"], duckdb_path=build.path, target_path=build.target)
    return build


@pytest.fixture(scope="session")
def variants(built: Build, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Build]:
    """The default build re-run with another website_visitor segment, and with a date window."""
    root = tmp_path_factory.mktemp("variants")
    with ThreadPoolExecutor(max_workers=2) as pool:
        website = pool.submit(rebuild, built, root / "website", {"segments": WEBSITE_OVERRIDE})
        window = pool.submit(rebuild, built, root / "window", WINDOW)
        return {"website_override": website.result(), "window": window.result()}


@pytest.fixture(scope="session")
def segment_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DbtError | None]:
    """What `dbt parse` says for each invalid segment (None if it wrongly succeeded)."""
    root = tmp_path_factory.mktemp("failing")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(failing_parse, root / name, vars) for name, vars in FAILING_SEGMENTS.items()}
        return {name: future.result() for name, future in futures.items()}
