"""The ramp guard: start narrow, then expand (the product article's "monitor for a week").

A workflow whose segment is new, or has just changed, creates at most
``workflows.<w>.ramp.max_creates_per_run`` records of each CRM object per run. The other new
records are ``skipped: ramp_limit`` and wait for the next runs, **highest intent first**
(:data:`PRIORITY`), so every record is created exactly once over a few runs. Updates of records
the CRM already holds are never held back. No ``ramp`` block in the settings: no cap.

A segment is identified by a hash of its rules (:func:`~dagster_pipeline.sync.segments.segment_hash`).
The ramp is kept with the sync state in the warehouse, in ``writeback.ramp``: per CRM, org and
workflow, the segment hash, when the ramp started, how many records it has created, and when
and how it ended. Like ``sync_state`` the table is append-only; the newest row per
(crm, org, workflow) is the ramp. A new segment hash starts a new ramp.

A ramp ends by date (``ramp.days`` after it started), by count (``ramp.max_creates`` created
in all), or by ``writeback ramp end --workflow W`` (``ended_by``: ``days``, ``max_creates``,
``command``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from connectors.errors import WarehouseError
from dagster_pipeline.sync.settings import RampSettings
from dagster_pipeline.sync.state import SCHEMA, TableStore, utcnow

RAMP_TABLE = "ramp"
RAMP_SCHEMA = pl.Schema({
    "crm": pl.Utf8(),
    "org": pl.Utf8(),
    "workflow": pl.Utf8(),
    "segment_hash": pl.Utf8(),
    "started_at": pl.Datetime("us", "UTC"),
    "created": pl.Int64(),  # records created by the ramp so far (all objects together)
    "ended_at": pl.Datetime("us", "UTC"),
    "ended_by": pl.Utf8(),  # days | max_creates | command; null while the ramp runs
    "run_id": pl.Utf8(),
    "recorded_at": pl.Datetime("us", "UTC"),
})

#: The order new records are created in while a ramp holds some back: highest intent first.
#: (sync-model column, descending); missing values last; the key (email, domain) breaks ties,
#: so the order is stable from run to run.
PRIORITY: tuple[tuple[str, bool], ...] = (
    ("demo_requested", True),
    ("chat_count", True),
    ("intent_signal_at", True),
    ("last_seen_at", True),
)


@dataclass(frozen=True)
class Ramp:
    """One workflow's ramp as a run sees it."""

    workflow: str
    segment: str
    started_at: dt.datetime
    created: int  # created by the ramp before this run
    per_run: int
    max_creates: int | None
    days: int | None
    ended_at: dt.datetime | None = None
    ended_by: str | None = None
    started_now: bool = False  # this run starts it (a new segment, or the first run with a ramp)
    unrecorded: bool = False  # started or ended by this run: a sync records it

    @property
    def active(self) -> bool:
        return self.ended_by is None

    @property
    def ends_at(self) -> dt.datetime | None:
        return self.started_at + dt.timedelta(days=self.days) if self.days else None

    def allowance(self, used: int) -> int | None:
        """Creates one more object may make this run (``used``: made already); ``None``: no cap."""
        if not self.active:
            return None
        left = self.per_run
        if self.max_creates is not None:
            left = min(left, max(0, self.max_creates - self.created - used))
        return left

    def after(self, created_now: int, now: dt.datetime) -> Ramp:
        """The ramp once this run's creates are counted (ended by count if it reached ``max_creates``)."""
        total = self.created + created_now
        if self.active and self.max_creates is not None and total >= self.max_creates:
            return replace(self, created=total, ended_at=now, ended_by="max_creates", unrecorded=True)
        return replace(self, created=total, unrecorded=self.unrecorded or created_now > 0)

    def row(self, crm: str, org: str, run_id: str | None, now: dt.datetime) -> dict[str, Any]:
        return {"crm": crm, "org": org, "workflow": self.workflow, "segment_hash": self.segment,
                "started_at": self.started_at, "created": self.created, "ended_at": self.ended_at,
                "ended_by": self.ended_by, "run_id": run_id, "recorded_at": now}

    def as_dict(self, held: int = 0) -> dict[str, Any]:
        return {"segment": self.segment, "started_at": self.started_at.isoformat(), "created": self.created,
                "max_creates_per_run": self.per_run, "max_creates": self.max_creates,
                "ends_at": self.ends_at.isoformat() if self.ends_at else None, "active": self.active,
                "ended_by": self.ended_by, "held": held}


class RampStore:
    def __init__(self, warehouse: TableStore) -> None:
        self.warehouse = warehouse

    def last(self, crm: str, org: str, workflow: str) -> dict[str, Any] | None:
        """The newest row for the workflow in this org, or ``None`` when it never had a ramp."""
        try:
            frame = self.warehouse.read_model(RAMP_TABLE, schema=SCHEMA)
        except WarehouseError:
            return None
        rows = frame.filter((pl.col("crm") == crm) & (pl.col("org") == org) & (pl.col("workflow") == workflow))
        return rows.sort("recorded_at").row(-1, named=True) if rows.height else None

    def append(self, row: dict[str, Any]) -> None:
        self.warehouse.append(RAMP_TABLE, pl.DataFrame([row], schema=RAMP_SCHEMA), schema=SCHEMA)


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def open_ramp(settings: RampSettings | None, store: RampStore, *, crm: str, org: str, workflow: str,
              segment: str, now: dt.datetime | None = None) -> Ramp | None:
    """The ramp a run of ``workflow`` works under, or ``None`` when the settings ask for none.

    Reads only: a sync records what changed with :meth:`Ramp.row` after the run.
    """
    if settings is None:
        return None
    now = now or utcnow()
    last = store.last(crm, org, workflow)
    common = {"workflow": workflow, "segment": segment, "per_run": settings.max_creates_per_run,
              "max_creates": settings.max_creates, "days": settings.days}
    if last is None or last["segment_hash"] != segment:
        ramp = Ramp(started_at=now, created=0, started_now=True, unrecorded=True, **common)  # type: ignore[arg-type]
    else:
        ended_at = _utc(last["ended_at"]) if last["ended_at"] is not None else None
        ramp = Ramp(started_at=_utc(last["started_at"]), created=int(last["created"] or 0), ended_at=ended_at,
                    ended_by=last["ended_by"], **common)  # type: ignore[arg-type]
    if ramp.active and ramp.ends_at is not None and now >= ramp.ends_at:
        ramp = replace(ramp, ended_at=ramp.ends_at, ended_by="days", unrecorded=True)
    elif ramp.active and ramp.max_creates is not None and ramp.created >= ramp.max_creates:
        ramp = replace(ramp, ended_at=now, ended_by="max_creates", unrecorded=True)
    return ramp


def end_ramp(store: RampStore, *, crm: str, org: str, workflow: str, segment: str,
             now: dt.datetime | None = None) -> dict[str, Any]:
    """End the workflow's ramp now (``writeback ramp end``); returns the row recorded.

    A workflow without a ramp yet (never synced with one) gets an ended ramp for its current
    segment, so its first run is not capped; a later segment change still starts a new ramp.
    """
    now = now or utcnow()
    last = store.last(crm, org, workflow)
    if last is not None and last["segment_hash"] == segment:
        if last["ended_by"] is not None:
            return last
        row = {**last, "ended_at": now, "ended_by": "command", "run_id": None, "recorded_at": now}
    else:
        row = {"crm": crm, "org": org, "workflow": workflow, "segment_hash": segment, "started_at": now,
               "created": 0, "ended_at": now, "ended_by": "command", "run_id": None, "recorded_at": now}
    store.append(row)
    return row


def order_by_intent(rows: pl.DataFrame, key: str) -> pl.DataFrame:
    """``rows`` highest intent first (:data:`PRIORITY`, then ``key``), using the columns it has."""
    cols = [(c, desc) for c, desc in PRIORITY if c in rows.columns]
    return rows.sort([c for c, _ in cols] + [key], descending=[d for _, d in cols] + [False], nulls_last=True)
