"""Engine fixtures: a temporary DuckDB warehouse for state and the sync log, and runners
that drive the engine against the sandbox CRMs through the real SDKs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors.hubspot.api import HubSpotConnector
from connectors.salesforce.api import SalesforceConnector
from connectors.warehouse import Warehouse
from dagster_pipeline.sync.catalog import sync_model
from dagster_pipeline.sync.engine import WorkflowResult, run_workflow
from dagster_pipeline.sync.settings import Settings, parse_settings
from dagster_pipeline.sync.setup import SetupReport, run_setup
from dagster_pipeline.sync.state import SyncStore
from tests.sync.frames import companies, company, person, persons

#: The settings file the product ships, as a user runs it.
SHIPPED_SETTINGS = Path(__file__).resolve().parents[2] / "writeback.yml"


def _no_sleep(_: float) -> None:
    """Backoff waits are skipped in tests; the retry decisions are still real."""


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")


class Runner:
    def __init__(self, crm: str, client: Any, warehouse: Warehouse) -> None:
        self.crm = crm
        self.client = client
        self.warehouse = warehouse
        self.settings_data: dict[str, Any] = {}

    def connector(self) -> Any:
        if self.crm == "salesforce":
            return SalesforceConnector(self.client, sleep=_no_sleep)
        return HubSpotConnector(self.client, sleep=_no_sleep)

    def settings(self, data: dict[str, Any] | Settings | None = None) -> Settings:
        """Settings for this runner's CRM: a dict as a settings file would hold it, or loaded settings."""
        if isinstance(data, Settings):
            return data.for_crm(self.crm)
        return parse_settings({"crm": self.crm, **(self.settings_data if data is None else data)})

    def setup(self, data: dict[str, Any] | Settings | None = None) -> SetupReport:
        return run_setup(self.settings(data), self.connector(), store=SyncStore(self.warehouse))

    def sync(self, persons: pl.DataFrame, companies: pl.DataFrame, *, workflow: str = "website_visitor",
             mode: str = "sync", settings: dict[str, Any] | Settings | None = None, **kw: Any) -> WorkflowResult:
        return run_workflow(workflow, self.settings(settings), self.warehouse, self.connector(), mode=mode,  # type: ignore[arg-type]
                            persons=persons, companies=companies, **kw)


@pytest.fixture
def sf_runner(sf: Any, warehouse: Warehouse) -> Runner:
    return Runner("salesforce", sf, warehouse)


@pytest.fixture
def hs_runner(hs: Any, warehouse: Warehouse) -> Runner:
    return Runner("hubspot", hs, warehouse)


def outcome(result: WorkflowResult, key: str, obj: str | None = None) -> dict[str, Any]:
    rows = result.log.filter(pl.col("key") == key)
    if obj:
        rows = rows.filter(pl.col("object") == obj)
    assert rows.height == 1, f"expected one outcome for {key}, got {rows.to_dicts()}"
    return rows.row(0, named=True)


Outcome = Callable[[WorkflowResult, str], dict[str, Any]]


@pytest.fixture
def project(tmp_path: Path, sandbox_clean: Any) -> dict[str, Any]:
    """A warehouse file holding the six sync models, a settings file, and the sandbox's credentials."""
    db = tmp_path / "warehouse.duckdb"
    wh = Warehouse(f"duckdb:///{db}")
    p = persons(person("ann@acme.io"), person("o'hara@acme.io"), person("bob@globex.com", "globex.com"))
    c = companies(company("acme.io"), company("globex.com"))
    for wf in ("website_visitor", "inbound_agent", "outbound_agent"):
        wh.append(sync_model(wf, "person"), p, schema="syncs")
        wh.append(sync_model(wf, "company"), c, schema="syncs")
    wh.close()
    settings = tmp_path / "writeback.yml"
    settings.write_text("crm: salesforce\nobjects:\n  lead:\n    field_mapping:\n      LeadSource: {value: Web}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_"))}
    env.update(sandbox_clean.salesforce_env())
    env.update({"WRITEBACK_DUCKDB_PATH": str(db), "WRITEBACK_SETTINGS": str(settings)})
    return {"env": env, "db": db, "settings": settings, "token": sandbox_clean.token, "sandbox": sandbox_clean}
