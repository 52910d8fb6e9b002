from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.errors import ConfigError
from dagster_pipeline.sync.settings import (
    CRM_OBJECTS,
    WORKFLOWS,
    ObjectSettings,
    Settings,
    load_settings,
    parse_settings,
)

SHIPPED = Path(__file__).resolve().parents[2] / "writeback.yml"


def test_defaults_are_safe_and_global() -> None:
    s = parse_settings({})
    assert s.crm == "salesforce"
    lead = s.object("lead")
    assert (lead.create, lead.update, lead.write_warmly_data) == (True, True, True)
    assert all(s.workflow_enabled(w) for w in ("website_visitor", "inbound_agent", "outbound_agent"))


@pytest.mark.parametrize("form", ["per_crm", "flat"])
def test_full_settings_parse(form: str) -> None:
    objects = {
        "contact": {
            "create": False,
            "field_mapping": {"use_case": {"column": "chat_use_case", "mode": "if_empty"}},
        },
        "company": {"write_warmly_data": False, "field_mapping": {"source": {"value": "Warmly"}}},
    }
    s = parse_settings({
        "crm": "hubspot",
        "objects": {"hubspot": objects} if form == "per_crm" else objects,
        "workflows": {"outbound_agent": {"enabled": False}},
    })
    assert s.object("contact").create is False
    assert s.object("contact").field_mapping["use_case"].mode == "if_empty"
    assert s.object("company").field_mapping["source"].value == "Warmly"
    assert not s.workflow_enabled("outbound_agent")
    assert s.objects.salesforce == Settings().objects.salesforce  # the other CRM keeps its defaults


def _switches(obj: ObjectSettings) -> dict[str, Any]:
    return obj.model_dump(exclude={"field_mapping"})


@pytest.mark.parametrize(("crm", "name"), [(c, n) for c, names in CRM_OBJECTS.items() for n in names])
def test_shipped_settings_file_equals_the_code_defaults(crm: str, name: str) -> None:
    """A file that sets one key behaves as the shipped file everywhere else (mappings are examples)."""
    shipped = load_settings(SHIPPED)
    defaults = parse_settings({})
    ours, theirs = shipped.for_crm(crm).object(name), defaults.for_crm(crm).object(name)
    assert set(type(ours).model_fields) - {"field_mapping"} == set(_switches(ours))  # every switch is compared
    assert _switches(ours) == _switches(theirs)
    assert theirs.field_mapping == {}
    assert shipped.for_crm(crm).may_create(name) == defaults.for_crm(crm).may_create(name)


def test_shipped_settings_file_equals_the_code_defaults_outside_objects() -> None:
    shipped, defaults = load_settings(SHIPPED), parse_settings({})
    assert shipped.crm == defaults.crm
    assert shipped.sync == defaults.sync
    assert all(shipped.workflow_enabled(w) == defaults.workflow_enabled(w) for w in WORKFLOWS)


@pytest.mark.parametrize(
    ("data", "crm", "expected"),
    [
        # The shipped file aimed at HubSpot: HubSpot's own contact settings, not Salesforce's.
        (SHIPPED, "hubspot", {"contact": True, "company": True}),
        (SHIPPED, "salesforce", {"lead": True, "contact": False, "account": True}),
        # A flat file is the settings of its `crm:` only; the other CRM keeps its defaults.
        ({"objects": {"contact": {"update": False}}}, "hubspot", {"contact": True, "company": True}),
        ({"crm": "hubspot", "objects": {"contact": {"create": False}}}, "hubspot", {"contact": False}),
        ({"crm": "hubspot", "objects": {"contact": {"create": False}}}, "salesforce",
         {"lead": True, "contact": False}),
        # Lead creation off creates no Contact unless asked for, in either form.
        ({"objects": {"lead": {"create": False}}}, "salesforce", {"lead": False, "contact": False}),
        ({"objects": {"salesforce": {"lead": {"create": False}}}}, "salesforce", {"lead": False, "contact": False}),
        ({"objects": {"salesforce": {"lead": {"create": False}, "contact": {"create_when_lead_off": True}}}},
         "salesforce", {"lead": False, "contact": True}),
        ({"objects": {"lead": {"create": False}, "contact": {"create_when_lead_off": True}}},
         "salesforce", {"lead": False, "contact": True}),
        # The fallback is only a fallback: with Lead creation on, new people are Leads.
        ({"objects": {"salesforce": {"contact": {"create_when_lead_off": True}}}}, "salesforce",
         {"lead": True, "contact": False}),
        ({"objects": {"contact": {"create": False}}}, "salesforce", {"lead": True, "contact": False}),
    ],
)
def test_what_each_crm_may_create(data: Any, crm: str, expected: dict[str, bool]) -> None:
    settings = load_settings(data) if isinstance(data, Path) else parse_settings(data)
    aimed = settings.for_crm(crm)
    assert aimed.crm == crm
    assert {name: aimed.may_create(name) for name in expected} == expected


def test_salesforce_and_hubspot_contacts_are_different_objects() -> None:
    s = parse_settings({"objects": {
        "salesforce": {"contact": {"update": False, "field_mapping": {"Department": {"value": "Sales"}}}},
        "hubspot": {"contact": {"write_warmly_data": False}},
    }})
    sf, hs = s.object("contact"), s.for_crm("hubspot").object("contact")
    assert (sf.update, sf.write_warmly_data, list(sf.field_mapping)) == (False, True, ["Department"])
    assert (hs.update, hs.write_warmly_data, hs.field_mapping) == (True, False, {})


@pytest.mark.parametrize(
    ("data", "name", "path"),
    [
        ({"objects": {"lead": {}}}, "lead", "objects.lead"),
        ({"objects": {"salesforce": {"lead": {}}}}, "lead", "objects.salesforce.lead"),
        ({}, "lead", "objects.salesforce.lead"),
        ({"crm": "hubspot", "objects": {"contact": {}}}, "contact", "objects.contact"),
    ],
)
def test_keys_are_named_as_the_file_wrote_them(data: dict, name: str, path: str) -> None:
    settings = parse_settings(data)
    assert settings.path(name) == path
    other = "hubspot" if settings.crm == "salesforce" else "salesforce"
    assert settings.for_crm(other).path("contact") == f"objects.{other}.contact"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"crm": "pipedrive"}, "crm"),
        ({"objects": {"lead": {"creat": True}}}, "objects.lead.creat: unknown key"),
        ({"objects": {"salesforce": {"lead": {"creat": True}}}}, "objects.salesforce.lead.creat: unknown key"),
        ({"objects": {"salesforce": {"lead": {"create": "sometimes"}}}}, "objects.salesforce.lead.create"),
        ({"objects": {"salesforce": {"company": {}}}}, "objects.salesforce.company: not an object of salesforce"),
        ({"objects": {"hubspot": {"lead": {}}}}, "objects.hubspot.lead: not an object of hubspot"),
        ({"objects": {"hubspot": {"contact": {"create_when_lead_off": True}}}},
         "objects.hubspot.contact.create_when_lead_off: unknown key"),
        ({"objects": {"salesforce": {"contact": {"create": True}}}},
         "objects.salesforce.contact.create: new people become Leads; for Contacts while lead.create is false"),
        ({"objects": {"contact": {"create": True}}}, "set create_when_lead_off: true"),
        ({"objects": {"salesforce": {"contact": {"create_when_lead_off": "yes please"}}}},
         "objects.salesforce.contact.create_when_lead_off"),
        ({"objects": {"salesforce": {}, "lead": {}}}, "objects.lead: goes under its CRM (objects.salesforce.lead)"),
        ({"objects": {"hubspot": {}, "zoho": {}}}, "objects.zoho: unknown key; allowed: salesforce, hubspot"),
        ({"objects": {"salesforce": []}}, "objects.salesforce: expected a mapping"),
        ({"objects": {"hubspot": {"contact": {"field_mapping": {"email": {"value": "x"}}}}}},
         "objects.hubspot.contact.field_mapping.email: written by"),
        # A chat answer is named by its question key, which must be one; only people have answers.
        ({"objects": {"lead": {"field_mapping": {"X__c": {"chat_answer": "Team Size"}}}}},
         "objects.lead.field_mapping.X__c.chat_answer: 'Team Size' is not a question key"),
        ({"objects": {"salesforce": {"lead": {"field_mapping": {"X__c": {"chat_answer": "team-size"}}}}}},
         "objects.salesforce.lead.field_mapping.X__c.chat_answer: 'team-size' is not a question key"),
        ({"objects": {"lead": {"field_mapping": {"X__c": {"chat_answer": "Team_Size"}}}}}, "not a question key"),
        ({"objects": {"lead": {"field_mapping": {"X__c": {"chat_answer": "$.team_size"}}}}}, "not a question key"),
        ({"objects": {"lead": {"field_mapping": {"X__c": {"chat_answer": ""}}}}}, "not a question key"),
        ({"objects": {"lead": {"field_mapping": {"X__c": {"chat_answer": 7}}}}}, "X__c.chat_answer"),
        ({"objects": {"lead": {"field_mapping": {"X__c": {"chat_answer": "team_size", "column": "phone"}}}}},
         "exactly one of `value`, `column` or `chat_answer`"),
        ({"objects": {"lead": {"field_mapping": {"X__c": {"column": "chat_answers.team_size"}}}}},
         "X__c.column: an answer is mapped as {chat_answer: team_size}"),
        ({"objects": {"account": {"field_mapping": {"X__c": {"chat_answer": "team_size"}}}}},
         "objects.account.field_mapping.X__c.chat_answer: chat answers are a person's"),
        ({"objects": {"hubspot": {"company": {"field_mapping": {"x": {"chat_answer": "team_size"}}}}}},
         "objects.hubspot.company.field_mapping.x.chat_answer: chat answers are a person's"),
        ({"objects": {"lead": {"create": "sometimes"}}}, "objects.lead.create"),
        ({"objects": {"company": {}}}, "objects.company: not an object of salesforce"),
        ({"crm": "hubspot", "objects": {"lead": {}}}, "objects.lead: not an object of hubspot"),
        ({"workflows": {"webinar": {"enabled": True}}}, "workflows.webinar: unknown workflow"),
        ({"objects": {"lead": {"field_mapping": {"X__c": {}}}}},
         "objects.lead.field_mapping.X__c: give exactly one of `value`, `column` or `chat_answer`"),
        ({"objects": {"lead": {"field_mapping": {"X__c": {"value": 1, "column": "a"}}}}}, "exactly one"),
        ({"objects": {"lead": {"field_mapping": {"X__c": {"value": 1, "mode": "sometimes"}}}}}, "mode"),
        ({"tokens": "abc"}, "tokens: unknown key"),
        ({"objects": {"lead": {"field_mapping": {"Email": {"value": "x@y.z"}}}}}, "field_mapping.Email: written by"),
        ({"objects": {"account": {"field_mapping": {"Warmly_Last_Seen__c": {"column": "last_seen_at"}}}}},
         "written by the sync itself"),
    ],
)
def test_bad_settings_name_the_key(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(data, source="writeback.yml")
    message = str(info.value)
    assert expected in message
    assert "\n" not in message  # one line


def test_load_settings_file(tmp_path, monkeypatch) -> None:
    f = tmp_path / "custom.yml"
    f.write_text("crm: hubspot\nobjects:\n  contact:\n    update: false\n")
    monkeypatch.setenv("WRITEBACK_SETTINGS", str(f))
    assert load_settings().object("contact").update is False
    f.write_text("crm: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings()
    monkeypatch.setenv("WRITEBACK_SETTINGS", str(tmp_path / "nope.yml"))
    with pytest.raises(ConfigError, match="not found"):
        load_settings()


def test_for_crm_aims_the_same_file_at_the_other_crm() -> None:
    s = parse_settings({"objects": {"salesforce": {"lead": {"create": False}},
                                    "hubspot": {"contact": {"update": False}}}})
    hs = s.for_crm("hubspot")
    assert hs.crm == "hubspot" and hs.object("contact").update is False and hs.may_create("contact")
    assert hs.for_crm("salesforce").object("lead").create is False
    with pytest.raises(KeyError):
        hs.object("lead")


@pytest.mark.parametrize(("crm", "name"), [("salesforce", "lead"), ("salesforce", "contact"), ("hubspot", "contact")])
def test_a_chat_answer_maps_by_its_question_key(crm: str, name: str) -> None:
    s = parse_settings({"crm": crm, "objects": {name: {"field_mapping": {
        "Team_Size__c": {"chat_answer": "team_size", "mode": "if_empty"},
        "Budget__c": {"chat_answer": "budget_2027"},  # nobody was asked yet: not an error
    }}}})
    mapping = s.object(name).field_mapping
    assert (mapping["Team_Size__c"].chat_answer, mapping["Team_Size__c"].mode) == ("team_size", "if_empty")
    assert mapping["Budget__c"].chat_answer == "budget_2027" and mapping["Budget__c"].column is None


def test_retry_after_cap_is_a_setting_with_a_short_default() -> None:
    assert 0 < parse_settings({}).sync.max_retry_after_seconds <= 60
    assert parse_settings({"sync": {"max_retry_after_seconds": 5}}).sync.max_retry_after_seconds == 5
    with pytest.raises(ConfigError, match="sync.max_retry_after_seconds"):
        parse_settings({"sync": {"max_retry_after_seconds": -1}})


def test_batch_size_and_request_timeout_default_to_the_crms_and_are_bounded() -> None:
    tuning = parse_settings({}).sync
    assert (tuning.batch_size, tuning.request_timeout_seconds) == (None, None)  # the connectors' own defaults
    assert parse_settings({"sync": {"batch_size": 3, "request_timeout_seconds": 1.5}}).sync.batch_size == 3
    with pytest.raises(ConfigError, match="sync.batch_size"):
        parse_settings({"sync": {"batch_size": 201}})  # no API takes more than 200 a call
    with pytest.raises(ConfigError, match="sync.request_timeout_seconds"):
        parse_settings({"sync": {"request_timeout_seconds": 0}})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"crm: salesforce\nobjects: {lead: {create: \xff}}\n", "not UTF-8 text (byte 0xff at line 2, column 26)"),
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b"crm: &c salesforce\nworkflows: {}\n", "line 1: YAML anchors and aliases"),
        (b"base: &b {create: true}\nobjects: {lead: *b}\n", "YAML anchors and aliases (&name, *name) are not allowed"),
        (b"crm: [unclosed\n", "not valid YAML: line 2, column 1: expected ',' or ']'"),
        (b"[" * 5000, "nested too deeply"),
    ],
)
def test_a_bad_settings_file_is_named_in_one_line(tmp_path, content: bytes, expected: str) -> None:
    f = tmp_path / "writeback.yml"
    f.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_settings(f)
    assert expected in str(info.value) and "\n" not in str(info.value)
    error = info.value  # nothing chained behind it: a traceback would print the input again
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_a_directory_is_not_a_settings_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a settings file"):
        load_settings(tmp_path)


def test_comments_only_means_the_defaults(tmp_path) -> None:
    f = tmp_path / "writeback.yml"
    f.write_text("# everything commented out\n# crm: hubspot\n")
    assert load_settings(f) == parse_settings({})


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    f = tmp_path / "writeback.yml"
    f.write_text("\n".join(lines) + "\nsync: {bulk_threshold: *a9}\n")
    with pytest.raises(ConfigError, match="anchors and aliases"):
        load_settings(f)


def test_echoed_values_are_clipped_never_printed_whole() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"crm": "x" * 100_000})
    assert len(str(info.value)) < 200 and "…" in str(info.value)
    huge = [[1] * 1000] * 1000
    with pytest.raises(ConfigError) as info:
        parse_settings({"sync": {"bulk_threshold": huge}})
    assert "got a list of 1000 item(s)" in str(info.value) and len(str(info.value)) < 200
    with pytest.raises(ConfigError) as info:
        parse_settings({"objects": {"lead\nx" * 1000: {}}})
    assert "\n" not in str(info.value) and len(str(info.value)) < 200
