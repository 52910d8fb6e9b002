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
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.errors import ConfigError

WORKFLOWS: tuple[str, ...] = ("website_visitor", "inbound_agent", "outbound_agent")
CRM_OBJECTS: dict[str, tuple[str, ...]] = {
    "salesforce": ("lead", "contact", "account"),
    "hubspot": ("contact", "company"),
}
DEFAULT_SETTINGS_FILE = "writeback.yml"
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
                raise ValueError(f"objects.{name}: not an object of {self.crm}; allowed: {', '.join(allowed)}")
            for field_name in obj.field_mapping:
                if field_name.lower() in OWNED_FIELDS or field_name.lower().startswith(("warmly_",)):
                    raise ValueError(
                        f"objects.{name}.field_mapping.{field_name}: written by the sync itself "
                        "(the record's key or Warmly data); map another field"
                    )
        for name in self.workflows:
            if name not in WORKFLOWS:
                raise ValueError(f"workflows.{name}: unknown workflow; allowed: {', '.join(WORKFLOWS)}")
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
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    if err["type"] == "literal_error" or err["type"].endswith("_type") or err["type"].endswith("_parsing"):
        msg = f"{msg} (got {err.get('input')!r})"
    return f"{loc}: {msg}" if loc and not msg.startswith(loc) else msg


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


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate the settings file; a missing default file means all defaults."""
    p = settings_path(path)
    if not p.exists():
        if path or os.environ.get("WRITEBACK_SETTINGS"):
            raise ConfigError(f"{p}: settings file not found")
        return Settings()
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p.name}: not valid YAML ({exc})") from None
    return parse_settings(data, source=p.name)
