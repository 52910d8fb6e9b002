"""A workflow's job on a warehouse where the other workflows' models were never built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dagster.conftest import LAST_DAY


@pytest.mark.slow
def test_a_workflows_job_builds_its_models_on_a_fresh_warehouse(sandbox_clean: Any, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``website_visitor_job`` builds the models upstream of its sync, and only their tests run.

    dbt's default (eager) test selection also ran the ``relationships`` test from
    ``int_outbound_agent__picks`` (outside this job) to ``int_persons`` (inside it), and on a fresh
    warehouse that test failed the run: the picks table did not exist yet.
    """
    from dagster import AssetKey, AssetSelection

    from dagster_pipeline.definitions import build_definitions
    from dagster_pipeline.defs.resources import resources_from_env
    from dagster_pipeline.local_run import run_job

    monkeypatch.setenv("WRITEBACK_DUCKDB_PATH", str(tmp_path / "fresh.duckdb"))
    for key, value in sandbox_clean.salesforce_env().items():
        monkeypatch.setenv(key, value)
    graph = build_definitions(resources_from_env()).resolve_asset_graph()
    sync = AssetKey("website_visitor_crm_sync")
    upstream = AssetSelection.assets(sync).upstream().resolve(graph) - {sync, AssetKey("crm_fields")}
    assert AssetKey("sync_website_visitor__persons") in upstream
    assert AssetKey("int_outbound_agent__picks") not in upstream

    result = run_job("website_visitor_job", LAST_DAY, LAST_DAY, selection=sorted(upstream), quiet=True,
                     raise_on_error=False)

    assert result.success, [e.message for e in result.all_events if e.is_failure]
    built = {e.materialization.asset_key for e in result.get_asset_materialization_events()}
    assert AssetKey("sync_website_visitor__persons") in built
