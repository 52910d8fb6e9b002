"""What a sync asset publishes as Dagster metadata: outcomes and reasons, never a credential."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connectors.salesforce.api import SalesforceConnector
from connectors.warehouse import Warehouse
from dagster_pipeline.sync.engine import run_workflow
from dagster_pipeline.sync.settings import parse_settings
from dagster_pipeline.sync.setup import run_setup
from dagster_pipeline.sync.state import SyncStore
from tests.sync.frames import companies, company, person, persons


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
    text = json.dumps({k: getattr(v, "value", v) for k, v in result_metadata(result).items()}, default=str)
    assert "Authorization: Bearer [redacted]" in text
    assert sf.session_id not in text and sandbox_clean.token not in text
