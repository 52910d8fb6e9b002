"""Run the code location's jobs in this process, over one day or a range of daily partitions.

Used by `writeback demo` and the tests: the same jobs, assets, checks and resources as
`dagster dev`, launched by name on an ephemeral or given Dagster instance, so each run is listed
under its job in the UI. One day runs as that partition (as a schedule tick does); a range runs
as one single-run backfill over ``[first, last]`` (inclusive).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult, materialize

from dagster_pipeline.sync.settings import WORKFLOWS

#: The CRM half of the graph: the schema asset (with its blocking check) and the three syncs.
CRM_KEYS = [AssetKey("crm_fields"), *(AssetKey(f"{w}_crm_sync") for w in WORKFLOWS)]

# The run tags of a single-run backfill over a partition range, as Dagster's backfills set them.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def dbt_keys() -> list[AssetKey]:
    from dagster_pipeline.defs.dbt import warehouse_dbt

    return list(warehouse_dbt.keys)


def all_assets() -> list[Any]:
    from dagster_pipeline.defs.crm import crm_fields, required_custom_fields_present, sync_assets
    from dagster_pipeline.defs.dbt import warehouse_dbt

    return [warehouse_dbt, crm_fields, required_custom_fields_present, *sync_assets]


def _partition_args(first: dt.date, last: dt.date) -> dict[str, Any]:
    if first == last:
        return {"partition_key": first.isoformat()}
    return {"tags": {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}}


def _quiet(quiet: bool) -> dict[str, Any] | None:
    return {"loggers": {"console": {"config": {"log_level": "ERROR"}}}} if quiet else None


def run_job(
    name: str,
    first: dt.date,
    last: dt.date,
    *,
    selection: Sequence[AssetKey] | None = None,
    resources: Mapping[str, object] | None = None,
    instance: DagsterInstance | None = None,
    raise_on_error: bool = True,
    quiet: bool = False,
) -> ExecuteInProcessResult:
    """Run the job ``name`` (``warehouse_job``, ``<workflow>_job``) over the days ``[first, last]``.

    ``selection`` runs part of the job's assets, as "Materialize selected" does in the UI; the run
    is still the job's.
    """
    from dagster_pipeline.definitions import build_definitions
    from dagster_pipeline.defs.resources import resources_from_env

    defs = build_definitions(resources if resources is not None else resources_from_env())
    return defs.resolve_job_def(name).execute_in_process(
        run_config=_quiet(quiet), instance=instance, raise_on_error=raise_on_error,
        asset_selection=list(selection) if selection is not None else None, **_partition_args(first, last))


def materialize_range(
    first: dt.date,
    last: dt.date,
    *,
    resources: Mapping[str, object] | None = None,
    selection: Sequence[AssetKey] | None = None,
    instance: DagsterInstance | None = None,
    raise_on_error: bool = True,
    quiet: bool = False,
) -> ExecuteInProcessResult:
    """Materialize any selection of assets over ``[first, last]`` (a run outside the named jobs)."""
    from dagster_pipeline.defs.resources import resources_from_env

    return materialize(
        all_assets(),
        run_config=_quiet(quiet),
        resources=dict(resources) if resources is not None else resources_from_env(),
        selection=list(selection) if selection is not None else None,
        instance=instance,
        raise_on_error=raise_on_error,
        **_partition_args(first, last),
    )
