"""The ``sync:`` settings reach the CRM: the connector the commands and Dagster build from the
settings and the environment (``dagster_pipeline.connect.make_connector``) honours them.

Promises (README "Settings"): ``batch_size`` — records per write call; ``request_timeout_seconds``
— how long a call may stay silent before it is sent again; ``bulk_threshold`` — Salesforce writes
go through Bulk API 2.0 from that many records per object up; ``max_attempts`` — how often a call
is tried before its records fail (and are retried on the next run).
"""

from __future__ import annotations

import time
from typing import Any

import polars as pl

from connectors.warehouse import Warehouse
from dagster_pipeline.connect import make_connector
from dagster_pipeline.sync.engine import run_workflow
from dagster_pipeline.sync.settings import parse_settings
from dagster_pipeline.sync.setup import run_setup
from dagster_pipeline.sync.state import SyncStore
from tests.sync.frames import companies, company, person, persons
from tests.sync.helpers import Calls, sf_count


def sync(sandbox: Any, warehouse: Warehouse, settings: dict[str, Any]) -> Any:
    parsed = parse_settings({"crm": "salesforce", "objects": {"contact": {"create": False}}, **settings})
    connector = make_connector(parsed, env=sandbox.salesforce_env())
    run_setup(parsed, connector, store=SyncStore(warehouse))
    people = persons(*(person(f"p{i}@acme.io") for i in range(3)))
    return run_workflow("website_visitor", parsed, warehouse, connector, persons=people,
                        companies=companies(company("acme.io")))


def test_bulk_threshold_sends_that_many_records_through_one_bulk_job(
        sf: Any, sandbox: Any, warehouse: Warehouse) -> None:
    calls = Calls(sandbox, "salesforce")
    result = sync(sandbox, warehouse, {"sync": {"bulk_threshold": 3}})
    assert result.failed == 0 and sf_count(sf, "SELECT COUNT() FROM Lead") == 3
    assert calls.matching("POST jobs/ingest/create") == 1  # the three Leads: one Bulk job
    assert calls.matching("composite/sobjects/upsert") == 1  # the one Account: a collection call


def test_max_attempts_is_how_often_a_locked_call_is_tried(sf: Any, sandbox: Any, warehouse: Warehouse) -> None:
    sandbox.admin("salesforce", "POST", "faults",
                  {"kind": "lock_row", "method": "PATCH", "path": "composite/sobjects/Lead/", "count": 2})
    calls = Calls(sandbox, "salesforce")
    result = sync(sandbox, warehouse, {"sync": {"max_attempts": 2}})
    leads = result.log.filter(pl.col("object") == "Lead")
    assert set(leads["reason"]) == {"UNABLE_TO_LOCK_ROW"}
    assert calls.matching("PATCH composite/sobjects/upsert") == 3  # the Account once, the Leads twice
    assert sf_count(sf, "SELECT COUNT() FROM Lead") == 0


def test_batch_size_is_how_many_records_one_write_call_carries(sf: Any, sandbox: Any, warehouse: Warehouse) -> None:
    calls = Calls(sandbox, "salesforce")
    result = sync(sandbox, warehouse, {"sync": {"batch_size": 2}})
    assert result.failed == 0 and sf_count(sf, "SELECT COUNT() FROM Lead") == 3
    assert calls.matching("PATCH composite/sobjects/upsert") == 3  # the Account, then the Leads as 2 + 1


def test_request_timeout_gives_up_on_a_silent_call_and_sends_it_again(sf: Any, sandbox: Any,
                                                                       warehouse: Warehouse) -> None:
    sandbox.admin("salesforce", "POST", "faults", {"kind": "latency", "seconds": 2.0, "method": "PATCH",
                                                   "path": "composite/sobjects/Lead/", "count": 1})
    calls = Calls(sandbox, "salesforce")
    result = sync(sandbox, warehouse, {"sync": {"request_timeout_seconds": 0.5}})
    assert result.failed == 0
    assert calls.matching("PATCH composite/sobjects/upsert") == 3  # the Account, the Leads twice
    time.sleep(2.0)  # the abandoned call still commits: the same three Leads, no duplicate
    assert sf_count(sf, "SELECT COUNT() FROM Lead") == 3
