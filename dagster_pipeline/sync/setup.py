"""`writeback setup`: create the fields we own on each CRM object, idempotently.

Warmly data fields are created where ``write_warmly_data`` is on; the sync key (the
external id idempotent creates are keyed on) wherever we may create records. Mapped custom
fields belong to the CRM admin: we never create them, we report them when missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dagster_pipeline.sync.catalog import OBJECTS, sync_key_spec
from dagster_pipeline.sync.engine import org_of
from dagster_pipeline.sync.settings import Settings
from dagster_pipeline.sync.state import SyncStore


@dataclass
class SetupReport:
    crm: str
    created: dict[str, list[str]] = field(default_factory=dict)
    present: dict[str, list[str]] = field(default_factory=dict)
    missing_mapped: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"crm": self.crm, "created": self.created, "already_present": self.present,
                "missing_mapped_fields": self.missing_mapped}

    @property
    def ok(self) -> bool:
        return not any(self.missing_mapped.values())


def run_setup(settings: Settings, connector: Any, *, dry_run: bool = False,
              store: SyncStore | None = None) -> SetupReport:
    """Create what is missing; with a ``store``, start a new field epoch for each object that got a field.

    The new epoch changes every fingerprint of that object, so the next sync compares each
    record with the CRM again and fills the (re)created field, instead of leaving it empty
    until the warehouse row happens to change.
    """
    report = SetupReport(settings.crm)
    for name, od in OBJECTS[settings.crm].items():
        s = settings.object(name)
        specs = [w.spec(od.crm) for w in od.warmly] if s.write_warmly_data else []
        if od.uses_sync_key:
            specs.append(sync_key_spec(od.crm))
        schema = connector.describe(od.api_name, refresh=True)
        todo = [sp for sp in specs if sp.name not in schema.fields]
        report.present[od.api_name] = [sp.name for sp in specs if sp.name in schema.fields]
        if todo and not dry_run:
            if settings.crm == "salesforce":
                created = connector.create_fields(od.api_name, todo)
            else:
                created = connector.create_properties(od.api_name, todo)
            report.created[od.api_name] = list(created)
            if created and store is not None:
                store.new_field_epoch(settings.crm, org_of(connector), od.api_name,
                                      f"writeback setup created {', '.join(created)}")
        else:
            report.created[od.api_name] = []
        schema = connector.describe(od.api_name, refresh=True) if todo and not dry_run else schema
        report.missing_mapped[od.api_name] = schema.missing(list(s.field_mapping))
    return report
