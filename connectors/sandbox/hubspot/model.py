"""The static half of the HubSpot sandbox: object types, default properties and groups,
association types, and how HubSpot checks and normalises a property value.

Everything here mirrors what a fresh HubSpot portal exposes through the CRM v3 API
(``GET /crm/v3/properties/{objectType}``), trimmed to the properties a writeback touches.
Property values travel as strings both ways; numbers, dates and booleans are checked and
normalised the way HubSpot does before they are stored.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PORTAL_ID = 12345678  # the portal the sandbox pretends to be; appears in error messages


@dataclass(frozen=True)
class ObjectType:
    name: str  # path name: contacts / companies
    type_id: str  # 0-1 / 0-2
    singular: str  # contact / company (association messages)
    label: str  # CONTACT / COMPANY (batch read messages)
    title: str  # Contact / Company (conflict messages)
    last_modified: str  # the "last modified" property this object type carries
    defaults: tuple[str, ...]  # returned when a read names no properties
    always: tuple[str, ...]  # returned on top of whatever a read names
    group: str  # default property group for new properties


OBJECT_TYPES: dict[str, ObjectType] = {
    "contacts": ObjectType(
        "contacts",
        "0-1",
        "contact",
        "CONTACT",
        "Contact",
        "lastmodifieddate",
        ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
        ("createdate", "hs_object_id", "lastmodifieddate"),
        "contactinformation",
    ),
    "companies": ObjectType(
        "companies",
        "0-2",
        "company",
        "COMPANY",
        "Company",
        "hs_lastmodifieddate",
        ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
        ("createdate", "hs_lastmodifieddate", "hs_object_id"),
        "companyinformation",
    ),
}

TYPE_ALIASES: dict[str, str] = {}
for _t in OBJECT_TYPES.values():
    for _alias in (_t.name, _t.type_id, _t.singular, _t.label.lower()):
        TYPE_ALIASES[_alias] = _t.name


def resolve_type(name: str) -> ObjectType | None:
    key = TYPE_ALIASES.get(name.lower())
    return OBJECT_TYPES[key] if key else None


# -- association types (HUBSPOT_DEFINED ids from the v4 associations documentation) ------
@dataclass(frozen=True)
class AssociationType:
    type_id: int
    from_type: str
    to_type: str
    label: str | None  # None = the unlabeled association
    inverse: int
    v3_name: str  # the name v3 object reads show under ``associations``


ASSOCIATION_TYPES: dict[int, AssociationType] = {
    t.type_id: t
    for t in (
        AssociationType(279, "contacts", "companies", None, 280, "contact_to_company_unlabeled"),
        AssociationType(280, "companies", "contacts", None, 279, "company_to_contact_unlabeled"),
        AssociationType(1, "contacts", "companies", "Primary", 2, "contact_to_company"),
        AssociationType(2, "companies", "contacts", "Primary", 1, "company_to_contact"),
    )
}
UNLABELED = {("contacts", "companies"): 279, ("companies", "contacts"): 280}
PRIMARY = {("contacts", "companies"): 1, ("companies", "contacts"): 2}


# -- option lists --------------------------------------------------------------------------
def _labelled(values: list[str]) -> list[tuple[str, str]]:
    return [(v.replace("_", " ").title().replace(" And ", " and ").replace(" Or ", " or "), v) for v in values]


LIFECYCLE_STAGES = [
    ("Subscriber", "subscriber"),
    ("Lead", "lead"),
    ("Marketing Qualified Lead", "marketingqualifiedlead"),
    ("Sales Qualified Lead", "salesqualifiedlead"),
    ("Opportunity", "opportunity"),
    ("Customer", "customer"),
    ("Evangelist", "evangelist"),
    ("Other", "other"),
]
LEAD_STATUSES = [
    ("New", "NEW"),
    ("Open", "OPEN"),
    ("In Progress", "IN_PROGRESS"),
    ("Open Deal", "OPEN_DEAL"),
    ("Unqualified", "UNQUALIFIED"),
    ("Attempted to Contact", "ATTEMPTED_TO_CONTACT"),
    ("Connected", "CONNECTED"),
    ("Bad Timing", "BAD_TIMING"),
]
COMPANY_TYPES = [
    ("Prospect", "PROSPECT"),
    ("Partner", "PARTNER"),
    ("Reseller", "RESELLER"),
    ("Vendor", "VENDOR"),
    ("Other", "OTHER"),
]
# HubSpot's company "industry" is an enumeration whose internal values are LinkedIn-style
# codes (COMPUTER_SOFTWARE), not the labels people type ("Computer Software", "SaaS").
INDUSTRIES = _labelled(
    [
        "ACCOUNTING", "AIRLINES_AVIATION", "ALTERNATIVE_DISPUTE_RESOLUTION", "ALTERNATIVE_MEDICINE",
        "ANIMATION", "APPAREL_FASHION", "ARCHITECTURE_PLANNING", "ARTS_AND_CRAFTS", "AUTOMOTIVE",
        "AVIATION_AEROSPACE", "BANKING", "BIOTECHNOLOGY", "BROADCAST_MEDIA", "BUILDING_MATERIALS",
        "BUSINESS_SUPPLIES_AND_EQUIPMENT", "CAPITAL_MARKETS", "CHEMICALS", "CIVIC_SOCIAL_ORGANIZATION",
        "CIVIL_ENGINEERING", "COMMERCIAL_REAL_ESTATE", "COMPUTER_NETWORK_SECURITY", "COMPUTER_GAMES",
        "COMPUTER_HARDWARE", "COMPUTER_NETWORKING", "COMPUTER_SOFTWARE", "INTERNET", "CONSTRUCTION",
        "CONSUMER_ELECTRONICS", "CONSUMER_GOODS", "CONSUMER_SERVICES", "COSMETICS", "DAIRY",
        "DEFENSE_SPACE", "DESIGN", "EDUCATION_MANAGEMENT", "E_LEARNING",
        "ELECTRICAL_ELECTRONIC_MANUFACTURING", "ENTERTAINMENT", "ENVIRONMENTAL_SERVICES",
        "EVENTS_SERVICES", "EXECUTIVE_OFFICE", "FACILITIES_SERVICES", "FARMING", "FINANCIAL_SERVICES",
        "FINE_ART", "FISHERY", "FOOD_BEVERAGES", "FOOD_PRODUCTION", "FUND_RAISING", "FURNITURE",
        "GAMBLING_CASINOS", "GLASS_CERAMICS_CONCRETE", "GOVERNMENT_ADMINISTRATION", "GOVERNMENT_RELATIONS",
        "GRAPHIC_DESIGN", "HEALTH_WELLNESS_AND_FITNESS", "HIGHER_EDUCATION", "HOSPITAL_HEALTH_CARE",
        "HOSPITALITY", "HUMAN_RESOURCES", "IMPORT_AND_EXPORT", "INDIVIDUAL_FAMILY_SERVICES",
        "INDUSTRIAL_AUTOMATION", "INFORMATION_SERVICES", "INFORMATION_TECHNOLOGY_AND_SERVICES",
        "INSURANCE", "INTERNATIONAL_AFFAIRS", "INTERNATIONAL_TRADE_AND_DEVELOPMENT", "INVESTMENT_BANKING",
        "INVESTMENT_MANAGEMENT", "JUDICIARY", "LAW_ENFORCEMENT", "LAW_PRACTICE", "LEGAL_SERVICES",
        "LEGISLATIVE_OFFICE", "LEISURE_TRAVEL_TOURISM", "LIBRARIES", "LOGISTICS_AND_SUPPLY_CHAIN",
        "LUXURY_GOODS_JEWELRY", "MACHINERY", "MANAGEMENT_CONSULTING", "MARITIME", "MARKET_RESEARCH",
        "MARKETING_AND_ADVERTISING", "MECHANICAL_OR_INDUSTRIAL_ENGINEERING", "MEDIA_PRODUCTION",
        "MEDICAL_DEVICES", "MEDICAL_PRACTICE", "MENTAL_HEALTH_CARE", "MILITARY", "MINING_METALS",
        "MOTION_PICTURES_AND_FILM", "MUSEUMS_AND_INSTITUTIONS", "MUSIC", "NANOTECHNOLOGY", "NEWSPAPERS",
        "NON_PROFIT_ORGANIZATION_MANAGEMENT", "OIL_ENERGY", "ONLINE_MEDIA", "OUTSOURCING_OFFSHORING",
        "PACKAGE_FREIGHT_DELIVERY", "PACKAGING_AND_CONTAINERS", "PAPER_FOREST_PRODUCTS", "PERFORMING_ARTS",
        "PHARMACEUTICALS", "PHILANTHROPY", "PHOTOGRAPHY", "PLASTICS", "POLITICAL_ORGANIZATION",
        "PRIMARY_SECONDARY_EDUCATION", "PRINTING", "PROFESSIONAL_TRAINING_COACHING", "PROGRAM_DEVELOPMENT",
        "PUBLIC_POLICY", "PUBLIC_RELATIONS_AND_COMMUNICATIONS", "PUBLIC_SAFETY", "PUBLISHING",
        "RAILROAD_MANUFACTURE", "RANCHING", "REAL_ESTATE", "RECREATIONAL_FACILITIES_AND_SERVICES",
        "RELIGIOUS_INSTITUTIONS", "RENEWABLES_ENVIRONMENT", "RESEARCH", "RESTAURANTS", "RETAIL",
        "SECURITY_AND_INVESTIGATIONS", "SEMICONDUCTORS", "SHIPBUILDING", "SPORTING_GOODS", "SPORTS",
        "STAFFING_AND_RECRUITING", "SUPERMARKETS", "TELECOMMUNICATIONS", "TEXTILES", "THINK_TANKS",
        "TOBACCO", "TRANSLATION_AND_LOCALIZATION", "TRANSPORTATION_TRUCKING_RAILROAD", "UTILITIES",
        "VENTURE_CAPITAL_PRIVATE_EQUITY", "VETERINARY", "WAREHOUSING", "WHOLESALE", "WINE_AND_SPIRITS",
        "WIRELESS", "WRITING_AND_EDITING",
    ]
)  # fmt: skip
BOOL_OPTIONS = [("Yes", "true"), ("No", "false")]

# Creation time of the portal's built-in definitions (any fixed past instant will do).
PORTAL_CREATED = "2019-08-06T02:41:08.029Z"

# type -> field types HubSpot accepts with it (properties API "type/fieldType" pairs)
FIELD_TYPES: dict[str, set[str]] = {
    "string": {"text", "textarea", "html", "phonenumber", "file"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"},
    "bool": {"booleancheckbox", "calculation_equation"},
}
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def option_dicts(options: list[tuple[str, str]] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, opt in enumerate(options):
        if isinstance(opt, dict):
            out.append(
                {
                    "label": str(opt.get("label", opt.get("value", ""))),
                    "value": str(opt.get("value", "")),
                    "description": opt.get("description") or "",
                    "displayOrder": int(opt.get("displayOrder", i) if opt.get("displayOrder") is not None else i),
                    "hidden": bool(opt.get("hidden", False)),
                }
            )
        else:
            label, value = opt
            out.append({"label": label, "value": value, "description": "", "displayOrder": i, "hidden": False})
    return out


def property_definition(
    name: str,
    label: str,
    type_: str,
    field_type: str,
    group: str,
    *,
    options: list[tuple[str, str]] | list[dict[str, Any]] | None = None,
    description: str = "",
    unique: bool = False,
    read_only: bool = False,
    hubspot_defined: bool = True,
    display_order: int = -1,
    created_at: str = PORTAL_CREATED,
) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "updatedAt": created_at,
        "createdAt": created_at,
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "description": description,
        "groupName": group,
        "options": option_dicts(options or []),
        "displayOrder": display_order,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": unique,
        "hidden": False,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only,
        },
        "formField": not read_only,
        "dataSensitivity": "non_sensitive",
        "archived": False,
    }
    if hubspot_defined:
        definition["hubspotDefined"] = True
    return definition


def _contact_properties() -> list[dict[str, Any]]:
    g = "contactinformation"
    p = property_definition
    return [
        p("email", "Email", "string", "text", g, description="A contact's email address"),
        p("firstname", "First Name", "string", "text", g, description="A contact's first name"),
        p("lastname", "Last Name", "string", "text", g, description="A contact's last name"),
        p("jobtitle", "Job Title", "string", "text", g, description="A contact's job title"),
        p("phone", "Phone Number", "string", "phonenumber", g, description="A contact's primary phone number"),
        p("mobilephone", "Mobile Phone Number", "string", "phonenumber", g),
        p("company", "Company Name", "string", "text", g, description="Name of the contact's company"),
        p("website", "Website URL", "string", "text", g, description="Associated company website"),
        p("address", "Street Address", "string", "text", g),
        p("city", "City", "string", "text", g, description="A contact's city of residence"),
        p("state", "State/Region", "string", "text", g),
        p("zip", "Postal Code", "string", "text", g),
        p("country", "Country/Region", "string", "text", g, description="The contact's country/region"),
        p("industry", "Industry", "string", "text", g, description="The Industry a contact is in"),
        p("hs_linkedin_url", "LinkedIn URL", "string", "text", "socialmediainformation"),
        p("seniority", "Seniority", "string", "text", g),
        p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", g, options=LIFECYCLE_STAGES),
        p("hs_lead_status", "Lead Status", "enumeration", "radio", "sales_properties", options=LEAD_STATUSES),
        p("message", "Message", "string", "textarea", g),
        p("createdate", "Create Date", "datetime", "date", g),
        p("lastmodifieddate", "Last Modified Date", "datetime", "date", g, read_only=True),
        p("hs_object_id", "Record ID", "number", "number", g, read_only=True),
    ]


def _company_properties() -> list[dict[str, Any]]:
    g = "companyinformation"
    p = property_definition
    return [
        p("name", "Company name", "string", "text", g, description="The name of the company or organization"),
        p("domain", "Company Domain Name", "string", "text", g, description="The domain name of the company"),
        p("website", "Website URL", "string", "text", g, description="The main website of the company"),
        p("industry", "Industry", "enumeration", "select", g, options=INDUSTRIES),
        p("numberofemployees", "Number of Employees", "number", "number", g),
        p("annualrevenue", "Annual Revenue", "number", "number", g),
        p("description", "Description", "string", "textarea", g),
        p("phone", "Phone Number", "string", "phonenumber", g),
        p("address", "Street Address", "string", "text", g),
        p("city", "City", "string", "text", g),
        p("state", "State/Region", "string", "text", g),
        p("zip", "Postal Code", "string", "text", g),
        p("country", "Country/Region", "string", "text", g),
        p("linkedin_company_page", "LinkedIn Company Page", "string", "text", "social_media_information"),
        p("founded_year", "Year Founded", "string", "text", g),
        p("type", "Type", "enumeration", "select", g, options=COMPANY_TYPES),
        p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", g, options=LIFECYCLE_STAGES),
        p("hs_lead_status", "Lead Status", "enumeration", "select", g, options=LEAD_STATUSES),
        p("createdate", "Create Date", "datetime", "date", g),
        p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", g, read_only=True),
        p("hs_object_id", "Record ID", "number", "number", g, read_only=True),
    ]


def default_properties(otype: str) -> list[dict[str, Any]]:
    defs = _contact_properties() if otype == "contacts" else _company_properties()
    for i, d in enumerate(defs):
        d["displayOrder"] = i if d["displayOrder"] == -1 else d["displayOrder"]
    return defs


DEFAULT_GROUPS: dict[str, list[tuple[str, str]]] = {
    "contacts": [
        ("contactinformation", "Contact information"),
        ("emailinformation", "Email information"),
        ("socialmediainformation", "Social media information"),
        ("sales_properties", "Sales properties"),
        ("analyticsinformation", "Web analytics history"),
        ("conversioninformation", "Conversion information"),
    ],
    "companies": [
        ("companyinformation", "Company information"),
        ("social_media_information", "Social media information"),
        ("analyticsinformation", "Web analytics history"),
        ("target_account_information", "Target account information"),
    ],
}


def default_groups(otype: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "label": label, "displayOrder": i, "archived": False}
        for i, (n, label) in enumerate(DEFAULT_GROUPS[otype])
    ]


# -- timestamps ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=8192)
def iso_ms(ms: int) -> str:
    """HubSpot's timestamp format: ISO-8601, milliseconds, Z."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    # isoformat pads the year to four digits (strftime("%Y") writes year 1 as "1", not ISO-8601).
    return dt.replace(tzinfo=None).isoformat(timespec="seconds") + f".{ms % 1000:03d}Z"


def parse_instant(value: str) -> int | None:
    """Epoch milliseconds from epoch-ms digits or an ISO-8601 date/datetime; None if neither."""
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            dt = datetime.fromisoformat(text).replace(tzinfo=UTC)
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(dt.timestamp() * 1000)


# -- property values -----------------------------------------------------------------------
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
NUMBER = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


@dataclass
class Problem:
    """One invalid property value, in HubSpot's two reporting shapes."""

    name: str
    code: str
    message: str

    def validation_result(self) -> dict[str, Any]:
        return {
            "isValid": False,
            "message": self.message,
            "error": self.code,
            "name": self.name,
            "localizedErrorMessage": self.message,
            "portalId": PORTAL_ID,
        }

    def detail(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code, "context": {"propertyName": [self.name]}}


def problems_message(problems: list[Problem]) -> str:
    return "Property values were not valid: " + json.dumps(
        [p.validation_result() for p in problems], separators=(",", ":")
    )


def as_text(value: Any) -> str | None:
    """A JSON property value as HubSpot stores it (a string); None or "" clears it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def normalise_value(otype: str, definition: dict[str, Any], raw: Any) -> tuple[str | None, Problem | None]:
    """Check one value against its property definition; return (stored text or "" to clear, problem)."""
    name = definition["name"]
    text = as_text(raw)
    if text is None or text == "":
        return "", None  # "" clears the value
    if definition.get("modificationMetadata", {}).get("readOnlyValue"):
        return None, Problem(name, "READ_ONLY_VALUE", f'Property "{name}" is read-only and cannot be written')
    kind = definition["type"]
    if otype == "contacts" and name == "email":
        if not EMAIL.match(text.strip()):
            return None, Problem(name, "INVALID_EMAIL", f"Email address {text} is invalid")
        return text.strip(), None
    if kind == "number":
        if not NUMBER.match(text.strip()):
            return None, Problem(name, "INVALID_INTEGER", f"{text} was not a valid number.")
        return text.strip(), None
    if kind in ("enumeration", "bool"):
        allowed = [o["value"] for o in definition.get("options") or []]
        if kind == "bool" and not allowed:
            allowed = ["true", "false"]
        parts = text.split(";") if definition.get("fieldType") == "checkbox" else [text]
        for part in parts:
            if part not in allowed or part != part.strip():
                listing = ", ".join(allowed)
                return None, Problem(name, "INVALID_OPTION", f"{part} was not one of the allowed options: [{listing}]")
        return text, None
    if kind in ("date", "datetime"):
        ms = parse_instant(text)
        if ms is None:
            return None, Problem(
                name, "INVALID_DATE", f"{text} is not a valid date: use epoch milliseconds or ISO-8601"
            )
        if kind == "date":
            rem = ms % 86_400_000
            if rem:
                h, m, s, frac = rem // 3_600_000, rem // 60_000 % 60, rem // 1000 % 60, rem % 1000
                return None, Problem(name, "INVALID_DATE", f"{text} is at {h}:{m}:{s}.{frac} UTC, not midnight!")
            return iso_ms(ms)[:10], None
        return iso_ms(ms), None
    return text, None
