"""HubSpot reads: batch reads by id or unique property, search by any property, association reads.

Reads cut their inputs at HubSpot's caps (100 per batch read, 100 values per search ``IN``
filter, 5 filter groups per search and 200 results per page, 1,000 ids per associations read)
and send each distinct value once.

A read may run in *isolating* mode (``failed=`` a dict): a call that still fails after its
retries records each value it carried, with the error, and the read goes on with the next
call, so one bad call costs only the keys it carried. The daily allocation spent
(:class:`ApiLimitExhausted`) and refused credentials (:class:`AuthenticationError`) are never
isolated: nothing further could succeed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import hubspot.crm.associations.v4 as hs_assoc

from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError
from connectors.hubspot.transport import HubSpotTransport
from connectors.hubspot.wire import (
    ASSOC_READ_CAP,
    BATCH_CAP,
    CRM,
    LIST_PAGE,
    SEARCH_IN_CAP,
    SEARCH_PAGE,
    SEARCH_RESULTS_CAP,
    _chunks,
)

SEARCH_GROUPS_CAP = 5  # filter groups (OR-ed) per search request


class HubSpotReads(HubSpotTransport):
    """Batch read, search and v4 association reads."""

    # -- reads ---------------------------------------------------------------------------
    def read(self, object_type: str, id_property: str | None, values: list[str],
             properties: list[str], *, failed: dict[str, str] | None = None) -> dict[str, dict]:
        """Batch read by record id (``id_property=None``) or by a unique property such as
        ``email``: ``{value as given → {"id", "properties"}}``. Values HubSpot does not know
        are simply absent. E-mails match case-insensitively, like HubSpot's own lookup. With
        ``failed``, a batch that fails after its retries puts its values there instead of raising."""
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
        done = 0
        self._report("read", object_type, 0, len(wanted))
        for chunk in _chunks(list(wanted), BATCH_CAP):
            done += len(chunk)
            model = module.BatchReadInputSimplePublicObjectId(
                properties_with_history=[], id_property=id_property, inputs=[{"id": v} for v in chunk],
                properties=props,
            )
            with _isolated(failed, [o for v in chunk for o in wanted[v]]) as ok:
                resp = self._request(
                    f"POST /crm/v3/objects/{object_type}/batch/read", write=False,
                    call=partial(batch.read_with_http_info, model, archived=False, **self._kw()),
                )
            self._report("read", object_type, done, len(wanted))
            if not ok:
                continue
            for r in (resp.body or {}).get("results") or []:
                rprops = r.get("properties") or {}
                found = rprops.get(id_property) if id_property else r.get("id")
                if found is None:
                    continue
                for original in wanted.get(norm(str(found)), []):
                    out[original] = {"id": str(r.get("id")), "properties": rprops}
            # 207 errors are OBJECT_NOT_FOUND for values HubSpot does not know: absent, not failed.
        return out

    def read_all(self, object_type: str, id_property: str, values: list[str], properties: list[str], *,
                 associations: str | None = None) -> tuple[dict[str, dict], dict[str, list[str]]]:
        """What :meth:`read` by ``id_property`` finds, read as the whole object, page by page.

        ``GET /crm/v3/objects/{type}?limit=100&properties=…&associations=…&archived=false&after=…``
        is HubSpot's documented list of an object's records (CollectionResponse: ``results[]`` with
        ``properties`` and, per type asked, ``associations.<type>.results[]`` of ``{id, type}``;
        ``paging.next.after`` while more remain; ``limit`` at most 100). It costs ceil(records /
        100) calls whatever the keys, against ceil(keys / 100) batch reads plus the association
        reads, so the caller takes it only when the keys are most of the object (README "Reading
        the CRM"). Returns (``{value as given → {"id", "properties"}}`` for the values asked, as
        :meth:`read` does, ``{id → [associated ids]}`` of the records found). HubSpot pages a
        record's associations past 100 (``associations.<type>.paging``): only the first page is
        kept, so the ids say whether a record has such a link, not every link it has. A page that
        fails after its retries raises: the caller reads by key instead.
        """
        ignore_case = id_property == "email"
        norm = (lambda v: v.strip().lower()) if ignore_case else (lambda v: v)
        wanted: dict[str, list[str]] = {}
        for v in values:
            if v is not None and str(v) != "":
                wanted.setdefault(norm(str(v)), []).append(str(v))
        props = list(dict.fromkeys([*properties, id_property]))
        self._check_type(object_type)
        api = self._basic[object_type]
        assoc = [associations] if associations else None
        found: dict[str, dict] = {}
        linked: dict[str, list[str]] = {}
        after: str | None = None
        self._report("read", object_type, 0, len(wanted))
        while True:
            resp = self._request(
                f"GET /crm/v3/objects/{object_type}", write=False,
                call=partial(api.get_page_with_http_info, limit=LIST_PAGE, after=after, properties=props,
                             associations=assoc, archived=False, **self._kw()),
            )
            body = resp.body or {}
            results = body.get("results") or []
            for r in results:
                rprops = r.get("properties") or {}
                value = rprops.get(id_property)
                if value is None or norm(str(value)) not in wanted:
                    continue
                rid = str(r.get("id"))
                for original in wanted[norm(str(value))]:
                    found[original] = {"id": rid, "properties": rprops}
                if associations:
                    links = ((r.get("associations") or {}).get(associations) or {}).get("results") or []
                    linked[rid] = list(dict.fromkeys(str(a.get("id")) for a in links))
            self._report("read", object_type, min(len(wanted), len(found)), len(wanted))
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after or not results:
                return found, linked

    def count_all(self, object_type: str) -> int:
        """How many records the object holds (one search without filters, ``limit: 1``: its ``total``)."""
        body = self._search_page(object_type, [], ["hs_object_id"], limit=1, after=None)
        return int(body.get("total") or 0)

    def search_in(self, object_type: str, prop: str, values: list[str], properties: list[str]) -> list[dict]:
        """Records whose ``prop`` is one of ``values``, for keys that are not unique
        properties (a company's ``domain``): ``[{"id", "properties"}]``, several per value
        when the CRM holds duplicates.

        Search runs on an index that lags writes by seconds, so it must never be used to
        read records this run has just written — a record missing from the index would be
        created twice. Use :meth:`read` on a unique key for that. Search has its own limit
        (about 4–5 requests per second per account), kept by its own limiter.
        """
        props = list(dict.fromkeys([*properties, prop]))
        distinct = list(dict.fromkeys(str(v) for v in values if v is not None and str(v) != ""))
        out: dict[str, dict] = {}
        done = 0
        self._report("read", object_type, 0, len(distinct))
        for chunk in _chunks(distinct, SEARCH_IN_CAP):
            groups = [{"filters": [{"propertyName": prop, "operator": "IN", "values": list(chunk)}]}]
            for r in self._search(object_type, groups, props, what=f"{object_type}.{prop}"):
                out[r["id"]] = r
            done += len(chunk)
            self._report("read", object_type, done, len(distinct))
        return list(out.values())

    def count_having(self, object_type: str, prop: str) -> int:
        """How many records have a value in ``prop`` (one search call, as the index sees them)."""
        groups = [{"filters": [{"propertyName": prop, "operator": "HAS_PROPERTY"}]}]
        body = self._search_page(object_type, groups, [prop], limit=1, after=None)
        return int(body.get("total") or 0)

    def search_having(self, object_type: str, prop: str, properties: list[str]) -> list[dict]:
        """Every record with a value in ``prop``: ``[{"id", "properties"}]``. Search cannot page
        past 10,000 results: check :meth:`count_having` first (a ``SEARCH_LIMIT`` error otherwise)."""
        props = list(dict.fromkeys([*properties, prop]))
        groups = [{"filters": [{"propertyName": prop, "operator": "HAS_PROPERTY"}]}]
        return list(self._search(object_type, groups, props, what=f"{object_type}.{prop}"))

    def search_containing(self, object_type: str, prop: str, needles: Mapping[str, Sequence[str]],
                          properties: list[str], *, failed: dict[str, str] | None = None) -> list[dict]:
        """Records whose ``prop`` holds any of the texts: ``[{"id", "properties"}]``, each once.

        ``needles`` maps a caller's key to the texts to look for on its behalf; each text is a
        ``CONTAINS_TOKEN`` filter with ``*`` wildcards around it (``*acme.io*``), one filter
        group per text, at most 5 groups (OR-ed) per request, every text of a key in the same
        request. The caller decides which key a record belongs to. With ``failed``, a request
        that fails after its retries puts each key it carried there instead of raising.
        """
        props = list(dict.fromkeys([*properties, prop]))
        batches: list[tuple[list[str], list[str]]] = []
        for key, texts in needles.items():
            mine = list(dict.fromkeys(str(t) for t in texts if t))[:SEARCH_GROUPS_CAP]
            if not mine:
                continue
            if not batches or len(batches[-1][1]) + len(mine) > SEARCH_GROUPS_CAP:
                batches.append(([], []))
            batches[-1][0].append(key)
            batches[-1][1].extend(mine)
        out: dict[str, dict] = {}
        total, done = sum(len(keys) for keys, _ in batches), 0
        self._report("read", object_type, 0, total)
        for keys, texts in batches:
            groups = [{"filters": [{"propertyName": prop, "operator": "CONTAINS_TOKEN", "value": f"*{t}*"}]}
                      for t in texts]
            found: list[dict] = []
            with _isolated(failed, keys) as ok:
                found = list(self._search(object_type, groups, props, what=f"{object_type}.{prop}"))
            if ok:
                for r in found:
                    out.setdefault(r["id"], r)
            done += len(keys)
            self._report("read", object_type, done, total)
        return list(out.values())

    def _search(self, object_type: str, groups: list[dict[str, Any]], props: list[str], *,
                what: str) -> Iterator[dict]:
        """Every result of one search, page after page (``{"id", "properties"}``)."""
        after: str | None = None
        fetched = 0
        while True:
            body = self._search_page(object_type, groups, props, limit=SEARCH_PAGE, after=after)
            results = body.get("results") or []
            for r in results:
                yield {"id": str(r.get("id")), "properties": r.get("properties") or {}}
            fetched += len(results)
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after or not results:
                return
            if fetched >= SEARCH_RESULTS_CAP:
                raise CrmError(f"search on {what} matched more than {SEARCH_RESULTS_CAP} "
                               "records for one chunk of values; HubSpot cannot page past that",
                               crm=CRM, code="SEARCH_LIMIT")

    def _search_page(self, object_type: str, groups: list[dict[str, Any]], props: list[str], *, limit: int,
                     after: str | None) -> dict[str, Any]:
        module, _, search = self._object(object_type)
        model = module.PublicObjectSearchRequest(
            filter_groups=[module.FilterGroup(filters=[module.Filter(**_filter_kwargs(f)) for f in g["filters"]])
                           for g in groups],
            properties=props, limit=limit, after=after,
        )
        resp = self._request(
            f"POST /crm/v3/objects/{object_type}/search", write=False, search=True,
            call=partial(search.do_search_with_http_info, model, **self._kw()),
        )
        return resp.body or {}

    def associations(self, from_type: str, to_type: str, ids: list[str], *,
                     failed: dict[str, str] | None = None) -> dict[str, list[str]]:
        """``{from id → [to ids]}`` for every id asked (``[]`` when it has none), v4 batch read.
        With ``failed``, a batch that fails after its retries puts its ids there (and leaves them
        out of the answer) instead of raising."""
        self._check_type(from_type)
        self._check_type(to_type)
        distinct = list(dict.fromkeys(str(i) for i in ids if i is not None and str(i) != ""))
        out: dict[str, list[str]] = {i: [] for i in distinct}
        pending: list[dict[str, str]] = [{"id": i} for i in distinct]
        endpoint = f"POST /crm/v4/associations/{from_type}/{to_type}/batch/read"
        while pending:
            chunk, pending = pending[:ASSOC_READ_CAP], pending[ASSOC_READ_CAP:]
            model = hs_assoc.BatchInputPublicFetchAssociationsBatchRequest(inputs=chunk)
            asked = [c["id"] for c in chunk]
            with _isolated(failed, asked) as ok:
                resp = self._request(
                    endpoint, write=False,
                    call=partial(self._assoc.get_page_with_http_info, from_type, to_type, model, **self._kw()),
                )
            if not ok:
                for i in asked:
                    out.pop(i, None)
                continue
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


def _filter_kwargs(f: Mapping[str, Any]) -> dict[str, Any]:
    names = {"propertyName": "property_name", "operator": "operator", "value": "value", "values": "values"}
    return {names[k]: v for k, v in f.items() if k in names}


class _Outcome:
    def __init__(self) -> None:
        self.ok = True

    def __bool__(self) -> bool:
        return self.ok


@contextmanager
def _isolated(failed: dict[str, str] | None, keys: Sequence[str]) -> Iterator[_Outcome]:
    """Run one read call; with ``failed`` given, a :class:`CrmError` (other than the daily limit
    or refused credentials) marks ``keys`` failed and the outcome false instead of raising."""
    outcome = _Outcome()
    try:
        yield outcome
    except (ApiLimitExhausted, AuthenticationError):
        raise
    except CrmError as exc:
        if failed is None:
            raise
        outcome.ok = False
        for k in keys:
            failed.setdefault(str(k), str(exc))
