"""Materialize the asset graph in this process, over a range of daily partitions.

Used by `writeback demo` and the tests: the same assets, checks and resources as
`dagster dev`, run as one single-run backfill over ``[first, last]`` (inclusive) on an
ephemeral or given Dagster instance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult, materialize
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from dagster_pipeline.sync.settings import WORKFLOWS

#: The CRM half of the graph: the schema asset (with its blocking check) and the three syncs.
CRM_KEYS = [AssetKey("crm_fields"), *(AssetKey(f"{w}_crm_sync") for w in WORKFLOWS)]


def dbt_keys() -> list[AssetKey]:
    from dagster_pipeline.defs.dbt import warehouse_dbt

    return list(warehouse_dbt.keys)


def all_assets() -> list[Any]:
    from dagster_pipeline.defs.crm import crm_fields, required_custom_fields_present, sync_assets
    from dagster_pipeline.defs.dbt import warehouse_dbt

    return [warehouse_dbt, crm_fields, required_custom_fields_present, *sync_assets]


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
    from dagster_pipeline.defs.resources import resources_from_env

    tags = {ASSET_PARTITION_RANGE_START_TAG: first.isoformat(), ASSET_PARTITION_RANGE_END_TAG: last.isoformat()}
    run_config = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}} if quiet else None
    return materialize(
        all_assets(),
        run_config=run_config,
        resources=dict(resources) if resources is not None else resources_from_env(),
        tags=tags,
        selection=list(selection) if selection is not None else None,
        instance=instance,
        raise_on_error=raise_on_error,
    )
