"""Synthetic sync-model frames at any size, built column-wise with polars (no per-row Python).

    from frames import build  # with bench/ on sys.path, as bench/sync_bench.py has it
    persons, companies = build(100_000, seed=7)

``build(n)`` returns ``n`` persons over ``n // 20`` companies with exactly the columns and
types of the dbt contract (``PERSON_SCHEMA`` / ``COMPANY_SCHEMA`` in
``dagster_pipeline/sync/catalog.py``). Values look like the sample warehouse: names (some
with an apostrophe or an accent), seniority-based titles, engagement counts, referrers, UTM
sources, chats, intent signals. Every email is valid
and unique (the row number is part of it), so each person is one CRM record; about 3% carry an
apostrophe (``sean.o'brien.41@…``) to exercise SOQL escaping at volume.

Randomness is one ``random.Random(seed)`` whose bytes become polars columns, consumed in a
fixed order, so the same ``(n, seed)`` always gives the same frames, on any polars version.
1M persons take a few seconds.
"""

from __future__ import annotations

import array
import datetime as dt
import sys
from random import Random

import polars as pl

from dagster_pipeline.sync.catalog import COMPANY_SCHEMA, PERSON_SCHEMA

# The dbt contract, as ``Warehouse.read_model`` returns it: the engine's own definition.
PERSON_TYPES: pl.Schema = PERSON_SCHEMA
COMPANY_TYPES: pl.Schema = COMPANY_SCHEMA

PERSONS_PER_COMPANY = 20
END = dt.datetime(2026, 11, 20, 18, 0)  # the sample warehouse's calendar ends here
HISTORY_SECONDS = 120 * 86_400

# (display name, the form used in an email address)
FIRST = (
    ("James", "james"), ("Mary", "mary"), ("Robert", "robert"), ("Patricia", "patricia"), ("John", "john"),
    ("Jennifer", "jennifer"), ("Michael", "michael"), ("Linda", "linda"), ("David", "david"), ("Sarah", "sarah"),
    ("Daniel", "daniel"), ("Emily", "emily"), ("Kenji", "kenji"), ("Yuki", "yuki"), ("Aarav", "aarav"),
    ("Ananya", "ananya"), ("Wei", "wei"), ("Mei", "mei"), ("Lucas", "lucas"), ("Emma", "emma"), ("Noah", "noah"),
    ("Olivia", "olivia"), ("Mateo", "mateo"), ("Sofia", "sofia"), ("Chloé", "chloe"), ("Renée", "renee"),
    ("Jürgen", "juergen"), ("Björn", "bjorn"), ("Łukasz", "lukasz"), ("Amélie", "amelie"), ("Fatima", "fatima"),
    ("Omar", "omar"), ("Priya", "priya"), ("Diego", "diego"), ("Freya", "freya"), ("Malik", "malik"),
)
LAST = (
    ("Smith", "smith"), ("Johnson", "johnson"), ("Garcia", "garcia"), ("Miller", "miller"), ("Davis", "davis"),
    ("Martinez", "martinez"), ("Wilson", "wilson"), ("Anderson", "anderson"), ("Taylor", "taylor"), ("Lee", "lee"),
    ("Thompson", "thompson"), ("Walker", "walker"), ("Young", "young"), ("King", "king"), ("Wright", "wright"),
    ("Tanaka", "tanaka"), ("Sato", "sato"), ("Patel", "patel"), ("Sharma", "sharma"), ("Chen", "chen"),
    ("Nguyen", "nguyen"), ("Kim", "kim"), ("Müller", "mueller"), ("Schmidt", "schmidt"), ("Dubois", "dubois"),
    ("Lefèvre", "lefevre"), ("Rossi", "rossi"), ("de Vries", "devries"), ("Kowalski", "kowalski"),
    ("Silva", "silva"), ("Andersson", "andersson"), ("Okafor", "okafor"), ("Mensah", "mensah"),
)
APOSTROPHE_LAST = (("O'Brien", "o'brien"), ("O'Hara", "o'hara"), ("D'Souza", "d'souza"), ("O'Neil", "o'neil"))
APOSTROPHE_SHARE = 0.03
SENIORITIES = ("Entry", "Senior", "Manager", "Director", "VP", "C-level")
SENIORITY_CUM = (24, 42, 60, 75, 90, 100)
DEPARTMENTS = ("Sales", "Marketing", "Engineering", "Product", "Operations", "Finance", "Customer Success", "HR")
DEPARTMENT_CUM = (27, 52, 68, 76, 84, 90, 96, 100)
ENTRY_ROLE = ("Sales Development Representative", "Marketing Coordinator", "Software Engineer",
              "Associate Product Manager", "Operations Associate", "Financial Analyst",
              "Customer Success Associate", "HR Coordinator")
CHIEF = ("Chief Revenue Officer", "Chief Marketing Officer", "CTO", "Chief Product Officer", "COO", "CFO",
         "Chief Customer Officer", "Chief People Officer")
ID_SOURCES = ("identity_graph", "form_fill", "chat", "email_click", "calendar_invite", "enrichment")
PAGES = ("/pricing", "/pricing, /product", "/, /pricing, /demo", "/product/ai-chat, /integrations/salesforce",
         "/blog/reverse-etl-explained", "/integrations/hubspot, /pricing", "/customers, /security",
         "/docs/getting-started")
REFERRERS = (None, None, None, "https://www.google.com/", "https://www.google.com/", "https://www.linkedin.com/",
             "https://www.g2.com/products/skylark/reviews", "https://news.ycombinator.com/", "https://chatgpt.com/")
UTM_SOURCES = (None, None, None, None, "linkedin", "google", "newsletter", "g2", "partner")
USE_CASES = ("Sync website visitors into Salesforce", "Route inbound chat leads to SDRs",
             "Enrich HubSpot contacts with intent data", "Replace our reverse-ETL tool",
             "Score accounts by engagement", "Book more demos from pricing page traffic")
TEAM_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
SIGNALS = ("job_change", "social_engagement", "research_intent")
ORCHESTRATIONS = ("orc_job_changes", "orc_social_engagement", "orc_research_intent")
TOPICS = ("CRM software", "Reverse ETL", "Data warehousing", "Sales intelligence", "Intent data")
INDUSTRIES = ("Cloud Services", "Software", "Financial Services", "Healthcare", "Retail", "Manufacturing",
              "Education", "Media", "Consulting")
COUNTRIES = ("United States", "United States", "United States", "United Kingdom", "Germany", "France", "Canada",
             "Netherlands", "India", "Australia", "Japan", "Brazil")
TLDS = ("com", "com", "com", "io", "io", "ai", "co", "cloud", "de", "co.uk", "net")
PREFIXES = ("Nimbus", "Stratus", "Cirrus", "Blue", "Bright", "Quant", "Vector", "North", "Iron", "Silver", "Apex",
            "Nova", "Pixel", "Lumen", "Orbit", "Hyper", "Terra", "Cobalt", "Delta", "Helix", "Prism", "Summit")
ROOTS = ("stack", "forge", "grid", "base", "scale", "works", "logic", "metrics", "sphere", "point", "path", "hub")
NAME_SUFFIXES = ("", "", "", " Inc.", " Labs", " Technologies", " Systems", " AI", " Cloud", " Software", " GmbH")
EMPLOYEES = (8, 25, 60, 140, 320, 750, 1800, 5200, 12000)


class _Draw:
    """Seeded uniform draws as polars columns (one ``randbytes`` call per column)."""

    def __init__(self, seed: int, n: int) -> None:
        self.rng = Random(seed)
        self.n = n

    def u32(self) -> pl.Series:
        a = array.array("I")
        a.frombytes(self.rng.randbytes(4 * self.n))
        if sys.byteorder != "little":  # the same numbers on every machine
            a.byteswap()
        return pl.Series(a, dtype=pl.UInt32)

    def index(self, k: int) -> pl.Series:
        """Uniform integers in ``[0, k)``."""
        return (self.u32() % k).cast(pl.UInt32)

    def unit(self) -> pl.Series:
        """Uniform floats in ``[0, 1)``."""
        return self.u32().cast(pl.Float64) / 4_294_967_296.0

    def pick(self, values: tuple) -> pl.Series:
        return pl.Series(list(values), dtype=pl.Utf8).gather(self.index(len(values)))

    def weighted(self, values: tuple, cumulative: tuple[int, ...]) -> pl.Series:
        """``values[i]`` with probability proportional to the steps of ``cumulative`` (ending at 100)."""
        u = self.index(100)
        idx = pl.Series([0] * self.n, dtype=pl.UInt32)
        for c in cumulative[:-1]:
            idx = idx + (u >= c).cast(pl.UInt32)
        return pl.Series(list(values), dtype=pl.Utf8).gather(idx)


def _seconds_before_end(d: _Draw, span: int) -> pl.Expr:
    return (pl.lit(END) - pl.duration(seconds=pl.lit(d.index(span)))).alias("t")


def build_companies(n: int, seed: int = 7) -> pl.DataFrame:
    d = _Draw(seed * 1_000_003 + 1, n)
    i = pl.int_range(n, eager=True, dtype=pl.Int64)
    prefix, root, tld, suffix = d.pick(PREFIXES), d.pick(ROOTS), d.pick(TLDS), d.pick(NAME_SUFFIXES)
    base = prefix + root.str.to_titlecase()
    slug = (prefix + root).str.to_lowercase() + i.cast(pl.Utf8)  # the row number keeps domains unique
    domain = slug + "." + tld
    first_seen = pl.select(_seconds_before_end(d, HISTORY_SECONDS)).to_series()
    last_seen = pl.select(pl.lit(END) - pl.duration(seconds=pl.lit(d.index(60 * 86_400)))).to_series()
    last_seen = pl.select(pl.max_horizontal(first_seen, last_seen)).to_series()
    sessions = (d.index(60) + 1).cast(pl.Int32)
    has_intent = d.unit() < 0.25
    which = d.index(len(SIGNALS))
    employees = pl.Series(list(EMPLOYEES), dtype=pl.Int32).gather(d.index(len(EMPLOYEES)))
    chats = pl.when(d.unit() < 0.2).then(d.index(4) + 1).otherwise(0).cast(pl.Int32)
    frame = pl.DataFrame({
        "domain": domain,
        "name": base + suffix,
        "website": "https://www." + domain,
        "industry": d.pick(INDUSTRIES),
        "employee_count": employees,
        "annual_revenue": employees.cast(pl.Int64) * (d.index(200_000) + 50_000).cast(pl.Int64),
        "country": d.pick(COUNTRIES),
        "linkedin_url": "https://www.linkedin.com/company/" + slug,
        "first_seen_at": first_seen,
        "last_seen_at": last_seen,
        "session_count": sessions,
        "page_view_count": (sessions * (d.index(5) + 1).cast(pl.Int32)).cast(pl.Int32),
        "top_pages": d.pick(PAGES),
        "last_referrer": d.pick(REFERRERS),
        "last_utm_source": d.pick(UTM_SOURCES),
        "visitor_count": (d.index(PERSONS_PER_COMPANY * 2) + 1).cast(pl.Int32),
    }).with_columns(
        chat_count=chats,
        demo_requested=chats > 0,
        intent_signal=pl.when(has_intent).then(pl.Series(list(SIGNALS)).gather(which)),
        intent_topic=pl.when(has_intent & (which == 2)).then(d.pick(TOPICS)),
        intent_signal_at=pl.when(has_intent).then(pl.col("last_seen_at") - pl.duration(hours=pl.lit(d.index(48)))),
        orchestration_ids=pl.when(has_intent).then(pl.Series(list(ORCHESTRATIONS)).gather(which)),
        activity_date=pl.col("last_seen_at").dt.date(),
    )
    return frame.select([pl.col(c).cast(t) for c, t in COMPANY_TYPES.items()])


def build_persons(n: int, companies: pl.DataFrame, seed: int = 7) -> pl.DataFrame:
    d = _Draw(seed * 1_000_003 + 2, n)
    i = pl.int_range(n, eager=True, dtype=pl.Int64)
    fi, li = d.index(len(FIRST)), d.index(len(LAST))
    first = pl.Series([f for f, _ in FIRST]).gather(fi)
    first_local = pl.Series([e for _, e in FIRST]).gather(fi)
    apostrophe = d.unit() < APOSTROPHE_SHARE
    ai = d.index(len(APOSTROPHE_LAST))
    last = pl.select(pl.when(apostrophe).then(pl.Series([a for a, _ in APOSTROPHE_LAST]).gather(ai))
                     .otherwise(pl.Series([a for a, _ in LAST]).gather(li))).to_series()
    last_local = pl.select(pl.when(apostrophe).then(pl.Series([e for _, e in APOSTROPHE_LAST]).gather(ai))
                           .otherwise(pl.Series([e for _, e in LAST]).gather(li))).to_series()
    company = d.index(companies.height)
    co = companies.select("domain", "name", "industry", "employee_count", "country")[company]
    local = first_local + "." + last_local + "." + i.cast(pl.Utf8)
    seniority = d.weighted(SENIORITIES, SENIORITY_CUM)
    dept_idx_u = d.index(100)
    dept_idx = pl.Series([0] * n, dtype=pl.UInt32)
    for c in DEPARTMENT_CUM[:-1]:
        dept_idx = dept_idx + (dept_idx_u >= c).cast(pl.UInt32)
    department = pl.Series(list(DEPARTMENTS)).gather(dept_idx)
    title = pl.select(
        pl.when(seniority == "Entry").then(pl.Series(list(ENTRY_ROLE)).gather(dept_idx))
        .when(seniority == "C-level").then(pl.Series(list(CHIEF)).gather(dept_idx))
        .when(seniority == "Senior").then("Senior " + pl.Series(list(ENTRY_ROLE)).gather(dept_idx))
        .when(seniority == "Manager").then(department + " Manager")
        .otherwise(seniority + " of " + department)
    ).to_series()
    has_phone = d.unit() < 0.3
    phone = "+1 415 555 " + (d.index(9000) + 1000).cast(pl.Utf8)
    first_seen = pl.select(_seconds_before_end(d, HISTORY_SECONDS)).to_series()
    last_seen = pl.select(pl.max_horizontal(
        first_seen, pl.lit(END) - pl.duration(seconds=pl.lit(d.index(60 * 86_400))))).to_series()
    sessions = (d.index(12) + 1).cast(pl.Int32)
    chats = pl.select(pl.when(d.unit() < 0.12).then(d.index(3) + 1).otherwise(0)).to_series().cast(pl.Int32)
    demo = (chats > 0) & (d.unit() < 0.35)
    has_intent = d.unit() < 0.2
    which = d.index(len(SIGNALS))
    frame = pl.DataFrame({
        "email": local + "@" + co["domain"],
        "first_name": first,
        "last_name": last,
        "title": title,
        "seniority": seniority,
        "department": department,
        "linkedin_url": "https://www.linkedin.com/in/" + first_local + "-" + last_local.str.replace("'", "") + "-"
        + i.cast(pl.Utf8),
        "phone": pl.select(pl.when(has_phone).then(phone)).to_series(),
        "company_domain": co["domain"],
        "company_name": co["name"],
        "company_industry": co["industry"],
        "company_employee_count": co["employee_count"],
        "company_country": co["country"],
        "identification_source": d.pick(ID_SOURCES),
        "first_seen_at": first_seen,
        "last_seen_at": last_seen,
        "session_count": sessions,
        "page_view_count": (sessions * (d.index(6) + 1).cast(pl.Int32)).cast(pl.Int32),
        "top_pages": d.pick(PAGES),
        "last_referrer": d.pick(REFERRERS),
        "last_utm_source": d.pick(UTM_SOURCES),
        "chat_count": chats,
        "demo_requested": demo,
    }).with_columns(
        chat_use_case=pl.when(pl.col("chat_count") > 0).then(d.pick(USE_CASES)),
        intent_signal=pl.when(has_intent).then(pl.Series(list(SIGNALS)).gather(which)),
        intent_topic=pl.when(has_intent & (which == 2)).then(d.pick(TOPICS)),
        intent_signal_at=pl.when(has_intent).then(pl.col("last_seen_at") - pl.duration(hours=pl.lit(d.index(72)))),
        orchestration_ids=pl.when(has_intent).then(pl.Series(list(ORCHESTRATIONS)).gather(which)),
        activity_date=pl.col("last_seen_at").dt.date(),
        team_size=pl.when((pl.col("chat_count") > 0) & (d.unit() < 0.6)).then(d.pick(TEAM_SIZES)),  # drawn last
    ).with_columns(
        # Every chat answer as the dbt models write it: JSON object text, null without answers.
        chat_answers=pl.when(pl.col("chat_count") > 0).then(
            pl.struct(phone="phone", team_size="team_size", use_case="chat_use_case").struct.json_encode()
            .str.replace_all(r'"[a-z_]+":null,?', "").str.replace(",}", "}", literal=True)),
    )
    return frame.select([pl.col(c).cast(t) for c, t in PERSON_TYPES.items()])


def build(n_persons: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(persons, companies)``: ``n_persons`` over ``max(1, n_persons // 20)`` companies."""
    companies = build_companies(max(1, n_persons // PERSONS_PER_COMPANY), seed)
    return build_persons(n_persons, companies, seed), companies


def change_one_field(persons: pl.DataFrame, share: float = 0.01, seed: int = 7) -> tuple[pl.DataFrame, int]:
    """Copy of ``persons`` where ``share`` of them (seeded pick) got a new ``title``; returns it and how many."""
    d = _Draw(seed * 1_000_003 + 3, persons.height)
    hit = d.unit() < share
    changed = persons.with_columns(
        title=pl.when(hit).then(pl.lit("Head of ") + pl.col("department")).otherwise(pl.col("title")))
    # A person who already had that title is not a change; count the real ones.
    n_changed = int((changed["title"] != persons["title"]).sum())
    return changed, n_changed
