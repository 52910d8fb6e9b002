"""Sync state and the sync log, kept in the warehouse (schema ``writeback``), not on local disk.

- ``writeback.sync_state``: per CRM, workflow, entity and key, the CRM id and the fingerprint
  of the payload last written **successfully** (or found already in place). A record whose
  fingerprint has not moved is skipped without reading the CRM; a failed record has no new
  state row, so it is retried next run. The table is append-only (the newest row per key
  wins), which needs nothing but INSERT from any warehouse and never loses history.
- ``writeback.sync_log``: one row per record per run — what we decided and what happened.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import polars as pl

from connectors.errors import WarehouseError

SCHEMA = "writeback"
STATE_TABLE = "sync_state"
LOG_TABLE = "sync_log"

STATE_SCHEMA = pl.Schema({
    "crm": pl.Utf8(),
    "workflow": pl.Utf8(),
    "entity": pl.Utf8(),
    "key": pl.Utf8(),
    "crm_object": pl.Utf8(),
    "crm_id": pl.Utf8(),
    "payload_hash": pl.Utf8(),
    "run_id": pl.Utf8(),
    "synced_at": pl.Datetime("us", "UTC"),
})

LOG_SCHEMA = pl.Schema({
    "run_id": pl.Utf8(),
    "run_at": pl.Datetime("us", "UTC"),
    "mode": pl.Utf8(),
    "workflow": pl.Utf8(),
    "crm": pl.Utf8(),
    "object": pl.Utf8(),
    "key": pl.Utf8(),
    "crm_id": pl.Utf8(),
    "action": pl.Utf8(),
    "status": pl.Utf8(),
    "reason": pl.Utf8(),
    "changed_fields": pl.Utf8(),
    "message": pl.Utf8(),
})


class TableStore(Protocol):
    """What the engine needs of a warehouse (``connectors.warehouse.Warehouse`` provides it)."""

    def read_model(self, name: str, schema: str = ..., columns: list[str] | None = ...) -> pl.DataFrame: ...

    def append(self, table: str, df: pl.DataFrame, schema: str = ...) -> None: ...


class SyncStore:
    def __init__(self, warehouse: TableStore) -> None:
        self.warehouse = warehouse

    def load_state(self, crm: str, workflow: str, entity: str) -> pl.DataFrame:
        """Newest state row per key (empty frame when nothing was ever synced)."""
        try:
            frame = self.warehouse.read_model(STATE_TABLE, schema=SCHEMA)
        except WarehouseError:
            return pl.DataFrame(schema=STATE_SCHEMA)
        if frame.is_empty():
            return pl.DataFrame(schema=STATE_SCHEMA)
        return (
            frame.filter((pl.col("crm") == crm) & (pl.col("workflow") == workflow) & (pl.col("entity") == entity))
            .sort("synced_at")
            .unique("key", keep="last")
        )

    def save_state(self, rows: pl.DataFrame) -> None:
        if rows.is_empty():
            return
        self.warehouse.append(STATE_TABLE, rows.select(list(STATE_SCHEMA)).cast(STATE_SCHEMA), schema=SCHEMA)

    def append_log(self, rows: pl.DataFrame) -> None:
        if rows.is_empty():
            return
        self.warehouse.append(LOG_TABLE, rows.select(list(LOG_SCHEMA)).cast(LOG_SCHEMA), schema=SCHEMA)

    def read_log(self, run_id: str | None = None) -> pl.DataFrame:
        try:
            frame = self.warehouse.read_model(LOG_TABLE, schema=SCHEMA)
        except WarehouseError:
            return pl.DataFrame(schema=LOG_SCHEMA)
        return frame if run_id is None else frame.filter(pl.col("run_id") == run_id)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
