"""Salesforce reads: records matched on a field's values, through SOQL queries that fit a URL.

The SOQL itself is built in :mod:`connectors.salesforce.soql`; here the queries are sent,
retried when Salesforce asks for it, and every page of each is followed.

A read may run in *isolating* mode (``failed=`` a dict): a statement that still fails after
its retries records each value it carried, with the error, and the read goes on with the next
statement, so one bad query costs only the keys it carried. The daily allocation spent
(:class:`ApiLimitExhausted`) and refused credentials (:class:`AuthenticationError`) are never
isolated: nothing further could succeed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Any

from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError
from connectors.salesforce.soql import (
    check_identifier,
    contains_query_chunks,
    in_query_chunks,
    select_fields,
    unique,
)
from connectors.salesforce.transport import SalesforceTransport


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

    def _read_chunks(self, chunks: Iterator[tuple[list[str], str]], failed: dict[str, str] | None, *,
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
