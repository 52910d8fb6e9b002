"""CRM assets: the object schema with its required-fields check, and one sync asset per workflow.

Thin glue: every decision is the engine's (``dagster_pipeline.sync``); these functions only
unwrap resources, call it, and turn its result into Dagster metadata. No credential ever
reaches metadata: we publish counts, reasons, record keys and field names only.

A partitioned sync writes the records of its days (``dagster_pipeline.sync.window``) and reports
each day on that day's partition, through ``context.add_asset_metadata(…, partition_key=…)``:
Dagster's way for one run over a range to give each partition its own metadata. So a backfill's
partitions plot day by day and add up to the run. What cannot be split by day — the API calls,
which are batched across days — is reported once per run under ``run_…`` names.
"""

# No `from __future__ import annotations`: Dagster inspects the real `context` annotation.

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
    asset_check,
)
from dagster_dbt import get_asset_key_for_model

from connectors.budget import org_slug, token_digest
from connectors.errors import WritebackError
from dagster_pipeline.defs.dbt import warehouse_dbt
from dagster_pipeline.defs.partitions import daily_partitions, partition_day, run_window, single_run
from dagster_pipeline.defs.resources import CrmResource, WarehouseResource
from dagster_pipeline.sync.catalog import OBJECTS, sync_model
from dagster_pipeline.sync.engine import WorkflowResult, run_workflow
from dagster_pipeline.sync.gate import field_gap
from dagster_pipeline.sync.outcomes import ObjectSummary, summarise
from dagster_pipeline.sync.settings import CRMS, WORKFLOWS, load_settings
from dagster_pipeline.sync.window import WindowSql, outcomes_by_day

OWNERS = ["team:revops-data"]
GROUP = "crm_sync"
CRM_FIELDS = AssetKey("crm_fields")
MAX_FAILURE_RATE = float(os.environ.get("WRITEBACK_MAX_FAILURE_RATE", "0.05"))

WORKFLOW_DESCRIPTIONS = {
    "website_visitor": "Identified website visitors (people and companies) in the website-visitor segment.",
    "inbound_agent": "Visitors who engaged the chat agent, in the inbound-agent segment.",
    "outbound_agent": "People and companies picked by orchestrations with a Sync to CRM step.",
}


def crm_kinds() -> set[str]:
    """The CRM shown as the assets' kind: ``WRITEBACK_CRM``, else the settings file's ``crm:``.

    Only a label in the UI, so the settings are not required to be valid here: a file with a typo
    shows no CRM kind, and the code location still loads. Each run reads and validates the settings
    when it starts (``CrmResource.load_settings``) and fails there, with one line naming the key.
    """
    chosen = os.environ.get("WRITEBACK_CRM")
    if not chosen:
        try:
            chosen = load_settings().crm
        except WritebackError:
            return set()
    return {chosen} if chosen in CRMS else set()


@asset(
    key=CRM_FIELDS,
    group_name=GROUP,
    owners=OWNERS,
    kinds=crm_kinds(),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    description="The fields each CRM object has now (Salesforce describe / HubSpot properties), read once per run.",
)
def crm_fields(crm: CrmResource) -> MaterializeResult:
    settings = crm.load_settings()
    connector = crm.connector(settings)
    counts = {}
    for od in OBJECTS[settings.crm].values():
        schema = connector.describe(od.api_name)
        counts[od.api_name] = len(schema.fields)
    return MaterializeResult(metadata={"crm": settings.crm, "fields_per_object": MetadataValue.json(counts)})


@asset_check(asset=CRM_FIELDS, blocking=True, name="required_custom_fields_present",
             description="Every Warmly field (and our sync key) the object settings need exists on its CRM object "
                         "and is visible and writable to the integration user. Blocks the syncs: a missing or "
                         "hidden field would fail every record of that object.")
def required_custom_fields_present(crm: CrmResource) -> AssetCheckResult:
    settings = crm.load_settings()
    connector = crm.connector(settings)
    missing: dict[str, list[str]] = {}
    messages: list[str] = []
    for name, od in OBJECTS[settings.crm].items():
        gap = field_gap(connector, od, settings.object(name), create=settings.may_create(name),
                        settings_key=settings.path(name))
        if gap:
            missing[od.api_name] = list(gap.names)
            messages.append(gap.message())
    description = "All required fields present and usable." if not missing else " ".join(messages)
    return AssetCheckResult(
        passed=not missing,
        severity=AssetCheckSeverity.ERROR,
        description=description,
        metadata={"missing_fields": MetadataValue.json(missing), "crm": settings.crm},
    )


#: The columns of ``failed_records``: enough to find the record in the CRM and fix it.
FAILED_SCHEMA = TableSchema(columns=[
    TableColumn("object", "string", description="CRM object (Lead, Contact, Account, contacts, companies)"),
    TableColumn("key", "string", description="the record's email or domain"),
    TableColumn("reason", "string", description="why it failed: ours (missing_key, …) or the CRM's error code"),
    TableColumn("message", "string", description="the CRM's message, shortened"),
])
FAILED_ROWS = 20


def failed_records(log: pl.DataFrame, limit: int = FAILED_ROWS) -> MetadataValue:
    """The first ``limit`` failed records as a table (all of them are in ``writeback.sync_log``)."""
    failed = log.filter(pl.col("status") == "failed").head(limit)
    return MetadataValue.table(
        records=[TableRecord({"object": row["object"], "key": row["key"], "reason": row["reason"] or "",
                              "message": (row["message"] or "").replace("\n", " ")[:160]})
                 for row in failed.iter_rows(named=True)],
        schema=FAILED_SCHEMA,
    )


def outcome_metadata(log: pl.DataFrame, unchanged: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Counts of a set of outcome rows (a run, or one day of it), as integers Dagster plots.

    Totals by action (``created`` …), the same per CRM object (``Lead created`` …), and per reason
    (``Lead skipped: create_disabled``, ``Contact failed: UNABLE_TO_LOCK_ROW``, ``Lead drift: Title``).
    ``unchanged`` adds ``unchanged`` rows counted elsewhere (per CRM object): the rows the warehouse
    kept, which are counted there and never read back (:attr:`WorkflowResult.held`).
    """
    summary = summarise(log)
    for obj, n in (unchanged or {}).items():
        summary.setdefault(obj, ObjectSummary()).unchanged += n
    summary = dict(sorted(summary.items()))
    meta: dict[str, Any] = {}
    per_object: dict[str, int] = {}
    totals = dict.fromkeys(("created", "updated", "unchanged", "skipped", "failed"), 0)
    for obj, s in sorted(summary.items()):
        counts = {"created": s.created, "updated": s.updated, "unchanged": s.unchanged,
                  "skipped": s.skipped_total, "failed": s.failed_total}
        for action, n in counts.items():
            totals[action] += n
            per_object[f"{obj} {action}"] = n
        for kind, reasons in (("skipped", s.skipped), ("failed", s.failed), ("drift", s.drift)):
            for reason, n in sorted(reasons.items()):
                per_object[f"{obj} {kind}: {reason}"] = n
        if s.deleted_in_crm:
            per_object[f"{obj} deleted in CRM"] = s.deleted_in_crm
    meta.update({k: MetadataValue.int(v) for k, v in totals.items()})
    meta.update({k: MetadataValue.int(v) for k, v in per_object.items()})
    meta["failed_records"] = failed_records(log)
    return meta


def run_metadata(result: WorkflowResult, window: tuple[dt.date, dt.date] | None) -> dict[str, Any]:
    """What belongs to the whole run, the same on each of its partitions: named ``run_…``.

    The sync log's ``run_id`` is Dagster's run id (see the sync asset), so the run needs no id here.
    """
    meta: dict[str, Any] = {f"run_api_{kind}": MetadataValue.int(n) for kind, n in sorted(result.api_calls.items())}
    if window:
        meta["run_days"] = MetadataValue.text(f"{window[0]} … {window[1]}")
    if result.stopped:
        meta["run_stopped"] = MetadataValue.text(result.stopped)
    meta.update(ramp_metadata(result))
    return meta


def ramp_metadata(result: WorkflowResult) -> dict[str, Any]:
    """The ramp guard's numbers, as integers Dagster plots run after run: ``ramp_held`` (creates
    held back this run, ``skipped: ramp_limit``, picked up by the next runs), ``ramp_created``
    (created since the ramp began) and ``ramp_active`` (1 while it caps the workflow). Nothing for
    a workflow the settings give no ramp."""
    ramp = result.ramp
    if ramp is None:
        return {}
    return {"ramp_held": MetadataValue.int(int(ramp["held"])),
            "ramp_created": MetadataValue.int(int(ramp["created"])),
            "ramp_active": MetadataValue.int(1 if ramp["active"] else 0)}


def _held(result: WorkflowResult) -> dict[str, int]:
    """The unchanged rows the warehouse kept, per CRM object: counted there, never read back."""
    return dict(result.held.counts) if result.held is not None else {}


def result_metadata(result: WorkflowResult) -> dict[str, Any]:
    """The metadata of a run without partitions: its counts and its run-wide facts."""
    return {**outcome_metadata(result.own_log, _held(result)), **run_metadata(result, None)}


def _failure_rate(result: WorkflowResult) -> float:
    total = result.own_log.height + sum(_held(result).values())
    return (result.failed / total) if total else 0.0


#: A run tagged so (``reconcile_job`` is) compares every record with the CRM, not only those the
#: warehouse changed: it restores fields edited in the CRM (drift) and creates again records deleted there.
RECONCILE_TAG = "writeback/reconcile"


def org_pool(crm: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """The Dagster concurrency pool of the org the syncs write to: ``crm-<crm>-<org>``.

    Every sync asset writing to one org is in its pool, and the instance limits each pool to one
    op at a time (``concurrency: pools: default_limit: 1`` in ``dagster.yaml``; the demo's
    instance sets it), so two runs never write to one org at once — a schedule and a backfill
    queue behind each other instead of splitting the org's API allowance. The org is named from
    the environment the code location loads with, as the credentials are: Salesforce by its
    instance host, HubSpot by its API host and a digest of the token (the account it names;
    ``HUBSPOT_PORTAL_ID``, when set, names it instead). ``None`` without a CRM to name.
    """
    source = os.environ if env is None else env
    if crm == "salesforce":
        url = source.get("SALESFORCE_INSTANCE_URL") or source.get("SALESFORCE_LOGIN_URL") or "default"
        return f"crm-salesforce-{org_slug(urlsplit(url).netloc or url)}"
    if crm == "hubspot":
        portal = source.get("HUBSPOT_PORTAL_ID")
        if not portal:
            token = source.get("HUBSPOT_ACCESS_TOKEN")
            portal = token_digest(token) if token else "default"
        return f"crm-hubspot-{org_slug(portal)}"
    return None


def build_sync_asset(workflow: str, crm_kinds: set[str], pool: str | None = None) -> AssetsDefinition:
    key = AssetKey(f"{workflow}_crm_sync")
    deps = [get_asset_key_for_model([warehouse_dbt], sync_model(workflow, "company")),
            get_asset_key_for_model([warehouse_dbt], sync_model(workflow, "person"))]

    @asset(
        key=key,
        deps=[*deps, CRM_FIELDS],
        group_name=GROUP,
        owners=OWNERS,
        kinds={*crm_kinds, "python"},
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        pool=pool,
        description=f"Write the {workflow} workflow to the CRM. {WORKFLOW_DESCRIPTIONS[workflow]}",
        check_specs=[AssetCheckSpec("failure_rate_below_threshold", asset=key,
                                    description=f"Share of failed records stays under {MAX_FAILURE_RATE:.0%}.")],
    )
    def _sync(context: AssetExecutionContext, warehouse: WarehouseResource, crm: CrmResource) -> MaterializeResult:
        settings = crm.load_settings()
        wh = warehouse.get()
        window = run_window(context)
        reconcile = context.run.tags.get(RECONCILE_TAG) == "true"
        # The models stay in the warehouse: the engine selects the window's rows there, and only
        # the rows that changed come out. Dagster's run id is the sync log's: a run in the UI and
        # its rows in writeback.sync_log share it.
        result = run_workflow(workflow, settings, wh, crm.connector(settings), mode="sync", run_id=context.run.run_id,
                              window=window, full_refresh=reconcile)
        rate = _failure_rate(result)
        context.log.info(f"{workflow}{' (reconcile)' if reconcile else ''}: {result.as_dict()['objects']}")
        if window:
            models = WindowSql.of(wh, *window, person=(wh.sync_schema, sync_model(workflow, "person")),
                                  company=(wh.sync_schema, sync_model(workflow, "company")))
            by_day = outcomes_by_day(models, run_id=result.run_id, workflow=workflow, own_log=result.own_log)
            for partition_key in context.partition_keys:
                shown, unchanged = by_day[partition_day(partition_key)]
                context.add_asset_metadata(outcome_metadata(shown, unchanged), partition_key=partition_key)
        meta = run_metadata(result, window) if window else result_metadata(result)
        # What left the warehouse for this run: the rows that changed (and a few counts), never a model.
        meta["run_rows_fetched"] = MetadataValue.int(wh.rows_fetched + wh.rows_read)
        return MaterializeResult(
            metadata=meta,
            check_results=[AssetCheckResult(
                check_name="failure_rate_below_threshold",
                passed=rate <= MAX_FAILURE_RATE and not result.stopped,
                severity=AssetCheckSeverity.WARN,
                metadata={"failure_rate": MetadataValue.float(rate), "threshold": MAX_FAILURE_RATE},
            )],
        )

    return _sync


def build_sync_assets(workflows: Sequence[str] = WORKFLOWS) -> list[AssetsDefinition]:
    kinds = crm_kinds()
    pool = org_pool(next(iter(kinds), None))
    return [build_sync_asset(w, kinds, pool) for w in workflows]


sync_assets = build_sync_assets()
