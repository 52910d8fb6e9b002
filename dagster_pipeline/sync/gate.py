"""The gate before any write: what must be true of a CRM object before a record of it is written.

**Required fields.** With ``write_warmly_data`` on, every Warmly field must be on the object; where
creation is on, our sync key too; every mapped field always. "On the object" means usable by the
user the sync runs as: a Salesforce org hides a custom field from a user until field-level security
grants it (describe omits it, SOQL and writes naming it fail). So a required field fails the gate
in one of three ways, each with its own fix:

- *missing*: not in the CRM at all — ``writeback setup`` creates ours; a mapped field is the admin's;
- *not visible*: in the org, hidden from this user — ``writeback setup`` grants ours through the
  :data:`PERMISSION_SET` permission set; a mapped field needs the admin's grant;
- *read-only*: visible, not editable — the same grant.

A failed gate fails every record of the object with one reason — ``missing_required_field`` when
a field is missing, else ``field_not_visible`` — and a message naming the fields and the fix.

**Object permissions.** What the settings ask (``create``, ``update``, and reading the object to
match records) must be allowed to the credentials: Salesforce's object permissions (describe's
object-level ``createable`` / ``updateable`` / ``queryable``), HubSpot's token scopes. A refused
action is reported before any call (:func:`refusal`): the records it concerns fail with
``missing_permission`` (Salesforce) or ``missing_scope`` (HubSpot) and a message naming the exact
permission or scope, and the two ways out — grant it, or turn the setting off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.crm import Action, ObjectAccess, ObjectSchema
from dagster_pipeline.sync.catalog import ObjectDef
from dagster_pipeline.sync.settings import ObjectSettings

#: The permission set `writeback setup` creates in Salesforce and assigns to the integration user:
#: read and edit on every Warmly field and the sync key.
PERMISSION_SET = "Warmly_CRM_Writeback"
PERMISSION_SET_LABEL = "Warmly CRM Writeback"


def required_fields(od: ObjectDef, s: ObjectSettings, create: bool | None = None) -> list[str]:
    """Fields that must be usable before any record of the object is written (none if nothing is).

    ``create`` is whether records of the object may be created (``Settings.may_create``: a Salesforce
    Contact is created only with ``create_when_lead_off``); by default the object's own ``create``.
    """
    create = s.create if create is None else create
    if not (create or s.update):
        return []
    return od.required_fields(write_warmly_data=s.write_warmly_data, create=create, mapped=list(s.field_mapping))


def our_fields(od: ObjectDef) -> frozenset[str]:
    """The fields `writeback setup` creates and grants on the object: Warmly data and the sync key."""
    names = set(od.warmly_fields())
    if od.sync_key_field:
        names.add(od.sync_key_field)
    return frozenset(names)


@dataclass(frozen=True)
class FieldGap:
    """Why required fields of one object are not usable; empty when they all are."""

    object_type: str
    missing: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    ours: frozenset[str] = frozenset()
    settings_key: str = ""  # objects.<name>, for the mapped-field fix

    @property
    def names(self) -> tuple[str, ...]:
        return self.missing + self.hidden + self.read_only

    def __bool__(self) -> bool:
        return bool(self.names)

    @property
    def reason(self) -> str:
        return "missing_required_field" if self.missing else "field_not_visible"

    def message(self) -> str:
        obj = self.object_type
        return f"{self.problems()}. Nothing was written to {obj}; {self.fix()}, then sync again."

    def problems(self) -> str:
        """What is wrong, one clause per kind of field."""
        obj = self.object_type
        problems: list[str] = []
        if self.missing:
            problems.append(f"{obj} is missing required field(s): {', '.join(self.missing)}")
        if self.hidden:
            problems.append(f"{obj} field(s) {', '.join(self.hidden)} exist but are not visible to this user "
                            "(field-level security)")
        if self.read_only:
            problems.append(f"{obj} field(s) {', '.join(self.read_only)} are read-only for this user "
                            "(field-level security)")
        return ". ".join(problems)

    def fix(self) -> str:
        """What to do, one clause per kind of field: ours go through setup, mapped ones through the admin."""
        ungranted = self.hidden + self.read_only
        steps = []
        if any(n in self.ours for n in self.missing):
            steps.append("create them")
        if any(n in self.ours for n in ungranted):
            steps.append(f"grant read and edit on them through the {PERMISSION_SET} permission set")
        fixes = []
        if steps:
            fixes.append(f"run `writeback setup` to {' and '.join(steps)}")
        mapped_missing = [n for n in self.missing if n not in self.ours]
        mapped_hidden = [n for n in ungranted if n not in self.ours]
        if mapped_missing:
            fixes.append(f"create the mapped field(s) {', '.join(mapped_missing)} in the CRM or remove them from "
                         f"{self.settings_key}.field_mapping")
        if mapped_hidden:
            fixes.append(f"grant the integration user read and edit on {', '.join(mapped_hidden)} "
                         "(a permission set in Setup)")
        return "; ".join(fixes)


def field_gap(connector: Any, od: ObjectDef, s: ObjectSettings, schema: ObjectSchema | None = None, *,
              create: bool | None = None, settings_key: str | None = None) -> FieldGap:
    """The required fields of ``od`` that the connector's user cannot write, and why.

    ``schema`` is the object's describe when the caller already holds it. Telling *missing* from
    *not visible* costs a call only when describe lacks a required field (the Tooling API lists
    every field of the org).
    """
    need = required_fields(od, s, create)
    ours = our_fields(od)
    key = settings_key or f"objects.{od.name}"
    if not need:
        return FieldGap(od.api_name, ours=ours, settings_key=key)
    schema = schema if schema is not None else connector.describe(od.api_name)
    absent = [n for n in need if n not in schema.fields]
    read_only = [n for n in need if n in schema.fields
                 and not (schema.fields[n].createable or schema.fields[n].updateable)]
    hidden = set(connector.hidden_fields(od.api_name, absent)) if absent else set()
    return FieldGap(
        od.api_name,
        missing=tuple(n for n in absent if n not in hidden),
        hidden=tuple(n for n in absent if n in hidden),
        read_only=tuple(read_only),
        ours=ours,
        settings_key=key,
    )


_VERBS = {"read": "read", "create": "create records of", "update": "update records of"}


def refusal_parts(access: ObjectAccess, action: Action, settings_key: str) -> tuple[str, str, str] | None:
    """``(what is lacking, how to grant it, the setting that avoids it)`` when ``action`` on the object
    is refused; None when allowed."""
    lacking = access.missing(action)
    if not lacking:
        return None
    names = ", ".join(lacking)
    off = {"read": f"{settings_key}.create and .update: false", "describe": "",
           "create": f"{settings_key}.create: false", "update": f"{settings_key}.update: false",
           "define": ""}[action]
    if access.kind == "scope":
        why = f"the HubSpot access token lacks the scope {names}"
        grant = "add it to the private app (Settings → Integrations → Private Apps → Scopes) and use its new token"
    else:
        why = f"the Salesforce integration user lacks the object permission {names}"
        grant = "grant it in a permission set (Setup → Permission Sets → Object Settings)"
    return why, grant, off


def refusal(access: ObjectAccess, action: Action, settings_key: str) -> str | None:
    """Why ``action`` on the object is refused, naming what is lacking and the fixes; None when allowed."""
    parts = refusal_parts(access, action, settings_key)
    if parts is None:
        return None
    why, grant, off = parts
    fix = grant + (f", or set {off}" if off else "")
    return f"Cannot {_VERBS.get(action, action)} {access.object_type}: {why}; {fix}. Nothing was sent for it."
