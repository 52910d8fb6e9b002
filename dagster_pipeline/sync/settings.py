"""Sync settings (``writeback.yml`` or ``$WRITEBACK_SETTINGS``), validated before anything runs.

Object settings are **global**: ``objects.lead.create: false`` stops every workflow from
creating Leads. Any unknown key, bad type or impossible combination is one line naming the
key, raised as :class:`~connectors.errors.ConfigError` (the CLI exits 2, nothing written).

Defaults are the safe ones a RevOps admin expects from a first connect:
- ``create`` and ``update`` on, ``write_warmly_data`` on (the fields are ours; ``writeback
  setup`` creates them);
- a null in the warehouse never erases a CRM value; link fields (``Contact.AccountId``,
  ``Lead.Company``) are only filled when empty, so a rep's choice is never overwritten;
- nothing is ever deleted.
Credentials are never read from this file: only from the environment.

Reading the file is as strict as validating it: a file that is not UTF-8, empty, a directory,
too large, nested too deeply or using YAML anchors and aliases (``&a`` / ``*a``: a few lines of
them expand into billions of values) is refused with one line saying so. Values echoed in an
error are clipped, never printed whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.crm import DEFAULT_MAX_RETRY_AFTER
from connectors.errors import ConfigError, echo_value

WORKFLOWS: tuple[str, ...] = ("website_visitor", "inbound_agent", "outbound_agent")
CRM_OBJECTS: dict[str, tuple[str, ...]] = {
    "salesforce": ("lead", "contact", "account"),
    "hubspot": ("contact", "company"),
}
DEFAULT_SETTINGS_FILE = "writeback.yml"
#: A settings file is a few dozen lines; anything larger is not one.
MAX_SETTINGS_BYTES = 1_000_000
#: Fields a mapping may not target: the match keys and the links the engine owns (lower-cased).
OWNED_FIELDS = frozenset({"email", "domain", "accountid", "id"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMapping(_Strict):
    """One custom field: a constant ``value`` or a sync-model ``column``.

    ``mode: if_empty`` writes only when the CRM field is blank (never overwrites a rep's value).
    """

    value: str | int | float | bool | None = None
    column: str | None = None
    mode: Literal["overwrite", "if_empty"] = "overwrite"

    @model_validator(mode="after")
    def _one_source(self) -> FieldMapping:
        if (self.value is None) == (self.column is None):
            raise ValueError("give exactly one of `value` or `column`")
        return self


class ObjectSettings(_Strict):
    create: bool = True
    update: bool = True
    write_warmly_data: bool = True
    field_mapping: dict[str, FieldMapping] = Field(default_factory=dict)


class WorkflowSettings(_Strict):
    enabled: bool = True


class SyncTuning(_Strict):
    bulk_threshold: int = Field(default=2000, ge=1, description="Salesforce: Bulk API 2.0 from this many records up")
    hubspot_ten_second_limit: int = Field(default=100, ge=1, description="HubSpot calls per rolling 10 s (app's tier)")
    max_attempts: int = Field(default=6, ge=1, le=20)
    max_retry_after_seconds: float = Field(
        default=DEFAULT_MAX_RETRY_AFTER, ge=0, le=3600,
        description="Longest Retry-After waited out; longer, the records fail rate_limited and go next run")


class Settings(_Strict):
    crm: Literal["salesforce", "hubspot"] = "salesforce"
    objects: dict[str, ObjectSettings] = Field(default_factory=dict)
    workflows: dict[str, WorkflowSettings] = Field(default_factory=dict)
    sync: SyncTuning = Field(default_factory=lambda: SyncTuning())

    @model_validator(mode="after")
    def _known_names(self) -> Settings:
        allowed = CRM_OBJECTS[self.crm]
        for name, obj in self.objects.items():
            if name not in allowed:
                raise ValueError(f"objects.{echo_key(name)}: not an object of {self.crm}; "
                                 f"allowed: {', '.join(allowed)}")
            for field_name in obj.field_mapping:
                if field_name.lower() in OWNED_FIELDS or field_name.lower().startswith(("warmly_",)):
                    raise ValueError(
                        f"objects.{name}.field_mapping.{echo_key(field_name)}: written by the sync itself "
                        "(the record's key or Warmly data); map another field"
                    )
        for name in self.workflows:
            if name not in WORKFLOWS:
                raise ValueError(f"workflows.{echo_key(name)}: unknown workflow; allowed: {', '.join(WORKFLOWS)}")
        return self

    def object(self, name: str) -> ObjectSettings:
        return self.objects.get(name) or ObjectSettings()

    def workflow_enabled(self, name: str) -> bool:
        return (self.workflows.get(name) or WorkflowSettings()).enabled

    def for_crm(self, crm: str) -> Settings:
        """The same settings aimed at another CRM (``--crm``); objects of the other CRM are dropped."""
        if crm == self.crm:
            return self
        objects = {k: v for k, v in self.objects.items() if k in CRM_OBJECTS[crm]}
        return self.model_copy(update={"crm": crm, "objects": objects})


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_context=False, include_input=True)[0]
    loc = ".".join(echo_key(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    if err["type"] == "literal_error" or err["type"].endswith("_type") or err["type"].endswith("_parsing"):
        msg = f"{msg} (got {echo_value(err.get('input'))})"
    return f"{loc}: {msg}" if loc and not msg.startswith(loc) else msg


def echo_key(part: object, limit: int = 60) -> str:
    """A key of the settings as an error names it: clipped, so a huge key cannot flood the line."""
    text = str(part)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_settings(data: Any, *, source: str = "settings") -> Settings:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_first_error(exc)}") from None


def settings_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("WRITEBACK_SETTINGS") or DEFAULT_SETTINGS_FILE)


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a settings file has no use for them, and a handful of
    nested aliases (the "billion laughs") expand into more values than any process can check."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise ConfigError(f"line {mark.line + 1}: YAML anchors and aliases (&name, *name) are not allowed "
                              "in the settings file; write each value out")
        return super().compose_node(parent, index)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: where, and what is wrong (never the surrounding text)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or type(exc).__name__
    return f"{where}{problem}"


def read_settings_text(p: Path) -> str:
    """The settings file's text, or a :class:`ConfigError` naming what is wrong with the file itself."""
    name = str(p)
    if p.is_dir():
        raise ConfigError(f"{name}: is a directory, not a settings file")
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_SETTINGS_BYTES + 1)
    except PermissionError:
        raise ConfigError(f"{name}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(raw) > MAX_SETTINGS_BYTES:
        raise ConfigError(f"{name}: larger than {MAX_SETTINGS_BYTES:,} bytes; is this the settings file?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}, column {column}); "
                          "save the file as UTF-8") from None
    if not text.strip():
        raise ConfigError(f"{name}: the file is empty; write the settings in it, or remove it to run on "
                          "the defaults")
    return text


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate the settings file; a missing default file means all defaults."""
    p = settings_path(path)
    if not p.exists():
        if path or os.environ.get("WRITEBACK_SETTINGS"):
            raise ConfigError(f"{p}: settings file not found")
        return Settings()
    text = read_settings_text(p)
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader that also refuses aliases
    except ConfigError as exc:
        raise ConfigError(f"{p.name}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p.name}: not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise ConfigError(f"{p.name}: nested too deeply to be a settings file") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ConfigError(f"{p.name}: a value cannot be read ({exc})") from None
    return parse_settings(data, source=p.name)
