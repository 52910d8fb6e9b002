"""Small sync-model frames with the dbt contract's columns and types, for engine tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

PERSON_TYPES: dict[str, pl.DataType] = {
    "email": pl.Utf8(), "first_name": pl.Utf8(), "last_name": pl.Utf8(), "title": pl.Utf8(),
    "seniority": pl.Utf8(), "department": pl.Utf8(), "linkedin_url": pl.Utf8(), "phone": pl.Utf8(),
    "company_domain": pl.Utf8(), "company_name": pl.Utf8(), "company_industry": pl.Utf8(),
    "company_employee_count": pl.Int32(), "company_country": pl.Utf8(), "identification_source": pl.Utf8(),
    "first_seen_at": pl.Datetime("us"), "last_seen_at": pl.Datetime("us"), "session_count": pl.Int32(),
    "page_view_count": pl.Int32(), "top_pages": pl.Utf8(), "last_referrer": pl.Utf8(), "last_utm_source": pl.Utf8(),
    "chat_count": pl.Int32(), "demo_requested": pl.Boolean(), "chat_use_case": pl.Utf8(), "intent_signal": pl.Utf8(),
    "intent_topic": pl.Utf8(), "intent_signal_at": pl.Datetime("us"), "orchestration_ids": pl.Utf8(),
    "activity_date": pl.Date(),
}
COMPANY_TYPES: dict[str, pl.DataType] = {
    "domain": pl.Utf8(), "name": pl.Utf8(), "website": pl.Utf8(), "industry": pl.Utf8(),
    "employee_count": pl.Int32(), "annual_revenue": pl.Int64(), "country": pl.Utf8(), "linkedin_url": pl.Utf8(),
    "first_seen_at": pl.Datetime("us"), "last_seen_at": pl.Datetime("us"), "session_count": pl.Int32(),
    "page_view_count": pl.Int32(), "top_pages": pl.Utf8(), "last_referrer": pl.Utf8(), "last_utm_source": pl.Utf8(),
    "visitor_count": pl.Int32(), "chat_count": pl.Int32(), "demo_requested": pl.Boolean(), "intent_signal": pl.Utf8(),
    "intent_topic": pl.Utf8(), "intent_signal_at": pl.Datetime("us"), "orchestration_ids": pl.Utf8(),
    "activity_date": pl.Date(),
}

SEEN = dt.datetime(2026, 11, 20, 9, 30)


def company(domain: str, **over: Any) -> dict[str, Any]:
    row = {
        "domain": domain, "name": domain.split(".")[0].title(), "website": f"https://{domain}",
        "industry": "Cloud Services", "employee_count": 250, "annual_revenue": 40_000_000, "country": "US",
        "linkedin_url": f"https://www.linkedin.com/company/{domain.split('.')[0]}",
        "first_seen_at": SEEN - dt.timedelta(days=30), "last_seen_at": SEEN, "session_count": 12,
        "page_view_count": 40, "top_pages": "/pricing, /product", "last_referrer": "https://www.google.com/",
        "last_utm_source": "google", "visitor_count": 2, "chat_count": 1, "demo_requested": True,
        "intent_signal": None, "intent_topic": None, "intent_signal_at": None, "orchestration_ids": None,
        "activity_date": SEEN.date(),
    }
    row.update(over)
    return row


def person(email: str, domain: str | None = "acme.io", **over: Any) -> dict[str, Any]:
    local = email.split("@")[0]
    row = {
        "email": email, "first_name": local.split(".")[0].title(), "last_name": "Example", "title": "VP Sales",
        "seniority": "VP", "department": "Sales", "linkedin_url": f"https://www.linkedin.com/in/{local}",
        "phone": None, "company_domain": domain, "company_name": domain.split(".")[0].title() if domain else None,
        "company_industry": "Cloud Services", "company_employee_count": 250, "company_country": "US",
        "identification_source": "reverse_ip", "first_seen_at": SEEN - dt.timedelta(days=10), "last_seen_at": SEEN,
        "session_count": 3, "page_view_count": 9, "top_pages": "/pricing", "last_referrer": "https://www.google.com/",
        "last_utm_source": "google", "chat_count": 1, "demo_requested": False, "chat_use_case": "Route inbound leads",
        "intent_signal": None, "intent_topic": None, "intent_signal_at": None, "orchestration_ids": None,
        "activity_date": SEEN.date(),
    }
    row.update(over)
    return row


def persons(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=PERSON_TYPES)


def companies(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=COMPANY_TYPES)
