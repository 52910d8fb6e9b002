"""dbt models as Dagster assets (dagster-dbt); dbt tests become asset checks.

Every model shares the daily partitions, so one job, schedule tick or backfill spans the dbt
models and the syncs, and a range runs as one dbt build (single-run policy).

A build is always whole: a partitioned run does not pass ``--vars {min_date, max_date}``. The sync
models are tables that hold every record with its ``activity_date``, and each sync asset takes
its partition's records from them (``dagster_pipeline.sync.window``). Narrowing the tables to one
run's window would leave them holding that window only, so every other reader would see too
little: a sync of another day that does not rebuild them first, ``writeback sync`` and
``writeback plan``, an analyst querying the model — and Dagster would still show the other days
as materialized. Narrowing would save little either: the layers below the sync models are
rebuilt whole in any case. The vars stay for previewing a window by hand (``dbt build --vars``).
"""

# No `from __future__ import annotations`: Dagster inspects the real `context` annotation.

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from filelock import FileLock

from connectors.warehouse import SYNC_SCHEMA_ENV
from dagster_pipeline.dbt_runner import DBT_PROJECT_DIR, dbt_executable
from dagster_pipeline.defs.partitions import daily_partitions, single_run

#: The dbt installed beside this Python, so nothing depends on PATH (a venv need not be activated).
DBT_EXECUTABLE = dbt_executable()

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


#: What a dbt parse reads, besides the project's own ``*-paths``: a change to any of them changes the graph.
_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "dependencies.yml", "selectors.yml")
_PATH_KEYS = {"model-paths": ["models"], "macro-paths": ["macros"], "test-paths": ["tests"],
              "snapshot-paths": ["snapshots"], "analysis-paths": ["analyses"]}


def project_files(project: DbtProject) -> list[Path]:
    """Every file whose edit changes the manifest: models, macros, tests, snapshots, analyses, the
    seeds' ``.yml`` (a seed's rows do not change the graph), and the project's own yml files."""
    config = yaml.safe_load((project.project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    files = [project.project_dir / name for name in _PROJECT_FILES if (project.project_dir / name).exists()]
    for key, default in _PATH_KEYS.items():
        for rel in config.get(key, default):
            files += [f for f in (project.project_dir / rel).rglob("*") if f.is_file()]
    for rel in config.get("seed-paths", ["seeds"]):
        files += [f for f in (project.project_dir / rel).rglob("*") if f.suffix in (".yml", ".yaml")]
    return files


#: Environment variables that change the parsed graph: where the raw source points (the seeds are
#: disabled once it names real raw tables) and which target names the schemas.
_PARSE_ENV = ("WRITEBACK_RAW_SCHEMA", "DBT_TARGET")


def _parse_env() -> str:
    return json.dumps({name: os.environ.get(name, "") for name in _PARSE_ENV}, sort_keys=True)


def _parse_env_file(project: DbtProject) -> Path:
    return project.manifest_path.with_name("manifest.env.json")


def manifest_is_stale(project: DbtProject) -> bool:
    """No manifest yet, one older than a file of the project (an analyst added or edited a model),
    or one parsed with another raw schema or target in the environment."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    if any(f.stat().st_mtime > built for f in project_files(project)):
        return True
    env_file = _parse_env_file(project)
    return not env_file.exists() or env_file.read_text(encoding="utf-8") != _parse_env()


def prepare_manifest(project: DbtProject = dbt_project) -> Path:
    """A manifest that matches the dbt project on disk, parsed again whenever it might not.

    Under ``dagster dev`` (and so ``writeback dev``) dagster-dbt parses on every load of the code
    location. Everywhere else — tests, the demo, ``dagster asset materialize``, a deployment — we
    parse only when the manifest is missing, older than a project file, or parsed with another
    ``WRITEBACK_RAW_SCHEMA`` / ``DBT_TARGET``: a stale manifest would lack a new model (the dbt step
    would fail on it with a ``KeyError``) or still show the seeds the raw schema disabled.
    """
    project.prepare_if_dev()
    if os.environ.get("DAGSTER_IS_DEV_CLI") and project.manifest_path.exists():
        _parse_env_file(project).write_text(_parse_env(), encoding="utf-8")  # dagster-dbt just parsed with it
    if manifest_is_stale(project):
        # One parse at a time per target directory: two processes loading definitions at once would
        # otherwise write the same manifest together (the lock is the one dagster-dbt's preparer takes).
        project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(project.manifest_path.with_suffix(".concurrent-update-lock")):
            if manifest_is_stale(project):
                subprocess.run(
                    [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(project.project_dir),
                     "--profiles-dir", str(project.profiles_dir), "--target-path", str(project.target_path)],
                    check=True, cwd=project.project_dir,
                )
                project.manifest_path.touch()  # a parse with nothing to change may leave the file's time as it was
                _parse_env_file(project).write_text(_parse_env(), encoding="utf-8")
    return project.manifest_path


#: A sync model whose schema stands for all of them (the project puts every sync model in one schema).
_SYNC_MODEL_ID = "model.writeback.sync_website_visitor__persons"


def sync_schema(project: DbtProject = dbt_project) -> str | None:
    """The schema the dbt assets write the sync models to, so the sync assets read them there.

    dbt's target decides it (``syncs`` in a production target, ``<target schema>_syncs`` in a
    development one: macros/generate_schema_name.sql) and the manifest records it. An explicit
    ``WRITEBACK_SYNC_SCHEMA`` wins; None (the warehouse's default) when neither says.
    """
    if os.environ.get(SYNC_SCHEMA_ENV):
        return os.environ[SYNC_SCHEMA_ENV]
    try:
        manifest = json.loads(project.manifest_path.read_text(encoding="utf-8"))
        return str(manifest["nodes"][_SYNC_MODEL_ID]["schema"])
    except (OSError, ValueError, KeyError):
        return None


class Translator(DagsterDbtTranslator):
    """Group dbt models by layer so the asset graph reads seeds → staging → … → syncs → CRM."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "raw"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "warehouse"

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        # The raw tables are keyed raw/<table>: in the demo a seed of the same name loads each one,
        # and two dbt resources may not share a key.
        if dbt_resource_props["resource_type"] == "source" and dbt_resource_props.get("source_name") == "raw":
            return AssetKey(["raw", dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["name"]])


translator = Translator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=prepare_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    name="warehouse_dbt",
)
def warehouse_dbt(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    # Whole, whatever the partitions: see above. Each table's materialization carries its row count
    # (dagster/row_count, plotted by Dagster); views are not counted, their query would run again.
    with _cautious_tests():
        invocation = dbt.cli(["build"], context=context)
    try:
        yield from invocation.stream().fetch_row_counts()
    finally:
        release_duckdb(invocation.adapter)


#: dbt's indirect selection for a run of part of the models (dbt's docs, "Indirect selection"):
#: ``cautious`` runs a test only when every model it reads is in the run.
_INDIRECT_SELECTION_ENV = "DBT_INDIRECT_SELECTION"


@contextlib.contextmanager
def _cautious_tests() -> Iterator[None]:
    """While dagster-dbt builds the dbt invocation, make ``cautious`` the default indirect selection.

    A job of one workflow (``website_visitor_job``) builds the models upstream of its sync only.
    dbt's default (``eager``) would also run a test that reads a model outside the run — the
    ``relationships`` test from ``int_outbound_agent__picks`` to ``int_persons`` — and on a
    warehouse where the outbound models were never built that test fails the run for a table
    the job never meant to touch. dagster-dbt reads this variable as the user's default when it
    builds the invocation and still replaces it by ``empty`` where it selects tests by name; a
    value the user exported is kept.
    """
    if _INDIRECT_SELECTION_ENV in os.environ:
        yield
        return
    os.environ[_INDIRECT_SELECTION_ENV] = "cautious"
    try:
        yield
    finally:
        os.environ.pop(_INDIRECT_SELECTION_ENV, None)


def release_duckdb(adapter: Any) -> None:
    """Close the DuckDB file the row counts were read through.

    dagster-dbt counts rows with a dbt adapter in this process, and dbt-duckdb keeps that read-only
    connection open afterwards (keep_open). DuckDB lets a process open a file in one configuration
    at a time, and another process not at all while it is open, so the sync assets' own connection in
    this process, and the next dbt build, would fail on "a different configuration". Other warehouses
    have nothing to release here.
    """
    if adapter is None or type(adapter).__name__ != "DuckDBAdapter":
        return
    adapter.connections.cleanup_all()
    manager = type(adapter.connections)
    with contextlib.suppress(Exception):  # no environment was ever opened: nothing to close
        manager.env().close()
    manager.close_all_connections()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
