"""Row-level checks of the six sync models built from the committed seeds with the default segments.

Expected memberships and engagement facts come from tests/dbt/oracle.py, a plain-Python reading of
the seed CSVs, so these tests fail when the SQL and the spec disagree.
"""

from __future__ import annotations

import json
import re
from datetime import date

import polars as pl
import pytest

from dagster_pipeline.sync.catalog import COMPANY_SCHEMA, PERSON_SCHEMA
from tests.dbt.conftest import ENTITIES, WORKFLOWS, Build
from tests.dbt.oracle import Seeds

pytestmark = pytest.mark.slow

PERSON_COLUMNS = dict(PERSON_SCHEMA)  # the contract the engine reads: dagster_pipeline/sync/catalog.py
COMPANY_COLUMNS = dict(COMPANY_SCHEMA)
APOSTROPHE = "o'hara@acme.io"


def emails(build: Build, workflow: str) -> set[str]:
    return set(build.model(workflow, "persons")["email"])


@pytest.mark.parametrize("workflow", WORKFLOWS)
@pytest.mark.parametrize("entity", ENTITIES)
def test_sync_models_follow_the_contract_and_are_not_empty(built: Build, workflow: str, entity: str) -> None:
    frame = built.warehouse.read_model(f"sync_{workflow}__{entity}")
    expected = PERSON_COLUMNS if entity == "persons" else COMPANY_COLUMNS
    assert dict(frame.schema) == expected  # same names, same order, same dtypes in every workflow
    assert 10 <= frame.height <= 500


def test_read_model_picks_and_orders_columns(built: Build) -> None:
    frame = built.warehouse.read_model("sync_website_visitor__persons", columns=["activity_date", "email"])
    assert frame.columns == ["activity_date", "email"]
    assert frame.height == built.warehouse.row_count("sync_website_visitor__persons")


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_memberships_match_the_spec(built: Build, seeds: Seeds, workflow: str) -> None:
    """Each workflow holds exactly the records its membership rule and default segment select."""
    persons, companies = seeds.expected(workflow)
    assert emails(built, workflow) == persons
    assert set(built.model(workflow, "companies")["domain"]) == companies


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_every_person_links_to_a_company_of_the_same_workflow(built: Build, workflow: str) -> None:
    persons = built.model(workflow, "persons")
    domains = set(built.model(workflow, "companies")["domain"])
    linked = set(persons["company_domain"].drop_nulls())
    assert linked, "some persons should have a company"
    assert linked <= domains


def test_keys_are_normalised(built: Build) -> None:
    for workflow in WORKFLOWS:
        for email in built.model(workflow, "persons")["email"]:
            assert email == email.strip().lower() and re.fullmatch(r"[a-z0-9._%+'-]+@[a-z0-9.-]+\.[a-z]{2,}", email)
        for domain in built.model(workflow, "companies")["domain"]:
            assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain) and not domain.startswith("www.")


def test_domains_come_from_messy_websites(built: Build, seeds: Seeds) -> None:
    staged = built.warehouse.read_model("stg_raw__companies", schema="staging", columns=["company_id", "domain"])
    got = dict(zip(staged["company_id"], staged["domain"], strict=True))
    assert got == seeds.company_domain_by_id
    # Acme is known twice, by 'https://www.Acme.io/path' and 'http://acme.io/': one company, the complete row.
    acme = built.model("website_visitor", "companies").filter(pl.col("domain") == "acme.io").row(0, named=True)
    assert (acme["name"], acme["website"], acme["employee_count"]) == ("Acme", "https://www.Acme.io/path", 450)


def test_a_person_seen_twice_is_one_person_with_all_their_visits(built: Build, seeds: Seeds) -> None:
    persons = built.model("website_visitor", "persons")
    maria = persons.filter(pl.col("email") == "maria.garcia@initech.cloud")
    assert maria.height == 1
    raw_ids = seeds.persons["maria.garcia@initech.cloud"].raw_ids
    assert len(raw_ids) == 2
    sessions = [s for s in seeds.raw["sessions"] if s["person_id"] in raw_ids]
    assert {s["person_id"] for s in sessions} == raw_ids, "the fixture splits her visits over both ids"
    assert maria["session_count"].item() == len(sessions)
    # The older row is the more complete one: its title wins over the newer, sparser row.
    assert maria["title"].item() == "VP of Sales"
    # Tom's newer row is the complete one, so it speaks for him.
    tom = built.warehouse.read_model("int_persons", schema="intermediate").filter(
        pl.col("email") == "tom.becker@globex.com")
    assert tom.select("title", "seniority", "duplicate_count").row(0) == ("Chief Marketing Officer", "C-level", 2)


def test_duplicates_never_split_a_person_in_any_workflow(built: Build, seeds: Seeds) -> None:
    duplicated = {e for e, p in seeds.persons.items() if len(p.raw_ids) > 1}
    assert len(duplicated) >= 5
    for workflow in WORKFLOWS:
        persons = built.model(workflow, "persons")
        assert persons["email"].is_unique().all()
        for row in persons.filter(pl.col("email").is_in(list(duplicated))).iter_rows(named=True):
            assert row["session_count"] == len(seeds.sessions_by_email[row["email"]])


def test_engagement_facts_match_the_raw_activity(built: Build, seeds: Seeds) -> None:
    website = built.model("website_visitor", "persons")
    for row in website.iter_rows(named=True):
        views = seeds.views_by_email[row["email"]]
        assert row["page_view_count"] == len(views)
        assert row["top_pages"] == seeds.top_pages(views)
        assert row["last_seen_at"] == seeds.last_seen(views)
        assert row["activity_date"] == seeds.last_seen(views).date()
    inbound = built.model("inbound_agent", "persons")
    for row in inbound.iter_rows(named=True):
        chats = seeds.engaged_chats_by_email[row["email"]]
        assert row["chat_count"] == len(chats)
        assert row["demo_requested"] == any(c["demo_requested"] for c in chats)
        assert row["phone"] == seeds.latest_answer(chats, "phone")
        assert row["chat_use_case"] == seeds.latest_answer(chats, "use_case")
        assert row["activity_date"].isoformat() == max(c["started_at"] for c in chats)[:10]
    companies = built.model("website_visitor", "companies")
    for row in companies.iter_rows(named=True):
        assert row["session_count"] == len(seeds.sessions_by_domain[row["domain"]])
        assert row["top_pages"] == seeds.top_pages(seeds.views_by_domain[row["domain"]])


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_every_chat_answer_is_in_chat_answers(built: Build, seeds: Seeds, workflow: str) -> None:
    """chat_answers holds each question's latest answer, whatever the question (team_size too)."""
    answered: set[str] = set()
    for row in built.model(workflow, "persons").iter_rows(named=True):
        expected = seeds.chat_answers(seeds.engaged_chats_by_email[row["email"]])
        got = json.loads(row["chat_answers"]) if row["chat_answers"] is not None else None
        assert got == expected, row["email"]
        answered |= set(got or {})
        # The same answers as the long-standing columns.
        assert (got or {}).get("use_case") == row["chat_use_case"] and (got or {}).get("phone") == row["phone"]
    if workflow == "inbound_agent":
        assert answered >= {"team_size", "use_case", "phone"}


def test_a_chat_answer_mapping_reads_the_built_model(built: Build, seeds: Seeds) -> None:
    """The engine reads an answer out of the model dbt built, column-wise, for every person who gave it."""
    from dagster_pipeline.sync.catalog import OBJECTS
    from dagster_pipeline.sync.records import KEY, build_desired
    from dagster_pipeline.sync.settings import parse_settings

    settings = parse_settings({"objects": {"lead": {"field_mapping": {
        "Team_Size__c": {"chat_answer": "team_size"}, "Budget__c": {"chat_answer": "budget"}}}}})
    persons = built.model("inbound_agent", "persons")
    desired = build_desired(OBJECTS["salesforce"]["lead"], settings.object("lead"), persons,
                            workflow="inbound_agent", schema=None)
    got = dict(desired.frame.select(KEY, "Team_Size__c").iter_rows())
    expected = {e: (seeds.chat_answers(seeds.engaged_chats_by_email[e]) or {}).get("team_size") for e in got}
    assert got == expected and sum(v is not None for v in got.values()) >= 10
    assert desired.frame["Budget__c"].null_count() == desired.frame.height  # nobody was asked: empty, no error


def test_out_of_segment_records_are_absent(built: Build) -> None:
    website = emails(built, "website_visitor")
    # Visitors outside the article's ICP: an SDR at an ICP company, a VP at a 30-person company.
    assert "ethan.cole@acme.io" not in website
    assert "carlos.mendes@umbrella.io" not in website
    assert "umbrella.io" not in set(built.model("website_visitor", "companies")["domain"])
    # The same VP chatted, and the inbound segment only asks for 20+ employees: a segment is per workflow.
    assert "carlos.mendes@umbrella.io" in emails(built, "inbound_agent")
    for row in built.model("website_visitor", "persons").iter_rows(named=True):
        assert row["seniority"] in ("VP", "C-level") and row["department"] in ("Sales", "Marketing")
        assert row["company_industry"] == "Cloud Services" and row["company_employee_count"] >= 50


def test_only_chats_with_a_message_or_a_demo_request_make_inbound_leads(built: Build) -> None:
    inbound = built.model("inbound_agent", "persons")
    assert "nora.quinn@acme.io" in emails(built, "website_visitor")  # opened the chat, never wrote
    assert "nora.quinn@acme.io" not in set(inbound["email"])
    omar = inbound.filter(pl.col("email") == "omar.haddad@initech.cloud").row(0, named=True)
    assert omar["demo_requested"] is True and omar["chat_count"] == 1


def test_outbound_reaches_people_who_never_visited(built: Build) -> None:
    outbound = built.model("outbound_agent", "persons")
    dana = outbound.filter(pl.col("email") == "dana.whitfield@hooli.com").row(0, named=True)
    assert (dana["session_count"], dana["first_seen_at"], dana["orchestration_ids"]) == (0, None, "orc_job_changes")
    assert dana["intent_signal"] == "job_change" and dana["activity_date"] == dana["intent_signal_at"].date()
    assert "dana.whitfield@hooli.com" not in emails(built, "website_visitor") | emails(built, "inbound_agent")
    assert outbound.filter(pl.col("session_count") == 0).height >= 10


def test_an_orchestration_without_a_sync_step_contributes_nothing(built: Build, seeds: Seeds) -> None:
    digest_picks = {
        seeds.email_by_person_id.get(o["person_id"]) for o in seeds.raw["orchestration_outputs"]
        if o["orchestration_id"] == "orc_slack_digest"
    } - {None}
    only_digest = digest_picks - {p["email"] for p in seeds.outbound_picks()}
    assert {"sam.rivera@globex.com", APOSTROPHE} <= only_digest
    for workflow in WORKFLOWS:
        assert "sam.rivera@globex.com" not in emails(built, workflow)
    assert not only_digest & emails(built, "outbound_agent")
    for entity in ENTITIES:
        ids = built.model("outbound_agent", entity)["orchestration_ids"]
        assert ids.null_count() == 0 and not ids.str.contains("orc_slack_digest").any()
        for value in ids:
            assert value.split(",") == sorted(set(value.split(",")))
    # Nor does it feed the intent fields of the other workflows: O'Hara was only picked by the digest.
    website = built.model("website_visitor", "persons")
    assert website.filter(pl.col("email") == APOSTROPHE)["intent_signal"].to_list() == [None]
    for workflow in ("website_visitor", "inbound_agent"):
        for row in built.model(workflow, "persons").iter_rows(named=True):
            outputs = [o for o in seeds.syncing_outputs if seeds.email_by_person_id.get(o["person_id"]) == row["email"]]
            latest = max(outputs, key=lambda o: (o["produced_at"], o["id"]), default=None)
            assert row["intent_signal"] == (latest["signal_type"] if latest else None)


def test_other_workflows_leave_orchestration_ids_empty(built: Build) -> None:
    for workflow in ("website_visitor", "inbound_agent"):
        for entity in ENTITIES:
            assert built.model(workflow, entity)["orchestration_ids"].null_count() == \
                built.model(workflow, entity).height


def test_dirty_values_survive_intact(built: Build) -> None:
    website = built.model("website_visitor", "persons")
    by_email = {row["email"]: row for row in website.iter_rows(named=True)}
    assert by_email[APOSTROPHE]["last_name"] == "O'Hara"
    assert (by_email["jose.nunez@acme.io"]["first_name"], by_email["jose.nunez@acme.io"]["last_name"]) == ("José",
                                                                                                         "Núñez")
    assert (by_email["wei.wang@hooli.com"]["first_name"], by_email["wei.wang@hooli.com"]["last_name"]) == ("伟", "王")
    assert by_email["zoe.akesson@mueller-soehne.de"]["company_name"] == "Müller & Söhne Cloud GmbH"
    assert len(by_email["alex.morgan@hooli.com"]["title"]) > 128  # truncation is the CRM connector's call
    assert by_email["priya@initech.cloud"]["last_name"] is None
    # A personal address keeps the company the person was identified with.
    assert by_email["kevin.osei84@gmail.com"]["company_domain"] == "acme.io"
    lena = built.model("outbound_agent", "persons").filter(pl.col("email") == "lena.schmidt@gmail.com")
    assert lena.select("company_domain", "company_name").row(0) == (None, None)


def test_invalid_emails_are_never_written(built: Build) -> None:
    for workflow in WORKFLOWS:
        assert not {"jane.doe@", "not-an-email"} & emails(built, workflow)


def test_activity_dates_fall_in_the_sample_calendar(built: Build) -> None:
    for (workflow, entity), frame in built.models().items():
        assert frame["activity_date"].null_count() == 0, (workflow, entity)
        assert frame["activity_date"].min() >= date(2026, 9, 22)
        assert frame["activity_date"].max() <= date(2026, 11, 20)


def test_dbt_build_ran_key_and_unit_tests(built: Build) -> None:
    results = json.loads((built.target / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"]: r["status"] for r in results}
    assert set(statuses.values()) <= {"success", "pass"}
    unit_tests = [u for u in statuses if u.startswith("unit_test.")]
    assert len(unit_tests) >= 12
    for workflow in WORKFLOWS:
        for column, entity in (("email", "persons"), ("domain", "companies")):
            assert any(u.startswith(f"test.writeback.unique_sync_{workflow}__{entity}_{column}") for u in statuses)
        link_test = f"test.writeback.relationships_sync_{workflow}__persons_company_domain"
        assert any(u.startswith(link_test) for u in statuses)
