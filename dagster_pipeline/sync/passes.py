"""The shape every CRM's pass shares: one workflow's records from keyed rows to outcomes.

:class:`_Pass` holds what a run knows (settings, connector, schemas, the field gate, the sync
state of the rows that came back from the warehouse diff) and does what both CRMs do alike:
fingerprints, creates built column-wise and written in chunks, the ramp guard, and one outcome
per record. Deciding the records the CRM already holds (the field-by-field diff, column-wise, and
the precedence between workflows that write one record) is :mod:`~dagster_pipeline.sync.classify`.
How each CRM finds and writes its records is :mod:`~dagster_pipeline.sync.salesforce_pass` and
:mod:`~dagster_pipeline.sync.hubspot_pass`; :mod:`~dagster_pipeline.sync.engine` runs a pass
for a workflow (the warehouse diff before it, the log, state and accounting after it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import polars as pl

from connectors.crm import Action, ObjectAccess, ObjectSchema, RecordResult
from connectors.errors import ApiBudgetReserved, ApiLimitExhausted, AuthenticationError, CrmError
from dagster_pipeline.sync.catalog import ObjectDef
from dagster_pipeline.sync.classify import Classifier, _Pending, _py
from dagster_pipeline.sync.gate import FieldGap, field_gap, refusal
from dagster_pipeline.sync.keys import KEY, Keyed, normalise_domain
from dagster_pipeline.sync.outcomes import (
    Outcome,
    OutcomeLog,
)
from dagster_pipeline.sync.ramp import PRIORITY, Ramp, order_by_intent
from dagster_pipeline.sync.records import COMPANY_ID, NOTES, build_desired, with_fingerprint
from dagster_pipeline.sync.settings import Settings
from dagster_pipeline.sync.state import STATE_SCHEMA, SyncStore, utcnow
from dagster_pipeline.sync.warehouse_diff import (
    HELD_COMPANY_ID,
)

Mode = Literal["plan", "sync"]
#: Creates are built and written this many bytes of values at a time (estimated column-wise, as
#: CSV), so memory stays flat however many there are and each chunk fits one Salesforce Bulk 2.0
#: upload (100 MB of CSV; the connector measures the real CSV and cuts again if it must).
CREATE_CHUNK_BYTES = 90_000_000


def stop_reason(exc: ApiLimitExhausted) -> str:
    """The reason the records a stopped run leaves fail with: the CRM's allocation spent, or
    our own stop before the share kept for the org's other integrations (both retried next run)."""
    return "api_budget_reserved" if isinstance(exc, ApiBudgetReserved) else "api_limit_exhausted"


class StopRun(Exception):
    """The CRM's daily allocation is spent: stop cleanly, mark what is left as failed."""


class _Pass(Classifier):
    """State shared by one workflow run: settings, connector, schemas, outcomes."""

    def __init__(self, workflow: str, settings: Settings, connector: Any, store: SyncStore, *, mode: Mode,
                 full_refresh: bool, run_id: str, sample_size: int) -> None:
        self.workflow = workflow
        self.settings = settings
        self.crm = settings.crm
        self._org: str | None = None
        self.conn = connector
        self.store = store
        self.mode = mode
        self.full_refresh = full_refresh
        self.run_id = run_id
        self.log = OutcomeLog()
        self.state_rows: list[dict[str, Any]] = []
        self.state_frames: list[pl.DataFrame] = []  # state remembered column-wise (records found unchanged)
        self.samples: list[dict[str, Any]] = []
        self.sample_size = sample_size
        self.schemas: dict[str, ObjectSchema | None] = {}
        self.gaps: dict[str, FieldGap] = {}
        self.accesses: dict[str, ObjectAccess] = {}
        self.epochs: dict[str, str] = {}
        self.stopped: str | None = None
        self.stop_reason = "api_limit_exhausted"  # the reason of the records left when the run stops
        self.company_ids: dict[str, str] = {}  # company key -> CRM id, for linking people
        self.ramp: Ramp | None = None  # the ramp guard, while the workflow's segment is new
        self.ramp_used = 0  # creates let through by the ramp this run, all objects together
        self.sources: dict[str, pl.DataFrame] = {}  # entity -> keyed sync model (for the intent order)
        #: Whether a key being looked up now was written by us before (a lagging search count could miss it).
        self.written_before = True
        #: Records of ours the sync state says each CRM object holds (``unchanged`` ones kept in the
        #: warehouse and those being looked up): a lower bound of the object's size, which lets the
        #: read cost model rule out a whole-object read without counting (Salesforce ``_path``).
        self.known_records: dict[str, int] = {}
        self.state_of: dict[str, pl.DataFrame] = {}  # entity -> state of the rows that came back (warehouse diff)

    @property
    def org(self) -> str:
        """The org written to, asked of the CRM once, and only when a record needs it."""
        if self._org is None:
            self._org = org_of(self.conn)
        return self._org

    # -- schema gate ----------------------------------------------------------------
    def schema(self, od: ObjectDef) -> ObjectSchema:
        if od.api_name not in self.schemas:
            self.schemas[od.api_name] = self.conn.describe(od.api_name)
        schema = self.schemas[od.api_name]
        assert schema is not None
        return schema

    def gap(self, od: ObjectDef) -> FieldGap:
        """Required fields this user cannot write on the object; checked on every run, even with no record changed."""
        if od.api_name not in self.gaps:
            s = self.settings.object(od.name)
            create = self.settings.may_create(od.name)
            schema = self.schema(od) if (create or s.update) else None
            self.gaps[od.api_name] = field_gap(self.conn, od, s, schema=schema, create=create,
                                               settings_key=self.settings.path(od.name))
        return self.gaps[od.api_name]

    def missing_fields(self, od: ObjectDef) -> list[str]:
        return list(self.gap(od).names)

    def refused(self, od: ObjectDef, action: Action) -> tuple[str, str] | None:
        """``(reason, message)`` when the credentials may not do ``action`` on the object the settings ask of it.

        Reading (to match records) matters only when the settings write the object at all.
        """
        s = self.settings.object(od.name)
        if action == "read" and not (self.settings.may_create(od.name) or s.update):
            return None
        if od.api_name not in self.accesses:
            self.accesses[od.api_name] = self.conn.access(od.api_name)
        access = self.accesses[od.api_name]
        message = refusal(access, action, self.settings.path(od.name))
        return (access.reason, message) if message else None

    def fail_gap(self, od: ObjectDef, keys: pl.Series) -> None:
        """Every record of ``keys`` fails with the object's gate failure, named with its fix."""
        gap = self.gap(od)
        self.fail_all(od, keys, gap.reason, gap.message())

    def epoch(self, od: ObjectDef) -> str:
        """The object's field epoch (see :mod:`~dagster_pipeline.sync.state`), part of every fingerprint."""
        if od.api_name not in self.epochs:
            self.epochs[od.api_name] = self.store.field_epoch(self.crm, self.org, od.api_name,
                                                              self.missing_fields(od), record=self.mode == "sync")
        return self.epochs[od.api_name]

    def signature(self, *ods: ObjectDef) -> str:
        """What besides the record's own values decides its payload: settings and field epochs.

        A change in either changes every fingerprint of the object, so each record is compared
        with the CRM again (and only differences are written).
        """
        parts = {od.name: self.settings.object(od.name).model_dump(mode="json") for od in ods}
        epochs = {od.name: self.epoch(od) for od in ods}
        return json.dumps({"crm": self.crm, "workflow": self.workflow, "objects": parts, "fields": epochs},
                          sort_keys=True)

    # -- outcomes ---------------------------------------------------------------------
    def record(self, outcome: Outcome) -> None:
        self.log.add(outcome)
        if outcome.changes and outcome.action == "update" and len(self.samples) < self.sample_size:
            self.samples.append({
                "object": outcome.object, "key": outcome.key, "action": outcome.action,
                "changes": {f: {"old": _jsonable(o), "new": _jsonable(n)} for f, (o, n) in outcome.changes.items()},
            })

    def remember(self, od: ObjectDef, key: str, crm_object: str, crm_id: str | None, fp: str | None) -> None:
        if self.mode != "sync" or fp is None or crm_id is None:
            return
        self.state_rows.append({
            "crm": self.crm, "org": self.org, "workflow": self.workflow, "entity": od.entity, "key": key,
            "crm_object": crm_object, "crm_id": crm_id, "payload_hash": fp, "run_id": self.run_id,
            "synced_at": utcnow(),
        })

    def remember_frame(self, od: ObjectDef, keys: pl.Series, crm_ids: pl.Series, fps: pl.Series) -> None:
        """:meth:`remember` for many records at once (those the CRM already holds as we want them)."""
        if self.mode != "sync" or keys.len() == 0:
            return
        frame = pl.DataFrame({"key": keys, "crm_id": crm_ids.cast(pl.Utf8), "payload_hash": fps.cast(pl.Utf8)})
        frame = frame.filter(pl.col("crm_id").is_not_null() & pl.col("payload_hash").is_not_null())
        if frame.is_empty():
            return
        self.state_frames.append(frame.select(
            pl.lit(self.crm).alias("crm"), pl.lit(self.org).alias("org"), pl.lit(self.workflow).alias("workflow"),
            pl.lit(od.entity).alias("entity"), "key", pl.lit(od.api_name).alias("crm_object"), "crm_id",
            "payload_hash", pl.lit(self.run_id).alias("run_id"), pl.lit(utcnow()).alias("synced_at"),
        ).cast(STATE_SCHEMA))

    def state_frame(self) -> pl.DataFrame:
        """Every record this run remembers (:meth:`remember`, :meth:`remember_frame`), one frame."""
        rows = pl.DataFrame(self.state_rows, schema=STATE_SCHEMA)
        return pl.concat([rows, *self.state_frames], how="vertical") if self.state_frames else rows

    # -- the shared shape of a pass over one entity -----------------------------------
    def split_by_state(self, frame: pl.DataFrame, entity: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(unchanged since the last successful write, in play). ``frame`` has KEY and ``__hash``."""
        state = self.state_of.get(entity)
        if state is None:  # not read through the warehouse diff
            state = self.store.load_state(self.crm, self.org, self.workflow, entity).select(
                pl.col("key").alias(KEY), "crm_object", "crm_id", "payload_hash"
            )
        joined = frame.join(state, on=KEY, how="left")
        if self.full_refresh:
            same = pl.lit(False)
        else:
            same = (pl.col("__hash") == pl.col("payload_hash")) & pl.col("crm_id").is_not_null()
        return joined.filter(same), joined.filter(~same)

    def write(self, pending: list[_Pending], label: str) -> list[tuple[_Pending, RecordResult]]:
        """Send creates and updates for one object; returns each record's result."""
        if not pending:
            return []
        if self.stopped:
            return [(p, RecordResult(p.key, False, error_code=self.stop_reason, message=self.stopped))
                    for p in pending]
        od = pending[0].od
        out: list[tuple[_Pending, RecordResult]] = []
        creates = [p for p in pending if p.action == "create"]
        updates = [p for p in pending if p.action == "update"]
        try:
            if creates:
                out += zip(creates, self._create(od, creates), strict=True)
            if updates:
                out += zip(updates, self._update(od, updates), strict=True)
        except ApiLimitExhausted as exc:
            self.stopped, self.stop_reason = str(exc), stop_reason(exc)
            done = {id(p) for p, _ in out}
            out += [(p, RecordResult(p.key, False, error_code=self.stop_reason, message=str(exc)))
                    for p in pending if id(p) not in done]
        except AuthenticationError:
            raise
        except CrmError as exc:  # the call failed as a whole (after its retries): its records fail
            done = {id(p) for p, _ in out}
            out += [(p, RecordResult(p.key, False, error_code=exc.code or "write_failed", message=str(exc)))
                    for p in pending if id(p) not in done]
        return out

    # -- reads that failed, and records left without an outcome -----------------------------
    def drop_failed_reads(self, od: ObjectDef, frame: pl.DataFrame, failed: dict[str, str]) -> pl.DataFrame:
        """Fail the records whose CRM read failed (``read_failed``); the rest of ``frame`` goes on."""
        if not failed:
            return frame
        hit = frame.filter(pl.col(KEY).is_in(list(failed)))
        for key in hit[KEY].to_list():
            self.record(Outcome(od.api_name, key, "failed", "failed", reason="read_failed",
                                message=f"reading the record from the CRM failed: {failed[key]}"))
        return frame.filter(~pl.col(KEY).is_in(list(failed)))

    def note_known(self, in_play: pl.DataFrame) -> None:
        """Before a lookup: whether some of its keys were written by us before, and how many records
        of each object the state says we hold (added to the held ones in :attr:`known_records`)."""
        ours = in_play.filter(pl.col("crm_id").is_not_null())
        self.written_before = not ours.is_empty()
        for obj, n in ours.group_by("crm_object").len().iter_rows():
            if obj is not None:
                self.known_records[str(obj)] = self.known_records.get(str(obj), 0) + int(n)

    def entity_objects(self, entity: str) -> list[str]:
        """The CRM objects a record of ``entity`` may be logged under."""
        if entity == "company":
            return [self.company_object.api_name]
        return list(dict.fromkeys([self.person_object.api_name, *(od.api_name for od in self.person_objects)]))

    def fail_unaccounted(self, keyed: Keyed, reason: str, message: str) -> None:
        """Every kept row of ``keyed`` without an outcome yet fails with ``reason``."""
        objects = self.entity_objects(keyed.entity)
        seen = self.log.frame().filter(pl.col("object").is_in(objects))["key"]
        left = keyed.keys.filter(~keyed.keys.is_in(seen.implode()))
        od = self.company_object if keyed.entity == "company" else self.person_object
        self.fail_all(od, left, reason, message)

    def run(self, companies: Keyed, persons: Keyed) -> None:
        """Companies, then people linked to them. A read failing for a whole entity (describe,
        the org's identity) fails that entity's records with ``read_failed``; the other goes on."""
        steps: list[tuple[Keyed, Callable[[], None]]] = [
            (companies, lambda: self.companies(companies.frame)),
            (persons, lambda: self.persons(persons.frame, self.company_ids)),
        ]
        self.sources = {"company": companies.frame, "person": persons.frame}
        for keyed, step in steps:
            try:
                step()
            except (ApiLimitExhausted, AuthenticationError):
                raise
            except CrmError as exc:  # writes never raise these: a read failed after its retries
                self.fail_unaccounted(keyed, "read_failed", f"reading from the CRM failed: {exc}")

    # -- companies (the same shape on both CRMs) -----------------------------------------
    company_object: ObjectDef
    company_name_field: str
    person_object: ObjectDef
    person_objects: tuple[ObjectDef, ...]

    def find_companies(self, od: ObjectDef, domains: list[str], fields: list[str],
                       failed: dict[str, str]) -> dict[str, dict[str, Any]]:
        """The CRM's companies for ``domains`` (keys); a key whose read failed goes in ``failed``."""
        raise NotImplementedError

    def persons(self, frame: pl.DataFrame, company_ids: dict[str, str]) -> None:
        raise NotImplementedError

    def owned_by_another_key(self, od: ObjectDef, record: dict[str, Any], key: str) -> bool:
        """A company matched by its website/domain that carries our sync key for another domain
        belongs to that domain (a rep retyped its website): it is not this key's record. A sync
        key written before keys were normalised (``https://www.acme.io/``) is compared normalised."""
        f = od.sync_key_field
        theirs = record.get(f) if f else None
        return bool(theirs) and normalise_domain(str(theirs)) != key

    def sync_key_extra(self, od: ObjectDef, key: str) -> dict[str, tuple[Any, str]]:
        """Stamp our sync key on a matched record (if the field exists) so later creates stay idempotent."""
        f = od.sync_key_field
        if f and f in self.schema(od).fields:
            return {f: (key, "if_empty")}
        return {}

    def sync_key_exprs(self, od: ObjectDef) -> dict[str, tuple[pl.Expr, str]]:
        """:meth:`sync_key_extra` for every row: the key column, as an ``extra`` of :meth:`classify_rows`."""
        return {f: (pl.col(KEY), mode) for f, (_, mode) in self.sync_key_extra(od, "").items()}

    def companies(self, frame: pl.DataFrame) -> None:
        """Plan or write the workflow's companies; fills :attr:`company_ids` for linking people."""
        od = self.company_object
        ids = self.company_ids
        cannot_read = self.refused(od, "read")
        if cannot_read:  # nothing can be matched, so nothing can be written
            self.fail_all(od, frame[KEY], *cannot_read)
            return
        frame = with_fingerprint(frame, self.signature(od))
        desired = build_desired(od, self.settings.object(od.name), frame, workflow=self.workflow,
                                schema=self.schema(od), path=self.settings.path(od.name))
        unchanged, in_play = self.split_by_state(desired.frame, "company")
        # Companies already in the CRM can still be linked to, whatever happens to their own write.
        ids.update(dict(zip(unchanged[KEY].to_list(), unchanged["crm_id"].to_list(), strict=True)))
        if self.gap(od):  # every record of the object fails, unchanged ones too: the user must hear of it
            self.fail_gap(od, pl.concat([unchanged[KEY], in_play[KEY]]))
            return
        self.log.add_bulk(od.api_name, unchanged[KEY], "unchanged", "unchanged", crm_ids=unchanged["crm_id"])
        if in_play.is_empty():
            return
        failed: dict[str, str] = {}
        self.note_known(in_play)
        current = self.find_companies(od, in_play[KEY].to_list(), desired.fields, failed)
        in_play = self.drop_failed_reads(od, in_play, failed)
        found = in_play.filter(pl.col(KEY).is_in(list(current)))
        for key in found[KEY].to_list():
            cur = current[key]
            ids[key] = cur.get("Id") or cur["id"]
        decisions = self.classify_rows(od, found, current, desired.modes, extra=self.sync_key_exprs(od))
        pending = [p for _, decide in decisions if (p := decide())]
        new = in_play.filter(~pl.col(KEY).is_in(list(current)))
        chunks: Iterable[list[_Pending]] = ()
        if not self.settings.object(od.name).create:
            self.skip_all(od, new[KEY], "create_disabled")
        elif cannot_create := self.refused(od, "create"):
            self.fail_all(od, new[KEY], *cannot_create)
        else:
            chunks = self.new_records(od, new, desired.modes, defaults={self.company_name_field: pl.col(KEY)},
                                      deleted=_deleted(new))
        if self.mode == "plan":
            self.plan_only(pending)
            for _ in chunks:  # planned creates are logged column-wise; nothing to write
                pass
            return
        for batch in (pending, *chunks):
            results = self.write(batch, od.api_name)
            self.settle(results)
            for p, r in results:
                crm_id = r.crm_id or p.crm_id
                if r.ok and crm_id:
                    ids[p.key] = crm_id

    def _create(self, od: ObjectDef, creates: list[_Pending]) -> list[RecordResult]:
        raise NotImplementedError

    def _update(self, od: ObjectDef, updates: list[_Pending]) -> list[RecordResult]:
        raise NotImplementedError

    def settle(self, results: list[tuple[_Pending, RecordResult]]) -> None:
        for p, r in results:
            if r.ok:
                crm_id = r.crm_id or p.crm_id
                self.record(Outcome(p.od.api_name, p.key, p.action, "succeeded", crm_id=crm_id, reason=p.reason,
                                    changes=p.changes or _names(p), message="; ".join(p.notes) or None))
                self.remember(p.od, p.key, p.od.api_name, crm_id, p.fingerprint)
            else:
                reason = r.error_code or "error"
                self.record(Outcome(p.od.api_name, p.key, p.action, "failed", reason=reason, crm_id=p.crm_id,
                                    changes=p.changes or _names(p), message=r.message))

    def new_records(self, od: ObjectDef, rows: pl.DataFrame, modes: dict[str, str], *,
                    defaults: dict[str, Any] | None = None, extra: dict[str, pl.Expr] | None = None,
                    link: bool = False, deleted: pl.Series | None = None) -> Iterator[list[_Pending]]:
        """Creates for records the CRM does not hold, built column-wise.

        ``deleted`` names the keys we had synced before and the CRM no longer holds (a rep
        deleted them): they are created again, logged with reason ``deleted_in_crm``.

        A new record has no current value to compare, so every non-null desired field is written:
        no per-record diff is needed. ``defaults`` fill required fields the warehouse left empty,
        ``extra`` adds computed columns (our sync key, the Account link). In ``plan`` mode the
        planned creates go to the log as one frame and nothing is yielded; in ``sync`` mode the
        records are yielded in chunks of about :data:`CREATE_CHUNK_BYTES` of values for the caller to write.

        While a ramp runs, the creates beyond its allowance are ``skipped: ramp_limit`` first
        (:meth:`hold_back`).
        """
        rows = self.hold_back(od, rows)
        if rows.is_empty():
            return
        schema = self.schema(od)
        exprs: list[pl.Expr] = []
        for f in modes:
            e = pl.col(f)
            if rows.schema[f] == pl.Utf8:
                e = pl.when(e.str.strip_chars() == "").then(None).otherwise(e)
            if defaults and f in defaults and f in schema.fields:
                e = pl.coalesce(e, _expr(defaults[f]))
            exprs.append(e.alias(f))
        present = set(modes)
        for f, value in (defaults or {}).items():
            if f not in present and f in schema.fields:
                exprs.append(_expr(value).alias(f))
                present.add(f)
        for f, e in (extra or {}).items():
            exprs.append(e.alias(f))
            present.add(f)
        company = pl.col(COMPANY_ID) if link and COMPANY_ID in rows.columns else pl.lit(None, dtype=pl.Utf8)
        gone = deleted.implode() if deleted is not None else pl.lit([], dtype=pl.List(pl.Utf8))
        reason = pl.when(pl.col(KEY).is_in(gone)).then(pl.lit("deleted_in_crm")).otherwise(pl.lit(None, pl.Utf8))
        payloads = rows.select(pl.col(KEY), pl.col("__hash"), pl.col(NOTES), company.alias(COMPANY_ID),
                               reason.alias("__reason"), *exprs)
        fields = sorted(present)
        if self.mode == "plan":
            names = [pl.when(pl.col(f).is_not_null()).then(pl.lit(f)) for f in fields]
            if link:
                names.append(pl.when(pl.col(COMPANY_ID).is_not_null()).then(pl.lit("(company link)")))
            self.log.add_frame(payloads.select(
                pl.lit(od.api_name).alias("object"), pl.col(KEY).alias("key"), pl.lit(None).alias("crm_id"),
                pl.lit("create").alias("action"), pl.lit("planned").alias("status"), pl.col("__reason").alias("reason"),
                pl.concat_str(names, separator=",", ignore_nulls=True).alias("changed_fields"),
                pl.lit(None).alias("message"),
            ))
            for row in payloads.head(max(0, self.sample_size - len(self.samples))).iter_rows(named=True):
                self.samples.append({"object": od.api_name, "key": row[KEY], "action": "create", "changes": {
                    f: {"old": None, "new": _jsonable(row[f])} for f in fields if row[f] is not None}})
            return
        for chunk in _byte_slices(payloads, fields, CREATE_CHUNK_BYTES):
            pending = []
            for row in chunk.iter_rows(named=True):
                payload = {f: _py(row[f]) for f in fields if row[f] is not None}
                pending.append(_Pending(od, row[KEY], "create", payload, {}, fingerprint=row["__hash"],
                                        company_id=row[COMPANY_ID], notes=tuple(row[NOTES] or ()),
                                        reason=row["__reason"]))
            yield pending

    def hold_back(self, od: ObjectDef, rows: pl.DataFrame) -> pl.DataFrame:
        """The creates the ramp lets through this run, highest intent first; the rest ``skipped: ramp_limit``."""
        allowance = self.ramp.allowance(self.ramp_used) if self.ramp else None
        if allowance is None or rows.is_empty():
            return rows
        if rows.height <= allowance:
            self.ramp_used += rows.height
            return rows
        source = self.sources.get(od.entity, pl.DataFrame({KEY: rows[KEY]}))
        columns = [c for c, _ in PRIORITY if c in source.columns]
        ranked = order_by_intent(source.select(KEY, *columns).filter(pl.col(KEY).is_in(rows[KEY].implode())), KEY)
        keep, held = ranked[KEY].head(allowance), ranked[KEY].slice(allowance)
        self.skip_all(od, held, "ramp_limit")
        self.ramp_used += keep.len()
        return rows.filter(pl.col(KEY).is_in(keep.implode()))

    def plan_only(self, pending: list[_Pending]) -> None:
        for p in pending:
            self.record(Outcome(p.od.api_name, p.key, p.action, "planned", crm_id=p.crm_id, changes=p.changes,
                                reason=p.reason))

    def fail_all(self, od: ObjectDef, keys: pl.Series, reason: str, message: str) -> None:
        self.log.add_bulk(od.api_name, keys, "failed", "failed", reason=reason, message=message)

    def skip_all(self, od: ObjectDef, keys: pl.Series, reason: str) -> None:
        self.log.add_bulk(od.api_name, keys, "skipped", "skipped", reason=reason)


def _byte_slices(frame: pl.DataFrame, fields: list[str], limit: int) -> Iterator[pl.DataFrame]:
    """``frame`` cut into consecutive slices whose ``fields`` hold about ``limit`` bytes of text each.

    Each row is estimated as its values' text lengths plus a comma and quotes per field (a CSV
    row, a little over), computed column-wise; a row alone over ``limit`` still gets a slice.
    """
    if frame.is_empty():
        return
    if not fields:
        yield frame
        return
    size = pl.sum_horizontal([pl.col(f).cast(pl.Utf8).str.len_bytes().fill_null(0) + 3 for f in fields]) + 1
    cum = frame.select(size.cum_sum().alias("c"))["c"]
    start = 0
    base = 0
    for i, c in enumerate(cum.to_list()):
        if c - base > limit and i > start:
            yield frame.slice(start, i - start)
            start, base = i, cum[i - 1]
    yield frame.slice(start)


def _deleted(in_play_new: pl.DataFrame) -> pl.Series:
    """Keys of records about to be created that we had written before: the CRM lost them since."""
    return in_play_new.filter(pl.col("crm_id").is_not_null())[KEY]


def _with_company_id(frame: pl.DataFrame, company_ids: dict[str, str]) -> pl.DataFrame:
    """Add ``__company_id``: the CRM id of the company each person links to (null if none yet).

    ``company_domain`` is already the company's key (:func:`~dagster_pipeline.sync.keys.key_rows`).
    """
    domain = pl.col("company_domain").cast(pl.Utf8)
    ids = domain.replace_strict(company_ids, default=None, return_dtype=pl.Utf8)
    if HELD_COMPANY_ID in frame.columns:  # companies the warehouse held (unchanged) keep their state's id
        ids = pl.coalesce(ids, pl.col(HELD_COMPANY_ID).cast(pl.Utf8))
    return frame.with_columns(ids.alias(COMPANY_ID))


def _expr(value: Any) -> pl.Expr:
    return value if isinstance(value, pl.Expr) else pl.lit(value)


def _names(p: _Pending) -> dict[str, tuple[Any, Any]]:
    """Field names of a create, for the log's changed_fields (values are not kept per record)."""
    names: dict[str, tuple[Any, Any]] = dict.fromkeys(p.payload, (None, None))
    if p.company_id:
        names["(company link)"] = (None, None)
    return names


def _jsonable(v: Any) -> Any:
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    return v


def _rows(frame: pl.DataFrame) -> Iterable[dict[str, Any]]:
    return frame.iter_rows(named=True)


# ------------------------------------------------------------------------------------------


def org_of(connector: Any) -> str:
    """The identity of the org the connector writes to: state and field epochs are kept per org."""
    return str(connector.org_id())
