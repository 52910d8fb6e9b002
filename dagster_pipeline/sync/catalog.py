"""The canonical list of what we write, per CRM object: standard fields and Warmly data.

One place says which sync-model column feeds which CRM field, so the record builder, the
required-fields gate and ``writeback setup`` can never disagree.

Field policy (why some fields are ``if_empty``): identity and link fields — names, the
email/domain key, ``Lead.Company``, ``Contact.AccountId``, HubSpot ``company`` — are filled
when blank and never overwritten, because a rep's correction or account assignment must
win over enrichment. Everything else we write is overwritten when the warehouse has a
(non-null) newer value. Warmly data is ours, always overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from connectors.crm import FieldKind, FieldSpec

Entity = Literal["person", "company"]
Mode = Literal["overwrite", "if_empty"]

#: Placeholder Salesforce's own Web-to-Lead uses for required text it did not receive.
NOT_PROVIDED = "[not provided]"


@dataclass(frozen=True)
class FieldSource:
    """CRM ``field`` fed from sync-model ``column`` (or the constant ``value``)."""

    field: str
    column: str | None
    mode: Mode = "overwrite"
    value: object | None = None


@dataclass(frozen=True)
class WarmlyField:
    suffix: str  # "Last_Seen" -> Warmly_Last_Seen__c / warmly_last_seen
    label: str
    kind: FieldKind
    column: str | None  # None: the workflow name
    length: int | None = None

    def api_name(self, crm: str) -> str:
        return f"Warmly_{self.suffix}__c" if crm == "salesforce" else f"warmly_{self.suffix.lower()}"

    def spec(self, crm: str) -> FieldSpec:
        return FieldSpec(self.api_name(crm), f"Warmly {self.label}", self.kind, self.length,
                         description=f"Written by CRM writeback: {self.label.lower()}.")


_SHARED = (
    WarmlyField("First_Seen", "First Seen", "datetime", "first_seen_at"),
    WarmlyField("Last_Seen", "Last Seen", "datetime", "last_seen_at"),
    WarmlyField("Session_Count", "Session Count", "int", "session_count"),
    WarmlyField("Page_Views", "Page Views", "int", "page_view_count"),
    WarmlyField("Top_Pages", "Top Pages", "string", "top_pages", 255),
    WarmlyField("Last_Referrer", "Last Referrer", "string", "last_referrer", 255),
    WarmlyField("UTM_Source", "UTM Source", "string", "last_utm_source", 255),
    WarmlyField("Chat_Count", "Chat Count", "int", "chat_count"),
    WarmlyField("Demo_Requested", "Demo Requested", "bool", "demo_requested"),
    WarmlyField("Intent_Signal", "Intent Signal", "string", "intent_signal", 255),
    WarmlyField("Intent_Topic", "Intent Topic", "string", "intent_topic", 255),
    WarmlyField("Intent_Signal_At", "Intent Signal At", "datetime", "intent_signal_at"),
    WarmlyField("Workflow", "Workflow", "string", None, 40),
)

PERSON_WARMLY: tuple[WarmlyField, ...] = _SHARED + (
    WarmlyField("Identification_Source", "Identification Source", "string", "identification_source", 255),
    WarmlyField("LinkedIn_URL", "LinkedIn URL", "url", "linkedin_url", 255),
)
COMPANY_WARMLY: tuple[WarmlyField, ...] = _SHARED + (
    WarmlyField("Visitor_Count", "Identified Visitors", "int", "visitor_count"),
)

SYNC_KEY = WarmlyField("Sync_Key", "Sync Key", "string", None, 255)


def sync_key_spec(crm: str) -> FieldSpec:
    """The external-id field idempotent creates are keyed on (a retried create updates, never duplicates)."""
    return FieldSpec(SYNC_KEY.api_name(crm), "Warmly Sync Key", "string", 255, unique_key=True,
                     description="Written by CRM writeback: normalised email or domain, the idempotency key.")


@dataclass(frozen=True)
class ObjectDef:
    crm: Literal["salesforce", "hubspot"]
    name: str  # settings name: lead, contact, account / contact, company
    api_name: str  # Lead, Contact, Account / contacts, companies
    entity: Entity
    key_column: str  # email / domain in the sync model
    email_field: str | None  # the CRM field holding the person's email (match key)
    domain_field: str | None  # the CRM field holding the company's domain/website (match key)
    standard: tuple[FieldSource, ...]
    link_field: str | None = None  # the field that points a person to its company
    uses_sync_key: bool = True  # HubSpot contacts upsert on email instead

    @property
    def warmly(self) -> tuple[WarmlyField, ...]:
        return PERSON_WARMLY if self.entity == "person" else COMPANY_WARMLY

    def warmly_fields(self) -> list[str]:
        return [w.api_name(self.crm) for w in self.warmly]

    @property
    def sync_key_field(self) -> str | None:
        return SYNC_KEY.api_name(self.crm) if self.uses_sync_key else None

    def required_fields(self, *, write_warmly_data: bool, create: bool, mapped: list[str]) -> list[str]:
        """Fields that must exist before any record of this object is written."""
        names: list[str] = []
        if write_warmly_data:
            names += self.warmly_fields()
        if create and self.sync_key_field:
            names.append(self.sync_key_field)
        return names + [m for m in mapped if m not in names]

    def setup_specs(self, *, write_warmly_data: bool = True) -> list[FieldSpec]:
        specs = [w.spec(self.crm) for w in self.warmly] if write_warmly_data else []
        if self.uses_sync_key:
            specs.append(sync_key_spec(self.crm))
        return specs


def _fs(field: str, column: str | None, mode: Mode = "overwrite") -> FieldSource:
    return FieldSource(field, column, mode)


SALESFORCE_OBJECTS: dict[str, ObjectDef] = {
    "account": ObjectDef(
        "salesforce", "account", "Account", "company", "domain", None, "Website",
        (
            _fs("Name", "name", "if_empty"),
            _fs("Website", "domain", "if_empty"),
            _fs("Industry", "industry"),
            _fs("NumberOfEmployees", "employee_count"),
            _fs("AnnualRevenue", "annual_revenue"),
            _fs("BillingCountry", "country"),
        ),
    ),
    "lead": ObjectDef(
        "salesforce", "lead", "Lead", "person", "email", "Email", None,
        (
            _fs("Email", "email", "if_empty"),
            _fs("FirstName", "first_name", "if_empty"),
            _fs("LastName", "last_name", "if_empty"),
            _fs("Title", "title"),
            _fs("Company", "company_name", "if_empty"),
            _fs("Website", "company_domain", "if_empty"),
            _fs("Industry", "company_industry"),
            _fs("NumberOfEmployees", "company_employee_count"),
            _fs("Country", "company_country"),
            _fs("Phone", "phone"),
        ),
        link_field="Company",
    ),
    "contact": ObjectDef(
        "salesforce", "contact", "Contact", "person", "email", "Email", None,
        (
            _fs("Email", "email", "if_empty"),
            _fs("FirstName", "first_name", "if_empty"),
            _fs("LastName", "last_name", "if_empty"),
            _fs("Title", "title"),
            _fs("Department", "department"),
            _fs("Phone", "phone"),
        ),
        link_field="AccountId",
    ),
}

HUBSPOT_OBJECTS: dict[str, ObjectDef] = {
    "company": ObjectDef(
        "hubspot", "company", "companies", "company", "domain", None, "domain",
        (
            _fs("name", "name", "if_empty"),
            _fs("domain", "domain", "if_empty"),
            _fs("industry", "industry"),
            _fs("numberofemployees", "employee_count"),
            _fs("annualrevenue", "annual_revenue"),
            _fs("country", "country"),
            _fs("linkedin_company_page", "linkedin_url"),
        ),
    ),
    "contact": ObjectDef(
        "hubspot", "contact", "contacts", "person", "email", "email", None,
        (
            _fs("email", "email", "if_empty"),
            _fs("firstname", "first_name", "if_empty"),
            _fs("lastname", "last_name", "if_empty"),
            _fs("jobtitle", "title"),
            _fs("company", "company_name", "if_empty"),
            _fs("website", "company_domain", "if_empty"),
            _fs("phone", "phone"),
        ),
        uses_sync_key=False,
    ),
}

OBJECTS: dict[str, dict[str, ObjectDef]] = {"salesforce": SALESFORCE_OBJECTS, "hubspot": HUBSPOT_OBJECTS}

#: Persons column holding every answer captured in chat: JSON object text, the latest answer per
#: question key (``{"team_size": "51-200", "use_case": "…"}``), null when the person answered none.
CHAT_ANSWERS = "chat_answers"

#: Columns and types of every sync model of an entity, as ``Warehouse.read_model`` returns them
#: (the dbt contract; the warehouse tests check the built models against these).
_S, _I, _B, _TS, _D = pl.String(), pl.Int64(), pl.Boolean(), pl.Datetime("us"), pl.Date()
PERSON_SCHEMA = pl.Schema({
    "email": _S, "first_name": _S, "last_name": _S, "title": _S,
    "seniority": _S, "department": _S, "linkedin_url": _S, "phone": _S,
    "company_domain": _S, "company_name": _S, "company_industry": _S,
    "company_employee_count": _I, "company_country": _S, "identification_source": _S,
    "first_seen_at": _TS, "last_seen_at": _TS, "session_count": _I,
    "page_view_count": _I, "top_pages": _S, "last_referrer": _S, "last_utm_source": _S,
    "chat_count": _I, "demo_requested": _B, "chat_use_case": _S, CHAT_ANSWERS: _S, "intent_signal": _S,
    "intent_topic": _S, "intent_signal_at": _TS, "orchestration_ids": _S,
    "activity_date": _D,
})
COMPANY_SCHEMA = pl.Schema({
    "domain": _S, "name": _S, "website": _S, "industry": _S,
    "employee_count": _I, "annual_revenue": _I, "country": _S, "linkedin_url": _S,
    "first_seen_at": _TS, "last_seen_at": _TS, "session_count": _I,
    "page_view_count": _I, "top_pages": _S, "last_referrer": _S, "last_utm_source": _S,
    "visitor_count": _I, "chat_count": _I, "demo_requested": _B, "intent_signal": _S,
    "intent_topic": _S, "intent_signal_at": _TS, "orchestration_ids": _S,
    "activity_date": _D,
})


def sync_model(workflow: str, entity: Entity) -> str:
    return f"sync_{workflow}__{'persons' if entity == 'person' else 'companies'}"
