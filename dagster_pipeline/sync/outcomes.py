"""Per-record outcomes of a run, their summary, and how they are printed.

Every record a workflow reads ends in exactly one outcome row (the sync log):

=========== ========================================================================
action      meaning
=========== ========================================================================
create      a new CRM record (``status`` succeeded / failed / planned); ``reason``
            ``deleted_in_crm`` when a rep had deleted the record we wrote before
update      only the changed fields were sent (``changed_fields``); ``reason`` ``drift``
            when the warehouse did not change and the CRM had been edited since
unchanged   nothing to write: same fingerprint as the last successful write, or the CRM
            already holds every value
skipped     not written on purpose; ``reason`` says why (``create_disabled``,
            ``update_disabled``, ``workflow_disabled``, ``duplicate_key``: another row of
            the model has the same key and is the one synced)
failed      could not be written; ``reason`` says why (``missing_key``,
            ``missing_required_field``, ``invalid_email``, ``read_failed``, a CRM error
            code, ``api_limit_exhausted``, ``api_budget_reserved``, ``run_aborted``, …); retried next run
=========== ========================================================================

The **accounting invariant** — each row of each sync model has exactly one outcome row — is
checked at the end of every run by :func:`accounting_problems`; a run that breaks it raises
:class:`AccountingError` instead of reporting fewer records than it was given.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from connectors.errors import WritebackError
from dagster_pipeline.sync.keys import DROPPED_REASONS, Keyed
from dagster_pipeline.sync.state import LOG_SCHEMA

ACTIONS = ("create", "update", "unchanged", "skipped", "failed")
_COLS = ["object", "key", "crm_id", "action", "status", "reason", "changed_fields", "message"]


class AccountingError(WritebackError):
    """The outcomes of a run do not account for every row of its sync models (a bug: report it)."""


def accounting_problems(log: pl.DataFrame, entities: list[tuple[Keyed, list[str]]], *, shown: int = 5) -> list[str]:
    """What breaks the invariant "each row of each sync model has exactly one outcome row".

    ``entities`` pairs each keyed sync model with the CRM objects its rows are logged under.
    A kept row (one per key) must have exactly one outcome with its key; every other row
    exactly one ``missing_key`` / ``duplicate_key`` outcome. Empty when the log is whole.
    """
    problems: list[str] = []
    for keyed, objects in entities:
        rows = log.filter(pl.col("object").is_in(objects))
        dropped = pl.col("reason").is_in(DROPPED_REASONS).fill_null(False)
        kept_rows = rows.filter(~dropped)["key"]
        expected = keyed.keys
        missing = expected.filter(~expected.is_in(kept_rows.implode())).head(shown).to_list()
        extra = kept_rows.filter(~kept_rows.is_in(expected.implode())).head(shown).to_list()
        twice = kept_rows.filter(kept_rows.is_duplicated()).unique(maintain_order=True).head(shown).to_list()
        n_dropped = rows.filter(dropped).height
        if rows.height == keyed.rows and not (missing or extra or twice):
            continue
        parts = [f"{keyed.entity} rows: {keyed.rows} in the model, {rows.height} outcomes"]
        if missing:
            parts.append(f"no outcome for {', '.join(map(str, missing))}")
        if twice:
            parts.append(f"more than one outcome for {', '.join(map(str, twice))}")
        if extra:
            parts.append(f"outcomes for keys not in the model: {', '.join(map(str, extra))}")
        if n_dropped != keyed.rows - expected.len():
            parts.append(f"{n_dropped} missing/duplicate-key outcomes for {keyed.rows - expected.len()} such rows")
        problems.append(", ".join(parts))
    return problems


@dataclass(slots=True)
class Outcome:
    object: str
    key: str
    action: str
    status: str
    reason: str | None = None
    crm_id: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    message: str | None = None


@dataclass
class OutcomeLog:
    """Outcomes of one workflow run, kept column-wise where records come in bulk."""

    frames: list[pl.DataFrame] = field(default_factory=list)
    rows: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.rows.append(outcome)

    def add_bulk(self, obj: str, keys: pl.Series, action: str, status: str, reason: str | None = None,
                 crm_ids: pl.Series | None = None, message: str | None = None) -> None:
        """Many records with one outcome (unchanged by fingerprint, a blocked object, …) without a Python loop."""
        if keys.len() == 0:
            return
        n = keys.len()
        self.frames.append(
            pl.DataFrame(
                {
                    "object": [obj] * n,
                    "key": keys.cast(pl.Utf8),
                    "crm_id": crm_ids.cast(pl.Utf8) if crm_ids is not None else pl.Series([None] * n, dtype=pl.Utf8),
                    "action": [action] * n,
                    "status": [status] * n,
                    "reason": pl.Series([reason] * n, dtype=pl.Utf8),
                    "changed_fields": pl.Series([None] * n, dtype=pl.Utf8),
                    "message": pl.Series([message] * n, dtype=pl.Utf8),
                }
            )
        )

    def add_frame(self, frame: pl.DataFrame) -> None:
        """Outcomes already shaped as log columns (object, key, crm_id, action, status, reason,
        changed_fields, message), e.g. every planned create of a run, built column-wise."""
        if not frame.is_empty():
            self.frames.append(frame.select(_COLS).cast({c: pl.Utf8 for c in _COLS}))

    def frame(self) -> pl.DataFrame:
        cols = ["object", "key", "crm_id", "action", "status", "reason", "changed_fields", "message"]
        rows = pl.DataFrame(
            {
                "object": [o.object for o in self.rows],
                "key": [o.key for o in self.rows],
                "crm_id": [o.crm_id for o in self.rows],
                "action": [o.action for o in self.rows],
                "status": [o.status for o in self.rows],
                "reason": [o.reason for o in self.rows],
                "changed_fields": [",".join(sorted(o.changes)) or None for o in self.rows],
                "message": [o.message for o in self.rows],
            },
            schema={c: pl.Utf8 for c in cols},
        )
        return pl.concat([*self.frames, rows], how="vertical") if self.frames else rows

    def log_frame(self, *, run_id: str, run_at: dt.datetime, mode: str, workflow: str, crm: str,
                  org: str | None = None) -> pl.DataFrame:
        frame = self.frame().with_columns(
            pl.lit(run_id).alias("run_id"),
            pl.lit(run_at).cast(pl.Datetime("us", "UTC")).alias("run_at"),
            pl.lit(mode).alias("mode"),
            pl.lit(workflow).alias("workflow"),
            pl.lit(crm).alias("crm"),
            pl.lit(org, dtype=pl.Utf8).alias("org"),
        )
        return frame.select(list(LOG_SCHEMA)).cast(LOG_SCHEMA)


@dataclass
class ObjectSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    planned_create: int = 0
    planned_update: int = 0
    drift: dict[str, int] = field(default_factory=dict)  # field -> records edited in the CRM, restored
    deleted_in_crm: int = 0  # records a rep deleted since our last write, created again

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": dict(sorted(self.skipped.items())),
            "failed": dict(sorted(self.failed.items())),
            "planned_create": self.planned_create,
            "planned_update": self.planned_update,
            "drift": dict(sorted(self.drift.items())),
            "deleted_in_crm": self.deleted_in_crm,
        }

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def summarise(log: pl.DataFrame) -> dict[str, ObjectSummary]:
    out: dict[str, ObjectSummary] = defaultdict(ObjectSummary)
    if log.is_empty():
        return {}
    counts = log.group_by(["object", "action", "status", "reason"]).len()
    for obj, action, status, reason, n in counts.iter_rows():
        s = out[obj]
        if action == "failed" or status == "failed":
            key = reason or "error"
            s.failed[key] = s.failed.get(key, 0) + n
        elif action == "skipped":
            key = reason or "skipped"
            s.skipped[key] = s.skipped.get(key, 0) + n
        elif action == "unchanged":
            s.unchanged += n
        elif status == "planned":
            if action == "create":
                s.planned_create += n
            else:
                s.planned_update += n
        elif action == "create":
            s.created += n
        elif action == "update":
            s.updated += n
    noticed = log.filter(pl.col("reason").is_in(["drift", "deleted_in_crm"]) & (pl.col("status") != "failed"))
    for obj, reason, fields in noticed.select("object", "reason", "changed_fields").iter_rows():
        s = out[obj]
        if reason == "deleted_in_crm":
            s.deleted_in_crm += 1
        else:
            for f in (fields or "").split(","):
                if f:
                    s.drift[f] = s.drift.get(f, 0) + 1
    return dict(sorted(out.items()))
