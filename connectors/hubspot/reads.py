"""HubSpot reads: batch reads by id or unique property, search by any property, association reads.

Reads cut their inputs at HubSpot's caps (100 per batch read, 100 values per search ``IN``
filter and 200 results per page, 1,000 ids per associations read) and send each distinct
value once.
"""

from __future__ import annotations

from functools import partial

import hubspot.crm.associations.v4 as hs_assoc

from connectors.errors import CrmError
from connectors.hubspot.transport import HubSpotTransport
from connectors.hubspot.wire import (
    ASSOC_READ_CAP,
    BATCH_CAP,
    CRM,
    SEARCH_IN_CAP,
    SEARCH_PAGE,
    SEARCH_RESULTS_CAP,
    _chunks,
)


class HubSpotReads(HubSpotTransport):
    """Batch read, search and v4 association reads."""

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
