"""Salesforce wire formats: how values, describe fields, custom-field metadata, Bulk CSV and
error payloads look on the wire. Pure functions, no HTTP — tested without any server.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from connectors.crm import FieldInfo, FieldKind, FieldSpec
from connectors.salesforce.soql import check_identifier

# -- values ------------------------------------------------------------------------------


class InvalidValue(ValueError):
    """A value we cannot put on the wire; the record fails alone, before any call."""

    def __init__(self, field: str, message: str, *, code: str = "INVALID_VALUE") -> None:
        self.field = field
        self.code = code
        super().__init__(f"{field}: {message}")


def to_wire(field: str, value: Any) -> Any:
    """A Python value as Salesforce JSON expects it (``None`` stays ``None``: it blanks the field).

    Datetimes must carry a zone: a naive one would be read as UTC by Salesforce and as local
    time by whoever wrote it, so it is refused rather than guessed.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue(field, f"{value!r} is not a number Salesforce can store")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidValue(field, f"{value!r} is not a number Salesforce can store")
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidValue(field, "datetime has no time zone")
        utc = value.astimezone(timezone.utc)
        # isoformat, not strftime: strftime("%Y") writes year 1 as "1", which Salesforce cannot parse.
        return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    raise InvalidValue(field, f"values of type {type(value).__name__} are not supported")


def prepare_record(record: Mapping[str, Any], key_field: str) -> dict[str, Any]:
    """Validated field names and wire values; the key field first. Raises :class:`InvalidValue`.

    What both write paths send (sObject Collections JSON, Bulk CSV cells): a record that fails
    here fails alone, before any call.
    """
    out: dict[str, Any] = {}
    key_value = None
    for name, value in record.items():
        try:
            check_identifier(name, "field name")
        except ValueError as exc:
            raise InvalidValue(str(name), "not a valid Salesforce field name", code="INVALID_FIELD") from exc
        if name.lower() == key_field.lower():
            key_value = to_wire(key_field, value)
            continue
        out[name] = to_wire(name, value)
    if key_value is None or key_value == "":
        raise InvalidValue(key_field, "the record has no value for its key field", code="MISSING_KEY")
    return {key_field: key_value, **out}


#: Bulk API 2.0 writes ``#N/A`` to blank a field; an empty cell leaves the field unchanged.
BULK_NULL = "#N/A"


def to_csv_cell(field: str, value: Any) -> str:
    wire = to_wire(field, value)
    if wire is None:
        return BULK_NULL
    if isinstance(wire, bool):
        return "true" if wire else "false"
    if isinstance(wire, float):
        # Plain decimal notation: "1e-07" is not a number to Salesforce's CSV parser.
        text = format(Decimal(repr(wire)), "f")
        return text
    return str(wire)


def csv_text(columns: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def parse_csv(text: str) -> list[dict[str, str]]:
    if not text.strip():
        return []  # Salesforce answers an empty 200 when there are no such rows
    return list(csv.DictReader(io.StringIO(text)))


_BULK_FIELDS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(,\s*[A-Za-z_][A-Za-z0-9_]*)*$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def parse_bulk_error(text: str) -> tuple[str, str, tuple[str, ...]]:
    """``"STRING_TOO_LONG:Title: data value too large:Title --"`` → (code, message, fields)."""
    s = (text or "").strip()
    if s.endswith("--"):
        s = s[:-2].rstrip()
    code, sep, rest = s.partition(":")
    if not sep or not _CODE.match(code):
        return "BULK_ERROR", s, ()
    message, sep, tail = rest.rpartition(":")
    if sep and (tail == "" or _BULK_FIELDS.match(tail)):
        fields = tuple(f.strip() for f in tail.split(",") if f.strip())
        return code, message.strip(), fields
    return code, rest.strip(), ()


# -- errors and headers ------------------------------------------------------------------


def error_detail(body: Any) -> tuple[str | None, str]:
    """(errorCode, message) from a Salesforce error body: a list of errors or one object."""
    first = body[0] if isinstance(body, list) and body else body
    if isinstance(first, Mapping):
        code = first.get("errorCode") or first.get("statusCode") or first.get("error")
        message = first.get("message") or first.get("error_description") or ""
        return (str(code) if code else None), str(message)[:500]
    return None, ""


_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def parse_limit_info(header: str | None) -> tuple[int, int] | None:
    """``Sforce-Limit-Info: api-usage=18/15000`` → ``(18, 15000)``."""
    m = _USAGE.search(header or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def parse_retry_after(header: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or an HTTP date), else ``None``."""
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


# -- describe and custom fields ----------------------------------------------------------

_KINDS: dict[str, FieldKind] = {
    "string": "string", "encryptedstring": "string", "textarea": "textarea", "email": "email",
    "url": "url", "phone": "phone", "int": "int", "long": "int", "double": "number",
    "currency": "number", "percent": "number", "boolean": "bool", "date": "date",
    "datetime": "datetime", "picklist": "picklist", "combobox": "picklist",
    "reference": "reference", "id": "id",
}


#: The dates and datetimes Salesforce stores: 1700-01-01T00:00:00Z to 4000-12-31T00:00:00Z GMT
#: (Data Loader guide, "Data Import Dates"). Values out of it are refused, so they are left out.
DATETIME_BOUNDS = (datetime(1700, 1, 1), datetime(4000, 12, 31))
DATE_BOUNDS = (date(1700, 1, 1), date(4000, 12, 31))


def _bounds(kind: FieldKind) -> tuple[Any, Any] | None:
    """The dates and datetimes Salesforce stores (naive datetimes are UTC)."""
    return DATETIME_BOUNDS if kind == "datetime" else DATE_BOUNDS if kind == "date" else None


def _number_limit(d: Mapping[str, Any], kind: FieldKind) -> int | None:
    """What a number's magnitude must stay below, from describe: an ``int`` has ``digits`` digits, a
    ``double`` / ``currency`` / ``percent`` ``precision - scale`` before the point; past them
    Salesforce refuses the record (``NUMBER_OUTSIDE_VALID_RANGE``)."""
    if kind == "int" and d.get("digits"):
        return int(10 ** int(d["digits"]))
    if kind == "number" and d.get("precision"):
        return int(10 ** (int(d["precision"]) - int(d.get("scale") or 0)))
    return None


def field_info(d: Mapping[str, Any]) -> FieldInfo:
    """One ``fields[]`` entry of ``GET sobjects/{Type}/describe`` as a :class:`FieldInfo`."""
    createable = bool(d.get("createable", False))
    restricted = bool(d.get("restrictedPicklist", False))
    options = None
    if restricted:
        options = tuple(
            str(p["value"]) for p in d.get("picklistValues") or [] if p.get("active", True) and "value" in p
        )
    kind = _KINDS.get(str(d.get("type", "")).lower(), "other")
    return FieldInfo(
        name=str(d["name"]),
        kind=kind,
        length=int(d["length"]) if d.get("length") else None,
        createable=createable,
        updateable=bool(d.get("updateable", False)),
        required_on_create=createable and not d.get("nillable", True) and not d.get("defaultedOnCreate", False),
        options=options,
        unique=bool(d.get("unique", False)),
        external_id=bool(d.get("externalId", False)),
        custom=bool(d.get("custom", False)),
        bounds=_bounds(kind),
        number_limit=_number_limit(d, kind),
        scale=int(d.get("scale") or 0) if kind == "number" and d.get("precision") else None,
    )


def custom_field_metadata(spec: FieldSpec) -> dict[str, Any]:
    """The Tooling API ``CustomField.Metadata`` for one of our :class:`FieldSpec` s."""
    meta: dict[str, Any]
    if spec.unique_key:
        # Case-insensitive unique external id: "A@x.io" and "a@x.io" are one person.
        meta = {"type": "Text", "length": 255, "externalId": True, "unique": True, "caseSensitive": False}
    elif spec.kind == "string":
        meta = {"type": "Text", "length": max(1, min(spec.length or 255, 255))}
    elif spec.kind == "textarea":
        meta = {"type": "LongTextArea", "length": 32768, "visibleLines": 3}
    elif spec.kind == "int":
        meta = {"type": "Number", "precision": 18, "scale": 0}
    elif spec.kind == "number":
        meta = {"type": "Number", "precision": 18, "scale": 2}
    elif spec.kind == "bool":
        meta = {"type": "Checkbox", "defaultValue": "false"}  # a formula string in the Metadata API
    elif spec.kind in ("datetime", "date", "url", "email", "phone"):
        meta = {"type": {"datetime": "DateTime", "date": "Date", "url": "Url", "email": "Email",
                         "phone": "Phone"}[spec.kind]}
    else:
        raise ValueError(f"{spec.name}: cannot create a custom field of kind {spec.kind!r}")
    meta["label"] = spec.label
    if spec.description:
        meta["description"] = spec.description
    return meta
