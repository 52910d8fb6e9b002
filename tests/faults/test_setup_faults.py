"""The connector's only single-record REST writes (``POST sobjects/{type}/``) are setup's: the permission
set that grants our fields and its assignment to the running user. A lost response fails that setup;
running setup again finds what the lost call created instead of creating a second one, and the sync
that follows heals as in every other fault case. Each case needs a sandbox never set up, so this
module resets the sandboxes per case (the other fault modules set them up once).
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import format_soql

from connectors.errors import CrmError
from connectors.salesforce.client import SalesforceCredentials
from connectors.salesforce.client import make_client as make_salesforce
from connectors.warehouse import Warehouse
from dagster_pipeline.sync.setup import PERMISSION_SET
from tests.faults.conftest import Faulty, assert_heals


@pytest.mark.parametrize("sobject", ["PermissionSet", "PermissionSetAssignment"])
def test_salesforce_single_record_creates_in_setup_a_lost_response_duplicates_nothing(
        sandbox_clean: Any, tmp_path: Any, sobject: str) -> None:
    f = Faulty("salesforce", sandbox_clean, Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}"),
               make_salesforce(SalesforceCredentials.from_env(sandbox_clean.salesforce_env())))
    f.fault(kind="drop_after_commit", method="POST", path=rf"/sobjects/{sobject}/?$", count=1)
    with pytest.raises(CrmError, match="may or may not have been applied"):
        f.setup()
    f.clear()
    f.setup()
    [ps] = f.client.query(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET))["records"]
    assigned = f.client.query(format_soql("SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = {}",
                                          ps["Id"]))["records"]
    assert len(assigned) == 1
    assert_heals(f)
