"""What the promise tests read back: the CRM through the SDKs, the sandbox's call counts, and the
sync log and state tables in the test's warehouse (``writeback.sync_log``, ``writeback.sync_state``)."""

from __future__ import annotations

from typing import Any

import polars as pl
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId
from simple_salesforce import format_soql

from connectors.errors import WarehouseError
from connectors.warehouse import Warehouse
from dagster_pipeline.sync.state import LOG_SCHEMA, LOG_TABLE, SCHEMA, STATE_SCHEMA, STATE_TABLE

# -- the warehouse tables ------------------------------------------------------------------------


def state_table(warehouse: Warehouse) -> pl.DataFrame:
    """Every row of ``writeback.sync_state`` (append-only), oldest first."""
    try:
        return warehouse.read_model(STATE_TABLE, schema=SCHEMA).sort("synced_at")
    except WarehouseError:
        return pl.DataFrame(schema=STATE_SCHEMA)


def state_rows(warehouse: Warehouse, key: str) -> list[dict[str, Any]]:
    return state_table(warehouse).filter(pl.col("key") == key).to_dicts()


def log_table(warehouse: Warehouse, run_id: str | None = None) -> pl.DataFrame:
    """``writeback.sync_log``, or one run of it."""
    try:
        frame = warehouse.read_model(LOG_TABLE, schema=SCHEMA)
    except WarehouseError:
        return pl.DataFrame(schema=LOG_SCHEMA)
    return frame if run_id is None else frame.filter(pl.col("run_id") == run_id)


def logged(warehouse: Warehouse, run_id: str) -> dict[str, tuple[str, str, str | None]]:
    """key -> (action, status, reason) of one run, as the warehouse holds it."""
    rows = log_table(warehouse, run_id).select("key", "action", "status", "reason").rows()
    out = {k: (a, s, r) for k, a, s, r in rows}
    assert len(out) == len(rows), f"a key logged twice in run {run_id}: {rows}"
    return out


# -- the sandboxes' call counts and faults --------------------------------------------------------

#: What HubSpot answers once the account's daily allowance is used up (a ``status`` fault's body).
HS_DAILY_LIMIT_SPENT = {
    "status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
    "correlationId": "c0ffee00-0000-4000-8000-000000000000", "policyName": "DAILY",
    "groupName": "publicapi:private-app-api-calls-daily:62515",
}


class Calls:
    """The sandbox's own count of API calls by endpoint since the last :meth:`reset`."""

    def __init__(self, sandbox: Any, crm: str) -> None:
        self.sandbox, self.crm = sandbox, crm

    def reset(self) -> None:
        self.sandbox.admin(self.crm, "DELETE", "calls")

    def by_endpoint(self) -> dict[str, int]:
        return dict(self.sandbox.calls(self.crm)["by_endpoint"])

    def matching(self, *parts: str) -> int:
        """Calls whose ``METHOD endpoint`` contains every one of ``parts``."""
        return sum(n for k, n in self.by_endpoint().items() if all(p in k for p in parts))

    def writes(self) -> int:
        """Calls that change the CRM (HubSpot reads by POST too: batch reads, search, the token's scopes)."""
        calls = self.by_endpoint().items()
        if self.crm == "salesforce":
            return sum(n for k, n in calls if k.split(" ")[0] in ("POST", "PATCH", "PUT", "DELETE"))
        reads = ("batch/read", "search", "access-token-info")
        return sum(n for k, n in calls if k.split(" ")[0] != "GET" and not any(p in k for p in reads))


# -- Salesforce through simple-salesforce --------------------------------------------------------


def sf_one(sf: Any, soql: str, *args: Any) -> dict[str, Any]:
    records = sf.query(format_soql(soql, *args))["records"]
    assert len(records) == 1, records
    return records[0]


def sf_count(sf: Any, soql: str, *args: Any) -> int:
    return int(sf.query(format_soql(soql, *args))["totalSize"])


def sf_delete_field(sf: Any, obj: str, developer_name: str) -> None:
    """Delete a custom field as an admin would in Setup (Tooling API)."""
    field = sf.toolingexecute("query/?q=" + format_soql(
        "SELECT Id FROM CustomField WHERE DeveloperName = {} AND TableEnumOrId = {}", developer_name, obj))
    sf.toolingexecute(f"sobjects/CustomField/{field['records'][0]['Id']}", method="DELETE")


# -- HubSpot through hubspot-api-client ----------------------------------------------------------


def hs_contact(hs: Any, email: str, properties: list[str]) -> Any:
    found = hs.crm.contacts.batch_api.read(BatchReadInputSimplePublicObjectId(
        id_property="email", properties=properties, inputs=[{"id": email}]))
    assert len(found.results) == 1, found
    return found.results[0]


def hs_companies(hs: Any, *properties: str) -> list[Any]:
    return list(hs.crm.companies.get_all(properties=["domain", "name", "warmly_sync_key", *properties]))


def hs_company_of(hs: Any, contact_id: str) -> list[str]:
    page = hs.crm.associations.v4.basic_api.get_page("contacts", contact_id, "companies")
    return sorted({str(r.to_object_id) for r in page.results})
