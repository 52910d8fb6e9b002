"""The ICP consistency check on the sync models: do the workflows' segments agree?

Thin glue around ``dagster_pipeline.sync.segments``. One check per sync model, severity WARN:
it fails when a rule of that model's entity (company or person) disagrees between segments,
the workflow's own segment takes part, and ``segment_exceptions`` does not declare it. It reads
``dbt_project/dbt_project.yml``, as ``writeback segments`` does (``--vars`` overrides of one run
are not seen).
"""

# No `from __future__ import annotations`: Dagster inspects the real `context` annotation.

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    multi_asset_check,
)
from dagster_dbt import get_asset_key_for_model

from dagster_pipeline.defs.dbt import warehouse_dbt
from dagster_pipeline.sync.catalog import Entity, sync_model
from dagster_pipeline.sync.segments import WORKFLOWS, compare_project

CHECK_NAME = "segments_consistent"
ENTITIES: tuple[Entity, ...] = ("company", "person")

MODELS = {(wf, entity): get_asset_key_for_model([warehouse_dbt], sync_model(wf, entity))
          for wf in WORKFLOWS for entity in ENTITIES}


@multi_asset_check(
    specs=[AssetCheckSpec(CHECK_NAME, asset=key, blocking=False,
                          description=f"The {entity} rules of the {wf} segment agree with the other workflows' "
                                      "segments (by meaning), or differ only as segment_exceptions declares.")
           for (wf, entity), key in MODELS.items()],
    name="segments_consistent_checks",
    # A workflow's job selects its own sync models' checks only: the op must run for a subset.
    can_subset=True,
)
def segments_consistent(context: AssetCheckExecutionContext) -> Iterator[AssetCheckResult]:
    report = compare_project()
    selected = context.selected_asset_check_keys
    for (wf, entity), key in MODELS.items():
        if AssetCheckKey(key, CHECK_NAME) not in selected:
            continue
        found = report.disagreements_for(wf, entity)
        rows = [f"| {c.entity}.{c.column} | " + " | ".join(c.constraints[s].render() for s in report.scopes) + " |"
                for c in found]
        header = "| rule | " + " | ".join(report.scopes) + " |\n|" + " --- |" * (len(report.scopes) + 1)
        yield AssetCheckResult(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=not found,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "disagreements": MetadataValue.json([f"{c.entity}.{c.column}" for c in found]),
                "declared": MetadataValue.json([
                    {"rule": f"{c.entity}.{c.column}", "segment": e.segment, "reason": e.reason}
                    for c in report.comparisons if c.entity == entity for e in c.declared]),
                "rules": MetadataValue.md(header + "\n" + "\n".join(rows) if rows else "no disagreement"),
                "source": report.source,
            },
        )
