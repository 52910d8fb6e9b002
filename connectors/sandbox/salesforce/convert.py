"""Lead conversion as a rep does it: the admin route ``POST /__sandbox/convert-lead``.

Salesforce converts a Lead in the UI or through SOAP ``convertLead()`` (Apex
``Database.convertLead``); neither is part of the REST API the connectors speak, so the sandbox
offers conversion on its admin API, where a test plays the rep. It follows Salesforce's
documentation of ``convertLead()`` and of the change events a conversion raises:

- the Lead's standard fields go to a new Account and a new Contact under it, or are merged into
  the Account (``accountId``) and Contact (``contactId``, which needs its ``accountId``) given: a
  merge fills only the target's empty fields, existing data is never overwritten;
- custom Lead fields are not carried over: an admin maps them in Setup, and this org maps none;
- no Opportunity is created (the sandbox has no Opportunity object), as with
  ``doNotCreateOpportunity: true``;
- the Lead gets ``IsConverted = true``, ``ConvertedDate`` (a date, no time),
  ``ConvertedAccountId``, ``ConvertedContactId`` and the converted ``Status``; from then on it is
  read-only: an update or upsert that reaches it fails with ``CANNOT_UPDATE_CONVERTED_LEAD``
  (:mod:`.writes`). It can still be queried (``IsConverted = true``).

The answer has the shape of a ``LeadConvertResult``: ``{leadId, accountId, contactId,
opportunityId, success, errors[{statusCode, message, fields}]}``; a conversion that fails writes
nothing. A body without ``leadId`` is a 400. Like every admin call it is not API use.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.batch import Op, _Batch
from connectors.sandbox.salesforce.errors import _for_collection, rec_error
from connectors.sandbox.salesforce.writes import WritesMixin
from connectors.sandbox.salesforce_schema import id_type, normalize_id, now_iso

#: The one Lead status with ``IsConverted = true`` in a new org's ``LeadStatus`` picklist.
CONVERTED_STATUS = "Closed - Converted"
CONVERTED_LEAD = ("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")

#: Salesforce's standard mapping of Lead fields on conversion (custom fields need an admin's mapping).
LEAD_TO_ACCOUNT = {
    "Company": "Name", "Website": "Website", "Industry": "Industry", "NumberOfEmployees": "NumberOfEmployees",
    "AnnualRevenue": "AnnualRevenue", "Phone": "Phone", "Rating": "Rating", "LeadSource": "AccountSource",
    "Street": "BillingStreet", "City": "BillingCity", "State": "BillingState", "PostalCode": "BillingPostalCode",
    "Country": "BillingCountry",
}
LEAD_TO_CONTACT = {
    "FirstName": "FirstName", "LastName": "LastName", "Salutation": "Salutation", "Title": "Title",
    "Email": "Email", "Phone": "Phone", "MobilePhone": "MobilePhone", "LeadSource": "LeadSource",
    "Description": "Description", "HasOptedOutOfEmail": "HasOptedOutOfEmail", "Street": "MailingStreet",
    "City": "MailingCity", "State": "MailingState", "PostalCode": "MailingPostalCode", "Country": "MailingCountry",
}


class _NotConverted(Exception):
    """The conversion fails: nothing of it is written; ``errors`` are per-record errors (:func:`rec_error`)."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or [rec_error(code, message, fields or [])]


class LeadConvertMixin(WritesMixin):
    def admin_convert_lead(self, req: Request) -> Response:
        body = req.json() if req.body else None
        if not isinstance(body, dict) or not body.get("leadId"):
            return Response(400, {"message": "give at least leadId (and optionally accountId, contactId, "
                                             "convertedStatus)"})
        result: dict[str, Any] = {"leadId": normalize_id(str(body["leadId"])) or body["leadId"], "accountId": None,
                                  "contactId": None, "opportunityId": None, "success": False, "errors": []}
        try:
            account_id, contact_id = self._convert(body)
        except _NotConverted as exc:
            result["errors"] = [_for_collection(e) for e in exc.errors]
            return Response(200, result)
        result.update(accountId=account_id, contactId=contact_id, success=True)
        return Response(200, result)

    def _convert(self, body: dict[str, Any]) -> tuple[str, str]:
        status = body.get("convertedStatus") or CONVERTED_STATUS
        if status != CONVERTED_STATUS:
            raise _NotConverted("INVALID_STATUS", f"invalid convertedStatus: {status}", ["convertedStatus"])
        if body.get("contactId") and not body.get("accountId"):
            raise _NotConverted("REQUIRED_FIELD_MISSING", "accountId is required when contactId is given",
                                ["accountId"])
        b = _Batch(self)
        stamp = now_iso()
        with self.transaction():  # an exception rolls back whatever was staged
            lead_id, lead = self._convert_target(b, body["leadId"], "Lead", "leadId")
            if lead.get("IsConverted"):
                raise _NotConverted(*CONVERTED_LEAD, ["leadId"])
            account_id, account = self._convert_target(b, body["accountId"], "Account", "accountId") \
                if body.get("accountId") else (None, None)
            contact_id, contact = self._convert_target(b, body["contactId"], "Contact", "contactId") \
                if body.get("contactId") else (None, None)
            if contact is not None and contact.get("AccountId") != account_id:
                raise _NotConverted("FIELD_INTEGRITY_EXCEPTION",
                                    "contactId must belong to the account given as accountId", ["contactId"])
            account_id = self._merge(b, stamp, "Account", LEAD_TO_ACCOUNT, lead, account_id, account)
            contact_id = self._merge(b, stamp, "Contact", LEAD_TO_CONTACT, lead, contact_id, contact,
                                     extra={"AccountId": account_id})
            b.update(lead_id, {
                **lead, "IsConverted": True, "ConvertedDate": dt.datetime.now(dt.timezone.utc).date().isoformat(),
                "ConvertedAccountId": account_id, "ConvertedContactId": contact_id, "Status": status,
                "LastModifiedDate": stamp, "SystemModstamp": stamp,
            })
            b.flush()
        return account_id, contact_id

    def _convert_target(self, b: _Batch, given: Any, sobject: str, arg: str) -> tuple[str, dict[str, Any]]:
        """The id and data of the live ``sobject`` record ``given`` names, or the conversion fails."""
        rid = normalize_id(str(given))
        rec = b.get(rid) if rid else None
        if rid is None or rec is None or id_type(rid) != sobject:
            raise _NotConverted("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {arg}", [arg])
        if rec[1]:
            raise _NotConverted("ENTITY_IS_DELETED", "entity is deleted", [arg])
        data: dict[str, Any] = rec[2]
        return rid, data

    def _merge(self, b: _Batch, stamp: str, sobject: str, mapping: dict[str, str], lead: dict[str, Any],
               target_id: str | None, target: dict[str, Any] | None, extra: dict[str, Any] | None = None) -> str:
        """Create ``sobject`` from the Lead, or fill the empty fields of ``target`` with it; its id."""
        values = {to: lead[frm] for frm, to in mapping.items() if lead.get(frm) not in (None, "")}
        values.update(extra or {})
        if target is not None:
            values = {k: v for k, v in values.items() if target.get(k) in (None, "")}
            if not values:
                assert target_id is not None
                return target_id
            op = Op("update", sobject, values, id=target_id)
        else:
            op = Op("create", sobject, values)
        res = self._apply_one(b, op, False, stamp)
        if not res["success"]:
            raise _NotConverted("", "", errors=res["errors"])
        return str(res["id"])
