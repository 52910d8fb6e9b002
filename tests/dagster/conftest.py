"""Dagster fixtures: the dbt project built once into a DuckDB file, copied per test."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIRST_DAY = dt.date(2026, 9, 1)  # the partitions' first day
LAST_DAY = dt.date(2026, 11, 20)  # the sample data's last activity day


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample seeds built by dbt through the Dagster dbt assets, over every partition."""
    from dagster_pipeline.dbt_runner import run_dbt

    base = tmp_path_factory.mktemp("dagster-warehouse")
    path = base / "warehouse.duckdb"
    run_dbt(["build"], duckdb_path=path, target_path=base / "target")  # own target dir: builds may overlap
    return path


@pytest.fixture
def dagster_env(sandbox_clean: Any, built_warehouse: Path, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Credentials and a private copy of the built warehouse in the environment, as a deployment would have."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, db)
    from dagster_pipeline.demo import settings_without_ramp

    env = {**sandbox_clean.salesforce_env(), "WRITEBACK_DUCKDB_PATH": str(db),
           # the shipped settings as the demo runs them: every record in one run, no ramp guard
           "WRITEBACK_SETTINGS": str(settings_without_ramp(tmp_path / "writeback.yml"))}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    yield {"db": db, "sandbox": sandbox_clean}
