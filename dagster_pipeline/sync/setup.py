"""`writeback setup`: create the fields we own on each CRM object and make them usable, idempotently.

Warmly data fields are created where ``write_warmly_data`` is on; the sync key (the external id
idempotent creates are keyed on) wherever we may create records. Mapped custom fields belong to
the CRM admin: we never create them, we report them when missing.

In Salesforce a field created through the Tooling API is visible to no one until field-level
security grants it, so setup then grants read and edit on every field it owns — created now, or
there already but hidden or read-only for the integration user — through the
:data:`~dagster_pipeline.sync.gate.PERMISSION_SET` permission set, assigned to the running user,
and verifies through describe that the fields are now visible and writable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.crm import FieldSpec, ObjectSchema
from dagster_pipeline.sync.catalog import OBJECTS, sync_key_spec
from dagster_pipeline.sync.gate import PERMISSION_SET, PERMISSION_SET_LABEL
from dagster_pipeline.sync.passes import org_of
from dagster_pipeline.sync.settings import Settings
from dagster_pipeline.sync.state import SyncStore


@dataclass
class SetupReport:
    crm: str
    created: dict[str, list[str]] = field(default_factory=dict)
    present: dict[str, list[str]] = field(default_factory=dict)
    missing_mapped: dict[str, list[str]] = field(default_factory=dict)
    granted: dict[str, list[str]] = field(default_factory=dict)  # made visible and writable (Salesforce)
    permission_set: str | None = None
    not_usable: dict[str, list[str]] = field(default_factory=dict)  # ours, still hidden or read-only afterwards
    grant_failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"crm": self.crm, "created": self.created, "already_present": self.present,
                "granted": self.granted, "permission_set": self.permission_set,
                "not_usable": self.not_usable, "grant_failed": self.grant_failed,
                "missing_mapped_fields": self.missing_mapped}

    @property
    def ok(self) -> bool:
        return not any(self.missing_mapped.values()) and not any(self.not_usable.values()) and not self.grant_failed


def _usable(schema: ObjectSchema, name: str) -> bool:
    f = schema.fields.get(name)
    return f is not None and (f.createable or f.updateable)


def _specs(settings: Settings, name: str) -> list[FieldSpec]:
    od = OBJECTS[settings.crm][name]
    specs = [w.spec(od.crm) for w in od.warmly] if settings.object(name).write_warmly_data else []
    if od.uses_sync_key:
        specs.append(sync_key_spec(od.crm))
    return specs


def run_setup(settings: Settings, connector: Any, *, dry_run: bool = False,
              store: SyncStore | None = None) -> SetupReport:
    """Create what is missing, grant what is hidden; with a ``store``, start a new field epoch for
    each object that got a field or a grant.

    The new epoch changes every fingerprint of that object, so the next sync compares each
    record with the CRM again and fills the (re)created field, instead of leaving it empty
    until the warehouse row happens to change.
    """
    report = SetupReport(settings.crm)
    todo: dict[str, list[FieldSpec]] = {}
    for name, od in OBJECTS[settings.crm].items():
        specs = _specs(settings, name)
        schema = connector.describe(od.api_name, refresh=True)
        report.present[od.api_name] = [sp.name for sp in specs if _usable(schema, sp.name)]
        todo[od.api_name] = [sp for sp in specs if not _usable(schema, sp.name)]
        report.created[od.api_name] = []
        if not todo[od.api_name]:
            continue
        if dry_run:
            hidden = set(connector.hidden_fields(od.api_name, [sp.name for sp in todo[od.api_name]]))
            report.created[od.api_name] = [sp.name for sp in todo[od.api_name]
                                           if sp.name not in schema.fields and sp.name not in hidden]
        elif settings.crm == "salesforce":
            report.created[od.api_name] = list(connector.create_fields(od.api_name, todo[od.api_name]))
        else:
            report.created[od.api_name] = list(connector.create_properties(od.api_name, todo[od.api_name]))
    to_grant = {obj: [sp.name for sp in specs] for obj, specs in todo.items() if specs}
    if settings.crm == "salesforce" and to_grant:
        report.permission_set = PERMISSION_SET
        if dry_run:
            report.granted = to_grant
        else:
            access = connector.grant_field_access(PERMISSION_SET, PERMISSION_SET_LABEL, to_grant)
            report.granted = access.granted
            report.grant_failed = access.failed
    for name, od in OBJECTS[settings.crm].items():
        changed = bool(todo[od.api_name]) and not dry_run
        schema = connector.describe(od.api_name, refresh=True) if changed else connector.describe(od.api_name)
        if not dry_run:
            report.not_usable[od.api_name] = [sp.name for sp in todo[od.api_name] if not _usable(schema, sp.name)]
        report.missing_mapped[od.api_name] = schema.missing(list(settings.object(name).field_mapping))
        fixed = [sp.name for sp in todo[od.api_name] if _usable(schema, sp.name)]
        if changed and fixed and store is not None:
            store.new_field_epoch(settings.crm, org_of(connector), od.api_name,
                                  f"writeback setup made usable {', '.join(fixed)}")
    return report
