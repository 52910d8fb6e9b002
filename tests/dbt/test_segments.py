"""Segments: per-workflow independence, --vars overrides, the date window, and errors that name the rule."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from connectors.errors import DbtError
from tests.dbt.conftest import ENTITIES, WEBSITE_OVERRIDE, WINDOW, WORKFLOWS, Build
from tests.dbt.oracle import Seeds

pytestmark = pytest.mark.slow

ALL_OPS = "=, !=, >, >=, <, <=, in, not in, contains, is null, is not null"


def test_overriding_the_website_segment_changes_only_website_models(
    built: Build, variants: dict[str, Build], seeds: Seeds
) -> None:
    default, override = built.models(), variants["website_override"].models()
    for entity in ENTITIES:
        assert not default["website_visitor", entity].equals(override["website_visitor", entity])
    for workflow in ("inbound_agent", "outbound_agent"):
        for entity in ENTITIES:
            assert_frame_equal(override[workflow, entity], default[workflow, entity])
    # And the website models now hold what the new segment selects (case-insensitively: 'software').
    persons, companies = seeds.expected("website_visitor", WEBSITE_OVERRIDE)
    website = override["website_visitor", "persons"]
    assert set(website["email"]) == persons and persons
    assert set(override["website_visitor", "companies"]["domain"]) == companies
    assert set(website["seniority"]) == {"Director", "Manager"}
    assert set(website["company_industry"]) == {"Software"}


def test_the_window_keeps_only_records_active_on_those_days(built: Build, variants: dict[str, Build]) -> None:
    low, high = (pl.lit(WINDOW["min_date"]).str.to_date(), pl.lit(WINDOW["max_date"]).str.to_date())
    windowed = variants["window"]
    for workflow in WORKFLOWS:
        default_persons = built.model(workflow, "persons")
        persons = windowed.model(workflow, "persons")
        expected = default_persons.filter(pl.col("activity_date").is_between(low, high))
        assert 0 < persons.height < default_persons.height
        assert_frame_equal(persons, expected)

        default_companies = built.model(workflow, "companies")
        companies = windowed.model(workflow, "companies")
        in_window = default_companies.filter(pl.col("activity_date").is_between(low, high))
        # Companies outside the window stay only to link a person of the window to its company.
        linked = set(persons["company_domain"].drop_nulls())
        expected_domains = set(in_window["domain"]) | linked
        assert set(companies["domain"]) == expected_domains
        assert_frame_equal(companies, default_companies.filter(pl.col("domain").is_in(list(expected_domains))))


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("unknown_column", [
            "workflow 'website_visitor', company rules, rule 1",
            '"column": "employe_count"',
            "unknown column 'employe_count'",
            "Allowed company columns: annual_revenue,",
            "employee_count",
            "industry",
        ]),
        ("unknown_op", [
            "workflow 'inbound_agent', person rules, rule 1",
            "unknown op 'like'",
            f"Allowed ops: {ALL_OPS}",
        ]),
        ("unknown_outbound_column", [
            "workflow 'outbound_agent', orchestration 'orc_job_changes', people step, rule 1",
            "unknown column 'headcount'",
            "Allowed person columns:",
            "seniority",
        ]),
    ],
)
def test_invalid_segments_fail_the_build_naming_workflow_rule_and_allowed_values(
    segment_errors: dict[str, DbtError | None], case: str, fragments: list[str]
) -> None:
    error = segment_errors[case]
    assert error is not None, f"dbt parse accepted the {case} segment"
    message = str(error)
    for fragment in fragments:
        assert fragment in message
