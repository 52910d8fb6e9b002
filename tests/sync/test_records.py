from __future__ import annotations

import polars as pl
import pytest

from connectors.crm import FieldInfo, ObjectSchema
from connectors.errors import ConfigError
from dagster_pipeline.sync.catalog import OBJECTS
from dagster_pipeline.sync.records import INVALID, KEY, NOTES, build_desired, with_fingerprint
from dagster_pipeline.sync.settings import parse_settings
from tests.sync.frames import companies, company, person, persons

LEAD = OBJECTS["salesforce"]["lead"]


def lead_schema(*extra: FieldInfo) -> ObjectSchema:
    fields = {
        "Email": FieldInfo("Email", "email", 80), "FirstName": FieldInfo("FirstName", "string", 40),
        "LastName": FieldInfo("LastName", "string", 80), "Title": FieldInfo("Title", "string", 128),
        "Company": FieldInfo("Company", "string", 255), "Industry": FieldInfo("Industry", "picklist"),
        "NumberOfEmployees": FieldInfo("NumberOfEmployees", "int"), "Country": FieldInfo("Country", "string", 80),
        "Phone": FieldInfo("Phone", "phone", 40), "Website": FieldInfo("Website", "url", 255),
        "LeadSource": FieldInfo("LeadSource", "picklist", options=("Web", "Other")),
    }
    fields.update({w.api_name("salesforce"): FieldInfo(w.api_name("salesforce"), w.kind, w.length, custom=True)
                   for w in LEAD.warmly})
    fields.update({f.name: f for f in extra})
    return ObjectSchema("Lead", fields)


def test_three_categories_in_one_record() -> None:
    s = parse_settings({"objects": {"lead": {"field_mapping": {
        "LeadSource": {"value": "Web"}, "Use_Case__c": {"column": "chat_use_case", "mode": "if_empty"}}}}})
    schema = lead_schema(FieldInfo("Use_Case__c", "textarea", 1000, custom=True))
    d = build_desired(LEAD, s.object("lead"), persons(person("ann@acme.io")), workflow="inbound_agent", schema=schema)
    row = d.frame.row(0, named=True)
    assert row[KEY] == "ann@acme.io"
    assert row["Title"] == "VP Sales"  # standard
    assert row["Warmly_Session_Count__c"] == 3 and row["Warmly_Workflow__c"] == "inbound_agent"  # Warmly data
    assert row["LeadSource"] == "Web" and row["Use_Case__c"] == "Route inbound leads"  # mapped
    assert d.modes["Use_Case__c"] == "if_empty" and d.modes["FirstName"] == "if_empty"


def test_warmly_data_off_writes_no_engagement_field() -> None:
    s = parse_settings({"objects": {"lead": {"write_warmly_data": False}}})
    d = build_desired(LEAD, s.object("lead"), persons(person("ann@acme.io")), workflow="website_visitor",
                      schema=lead_schema())
    assert not [f for f in d.fields if f.startswith("Warmly_")]


def test_schema_trims_long_text_and_blanks_bad_picklist_values_with_a_note() -> None:
    s = parse_settings({"objects": {"lead": {"field_mapping": {"LeadSource": {"value": "Billboard"}}}}})
    long_title = "Senior Vice President of Global Revenue Operations, " * 4
    d = build_desired(LEAD, s.object("lead"), persons(person("ann@acme.io", title=long_title)),
                      workflow="website_visitor", schema=lead_schema())
    row = d.frame.row(0, named=True)
    assert len(row["Title"]) == 128 and long_title.startswith(row["Title"])
    assert row["LeadSource"] is None
    assert sorted(row[NOTES]) == ["invalid_option:LeadSource", "truncated:Title"]


def test_values_past_a_fields_bounds_are_left_out_with_a_note_whatever_the_column_type() -> None:
    """A model may hold time-zone-aware datetimes, or dates where the field holds datetimes: the
    bounds are compared in the field's own terms (UTC), never failing the run."""
    import datetime as dt

    when = FieldInfo("Warmly_Last_Seen__c", "datetime", custom=True,
                     bounds=(dt.datetime(1700, 1, 1), dt.datetime(4000, 12, 31)))
    employees = FieldInfo("NumberOfEmployees", "int", number_limit=10**8)
    schema = lead_schema(when, employees)
    p = persons(person("ann@acme.io", last_seen_at=dt.datetime(1, 1, 1), company_employee_count=10**9),
                person("bob@acme.io", last_seen_at=dt.datetime(2026, 1, 1), company_employee_count=-5))
    s = parse_settings({}).object("lead")
    for frame in (p, p.with_columns(pl.col("last_seen_at").dt.replace_time_zone("UTC")),
                  p.with_columns(pl.col("last_seen_at").dt.replace_time_zone("Europe/Berlin")),
                  p.with_columns(pl.col("last_seen_at").cast(pl.Date))):
        d = build_desired(LEAD, s, frame, workflow="website_visitor", schema=schema)
        ann, bob = d.frame.sort(KEY).rows(named=True)
        assert (ann["Warmly_Last_Seen__c"], ann["NumberOfEmployees"]) == (None, None)
        assert sorted(ann[NOTES]) == ["out_of_range:NumberOfEmployees", "out_of_range:Warmly_Last_Seen__c"]
        assert (bob["Warmly_Last_Seen__c"] is not None, bob["NumberOfEmployees"], bob[NOTES]) == (True, -5, [])
    # A double as large as the limit is out of it, though 10**18 - 1 is no double (rounds to 10**18).
    big = FieldInfo("AnnualRevenue", "number", number_limit=10**18)
    c = build_desired(OBJECTS["salesforce"]["account"], parse_settings({}).object("account"),
                      companies(company("a.io"), company("b.io")).with_columns(
                          annual_revenue=pl.Series([1e18, 999_999_999_999_999_872.0])),
                      workflow="website_visitor", schema=ObjectSchema("Account", {"AnnualRevenue": big}))
    assert c.frame.sort(KEY)["AnnualRevenue"].to_list() == [None, 999_999_999_999_999_872.0]


def test_fields_the_org_lacks_are_dropped_not_sent() -> None:
    schema = lead_schema()
    del schema.fields["Phone"]
    d = build_desired(LEAD, parse_settings({}).object("lead"), persons(person("ann@acme.io")),
                      workflow="website_visitor", schema=schema)
    assert "Phone" not in d.fields and d.dropped_fields == ["Phone"]


@pytest.mark.parametrize(("email", "valid"), [("o'hara@acme.io", True), ("zoë@acme.io", False),
                                              ("no-at-sign.acme.io", False), ("a@b", False), ("a.b+c@x.co", True),
                                              (".a@x.io", False), ("a..b@x.io", False), ("a.@x.io", False),
                                              ("x" * 64 + "@x.io", True), ("x" * 65 + "@x.io", False),
                                              ("x@" + "a" * 61 + "." + "b" * 61 + "." + "c" * 61 + ".io", True),
                                              ("x@" + ("a" * 61 + ".") * 5 + "io", False)])
def test_invalid_emails_are_flagged_before_any_call(email: str, valid: bool) -> None:
    d = build_desired(LEAD, parse_settings({}).object("lead"), persons(person(email)), workflow="website_visitor",
                      schema=None)
    assert (d.frame[INVALID][0] is None) is valid


@pytest.mark.parametrize(("objects", "key"), [
    ({"lead": {"field_mapping": {"X__c": {"column": "favourite_colour"}}}}, "objects.lead.field_mapping.X__c.column"),
    ({"salesforce": {"lead": {"field_mapping": {"X__c": {"column": "favourite_colour"}}}}},
     "objects.salesforce.lead.field_mapping.X__c.column"),
])
def test_unknown_mapping_column_is_a_config_error_naming_the_key_as_written(objects: dict, key: str) -> None:
    s = parse_settings({"objects": objects})
    with pytest.raises(ConfigError) as info:
        build_desired(LEAD, s.object("lead"), persons(person("ann@acme.io")), workflow="website_visitor", schema=None,
                      path=s.path("lead"))
    assert str(info.value).startswith(f"{key}: unknown sync-model column 'favourite_colour'")


def test_fingerprint_moves_with_data_and_settings_only() -> None:
    a = persons(person("ann@acme.io"), person("bob@acme.io"))
    h1 = with_fingerprint(a, "sig")["__hash"]
    assert with_fingerprint(a, "sig")["__hash"].to_list() == h1.to_list()
    b = a.with_columns(pl.when(pl.col("email") == "bob@acme.io").then(pl.lit("CEO")).otherwise("title").alias("title"))
    h2 = with_fingerprint(b, "sig")["__hash"]
    assert h2[0] == h1[0] and h2[1] != h1[1]
    assert with_fingerprint(a, "other settings")["__hash"][0] != h1[0]
    later = a.with_columns(pl.col("activity_date").dt.offset_by("1d"))
    assert with_fingerprint(later, "sig")["__hash"].to_list() == h1.to_list()


def test_chat_answers_are_read_column_wise_by_question_key() -> None:
    s = parse_settings({"objects": {"lead": {"field_mapping": {
        "Team_Size__c": {"chat_answer": "team_size"},
        "Use_Case__c": {"chat_answer": "use_case", "mode": "if_empty"},
        "Budget__c": {"chat_answer": "budget"},  # a question nobody has answered yet
    }}}})
    frame = persons(
        person("ann@acme.io", chat_answers='{"team_size":"51-200","use_case":"Route inbound leads"}'),
        person("bob@acme.io", chat_answers=None),  # never chatted
        person("cy@acme.io", chat_answers='{"use_case":"Say \\"hi\\" to Zoë\\nand more"}'),
    )
    d = build_desired(LEAD, s.object("lead"), frame, workflow="inbound_agent", schema=None)
    got = d.frame.select(KEY, "Team_Size__c", "Use_Case__c", "Budget__c").rows()
    assert got == [
        ("ann@acme.io", "51-200", "Route inbound leads", None),
        ("bob@acme.io", None, None, None),
        ("cy@acme.io", None, 'Say "hi" to Zoë\nand more', None),
    ]
    assert d.modes["Use_Case__c"] == "if_empty" and d.frame.schema["Budget__c"] == pl.String


def test_a_chat_answer_mapping_on_a_model_without_answers_names_the_key() -> None:
    s = parse_settings({"objects": {"lead": {"field_mapping": {"Team_Size__c": {"chat_answer": "team_size"}}}}})
    old = persons(person("ann@acme.io")).drop("chat_answers")  # built before the column existed
    with pytest.raises(ConfigError, match=r"^objects\.lead\.field_mapping\.Team_Size__c\.chat_answer: .*dbt build"):
        build_desired(LEAD, s.object("lead"), old, workflow="inbound_agent", schema=None, path=s.path("lead"))
