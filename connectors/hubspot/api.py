"""The HubSpot connector: properties, batch reads and writes, search, and associations.

What the sync engine gets from here, and why it is built this way:

- **Batches at HubSpot's caps** — 100 inputs per CRM object batch call, 100 values per
  search ``IN`` filter and 200 results per search page, 1,000 ids per associations read
  (HubSpot's changelog, February 2025), 100 pairs per default-association write.
- **Idempotent writes only** — contacts are created by *upsert on email* and companies
  by upsert on a unique property we own, never by batch create: a call repeated after a
  lost response then updates what the first attempt created instead of duplicating it.
  That is what makes every call here safe to retry.
- **One bad input never sinks its batch** — HubSpot rejects a whole batch (400/409) for
  one invalid input. The error's context (``objectWriteTraceId``, ids, property names, the
  value quoted in the message) usually names the culprit: it fails alone and the rest is
  sent again. When it does not, the batch is split in halves until the culprit is alone.
- **Limits** — a client-side limiter keeps calls inside the rolling 10-second window (and a
  second one inside the search API's per-second limit), adapting down from HubSpot's
  ``X-HubSpot-RateLimit-*`` headers. 429 (10-second/secondly), 423, 5xx and dropped
  connections are retried with exponential backoff and jitter, honouring ``Retry-After``;
  the daily allocation being spent raises :class:`ApiLimitExhausted` at once.
- **Every HTTP attempt is counted** in :class:`ApiCalls` — reads (batch read, search,
  properties and groups GET, associations read) apart from writes.

Requests go through the SDK (its API classes build paths, bodies and auth); responses are
read as JSON rather than through the SDK's generated models, because the models return
``None`` for any status code missing from their map (``batch/associate/default`` answering
207 loses its per-input errors that way) and reject fields HubSpot adds later.

Errors raised are from :mod:`connectors.errors`; their messages are built from status,
category and HubSpot's message only, with the access token scrubbed from anything the
server echoes back.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from types import ModuleType
from typing import Any, TypeVar

import hubspot
import hubspot.crm.associations.v4 as hs_assoc
import hubspot.crm.companies as hs_companies
import hubspot.crm.contacts as hs_contacts
import hubspot.crm.properties as hs_props
import urllib3

from connectors.crm import ApiCalls, FieldInfo, FieldKind, FieldSpec, ObjectSchema, RecordResult
from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError, RetryableError
from connectors.hubspot.ratelimit import RollingWindowLimiter

CRM = "hubspot"
OBJECT_TYPES = ("contacts", "companies")

BATCH_CAP = 100  # inputs per CRM object batch read / update / upsert
SEARCH_IN_CAP = 100  # values per IN filter
SEARCH_PAGE = 200  # results per search page
SEARCH_RESULTS_CAP = 10_000  # HubSpot answers 400 past this offset
ASSOC_READ_CAP = 1_000  # ids per v4 associations batch read
ASSOC_WRITE_CAP = 100  # pairs per v4 batch/associate/default
TEN_SECONDS = 10.0

# Error codes that are about a property itself, whatever its value: every input that
# carries the property is at fault.
_PROPERTY_CODES = {"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE", "INVALID_PROPERTY", "PROPERTY_NOT_WRITABLE"}

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

_API_EXCEPTIONS: tuple[type[Exception], ...] = (
    hs_contacts.ApiException,
    hs_companies.ApiException,
    hs_props.ApiException,
    hs_assoc.ApiException,
)

T = TypeVar("T")


# ----------------------------------------------------------------------------------------
# Pure helpers (unit-tested directly)
# ----------------------------------------------------------------------------------------

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
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
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


# ----------------------------------------------------------------------------------------
# Write machinery: items, operations, responses
# ----------------------------------------------------------------------------------------

@dataclass
class _Response:
    status: int
    body: Any
    attempts: int = 1
    error: RetryableError | None = None  # retries ran out: the inputs fail with this


@dataclass
class _Item:
    """One distinct input of a write call; ``positions`` are the caller's inputs it stands for."""

    key: str
    wire_id: str
    trace: str
    payload: dict[str, Any]
    props: dict[str, str]
    positions: list[int] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # error-context key -> the value naming this item
    result: RecordResult | None = None

    def value(self, name: str, id_property: str | None) -> str | None:
        if name in self.props:
            return self.props[name]
        return self.wire_id if name == id_property else None


@dataclass
class _WriteOp:
    endpoint: str
    send: Callable[[list[dict[str, Any]]], Any]  # SDK call returning the raw response
    result_keys: Callable[[Mapping[str, Any]], list[str]]  # ways a result names its input
    id_property: str | None = None
    keys_are_tokens: bool = False  # input keys are distinctive enough to find in a message
    ignore_case: bool = False
    ok: Callable[[_Item, Mapping[str, Any]], RecordResult] | None = None
    breaker: RetryableError | None = None


def _fail(item: _Item, code: str | None, message: str | None, fields: Iterable[str] = ()) -> None:
    item.result = RecordResult(item.key, False, error_code=code or "ERROR", message=message,
                               fields=tuple(dict.fromkeys(f for f in fields if f)))


# ----------------------------------------------------------------------------------------
# The connector
# ----------------------------------------------------------------------------------------

class HubSpotConnector:
    """HubSpot CRM v3/v4 through hubspot-api-client, within HubSpot's limits.

    ``ten_second_limit`` is the app's allowance per rolling 10 s (100 Free/Starter, 190
    Pro/Enterprise); ``search_per_second`` the search API's own limit. Retries run at most
    ``max_attempts`` times per call, waiting ``backoff_base * 2**n`` (with jitter, capped at
    ``max_backoff``) or what ``Retry-After`` says. ``sleep``/``clock`` are injectable so the
    limiter and backoff can run on a fake clock; ``window_seconds`` shortens the limiter's
    window for a sandbox configured with a shorter one (HubSpot's is always 10 s).

    ``write_trace_ids`` sends an ``objectWriteTraceId`` with every upsert/update input, which
    lets HubSpot answer bad inputs one by one (207) instead of rejecting the whole batch;
    without it (or where HubSpot ignores it) bad inputs are isolated from the batch error.

    What fails how: a bad input is a failed :class:`RecordResult`, never an exception. When
    retries run out, reads raise :class:`RetryableError` and writes fail their inputs with it
    (the batches after it are not sent: HubSpot is not answering). :class:`AuthenticationError`
    and :class:`ApiLimitExhausted` stop any call where it stands; every write here is
    idempotent, so the caller can simply run it again later. Arguments that cannot be sent
    at all (an unknown object type, a field kind HubSpot has no type for) raise ``ValueError``.
    """

    crm = CRM

    def __init__(
        self,
        client: hubspot.HubSpot,
        *,
        calls: ApiCalls | None = None,
        ten_second_limit: int = 100,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        search_per_second: int = 4,
        window_seconds: float = TEN_SECONDS,
        write_trace_ids: bool = True,
        timeout: float = 60.0,
        seed: int | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.calls = calls if calls is not None else ApiCalls()
        self.max_attempts = max_attempts
        self.write_trace_ids = write_trace_ids
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._clock = clock
        self._timeout = (min(10.0, timeout), timeout)  # (connect, read)
        self._random = random.Random(seed)
        self.limiter = RollingWindowLimiter(ten_second_limit, window_seconds, clock=clock, sleep=sleep)
        self.search_limiter = RollingWindowLimiter(search_per_second, 1.0, clock=clock, sleep=sleep)
        self._secret = str(client.config.get("access_token") or client.config.get("api_key") or "")
        # Every ``client.crm.…_api`` access builds a new API client with its own connection
        # pool: build each once so connections are reused.
        crm = client.crm
        self._objects: dict[str, tuple[ModuleType, Any, Any]] = {
            "contacts": (hs_contacts, crm.contacts.batch_api, crm.contacts.search_api),
            "companies": (hs_companies, crm.companies.batch_api, crm.companies.search_api),
        }
        self._properties = crm.properties.core_api
        self._groups = crm.properties.groups_api
        self._assoc = crm.associations.v4.batch_api
        self._schemas: dict[str, ObjectSchema] = {}

    # -- schema ------------------------------------------------------------------------
    def describe(self, object_type: str, *, refresh: bool = False) -> ObjectSchema:
        """Every (non-archived) property of ``object_type``, cached until ``refresh``."""
        self._check_type(object_type)
        if not refresh and object_type in self._schemas:
            return self._schemas[object_type]
        resp = self._request(
            f"GET /crm/v3/properties/{object_type}", write=False,
            call=lambda: self._properties.get_all_with_http_info(object_type, archived=False, **self._kw()),
        )
        results = resp.body.get("results", []) if isinstance(resp.body, Mapping) else []
        fields = {str(p["name"]): field_info(p) for p in results if isinstance(p, Mapping) and p.get("name")}
        schema = ObjectSchema(object_type, fields)
        self._schemas[object_type] = schema
        return schema

    def create_properties(
        self, object_type: str, specs: list[FieldSpec], *, group: str = "warmly", group_label: str = "Warmly"
    ) -> list[str]:
        """Create the properties of ``specs`` that do not exist yet (and their group when
        missing); returns the names created. Idempotent: a second call creates nothing."""
        self._check_type(object_type)
        bodies = [property_create_body(s, group) for s in specs]  # bad kinds fail before any call
        existing = self.describe(object_type, refresh=True)
        todo = [b for b in bodies if b["name"] not in existing.fields]
        if not todo:
            return []
        self._ensure_group(object_type, group, group_label)
        created: list[str] = []
        for body in todo:
            model = hs_props.PropertyCreate(
                name=body["name"], label=body["label"], type=body["type"], field_type=body["fieldType"],
                group_name=group, description=body.get("description"),
                options=[hs_props.OptionInput(**{_snake(k): v for k, v in o.items()}) for o in body.get("options", [])]
                or None,
                has_unique_value=body.get("hasUniqueValue"),
            )
            resp = self._request(
                f"POST /crm/v3/properties/{object_type}", write=True, accept=(409,),
                call=partial(self._properties.create_with_http_info, object_type, model, **self._kw()),
            )
            if resp.status == 409 and resp.attempts == 1:
                continue  # someone created it between our read and our write
            created.append(body["name"])  # a 409 on a retry: our lost first attempt created it
        self._schemas.pop(object_type, None)
        return created

    def _ensure_group(self, object_type: str, group: str, label: str) -> None:
        resp = self._request(
            f"GET /crm/v3/properties/{object_type}/groups", write=False,
            call=lambda: self._groups.get_all_with_http_info(object_type, **self._kw()),
        )
        results = resp.body.get("results", []) if isinstance(resp.body, Mapping) else []
        if any(isinstance(g, Mapping) and g.get("name") == group for g in results):
            return
        model = hs_props.PropertyGroupCreate(name=group, label=label, display_order=-1)
        self._request(
            f"POST /crm/v3/properties/{object_type}/groups", write=True, accept=(409,),
            call=lambda: self._groups.create_with_http_info(object_type, model, **self._kw()),
        )

    # -- reads ---------------------------------------------------------------------------
    def read(self, object_type: str, id_property: str | None, values: list[str],
             properties: list[str]) -> dict[str, dict]:
        """Batch read by record id (``id_property=None``) or by a unique property such as
        ``email``: ``{value as given → {"id", "properties"}}``. Values HubSpot does not know
        are simply absent. E-mails match case-insensitively, like HubSpot's own lookup."""
        module, batch, _ = self._object(object_type)
        ignore_case = id_property == "email"
        norm = (lambda v: v.strip().lower()) if ignore_case else (lambda v: v)
        wanted: dict[str, list[str]] = {}
        for v in values:
            if v is None or str(v) == "":
                continue
            wanted.setdefault(norm(str(v)), []).append(str(v))
        props = list(dict.fromkeys([*properties, *([id_property] if id_property else [])]))
        out: dict[str, dict] = {}
        for chunk in _chunks(list(wanted), BATCH_CAP):
            model = module.BatchReadInputSimplePublicObjectId(
                properties_with_history=[], id_property=id_property, inputs=[{"id": v} for v in chunk],
                properties=props,
            )
            resp = self._request(
                f"POST /crm/v3/objects/{object_type}/batch/read", write=False,
                call=partial(batch.read_with_http_info, model, archived=False, **self._kw()),
            )
            for r in (resp.body or {}).get("results") or []:
                rprops = r.get("properties") or {}
                found = rprops.get(id_property) if id_property else r.get("id")
                if found is None:
                    continue
                for original in wanted.get(norm(str(found)), []):
                    out[original] = {"id": str(r.get("id")), "properties": rprops}
            # 207 errors are OBJECT_NOT_FOUND for values HubSpot does not know: absent, not failed.
        return out

    def search_in(self, object_type: str, prop: str, values: list[str], properties: list[str]) -> list[dict]:
        """Records whose ``prop`` is one of ``values``, for keys that are not unique
        properties (a company's ``domain``): ``[{"id", "properties"}]``, several per value
        when the CRM holds duplicates.

        Search runs on an index that lags writes by seconds, so it must never be used to
        read records this run has just written — a record missing from the index would be
        created twice. Use :meth:`read` on a unique key for that. Search has its own limit
        (about 4–5 requests per second per account), kept by its own limiter.
        """
        module, _, search = self._object(object_type)
        props = list(dict.fromkeys([*properties, prop]))
        distinct = list(dict.fromkeys(str(v) for v in values if v is not None and str(v) != ""))
        out: dict[str, dict] = {}
        for chunk in _chunks(distinct, SEARCH_IN_CAP):
            after: str | None = None
            fetched = 0
            while True:
                model = module.PublicObjectSearchRequest(
                    filter_groups=[module.FilterGroup(filters=[
                        module.Filter(property_name=prop, operator="IN", values=list(chunk))])],
                    properties=props, limit=SEARCH_PAGE, after=after,
                )
                resp = self._request(
                    f"POST /crm/v3/objects/{object_type}/search", write=False, search=True,
                    call=partial(search.do_search_with_http_info, model, **self._kw()),
                )
                body = resp.body or {}
                results = body.get("results") or []
                for r in results:
                    out[str(r.get("id"))] = {"id": str(r.get("id")), "properties": r.get("properties") or {}}
                fetched += len(results)
                after = ((body.get("paging") or {}).get("next") or {}).get("after")
                if not after or not results:
                    break
                if fetched >= SEARCH_RESULTS_CAP:
                    raise CrmError(f"search on {object_type}.{prop} matched more than {SEARCH_RESULTS_CAP} "
                                   "records for one chunk of values; HubSpot cannot page past that",
                                   crm=CRM, code="SEARCH_LIMIT")
        return list(out.values())

    def associations(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[str]]:
        """``{from id → [to ids]}`` for every id asked (``[]`` when it has none), v4 batch read."""
        self._check_type(from_type)
        self._check_type(to_type)
        distinct = list(dict.fromkeys(str(i) for i in ids if i is not None and str(i) != ""))
        out: dict[str, list[str]] = {i: [] for i in distinct}
        pending: list[dict[str, str]] = [{"id": i} for i in distinct]
        endpoint = f"POST /crm/v4/associations/{from_type}/{to_type}/batch/read"
        while pending:
            chunk, pending = pending[:ASSOC_READ_CAP], pending[ASSOC_READ_CAP:]
            model = hs_assoc.BatchInputPublicFetchAssociationsBatchRequest(inputs=chunk)
            resp = self._request(
                endpoint, write=False,
                call=partial(self._assoc.get_page_with_http_info, from_type, to_type, model, **self._kw()),
            )
            for r in (resp.body or {}).get("results") or []:
                fid = str((r.get("from") or {}).get("id"))
                bucket = out.setdefault(fid, [])
                for t in r.get("to") or []:
                    tid = str(t.get("toObjectId"))
                    if tid not in bucket:
                        bucket.append(tid)
                after = (((r.get("paging") or {}).get("next")) or {}).get("after")
                if after:  # more associations than one page holds: ask again from there
                    pending.append({"id": fid, "after": str(after)})
        return out

    # -- writes --------------------------------------------------------------------------
    def upsert(self, object_type: str, id_property: str, inputs: list[tuple[str, dict]]) -> list[RecordResult]:
        """Create-or-update keyed on ``id_property`` (``email``, or a unique property we own):
        one :class:`RecordResult` per input, in order, ``created`` when HubSpot made a new
        record. Inputs sharing a key are written once (their properties merged in order).

        After a lost response the retried call updates what the lost attempt created, so
        such a record is reported as updated: the CRM is right, only the label cannot be known.
        """
        module, batch, _ = self._object(object_type)
        ignore_case = id_property == "email"

        def norm(v: str) -> str:
            return v.strip().lower() if ignore_case else v

        def send(payloads: list[dict[str, Any]]) -> Any:
            model = module.BatchInputSimplePublicObjectBatchInputUpsert(inputs=payloads)
            return batch.upsert_with_http_info(model, **self._kw())

        def result_keys(r: Mapping[str, Any]) -> list[str]:
            found = (r.get("properties") or {}).get(id_property)
            return [norm(str(found))] if found is not None else []

        op = _WriteOp(
            endpoint=f"POST /crm/v3/objects/{object_type}/batch/upsert", send=send, result_keys=result_keys,
            id_property=id_property, keys_are_tokens=ignore_case, ignore_case=ignore_case,
            ok=lambda it, r: RecordResult(it.key, True, crm_id=str(r.get("id")), created=bool(r.get("new"))),
        )
        results: list[RecordResult | None] = [None] * len(inputs)
        items: dict[str, _Item] = {}
        for pos, (key, props) in enumerate(inputs):
            wid = norm(str(key or ""))
            if not wid:
                results[pos] = RecordResult(str(key or ""), False, error_code="MISSING_KEY",
                                            message=f"no {id_property} to upsert on")
                continue
            item = items.get(wid)
            if item is None:
                item = items[wid] = _Item(key=str(key), wire_id=wid, trace=str(len(items)), payload={}, props={})
            item.props.update(wire_properties(props or {}))
            item.positions.append(pos)
        for item in items.values():
            item.payload = {"id": item.wire_id, "idProperty": id_property, "properties": item.props}
            if self.write_trace_ids:
                item.payload["objectWriteTraceId"] = item.trace
        return self._run_writes(op, list(items.values()), inputs, results)

    def update(self, object_type: str, inputs: list[tuple[str, str, dict]]) -> list[RecordResult]:
        """Update by HubSpot record id: inputs are ``(key, id, properties)``; one result per
        input, in order. Inputs naming the same id are written once (properties merged)."""
        module, batch, _ = self._object(object_type)

        def send(payloads: list[dict[str, Any]]) -> Any:
            model = module.BatchInputSimplePublicObjectBatchInput(inputs=payloads)
            return batch.update_with_http_info(model, **self._kw())

        op = _WriteOp(
            endpoint=f"POST /crm/v3/objects/{object_type}/batch/update", send=send,
            result_keys=lambda r: [str(r.get("id"))],
            ok=lambda it, r: RecordResult(it.key, True, crm_id=str(r.get("id"))),
        )
        results: list[RecordResult | None] = [None] * len(inputs)
        items: dict[str, _Item] = {}
        for pos, (key, crm_id, props) in enumerate(inputs):
            wid = str(crm_id or "").strip()
            if not wid:
                results[pos] = RecordResult(str(key), False, error_code="MISSING_ID", message="no record id to update")
                continue
            item = items.get(wid)
            if item is None:
                item = items[wid] = _Item(key=str(key), wire_id=wid, trace=str(len(items)), payload={}, props={})
            item.props.update(wire_properties(props or {}))
            item.positions.append(pos)
        for item in items.values():
            item.payload = {"id": item.wire_id, "properties": item.props}
            if self.write_trace_ids:
                item.payload["objectWriteTraceId"] = item.trace
        return self._run_writes(op, list(items.values()), inputs, results)

    def associate_default(self, from_type: str, to_type: str,
                          pairs: list[tuple[str, str, str]]) -> list[RecordResult]:
        """Link records with HubSpot's default (unlabeled) association, v4
        ``batch/associate/default``: pairs are ``(key, from_id, to_id)``; one result per pair,
        in order. Associating an already linked pair is a no-op for HubSpot, so retries are safe."""
        self._check_type(from_type)
        self._check_type(to_type)

        def send(payloads: list[dict[str, Any]]) -> Any:
            model = hs_assoc.BatchInputPublicDefaultAssociationMultiPost(inputs=payloads)
            return self._assoc.create_default_with_http_info(from_type, to_type, model, **self._kw())

        def result_keys(r: Mapping[str, Any]) -> list[str]:
            return [f"{(r.get('from') or {}).get('id')}>{(r.get('to') or {}).get('id')}"]

        op = _WriteOp(
            endpoint=f"POST /crm/v4/associations/{from_type}/{to_type}/batch/associate/default", send=send,
            result_keys=result_keys,
            ok=lambda it, r: RecordResult(it.key, True, crm_id=it.payload["from"]["id"]),
        )
        results: list[RecordResult | None] = [None] * len(pairs)
        items: dict[str, _Item] = {}
        for pos, (key, from_id, to_id) in enumerate(pairs):
            f, t = str(from_id or "").strip(), str(to_id or "").strip()
            if not f or not t:
                results[pos] = RecordResult(str(key), False, error_code="MISSING_ID",
                                            message="both record ids are needed to link them")
                continue
            wid = f"{f}>{t}"
            item = items.get(wid)
            if item is None:
                item = items[wid] = _Item(key=str(key), wire_id=wid, trace=str(len(items)),
                                          payload={"from": {"id": f}, "to": {"id": t}}, props={},
                                          aliases={"fromObjectId": f, "toObjectId": t})
            item.positions.append(pos)
        cap = ASSOC_WRITE_CAP
        return self._run_writes(op, list(items.values()), pairs, results, cap=cap)

    # -- write engine ----------------------------------------------------------------------
    def _run_writes(self, op: _WriteOp, items: list[_Item], inputs: Sequence[tuple[Any, ...]],
                    results: list[RecordResult | None], *, cap: int = BATCH_CAP) -> list[RecordResult]:
        for chunk in _chunks(items, cap):
            if op.breaker is not None:
                # An earlier batch of this call ran out of retries: HubSpot is not answering,
                # and hammering it once more per batch would only stretch the run.
                for it in chunk:
                    _fail(it, op.breaker.code or "RETRIES_EXHAUSTED", str(op.breaker))
                continue
            self._write(op, list(chunk))
        for it in items:
            res = it.result or RecordResult(it.key, False, error_code="MISSING_RESULT",
                                            message="HubSpot's answer named neither a result nor an error for it")
            for pos in it.positions:
                results[pos] = replace(res, key=str(inputs[pos][0]))
        return [r for r in results if r is not None]

    def _send(self, op: _WriteOp, items: list[_Item]) -> _Response:
        payloads = [it.payload for it in items]
        try:
            return self._request(op.endpoint, write=True, accept=(400, 404, 409),
                                 call=lambda: op.send(payloads))
        except RetryableError as exc:
            return _Response(status=exc.status or 0, body=None, error=exc)

    def _write(self, op: _WriteOp, items: list[_Item], resp: _Response | None = None) -> None:
        """Write ``items`` in one call; on a whole-batch rejection, isolate the bad inputs."""
        if resp is None:
            resp = self._send(op, items)
        if resp.error is not None:
            op.breaker = resp.error
            for it in items:
                _fail(it, resp.error.code or "RETRIES_EXHAUSTED", str(resp.error))
            return
        if resp.status < 300:
            self._apply(op, items, resp.body)
            return
        if len(items) == 1:
            code, message, fields = self._first_detail(resp)
            _fail(items[0], code, message, fields)
            return
        culprits = self._culprits(op, items, resp.body)
        if culprits:
            for i, (code, message, fields) in culprits.items():
                _fail(items[i], code, message, fields)
            rest = [it for i, it in enumerate(items) if i not in culprits]
            if rest:
                self._write(op, rest)
            return
        # Nothing names the culprit: split in halves. Probe both before going deeper, so an
        # error about the request itself (both halves rejected exactly alike) costs 3 calls,
        # not one per input.
        mid = len(items) // 2
        halves = [items[:mid], items[mid:]]
        probes = [self._send(op, h) for h in halves]
        sig = self._signature(resp)
        if all(p.error is None and p.status >= 300 and self._signature(p) == sig for p in probes):
            code, message, fields = self._first_detail(resp)
            for it in items:
                _fail(it, code, message, fields)
            return
        for half, probe in zip(halves, probes, strict=True):
            self._write(op, half, probe)

    def _apply(self, op: _WriteOp, items: list[_Item], body: Any) -> None:
        """Match a 200/201/207 answer's results and errors back to the items sent."""
        body = body if isinstance(body, Mapping) else {}
        by_trace = {it.trace: it for it in items}
        by_key: dict[str, list[_Item]] = {}
        for it in items:
            by_key.setdefault(it.wire_id, []).append(it)
        unmatched: list[Mapping[str, Any]] = []
        assert op.ok is not None
        for r in body.get("results") or []:
            if not isinstance(r, Mapping):
                continue
            hit = [by_trace[str(r["objectWriteTraceId"])]] if str(r.get("objectWriteTraceId")) in by_trace else []
            if not hit:
                for k in op.result_keys(r):
                    hit.extend(by_key.get(k, []))
            if not hit:
                unmatched.append(r)
            for it in hit:
                it.result = op.ok(it, r)
        errors = [e for e in body.get("errors") or [] if isinstance(e, Mapping)]
        unresolved = [it for it in items if it.result is None]
        leftover_errors = []
        for e in errors:
            culprits = self._culprits(op, unresolved, e)
            for i, (code, message, fields) in culprits.items():
                _fail(unresolved[i], code, message, fields)
            if not culprits:
                leftover_errors.append(e)
            unresolved = [it for it in unresolved if it.result is None]
        # Results that named no input (HubSpot echoes neither the trace id nor the key):
        # when they are exactly as many as the inputs left, HubSpot answered in input order.
        if unmatched and len(unmatched) == len(unresolved) and not leftover_errors:
            for it, r in zip(unresolved, unmatched, strict=True):
                it.result = op.ok(it, r)
            unresolved = []
        for it in unresolved:
            if leftover_errors:
                e = leftover_errors[0]
                details = error_details(e)
                _fail(it, self._code(details[0], e, 0), self._message(details[0], e),
                      self._fields(details[0]))

    def _culprits(self, op: _WriteOp, items: list[_Item], body: Any) -> dict[int, tuple[str, str, list[str]]]:
        """Which inputs an error names: ``{index → (code, message, fields)}``, or ``{}``.

        In order of trust: ids in the error's context (``objectWriteTraceId``, ``ids``,
        ``fromObjectId``…); a property every input carrying it fails on (it does not exist,
        it is read-only); the offending value quoted in the message; the input's key quoted
        in the message (e-mails only: they are distinctive enough to find).
        """
        found: dict[int, tuple[str, str, list[str]]] = {}
        top = body if isinstance(body, Mapping) else {}
        details = error_details(body)
        if not details:
            return found
        primary = details[0]
        for d in details:
            ctx: Mapping[str, Any] = d["context"] if isinstance(d.get("context"), Mapping) else {}
            hits: set[int] = set()
            for key, values in ctx.items():
                for v in _as_list(values):
                    hits |= self._lookup(op, items, str(key), v)
            if hits:  # the context names them; the most specific detail says what is wrong
                for i in hits:
                    found.setdefault(i, (self._code(primary, top, 0), self._message(primary, top),
                                         self._fields(primary)))
                continue
            code, message = self._code(d, top, 0), self._message(d, top)
            names = self._fields(d)
            text = str(d.get("message") or "")
            if names and code in _PROPERTY_CODES:
                hits = {i for i, it in enumerate(items) if any(n in it.props for n in names)}
            elif names:
                for n in names:
                    values = {i: val for i, it in enumerate(items)
                              if (val := it.value(n, op.id_property)) is not None}
                    bad = offending_value(text, values.values(), ignore_case=op.ignore_case)
                    if bad is None:
                        continue
                    if op.ignore_case:
                        hits |= {i for i, v in values.items() if v.lower() == bad.lower()}
                    else:
                        hits |= {i for i, v in values.items() if v == bad}
            if not hits and op.keys_are_tokens:
                hits = {i for i, it in enumerate(items) if mentions(text, it.wire_id, ignore_case=op.ignore_case)}
            for i in hits:
                found.setdefault(i, (code, message, names))
        return found

    @staticmethod
    def _lookup(op: _WriteOp, items: list[_Item], key: str, value: str) -> set[int]:
        if key == "objectWriteTraceId":
            return {i for i, it in enumerate(items) if it.trace == value}
        if key in ("ids", "id"):
            v = value.strip().lower() if op.ignore_case else value
            return {i for i, it in enumerate(items) if it.wire_id == v}
        return {i for i, it in enumerate(items) if it.aliases.get(key) == value}

    def _first_detail(self, resp: _Response) -> tuple[str, str, list[str]]:
        top = resp.body if isinstance(resp.body, Mapping) else {}
        d = error_details(resp.body)[0] if resp.body else {}
        return self._code(d, top, resp.status), self._message(d, top) or f"HTTP {resp.status}", self._fields(d)

    @staticmethod
    def _code(d: Mapping[str, Any], top: Mapping[str, Any], status: int) -> str:
        for c in (d.get("code"), d.get("error"), d.get("category"), top.get("category")):
            if c:
                return str(c)
        return f"HTTP_{status}" if status else "ERROR"

    def _message(self, d: Mapping[str, Any], top: Mapping[str, Any]) -> str:
        return self._redact(str(d.get("message") or top.get("message") or ""))[:1000]

    @staticmethod
    def _fields(d: Mapping[str, Any]) -> list[str]:
        if d.get("name"):
            return [str(d["name"])]
        ctx: Mapping[str, Any] = d["context"] if isinstance(d.get("context"), Mapping) else {}
        return _as_list(ctx.get("propertyName"))

    @staticmethod
    def _signature(resp: _Response) -> tuple[Any, ...]:
        b = resp.body if isinstance(resp.body, Mapping) else {}
        return (resp.status, b.get("category"), b.get("message"))

    # -- HTTP, limits, retries ------------------------------------------------------------
    def _kw(self) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self._timeout}

    def _request(self, endpoint: str, *, write: bool, call: Callable[[], Any], accept: tuple[int, ...] = (),
                 search: bool = False) -> _Response:
        """One logical call: limiter slot, counted attempt, retries where HubSpot asks for them."""
        last: RetryableError | None = None
        cause: BaseException | None = None
        for attempt in range(1, self.max_attempts + 1):
            slots = [self.limiter.acquire()]
            if search:
                slots.append(self.search_limiter.acquire())
            self.calls.add(endpoint, write=write)
            status, data, headers = 0, None, {}
            try:
                raw = call()
                status, data, headers = raw.status, raw.data, raw.headers
                raw.release_conn()
            except _API_EXCEPTIONS as exc:
                cause = self._scrub(exc)
                status = int(getattr(exc, "status", 0) or 0)
                data, headers = getattr(exc, "body", None), getattr(exc, "headers", None) or {}
                if status == 0:
                    reason = self._redact(str(getattr(exc, "reason", "") or ""))[:200]
                    last = RetryableError(f"{endpoint}: connection failed ({reason})", crm=CRM,
                                          code="CONNECTION_ERROR")
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                # Includes a connection dropped after the server committed the write: every
                # call here is idempotent, so sending it again is safe.
                cause = exc
                last = RetryableError(f"{endpoint}: connection failed ({type(exc).__name__})", crm=CRM,
                                      code="CONNECTION_ERROR")
            finally:
                self.limiter.release(slots[0])
                if search:
                    self.search_limiter.release(slots[1])
            if status:
                body = self._parse(data)
                self._observe(headers)
                if 200 <= status < 300 or status in accept:
                    return _Response(status, body, attempts=attempt)
                err = self._classify(endpoint, status, body, headers)
                if not isinstance(err, RetryableError):
                    raise err from cause
                last = err
            assert last is not None
            self._backoff(attempt, last)
        assert last is not None
        raise last from cause

    def _backoff(self, attempt: int, err: RetryableError) -> None:
        if attempt >= self.max_attempts:
            return
        if err.retry_after is not None:
            delay = err.retry_after
        else:
            ceiling = min(self.max_backoff, self.backoff_base * (2 ** (attempt - 1)))
            delay = ceiling / 2 + self._random.uniform(0, ceiling / 2)  # jitter: spread retries out
            if err.status == 423:
                delay = max(delay, 2.0)  # HubSpot: back off at least 2 s from a lock
        self._sleep(delay)

    def _classify(self, endpoint: str, status: int, body: Any, headers: Mapping[str, str]) -> CrmError:
        """The error an answer means; only :class:`RetryableError` is worth sending again."""
        top = body if isinstance(body, Mapping) else {}
        category = str(top.get("category") or top.get("errorType") or "") or None
        message = self._redact(str(top.get("message") or (body if isinstance(body, str) else "") or ""))[:500]
        if status == 401:
            return AuthenticationError(
                f"HubSpot refused the access token ({message or 'unauthorized'}); "
                "check HUBSPOT_ACCESS_TOKEN and the private app's scopes",
                crm=CRM, status=status, code=category,
            )
        if status == 429:
            policy = str(top.get("policyName") or "")
            if policy.upper() == "DAILY":
                return ApiLimitExhausted(
                    "the daily API allocation of this HubSpot account is spent; calls fail until it "
                    "resets at midnight (the account's time zone) — run again then",
                    crm=CRM, status=status, code="DAILY",
                )
            return RetryableError(f"{endpoint}: rate limited ({policy or 'unknown policy'}): {message}", crm=CRM,
                                  status=status, code=policy or "RATE_LIMIT", retry_after=_retry_after(headers))
        if status == 423 or status >= 500:
            return RetryableError(f"{endpoint}: {message or 'HubSpot is unavailable'}", crm=CRM, status=status,
                                  code=category or f"HTTP_{status}", retry_after=_retry_after(headers))
        return CrmError(f"{endpoint}: {message or 'request rejected'}", crm=CRM, status=status, code=category)

    def _scrub(self, exc: Exception) -> Exception:
        """The SDK's exception prints the response body; scrub the token from it before it is
        chained as the cause of ours (a server echoing the token must not leak it)."""
        body = getattr(exc, "body", None)
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        if isinstance(body, str):
            exc.body = self._redact(body)  # type: ignore[attr-defined]
        return exc

    def _observe(self, headers: Mapping[str, str]) -> None:
        self.limiter.observe(_int_header(headers, "X-HubSpot-RateLimit-Max"),
                             _int_header(headers, "X-HubSpot-RateLimit-Remaining"),
                             _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"))

    @staticmethod
    def _parse(data: Any) -> Any:
        if data is None or data == b"" or data == "":
            return None
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        try:
            return json.loads(text)
        except ValueError:
            return text

    def _redact(self, text: str) -> str:
        if self._secret and len(self._secret) >= 4:
            text = text.replace(self._secret, "[redacted]")
        return text

    def _object(self, object_type: str) -> tuple[ModuleType, Any, Any]:
        self._check_type(object_type)
        return self._objects[object_type]

    @staticmethod
    def _check_type(object_type: str) -> None:
        if object_type not in OBJECT_TYPES:
            raise ValueError(f"unknown HubSpot object type {object_type!r}; expected one of {OBJECT_TYPES}")


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


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
