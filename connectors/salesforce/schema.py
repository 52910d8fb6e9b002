"""Salesforce schema: describe an object's fields, and create our custom fields through the Tooling API.

A describe is made once per object per connector and cached; :meth:`create_fields` creates
only the fields describe does not list, so running it again costs no call at all.

Describe shows the fields **the running user can see**. A custom field that field-level
security hides is absent from it, yet exists in the org: the Tooling API's ``CustomField``
lists it (:meth:`org_fields`), so :meth:`hidden_fields` can tell "missing" from "not visible to
this user", and :meth:`create_fields` never tries to create a field that only needs a grant.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from simple_salesforce.format import format_soql

from connectors.crm import FieldSpec, ObjectSchema
from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError, RetryableError
from connectors.salesforce.soql import check_identifier
from connectors.salesforce.transport import SalesforceTransport
from connectors.salesforce.wire import custom_field_metadata, field_info

_DUPLICATE_FIELD_CODES = frozenset({"DUPLICATE_DEVELOPER_NAME", "DUPLICATE_VALUE"})


class SalesforceSchema(SalesforceTransport):
    """The org written to, describe (REST) and custom-field creation (Tooling API)."""

    _org_id: str | None = None
    _org_fields: dict[str, set[str]] | None = None

    def org_id(self) -> str:
        """The 18-character Id of the org the session belongs to; one query per connector.

        ``SELECT Id FROM Organization`` (the Organization sObject has exactly one record, the
        running org, readable by any API user). Sync state is kept per org, so a sandbox org
        and production never share it.
        """
        if self._org_id is None:
            page = self._retrying(lambda: self._json(self._request(
                "GET", "query/", params={"q": "SELECT Id FROM Organization LIMIT 1"})))
            records = page.get("records") or []
            if not records or not records[0].get("Id"):
                raise CrmError("SELECT Id FROM Organization returned no record", crm="salesforce")
            self._org_id = str(records[0]["Id"])
        return self._org_id

    # -- schema --------------------------------------------------------------------------

    def describe(self, sobject: str, *, refresh: bool = False) -> ObjectSchema:
        """Fields of ``sobject``; one ``GET sobjects/{sobject}/describe`` per object per connector."""
        check_identifier(sobject, "object name")
        if not refresh and sobject in self._schemas:
            return self._schemas[sobject]
        body = self._retrying(partial(self._get_json, f"sobjects/{sobject}/describe"))
        fields = {str(f["name"]): field_info(f) for f in body.get("fields") or []}
        flags = {k: bool(body.get(k, True)) for k in ("queryable", "createable", "updateable")}
        schema = ObjectSchema(object_type=str(body.get("name") or sobject), fields=fields, **flags)
        self._schemas[sobject] = schema
        return schema

    def create_fields(self, sobject: str, specs: list[FieldSpec]) -> list[str]:
        """Create the custom fields of ``specs`` that describe does not list; return the names created.

        Idempotent: fields already there cost no call at all (the describe is cached). A
        field Salesforce reports as a duplicate exists already — typically hidden from the
        integration user by field-level security — and is not reported as created.
        """
        check_identifier(sobject, "object name")
        todo: dict[str, FieldSpec] = {}
        for spec in specs:
            check_identifier(spec.name, "field name")
            if not spec.name.endswith("__c"):
                raise ValueError(f"{spec.name}: custom field API names end in __c")
            custom_field_metadata(spec)  # refuse unsupported kinds before creating anything
            todo.setdefault(spec.name.lower(), spec)
        existing = {name.lower() for name in self.describe(sobject).fields}
        missing = [spec for key, spec in todo.items() if key not in existing]
        if missing:  # absent from describe: maybe only hidden by field-level security
            in_org = self.org_fields(sobject, refresh=True)
            missing = [spec for spec in missing if spec.name.lower() not in in_org]
        if not missing:
            return []
        created: list[str] = []
        try:
            for spec in missing:
                body = {
                    "FullName": f"{sobject}.{spec.name}",
                    "Metadata": custom_field_metadata(spec),
                }
                if self._create_custom_field(body):
                    created.append(spec.name)
        finally:
            self.describe(sobject, refresh=True)
            self.org_fields(sobject, refresh=True)
        return created

    def org_fields(self, sobject: str, *, refresh: bool = False) -> set[str]:
        """Lower-cased API names of every custom field of ``sobject`` in the org, visible or not.

        One Tooling API query (``SELECT DeveloperName FROM CustomField WHERE TableEnumOrId = …``)
        per object per connector: field-level security does not apply to the Tooling API, so this
        is the org's schema where describe is only the running user's view of it.
        """
        check_identifier(sobject, "object name")
        cache = self._org_fields = self._org_fields or {}
        if refresh or sobject not in cache:
            soql = format_soql("SELECT DeveloperName FROM CustomField WHERE TableEnumOrId = {}", sobject)
            page = self._retrying(lambda: self._json(self._request("GET", "tooling/query/", params={"q": soql})))
            cache[sobject] = {f"{r['DeveloperName']}__c".lower() for r in page.get("records") or []
                              if r.get("DeveloperName")}
        return cache[sobject]

    def hidden_fields(self, sobject: str, names: list[str]) -> list[str]:
        """Of ``names``, the custom fields that exist in the org but describe does not show this user."""
        absent = [n for n in names if n not in self.describe(sobject).fields and n.endswith("__c")]
        if not absent:
            return []
        in_org = self.org_fields(sobject)
        return [n for n in absent if n.lower() in in_org]

    def _create_custom_field(self, body: dict[str, Any]) -> bool:
        """POST one CustomField; True if this call (or a lost earlier attempt of it) created it."""
        attempt = 1
        while True:
            try:
                self._request("POST", "tooling/sobjects/CustomField", json_body=body)
                return True
            except RetryableError as exc:
                self._backoff_or_raise(attempt, exc)
                attempt += 1
            except (AuthenticationError, ApiLimitExhausted):
                raise
            except CrmError as exc:
                if exc.code in _DUPLICATE_FIELD_CODES:
                    # After a lost response the first attempt may have created it.
                    return attempt > 1
                raise
