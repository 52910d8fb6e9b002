"""The ICP consistency check: segments compared by meaning, rule by rule, with declared exceptions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dagster_pipeline.sync.segments import (
    PROJECT_FILE,
    SegmentConfigError,
    compare,
    compare_project,
    constraint,
)

ROOT = Path(__file__).resolve().parents[2]


def rule(column: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"column": column, "op": op, "value": value}


@pytest.mark.parametrize(("left", "right", "kind"), [
    ([rule("employee_count", ">=", 50)], [rule("employee_count", ">", 49)], "number"),
    ([rule("employee_count", "<=", 49)], [rule("employee_count", "<", 50)], "number"),
    ([rule("employee_count", ">", 49.5)], [rule("employee_count", ">=", 50)], "number"),
    ([rule("employee_count", "=", 50)], [rule("employee_count", "in", [50])], "number"),
    ([rule("employee_count", ">=", 50), rule("employee_count", "<=", 50)], [rule("employee_count", "=", 50)],
     "number"),
    ([rule("employee_count", "in", [10, 60, 500]), rule("employee_count", ">=", 50)],
     [rule("employee_count", "in", [500, 60])], "number"),
    ([rule("seniority", "in", ["VP", "C-level"])], [rule("seniority", "in", ["c-level", "vp"])], "text"),
    ([rule("industry", "=", "Cloud Services")], [rule("industry", "in", ["cloud services"])], "text"),
    ([rule("seniority", "!=", "Entry")], [rule("seniority", "not in", ["ENTRY"])], "text"),
    ([rule("seniority", "in", ["VP", "C-level"]), rule("seniority", "!=", "vp")], [rule("seniority", "=", "C-Level")],
     "text"),
    ([rule("demo_requested", "=", True)], [rule("demo_requested", "!=", False)], "boolean"),
    ([rule("first_seen_at", ">=", "2026-11-01")], [rule("first_seen_at", ">=", "2026-11-01 00:00:00")], "timestamp"),
    ([], [], "text"),
], ids=lambda v: repr(v)[:40] if isinstance(v, list) else v)
def test_rules_with_the_same_meaning_are_equal(left, right, kind) -> None:
    assert constraint(left, kind) == constraint(right, kind)


@pytest.mark.parametrize(("left", "right", "kind"), [
    ([rule("employee_count", ">=", 50)], [rule("employee_count", ">=", 20)], "number"),
    ([rule("employee_count", ">=", 50)], [], "number"),  # a missing rule on one side
    ([rule("employee_count", ">", 49)], [rule("employee_count", ">", 49), rule("employee_count", "<", 1000)], "number"),
    ([rule("seniority", "in", ["VP", "C-level"])], [rule("seniority", "in", ["Director", "VP", "C-level"])], "text"),
    ([rule("seniority", "is not null")], [], "text"),  # a missing value passes only without a rule
    ([rule("industry", "contains", "cloud")], [rule("industry", "=", "cloud")], "text"),
    ([rule("demo_requested", "=", True)], [rule("demo_requested", "=", False)], "boolean"),
], ids=lambda v: repr(v)[:40] if isinstance(v, list) else v)
def test_rules_with_another_meaning_differ(left, right, kind) -> None:
    assert constraint(left, kind) != constraint(right, kind)


def segments(website: list, inbound: list, audience: list | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "segment_website_visitor": {"company": website, "person": []},
        "segment_inbound_agent": {"company": inbound, "person": []},
        "segment_outbound_agent": {"orchestrations": {"orc_a": {"audience": audience or [], "people": []}}},
        **extra,
    }


def statuses(vars: dict[str, Any]) -> dict[str, str]:
    return {f"{c.entity}.{c.column}": c.status for c in compare(vars).comparisons}


def test_the_shipped_segments_disagree_and_are_reported_by_name() -> None:
    report = compare_project()
    assert not report.ok
    assert {f"{c.entity}.{c.column}" for c in report.disagreements} >= {"company.employee_count", "company.industry"}
    size = next(c for c in report.comparisons if c.column == "employee_count")
    assert size.constraints["website_visitor"].render() == ">= 50"
    assert size.constraints["inbound_agent"].render() == ">= 20"
    industry = next(c for c in report.comparisons if c.column == "industry")
    assert industry.constraints["website_visitor"].render() == "= Cloud Services"
    assert industry.constraints["inbound_agent"].render() == "no rule"
    assert report.disagreements_for("inbound_agent", "company")
    assert {"outbound_agent.orc_job_changes", "outbound_agent.orc_research_intent"} <= set(report.scopes)


def test_same_icp_written_differently_agrees() -> None:
    vars = segments([rule("employee_count", ">=", 50), rule("industry", "=", "Cloud Services")],
                    [rule("industry", "in", ["cloud services"]), rule("employee_count", ">", 49)],
                    [rule("employee_count", ">", 49.9), rule("industry", "=", "CLOUD SERVICES")])
    report = compare(vars)
    assert report.ok and statuses(vars) == {"company.employee_count": "agree", "company.industry": "agree"}


@pytest.mark.parametrize(("exceptions", "expected"), [
    ([], {"company.employee_count": "disagree", "company.industry": "disagree"}),
    # inbound's size is declared; the two others agree on >= 50: silenced. industry is not declared.
    ([{"segment": "inbound_agent", "entity": "company", "column": "employee_count", "reason": "chat is intent"}],
     {"company.employee_count": "declared", "company.industry": "disagree"}),
    # declared for a column inbound does not differ on: nothing silenced.
    ([{"segment": "inbound_agent", "entity": "company", "column": "industry", "reason": "typo'd intent"}],
     {"company.employee_count": "disagree", "company.industry": "disagree"}),
    # the outbound audience lacks the industry rule: naming the workflow covers its orchestrations.
    ([{"segment": "inbound_agent", "entity": "company", "column": "employee_count", "reason": "chat is intent"},
      {"segment": "outbound_agent", "entity": "company", "column": "industry", "reason": "job changers"}],
     {"company.employee_count": "declared", "company.industry": "declared"}),
])
def test_exceptions_silence_exactly_what_they_declare(exceptions, expected) -> None:
    vars = segments([rule("employee_count", ">=", 50), rule("industry", "=", "Cloud Services")],
                    [rule("employee_count", ">=", 20), rule("industry", "=", "Cloud Services")],
                    [rule("employee_count", ">", 49)], segment_exceptions=exceptions)
    assert statuses(vars) == expected


def test_an_exception_for_one_segment_does_not_hide_a_second_one_that_differs() -> None:
    vars = segments([rule("employee_count", ">=", 50)], [rule("employee_count", ">=", 20)],
                    [rule("employee_count", ">=", 200)],
                    segment_exceptions=[{"segment": "inbound_agent", "entity": "company",
                                         "column": "employee_count", "reason": "chat is intent"}])
    report = compare(vars)
    assert [f"{c.entity}.{c.column}" for c in report.disagreements] == ["company.employee_count"]
    assert report.disagreements_for("outbound_agent", "company")
    assert not report.disagreements_for("inbound_agent", "company")  # inbound's own difference is declared


@pytest.mark.parametrize(("exception", "message"), [
    ({"segment": "inbound", "entity": "company", "column": "employee_count", "reason": "x"}, "unknown segment"),
    ({"segment": "inbound_agent", "entity": "account", "column": "employee_count", "reason": "x"}, "entity"),
    ({"segment": "inbound_agent", "entity": "company", "column": "headcount", "reason": "x"}, "headcount"),
    ({"segment": "inbound_agent", "entity": "company", "column": "employee_count"}, "reason"),
    ({"segment": "inbound_agent", "entity": "company", "column": "employee_count", "reason": "x", "why": 1},
     "unknown key 'why'"),
])
def test_a_wrong_exception_is_named_not_ignored(exception, message) -> None:
    with pytest.raises(SegmentConfigError, match=message):
        compare(segments([], [], segment_exceptions=[exception]))


def test_the_segments_var_overrides_a_workflow_as_dbt_does() -> None:
    vars = segments([rule("employee_count", ">=", 50)], [rule("employee_count", ">=", 20)],
                    [rule("employee_count", ">=", 50)],
                    segments={"inbound_agent": {"company": [rule("employee_count", ">", 49)]}})
    assert compare(vars).ok


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dagster_pipeline.cli", "segments", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_writeback_segments_prints_the_disagreements_and_exits_1(tmp_path: Path) -> None:
    shown = _cli("--json")
    assert shown.returncode == 1, shown.stderr
    data = json.loads(shown.stdout)
    assert "company.employee_count" in data["disagreements"]
    size = next(c for c in data["comparisons"] if c["column"] == "employee_count")
    assert size["rules"]["website_visitor"] == ">= 50" and size["rules"]["inbound_agent"] == ">= 20"

    table = _cli()
    assert table.returncode == 1 and "company.employee_count" in table.stdout and "disagree" in table.stdout

    # With every difference declared, the same project passes.
    project = yaml.safe_load(PROJECT_FILE.read_text())
    report = compare_project()
    project["vars"]["segment_exceptions"] = [
        {"segment": s, "entity": c.entity, "column": c.column, "reason": "intended"}
        for c in report.disagreements for s in c.constraints if s != "website_visitor"]
    declared = tmp_path / "dbt_project.yml"
    declared.write_text(yaml.safe_dump(project))
    ok = _cli("--project-file", str(declared))
    assert ok.returncode == 0, ok.stdout
    assert "declared" in ok.stdout and "intended" in ok.stdout
