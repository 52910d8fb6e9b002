"""HubSpot writes: batch upsert and update, default associations, and one result per input.

Every write here is idempotent, so a retried call cannot duplicate. HubSpot rejects a whole
batch for one bad input; the write engine below (:meth:`HubSpotWrites._write`) matches
answers back to inputs, finds the culprits an error names (trace ids, ids, properties,
quoted values) and sends the rest again, or halves the batch until the culprit is alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import hubspot.crm.associations.v4 as hs_assoc

from connectors.crm import RecordResult
from connectors.errors import CrmError, MissingScopeError, RetryableError
from connectors.hubspot.transport import HubSpotTransport, _Response
from connectors.hubspot.wire import (
    ASSOC_WRITE_CAP,
    BATCH_CAP,
    _as_list,
    _chunks,
    error_details,
    mentions,
    offending_value,
    wire_properties,
)

#: The association types ``batch/associate/default`` makes for a record without a primary
#: company: unlabeled, then primary (HubSpot's association type ids for contacts → companies).
DEFAULT_LINK_TYPES: dict[tuple[str, str], tuple[int, ...]] = {("contacts", "companies"): (279, 1)}

# Error codes that are about a property itself, whatever its value: every input that
# carries the property is at fault.
_PROPERTY_CODES = {"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE", "INVALID_PROPERTY", "PROPERTY_NOT_WRITABLE"}


# ----------------------------------------------------------------------------------------
# Write machinery: items, operations
# ----------------------------------------------------------------------------------------

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
    breaker: CrmError | None = None  # retries ran out or a scope is missing: the rest fails without a call
    label: str = ""  # what progress events name (:mod:`connectors.progress`)


def _fail(item: _Item, code: str | None, message: str | None, fields: Iterable[str] = ()) -> None:
    item.result = RecordResult(item.key, False, error_code=code or "ERROR", message=message,
                               fields=tuple(dict.fromkeys(f for f in fields if f)))


class HubSpotWrites(HubSpotTransport):
    """Batch upsert and update (CRM v3), default associations (v4), and the write engine."""

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
            label=object_type,
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

    def create_linked(self, object_type: str, id_property: str, to_type: str,
                      inputs: list[tuple[str, dict, str]]) -> list[RecordResult]:
        """Batch create records each associated with one record of ``to_type`` in the same call:
        inputs are ``(key, properties, to_id)``; one result per input, in order, ``created``.

        ``POST /crm/v3/objects/{type}/batch/create`` takes, per input, ``associations: [{to: {id},
        types: [{associationCategory: HUBSPOT_DEFINED, associationTypeId}]}]`` (HubSpot CRM API,
        "Associate records during creation", developers.hubspot.com/docs/api-reference/latest/crm/
        associations/overview; the documented batch upsert input has id, idProperty, properties and
        objectWriteTraceId only, no associations). The types are
        those ``batch/associate/default`` gives a contact without a primary company: the unlabeled
        one (279) and the primary (1), so the CRM ends up exactly as with a create then a link.

        A create is not idempotent: an input whose ``id_property`` value exists already (a rep
        made the record since it was read, or a lost answer's retry) fails ``CONFLICT``; the
        caller writes those by upsert and links them apart.
        """
        module, batch, _ = self._object(object_type)
        self._check_type(to_type)
        types = DEFAULT_LINK_TYPES.get((object_type, to_type))
        if types is None:
            raise ValueError(f"no default association from {object_type} to {to_type}")
        ignore_case = id_property == "email"

        def norm(v: str) -> str:
            return v.strip().lower() if ignore_case else v

        def send(payloads: list[dict[str, Any]]) -> Any:
            model = module.BatchInputSimplePublicObjectBatchInputForCreate(inputs=payloads)
            return batch.create_with_http_info(model, **self._kw())

        def result_keys(r: Mapping[str, Any]) -> list[str]:
            found = (r.get("properties") or {}).get(id_property)
            return [norm(str(found))] if found is not None else []

        op = _WriteOp(
            endpoint=f"POST /crm/v3/objects/{object_type}/batch/create", send=send, result_keys=result_keys,
            label=object_type,
            id_property=id_property, keys_are_tokens=ignore_case, ignore_case=ignore_case,
            ok=lambda it, r: RecordResult(it.key, True, crm_id=str(r.get("id")), created=True),
        )
        results: list[RecordResult | None] = [None] * len(inputs)
        items: dict[str, _Item] = {}
        for pos, (key, props, to_id) in enumerate(inputs):
            wid = norm(str(key or ""))
            if not wid or not str(to_id or "").strip():
                results[pos] = RecordResult(str(key or ""), False, error_code="MISSING_KEY",
                                            message=f"no {id_property} or no record to link to")
                continue
            item = items.get(wid)
            if item is None:
                item = items[wid] = _Item(key=str(key), wire_id=wid, trace=str(len(items)), payload={}, props={},
                                          aliases={"toObjectId": str(to_id)})
            item.props.update(wire_properties(props or {}))
            item.props[id_property] = wid if ignore_case else str(key)
            item.payload = {"properties": item.props, "associations": [{
                "to": {"id": str(to_id).strip()},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t} for t in types],
            }]}
            item.positions.append(pos)
        for item in items.values():
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
            result_keys=lambda r: [str(r.get("id"))], label=object_type,
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
            result_keys=result_keys, label=f"{from_type}→{to_type} links",
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
        """Every item, ``cap`` (or ``sync.batch_size``) a call; write progress reported after each call."""
        done = 0
        self._report("write", op.label, 0, len(items))
        for chunk in _chunks(items, max(1, min(cap, self.batch_size))):
            done += len(chunk)
            if op.breaker is not None:
                # An earlier batch of this call ran out of retries: HubSpot is not answering,
                # and hammering it once more per batch would only stretch the run.
                for it in chunk:
                    _fail(it, op.breaker.code or "RETRIES_EXHAUSTED", str(op.breaker))
            else:
                self._write(op, list(chunk))
            self._report("write", op.label, done, len(items))
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
        except (RetryableError, MissingScopeError) as exc:
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
