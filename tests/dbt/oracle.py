"""What the sync models should contain, computed in plain Python straight from the seed CSVs.

Written from the spec (docs/warehouse.md), not from the SQL, so that a mistake in the models
shows up as a difference: emails are trimmed and lower-cased, a person seen twice is one person
whose most complete (then most recent) row speaks for it, companies are keyed by the bare domain
of their domain or website, and segment rules compare text case-insensitively with nulls failing.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SEEDS_DIR = ROOT / "seeds"
PROJECT_FILE = ROOT / "dbt_project" / "dbt_project.yml"
EMAIL = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
INT_COLUMNS = {"id", "company_id", "person_id", "session_id", "chat_id", "employee_count", "annual_revenue",
               "message_count"}

Row = dict[str, Any]


def project_vars() -> dict[str, Any]:
    return yaml.safe_load(PROJECT_FILE.read_text())["vars"]


def load(table: str, seeds_dir: Path = SEEDS_DIR) -> list[Row]:
    with open(seeds_dir / f"{table}.csv", newline="", encoding="utf-8") as f:
        rows = []
        for raw in csv.DictReader(f):
            row: Row = {k: (v if v != "" else None) for k, v in raw.items()}
            for key in INT_COLUMNS & row.keys():
                if row[key] is not None and not (key == "id" and table == "orchestrations"):
                    row[key] = int(row[key])
            for key in ("demo_requested", "has_sync_to_crm_step"):
                if key in row:
                    row[key] = row[key] == "true"
            rows.append(row)
        return rows


def bare_domain(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text.strip().lower())
    value = re.sub(r"^www[0-9]*\.", "", value)
    return re.split(r"[/?#:]", value)[0] or None


def completeness(row: Row, columns: Iterable[str]) -> int:
    return sum(1 for c in columns if row.get(c) is not None and str(row[c]).strip() != "")


def rule_holds(values: Row | None, rule: Row) -> bool:
    """One segment rule, as the docs define it: text case-insensitive, a null fails comparisons."""
    op = " ".join(str(rule["op"]).lower().split())
    value = (values or {}).get(rule["column"])
    if op == "is null":
        return value is None
    if op == "is not null":
        return value is not None
    if value is None:
        return False

    def norm(v: Any) -> Any:
        return v.casefold() if isinstance(v, str) else v

    target = rule.get("value")
    if op in ("in", "not in"):
        found = norm(value) in {norm(v) for v in target}
        return found if op == "in" else not found
    if op == "contains":
        return norm(target) in norm(value)
    left, right = norm(value), norm(target)
    return {
        "=": left == right, "!=": left != right, ">": left > right, ">=": left >= right,
        "<": left < right, "<=": left <= right,
    }[op]


def rules_hold(values: Row | None, rules: list[Row] | None) -> bool:
    return all(rule_holds(values, rule) for rule in rules or [])


@dataclass
class Person:
    email: str
    row: Row
    raw_ids: set[int] = field(default_factory=set)
    company_domain: str | None = None


class Seeds:
    """The seeds, resolved the way the spec says, plus per-workflow expectations."""

    def __init__(self, seeds_dir: Path = SEEDS_DIR) -> None:
        self.vars = project_vars()
        personal = {d.lower() for d in self.vars["personal_email_domains"]}
        tables = {t: load(t, seeds_dir) for t in (
            "companies", "persons", "sessions", "page_views", "chats", "chat_inputs", "orchestrations",
            "orchestration_outputs")}
        self.raw = tables

        # Companies: one per bare domain, the most complete raw row wins (then the lowest id).
        self.company_domain_by_id: dict[int, str | None] = {}
        best: dict[str, Row] = {}
        for row in tables["companies"]:
            domain = bare_domain(row["domain"]) or bare_domain(row["website"])
            self.company_domain_by_id[row["id"]] = domain
            if domain is None:
                continue
            score = (completeness(row, ("name", "domain", "industry", "employee_count", "annual_revenue", "country",
                                        "linkedin_url")), -row["id"])
            if domain not in best or score > best[domain]["_score"]:
                best[domain] = {**row, "_score": score, "domain": domain}
        self.companies: dict[str, Row] = best

        # Persons: one per normalised valid email; the most complete, then most recent row wins.
        self.email_by_person_id: dict[int, str] = {}
        primary: dict[str, tuple[tuple[Any, ...], Row]] = {}
        raw_ids: dict[str, set[int]] = defaultdict(set)
        for row in tables["persons"]:
            email = (row["email"] or "").strip().lower()
            if not EMAIL.match(email):
                continue
            self.email_by_person_id[row["id"]] = email
            raw_ids[email].add(row["id"])
            score = (completeness(row, ("first_name", "last_name", "title", "seniority", "department",
                                        "linkedin_url", "company_id")), row["identified_at"], row["id"])
            if email not in primary or score > primary[email][0]:
                primary[email] = (score, row)
        self.persons: dict[str, Person] = {}
        for email, (_, row) in primary.items():
            email_domain = email.split("@", 1)[1]
            company = self.company_domain_by_id.get(row["company_id"]) if row["company_id"] else None
            if company is None and email_domain not in personal and email_domain in self.companies:
                company = email_domain
            self.persons[email] = Person(email, row, raw_ids[email], company)
        self.personal_domains = personal

        # Activity, keyed by email and by company domain.
        self.sessions_by_email: dict[str, list[Row]] = defaultdict(list)
        self.sessions_by_domain: dict[str, list[Row]] = defaultdict(list)
        session_keys: dict[int, tuple[str | None, str | None]] = {}
        for s in tables["sessions"]:
            email = self.email_by_person_id.get(s["person_id"]) if s["person_id"] else None
            domain = (self.persons[email].company_domain if email else None) or (
                self.company_domain_by_id.get(s["company_id"]) if s["company_id"] else None)
            session_keys[s["id"]] = (email, domain)
            if email:
                self.sessions_by_email[email].append(s)
            if domain:
                self.sessions_by_domain[domain].append(s)
        self.views_by_email: dict[str, list[Row]] = defaultdict(list)
        self.views_by_domain: dict[str, list[Row]] = defaultdict(list)
        for v in tables["page_views"]:
            email, domain = session_keys.get(v["session_id"], (None, None))
            if email:
                self.views_by_email[email].append(v)
            if domain:
                self.views_by_domain[domain].append(v)
        sessions_by_id = {s["id"]: s for s in tables["sessions"]}
        inputs: dict[int, list[Row]] = defaultdict(list)
        for i in tables["chat_inputs"]:
            inputs[i["chat_id"]].append(i)
        self.engaged_chats_by_email: dict[str, list[Row]] = defaultdict(list)
        self.engaged_chats_by_domain: dict[str, list[Row]] = defaultdict(list)
        for c in tables["chats"]:
            if not (c["message_count"] or c["demo_requested"]):
                continue
            session = sessions_by_id.get(c["session_id"], {})
            person_id = c["person_id"] or session.get("person_id")
            email = self.email_by_person_id.get(person_id) if person_id else None
            domain = (self.persons[email].company_domain if email else None) or (
                self.company_domain_by_id.get(session["company_id"]) if session.get("company_id") else None)
            chat = {**c, "inputs": inputs[c["id"]]}
            if email:
                self.engaged_chats_by_email[email].append(chat)
            if domain:
                self.engaged_chats_by_domain[domain].append(chat)
        syncing = {o["id"] for o in tables["orchestrations"] if o["has_sync_to_crm_step"]}
        self.syncing_outputs = [o for o in tables["orchestration_outputs"] if o["orchestration_id"] in syncing]

    # -- the values segment rules see ----------------------------------------------------------

    def person_values(self, email: str) -> Row:
        p = self.persons[email]
        row = p.row
        return {
            "email": email, "email_domain": email.split("@", 1)[1],
            "is_personal_email": email.split("@", 1)[1] in self.personal_domains,
            **{k: (row[k].strip() if row[k] else None) for k in (
                "first_name", "last_name", "title", "seniority", "department")},
            "identification_source": (row["identification_source"] or "").strip().lower() or None,
        }

    def company_values(self, domain: str | None) -> Row | None:
        if domain is None or domain not in self.companies:
            return None
        c = self.companies[domain]
        return {
            "domain": domain, "name": c["name"], "industry": c["industry"], "country": c["country"],
            "employee_count": c["employee_count"], "annual_revenue": c["annual_revenue"],
        }

    # -- expectations --------------------------------------------------------------------------

    def segment(self, workflow: str, overrides: dict[str, Any] | None = None) -> Row:
        segments = overrides or {}
        if workflow in segments:
            return segments[workflow] or {}
        return self.vars.get(f"segment_{workflow}") or {}

    def website_visitor(self, segments: dict[str, Any] | None = None) -> tuple[set[str], set[str]]:
        seg = self.segment("website_visitor", segments)
        return self._inbound_like(seg, set(self.sessions_by_email), set(self.sessions_by_domain))

    def inbound_agent(self, segments: dict[str, Any] | None = None) -> tuple[set[str], set[str]]:
        seg = self.segment("inbound_agent", segments)
        return self._inbound_like(seg, set(self.engaged_chats_by_email), set(self.engaged_chats_by_domain))

    def _inbound_like(self, seg: Row, emails: set[str], domains: set[str]) -> tuple[set[str], set[str]]:
        persons = {
            e for e in emails
            if rules_hold(self.person_values(e), seg.get("person"))
            and rules_hold(self.company_values(self.persons[e].company_domain), seg.get("company"))
        }
        companies = {
            d for d in domains if d in self.companies and rules_hold(self.company_values(d), seg.get("company"))
        }
        companies |= {self.persons[e].company_domain for e in persons if self.persons[e].company_domain}
        return persons, companies

    def outbound_picks(self, segments: dict[str, Any] | None = None) -> list[Row]:
        orchestrations = self.segment("outbound_agent", segments).get("orchestrations") or {}
        picks = []
        for output in self.syncing_outputs:
            steps = orchestrations.get(output["orchestration_id"]) or {}
            if output["person_id"] is not None:
                email = self.email_by_person_id.get(output["person_id"])
                if email is None:
                    continue
                domain = self.persons[email].company_domain
                if rules_hold(self.person_values(email), steps.get("people")) and rules_hold(
                        self.company_values(domain), steps.get("audience")):
                    picks.append({**output, "email": email, "domain": domain})
            else:
                domain = self.company_domain_by_id.get(output["company_id"])
                if domain in self.companies and rules_hold(self.company_values(domain), steps.get("audience")):
                    picks.append({**output, "email": None, "domain": domain})
        return picks

    def outbound_agent(self, segments: dict[str, Any] | None = None) -> tuple[set[str], set[str]]:
        picks = self.outbound_picks(segments)
        return {p["email"] for p in picks if p["email"]}, {p["domain"] for p in picks if p["domain"]}

    def expected(self, workflow: str, segments: dict[str, Any] | None = None) -> tuple[set[str], set[str]]:
        return getattr(self, workflow)(segments)

    # -- engagement facts ----------------------------------------------------------------------

    @staticmethod
    def top_pages(views: list[Row]) -> str | None:
        counts: dict[str, int] = defaultdict(int)
        for v in views:
            url = v["page_url"].strip()
            path = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*", "", url)
            path = re.split(r"[?#]", path)[0] or "/"
            counts[path] += 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        return ", ".join(p for p, _ in ranked) or None

    @staticmethod
    def last_seen(views: list[Row]) -> datetime | None:
        return max((datetime.fromisoformat(v["viewed_at"]) for v in views), default=None)

    @staticmethod
    def latest_answer(chats: list[Row], key: str) -> str | None:
        answered = [c for c in chats if any(i["key"] == key and i["value"] for i in c["inputs"])]
        if not answered:
            return None
        chat = max(answered, key=lambda c: (c["started_at"], c["id"]))
        answer = max((i for i in chat["inputs"] if i["key"] == key and i["value"]),
                     key=lambda i: (i["captured_at"], i["id"]))
        return answer["value"].strip()

    @staticmethod
    def chat_answers(chats: list[Row]) -> dict[str, str] | None:
        """Every question's latest answer, keyed by the question (trimmed, lower-cased).

        Per question: the latest chat (start, then id) that answered it, and in that chat the
        last capture (time, then id); a blank answer is no answer. None when nothing was answered.
        """
        best: dict[str, tuple[tuple[Any, ...], str]] = {}
        for chat in chats:
            for i in chat["inputs"]:
                key, value = (i["key"] or "").strip().lower(), (i["value"] or "").strip()
                if not key or not value:
                    continue
                rank = (chat["started_at"], chat["id"], i["captured_at"], i["id"])
                if key not in best or rank > best[key][0]:
                    best[key] = (rank, value)
        return {key: value for key, (_, value) in best.items()} or None
