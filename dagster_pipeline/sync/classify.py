"""How a record the CRM already holds is decided: unchanged, skipped, failed, or an update.

:class:`Classifier` is the part of a pass (:class:`~dagster_pipeline.sync.passes._Pass`) that
compares the records it found in the CRM with what the warehouse wants: column-wise for all of them
at once (:meth:`Classifier.classify_rows`, :func:`~dagster_pipeline.sync.diff.changed_columns`),
per record where that cannot be exact (:meth:`Classifier.classify`, the reference), and the
precedence between workflows that write one record (:meth:`Classifier.yields_to_owner`). What an
update carries is a :class:`_Pending`, written by the pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from connectors.crm import Action, ObjectSchema
from dagster_pipeline.sync.catalog import ObjectDef
from dagster_pipeline.sync.diff import FALLBACK, canonical, changed_columns, changed_fields, current_frame
from dagster_pipeline.sync.keys import KEY
from dagster_pipeline.sync.outcomes import Outcome, OutcomeLog
from dagster_pipeline.sync.records import NOTES
from dagster_pipeline.sync.settings import Settings

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

#: When two workflows write the same record, whose Warmly data stays: the one with the most
#: recent signal (last seen, or intent signal); on a tie, the earlier workflow in this list.
#: A chat is the strongest intent, an orchestration's pick the next, a page view the weakest.
WORKFLOW_PRECEDENCE: tuple[str, ...] = ("inbound_agent", "outbound_agent", "website_visitor")
#: Columns :meth:`Classifier.classify_rows` adds: the CRM id, the company to link, a row's place.
CRM_ID, LINK, POS = "__crm_id", "__link", "__pos"


def _py(value: Any) -> Any:
    """Polars scalars to what a connector sends: naive timestamps are UTC."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


@dataclass(slots=True)
class _Pending:
    """One record about to be written."""

    od: ObjectDef
    key: str
    action: Literal["create", "update"]
    payload: dict[str, Any]
    changes: dict[str, tuple[Any, Any]]
    crm_id: str | None = None
    fingerprint: str | None = None
    company_id: str | None = None
    notes: tuple[str, ...] = ()  # what was adjusted to make the record writable (trimmed text, …)
    reason: str | None = None  # why a write happens that the warehouse did not ask for: drift, deleted_in_crm


class Classifier:
    """Deciding the records the CRM holds; mixed into :class:`~dagster_pipeline.sync.passes._Pass`,
    which provides what is declared here."""

    workflow: str
    settings: Settings
    log: OutcomeLog

    def schema(self, od: ObjectDef) -> ObjectSchema:
        raise NotImplementedError

    def refused(self, od: ObjectDef, action: Action) -> tuple[str, str] | None:
        raise NotImplementedError

    def record(self, outcome: Outcome) -> None:
        raise NotImplementedError

    def remember(self, od: ObjectDef, key: str, crm_object: str, crm_id: str | None, fp: str | None) -> None:
        raise NotImplementedError

    def remember_frame(self, od: ObjectDef, keys: pl.Series, crm_ids: pl.Series, fps: pl.Series) -> None:
        raise NotImplementedError

    def classify(self, od: ObjectDef, desired_row: dict[str, Any], current: dict[str, Any], modes: dict[str, str],
                 fp: str, *, state_hash: str | None = None, extra_fields: dict[str, tuple[Any, str]] | None = None,
                 link_to: str | None = None) -> _Pending | None:
        """Diff one record the CRM already holds; records unchanged/skipped outcomes itself, returns an update.

        ``state_hash`` is the fingerprint of our last successful write: when it equals ``fp`` the
        warehouse has not changed, so any difference found is **drift** (edited in the CRM since),
        and the update restoring our values is logged with reason ``drift``. Fields a rep owns
        (``if_empty``: names, links, the key) are never drift: a value there is theirs.

        ``link_to`` is a company id this record must be linked to by a separate call (HubSpot
        association): it counts as a change even when no field differs.
        """
        key = desired_row[KEY]
        modes = dict(modes)
        row = dict(desired_row)
        if self.yields_to_owner(od, row, current):
            for name in od.warmly_fields():
                modes.pop(name, None)
        for name, (value, mode) in (extra_fields or {}).items():
            row[name] = value
            modes[name] = mode
        changes = changed_fields(row, current, modes, self.schema(od))
        crm_id = current["Id"] if "Id" in current else current.get("id")
        return self.decide(od, key, changes, crm_id, fp, state_hash=state_hash, link_to=link_to,
                           notes=desired_row.get(NOTES))

    def decide(self, od: ObjectDef, key: str, changes: dict[str, tuple[Any, Any]], crm_id: str | None, fp: str,
               *, state_hash: str | None, link_to: str | None, notes: Any) -> _Pending | None:
        """What a record the CRM holds comes to, given its changed fields: unchanged, skipped
        (``update_disabled``), failed (updates refused) or an update to write (returned)."""
        payload = {f: _py(new) for f, (_, new) in changes.items()}
        if link_to is not None:
            changes["(company link)"] = (None, link_to)
        if not changes:
            self.record(Outcome(od.api_name, key, "unchanged", "unchanged", crm_id=crm_id))
            self.remember(od, key, od.api_name, crm_id, fp)
            return None
        if not self.settings.object(od.name).update:
            self.record(Outcome(od.api_name, key, "skipped", "skipped", reason="update_disabled", crm_id=crm_id,
                                changes=changes))
            return None
        if cannot_update := self.refused(od, "update"):
            self.record(Outcome(od.api_name, key, "update", "failed", reason=cannot_update[0], crm_id=crm_id,
                                changes=changes, message=cannot_update[1]))
            return None
        return _Pending(od, key, "update", payload, changes, crm_id=crm_id, fingerprint=fp, company_id=link_to,
                        notes=tuple(notes or ()), reason="drift" if state_hash == fp else None)

    def classify_rows(self, od: ObjectDef, rows: pl.DataFrame, current: dict[str, dict[str, Any]],
                      modes: dict[str, str], *, extra: dict[str, tuple[pl.Expr, str]] | None = None,
                      link: pl.Expr | None = None) -> list[tuple[int, Callable[[], _Pending | None]]]:
        """:meth:`classify` for many records the CRM holds, the comparison done column-wise.

        ``rows`` has KEY, ``__hash``, ``payload_hash``, :data:`NOTES` and the desired fields;
        ``current`` maps each key to the CRM's record. ``extra`` adds fields as ``extra_fields``
        does, an expression per field (null: not for that row); ``link`` gives each row's
        ``link_to`` (it may use :data:`CRM_ID`). Records whose every field already holds our value
        (and that need no link) are logged ``unchanged`` and remembered as one frame, here.

        The others come back as ``(position, decide)`` in row order (position: ``rows[POS]`` if
        there, else the row's index), for the caller to run in the order it wants: ``decide()``
        logs what :meth:`decide` logs and returns the update to write, or None. A row the
        column-wise diff cannot settle exactly (see :func:`~dagster_pipeline.sync.diff.changed_columns`),
        or that another workflow may own (:meth:`yields_to_owner` compares signal times), is
        decided by :meth:`classify` itself, per record, as before.
        """
        if rows.is_empty():
            return []
        extra = extra or {}
        keys = rows[KEY]
        records = [current[k] for k in keys.to_list()]
        ids = pl.Series(CRM_ID, [c["Id"] if "Id" in c else c.get("id") for c in records], dtype=pl.Utf8)
        work = rows.with_columns(ids, *(e.alias(f"__extra_{n}") for n, (e, _) in extra.items()))
        work = work.with_columns((link if link is not None else pl.lit(None)).cast(pl.Utf8).alias(LINK))
        effective = dict(modes)
        values = {f: pl.col(f) for f in modes}
        clash = False  # an extra field the settings map too, with another mode: left to classify()
        for name, (_, mode) in extra.items():
            clash = clash or modes.get(name, mode) != mode
            values[name] = pl.coalesce(pl.col(f"__extra_{name}"), pl.col(name)) if name in modes \
                else pl.col(f"__extra_{name}")
            effective[name] = mode
        desired = work.select(*(e.alias(f) for f, e in values.items()))
        owner = {w.suffix: w.api_name(od.crm) for w in od.warmly}.get("Workflow")
        schema = self.schema(od)
        cur, odd = current_frame(records, list(dict.fromkeys([*effective, *([owner] if owner else [])])))
        result = changed_columns(desired, cur, effective, schema)
        fallback = result[FALLBACK] | odd
        if clash or owner is None:
            fallback = pl.Series([True] * rows.height)
        elif owner in schema.fields:  # another workflow's record: whose data stays is decided per record
            theirs = cur[owner]
            others = theirs.is_not_null()
            if theirs.dtype == pl.Utf8:
                others = others & (theirs != "") & (theirs != self.workflow)
            fallback = fallback | others.fill_null(True)
        changed = pl.DataFrame([result[f] for f in effective]).select(pl.any_horizontal(pl.all()))
        attention = (changed.to_series() | work[LINK].is_not_null() | fallback) if effective \
            else (work[LINK].is_not_null() | fallback)
        self.log.add_bulk(od.api_name, keys.filter(~attention), "unchanged", "unchanged",
                          crm_ids=ids.filter(~attention))
        self.remember_frame(od, keys.filter(~attention), ids.filter(~attention), rows["__hash"].filter(~attention))
        positions = (rows[POS] if POS in rows.columns else pl.Series(range(rows.height))).filter(attention).to_list()
        picked = work.filter(attention)
        masks = result.select(*effective).filter(attention).rows() if effective else [()] * picked.height
        out: list[tuple[int, Callable[[], _Pending | None]]] = []
        for pos, row, want, mask, by_record, cur_rec in zip(
                positions, picked.iter_rows(named=True), desired.filter(attention).iter_rows(named=True), masks,
                fallback.filter(attention).to_list(), [r for r, a in zip(records, attention, strict=True) if a],
                strict=True):
            if by_record:
                extras = {n: (row[f"__extra_{n}"], m) for n, (_, m) in extra.items() if row[f"__extra_{n}"] is not None}
                out.append((pos, _bind(self.classify, od, row, cur_rec, modes, row["__hash"],
                                       state_hash=row["payload_hash"], extra_fields=extras, link_to=row[LINK])))
            else:
                changes = {f: (cur_rec.get(f), want[f]) for f, hit in zip(effective, mask, strict=True) if hit}
                out.append((pos, _bind(self.decide, od, row[KEY], changes, row[CRM_ID], row["__hash"],
                                       state_hash=row["payload_hash"], link_to=row[LINK], notes=row.get(NOTES))))
        return out

    def yields_to_owner(self, od: ObjectDef, desired: dict[str, Any], current: dict[str, Any]) -> bool:
        """Whether another workflow's Warmly data on this record wins over ours (then we leave it).

        Two workflows that hold different values for one record (the Workflow field, an intent
        topic) would otherwise overwrite each other on every run. The record keeps the Warmly data
        of the workflow with the most recent signal; on a tie, the one first in
        :data:`WORKFLOW_PRECEDENCE`. Both sides are read from the same fields (ours from the
        warehouse, theirs from the CRM), so every workflow reaches the same verdict and repeated
        runs converge: no further write.
        """
        names = {w.suffix: w.api_name(od.crm) for w in od.warmly}
        owner = current.get(names["Workflow"])
        if not owner or owner == self.workflow or names["Workflow"] not in self.schema(od).fields:
            return False

        def freshness(values: dict[str, Any]) -> dt.datetime:
            stamps = [canonical("datetime", values.get(names[s])) for s in ("Last_Seen", "Intent_Signal_At")]
            return max((t for t in stamps if isinstance(t, dt.datetime)), default=_EPOCH)

        def rank(workflow: str) -> int:
            order = WORKFLOW_PRECEDENCE
            return -order.index(workflow) if workflow in order else -len(order)

        return (freshness(desired), rank(self.workflow)) < (freshness(current), rank(str(owner)))


def _bind(fn: Callable[..., _Pending | None], *args: Any, **kwargs: Any) -> Callable[[], _Pending | None]:
    return lambda: fn(*args, **kwargs)
