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


def test_retry_after_cap_is_a_setting_with_a_short_default() -> None:
    assert 0 < parse_settings({}).sync.max_retry_after_seconds <= 60
    assert parse_settings({"sync": {"max_retry_after_seconds": 5}}).sync.max_retry_after_seconds == 5
    with pytest.raises(ConfigError, match="sync.max_retry_after_seconds"):
        parse_settings({"sync": {"max_retry_after_seconds": -1}})


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
