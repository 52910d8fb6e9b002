"""Salesforce reads: records matched on a field's values, through SOQL queries that fit a URL.

The SOQL itself is built in :mod:`connectors.salesforce.soql`; here the queries are sent,
retried when Salesforce asks for it, and every page of each is followed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from connectors.salesforce.soql import check_identifier, in_queries, select_fields, unique
from connectors.salesforce.transport import SalesforceTransport


class SalesforceReads(SalesforceTransport):
    """Keyed reads through the REST query resource."""

    # -- reads ---------------------------------------------------------------------------

    def find(
        self, sobject: str, match_field: str, values: list[str], fields: list[str], *, where: str | None = None
    ) -> list[dict[str, Any]]:
        """Records of ``sobject`` whose ``match_field`` is one of ``values``, with ``fields`` (+ Id).

        ``where`` is a trusted SOQL condition written by our code (quote any value in it
        with ``soql.quote``); it is ANDed in parentheses. Values are sent once each, quoted
        by ``format_soql``, in as many queries as needed to keep every URL within budget,
        and every page of each query is followed.
        """
        check_identifier(sobject, "object name")
        check_identifier(match_field, "field name")
        columns = select_fields(fields, "Id", match_field)
        wanted = unique(str(v) for v in values if v is not None)
        out: list[dict[str, Any]] = []
        query_url = self.sf.base_url + "query/"
        for soql in in_queries(query_url, sobject, match_field, wanted, columns, where=where):
            out.extend(self._query_all(soql))
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
