"""What the Salesforce sandbox knows about its objects: fields, describe payloads, record ids, value rules.

The standard fields of ``Lead``, ``Contact`` and ``Account`` follow a Developer Edition org's
describe (names, labels, types, lengths, picklists, which fields are required, createable or
updateable). Custom fields are added at run time through the Tooling API and live in the
sandbox's SQLite file; :func:`custom_field_def` turns their stored metadata into a field here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# -- record ids ------------------------------------------------------------------------------

KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Lead": "00Q",
    "Organization": "00D",
    "PermissionSet": "0PS",
    "FieldPermissions": "01k",
    "PermissionSetAssignment": "0Pa",
    "CustomField": "00N",
    "QueryLocator": "01g",
    "Job": "750",
}
PREFIX_TO_TYPE = {v: k for k, v in KEY_PREFIXES.items()}

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
# "8d" plays the part of the pod / instance characters, "0" the reserved one.
_POD = "8d0"


def _suffix(id15: str) -> str:
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX_CHARS[bits])
    return "".join(out)


def make_id(prefix: str, n: int) -> str:
    """The 18-character id number ``n`` of the object with key prefix ``prefix``."""
    digits = []
    for _ in range(9):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    id15 = prefix + _POD + "".join(reversed(digits))
    return id15 + _suffix(id15)


def normalize_id(value: Any) -> str | None:
    """The canonical 18-character form of a 15- or 18-character id, or None if it is not one."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    id15 = value[:15]
    full = id15 + _suffix(id15)
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def id_type(value: str) -> str | None:
    return PREFIX_TO_TYPE.get(value[:3])


ORG_ID = make_id("00D", 1)
USER_ID = make_id("005", 1)
USER_RECORD = {
    "Id": USER_ID,
    "Name": "Integration User",
    "Username": "integration@sandbox.example",
    "Email": "integration@sandbox.example",
    "IsActive": True,
}

# -- values ----------------------------------------------------------------------------------


def now_iso() -> str:
    return format_datetime(dt.datetime.now(dt.timezone.utc))


def format_datetime(value: dt.datetime) -> str:
    value = value.astimezone(dt.timezone.utc)
    # isoformat pads the year to four digits (strftime("%Y") writes year 1 as "1").
    return value.replace(tzinfo=None, microsecond=0).isoformat() + f".{value.microsecond // 1000:03d}+0000"


_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_datetime(text: str) -> str | None:
    """ISO 8601 text -> the canonical ``2024-01-31T12:00:00.000+0000`` form, or None."""
    m = _DATETIME_RE.match(text.strip())
    if not m:
        m2 = _DATE_RE.match(text.strip())
        if not m2:
            return None
        try:
            day = dt.date(int(m2[1]), int(m2[2]), int(m2[3]))
        except ValueError:
            return None
        return format_datetime(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc))
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        tzinfo = dt.timezone.utc
        if tz and tz != "Z":
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            tzinfo = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        micro = int((frac or "0")[:6].ljust(6, "0"))
        value = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro, tzinfo=tzinfo)
    except ValueError:
        return None
    return format_datetime(value)


def parse_date(text: str) -> str | None:
    m = _DATE_RE.match(text.strip())
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None


# Salesforce accepts a broad set of addresses; this is the usual RFC 5322 "dot-atom" subset.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)

STRING_TYPES = {"string", "email", "phone", "url", "textarea", "picklist", "combobox", "encryptedstring"}
ID_TYPES = {"id", "reference"}
NUMBER_TYPES = {"int", "double", "currency", "percent"}


class JsonTypeError(ValueError):
    """A JSON value that Salesforce's deserializer would reject (the whole request fails)."""


class ValueTypeError(ValueError):
    """A CSV (Bulk API) value of the wrong type: fails that row only."""


# -- fields ----------------------------------------------------------------------------------


@dataclass
class FieldDef:
    name: str
    label: str
    type: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    defaulted_on_create: bool = False
    default_value: Any = None
    restricted_picklist: bool = False
    picklist: tuple[str, ...] = ()
    picklist_default: str | None = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    id_lookup: bool = False
    name_field: bool = False
    calculated: bool = False
    filterable: bool = True
    sortable: bool = True
    html_formatted: bool = False
    visible_lines: int | None = None
    custom_field_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        """Must have a value after a write (describe: not nillable, createable, not defaulted)."""
        return not self.nillable and self.createable and not self.defaulted_on_create and self.type != "boolean"

    @property
    def indexed(self) -> bool:
        """Looked up through the sandbox's key index (upserts, unique checks, SOQL filters)."""
        if self.external_id or self.unique or (self.id_lookup and self.name != "Id"):
            return True
        return self.type == "reference" and self.createable and "User" not in self.reference_to

    def soap_type(self) -> str:
        return {
            "id": "tns:ID",
            "reference": "tns:ID",
            "boolean": "xsd:boolean",
            "int": "xsd:int",
            "double": "xsd:double",
            "currency": "xsd:double",
            "percent": "xsd:double",
            "date": "xsd:date",
            "datetime": "xsd:dateTime",
        }.get(self.type, "xsd:string")

    def describe(self) -> dict[str, Any]:
        is_text = self.type in STRING_TYPES or self.type in ID_TYPES
        picklist_values = [
            {
                "active": True,
                "defaultValue": value == self.picklist_default,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in self.picklist
        ]
        return {
            "aggregatable": self.type not in {"textarea"} or self.length <= 255,
            "aiPredictionField": False,
            "autoNumber": False,
            "byteLength": self.length * 3 if is_text else 0,
            "calculated": self.calculated,
            "calculatedFormula": None,
            "cascadeDelete": False,
            "caseSensitive": self.case_sensitive,
            "compoundFieldName": None,
            "controllerName": None,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value if self.type == "boolean" else None,
            "defaultValueFormula": None,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": self.digits,
            "displayLocationInDecimal": False,
            "encrypted": False,
            "externalId": self.external_id,
            "extraTypeInfo": self.extra.get("extraTypeInfo"),
            "filterable": self.filterable,
            "filteredLookupInfo": None,
            "formulaTreatNullNumberAsZero": False,
            "groupable": self.type not in {"textarea", "double", "currency", "percent", "datetime"},
            "highScaleNumber": False,
            "htmlFormatted": self.html_formatted,
            "idLookup": self.id_lookup,
            "inlineHelpText": None,
            "label": self.label,
            "length": self.length if is_text else 0,
            "mask": None,
            "maskType": None,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": False,
            "nillable": self.nillable,
            # Required fields cannot be given field permissions; a checkbox is never null yet can.
            "permissionable": self.custom and (self.nillable or self.type == "boolean"),
            "picklistValues": picklist_values,
            "polymorphicForeignKey": False,
            "precision": self.precision,
            "queryByDistance": False,
            "referenceTargetField": None,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "relationshipOrder": None,
            "restrictedDelete": False,
            "restrictedPicklist": self.restricted_picklist,
            "scale": self.scale,
            "searchPrefilterable": self.type == "reference",
            "soapType": self.soap_type(),
            "sortable": self.sortable,
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": False,
        }

    # -- value conversion ----------------------------------------------------------------
    def from_json(self, value: Any) -> Any:
        """A JSON request value -> the stored value; raises :class:`JsonTypeError` as the deserializer would."""
        if value is None:
            return None
        kind = self.type
        if isinstance(value, (dict, list)):
            token = "START_OBJECT" if isinstance(value, dict) else "START_ARRAY"
            raise JsonTypeError(self._deser_message(self._java_type(), token, "{" if token == "START_OBJECT" else "["))
        if kind in STRING_TYPES or kind in ID_TYPES:
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            return str(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in {"true", "false"}:
                return value.lower() == "true"
            raise JsonTypeError(self._deser_message("boolean", _json_token(value), value))
        if kind in NUMBER_TYPES:
            number = _to_number(value)
            if number is None:
                raise JsonTypeError(self._deser_message(self._java_type(), _json_token(value), value))
            if kind == "int":
                if isinstance(number, float) and not number.is_integer():
                    raise JsonTypeError(self._deser_message("int", "VALUE_NUMBER_FLOAT", value))
                return int(number)
            return float(number)
        if kind == "date":
            parsed = parse_date(value) if isinstance(value, str) else None
            if parsed is None:
                raise JsonTypeError(self._deser_message("date", _json_token(value), value))
            return parsed
        if kind == "datetime":
            parsed = parse_datetime(value) if isinstance(value, str) else None
            if parsed is None:
                raise JsonTypeError(self._deser_message("datetime", _json_token(value), value))
            return parsed
        return value

    def from_csv(self, text: str) -> Any:
        """A Bulk API CSV cell (not empty, not ``#N/A``) -> the stored value; raises :class:`ValueTypeError`."""
        kind = self.type
        if kind in STRING_TYPES or kind in ID_TYPES:
            return text
        if kind == "boolean":
            low = text.strip().lower()
            if low in {"true", "1", "yes", "y", "on"}:
                return True
            if low in {"false", "0", "no", "n", "off"}:
                return False
        elif kind in NUMBER_TYPES:
            number = _to_number(text.strip())
            if number is not None:
                if kind == "int":
                    if float(number).is_integer():
                        return int(number)
                else:
                    return float(number)
        elif kind == "date":
            parsed = parse_date(text) or (parse_datetime(text) or "")[:10] or None
            if parsed:
                return parsed
        elif kind == "datetime":
            parsed = parse_datetime(text)
            if parsed:
                return parsed
        else:
            return text
        raise ValueTypeError(f"{self.label}: value not of required type: {text}")

    def to_csv(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer() and self.type != "double":
            return str(int(value))
        return str(value)

    def normalize_number(self, value: float | int) -> float | int | None:
        """Round to the field's scale; None when outside the field's precision."""
        if self.type == "int":
            limit = 10 ** (self.digits or 9)
            return value if abs(value) < limit else None
        if not math.isfinite(value):
            return None
        if self.precision:
            try:
                q = Decimal(str(value)).quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP)
            except InvalidOperation:
                return None
            if abs(q) >= Decimal(10) ** (self.precision - self.scale):
                return None
            return float(q)
        return value

    def _java_type(self) -> str:
        return {
            "boolean": "boolean", "int": "int", "double": "double", "currency": "double", "percent": "double",
            "date": "date", "datetime": "datetime",
        }.get(self.type, "String")

    def _deser_message(self, java_type: str, token: str, value: Any) -> str:
        return (
            f"Cannot deserialize instance of {java_type} from {token} value {value} "
            "or request may be missing a required field"
        )


def _json_token(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    return "VALUE_STRING"


def _to_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
            return float(text)
    return None


# -- standard objects ------------------------------------------------------------------------

INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction",
    "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental",
    "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance", "Machinery",
    "Manufacturing", "Media", "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
    "Telecommunications", "Transportation", "Utilities", "Other",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
RATINGS = ("Hot", "Warm", "Cold")
ACCOUNT_TYPES = (
    "Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Installation Partner",
    "Technology Partner", "Other",
)


def _text(name: str, label: str, length: int, **kw: Any) -> FieldDef:
    return FieldDef(name, label, "string", length=length, **kw)


def _system_fields() -> list[FieldDef]:
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    return [
        FieldDef(
            "OwnerId", "Owner ID", "reference", length=18, nillable=False, defaulted_on_create=True,
            reference_to=("User",), relationship_name="Owner",
        ),
        FieldDef("IsDeleted", "Deleted", "boolean", nillable=False, default_value=False, **ro),
        FieldDef("CreatedDate", "Created Date", "datetime", nillable=False, defaulted_on_create=True, **ro),
        FieldDef(
            "CreatedById", "Created By ID", "reference", length=18, nillable=False, defaulted_on_create=True,
            reference_to=("User",), relationship_name="CreatedBy", **ro,
        ),
        FieldDef("LastModifiedDate", "Last Modified Date", "datetime", nillable=False, defaulted_on_create=True, **ro),
        FieldDef(
            "LastModifiedById", "Last Modified By ID", "reference", length=18, nillable=False,
            defaulted_on_create=True, reference_to=("User",), relationship_name="LastModifiedBy", **ro,
        ),
        FieldDef("SystemModstamp", "System Modstamp", "datetime", nillable=False, defaulted_on_create=True, **ro),
        FieldDef("LastActivityDate", "Last Activity", "date", **ro),
    ]


def _id_field() -> FieldDef:
    return FieldDef(
        "Id", "Lead ID", "id", length=18, nillable=False, createable=False, updateable=False,
        id_lookup=True, defaulted_on_create=True,
    )


def _picklist(name: str, label: str, values: tuple[str, ...], **kw: Any) -> FieldDef:
    return FieldDef(name, label, "picklist", length=255, picklist=values, **kw)


def _description(label: str = "Description") -> FieldDef:
    return FieldDef(
        "Description", label, "textarea", length=32000, filterable=False, sortable=False,
        extra={"extraTypeInfo": "plaintextarea"},
    )


def _lead_fields() -> list[FieldDef]:
    ident = _id_field()
    return [
        ident,
        _text("LastName", "Last Name", 80, nillable=False),
        _text("FirstName", "First Name", 40),
        _picklist("Salutation", "Salutation", SALUTATIONS),
        FieldDef(
            "Name", "Full Name", "string", length=121, nillable=False, createable=False, updateable=False,
            name_field=True, calculated=False, defaulted_on_create=True,
        ),
        _text("Title", "Title", 128),
        _text("Company", "Company", 255, nillable=False),
        FieldDef("Street", "Street", "textarea", length=255),
        _text("City", "City", 40),
        _text("State", "State/Province", 80),
        _text("PostalCode", "Zip/Postal Code", 20),
        _text("Country", "Country", 80),
        FieldDef("Phone", "Phone", "phone", length=40),
        FieldDef("MobilePhone", "Mobile Phone", "phone", length=40),
        FieldDef("Email", "Email", "email", length=80, id_lookup=True),
        FieldDef("Website", "Website", "url", length=255),
        _description(),
        _picklist("LeadSource", "Lead Source", LEAD_SOURCES),
        _picklist(
            "Status", "Status", LEAD_STATUSES, nillable=False, defaulted_on_create=True,
            restricted_picklist=True, picklist_default="Open - Not Contacted",
        ),
        _picklist("Industry", "Industry", INDUSTRIES),
        _picklist("Rating", "Rating", RATINGS),
        FieldDef("AnnualRevenue", "Annual Revenue", "currency", precision=18, scale=0),
        FieldDef("NumberOfEmployees", "Employees", "int", digits=8),
        FieldDef("HasOptedOutOfEmail", "Email Opt Out", "boolean", nillable=False, default_value=False,
                 defaulted_on_create=True),
        FieldDef("IsConverted", "Converted", "boolean", nillable=False, default_value=False,
                 defaulted_on_create=True, createable=False, updateable=False),
        FieldDef("ConvertedDate", "Converted Date", "date", createable=False, updateable=False),
        FieldDef("ConvertedAccountId", "Converted Account ID", "reference", length=18, createable=False,
                 updateable=False, reference_to=("Account",), relationship_name="ConvertedAccount"),
        FieldDef("ConvertedContactId", "Converted Contact ID", "reference", length=18, createable=False,
                 updateable=False, reference_to=("Contact",), relationship_name="ConvertedContact"),
        FieldDef("IsUnreadByOwner", "Unread By Owner", "boolean", nillable=False, default_value=False,
                 defaulted_on_create=True),
        *_system_fields(),
    ]


def _contact_fields() -> list[FieldDef]:
    ident = _id_field()
    ident.label = "Contact ID"
    return [
        ident,
        FieldDef("AccountId", "Account ID", "reference", length=18, reference_to=("Account",),
                 relationship_name="Account"),
        _text("LastName", "Last Name", 80, nillable=False),
        _text("FirstName", "First Name", 40),
        _picklist("Salutation", "Salutation", SALUTATIONS),
        FieldDef("Name", "Full Name", "string", length=121, nillable=False, createable=False, updateable=False,
                 name_field=True, defaulted_on_create=True),
        FieldDef("MailingStreet", "Mailing Street", "textarea", length=255),
        _text("MailingCity", "Mailing City", 40),
        _text("MailingState", "Mailing State/Province", 80),
        _text("MailingPostalCode", "Mailing Zip/Postal Code", 20),
        _text("MailingCountry", "Mailing Country", 80),
        FieldDef("Phone", "Business Phone", "phone", length=40),
        FieldDef("MobilePhone", "Mobile Phone", "phone", length=40),
        FieldDef("Email", "Email", "email", length=80, id_lookup=True),
        _text("Title", "Title", 128),
        _text("Department", "Department", 80),
        _picklist("LeadSource", "Lead Source", LEAD_SOURCES),
        FieldDef("Birthdate", "Birthdate", "date"),
        _description(),
        FieldDef("HasOptedOutOfEmail", "Email Opt Out", "boolean", nillable=False, default_value=False,
                 defaulted_on_create=True),
        *_system_fields(),
    ]


def _account_fields() -> list[FieldDef]:
    ident = _id_field()
    ident.label = "Account ID"
    return [
        ident,
        _text("Name", "Account Name", 255, nillable=False, name_field=True),
        _picklist("Type", "Account Type", ACCOUNT_TYPES),
        FieldDef("ParentId", "Parent Account ID", "reference", length=18, reference_to=("Account",),
                 relationship_name="Parent"),
        FieldDef("BillingStreet", "Billing Street", "textarea", length=255),
        _text("BillingCity", "Billing City", 40),
        _text("BillingState", "Billing State/Province", 80),
        _text("BillingPostalCode", "Billing Zip/Postal Code", 20),
        _text("BillingCountry", "Billing Country", 80),
        FieldDef("Phone", "Account Phone", "phone", length=40),
        FieldDef("Website", "Website", "url", length=255),
        _picklist("Industry", "Industry", INDUSTRIES),
        FieldDef("AnnualRevenue", "Annual Revenue", "currency", precision=18, scale=0),
        FieldDef("NumberOfEmployees", "Employees", "int", digits=8),
        _picklist("AccountSource", "Account Source", LEAD_SOURCES),
        _picklist("Rating", "Account Rating", RATINGS),
        _description("Account Description"),
        *_system_fields(),
    ]


@dataclass
class ObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    standard_fields: list[FieldDef]

    def url(self, version: str, suffix: str = "") -> str:
        return f"/services/data/v{version}/sobjects/{self.name}{suffix}"

    def global_entry(self, version: str) -> dict[str, Any]:
        return {
            "activateable": False,
            "associateEntityType": None,
            "associateParentEntity": None,
            "createable": True,
            "custom": False,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": True,
            "deprecatedAndHidden": False,
            "feedEnabled": True,
            "hasSubtypes": False,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": True,
            "mergeable": True,
            "mruEnabled": True,
            "name": self.name,
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": True,
            "triggerable": True,
            "undeletable": True,
            "updateable": True,
            "urls": {
                "compactLayouts": self.url(version, "/describe/compactLayouts"),
                "rowTemplate": self.url(version, "/{ID}"),
                "approvalLayouts": self.url(version, "/describe/approvalLayouts"),
                "defaultValues": self.url(version, "/defaultValues?recordTypeId&fields"),
                "describe": self.url(version, "/describe"),
                "quickActions": self.url(version, "/quickActions"),
                "layouts": self.url(version, "/describe/layouts"),
                "sobject": self.url(version),
            },
        }

    def describe(self, version: str, fields: list[FieldDef]) -> dict[str, Any]:
        entry = self.global_entry(version)
        child = []
        if self.name == "Account":
            child.append({
                "cascadeDelete": True, "childSObject": "Contact", "deprecatedAndHidden": False,
                "field": "AccountId", "junctionIdListNames": [], "junctionReferenceTo": [],
                "relationshipName": "Contacts", "restrictedDelete": False,
            })
        entry.update({
            "actionOverrides": [],
            "childRelationships": child,
            "compactLayoutable": True,
            "defaultImplementation": None,
            "extendedBy": None,
            "extendsInterfaces": None,
            "fields": [f.describe() for f in fields],
            "implementedBy": None,
            "implementsInterfaces": None,
            "listviewable": None,
            "lookupLayoutable": None,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [{
                "active": True, "available": True, "defaultRecordTypeMapping": True, "developerName": "Master",
                "master": True, "name": "Master", "recordTypeId": "012000000000000AAA",
                "urls": {"layout": self.url(version, "/describe/layouts/012000000000000AAA")},
            }],
            "searchLayoutable": True,
            "sobjectDescribeOption": "FULL",
            "supportedScopes": [
                {"label": "All leads" if self.name == "Lead" else f"All {self.label_plural.lower()}",
                 "name": "everything"},
                {"label": f"My {self.label_plural.lower()}", "name": "mine"},
            ],
        })
        return entry


OBJECTS: dict[str, ObjectDef] = {
    "Account": ObjectDef("Account", "Account", "Accounts", "001", _account_fields()),
    "Contact": ObjectDef("Contact", "Contact", "Contacts", "003", _contact_fields()),
    "Lead": ObjectDef("Lead", "Lead", "Leads", "00Q", _lead_fields()),
}


def object_named(name: str) -> ObjectDef | None:
    for obj in OBJECTS.values():
        if obj.name.lower() == name.lower():
            return obj
    return None


# -- custom fields (Tooling API) -------------------------------------------------------------

CUSTOM_TYPES = {
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Number": "double",
    "Checkbox": "boolean",
    "Date": "date",
    "DateTime": "datetime",
    "Email": "email",
    "Url": "url",
    "Phone": "phone",
}
DEVELOPER_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")


class MetadataError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_custom_field_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """Validate Tooling ``Metadata`` for a new CustomField; returns it completed with defaults."""
    kind = meta.get("type")
    if kind not in CUSTOM_TYPES:
        raise MetadataError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"Invalid or unsupported field type: {kind!r} (the sandbox emulates {', '.join(sorted(CUSTOM_TYPES))})",
        )
    label = meta.get("label")
    if not isinstance(label, str) or not label.strip():
        raise MetadataError("REQUIRED_FIELD_MISSING", "Required field is missing: label")
    if len(label) > 40:
        raise MetadataError("STRING_TOO_LONG", "Field Label: data value too large (max length=40)")
    out = {
        "label": label, "type": kind, "description": meta.get("description"),
        "inlineHelpText": meta.get("inlineHelpText"), "required": bool(meta.get("required") or False),
        "externalId": bool(meta.get("externalId") or False), "unique": meta.get("unique"),
        "caseSensitive": meta.get("caseSensitive"), "length": None, "precision": None, "scale": None,
        "visibleLines": None, "defaultValue": meta.get("defaultValue"),
    }

    def need_int(key: str, lo: int, hi: int) -> int:
        value = meta.get(key)
        if value is None:
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION", f"Must specify '{key}' for a CustomField of type {kind}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION", f"'{key}' must be a whole number")
        if not lo <= int(value) <= hi:
            raise MetadataError(
                "FIELD_INTEGRITY_EXCEPTION", f"{key.capitalize()}: value must be between {lo} and {hi}"
            )
        return int(value)

    if kind == "Text":
        out["length"] = need_int("length", 1, 255)
    elif kind == "TextArea":
        out["length"] = 255
    elif kind == "LongTextArea":
        out["length"] = need_int("length", 256, 131072)
        out["visibleLines"] = need_int("visibleLines", 2, 50)
    elif kind == "Number":
        out["precision"] = need_int("precision", 1, 18)
        scale = meta.get("scale", 0)
        if scale is None:
            scale = 0
        if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= out["precision"]:
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION", "Scale: value must be between 0 and the precision")
        out["scale"] = scale
    elif kind == "Checkbox":
        default = meta.get("defaultValue")
        if default is None:
            raise MetadataError(
                "FIELD_INTEGRITY_EXCEPTION", "Must specify 'defaultValue' for a CustomField of type Checkbox"
            )
        if str(default).lower() not in {"true", "false"}:
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION", "Checkbox defaultValue must be true or false")
        out["defaultValue"] = str(default).lower()
    if out["externalId"] and kind not in {"Text", "Number", "Email"}:
        raise MetadataError(
            "FIELD_INTEGRITY_EXCEPTION", f"External ID is only available for Text, Number and Email fields, not {kind}"
        )
    if out["unique"] and kind not in {"Text", "Number", "Email"}:
        raise MetadataError(
            "FIELD_INTEGRITY_EXCEPTION", f"Unique is only available for Text, Number and Email fields, not {kind}"
        )
    out["unique"] = bool(out["unique"] or False)
    out["caseSensitive"] = bool(out["caseSensitive"] or False) if out["unique"] else False
    return out


def custom_field_def(field_id: str, api_name: str, meta: dict[str, Any]) -> FieldDef:
    kind = meta["type"]
    sf_type = CUSTOM_TYPES[kind]
    f = FieldDef(
        api_name, meta["label"], sf_type, custom=True, custom_field_id=field_id,
        external_id=bool(meta.get("externalId")), unique=bool(meta.get("unique")),
        case_sensitive=bool(meta.get("caseSensitive")), id_lookup=bool(meta.get("externalId") or meta.get("unique")),
        nillable=True,
    )
    if kind == "Text":
        f.length = int(meta["length"])
    elif kind == "TextArea":
        f.length = 255
    elif kind == "LongTextArea":
        f.length = int(meta["length"])
        f.filterable = f.sortable = False
        f.visible_lines = meta.get("visibleLines")
        f.extra["extraTypeInfo"] = "plaintextarea"
    elif kind == "Number":
        f.precision, f.scale = int(meta["precision"]), int(meta.get("scale") or 0)
    elif kind == "Checkbox":
        f.nillable = False
        f.defaulted_on_create = True
        f.default_value = str(meta.get("defaultValue")).lower() == "true"
    elif kind == "Email":
        f.length = 80
    elif kind == "Url":
        f.length = 255
    elif kind == "Phone":
        f.length = 40
    return f
