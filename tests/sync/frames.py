"""Small sync-model frames with the dbt contract's columns and types, for engine tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from dagster_pipeline.sync.catalog import COMPANY_SCHEMA, PERSON_SCHEMA

PERSON_TYPES = PERSON_SCHEMA
COMPANY_TYPES = COMPANY_SCHEMA

SEEN = dt.datetime(2026, 11, 20, 9, 30)


def company(domain: str | None, **over: Any) -> dict[str, Any]:
    stem = (domain or "unknown").strip().split("//")[-1].split(".")[0] or "unknown"
    row = {
        "domain": domain, "name": stem.title(), "website": f"https://{domain}" if domain else None,
        "industry": "Cloud Services", "employee_count": 250, "annual_revenue": 40_000_000, "country": "US",
        "linkedin_url": f"https://www.linkedin.com/company/{stem}",
        "first_seen_at": SEEN - dt.timedelta(days=30), "last_seen_at": SEEN, "session_count": 12,
        "page_view_count": 40, "top_pages": "/pricing, /product", "last_referrer": "https://www.google.com/",
        "last_utm_source": "google", "visitor_count": 2, "chat_count": 1, "demo_requested": True,
        "intent_signal": None, "intent_topic": None, "intent_signal_at": None, "orchestration_ids": None,
        "activity_date": SEEN.date(),
    }
    row.update(over)
    return row


def person(email: str | None, domain: str | None = "acme.io", **over: Any) -> dict[str, Any]:
    local = (email or "").strip().split("@")[0] or "someone"
    row = {
        "email": email, "first_name": local.split(".")[0].title(), "last_name": "Example", "title": "VP Sales",
        "seniority": "VP", "department": "Sales", "linkedin_url": f"https://www.linkedin.com/in/{local}",
        "phone": None, "company_domain": domain, "company_name": domain.split(".")[0].title() if domain else None,
        "company_industry": "Cloud Services", "company_employee_count": 250, "company_country": "US",
        "identification_source": "reverse_ip", "first_seen_at": SEEN - dt.timedelta(days=10), "last_seen_at": SEEN,
        "session_count": 3, "page_view_count": 9, "top_pages": "/pricing", "last_referrer": "https://www.google.com/",
        "last_utm_source": "google", "chat_count": 1, "demo_requested": False, "chat_use_case": "Route inbound leads",
        "chat_answers": '{"use_case":"Route inbound leads"}',
        "intent_signal": None, "intent_topic": None, "intent_signal_at": None, "orchestration_ids": None,
        "activity_date": SEEN.date(),
    }
    row.update(over)
    return row


def persons(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=PERSON_TYPES)


def companies(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=COMPANY_TYPES)
