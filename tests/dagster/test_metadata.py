"""What a sync asset publishes as Dagster metadata: outcomes and reasons, never a credential."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

from connectors.salesforce.api import SalesforceConnector
from connectors.warehouse import Warehouse
from dagster_pipeline.sync.engine import run_workflow
from dagster_pipeline.sync.settings import parse_settings
from dagster_pipeline.sync.setup import run_setup
from dagster_pipeline.sync.state import SyncStore
from tests.sync.frames import companies, company, person, persons
from tests.sync.log_frames import log_rows


def test_no_credential_reaches_dagster_metadata_when_the_crm_echoes_it(sf: Any, sandbox_clean: Any,
                                                                       tmp_path: Path) -> None:
    from dagster_pipeline.defs.crm import result_metadata

    warehouse = Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    settings = parse_settings({"crm": "salesforce"})
    run_setup(settings, SalesforceConnector(sf), store=SyncStore(warehouse))
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "status", "status": 400, "method": "PATCH", "path": "composite/sobjects", "count": None,
        "echo_authorization": True, "body": [{"errorCode": "JSON_PARSER_ERROR", "message": "cannot parse"}]})
    result = run_workflow("website_visitor", settings, warehouse, SalesforceConnector(sf), mode="sync",
                          persons=persons(person("ann@acme.io")), companies=companies(company("acme.io")))
    assert result.failed == 2
    from dagster import TableMetadataValue

    text = json.dumps({k: [r.data for r in v.records] if isinstance(v, TableMetadataValue) else getattr(v, "value", v)
                       for k, v in result_metadata(result).items()}, default=str)
    assert "Authorization: Bearer [redacted]" in text
    assert sf.session_id not in text and sandbox_clean.token not in text


def test_counts_are_integers_per_object_and_failed_records_a_typed_table() -> None:
    from dagster import IntMetadataValue, TableMetadataValue

    from dagster_pipeline.defs.crm import FAILED_SCHEMA, outcome_metadata

    at = dt.datetime(2026, 11, 20, 6, tzinfo=dt.timezone.utc)
    log = pl.concat([
        log_rows("r1", at, "website_visitor", "Lead", {("create", "succeeded", None): 3,
                                                       ("skipped", "skipped", "create_disabled"): 1,
                                                       ("update", "failed", "UNABLE_TO_LOCK_ROW"): 2}),
        log_rows("r1", at, "website_visitor", "Account", {("unchanged", "succeeded", None): 4}),
    ])
    meta = outcome_metadata(log)
    ints = {k: v.value for k, v in meta.items() if isinstance(v, IntMetadataValue)}
    assert ints == {
        "created": 3, "updated": 0, "unchanged": 4, "skipped": 1, "failed": 2,
        "Account created": 0, "Account updated": 0, "Account unchanged": 4, "Account skipped": 0, "Account failed": 0,
        "Lead created": 3, "Lead updated": 0, "Lead unchanged": 0, "Lead skipped": 1, "Lead failed": 2,
        "Lead skipped: create_disabled": 1, "Lead failed: UNABLE_TO_LOCK_ROW": 2,
    }
    table = meta["failed_records"]
    assert isinstance(table, TableMetadataValue) and table.schema == FAILED_SCHEMA
    assert [(r.data["object"], r.data["reason"]) for r in table.records] == [("Lead", "UNABLE_TO_LOCK_ROW")] * 2
    assert not any("run_id" in k or k in ("by_object", "api_calls") for k in meta)


def test_ramp_numbers_are_integers_in_the_run_metadata(sf: Any, sandbox_clean: Any, tmp_path: Path) -> None:
    """Held-back creates per run are what a rollout is watched by: ``ramp_held`` must plot."""
    from dagster import IntMetadataValue

    from dagster_pipeline.defs.crm import result_metadata, run_metadata

    warehouse = Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    settings = parse_settings({"crm": "salesforce",
                               "workflows": {"website_visitor": {"ramp": {"max_creates_per_run": 1}}}})
    run_setup(settings, SalesforceConnector(sf), store=SyncStore(warehouse))
    result = run_workflow("website_visitor", settings, warehouse, SalesforceConnector(sf), mode="sync",
                          segment="ramp-test",
                          persons=persons(*(person(f"p{i}@acme.io") for i in range(3))),
                          companies=companies(company("acme.io")))
    held = result.log.filter(pl.col("reason") == "ramp_limit").height
    assert held == 2  # one Lead let through, two held for the next runs
    meta = run_metadata(result, None)
    assert all(isinstance(meta[k], IntMetadataValue) for k in ("ramp_held", "ramp_created", "ramp_active"))
    assert (meta["ramp_held"].value, meta["ramp_created"].value, meta["ramp_active"].value) == (held, 2, 1)
    assert result_metadata(result)["ramp_held"].value == held
    # A workflow without a ramp publishes none of it.
    plain = run_workflow("inbound_agent", parse_settings({"crm": "salesforce"}), warehouse, SalesforceConnector(sf),
                         mode="plan", persons=persons(person("q@acme.io")), companies=companies(company("acme.io")))
    assert not any(k.startswith("ramp_") for k in run_metadata(plain, None))
