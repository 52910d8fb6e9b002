"""Salesforce reads: records matched on a field's values, through SOQL queries that fit a URL,
a record count, or a Bulk API 2.0 query job of a whole object.

The SOQL itself is built in :mod:`connectors.salesforce.soql`; here the queries are sent,
retried when Salesforce asks for it, and every page of each is followed.

Three ways to read, whose costs in API calls the caller weighs (see :meth:`SalesforceReads.find_calls`
and :meth:`SalesforceReads.bulk_query_calls`): keyed ``IN`` statements (one per URL-full of
keys), ``SELECT COUNT()`` (one call, however many records), and a Bulk API 2.0 query job
(create, poll until done, one results page per :data:`BULK_QUERY_PAGE` records).

A read may run in *isolating* mode (``failed=`` a dict): a statement that still fails after
its retries records each value it carried, with the error, and the read goes on with the next
statement, so one bad query costs only the keys it carried. The daily allocation spent
(:class:`ApiLimitExhausted`) and refused credentials (:class:`AuthenticationError`) are never
isolated: nothing further could succeed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError
from connectors.salesforce.soql import (
    check_identifier,
    contains_query_chunks,
    estimate_in_queries,
    in_query_chunks,
    select_fields,
    unique,
)
from connectors.salesforce.transport import CRM, SalesforceTransport
from connectors.salesforce.wire import parse_csv

#: Records per results page asked of a Bulk API 2.0 query job (``maxRecords``). Salesforce cuts
#: pages by size too; the cost model counts pages of this many, the reads follow every locator.
BULK_QUERY_PAGE = 100_000
#: Calls a Bulk query job costs besides its result pages: create, and (at least) one status poll.
BULK_QUERY_OVERHEAD = 2
#: Give up waiting for a Bulk query job after this much (slept) time.
BULK_QUERY_TIMEOUT = 3600.0


class SalesforceReads(SalesforceTransport):
    """Keyed reads through the REST query resource."""

    # -- reads ---------------------------------------------------------------------------

    def find(
        self, sobject: str, match_field: str, values: list[str], fields: list[str], *, where: str | None = None,
        failed: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Records of ``sobject`` whose ``match_field`` is one of ``values``, with ``fields`` (+ Id).

        ``where`` is a trusted SOQL condition written by our code (quote any value in it
        with ``soql.quote``); it is ANDed in parentheses. Values are sent once each, quoted
        by ``format_soql``, in as many queries as needed to keep every URL within budget,
        and every page of each query is followed. With ``failed``, a query that fails after
        its retries puts each of its values there (with the error) instead of raising.
        """
        check_identifier(sobject, "object name")
        check_identifier(match_field, "field name")
        columns = select_fields(fields, "Id", match_field)
        wanted = unique(str(v) for v in values if v is not None)
        query_url = self.sf.base_url + "query/"
        chunks = in_query_chunks(query_url, sobject, match_field, wanted, columns, where=where)
        return self._read_chunks(chunks, failed, label=sobject, total=len(wanted))

    def find_calls(self, sobject: str, match_field: str, values: Iterable[str], fields: list[str], *,
                   where: str | None = None) -> int:
        """About how many calls :meth:`find` would make for ``values`` (one per ``IN`` statement,
        a page of more than 2,000 matches aside): an estimate from the values' lengths, cheap
        enough to weigh before choosing how to read."""
        check_identifier(sobject, "object name")
        columns = select_fields(fields, "Id", match_field)
        head = f"SELECT {', '.join(columns)} FROM {sobject} WHERE {match_field} IN ()" + (
            f" AND ({where})" if where else "")
        wanted = unique(str(v) for v in values if v is not None)
        return estimate_in_queries(self.sf.base_url + "query/?q=", int(len(head) * 1.3), wanted)

    def count(self, sobject: str, where: str | None = None) -> int:
        """How many records of ``sobject`` match ``where`` (a trusted SOQL condition): one call.

        ``SELECT COUNT() FROM … WHERE …`` answers ``totalSize`` and no records (SOQL and SOSL
        Reference, "COUNT()"); it counts only what this user can see, as the reads would.
        """
        check_identifier(sobject, "object name")
        soql = f"SELECT COUNT() FROM {sobject}" + (f" WHERE {where}" if where else "")
        page = self._retrying(lambda: self._json(self._request("GET", "query/", params={"q": soql})))
        return int(page.get("totalSize") or 0)

    @staticmethod
    def bulk_query_calls(records: int) -> int:
        """Calls a Bulk API 2.0 query job of ``records`` records costs: create, one poll, its result pages."""
        return BULK_QUERY_OVERHEAD + max(1, math.ceil(records / BULK_QUERY_PAGE))

    def query_bulk(self, sobject: str, fields: list[str], where: str | None = None) -> list[dict[str, Any]]:
        """Every record of ``sobject`` matching ``where``, with ``fields`` (+ Id), by a Bulk API 2.0 query job.

        ``POST /jobs/query`` (``operation: query``, CSV), ``GET /jobs/query/{id}`` until the job
        is ``JobComplete``, then ``GET /jobs/query/{id}/results?maxRecords=…`` page after page,
        each next page named by the ``Sforce-Locator`` header until it says ``null`` (Bulk API
        2.0 Developer Guide, "Create a Query Job", "Get Results for a Query Job",
        developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm;
        the sandbox serves the same, :mod:`connectors.sandbox.salesforce.bulk`). CSV holds
        text only: an empty cell is read as null; the caller compares values in canonical form
        (``"true"``, ``"12.0"``), as it does for the REST answers. A job that fails, or a call
        that fails after its retries, raises :class:`CrmError` (the caller may read another way).
        """
        check_identifier(sobject, "object name")
        columns = select_fields(fields, "Id")
        soql = f"SELECT {', '.join(columns)} FROM {sobject}" + (f" WHERE {where}" if where else "")
        spec = {"operation": "query", "query": soql, "contentType": "CSV", "columnDelimiter": "COMMA",
                "lineEnding": "LF"}
        job = self._retrying(lambda: self._json(self._request("POST", "jobs/query", json_body=spec)))
        job_id = str(job.get("id") or "")
        if not job_id:
            raise CrmError("POST jobs/query: no job id in the answer", crm=CRM, code="BAD_RESPONSE")
        info = self._wait_for_query(job_id)
        if info.get("state") != "JobComplete":
            raise CrmError(f"Bulk query job {job_id} ended {info.get('state')}: {info.get('errorMessage') or ''}",
                           crm=CRM, code="BULK_QUERY_FAILED")
        out: list[dict[str, Any]] = []
        locator: str | None = None
        while True:
            params = {"maxRecords": str(BULK_QUERY_PAGE), **({"locator": locator} if locator else {})}
            resp = self._retrying(partial(self._request, "GET", f"jobs/query/{job_id}/results", params=params,
                                          accept="text/csv"))
            for row in parse_csv(resp.text):
                out.append({k: (v if v != "" else None) for k, v in row.items()})
            locator = resp.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                return out

    def _wait_for_query(self, job_id: str) -> dict[str, Any]:
        delay = self.backoff_base
        waited = 0.0
        while True:
            info = self._retrying(partial(self._get_json, f"jobs/query/{job_id}"))
            if info.get("state") in ("JobComplete", "Failed", "Aborted"):
                return dict(info)
            if waited >= BULK_QUERY_TIMEOUT:
                raise CrmError(f"Bulk query job {job_id} still {info.get('state')} after {waited:.0f}s",
                               crm=CRM, code="BULK_JOB_TIMEOUT")
            self._sleep(delay)
            waited += delay
            delay = min(10.0, max(delay * 2, 0.1))

    def find_containing(
        self, sobject: str, match_field: str, needles: Mapping[str, Sequence[str]], fields: list[str], *,
        failed: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Records of ``sobject`` whose ``match_field`` contains any of the texts, with ``fields`` (+ Id).

        ``needles`` maps a caller's key to the texts to look for on its behalf (``LIKE
        '%text%'``, case-insensitive, the text escaped so ``%`` and ``_`` match only
        themselves). A record is returned once, however many texts it contains; the caller
        decides which key it belongs to. Statements are cut to the URL budget with every text
        of a key in the same one; with ``failed``, a statement that fails after its retries
        puts each key it carried there instead of raising.
        """
        check_identifier(sobject, "object name")
        check_identifier(match_field, "field name")
        columns = select_fields(fields, "Id", match_field)
        groups = [(k, unique(str(t) for t in texts if t)) for k, texts in needles.items()]
        query_url = self.sf.base_url + "query/"
        chunks = contains_query_chunks(query_url, sobject, match_field, groups, columns)
        seen: dict[str, dict[str, Any]] = {}
        for record in self._read_chunks(chunks, failed, label=sobject, total=len(groups)):
            seen.setdefault(str(record.get("Id")), record)
        return list(seen.values())

    def contains_calls(self, sobject: str, match_field: str, needles: Mapping[str, Sequence[str]],
                       fields: list[str]) -> int:
        """About how many calls :meth:`find_containing` would make (an estimate, for choosing a path)."""
        check_identifier(match_field, "field name")
        terms = [f"{match_field} LIKE '%{t}%'" for ts in needles.values() for t in ts if t]
        head = len(f"SELECT {', '.join(select_fields(fields, 'Id', match_field))} FROM {sobject} WHERE ") * 1.3
        return estimate_in_queries(self.sf.base_url + "query/?q=", int(head), terms)

    def _read_chunks(self, chunks: Iterable[tuple[list[str], str]], failed: dict[str, str] | None, *,
                     label: str, total: int) -> list[dict[str, Any]]:
        """Every record of every statement; progress (:mod:`connectors.progress`) per statement, in keys."""
        out: list[dict[str, Any]] = []
        done = 0
        self._report("read", label, 0, total)
        for keys, soql in chunks:
            done += len(keys)
            try:
                out.extend(list(self._query_all(soql)))
            except (ApiLimitExhausted, AuthenticationError):
                raise
            except CrmError as exc:
                if failed is None:
                    raise
                for key in keys:
                    failed.setdefault(key, str(exc))
            self._report("read", label, min(done, total), total)
        return out

    def _query_all(self, soql: str) -> Iterator[dict[str, Any]]:
        # The statement goes as ``params``: requests encodes it after parsing the URL. A query string
        # encoded beforehand would be parsed and re-checked character by character (urllib3's
        # parse_url), which measured 2.4x slower over 200,000 keys than encoding it here.
        page = self._retrying(lambda: self._json(self._request("GET", "query/", params={"q": soql})))
        while True:
            for record in page.get("records") or []:
                yield _without_attributes(record)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._retrying(partial(self._get_json, str(next_url)))


def _without_attributes(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_attributes(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [_without_attributes(v) for v in value]
    return value
