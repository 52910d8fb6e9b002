"""The code location as Dagster's own tools load it: a manifest that follows the dbt project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, materialize
from dagster_dbt import DbtProject, dbt_assets

from dagster_pipeline.dbt_runner import DBT_PROJECT_DIR
from dagster_pipeline.defs.dbt import manifest_is_stale, prepare_manifest, sync_schema, translator

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project_copy(tmp_path: Path) -> DbtProject:
    """The dbt project and the seeds it points at (``../seeds``), copied without any ``target/``."""
    shutil.copytree(DBT_PROJECT_DIR, tmp_path / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    return DbtProject(project_dir=tmp_path / "dbt_project", profiles_dir=tmp_path / "dbt_project")


def asset_keys(project: DbtProject) -> set[AssetKey]:
    # The manifest's contents, not its path: dagster-dbt caches a manifest by path for the process.
    manifest = json.loads(prepare_manifest(project).read_text(encoding="utf-8"))

    @dbt_assets(manifest=manifest, project=project, dagster_dbt_translator=translator)
    def _models(context):  # unannotated: Dagster inspects the annotation, which is a string here
        yield from ()

    return set(_models.keys)


def test_a_new_model_is_in_the_graph_without_deleting_target(project_copy: DbtProject) -> None:
    keys = asset_keys(project_copy)  # no manifest yet: parsed
    assert AssetKey("sync_website_visitor__persons") in keys and AssetKey("visits_per_day") not in keys
    parsed_at = project_copy.manifest_path.stat().st_mtime
    assert not manifest_is_stale(project_copy)
    assert asset_keys(project_copy) == keys  # up to date: not parsed again
    assert project_copy.manifest_path.stat().st_mtime == parsed_at

    model = project_copy.project_dir / "models" / "intermediate" / "visits_per_day.sql"
    model.write_text("select 1 as visits\n", encoding="utf-8")
    later = parsed_at + 2  # newer than the manifest whatever the clock's resolution
    os.utime(model, (later, later))
    assert manifest_is_stale(project_copy)
    assert asset_keys(project_copy) == keys | {AssetKey("visits_per_day")}


def test_an_edited_model_or_seed_yml_makes_the_manifest_stale(project_copy: DbtProject) -> None:
    prepare_manifest(project_copy)
    later = project_copy.manifest_path.stat().st_mtime + 2
    seed_yml = next((project_copy.project_dir.parent / "seeds").rglob("*.yml"), None)
    csv = next((project_copy.project_dir.parent / "seeds").rglob("*.csv"))
    os.utime(csv, (later, later))
    assert not manifest_is_stale(project_copy)  # a seed's rows do not change the graph
    for edited in [project_copy.project_dir / "dbt_project.yml", *([seed_yml] if seed_yml else [])]:
        prepare_manifest(project_copy)
        os.utime(edited, (later + 10, later + 10))
        assert manifest_is_stale(project_copy), edited
        later += 20


#: ``creat`` for ``create``: the kind of typo an edit of the settings file makes.
TYPO = "crm: salesforce\nobjects:\n  salesforce:\n    lead:\n      creat: true\n"


@pytest.mark.parametrize("settings", ["shipped", "typo"])
def test_dagster_definitions_validate_needs_no_flags_in_the_repository_root(settings: str, tmp_path: Path) -> None:
    """``[tool.dagster]`` in pyproject.toml names the module, as ``dagster dev`` reads it too; a settings
    file that does not validate does not stop the code location from loading (runs read it)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "WRITEBACK_SETTINGS": str(REPO / "writeback.yml")}
    env.pop("WRITEBACK_CRM", None)
    if settings == "typo":
        (tmp_path / "writeback.yml").write_text(TYPO, encoding="utf-8")
        env["WRITEBACK_SETTINGS"] = str(tmp_path / "writeback.yml")
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run([str(dagster), "definitions", "validate"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful for code location crm_writeback" in done.stdout + done.stderr


def test_a_settings_typo_fails_the_run_with_one_line_naming_the_key(tmp_path: Path) -> None:
    from dagster_pipeline.defs.crm import crm_fields
    from dagster_pipeline.defs.resources import CrmResource

    (tmp_path / "writeback.yml").write_text(TYPO, encoding="utf-8")
    result = materialize([crm_fields], resources={"crm": CrmResource(settings_path=str(tmp_path / "writeback.yml"))},
                         partition_key="2026-09-01", raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    user = failure.step_failure_data.user_failure_data
    assert user is not None and user.description == "writeback.yml: objects.salesforce.lead.creat: unknown key"


def test_naming_a_raw_schema_reparses_the_graph_without_the_seeds(project_copy: DbtProject,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRITEBACK_RAW_SCHEMA", raising=False)
    with_seeds = asset_keys(project_copy)
    assert AssetKey("companies") in with_seeds  # the sample seeds feed the raw source
    monkeypatch.setenv("WRITEBACK_RAW_SCHEMA", "landing")
    assert manifest_is_stale(project_copy)  # same files, another graph
    without = asset_keys(project_copy)
    assert AssetKey("companies") not in without and AssetKey("stg_raw__companies") in without
    manifest = json.loads(project_copy.manifest_path.read_text(encoding="utf-8"))
    assert manifest["sources"]["source.writeback.raw.companies"]["schema"] == "landing"
    assert not manifest_is_stale(project_copy)
    # The sync assets read the sync models where this manifest's target writes them, unless told otherwise.
    monkeypatch.delenv("WRITEBACK_SYNC_SCHEMA", raising=False)
    assert sync_schema(project_copy) == "syncs"
    monkeypatch.setenv("WRITEBACK_SYNC_SCHEMA", "dbt_alice_syncs")
    assert sync_schema(project_copy) == "dbt_alice_syncs"
