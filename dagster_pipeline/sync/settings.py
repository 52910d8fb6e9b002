"""Sync settings (``writeback.yml`` or ``$WRITEBACK_SETTINGS``), validated before anything runs.

One file holds the object settings of **both** CRMs, each under its own name, because a
Salesforce Contact and a HubSpot contact are different objects with different rules::

    crm: salesforce              # the CRM a run writes to; `--crm hubspot` switches to the other block
    objects:
      salesforce: {lead: …, contact: …, account: …}
      hubspot: {contact: …, company: …}

Object settings are **global** across workflows: ``objects.salesforce.lead.create: false``
stops every workflow from creating Leads. An object or CRM the file leaves out has the code
defaults, which are the shipped ``writeback.yml``'s switches, so a file that sets one key
behaves like the shipped file everywhere else.

The flat form of earlier releases, ``objects: {lead: …, contact: …}``, stays accepted and is
unambiguous: it is the settings of the CRM named by ``crm:`` (default ``salesforce``) and of
no other, so ``--crm hubspot`` on such a file runs HubSpot with HubSpot's defaults, never with
Salesforce's ``contact`` block. A file uses one form or the other: an object name next to a
``salesforce:`` or ``hubspot:`` block is an error. Messages name keys as the file wrote them.

**New people in Salesforce** become Leads (``lead.create``). Contacts are matched by email
and updated, and are created only when asked for explicitly:
``objects.salesforce.contact.create_when_lead_off: true`` makes new people Contacts under
their Account while ``lead.create`` is false. With Lead creation off and that switch off
(the default), new people are skipped as ``create_disabled``. The Salesforce ``contact`` has no
``create`` switch of its own; ``create: false`` there is accepted (it is what happens anyway)
and ``create: true`` is an error that names ``create_when_lead_off``.

Any unknown key, bad type or impossible combination is one line naming the key, raised as
:class:`~connectors.errors.ConfigError` (the CLI exits 2, nothing written).

Defaults are the safe ones a RevOps admin expects from a first connect:
- ``create`` and ``update`` on (Salesforce Contacts: update only), ``write_warmly_data`` on
  (the fields are ours; ``writeback setup`` creates them); no field mapping;
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
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from connectors.budget import DEFAULT_RESERVE
from connectors.crm import DEFAULT_MAX_RETRY_AFTER
from connectors.errors import ConfigError, echo_value

WORKFLOWS: tuple[str, ...] = ("website_visitor", "inbound_agent", "outbound_agent")
CRMS: tuple[str, ...] = ("salesforce", "hubspot")
CRM_OBJECTS: dict[str, tuple[str, ...]] = {
    "salesforce": ("lead", "contact", "account"),
    "hubspot": ("contact", "company"),
}
DEFAULT_SETTINGS_FILE = "writeback.yml"
#: A settings file is a few dozen lines; anything larger is not one.
MAX_SETTINGS_BYTES = 1_000_000
#: Fields a mapping may not target: the match keys and the links the engine owns (lower-cased).
OWNED_FIELDS = frozenset({"email", "domain", "accountid", "id"})
#: A chat question key a mapping may name, as the dbt models store keys (trimmed, lower-cased).
QUESTION_KEY = re.compile(r"[a-z][a-z0-9_]*")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_owned(name: str) -> str:
    if name.lower() in OWNED_FIELDS or name.lower().startswith("warmly_"):
        raise ValueError("written by the sync itself (the record's key or Warmly data); map another field")
    return name


MappedField = Annotated[str, AfterValidator(_not_owned)]


class FieldMapping(_Strict):
    """One custom field: a constant ``value``, a sync-model ``column``, or a ``chat_answer``.

    ``chat_answer`` names a chat question by its key (``team_size``): the person's latest
    answer to it, from the persons sync model's ``chat_answers`` column. A key no chat has
    captured yet is not an error (a new question may have no answers yet: the field stays
    empty); a key that cannot be a question key is. ``mode: if_empty`` writes only when the CRM
    field is blank (never overwrites a rep's value).
    """

    value: str | int | float | bool | None = None
    column: str | None = None
    chat_answer: str | None = None
    mode: Literal["overwrite", "if_empty"] = "overwrite"

    @field_validator("column")
    @classmethod
    def _not_an_answer(cls, column: str | None) -> str | None:
        if column is not None and column.startswith("chat_answers."):
            raise ValueError(f"an answer is mapped as {{chat_answer: {column.removeprefix('chat_answers.')}}}")
        return column

    @field_validator("chat_answer")
    @classmethod
    def _question_key(cls, key: str | None) -> str | None:
        if key is not None and not QUESTION_KEY.fullmatch(key):
            raise ValueError(f"{key!r} is not a question key: lower-case letters, digits and _ (e.g. team_size)")
        return key

    @model_validator(mode="after")
    def _one_source(self) -> FieldMapping:
        if sum(x is not None for x in (self.value, self.column, self.chat_answer)) != 1:
            raise ValueError("give exactly one of `value`, `column` or `chat_answer`")
        return self


class ObjectSettings(_Strict):
    create: bool = True
    update: bool = True
    write_warmly_data: bool = True
    field_mapping: dict[MappedField, FieldMapping] = Field(default_factory=dict)


class SalesforceContactSettings(ObjectSettings):
    """Salesforce Contacts: matched by email and updated; created only as the explicit fallback."""

    create: bool = False
    #: With ``lead.create`` false, new people become Contacts under their Account.
    create_when_lead_off: bool = False

    @field_validator("create")
    @classmethod
    def _no_create(cls, create: bool) -> bool:
        if create:
            raise ValueError("new people become Leads; for Contacts while lead.create is false, "
                             "set create_when_lead_off: true")
        return create


def _no_chat_answers(company: ObjectSettings) -> ObjectSettings:
    for name, mapping in company.field_mapping.items():
        if mapping.chat_answer is not None:
            raise ValueError(f"field_mapping.{name}.chat_answer: chat answers are a person's; "
                             "map them on a person object (lead, contact)")
    return company


CompanySettings = Annotated[ObjectSettings, AfterValidator(_no_chat_answers)]


class SalesforceObjects(_Strict):
    lead: ObjectSettings = Field(default_factory=ObjectSettings)
    contact: SalesforceContactSettings = Field(default_factory=SalesforceContactSettings)
    account: CompanySettings = Field(default_factory=ObjectSettings)


class HubSpotObjects(_Strict):
    contact: ObjectSettings = Field(default_factory=ObjectSettings)
    company: CompanySettings = Field(default_factory=ObjectSettings)


class CrmObjects(_Strict):
    salesforce: SalesforceObjects = Field(default_factory=SalesforceObjects)
    hubspot: HubSpotObjects = Field(default_factory=HubSpotObjects)


class RampSettings(_Strict):
    """Start narrow: cap the creates of a workflow whose segment is new or has just changed.

    While a ramp runs, each run creates at most ``max_creates_per_run`` records of each CRM
    object; the rest are ``skipped: ramp_limit`` and picked up by the next runs, highest intent
    first. Updates of records the CRM already holds are never held back. The ramp ends after
    ``days`` days, once it has created ``max_creates`` records (all objects together), or by
    ``writeback ramp end --workflow W``; ``null`` turns that way of ending off.
    """

    max_creates_per_run: int = Field(ge=1)
    days: int | None = Field(default=7, ge=1)
    max_creates: int | None = Field(default=500, ge=1)


class WorkflowSettings(_Strict):
    enabled: bool = True
    #: No ``ramp`` block: no cap (an explicit settings file or a benchmark is never capped by surprise).
    ramp: RampSettings | None = None


class SyncTuning(_Strict):
    bulk_threshold: int = Field(default=2000, ge=1, description="Salesforce: Bulk API 2.0 from this many records up")
    #: How the engine reads the CRM records it matches against (README "Reading the CRM"):
    #: ``auto`` weighs the calls of each way per object and run (count first; keyed lookups, or a
    #: Salesforce Bulk query of the object when the keys are a large share of it); ``keyed`` always
    #: looks keys up; ``count`` always counts first, then looks keys up; ``bulk`` always reads the whole
    #: object (Salesforce: a Bulk query job; HubSpot: its paged list, company links inline). Every way
    #: finds the same records: only calls differ.
    read_path: Literal["auto", "keyed", "count", "bulk"] = Field(
        default="auto", description="auto | keyed | count | bulk: how CRM records are read for matching")
    #: A Bulk query moves every record the lookup could find through the API, so it is taken only
    #: when the keys looked up are at least this share of them, even where it costs fewer calls:
    #: 1,000 changed keys among 100,000 Leads stay keyed (README "Reading the CRM").
    bulk_read_min_share: float = Field(
        default=0.1, gt=0, le=1,
        description="auto reads: a Bulk query / HubSpot list only when the keys are this share of what it reads")
    hubspot_ten_second_limit: int = Field(default=100, ge=1, description="HubSpot calls per rolling 10 s (app's tier)")
    max_attempts: int = Field(default=6, ge=1, le=20)
    max_retry_after_seconds: float = Field(
        default=DEFAULT_MAX_RETRY_AFTER, ge=0, le=3600,
        description="Longest Retry-After waited out; longer, the records fail rate_limited and go next run")
    batch_size: int | None = Field(
        default=None, ge=1, le=200,
        description="Records per write call (default: the API's maximum, 200 Salesforce, 100 HubSpot)")
    request_timeout_seconds: float | None = Field(
        default=None, gt=0, le=600,
        description="Seconds a CRM call may take before it is given up and retried (default 600 Salesforce, "
                    "60 HubSpot)")
    api_reserve: float = Field(
        default=DEFAULT_RESERVE, ge=0, le=0.9,
        description="Share of the org's daily API allocation left to its other integrations; a run that "
                    "reaches it stops, the rest fail api_budget_reserved and go next run")


def flat_objects_crm(data: Any) -> str | None:
    """The CRM a flat ``objects: {lead: …}`` block belongs to (``crm:``), or None for the per-CRM form."""
    if not isinstance(data, dict):
        return None
    objects, crm = data.get("objects"), data.get("crm", "salesforce")
    if not isinstance(objects, dict) or not objects or crm not in CRMS:
        return None
    if any(k in CRMS for k in objects):
        return None
    return str(crm)


class Settings(_Strict):
    crm: Literal["salesforce", "hubspot"] = "salesforce"
    objects: CrmObjects = Field(default_factory=CrmObjects)
    workflows: dict[str, WorkflowSettings] = Field(default_factory=dict)
    sync: SyncTuning = Field(default_factory=lambda: SyncTuning())
    #: The CRM whose objects the file gave in the flat form (keys are then named without the CRM).
    _flat_crm: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _flat_form(cls, data: Any) -> Any:
        if isinstance(data, dict):  # an empty section (`objects:` with everything commented out) is no section
            data = {k: v for k, v in data.items() if not (v is None and k in ("objects", "workflows", "sync"))}
        crm = flat_objects_crm(data)
        if crm is None:
            return data
        return {**data, "objects": {crm: data["objects"]}}

    @model_validator(mode="after")
    def _known_workflows(self) -> Settings:
        for name in self.workflows:
            if name not in WORKFLOWS:
                raise ValueError(f"workflows.{echo_key(name)}: unknown workflow; allowed: {', '.join(WORKFLOWS)}")
        return self

    def object(self, name: str) -> ObjectSettings:
        """The settings of object ``name`` of the CRM this run writes to (``crm``)."""
        if name not in CRM_OBJECTS[self.crm]:
            raise KeyError(f"{name} is not an object of {self.crm}")
        objects: ObjectSettings = getattr(getattr(self.objects, self.crm), name)
        return objects

    def may_create(self, name: str) -> bool:
        """Whether a run may create records of object ``name`` of ``crm``.

        Salesforce Contacts are created only as the fallback the admin asked for: with
        ``contact.create_when_lead_off`` on and ``lead.create`` off.
        """
        if self.crm == "salesforce" and name == "contact":
            sf = self.objects.salesforce
            return sf.contact.create_when_lead_off and not sf.lead.create
        return self.object(name).create

    def path(self, name: str) -> str:
        """Where object ``name`` of ``crm`` is set in the file, for messages: ``objects.salesforce.lead``."""
        return f"objects.{name}" if self._flat_crm == self.crm else f"objects.{self.crm}.{name}"

    def workflow_enabled(self, name: str) -> bool:
        return (self.workflows.get(name) or WorkflowSettings()).enabled

    def ramp(self, name: str) -> RampSettings | None:
        """The workflow's ramp settings; ``None`` (no cap) where the file says nothing."""
        return (self.workflows.get(name) or WorkflowSettings()).ramp

    def for_crm(self, crm: str) -> Settings:
        """The same settings aimed at another CRM (``--crm``): that CRM's own object settings apply."""
        if crm == self.crm:
            return self
        return self.model_copy(update={"crm": crm})


def _first_error(exc: ValidationError, flat_crm: str | None) -> str:
    err = exc.errors(include_url=False, include_context=False, include_input=True)[0]
    loc = [echo_key(p) for p in err["loc"] if p != "[key]"]
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
        if len(loc) == 3 and loc[0] == "objects" and loc[1] in CRMS:
            msg = f"not an object of {loc[1]}; allowed: {', '.join(CRM_OBJECTS[loc[1]])}"
        elif len(loc) == 2 and loc[0] == "objects":
            crms = [c for c in CRMS if loc[1] in CRM_OBJECTS[c]]
            msg = (f"goes under its CRM ({' or '.join(f'objects.{c}.{loc[1]}' for c in crms)}) in a file with "
                   "per-CRM blocks" if crms else f"unknown key; allowed: {', '.join(CRMS)}")
    if err["type"] in ("model_type", "dict_type"):
        msg = "expected a mapping"
    if err["type"] == "literal_error" or err["type"].endswith("_type") or err["type"].endswith("_parsing"):
        msg = f"{msg} (got {echo_value(err.get('input'))})"
    if flat_crm and loc[:2] == ["objects", flat_crm]:
        loc = ["objects", *loc[2:]]
    if msg.startswith("field_mapping."):  # raised for a whole object, about one of its keys
        sub, msg = msg.split(": ", 1)
        loc.append(sub)
    where = ".".join(loc)
    return f"{where}: {msg}" if where and not msg.startswith(where) else msg


def echo_key(part: object, limit: int = 60) -> str:
    """A key of the settings as an error names it: clipped, so a huge key cannot flood the line."""
    text = str(part)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_settings(data: Any, *, source: str = "settings") -> Settings:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    flat_crm = flat_objects_crm(data)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_first_error(exc, flat_crm)}") from None
    settings._flat_crm = flat_crm
    return settings


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
