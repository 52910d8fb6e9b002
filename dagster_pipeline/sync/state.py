"""Sync state and the sync log, kept in the warehouse (schema ``writeback``), not on local disk.

- ``writeback.sync_state``: per CRM **org**, workflow, entity and key, **one row**: the CRM id
  and the fingerprint of the payload last written **successfully** (or found already in place).
  A record whose fingerprint has not moved is skipped without reading the CRM (the comparison
  runs in the warehouse, :mod:`~dagster_pipeline.sync.warehouse_diff`); a failed record keeps
  its old row, so it is retried next run. A run replaces the rows of the keys it wrote (delete
  + insert in one transaction, the same SQL everywhere): the table stays the size of the synced
  records, and a diff joins it directly instead of windowing over every run's rows. A table
  written by an older release (append-only, the newest row per key winning) is compacted to
  its newest row per key the first time it is used. The history is the sync log.
- ``writeback.sync_log``: one row per record per run — what we decided and what happened.
  Append-only: it is history.
- ``writeback.plan_log``: the ``unchanged`` outcomes a dry run (``plan``) left in the warehouse,
  its latest run per workflow only (a plan writes no sync log).
- ``writeback.sync_keys``: each raw email / domain a sync model has held, with its key as
  :mod:`~dagster_pipeline.sync.keys` normalises it, so the warehouse can group rows by key.
- ``writeback.sync_meta``: which one-time layout checks of the tables above have passed.
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
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import polars as pl

from connectors.errors import WarehouseError

SCHEMA = "writeback"
STATE_TABLE = "sync_state"
LOG_TABLE = "sync_log"
PLAN_TABLE = "plan_log"
KEYS_TABLE = "sync_keys"
#: What identifies one row of the sync state.
STATE_KEY = ("crm", "org", "workflow", "entity", "key")
FIELDS_TABLE = "crm_schema"
#: Layout checks of tables an older release may have written, each run until it passed once.
META_TABLE = "sync_meta"
STATE_COMPACT = "sync_state: one row per key"
KEYS_UNIQUE = "sync_keys: one row per raw"

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

KEYS_SCHEMA = pl.Schema({"kind": pl.Utf8(), "raw": pl.Utf8(), "key": pl.Utf8()})

META_SCHEMA = pl.Schema({"name": pl.Utf8(), "value": pl.Utf8(), "recorded_at": pl.Datetime("us", "UTC")})

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

    def quote(self, identifier: str) -> str: ...

    def execute(self, sql: str, params: Mapping[str, Any] | None = ...) -> list[dict[str, Any]]: ...

    def execute_many(self, statements: Sequence[tuple[str, Mapping[str, Any]]], *,
                     bulk: bool = ...) -> list[list[dict[str, Any]]]: ...

    def upsert(self, table: str, df: pl.DataFrame, keys: Sequence[str], schema: str = ...) -> None: ...

    def frame(self, sql: str, params: Mapping[str, Any] | None = ...) -> pl.DataFrame: ...


class SyncStore:
    def __init__(self, warehouse: TableStore) -> None:
        self.warehouse = warehouse

    def prepare(self) -> None:
        """Create the state, log and key-map tables a diff joins (empty); bring tables an older
        release wrote to the layout the diff relies on, once.

        - ``sync_state``: an older release appended every run's rows; it is rewritten to the
          newest row per key.
        - ``sync_keys``: one row per raw value (the diff joins it without a ``group by``); a pair
          two concurrent runs added is reduced to one (:meth:`dedupe_keys`).

        Each check reads the whole table (a ``group by`` over a million keys: ~0.4 s of CPU,
        measured), so it runs until it has found the table in that layout once, noted in
        ``writeback.sync_meta``; this release keeps both layouts from then on (state rows are
        replaced per key, a run that adds keys dedupes them).
        """
        wh = self.warehouse
        for table, schema in ((STATE_TABLE, STATE_SCHEMA), (LOG_TABLE, LOG_SCHEMA), (PLAN_TABLE, LOG_SCHEMA),
                              (KEYS_TABLE, KEYS_SCHEMA), (META_TABLE, META_SCHEMA)):
            wh.append(table, pl.DataFrame(schema=schema), schema=SCHEMA)
        meta = f"{wh.quote(SCHEMA)}.{wh.quote(META_TABLE)}"
        done = {str(r["name"]) for r in wh.execute(f"select distinct name from {meta}")}
        for name, fix in ((STATE_COMPACT, self._compact_state), (KEYS_UNIQUE, self.dedupe_keys)):
            if name in done:
                continue
            fix()
            row = {"name": name, "value": "checked", "recorded_at": utcnow()}
            wh.append(META_TABLE, pl.DataFrame([row], schema=META_SCHEMA), schema=SCHEMA)

    def _compact_state(self) -> None:
        """An append-only ``sync_state`` (an older release's) becomes its newest row per key."""
        wh = self.warehouse
        state = f"{wh.quote(SCHEMA)}.{wh.quote(STATE_TABLE)}"
        key = ", ".join(STATE_KEY)
        repeated = wh.execute(f"select count(*) as n from (select {key} from {state} group by {key} "
                              "having count(*) > 1) d")
        if not int(next(iter(repeated[0].values()))):
            return
        cols = ", ".join(STATE_SCHEMA)
        newest = (f"select {cols} from (select {cols}, row_number() over (partition by {key} "
                  f"order by synced_at desc, run_id desc) as rn from {state}) r where rn = 1")
        keep = f"{wh.quote(SCHEMA)}.{wh.quote(STATE_TABLE + '_compact')}"
        wh.execute_many([
            (f"create table {keep} as {newest}", {}),
            (f"delete from {state}", {}),
            (f"insert into {state} ({cols}) select {cols} from {keep}", {}),
            (f"drop table {keep}", {}),
        ])

    def dedupe_keys(self) -> None:
        """Keep one row per (kind, raw) in the key map, so the diff joins it without a ``group by``.

        Only raws the map lacks are added, but two runs may add the same raw at once. A run that
        added keys calls this after its own commit: whichever of the two commits second sees
        both rows and keeps one (a raw's key is the same whoever normalised it).
        """
        wh = self.warehouse
        keys = f"{wh.quote(SCHEMA)}.{wh.quote(KEYS_TABLE)}"
        twice = f"select kind, raw from {keys} group by kind, raw having count(*) > 1"
        if not int(next(iter(wh.execute(f"select count(*) as n from ({twice}) d")[0].values()))):
            return
        scratch = wh.quote("writeback_keys_once")
        wh.execute_many([
            (f"create temporary table {scratch} as select kind, raw, min(key) as key from {keys} k "
             f"where exists (select 1 from ({twice}) d where d.kind = k.kind and d.raw = k.raw) group by kind, raw",
             {}),
            (f"delete from {keys} where exists (select 1 from {scratch} d where d.kind = {keys}.kind "
             f"and d.raw = {keys}.raw)", {}),
            (f"insert into {keys} (kind, raw, key) select kind, raw, key from {scratch}", {}),
            (f"drop table {scratch}", {}),
        ])

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
        """Make ``rows`` the state of their keys (one row per key: the last given wins)."""
        if rows.is_empty():
            return
        rows = rows.select(list(STATE_SCHEMA)).cast(STATE_SCHEMA).unique(list(STATE_KEY), keep="last",
                                                                          maintain_order=True)
        self.warehouse.upsert(STATE_TABLE, rows, STATE_KEY, schema=SCHEMA)

    def append_log(self, rows: pl.DataFrame) -> None:
        if rows.is_empty():
            return
        self.warehouse.append(LOG_TABLE, rows.select(list(LOG_SCHEMA)).cast(LOG_SCHEMA), schema=SCHEMA)

    def read_log(self, run_id: str | None = None, table: str = LOG_TABLE) -> pl.DataFrame:
        """The sync log (or ``table``: the plan log), or one run of it (read with a ``where``)."""
        if run_id is not None:
            wh = self.warehouse
            try:
                frame = wh.frame(f"select * from {wh.quote(SCHEMA)}.{wh.quote(table)} where run_id = :run_id",
                                 {"run_id": run_id})
            except WarehouseError:
                return pl.DataFrame(schema=LOG_SCHEMA)
            return frame.select(list(LOG_SCHEMA)).cast(LOG_SCHEMA)
        try:
            frame = self.warehouse.read_model(table, schema=SCHEMA)
        except WarehouseError:
            return pl.DataFrame(schema=LOG_SCHEMA)
        return frame if run_id is None else frame.filter(pl.col("run_id") == run_id)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
