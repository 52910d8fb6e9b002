"""The sync engine: one workflow's sync models in, CRM records out, every record accounted for.

Flow for one workflow (DESIGN.md "Data flow"):

1. read the workflow's two sync models from the warehouse, check the settings against their
   columns (before any CRM call), and key every row (:mod:`~dagster_pipeline.sync.keys`): a
   row without a usable key fails ``missing_key``, a second row of a key is ``duplicate_key``;
2. **schema gate** — describe each CRM object once; if a required field is missing (or hidden
   from this user by field-level security), every record of that object fails with
   ``missing_required_field`` (or ``field_not_visible``) and nothing of it is written
   (:mod:`~dagster_pipeline.sync.gate`);
3. **fingerprint** each record; one equal to the last *successful* write is ``unchanged``
   without any CRM read. This runs in the warehouse (:mod:`~dagster_pipeline.sync.warehouse_diff`):
   unchanged rows never leave it, their outcome is logged there, and only new and changed rows
   (with their state) come back to be keyed and diffed here;
4. for the rest, **read CRM state** for just those keys, **diff** field by field, and classify
   (create / update of changed fields only / unchanged / skipped / failed);
5. **apply** (``sync`` only): companies first, then people linked to them; idempotent creates
   keyed on our sync key; per-record errors isolated;
6. write the sync log and the new state to the warehouse — also for a run that stopped or
   failed part-way, so what was written is remembered;
7. check the **accounting invariant**: every row of each sync model has exactly one outcome
   row. A run that cannot keep it raises :class:`AccountingError` rather than under-report.

Failures are isolated where they happen: a read that fails after its retries fails the
records it was for (``read_failed``), a write failure fails the records it carried; the rest
of the run goes on. The daily API allocation spent stops the run cleanly (what is left fails
``api_limit_exhausted``, or ``api_budget_reserved`` when the run stopped at ``sync.api_reserve``,
the share kept for the org's other integrations); anything else that stops it (refused
credentials, a bug) fails what is left with ``run_aborted``, writes the log, and raises.

This module holds :func:`run_workflow` and what surrounds a pass (the warehouse diff before it,
the log, the state and the accounting after it); the shape every pass shares (:class:`_Pass`:
the gate, fingerprints, the diff, creates built column-wise, outcomes) is
:mod:`~dagster_pipeline.sync.passes`, and how each CRM finds and writes its records is
:mod:`~dagster_pipeline.sync.salesforce_pass` and :mod:`~dagster_pipeline.sync.hubspot_pass`.

The engine knows nothing of Dagster. It takes a connector object (``SalesforceConnector`` /
``HubSpotConnector``), never a Dagster resource.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from connectors.errors import ApiLimitExhausted, CrmError
from connectors.progress import Progress, ReportsProgress
from connectors.warehouse import SYNC_SCHEMA
from dagster_pipeline.sync.catalog import OBJECTS, sync_model
from dagster_pipeline.sync.keys import KEY, key_rows, normalise_domain
from dagster_pipeline.sync.outcomes import (
    AccountingError,
    ObjectSummary,
    accounting_problems,
    summarise,
)
from dagster_pipeline.sync.passes import Mode, _Pass, stop_reason
from dagster_pipeline.sync.ramp import RampStore, open_ramp
from dagster_pipeline.sync.records import check_columns
from dagster_pipeline.sync.segments import segment_hash
from dagster_pipeline.sync.settings import CRM_OBJECTS, Settings
from dagster_pipeline.sync.state import LOG_TABLE, PLAN_TABLE, SCHEMA, SyncStore, TableStore, utcnow
from dagster_pipeline.sync.warehouse_diff import (
    ST_CRM_ID,
    ST_HASH,
    ST_OBJECT,
    Held,
    Side,
    WarehouseDiff,
)
from dagster_pipeline.sync.window import stage_window


@dataclass
class WorkflowResult:
    workflow: str
    crm: str
    mode: Mode
    run_id: str
    own_log: pl.DataFrame  # the outcomes decided here (rows that left the warehouse)
    summary: dict[str, ObjectSummary]
    api_calls: dict[str, int]
    samples: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early (daily allocation spent…)
    ramp: dict[str, Any] | None = None  # the workflow's ramp after this run (None: no ramp settings)
    held: Held | None = None  # the unchanged rows the warehouse kept and logged itself
    warehouse: Any = None
    _full_log: pl.DataFrame | None = None

    @property
    def log(self) -> pl.DataFrame:
        """Every outcome of the run: :attr:`own_log` and, read back on first use, the held rows.

        Held rows are read from the warehouse only when asked for (a report, a test): a run that
        changed nothing brings nothing back unless its caller wants the whole log.
        """
        if self.held is None or not self.held.total or self.held.table is None:
            return self.own_log
        if self._full_log is None:
            kept = SyncStore(self.warehouse).read_log(self.run_id, table=self.held.table)
            kept = kept.join(self.own_log.select("object", "key"), on=["object", "key"], how="anti")
            self._full_log = pl.concat([self.own_log, kept.select(self.own_log.columns).cast(self.own_log.schema)])
        return self._full_log

    @property
    def failed(self) -> int:
        return sum(s.failed_total for s in self.summary.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "crm": self.crm,
            "mode": self.mode,
            "run_id": self.run_id,
            "objects": {k: v.as_dict() for k, v in self.summary.items()},
            "api_calls": self.api_calls,
            "stopped": self.stopped,
            "ramp": self.ramp,
        }



def run_workflow(
    workflow: str,
    settings: Settings,
    warehouse: TableStore,
    connector: Any,
    *,
    mode: Mode = "sync",
    full_refresh: bool = False,
    run_id: str | None = None,
    progress: Progress | None = None,
    sample_size: int = 20,
    persons: pl.DataFrame | None = None,
    companies: pl.DataFrame | None = None,
    segment: str | None = None,
    window: tuple[dt.date, dt.date] | None = None,
) -> WorkflowResult:
    """Plan or sync one workflow; every row of its two sync models gets exactly one outcome.

    Raises :class:`ConfigError` before any CRM call when the settings do not fit the sync
    models, :class:`AccountingError` (after writing the log) when the outcomes do not account
    for every row, and re-raises what stopped a run part-way (after failing what was left with
    ``run_aborted`` and writing the log and state of what was done).

    ``segment`` identifies the workflow's segment for the ramp guard (default: the hash of its
    rules in the dbt project, :func:`~dagster_pipeline.sync.segments.segment_hash`); it is read
    only when the settings give the workflow a ``ramp``.

    ``progress`` receives the connector's reads, writes and Bulk polls batch by batch
    (:mod:`connectors.progress`) while this workflow runs.

    ``window`` (first and last activity dates, inclusive) syncs only the records of those days
    (:mod:`~dagster_pipeline.sync.window`), selected in the warehouse: the models are never read
    into Python to be filtered, and "every row" above means every row of the window. ``persons``
    / ``companies`` replace the models by frames (tests, a caller that built them); a window
    applies to them as well.
    """
    run_id = run_id or uuid.uuid4().hex[:12]
    run_at = utcnow()
    store = SyncStore(warehouse)
    crm = settings.crm
    wh: Any = warehouse
    scratch: list[tuple[str, str]] = []
    try:
        sources = _stage_inputs(wh, run_id, workflow, scratch, window=window, companies=companies, persons=persons)
        return _run(workflow, settings, wh, store, connector, mode=mode, full_refresh=full_refresh, run_id=run_id,
                    run_at=run_at, progress=progress, sample_size=sample_size, segment=segment, crm=crm,
                    sources=sources)
    finally:
        for schema, table in scratch:
            try:
                wh.drop(table, schema=schema)
            except Exception:  # a scratch table left behind is harmless; the run's outcome is not
                pass


def _stage_inputs(warehouse: Any, run_id: str, workflow: str, scratch: list[tuple[str, str]], *,
                  window: tuple[dt.date, dt.date] | None, **frames: pl.DataFrame | None) -> dict[str, tuple[str, str]]:
    """Where the diff reads each sync model: ``entity -> (schema, table)``.

    The models dbt built (in the warehouse's sync schema), unless given as frames: those are
    written to scratch tables, so they take the same SQL path. A ``window`` then copies the
    rows of its days into scratch tables in the warehouse (:func:`~dagster_pipeline.sync.window.stage_window`).
    Every scratch table is added to ``scratch`` as it is made, for the caller to drop.
    """
    # Named by run and workflow: one Dagster run may sync several workflows, and its run id is theirs.
    tag = f"{run_id}_{workflow}"
    schema = getattr(warehouse, "sync_schema", SYNC_SCHEMA)
    out: dict[str, tuple[str, str]] = {"company": (schema, sync_model(workflow, "company")),
                                       "person": (schema, sync_model(workflow, "person"))}
    for name, frame in frames.items():
        if frame is None:
            continue
        entity = "company" if name == "companies" else "person"
        table = f"input_{tag}_{entity}"
        warehouse.drop(table, schema=SCHEMA)
        scratch.append((SCHEMA, table))
        frame = frame.with_columns(pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if t == pl.Null)
        warehouse.append(table, frame, schema=SCHEMA)
        out[entity] = (SCHEMA, table)
    if window is not None:
        out = stage_window(warehouse, tag, out, *window, scratch=scratch)
    return out


def _run(workflow: str, settings: Settings, warehouse: Any, store: SyncStore, connector: Any, *, mode: Mode,
         full_refresh: bool, run_id: str, run_at: dt.datetime, progress: Progress | None, sample_size: int,
         segment: str | None, crm: str, sources: dict[str, tuple[str, str]]) -> WorkflowResult:
    columns = {e: warehouse.columns(t, schema=s) for e, (s, t) in sources.items()}
    enabled = settings.workflow_enabled(workflow)
    if enabled:  # before the first CRM call: a bad setting writes nothing anywhere
        check_config(workflow, settings, columns["person"], columns["company"])
    ramp_settings = settings.ramp(workflow) if enabled else None
    if ramp_settings is not None and segment is None:
        segment = segment_hash(workflow)  # a segment the project cannot state stops the run here
    # Imported here: each CRM's pass builds on this module's _Pass.
    from dagster_pipeline.sync.hubspot_pass import HubSpotPass
    from dagster_pipeline.sync.salesforce_pass import SalesforcePass

    cls = SalesforcePass if crm == "salesforce" else HubSpotPass
    calls_before = _calls(connector)
    p = cls(workflow, settings, connector, store, mode=mode, full_refresh=full_refresh, run_id=run_id,
            sample_size=sample_size)
    diff = _diff(p, warehouse, sources, enabled=enabled)
    held, totals = diff.hold(table=LOG_TABLE if mode == "sync" else PLAN_TABLE, run_id=run_id, run_at=run_at,
                             mode=mode, replace_workflow=mode == "plan")
    p.known_records = dict(held.counts)  # records of ours the CRM holds, for the read cost model
    returned = {side.entity: diff.returned(side, expected=totals[side.entity] - held.by_entity.get(side.entity, 0))
                for side in (diff.company, diff.person)}
    keyed_companies = key_rows(returned["company"], "company", obj=p.company_object.api_name,
                               model=sync_model(workflow, "company"))
    keyed_persons = key_rows(returned["person"], "person", obj=p.person_object.api_name,
                             model=sync_model(workflow, "person"))
    for keyed in (keyed_companies, keyed_persons):
        p.state_of[keyed.entity] = keyed.frame.select(
            KEY, pl.col(ST_OBJECT).alias("crm_object"), pl.col(ST_CRM_ID).alias("crm_id"),
            pl.col(ST_HASH).alias("payload_hash"))
    p.log.add_frame(keyed_companies.dropped)
    p.log.add_frame(keyed_persons.dropped)
    aborted: Exception | None = None
    if not enabled:
        p.skip_all(p.company_object, keyed_companies.keys, "workflow_disabled")
        p.skip_all(p.person_object, keyed_persons.keys, "workflow_disabled")
    else:
        # The connector reports its reads, writes and Bulk polls batch by batch (connectors.progress).
        reporting = isinstance(connector, ReportsProgress)
        before = connector.progress if reporting else None
        if reporting:
            connector.progress = progress
        try:
            if ramp_settings is not None:
                p.ramp = open_ramp(ramp_settings, RampStore(warehouse), crm=crm, org=p.org, workflow=workflow,
                                   segment=str(segment))
            p.run(keyed_companies, keyed_persons)
        except ApiLimitExhausted as exc:  # nothing more can be done today (or within the reserve)
            p.stopped, p.stop_reason = str(exc), stop_reason(exc)
            for keyed in (keyed_companies, keyed_persons):
                p.fail_unaccounted(keyed, p.stop_reason, str(exc))
        except Exception as exc:  # refused credentials, a bug: account for everything, then raise
            aborted = exc
            for keyed in (keyed_companies, keyed_persons):
                p.fail_unaccounted(keyed, "run_aborted", f"the run stopped before this record: {exc}")
        finally:
            if reporting:
                connector.progress = before
    log = p.log.log_frame(run_id=run_id, run_at=run_at, mode=mode, workflow=workflow, crm=crm, org=p._org)
    problems = accounting_problems(log, [(k, p.entity_objects(k.entity)) for k in (keyed_companies, keyed_persons)])
    for keyed in (keyed_companies, keyed_persons):
        kept = sum(n for obj, n in held.counts.items() if obj in p.entity_objects(keyed.entity))
        if keyed.rows + kept != totals[keyed.entity]:
            problems.append(f"{keyed.entity} rows: {totals[keyed.entity]} in the model, {keyed.rows} read and "
                            f"{kept} left unchanged in the warehouse")
    ramp = p.ramp
    if ramp is not None:
        created_now = log.filter((pl.col("action") == "create") & (pl.col("status") == "succeeded")).height
        ramp = ramp.after(created_now, utcnow()) if mode == "sync" else ramp
    if mode == "sync":
        try:
            store.append_log(log)
            state = p.state_frame()
            if not state.is_empty():
                store.save_state(state)
            if ramp is not None and ramp.unrecorded:
                RampStore(warehouse).append(ramp.row(crm, p.org, run_id, utcnow()))
        except Exception:
            if aborted is None:
                raise
            # The warehouse failing too: the run's own error is the one to report.
    if aborted is not None:
        raise aborted
    if problems:
        raise AccountingError(f"{workflow}: the sync log does not account for every row of the sync models: "
                              + "; ".join(problems))
    calls_after = _calls(connector)
    api = {k: calls_after[k] - calls_before[k] for k in calls_after}
    held_count = log.filter(pl.col("reason") == "ramp_limit").height
    summary = summarise(log)
    for obj, n in held.counts.items():
        summary.setdefault(obj, ObjectSummary()).unchanged += n
    return WorkflowResult(workflow, crm, mode, run_id, log, summary, api, p.samples, p.stopped,
                          ramp=ramp.as_dict(held_count) if ramp is not None else None, held=held,
                          warehouse=warehouse)


def _diff(p: _Pass, warehouse: Any, sources: dict[str, tuple[str, str]], *, enabled: bool) -> WarehouseDiff:
    """The run's warehouse diff, and which unchanged rows it may keep in the warehouse.

    Rows are held only where Python would log them ``unchanged``: not for a disabled workflow,
    an object the credentials cannot read, or one missing a required field (its unchanged
    records fail too). Deciding that asks the CRM what the pass asks anyway (org, describe,
    access); when one of those calls fails nothing is held and the pass meets (and handles)
    the same failure as ever.
    """
    store = p.store
    store.prepare()
    company = Side("company", *sources["company"], "domain", warehouse.raw_columns(sources["company"][1],
                                                                                   schema=sources["company"][0]))
    person = Side("person", *sources["person"], "email", warehouse.raw_columns(sources["person"][1],
                                                                              schema=sources["person"][0]))
    org = ""
    if enabled:
        try:
            org = p.org
            co = p.company_object
            company.signature = p.signature(co)
            person.signature = p.signature(*p.person_objects)
            if not p.full_refresh:
                company.hold = not p.refused(co, "read") and not p.gap(co)
                person.hold = not any(p.refused(od, "read") for od in p.person_objects)
                person.objects = tuple(od.api_name for od in p.person_objects if not p.gap(od))
        except Exception:  # noqa: BLE001 - the pass meets the same failure and handles it
            company.hold = person.hold = False
    diff = WarehouseDiff(warehouse, crm=p.crm, org=org, workflow=p.workflow, company=company, person=person)
    diff.map_keys()
    return diff


def check_config(workflow: str, settings: Settings, person_columns: list[str], company_columns: list[str]) -> None:
    """Every object's settings against the workflow's sync-model columns; :class:`ConfigError` if not.

    Every object of the CRM is checked, whatever its switches: a ``field_mapping`` naming a
    column the model lacks, or a model without a column the standard fields or Warmly data are
    written from, stops the run before its first CRM call.
    """
    for name in CRM_OBJECTS[settings.crm]:
        od = OBJECTS[settings.crm][name]
        person = od.entity == "person"
        columns = set(person_columns if person else company_columns)
        check_columns(od, settings.object(name), columns, model=sync_model(workflow, od.entity),
                      path=settings.path(name))


def preflight(workflows: Iterable[str], settings: Settings, warehouse: Any) -> None:
    """:func:`check_config` for every enabled workflow, before any of them runs.

    A command that runs several workflows calls this first, so a setting that fits one
    workflow's models but not another's stops everything before anything was written.
    Reads only the models' column names when the warehouse can (``Warehouse.columns``).
    """
    for wf in workflows:
        if not settings.workflow_enabled(wf):
            continue
        check_config(wf, settings, _columns(warehouse, sync_model(wf, "person")),
                     _columns(warehouse, sync_model(wf, "company")))


def _columns(warehouse: Any, model: str) -> list[str]:
    columns = getattr(warehouse, "columns", None)
    if callable(columns):
        return list(columns(model))
    return list(warehouse.read_model(model).columns)


def _calls(connector: Any) -> dict[str, int]:
    calls = getattr(connector, "calls", None)
    if calls is None:
        return {"reads": 0, "writes": 0}
    return {"reads": calls.reads, "writes": calls.writes}


__all__ = ["run_workflow", "check_config", "preflight", "WorkflowResult", "AccountingError", "CrmError",
           "normalise_domain"]
