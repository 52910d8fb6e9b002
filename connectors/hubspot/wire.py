"""HubSpot's wire format, as pure functions: no calls, no state (tested without a server).

- HubSpot's caps on batches, search and associations, which the reads and writes cut at;
- property definitions read as :class:`FieldInfo`, and the body that creates a property;
- property values as HubSpot takes them (always strings);
- error bodies: every detail they carry, and which input value a message names;
- the ``Retry-After`` and ``X-HubSpot-RateLimit-*`` headers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from connectors.crm import FieldInfo, FieldKind, FieldSpec

CRM = "hubspot"
OBJECT_TYPES = ("contacts", "companies")

BATCH_CAP = 100  # inputs per CRM object batch read / update / upsert
SEARCH_IN_CAP = 100  # values per IN filter
LIST_PAGE = 100  # records per page of GET /crm/v3/objects/{type} (its limit's maximum)
SEARCH_PAGE = 200  # results per search page
SEARCH_RESULTS_CAP = 10_000  # HubSpot answers 400 past this offset
ASSOC_READ_CAP = 1_000  # ids per v4 associations batch read
ASSOC_WRITE_CAP = 100  # pairs per v4 batch/associate/default
TEN_SECONDS = 10.0

# FieldSpec kind -> (type, fieldType) for the properties API.
_CREATE_TYPES: dict[str, tuple[str, str]] = {
    "string": ("string", "text"),
    "textarea": ("string", "textarea"),
    "int": ("number", "number"),
    "number": ("number", "number"),
    "bool": ("bool", "booleancheckbox"),
    "datetime": ("datetime", "date"),
    "date": ("date", "date"),
    "url": ("string", "text"),
    "email": ("string", "text"),
    "phone": ("string", "text"),
}

T = TypeVar("T")


def field_info(prop: Mapping[str, Any]) -> FieldInfo:
    """A HubSpot property definition (``GET /crm/v3/properties/{type}``) as a :class:`FieldInfo`."""
    ptype = str(prop.get("type") or "")
    ftype = str(prop.get("fieldType") or "")
    kind: FieldKind
    options: tuple[str, ...] | None = None
    if ftype == "booleancheckbox" or ptype == "bool":
        kind = "bool"
    elif ptype == "enumeration":
        kind = "picklist"
        options = tuple(str(o.get("value")) for o in prop.get("options") or [] if isinstance(o, Mapping))
    elif ptype == "number":
        kind = "number"
    elif ptype == "datetime":
        kind = "datetime"
    elif ptype == "date":
        kind = "date"
    elif ptype == "phone_number" or ftype in ("phonenumber", "phone"):
        kind = "phone"
    elif ftype == "email":
        kind = "email"
    elif ptype == "string":
        kind = "textarea" if ftype == "textarea" else "string"
    else:
        kind = "other"
    meta = prop.get("modificationMetadata") or {}
    read_only = bool(prop.get("readOnlyValue")) or bool(meta.get("readOnlyValue"))
    unique = bool(prop.get("hasUniqueValue"))
    return FieldInfo(
        name=str(prop["name"]),
        kind=kind,
        createable=not read_only,
        updateable=not read_only,
        options=options,
        unique=unique,
        external_id=unique,  # a unique property is what HubSpot upserts can be keyed on
        custom=not bool(prop.get("hubspotDefined")),
    )


def property_create_body(spec: FieldSpec, group: str) -> dict[str, Any]:
    """The properties API body that creates ``spec`` in ``group``."""
    if spec.kind not in _CREATE_TYPES:
        raise ValueError(f"cannot create a HubSpot property of kind {spec.kind!r} ({spec.name})")
    ptype, ftype = _CREATE_TYPES[spec.kind]
    body: dict[str, Any] = {"name": spec.name, "label": spec.label, "type": ptype, "fieldType": ftype,
                            "groupName": group}
    if spec.description:
        body["description"] = spec.description
    if spec.kind == "bool":
        body["options"] = [{"label": "True", "value": "true", "displayOrder": 0, "hidden": False},
                           {"label": "False", "value": "false", "displayOrder": 1, "hidden": False}]
    if spec.unique_key:
        body["hasUniqueValue"] = True
    return body


def wire_value(value: Any) -> str:
    """A property value as HubSpot takes it: always a string; datetimes ISO-8601 in UTC."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        v = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        v = v.astimezone(dt.UTC)
        # isoformat, not strftime: strftime("%Y") writes year 1 as "1", which HubSpot cannot parse.
        return v.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def wire_properties(props: Mapping[str, Any]) -> dict[str, str]:
    """Properties to send. ``None`` means "nothing to write" and is left out: sending it would
    blank the CRM value, which the product never does on its own."""
    return {k: wire_value(v) for k, v in props.items() if v is not None}


_TOKEN_BEFORE = r"(?<![\w.%+'@-])"
_TOKEN_AFTER = r"(?![\w%+'@-]|\.\w)"


def mention_at(text: str, value: str, *, ignore_case: bool = False) -> int | None:
    """Where ``value`` first appears in ``text`` as a whole token (an e-mail inside a longer
    e-mail, or ``1`` inside ``10``, does not count), or None."""
    if not value or not text:
        return None
    flags = re.IGNORECASE if ignore_case else 0
    m = re.search(_TOKEN_BEFORE + re.escape(value) + _TOKEN_AFTER, text, flags)
    return m.start() if m else None


def mentions(text: str, value: str, *, ignore_case: bool = False) -> bool:
    return mention_at(text, value, ignore_case=ignore_case) is not None


def offending_value(text: str, values: Iterable[str], *, ignore_case: bool = False) -> str | None:
    """The one of ``values`` an error message is about.

    HubSpot names the bad value first and may go on to list the good ones
    (``bogus was not one of the allowed options: [lead, customer, …]``), so bracketed lists
    are ignored and the earliest mention wins.
    """
    text = re.sub(r"\[[^\]]*\]", " ", text)
    best: tuple[int, str] | None = None
    for v in dict.fromkeys(values):
        at = mention_at(text, v, ignore_case=ignore_case) if len(v) >= 2 else None
        if at is not None and (best is None or at < best[0]):
            best = (at, v)
    return best[1] if best else None


def error_details(body: Any) -> list[dict[str, Any]]:
    """Every error detail in a HubSpot error body, most specific first, the body itself last.

    HubSpot puts details in ``errors[]`` (``code``, ``message``, ``context``) and, for
    property validation, as a JSON list inside the message
    (``Property values were not valid: [{"error": "INVALID_EMAIL", "name": "email", …}]``).
    """
    if not isinstance(body, Mapping):
        return [{"message": str(body)}] if body else []
    out: list[dict[str, Any]] = []
    for e in body.get("errors") or []:
        if isinstance(e, Mapping):
            out.append(dict(e))
    message = str(body.get("message") or "")
    start = message.find("[")
    if "not valid" in message and start >= 0:
        try:
            listed = json.loads(message[start:])
        except ValueError:
            listed = None
        for e in listed if isinstance(listed, list) else []:
            if isinstance(e, Mapping):
                out.append({"code": e.get("error"), "message": e.get("message"), "name": e.get("name")})
    out.append(dict(body))
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return [str(value)]


def _chunks(seq: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name) if headers else None
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After") if headers else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff
