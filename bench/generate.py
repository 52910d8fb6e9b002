"""Deterministic generator of the raw warehouse tables, at any scale.

    python bench/generate.py --persons 1000000 --out bench/out --seed 7   # benchmark data
    python bench/generate.py --seeds                                      # rewrites seeds/*.csv

Writes one CSV per raw table (companies, persons, sessions, page_views, chats, chat_inputs,
orchestrations, orchestration_outputs) with the columns the dbt seeds declare. Every value comes
from one seeded ``random.Random`` consumed in a fixed order and every timestamp from a fixed
calendar ending on 2026-11-20, so the same arguments always give byte-identical files.

Rows are streamed to the CSV writers as they are made; only the companies (a quarter of the
persons) and the set of emails handed out are held in memory, so 1M persons stay well under a
minute and a few hundred MB.

``--seeds`` is the small committed sample: ~1,200 persons, ~300 companies, plus the dirt real
data has, injected on purpose so the dbt models and their tests meet it: mixed-case and
space-padded emails, personal-domain emails, the same person twice under two ids, missing last
names, titles longer than Salesforce's 128 characters, non-ASCII names, an apostrophe in an email,
invalid emails, persons without a company, companies whose domain is only known from a messy
website, the same company twice, chats that never got a message, and prospects picked by
orchestrations who never visited the site. The first rows of ``companies`` and ``persons`` are
hand-written fixtures that the tests refer to by email or domain.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import unicodedata
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from random import Random
from typing import IO, Any

TABLES: dict[str, tuple[str, ...]] = {
    "companies": (
        "id", "name", "domain", "website", "industry", "employee_count", "annual_revenue", "country", "linkedin_url",
    ),
    "persons": (
        "id", "company_id", "email", "first_name", "last_name", "title", "seniority", "department",
        "linkedin_url", "identified_at", "identification_source",
    ),
    "sessions": (
        "id", "person_id", "company_id", "started_at", "landing_page", "referrer",
        "utm_source", "utm_medium", "utm_campaign",
    ),
    "page_views": ("id", "session_id", "page_url", "viewed_at"),
    "chats": ("id", "session_id", "person_id", "started_at", "message_count", "demo_requested"),
    "chat_inputs": ("id", "chat_id", "key", "value", "captured_at"),
    "orchestrations": ("id", "name", "has_sync_to_crm_step"),
    "orchestration_outputs": (
        "id", "orchestration_id", "person_id", "company_id", "signal_type", "topic", "produced_at",
    ),
}

# The calendar: activity over the 60 days ending 2026-11-20; identification may be older.
END_DAY = datetime(2026, 11, 20)
ACTIVITY_DAYS = 60
HISTORY_DAYS = 120
ORIGIN = END_DAY - timedelta(days=HISTORY_DAYS - 1)
DAY = 86_400
ACTIVITY_START = (HISTORY_DAYS - ACTIVITY_DAYS) * DAY  # seconds after ORIGIN
ACTIVITY_END = HISTORY_DAYS * DAY - 3 * 3600  # leave room for a session's page views before midnight
_DAY_STRINGS = [(ORIGIN + timedelta(days=d)).strftime("%Y-%m-%d ") for d in range(HISTORY_DAYS + 1)]
_TIME_STRINGS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)]

SITE = "https://www.skylark.io"

ORCHESTRATIONS: tuple[tuple[str, str, bool], ...] = (
    ("orc_job_changes", "New leaders at target accounts (job changes)", True),
    ("orc_social_engagement", "LinkedIn engagers with our posts", True),
    ("orc_research_intent", "Bombora intent: CRM and data tooling", True),
    ("orc_slack_digest", "Weekly Slack digest for AEs (no CRM sync)", False),
)
TOPICS = (
    "CRM software", "Reverse ETL", "Data warehousing", "Sales intelligence", "Intent data", "Website visitor tracking",
)

Weighted = tuple[tuple[Any, ...], tuple[float, ...], float]


def weighted(pairs: Sequence[tuple[Any, float]]) -> Weighted:
    values, cum, total = [], [], 0.0
    for value, weight in pairs:
        total += weight
        values.append(value)
        cum.append(total)
    return tuple(values), tuple(cum), total


def pick(rng: Random, table: Weighted) -> Any:
    values, cum, total = table
    return values[bisect(cum, rng.random() * total)]


INDUSTRIES = weighted([
    ("Cloud Services", 38), ("Software", 20), ("Financial Services", 9), ("Healthcare", 7), ("Retail", 6),
    ("Manufacturing", 6), ("Education", 5), ("Media", 4), ("Consulting", 5),
])
COUNTRIES = weighted([
    ("United States", 45), ("United Kingdom", 10), ("Germany", 8), ("France", 6), ("Canada", 6),
    ("Netherlands", 4), ("Spain", 4), ("Australia", 4), ("India", 5), ("Brazil", 3), ("Japan", 3), ("Sweden", 2),
])
TLDS = weighted([("com", 50), ("io", 20), ("ai", 8), ("co", 6), ("cloud", 4), ("de", 4), ("co.uk", 4), ("net", 4)])
NAME_SUFFIXES = weighted([
    ("", 30), (" Inc.", 12), (" Labs", 10), (" Technologies", 10), (" Systems", 8), (" AI", 6), (" Cloud", 8),
    (" Software", 8), (" GmbH", 4), (" Ltd", 4),
])
PREFIXES = (
    "Nimbus", "Stratus", "Cirrus", "Blue", "Bright", "Quant", "Vector", "North", "Iron", "Silver", "Red", "Apex",
    "Nova", "Pixel", "Lumen", "Orbit", "Hyper", "Terra", "Aero", "Cobalt", "Delta", "Echo", "Flux", "Gamma",
    "Helix", "Ion", "Jet", "Kite", "Lynx", "Neon", "Onyx", "Prism", "Quartz", "Rapid", "Sigma", "Tidal",
    "Ultra", "Vertex", "Wave", "Zen", "Amber", "Birch", "Cedar", "Harbor", "Summit", "Granite",
)
ROOTS = (
    "stack", "forge", "grid", "base", "scale", "works", "logic", "metrics", "sphere", "point", "leaf", "path",
    "bridge", "core", "shift", "loop", "byte", "mind", "signal", "ops", "ware", "lane", "field", "hub",
)
SENIORITIES = weighted([("Entry", 24), ("Senior", 18), ("Manager", 18), ("Director", 15), ("VP", 15), ("C-level", 10)])
DEPARTMENTS = weighted([
    ("Sales", 27), ("Marketing", 25), ("Engineering", 16), ("Product", 8), ("Operations", 8), ("Finance", 6),
    ("Customer Success", 6), ("HR", 4),
])
ENTRY_ROLES = {
    "Sales": "Sales Development Representative", "Marketing": "Marketing Coordinator",
    "Engineering": "Software Engineer", "Product": "Associate Product Manager",
    "Operations": "Operations Associate", "Finance": "Financial Analyst",
    "Customer Success": "Customer Success Associate", "HR": "HR Coordinator",
}
CHIEFS = {
    "Sales": "Chief Revenue Officer", "Marketing": "Chief Marketing Officer", "Engineering": "CTO",
    "Product": "Chief Product Officer", "Operations": "COO", "Finance": "CFO",
    "Customer Success": "Chief Customer Officer", "HR": "Chief People Officer",
}
FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley", "Paul",
    "Emily", "Andrew", "Michelle", "Joshua", "Amanda", "Kenji", "Yuki", "Aarav", "Ananya", "Wei", "Mei",
    "Lucas", "Emma", "Noah", "Olivia", "Mateo", "Sofia", "Liam", "Mia", "Hannah", "Felix", "Lena", "Jonas",
    "Chloé", "Renée", "Jürgen", "Björn", "Łukasz", "Ines", "Amélie", "Oskar", "Fatima", "Omar", "Priya",
    "Rahul", "Camila", "Diego", "Nora", "Elias", "Freya", "Hugo", "Ingrid", "Malik", "Zara", "Tariq",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott",
    "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Tanaka",
    "Sato", "Patel", "Sharma", "Chen", "Li", "Nguyen", "Kim", "Müller", "Schmidt", "Schneider", "Fischer",
    "Weber", "Dubois", "Lefèvre", "Moreau", "Rossi", "Bianchi", "Jansen", "de Vries", "Novák", "Kowalski",
    "Nowak", "Silva", "Santos", "Pereira", "Andersson", "Johansson", "Larsen", "Ó Briain", "Okafor", "Mensah",
)
EMAIL_PATTERNS = weighted([("first.last", 55), ("flast", 20), ("first", 8), ("first_last", 10), ("firstl", 7)])
PERSONAL_DOMAINS = weighted([
    ("gmail.com", 50), ("yahoo.com", 10), ("outlook.com", 12), ("hotmail.com", 8), ("icloud.com", 8),
    ("proton.me", 5), ("gmx.de", 4), ("web.de", 3),
])
ID_SOURCES = weighted([
    ("identity_graph", 40), ("form_fill", 20), ("chat", 10), ("email_click", 15), ("calendar_invite", 5),
    ("enrichment", 10),
])
PAGES = weighted([
    ("/", 20), ("/pricing", 14), ("/product", 10), ("/product/visitor-identification", 6), ("/product/ai-chat", 5),
    ("/integrations/salesforce", 5), ("/integrations/hubspot", 5), ("/customers", 5),
    ("/blog/reverse-etl-explained", 4), ("/blog/intent-data-101", 4), ("/docs/getting-started", 4), ("/demo", 6),
    ("/security", 3), ("/careers", 2), ("/about", 3),
])
REFERRERS = weighted([
    (None, 35), ("https://www.google.com/", 25), ("https://www.linkedin.com/", 12),
    ("https://www.g2.com/products/skylark/reviews", 6), ("https://news.ycombinator.com/", 3),
    ("https://www.bing.com/", 4), ("https://duckduckgo.com/", 3), ("https://chatgpt.com/", 4),
    ("https://www.reddit.com/r/salesforce/", 3), ("https://cloudsummit.example.org/sponsors", 2),
])
UTMS = weighted([
    (None, 65), (("linkedin", "paid_social", "q4-abm"), 10), (("google", "cpc", "brand-search"), 10),
    (("newsletter", "email", "nov-digest"), 7), (("g2", "referral", "g2-profile"), 4),
    (("partner", "referral", "cloud-summit-2026"), 4),
])
USE_CASES = (
    "Sync website visitors into Salesforce", "Route inbound chat leads to SDRs",
    "Enrich HubSpot contacts with intent data", "Replace our reverse-ETL tool",
    "Score accounts by engagement", "Book more demos from pricing page traffic",
)
TEAM_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
PERSON_KINDS = weighted([("visitor", 62), ("outbound", 18), ("dormant", 20)])
OUTBOUND_ORCHESTRATIONS = weighted([("orc_job_changes", 40), ("orc_social_engagement", 40), ("orc_slack_digest", 20)])
VISITOR_ORCHESTRATIONS = weighted([
    ("orc_job_changes", 30), ("orc_social_engagement", 30), ("orc_research_intent", 20), ("orc_slack_digest", 20),
])
SIGNALS = {
    "orc_job_changes": ("job_change",),
    "orc_social_engagement": ("social_engagement",),
    "orc_research_intent": ("research_intent",),
    "orc_slack_digest": ("job_change", "social_engagement", "research_intent"),
}
LONG_TITLE = (
    "Senior Vice President of Global Sales, Strategic Enterprise Accounts, Channel Partnerships "
    "and Revenue Operations for EMEA, APAC and the Americas"
)


def ts(seconds: int) -> str:
    """Seconds after ORIGIN as 'YYYY-MM-DD HH:MM:SS', from lookup tables: strftime per row is too slow."""
    return _DAY_STRINGS[seconds // DAY] + _TIME_STRINGS[seconds % DAY]


def between(rng: Random, low: int, high: int) -> int:
    """An int in [low, high); cheaper than Random.randrange in the hot loops."""
    return low + int(rng.random() * (high - low))


@lru_cache(maxsize=65_536)
def ascii_slug(text: str, sep: str = "") -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return sep.join(part for part in "".join(c if c.isalnum() else " " for c in folded).split())


def bool_str(value: bool) -> str:
    return "true" if value else "false"


@dataclass(slots=True)
class Company:
    id: int
    domain: str
    employee_count: int | None


@dataclass(slots=True)
class Person:
    """What the person loop needs to know once the persons row is written."""

    ids: list[int]
    company: Company | None
    kind: str
    visits: int | None = None  # forced number of sessions for fixtures
    chat: str | None = None  # fixtures: "engaged", "demo_only", "silent"
    picks: tuple[str, ...] = ()  # fixtures: orchestrations that pick this person


class CsvSink:
    """One CSV file per table in a directory; counts rows.

    ``row`` goes through the csv module (it quotes names and titles with commas); ``line`` takes a
    pre-formatted line for the big tables whose fields never need quoting, which is four times faster.
    """

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, IO[str]] = {}
        self.writers: dict[str, Any] = {}
        self.buffers: dict[str, list[str]] = {}
        self.counts: dict[str, int] = {}
        for table, columns in TABLES.items():
            f = open(out / f"{table}.csv", "w", newline="", encoding="utf-8")
            self.files[table] = f
            self.writers[table] = csv.writer(f, lineterminator="\n")
            self.buffers[table] = []
            f.write(",".join(columns) + "\n")
            self.counts[table] = 0

    def row(self, table: str, values: tuple[Any, ...]) -> None:
        self.flush(table)
        self.writers[table].writerow(values)
        self.counts[table] += 1

    def line(self, table: str, text: str) -> None:
        buffer = self.buffers[table]
        buffer.append(text)
        self.counts[table] += 1
        if len(buffer) >= 8192:
            self.flush(table)

    def lines(self, table: str, texts: list[str]) -> None:
        buffer = self.buffers[table]
        buffer.extend(texts)
        self.counts[table] += len(texts)
        if len(buffer) >= 8192:
            self.flush(table)

    def flush(self, table: str) -> None:
        buffer = self.buffers[table]
        if buffer:
            self.files[table].writelines(buffer)
            buffer.clear()

    def close(self) -> None:
        for table, f in self.files.items():
            self.flush(table)
            f.close()


def opt(value: object) -> object:
    return "" if value is None else value


class Generator:
    def __init__(self, persons: int, companies: int, seed: int, dirty: bool) -> None:
        self.n_persons = persons
        self.n_companies = companies
        self.rng = Random(seed)
        self.dirty = dirty
        self.companies: list[Company] = []
        self.by_domain: dict[str, Company] = {}
        self.emails: set[str] = set()
        self.next_id = {table: 1 for table in TABLES}

    # -- helpers -------------------------------------------------------------------------------

    def new_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def activity_time(self) -> int:
        return between(self.rng, ACTIVITY_START, ACTIVITY_END)

    def unique_email(self, local: str, domain: str) -> str:
        email = f"{local}@{domain}"
        n = 2
        while email in self.emails:
            email = f"{local}{n}@{domain}"
            n += 1
        self.emails.add(email)
        return email

    def messy_email(self, email: str) -> str:
        """The same address as a human typed it: odd case, stray spaces."""
        rng = self.rng
        local, _, domain = email.partition("@")
        style = rng.randrange(4)
        if style == 0:
            local = local.title()
        elif style == 1:
            domain = domain.upper()
        elif style == 2:
            local, domain = local.upper(), domain.title()
        pad = (" ", "  ", "\t", "")
        return f"{rng.choice(pad[:3])}{local}@{domain}{rng.choice(pad)}"

    # -- companies -----------------------------------------------------------------------------

    def company_row(
        self, sink: CsvSink, name: str, domain: str, website: str | None, raw_domain: str | None,
        industry: str | None, employees: int | None, country: str | None, linkedin: bool = True,
    ) -> Company:
        rng = self.rng
        company = Company(self.new_id("companies"), domain, employees)
        revenue = None if employees is None or rng.random() < 0.1 else employees * rng.randrange(80, 350) * 1000
        slug = ascii_slug(name.replace("Inc.", ""), "-")
        sink.row("companies", (
            company.id, name, raw_domain, website, industry, employees, revenue, country,
            f"https://www.linkedin.com/company/{slug}" if linkedin else None,
        ))
        self.companies.append(company)
        self.by_domain.setdefault(domain, company)
        return company

    def fixture_companies(self, sink: CsvSink) -> None:
        # Domains only knowable from a messy website, the same company twice, a non-ASCII name.
        row = self.company_row
        row(sink, "Acme", "acme.io", "https://www.Acme.io/path", None, "Cloud Services", 450, "United States")
        row(sink, "Globex", "globex.com", "globex.com", " Globex.COM ", "Software", 1200, "United States")
        row(sink, "Initech", "initech.cloud", "HTTPS://WWW.INITECH.CLOUD/", None, "Cloud Services", 80,
            "United Kingdom")
        row(sink, "Umbrella Cloud", "umbrella.io", "https://umbrella.io/?utm_source=g2", "umbrella.io",
            "Cloud Services", 30, "Canada")
        row(sink, "Hooli", "hooli.com", "https://www.hooli.com:443/about", None, "Cloud Services", 5000,
            "United States")
        row(sink, "Müller & Söhne Cloud GmbH", "mueller-soehne.de", "http://mueller-soehne.de/", None,
            "Cloud Services", 220, "Germany")

    def fixture_duplicate_companies(self, sink: CsvSink) -> None:
        # Acme again, as a sales rep typed it: fewer facts, another spelling of the website.
        row = self.company_row
        row(sink, "ACME Inc.", "acme.io", "http://acme.io/", None, "Cloud Services", None, None, linkedin=False)
        row(sink, "globex", "globex.com", "https://globex.com", "GLOBEX.COM", None, None, None, linkedin=False)

    def random_company(self, sink: CsvSink) -> Company:
        rng = self.rng
        prefix, root = rng.choice(PREFIXES), rng.choice(ROOTS)
        base = f"{prefix}{root}".lower()
        tld = pick(rng, TLDS)
        domain, n = f"{base}.{tld}", 2
        while domain in self.by_domain:
            domain = f"{base}{n}.{tld}"
            n += 1
        name = f"{prefix}{root.capitalize()}{pick(rng, NAME_SUFFIXES)}"
        style = rng.random()
        if style < 0.55:
            website, raw_domain = f"https://www.{domain}", domain
        elif style < 0.70:
            website, raw_domain = f"https://{domain}/", domain
        elif style < 0.80:
            website, raw_domain = f"http://www.{domain}/home", None
        elif style < 0.90:
            website, raw_domain = domain, None
        else:
            website, raw_domain = None, domain
        if self.dirty and raw_domain and rng.random() < 0.1:
            raw_domain = raw_domain.upper() if rng.random() < 0.5 else f" {raw_domain}"
        industry = None if rng.random() < 0.03 else pick(rng, INDUSTRIES)
        # Log-uniform from 10 to 20,000 employees: most companies are small, some are huge.
        employees = None if rng.random() < 0.04 else int(10 * 2000 ** rng.random())
        return self.company_row(sink, name, domain, website, raw_domain, industry, employees, pick(rng, COUNTRIES))

    def company_activity(self, sink: CsvSink, company: Company) -> None:
        """Sessions of a company's unidentified visitors, and company-level outputs."""
        rng = self.rng
        if rng.random() < 0.35:
            for _ in range(1 + int(rng.random() * 3)):
                session_id, start = self.session(sink, None, company.id)
                if rng.random() < 0.06:
                    self.chat(sink, session_id, None, start, engaged=True)
        if rng.random() < 0.12:
            self.output(sink, "orc_research_intent", None, company.id)
        if rng.random() < 0.04:
            self.output(sink, "orc_slack_digest", None, company.id)

    # -- persons -------------------------------------------------------------------------------

    def title_for(self, seniority: str | None, department: str | None) -> str | None:
        if seniority is None or department is None:
            return None
        if seniority == "Entry":
            return ENTRY_ROLES[department]
        if seniority == "Senior":
            return f"Senior {ENTRY_ROLES[department]}"
        if seniority == "Manager":
            return f"{department} Manager"
        if seniority == "Director":
            return f"Director of {department}"
        if seniority == "VP":
            return f"VP of {department}" if self.rng.random() < 0.7 else f"Vice President, {department}"
        return CHIEFS[department]

    def email_for(self, first: str, last: str | None, company: Company | None, personal: bool) -> str:
        rng = self.rng
        f, la = ascii_slug(first), ascii_slug(last or "")
        if company is not None and not personal:
            pattern = pick(rng, EMAIL_PATTERNS) if la else "first"
            local = {
                "first.last": f"{f}.{la}", "flast": f"{f[:1]}{la}", "first": f,
                "first_last": f"{f}_{la}", "firstl": f"{f}{la[:1]}",
            }[pattern]
            return self.unique_email(local, company.domain)
        if company is None and rng.random() < 0.25:
            return self.unique_email(f, f"{la or f}consulting.com")
        local = f"{f}.{la}" if rng.random() < 0.5 else f"{f}{la}{rng.randrange(1, 99)}"
        return self.unique_email(local, pick(rng, PERSONAL_DOMAINS))

    def person_row(
        self, sink: CsvSink, company: Company | None, email: str, first: str | None, last: str | None,
        title: str | None, seniority: str | None, department: str | None, identified_at: int,
        linkedin: bool = True, source: str | None = None,
    ) -> int:
        rng = self.rng
        person_id = self.new_id("persons")
        slug = ascii_slug(f"{first or ''} {last or ''}", "-") or "member"
        sink.row("persons", (
            person_id, company.id if company else None, email, first, last, title, seniority, department,
            f"https://www.linkedin.com/in/{slug}-{rng.getrandbits(24):06x}" if linkedin else None,
            ts(identified_at), source or pick(rng, ID_SOURCES),
        ))
        return person_id

    def fixture_persons(self, sink: CsvSink) -> list[Person]:
        """Hand-written persons the tests refer to by email."""
        acme, globex, initech, umbrella, hooli, mueller = (self.by_domain[d] for d in (
            "acme.io", "globex.com", "initech.cloud", "umbrella.io", "hooli.com", "mueller-soehne.de"))
        early = ACTIVITY_START - 10 * DAY
        out: list[Person] = []

        def add(company, email, first, last, title, seniority, department, kind="visitor", **kw) -> Person:
            person_id = self.person_row(sink, company, email, first, last, title, seniority, department, early)
            self.emails.add(email.strip().lower())
            person = Person([person_id], company, kind, **kw)
            out.append(person)
            return person

        add(acme, "o'hara@acme.io", "Siobhan", "O'Hara", "VP of Marketing", "VP", "Marketing", chat="engaged",
            picks=("orc_slack_digest",))
        add(acme, "jose.nunez@acme.io", "José", "Núñez", "Chief Revenue Officer", "C-level", "Sales")
        add(mueller, "zoe.akesson@mueller-soehne.de", "Zoë", "Åkesson", "VP of Marketing", "VP", "Marketing")
        add(hooli, "wei.wang@hooli.com", "伟", "王", "VP of Sales", "VP", "Sales", picks=("orc_social_engagement",))
        # The same person twice: the first row is the more complete one.
        maria = add(initech, "maria.garcia@initech.cloud", "Maria", "Garcia", "VP of Sales", "VP", "Sales", visits=4)
        maria.ids.append(self.person_row(
            sink, initech, " Maria.Garcia@INITECH.cloud ", "Maria", None, None, "VP", None, early + 20 * DAY,
            linkedin=False,
        ))
        # ... and a pair where the later row is the complete one.
        tom = add(globex, "TOM.BECKER@globex.com", "Tom", "Becker", None, None, None, visits=3)
        tom.ids.append(self.person_row(
            sink, globex, "  tom.becker@Globex.com", "Tom", "Becker", "Chief Marketing Officer", "C-level",
            "Marketing", early + 15 * DAY,
        ))
        add(hooli, "alex.morgan@hooli.com", "Alex", "Morgan", LONG_TITLE, "VP", "Sales")
        add(initech, "priya@initech.cloud", "Priya", None, "Chief Marketing Officer", "C-level", "Marketing")
        add(acme, "jane.doe@", "Jane", "Doe", "VP of Sales", "VP", "Sales")
        add(acme, "not-an-email", "Bob", "Stone", "VP of Sales", "VP", "Sales")
        add(acme, "kevin.osei84@gmail.com", "Kevin", "Osei", "VP of Sales", "VP", "Sales")
        add(None, "lena.schmidt@gmail.com", "Lena", "Schmidt", "VP of Marketing", "VP", "Marketing",
            chat="engaged", picks=("orc_social_engagement",))
        add(umbrella, "carlos.mendes@umbrella.io", "Carlos", "Mendes", "VP of Sales", "VP", "Sales", chat="engaged")
        add(acme, "ethan.cole@acme.io", "Ethan", "Cole", "Sales Development Representative", "Entry", "Sales")
        add(hooli, "dana.whitfield@hooli.com", "Dana", "Whitfield", "Director of Sales", "Director", "Sales",
            kind="outbound", picks=("orc_job_changes",))
        add(globex, "sam.rivera@globex.com", "Sam", "Rivera", "VP of Sales", "VP", "Sales",
            kind="outbound", picks=("orc_slack_digest",))
        add(acme, "nora.quinn@acme.io", "Nora", "Quinn", "VP of Sales", "VP", "Sales", chat="silent")
        add(initech, "omar.haddad@initech.cloud", "Omar", "Haddad", "Director of Marketing", "Director", "Marketing",
            chat="demo_only")
        return out

    def random_person(self, sink: CsvSink) -> Person:
        rng = self.rng
        company = self.companies[rng.randrange(len(self.companies))] if rng.random() < 0.9 else None
        kind = pick(rng, PERSON_KINDS)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if self.dirty and rng.random() < 0.03:
            last = None
        seniority = None if rng.random() < 0.03 else pick(rng, SENIORITIES)
        department = None if rng.random() < 0.03 else pick(rng, DEPARTMENTS)
        title = self.title_for(seniority, department)
        if self.dirty and title and seniority in ("VP", "C-level") and rng.random() < 0.03:
            title = f"{title}, {LONG_TITLE}"
        email = self.email_for(first, last, company, personal=rng.random() < 0.1)
        if self.dirty and rng.random() < 0.06:
            email = self.messy_email(email)
        identified_at = self.activity_time() - between(rng, 0, 30 * DAY)
        person_id = self.person_row(
            sink, company, email, first, last, title, seniority, department, identified_at,
            linkedin=rng.random() < 0.8,
        )
        person = Person([person_id], company, kind)
        if self.dirty and kind == "visitor" and rng.random() < 0.02:
            # Seen again later under a new id (another device, another form), with fewer facts.
            person.ids.append(self.person_row(
                sink, company, self.messy_email(email.strip()), first, last if rng.random() < 0.5 else None,
                None, seniority, None, identified_at + rng.randrange(DAY, 20 * DAY), linkedin=False,
            ))
        return person

    def person_activity(self, sink: CsvSink, person: Person) -> None:
        rng = self.rng
        company_id = person.company.id if person.company else None
        sessions: list[tuple[int, int, int]] = []
        if person.kind == "visitor":
            visits = person.visits or 1 + min(int(rng.expovariate(0.9)), 11)
            for _ in range(visits):
                person_id = person.ids[-1] if len(person.ids) > 1 and rng.random() < 0.4 else person.ids[0]
                session_id, start = self.session(sink, person_id, company_id)
                sessions.append((session_id, start, person_id))
        if sessions:
            chat = person.chat
            if chat is None and rng.random() < 0.2:
                chat = "random"
            if chat is not None:
                for session_id, start, person_id in rng.sample(sessions, 2 if len(sessions) > 1 and
                                                               rng.random() < 0.1 else 1):
                    self.chat(sink, session_id, person_id, start, kind=chat)
        picks = list(person.picks)
        if not picks and person.kind == "outbound":
            picks = [pick(rng, OUTBOUND_ORCHESTRATIONS) for _ in range(1 if rng.random() < 0.75 else 2)]
        elif not picks and person.kind == "visitor" and rng.random() < 0.1:
            picks = [pick(rng, VISITOR_ORCHESTRATIONS)]
        for orchestration_id in picks:
            self.output(sink, orchestration_id, person.ids[0], company_id)

    # -- activity ------------------------------------------------------------------------------

    def session(self, sink: CsvSink, person_id: int | None, company_id: int | None) -> tuple[int, int]:
        rng = self.rng
        session_id = self.new_id("sessions")
        start = self.activity_time()
        landing = pick(rng, PAGES)
        utm = pick(rng, UTMS)
        referrer = pick(rng, REFERRERS)
        query = f"?utm_source={utm[0]}&utm_medium={utm[1]}&utm_campaign={utm[2]}" if utm else ""
        landing_url = f"{SITE}{landing}{query}"
        utm_source, utm_medium, utm_campaign = utm or ("", "", "")
        sink.line("sessions", (
            f"{session_id},{opt(person_id)},{opt(company_id)},{ts(start)},{landing_url},{opt(referrer)},"
            f"{utm_source},{utm_medium},{utm_campaign}\n"
        ))
        # The hottest loop (three page views per session): local names, one buffered write.
        page_id = self.next_id["page_views"]
        views = [f"{page_id},{session_id},{landing_url},{ts(start)}\n"]
        at, random, (pages, cum, total) = start, rng.random, PAGES
        for _ in range(min(int(rng.expovariate(0.5)), 11)):
            at += 20 + int(random() * 220)
            page = pages[bisect(cum, random() * total)]
            url = f"{SITE}{page}#faq" if page == "/pricing" and random() < 0.2 else f"{SITE}{page}"
            page_id += 1
            views.append(f"{page_id},{session_id},{url},{ts(at)}\n")
        self.next_id["page_views"] = page_id + 1
        sink.lines("page_views", views)
        return session_id, start

    def chat(
        self, sink: CsvSink, session_id: int, person_id: int | None, session_start: int, kind: str = "random",
        engaged: bool = False,
    ) -> None:
        rng = self.rng
        chat_id = self.new_id("chats")
        started = session_start + between(rng, 30, 600)
        if kind == "silent":
            messages, demo = 0, False
        elif kind == "demo_only":
            messages, demo = 0, True
        elif kind == "engaged" or engaged:
            messages, demo = rng.randrange(2, 15), rng.random() < 0.4
        else:
            messages = 0 if rng.random() < 0.15 else rng.randrange(1, 15)
            demo = rng.random() < (0.35 if messages else 0.25)
        sink.line("chats", f"{chat_id},{session_id},{opt(person_id)},{ts(started)},{messages},{bool_str(demo)}\n")
        if not messages:
            return
        at = started
        inputs = (
            ("use_case", 0.7, lambda: rng.choice(USE_CASES)),
            ("phone", 1.0 if kind == "engaged" else 0.55, self.phone),
            ("team_size", 0.45, lambda: rng.choice(TEAM_SIZES)),
        )
        for key, chance, value in inputs:
            if rng.random() < chance:
                at += between(rng, 20, 180)
                sink.row("chat_inputs", (self.new_id("chat_inputs"), chat_id, key, value(), ts(at)))

    def phone(self) -> str:
        rng = self.rng
        n = rng.randrange(100, 200)
        return rng.choice((
            f"+1 415 555 0{n}", f"(646) 555-0{n}", f"+44 20 7946 0{n}", f"+49 30 901820{n % 100:02d}",
        ))

    def output(self, sink: CsvSink, orchestration_id: str, person_id: int | None, company_id: int | None) -> None:
        rng = self.rng
        signal = rng.choice(SIGNALS[orchestration_id])
        topic = rng.choice(TOPICS) if signal == "research_intent" else None
        sink.line("orchestration_outputs", (
            f"{self.new_id('orchestration_outputs')},{orchestration_id},{opt(person_id)},{opt(company_id)},"
            f"{signal},{opt(topic)},{ts(self.activity_time())}\n"
        ))

    # -- the whole run -------------------------------------------------------------------------

    def run(self, sink: CsvSink) -> None:
        for orchestration_id, name, syncs in ORCHESTRATIONS:
            sink.row("orchestrations", (orchestration_id, name, bool_str(syncs)))
        if self.dirty:
            self.fixture_companies(sink)
        while len(self.companies) < self.n_companies:
            self.random_company(sink)
        if self.dirty:
            self.fixture_duplicate_companies(sink)
        for company in self.companies:
            self.company_activity(sink, company)
        fixtures = self.fixture_persons(sink) if self.dirty else []
        for person in fixtures:
            self.person_activity(sink, person)
        for _ in range(self.n_persons - len(fixtures)):
            self.person_activity(sink, self.random_person(sink))
        # Visitors nobody identified, person or company: the models must ignore them.
        for _ in range(self.n_persons // 20):
            self.session(sink, None, None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=None, help="number of persons (default 1200 with --seeds)")
    parser.add_argument("--companies", type=int, default=None, help="number of companies (default persons / 4)")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default seeds/ with --seeds)")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--seeds", action="store_true", help="the committed sample: small, with injected dirt")
    parser.add_argument("--dirty", action="store_true", help="inject the sample's dirt at any scale")
    args = parser.parse_args(argv)

    persons = args.persons or (1200 if args.seeds else 10_000)
    companies = args.companies or max(8, persons // 4)
    out = args.out or (Path(__file__).resolve().parents[1] / "seeds" if args.seeds else Path("bench/out"))
    started = time.perf_counter()
    sink = CsvSink(out)
    try:
        Generator(persons, companies, args.seed, dirty=args.seeds or args.dirty).run(sink)
    finally:
        sink.close()
    counts = ", ".join(f"{table} {n:,}" for table, n in sink.counts.items())
    print(f"wrote {out}: {counts} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
