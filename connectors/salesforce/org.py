"""The org a Salesforce connector talks to: which one, which API versions it serves, and how much of
its daily API allocation is left — what `writeback doctor` reports before a first run.

- :meth:`SalesforceOrg.org_details`: ``SELECT Id, Name, IsSandbox, OrganizationType, InstanceName
  FROM Organization`` (one row, the running org; SOAP/REST Object Reference, "Organization");
- :meth:`SalesforceOrg.api_versions`: ``GET /services/data/`` (REST API guide, "Versions"), which
  needs no session and is not an API call;
- :meth:`SalesforceOrg.daily_allowance`: ``GET limits`` → ``DailyApiRequests {Max, Remaining}``
  (REST API guide, "Limits").
"""

from __future__ import annotations

from typing import Any

from connectors.errors import CrmError
from connectors.salesforce.transport import CRM, SalesforceTransport


class SalesforceOrg(SalesforceTransport):
    """Org identity, API versions and the daily allowance, one call each."""

    def org_details(self) -> dict[str, Any]:
        """``Id``, ``Name``, ``IsSandbox``, ``OrganizationType``, ``InstanceName`` of the running org."""
        soql = "SELECT Id, Name, IsSandbox, OrganizationType, InstanceName FROM Organization LIMIT 1"
        page = self._retrying(lambda: self._json(self._request("GET", "query/", params={"q": soql})))
        records = page.get("records") or []
        if not records:
            raise CrmError("SELECT … FROM Organization returned no record", crm=CRM)
        return {k: v for k, v in records[0].items() if k != "attributes"}

    def api_versions(self) -> list[str]:
        """The REST API versions the org serves (``"62.0"``, …), oldest first."""
        body = self._retrying(lambda: self._json(self._request("GET", "/services/data/")))
        return [str(v["version"]) for v in body if isinstance(v, dict) and v.get("version")]

    @property
    def api_version(self) -> str:
        """The version this connector speaks."""
        return str(self.sf.sf_version)

    def daily_allowance(self) -> tuple[int, int]:
        """``(remaining, max)`` of the org's 24-hour API allocation (``DailyApiRequests``)."""
        body = self._retrying(lambda: self._json(self._request("GET", "limits/")))
        daily = body.get("DailyApiRequests") or {}
        return int(daily.get("Remaining", 0)), int(daily.get("Max", 0))
