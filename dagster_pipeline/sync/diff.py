"""Field-level comparison of what the warehouse wants against what the CRM holds.

Values are compared in a canonical form per field kind, so that formatting differences
the CRM introduces (``1200`` vs ``1200.0``, ``…T10:00:00.000+0000`` vs ``…T10:00:00Z``,
``"true"`` vs ``True``, trailing spaces, e-mail case) never cause a write.
Rules that protect a rep's data:
- a null in the warehouse never erases a CRM value;
- an ``if_empty`` field is written only when the CRM field is blank.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from connectors.crm import FieldKind, ObjectSchema


def _to_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)):  # HubSpot: epoch milliseconds
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.timezone.utc)
    s = str(value).strip()
    if not s:
        return None
    if s.isdigit():
        return dt.datetime.fromtimestamp(int(s) / 1000, tz=dt.timezone.utc)
    s = s.replace("Z", "+00:00")
    if len(s) >= 5 and s[-5] in "+-" and s[-3] != ":":  # +0000 -> +00:00
        s = f"{s[:-2]}:{s[-2:]}"
    parsed = dt.datetime.fromisoformat(s)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def canonical(kind: FieldKind | None, value: Any) -> Any:
    """A comparable form of ``value`` for a field of ``kind``; blank means ``None``."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if kind in ("int", "number"):
        try:
            return round(float(value), 6)
        except (TypeError, ValueError):
            return str(value).strip()
    if kind == "bool":
        if isinstance(value, str):
            return value.strip().lower() == "true"
        return bool(value)
    if kind == "datetime":
        try:
            parsed = _to_datetime(value)
        except ValueError:
            return str(value).strip()
        return None if parsed is None else parsed.astimezone(dt.timezone.utc).replace(microsecond=0)
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        s = str(value).strip()
        return dt.date.fromisoformat(s[:10]) if len(s) >= 10 else s
    s = str(value).strip()
    if kind in ("email", "url"):
        s = s.lower().rstrip("/")
    return s


def changed_fields(
    desired: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    modes: Mapping[str, str],
    schema: ObjectSchema | None,
) -> dict[str, tuple[Any, Any]]:
    """The fields to write for one record, as ``{field: (old, new)}``.

    ``current`` is None for a record that does not exist yet: every non-null field is written.
    """
    out: dict[str, tuple[Any, Any]] = {}
    for name, mode in modes.items():
        new = desired.get(name)
        if new is None or (isinstance(new, str) and not new.strip()):
            continue  # nulls never erase
        old = None if current is None else current.get(name)
        kind = schema.fields[name].kind if schema and name in schema.fields else None
        old_c = canonical(kind, old)
        if mode == "if_empty" and old_c is not None:
            continue
        if old_c != canonical(kind, new):
            out[name] = (old, new)
    return out
