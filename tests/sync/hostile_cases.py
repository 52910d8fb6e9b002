"""The hostile rows of ``test_hostile_inputs``: one person model and one company model holding every
case, the same for both CRMs, so one run per CRM proves every case's outcome at once.

Each :class:`Case` names the sync-log outcome it must get (per CRM where the CRMs differ) and the
values the CRM must hold afterwards, read back through the SDK.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from tests.sync.frames import COMPANY_TYPES, PERSON_TYPES, company, person

CRMS = ("salesforce", "hubspot")
Outcome = tuple[str, str, str | None]  # action, status, reason

CREATED: Outcome = ("create", "succeeded", None)
UPDATED: Outcome = ("update", "succeeded", None)
MISSING_KEY: Outcome = ("failed", "failed", "missing_key")
DUPLICATE_KEY: Outcome = ("skipped", "skipped", "duplicate_key")
INVALID_EMAIL: Outcome = ("failed", "failed", "invalid_email")

LONG = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 200)[:10_000]
RTL = "\u0645\u062d\u0645\u062f \u0627\u0644\u0639\u0644\u064a"  # Arabic: right to left
YEAR_1 = dt.datetime(1, 1, 1)
YEAR_9999 = dt.datetime(9999, 12, 31, 23, 59, 59)
INJECTION = "Back\\slash'); DROP TABLE Lead;--"
#: A valid address longer than Salesforce's Email field (80): never trimmed, it would be another address.
LONG_EMAIL = "l" * 60 + "@sales.emea.subsidiary.acme.io"
NAIVE = dt.datetime(2026, 3, 29, 1, 30)  # no time zone: the warehouse's datetimes are UTC
#: HubSpot's company industry is an enumeration; Salesforce's Account.Industry is an open picklist.
INDUSTRY = "COMPUTER_SOFTWARE"

#: The contract's columns, with a few numbers as doubles: a model computing them may hold NaN.
PERSON_MODEL = pl.Schema({**PERSON_TYPES, "company_employee_count": pl.Float64(), "session_count": pl.Float64()})
COMPANY_MODEL = pl.Schema({**COMPANY_TYPES, "employee_count": pl.Float64(), "annual_revenue": pl.Float64()})

#: 200 good people around one bad one, all new: they share the CRM's create batches.
BATCH = [f"b{i:03d}@batch.io" for i in range(200)]
#: Passes our e-mail check, and each CRM refuses it: Salesforce its length (Lead.Email holds 80),
#: HubSpot the digit in its top-level domain.
BAD_IN_BATCH = "l" * 60 + "@refused.by.both.batch.c0m"
BAD_AT = 117


def crm_value(expected: Any) -> Callable[[Any], bool]:
    """A check that a CRM value equals ``expected``, however the CRM types it (``5``, ``5.0``, ``"5"``)."""
    def same(actual: Any) -> bool:
        def norm(v: Any) -> Any:
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            return None if v is None or v == "" else str(v)
        return norm(actual) == norm(expected)
    same.__doc__ = repr(expected)
    return same


def starts(prefix: str) -> Callable[[Any], bool]:
    def check(actual: Any) -> bool:
        return isinstance(actual, str) and actual.startswith(prefix)
    check.__doc__ = f"starts with {prefix!r}"
    return check


@dataclass(frozen=True)
class Case:
    """One hostile row: the outcome it must get and what the CRM must hold for it afterwards."""

    id: str
    entity: str  # person | company
    row: dict[str, Any]
    key: str | None  # the sync-log key; None: a row without one, keyed "(row N: …)" (see ``missing``)
    outcome: Outcome | dict[str, Outcome]  # the same on both CRMs, or per CRM
    note: str | None | dict[str, str | None] = None  # the sync-log message of a written record
    crm: dict[str, dict[str, Any]] = field(default_factory=dict)  # CRM -> field -> value (or a check)
    missing: str | None = None  # "email is null": what a row without a key is logged as

    def expected(self, crm: str) -> Outcome:
        return self.outcome[crm] if isinstance(self.outcome, dict) else self.outcome

    def expected_note(self, crm: str) -> str | None:
        return self.note.get(crm) if isinstance(self.note, dict) else self.note


def _p(id_: str, email: str | None, outcome: Outcome | dict[str, Outcome], *, note: Any = None,
       crm: dict[str, dict[str, Any]] | None = None, missing: str | None = None, domain: str | None = "acme.io",
       **over: Any) -> Case:
    # A synced row is logged under its key; a duplicate under its own spelling (trimmed).
    key = None if missing else (email or "").strip() if outcome == DUPLICATE_KEY else (email or "").strip().lower()
    return Case(id_, "person", person(email, domain, **over), key, outcome, note, crm or {}, missing)


def _c(id_: str, domain: str | None, key: str | None, outcome: Outcome | dict[str, Outcome], *, note: Any = None,
       crm: dict[str, dict[str, Any]] | None = None, missing: str | None = None, **over: Any) -> Case:
    row = company(domain, **{"industry": INDUSTRY, **over})
    return Case(id_, "company", row, key, outcome, note, crm or {}, missing)


def both(**fields: Any) -> dict[str, dict[str, Any]]:
    """The same expected values on both CRMs, given as ``salesforce_field=(sf_name, hs_name, value)``."""
    out: dict[str, dict[str, Any]] = {"salesforce": {}, "hubspot": {}}
    for sf_name, hs_name, value in fields.values():
        if sf_name:
            out["salesforce"][sf_name] = value
        if hs_name:
            out["hubspot"][hs_name] = value
    return out


def _names(first: str | None, last: str | None) -> dict[str, dict[str, Any]]:
    return both(f=("FirstName", "firstname", first), l=("LastName", "lastname", last))


PERSON_CASES: list[Case] = [
    # -- quotes and SOQL metacharacters ---------------------------------------------------------
    _p("email-apostrophe", "o'brien@acme.io", CREATED, first_name="D'Arcy", last_name="O'Brien",
       crm=_names("D'Arcy", "O'Brien")),
    _p("email-soql-injection", "x'or'1'='1@acme.io", CREATED, crm=_names("X'Or'1'='1", "Example")),
    _p("email-percent", "100%real@acme.io", CREATED),
    _p("email-underscore", "x_y@acme.io", CREATED),
    _p("email-backslash", "back\\slash@acme.io", INVALID_EMAIL),
    _p("name-backslash-and-quotes", "quotes@acme.io", CREATED, first_name='Dwayne "The Rock"',
       last_name=INJECTION, crm=_names('Dwayne "The Rock"', INJECTION)),
    _p("title-like-wildcards", "wild@acme.io", CREATED, title="100% _the_ %best%",
       crm=both(t=("Title", "jobtitle", "100% _the_ %best%"))),
    # -- unicode, right to left, zero width, NUL, CR/LF -------------------------------------------
    _p("name-unicode", "uni@acme.io", CREATED, first_name="Zoë", last_name="Ångström-Øre",
       crm=_names("Zoë", "Ångström-Øre")),
    _p("name-rtl", "rtl@acme.io", CREATED, first_name=RTL, last_name="\u202eevil\u202c",
       crm=_names(RTL, "\u202eevil\u202c")),
    _p("name-zero-width", "zw@acme.io", CREATED, first_name="Ann\u200bLee", last_name="\ufeffBom",
       crm=_names("Ann\u200bLee", "\ufeffBom")),
    _p("name-emoji", "emoji@acme.io", CREATED, first_name="🚀 Rocket", crm=_names("🚀 Rocket", "Example")),
    _p("text-nul", "nul@acme.io", CREATED, first_name="Nul\x00Name", title="VP\x00Sales",
       crm=both(f=("FirstName", "firstname", "Nul\x00Name"), t=("Title", "jobtitle", "VP\x00Sales"))),
    _p("text-crlf", "crlf@acme.io", CREATED, title="VP\r\nSales", last_name="Line\nBreak",
       crm=both(t=("Title", "jobtitle", "VP\r\nSales"), l=("LastName", "lastname", "Line\nBreak"))),
    _p("text-surrounding-space", "space@acme.io", CREATED, title="  CMO \t",
       crm=both(t=("Title", "jobtitle", "CMO"))),
    # -- 10,000 characters ------------------------------------------------------------------------
    _p("text-10000-chars", "long@acme.io", CREATED, title=LONG, last_name=LONG, top_pages=LONG,
       note={"salesforce": "truncated:LastName; truncated:Title; truncated:Warmly_Top_Pages__c", "hubspot": None},
       crm={"salesforce": {"Title": LONG[:128], "LastName": LONG[:80], "Warmly_Top_Pages__c": LONG[:255]},
            "hubspot": {"jobtitle": LONG, "lastname": LONG, "warmly_top_pages": LONG}}),
    # -- invalid and near-valid e-mails -------------------------------------------------------------
    _p("email-no-at", "no-at.acme.io", INVALID_EMAIL),
    _p("email-two-ats", "two@@acme.io", INVALID_EMAIL),
    _p("email-at-in-local", "a@b@acme.io", INVALID_EMAIL),
    _p("email-trailing-dot", "dot@acme.io.", INVALID_EMAIL),
    _p("email-space-inside", "sp ace@acme.io", INVALID_EMAIL),
    _p("email-unicode-local", "ünïcode@acme.io", INVALID_EMAIL),
    _p("email-idn-domain", "idn@bücher.de", INVALID_EMAIL),
    _p("email-no-tld", "nobody@localhost", INVALID_EMAIL),
    _p("email-leading-dot", ".lead@acme.io", INVALID_EMAIL),
    _p("email-double-dot", "dd..dots@acme.io", INVALID_EMAIL),
    _p("email-dot-before-at", "dot.@acme.io", INVALID_EMAIL),
    _p("email-local-part-over-64", "x" * 65 + "@acme.io", INVALID_EMAIL),
    _p("email-longer-than-the-field", LONG_EMAIL,
       {"salesforce": ("create", "failed", "STRING_TOO_LONG"), "hubspot": CREATED},
       crm={"hubspot": {"email": LONG_EMAIL}}),
    _p("email-digit-tld", "tld@acme.c0m", {"salesforce": CREATED, "hubspot": ("create", "failed", "INVALID_EMAIL")}),
    # -- case and space variants, duplicate keys in one batch ------------------------------------------
    _p("email-case-and-space", " Case@Acme.IO ", CREATED, title="Kept"),
    _p("email-case-duplicate", "CASE@ACME.IO", DUPLICATE_KEY, title="Dropped"),
    _p("email-exact-duplicate-first", "dup@acme.io", CREATED, title="First",
       crm=both(t=("Title", "jobtitle", "First"))),
    _p("email-exact-duplicate-second", "dup@acme.io", DUPLICATE_KEY, title="Second"),
    # -- nulls in the key and in required columns ----------------------------------------------------
    _p("email-null", None, MISSING_KEY, missing="email is null"),
    _p("email-empty", "", MISSING_KEY, missing="email is blank"),
    _p("email-whitespace", " \t\r\n", MISSING_KEY, missing="email is blank"),
    _p("names-and-company-null", "nameless@acme.io", CREATED, first_name=None, last_name=None, company_name=None,
       crm={"salesforce": {"LastName": "[not provided]", "Company": "[not provided]", "FirstName": None},
            "hubspot": {"lastname": None, "firstname": None}}),
    # -- out-of-range numbers and dates ---------------------------------------------------------------
    _p("number-huge", "huge@acme.io", CREATED, company_employee_count=10**12, session_count=2**62,
       note={"salesforce": "out_of_range:NumberOfEmployees; out_of_range:Warmly_Session_Count__c", "hubspot": None},
       crm={"salesforce": {"NumberOfEmployees": None, "Warmly_Session_Count__c": None, "Title": "VP Sales"},
            "hubspot": {"warmly_session_count": 2**62}}),
    _p("number-negative", "neg@acme.io", CREATED, company_employee_count=-5, session_count=-3,
       crm={"salesforce": {"NumberOfEmployees": -5, "Warmly_Session_Count__c": -3},
            "hubspot": {"warmly_session_count": -3}}),
    _p("number-nan-and-infinity", "nan@acme.io", CREATED, company_employee_count=math.nan, session_count=math.inf,
       note={"salesforce": "not_a_number:NumberOfEmployees; not_a_number:Warmly_Session_Count__c",
             "hubspot": "not_a_number:warmly_session_count"},
       crm={"salesforce": {"NumberOfEmployees": None, "Warmly_Session_Count__c": None, "Title": "VP Sales"},
            "hubspot": {"warmly_session_count": None, "jobtitle": "VP Sales"}}),
    _p("date-year-1", "y1@acme.io", CREATED, first_seen_at=YEAR_1, last_seen_at=YEAR_1,
       note={"salesforce": "out_of_range:Warmly_First_Seen__c; out_of_range:Warmly_Last_Seen__c", "hubspot": None},
       crm={"salesforce": {"Warmly_First_Seen__c": None, "Title": "VP Sales"},
            "hubspot": {"warmly_first_seen": starts("0001-01-01T00:00:00")}}),
    _p("date-year-9999", "y9999@acme.io", CREATED, first_seen_at=YEAR_9999, last_seen_at=YEAR_9999,
       note={"salesforce": "out_of_range:Warmly_First_Seen__c; out_of_range:Warmly_Last_Seen__c", "hubspot": None},
       crm={"salesforce": {"Warmly_Last_Seen__c": None},
            "hubspot": {"warmly_last_seen": starts("9999-12-31T23:59:59")}}),
    _p("date-timezone-naive", "naive@acme.io", CREATED, last_seen_at=NAIVE,
       crm={"salesforce": {"Warmly_Last_Seen__c": starts("2026-03-29T01:30:00")},
            "hubspot": {"warmly_last_seen": starts("2026-03-29T01:30:00")}}),
    # -- picklist misses (Salesforce: Lead.Status, restricted, mapped from intent_signal) -----------------
    _p("picklist-miss", "hot@acme.io", CREATED, intent_signal="Hot", title="CMO",
       note={"salesforce": "invalid_option:Status", "hubspot": None},
       crm={"salesforce": {"Status": "Open - Not Contacted", "Title": "CMO"}, "hubspot": {"jobtitle": "CMO"}}),
    _p("picklist-hit", "working@acme.io", CREATED, intent_signal="Working - Contacted",
       crm={"salesforce": {"Status": "Working - Contacted"}}),
    # -- the company a person links to, spelled another way ---------------------------------------------
    _p("company-domain-spelling", "www@acme.io", CREATED, domain="https://WWW.Acme.io:443/about?x=1",
       crm={"salesforce": {"Website": "acme.io"}, "hubspot": {"website": "acme.io"}}),
    _p("company-domain-not-a-host", "nohost@acme.io", CREATED, domain="back\\slash.io", company_name="Back",
       crm={"salesforce": {"Website": None, "Company": "Back"}, "hubspot": {"website": None, "company": "Back"}}),
]

COMPANY_CASES: list[Case] = [
    _c("domain-plain", "acme.io", "acme.io", CREATED, name="Acme", crm=both(n=("Name", "name", "Acme"))),
    # -- spellings of one domain: one company --------------------------------------------------------
    _c("domain-first-spelling", "spell.io", "spell.io", CREATED),
    _c("domain-scheme-www-path-query", "https://www.Spell.io/about?x=1", "https://www.Spell.io/about?x=1",
       DUPLICATE_KEY),
    _c("domain-case-trailing-dot", "SPELL.IO.", "SPELL.IO.", DUPLICATE_KEY),
    _c("domain-port", "spell.io:8080", "spell.io:8080", DUPLICATE_KEY),
    _c("domain-userinfo-fragment", "http://me@spell.io/#x", "http://me@spell.io/#x", DUPLICATE_KEY),
    _c("domain-idn-punycode", "https://www.Bücher.de/", "xn--bcher-kva.de", CREATED,
       crm={"salesforce": {"Website": "xn--bcher-kva.de"}, "hubspot": {"domain": "xn--bcher-kva.de"}}),
    _c("domain-rep-typed-url", "repmatch.io", "repmatch.io", UPDATED,
       crm={"salesforce": {"Website": "https://www.repmatch.io/path", "Name": "RepMatch"},
            "hubspot": {"domain": "https://www.repmatch.io/path", "name": "RepMatch"}}),
    # -- quotes and LIKE metacharacters ------------------------------------------------------------
    _c("domain-apostrophe", "o'brien.com", "o'brien.com", CREATED),
    _c("domain-percent", "100%.io", "100%.io", CREATED),
    _c("domain-underscore", "a_b.io", "a_b.io", CREATED),
    # -- not a host name: no company is made of it ------------------------------------------------------
    _c("domain-backslash", "back\\slash.io", None, MISSING_KEY, missing="domain is not a host name"),
    _c("domain-space-inside", "acme corp.com", None, MISSING_KEY, missing="domain is not a host name"),
    _c("domain-single-label", "localhost", None, MISSING_KEY, missing="domain is not a host name"),
    _c("domain-idna-refused", "bücher" + "x" * 70 + ".de", None, MISSING_KEY, missing="domain is not a host name"),
    _c("domain-label-over-63", "x" * 64 + ".io", None, MISSING_KEY, missing="domain is not a host name"),
    _c("domain-over-253", ("a" * 60 + ".") * 5 + "io", None, MISSING_KEY, missing="domain is not a host name"),
    _c("domain-null", None, None, MISSING_KEY, missing="domain is null"),
    _c("domain-blank", "  ", None, MISSING_KEY, missing="domain is blank"),
    _c("domain-scheme-only", "https://", None, MISSING_KEY, missing="domain has no host"),
    # -- names and text ----------------------------------------------------------------------------
    _c("company-name-unicode-rtl-zero-width", "uni.io", "uni.io", CREATED, name=f"Ångström {RTL}\u200b",
       crm=both(n=("Name", "name", f"Ångström {RTL}\u200b"))),
    _c("company-name-nul-crlf", "nul.io", "nul.io", CREATED, name="Nul\x00Co\r\nLtd",
       crm=both(n=("Name", "name", "Nul\x00Co\r\nLtd"))),
    _c("company-name-10000-chars", "long.io", "long.io", CREATED, name=LONG,
       note={"salesforce": "truncated:Name", "hubspot": None},
       crm={"salesforce": {"Name": LONG[:255]}, "hubspot": {"name": LONG}}),
    _c("company-name-null", "noname.io", "noname.io", CREATED, name=None,
       crm=both(n=("Name", "name", "noname.io"))),
    # -- numbers, dates and the industry picklist -----------------------------------------------------
    _c("company-number-huge", "huge.io", "huge.io", CREATED, employee_count=10**12, annual_revenue=10**18,
       note={"salesforce": "out_of_range:NumberOfEmployees; out_of_range:AnnualRevenue", "hubspot": None},
       crm={"salesforce": {"NumberOfEmployees": None, "AnnualRevenue": None},
            "hubspot": {"numberofemployees": 10**12, "annualrevenue": 10**18}}),
    _c("company-number-negative", "neg.io", "neg.io", CREATED, employee_count=-1, annual_revenue=-5,
       crm=both(e=("NumberOfEmployees", "numberofemployees", -1), r=("AnnualRevenue", "annualrevenue", -5))),
    _c("company-number-nan-and-infinity", "nan.io", "nan.io", CREATED, employee_count=math.nan,
       annual_revenue=-math.inf,
       note={"salesforce": "not_a_number:NumberOfEmployees; not_a_number:AnnualRevenue",
             "hubspot": "not_a_number:numberofemployees; not_a_number:annualrevenue"},
       crm={"salesforce": {"NumberOfEmployees": None, "AnnualRevenue": None},
            "hubspot": {"numberofemployees": None, "annualrevenue": None}}),
    _c("company-revenue-with-cents", "cents.io", "cents.io", CREATED, annual_revenue=1234.5,
       crm={"salesforce": {"AnnualRevenue": 1235}, "hubspot": {"annualrevenue": "1234.5"}}),
    _c("company-date-year-1", "y1.io", "y1.io", CREATED, first_seen_at=YEAR_1, last_seen_at=YEAR_9999,
       note={"salesforce": "out_of_range:Warmly_First_Seen__c; out_of_range:Warmly_Last_Seen__c", "hubspot": None},
       crm={"salesforce": {"Warmly_First_Seen__c": None},
            "hubspot": {"warmly_first_seen": starts("0001-01-01T00:00:00")}}),
    _c("company-picklist-miss", "pick.io", "pick.io", CREATED, industry="Underwater Basket Weaving",
       note={"salesforce": None, "hubspot": "invalid_option:industry"},
       crm={"salesforce": {"Industry": "Underwater Basket Weaving"}, "hubspot": {"industry": None}}),
]

def _keyed(cases: list[Case]) -> list[Case]:
    """Rows without a key are logged by their place in the model: fill in that key."""
    out = []
    for n, case in enumerate(cases, start=1):
        if case.missing:
            case = Case(case.id, case.entity, case.row, f"(row {n}: {case.missing})", case.outcome, case.note,
                        case.crm, case.missing)
        out.append(case)
    return out


PERSON_CASES = _keyed(PERSON_CASES)
COMPANY_CASES = _keyed(COMPANY_CASES)
CASES = PERSON_CASES + COMPANY_CASES


def batch_people() -> list[dict[str, Any]]:
    rows = [person(e, "batch.io", title=f"Batch {i}") for i, e in enumerate(BATCH)]
    rows[BAD_AT] = person(BAD_IN_BATCH, "batch.io", title="Bad")
    return rows


def models() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The person model (every person case, then the batch of 200) and the company model."""
    p = pl.DataFrame([*[c.row for c in PERSON_CASES], *batch_people()], schema=PERSON_MODEL)
    c = pl.DataFrame([*[c.row for c in COMPANY_CASES], company("batch.io", industry=INDUSTRY)], schema=COMPANY_MODEL)
    return p, c
