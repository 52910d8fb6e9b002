"""The ICP consistency check as Dagster runs it: a WARN check on every sync model."""

from __future__ import annotations

from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey, AssetSelection, Definitions, define_asset_job

from dagster_pipeline.defs.segments import CHECK_NAME, segments_consistent


def test_the_shipped_segments_warn_on_each_sync_model_naming_the_rules() -> None:
    job = define_asset_job("segments_check", selection=AssetSelection.checks(segments_consistent))
    defs = Definitions(asset_checks=[segments_consistent], jobs=[job])
    result = defs.resolve_job_def("segments_check").execute_in_process()
    assert result.success  # a WARN check does not fail the run
    evaluations = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert len(evaluations) == 6 and all(e.check_name == CHECK_NAME for e in evaluations.values())
    assert all(e.severity == AssetCheckSeverity.WARN and not e.passed for e in evaluations.values())
    companies = evaluations["sync_inbound_agent__companies"].metadata["disagreements"].value
    persons = evaluations["sync_website_visitor__persons"].metadata["disagreements"].value
    assert {"company.employee_count", "company.industry"} <= set(companies)
    assert {"person.seniority", "person.department"} <= set(persons)


def test_a_job_selecting_one_workflows_models_runs_only_their_checks() -> None:
    from dagster_pipeline.definitions import defs

    defs.resolve_job_def("website_visitor_job")  # failed to resolve while the op could not run for a subset
    one = AssetCheckKey(AssetKey("sync_website_visitor__persons"), CHECK_NAME)
    job = define_asset_job("one_model", selection=AssetSelection.checks(one))
    result = Definitions(asset_checks=[segments_consistent], jobs=[job]).resolve_job_def("one_model") \
        .execute_in_process()
    assert [e.asset_key for e in result.get_asset_check_evaluations()] == [one.asset_key]
