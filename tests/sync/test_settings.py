from __future__ import annotations

import pytest

from connectors.errors import ConfigError
from dagster_pipeline.sync.settings import load_settings, parse_settings


def test_defaults_are_safe_and_global() -> None:
    s = parse_settings({})
    assert s.crm == "salesforce"
    lead = s.object("lead")
    assert (lead.create, lead.update, lead.write_warmly_data) == (True, True, True)
    assert all(s.workflow_enabled(w) for w in ("website_visitor", "inbound_agent", "outbound_agent"))


def test_full_settings_parse() -> None:
    s = parse_settings({
        "crm": "hubspot",
        "objects": {
            "contact": {
                "create": False,
                "field_mapping": {"use_case": {"column": "chat_use_case", "mode": "if_empty"}},
            },
            "company": {"write_warmly_data": False, "field_mapping": {"source": {"value": "Warmly"}}},
        },
        "workflows": {"outbound_agent": {"enabled": False}},
    })
    assert s.object("contact").create is False
    assert s.object("contact").field_mapping["use_case"].mode == "if_empty"
    assert s.object("company").field_mapping["source"].value == "Warmly"
    assert not s.workflow_enabled("outbound_agent")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"crm": "pipedrive"}, "crm"),
        ({"objects": {"lead": {"creat": True}}}, "objects.lead.creat: unknown key"),
        ({"objects": {"lead": {"create": "sometimes"}}}, "objects.lead.create"),
        ({"objects": {"company": {}}}, "objects.company: not an object of salesforce"),
        ({"crm": "hubspot", "objects": {"lead": {}}}, "objects.lead: not an object of hubspot"),
        ({"workflows": {"webinar": {"enabled": True}}}, "workflows.webinar: unknown workflow"),
        ({"objects": {"lead": {"field_mapping": {"X__c": {}}}}}, "exactly one of `value` or `column`"),
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


def test_for_crm_drops_other_crms_objects() -> None:
    s = parse_settings({"objects": {"lead": {"create": False}}})
    hs = s.for_crm("hubspot")
    assert hs.crm == "hubspot" and "lead" not in hs.objects
