"""Sync state and the sync log, kept in the warehouse (schema ``writeback``), not on local disk.

- ``writeback.sync_state``: per CRM **org**, workflow, entity and key, the CRM id and the
  fingerprint of the payload last written **successfully** (or found already in place). A
  record whose fingerprint has not moved is skipped without reading the CRM; a failed record
  has no new state row, so it is retried next run. The table is append-only (the newest row
  per key wins), which needs nothing but INSERT from any warehouse and never loses history.
- ``writeback.sync_log``: one row per record per run — what we decided and what happened.
- ``writeback.crm_schema``: per org and object, the *field epoch* — a token that changes when
  the fields we write are (re)created (``writeback setup``) or come back after a run found them
  missing. It is part of every record's fingerprint, so after a field is restored each record
  is compared with the CRM again and the emptied field is rewritten, not left blank until the
  warehouse row happens to change.

State belongs to one org (Salesforce Organization Id, HubSpot portal id), never to a CRM
type: pointing the same warehouse at another org (sandbox → production) is a first sync
there, not a run that finds everything ``unchanged``.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import polars as pl

from connectors.errors import WarehouseError

SCHEMA = "writeback"
STATE_TABLE = "sync_state"
LOG_TABLE = "sync_log"
FIELDS_TABLE = "crm_schema"

STATE_SCHEMA = pl.Schema({
    "crm": pl.Utf8(),
    "org": pl.Utf8(),
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
    "org": pl.Utf8(),
    "object": pl.Utf8(),
    "key": pl.Utf8(),
    "crm_id": pl.Utf8(),
    "action": pl.Utf8(),
    "status": pl.Utf8(),
    "reason": pl.Utf8(),
    "changed_fields": pl.Utf8(),
    "message": pl.Utf8(),
})

FIELDS_SCHEMA = pl.Schema({
    "crm": pl.Utf8(),
    "org": pl.Utf8(),
    "object": pl.Utf8(),
    "epoch": pl.Utf8(),
    "missing": pl.Utf8(),  # comma-separated required fields missing when recorded; empty: all present
    "reason": pl.Utf8(),
    "recorded_at": pl.Datetime("us", "UTC"),
})


class TableStore(Protocol):
    """What the engine needs of a warehouse (``connectors.warehouse.Warehouse`` provides it)."""

    def read_model(self, name: str, schema: str = ..., columns: list[str] | None = ...) -> pl.DataFrame: ...

    def append(self, table: str, df: pl.DataFrame, schema: str = ...) -> None: ...


class SyncStore:
    def __init__(self, warehouse: TableStore) -> None:
        self.warehouse = warehouse

    def load_state(self, crm: str, org: str, workflow: str, entity: str) -> pl.DataFrame:
        """Newest state row per key for one org (empty frame when nothing was synced there).

        Rows written before state was keyed by org have no org and match none: the first run
        after an upgrade compares every record with the CRM once (and writes only differences).
        """
        try:
            frame = self.warehouse.read_model(STATE_TABLE, schema=SCHEMA)
        except WarehouseError:
            return pl.DataFrame(schema=STATE_SCHEMA)
        if frame.is_empty() or "org" not in frame.columns:
            return pl.DataFrame(schema=STATE_SCHEMA)
        return (
            frame.filter((pl.col("crm") == crm) & (pl.col("org") == org) & (pl.col("workflow") == workflow)
                         & (pl.col("entity") == entity))
            .sort("synced_at")
            .unique("key", keep="last")
        )

    # -- field epochs ------------------------------------------------------------------------
    def _fields_row(self, crm: str, org: str, obj: str) -> dict[str, object] | None:
        try:
            frame = self.warehouse.read_model(FIELDS_TABLE, schema=SCHEMA)
        except WarehouseError:
            return None
        rows = frame.filter((pl.col("crm") == crm) & (pl.col("org") == org) & (pl.col("object") == obj))
        return rows.sort("recorded_at").row(-1, named=True) if rows.height else None

    def field_epoch(self, crm: str, org: str, obj: str, missing: list[str], *, record: bool = True) -> str:
        """The object's field epoch, noting what this run found.

        A run that finds required fields missing records it; the first run that finds them all
        present again starts a new epoch. ``record=False`` (a dry run) reads without writing:
        the epoch it returns is the one a sync would record.
        """
        last = self._fields_row(crm, org, obj)
        now_missing = ",".join(sorted(missing))
        if last is not None and last["missing"] == now_missing:
            return str(last["epoch"])
        epoch = str(last["epoch"]) if last is not None else "0"
        if last is not None and last["missing"] and not now_missing:
            epoch = utcnow().strftime("%Y%m%dT%H%M%S.%f")
        if record:
            self._append_fields(crm, org, obj, epoch, now_missing,
                                "fields missing" if now_missing else "all required fields present")
        return epoch

    def new_field_epoch(self, crm: str, org: str, obj: str, reason: str) -> str:
        """Start a new epoch: fields we write were just created (``writeback setup``)."""
        epoch = utcnow().strftime("%Y%m%dT%H%M%S.%f")
        self._append_fields(crm, org, obj, epoch, "", reason)
        return epoch

    def _append_fields(self, crm: str, org: str, obj: str, epoch: str, missing: str, reason: str) -> None:
        row = {"crm": crm, "org": org, "object": obj, "epoch": epoch, "missing": missing, "reason": reason,
               "recorded_at": utcnow()}
        self.warehouse.append(FIELDS_TABLE, pl.DataFrame([row], schema=FIELDS_SCHEMA), schema=SCHEMA)

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
