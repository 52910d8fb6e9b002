"""A window of activity days: which records it selects, and on which day each outcome counts."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from dagster_pipeline.sync.window import log_by_day, record_days, select_window

D = dt.date(2026, 11, 20)
BEFORE, DAY_BEFORE, NEXT = D - dt.timedelta(days=10), D - dt.timedelta(days=1), D + dt.timedelta(days=1)


def persons(*rows: tuple[str, str | None, dt.date]) -> pl.DataFrame:
    return pl.DataFrame([{"email": e, "company_domain": c, "activity_date": d} for e, c, d in rows],
                        schema={"email": pl.Utf8, "company_domain": pl.Utf8, "activity_date": pl.Date})


def companies(*rows: tuple[str, dt.date]) -> pl.DataFrame:
    return pl.DataFrame([{"domain": c, "activity_date": d} for c, d in rows],
                        schema={"domain": pl.Utf8, "activity_date": pl.Date})


PERSONS = persons(
    ("in@acme.io", "acme.io", D),               # active that day; its company was last active earlier
    ("also.in@soft.io", "soft.io", D),
    ("no.company@gmail.com", None, D),
    ("old@old.io", "old.io", BEFORE),           # another day: out
    ("later@big.io", " Big.IO", NEXT),          # keys compare trimmed and lower-cased, as the engine's do
)
COMPANIES = companies(("acme.io", BEFORE), ("soft.io", D), ("busy.io", D), ("old.io", BEFORE), ("big.io", BEFORE))


@pytest.mark.parametrize(
    ("first", "last", "want_persons", "want_companies"),
    [
        (D, D, {"in@acme.io", "also.in@soft.io", "no.company@gmail.com"}, {"acme.io", "soft.io", "busy.io"}),
        (BEFORE, BEFORE, {"old@old.io"}, {"acme.io", "old.io", "big.io"}),
        (NEXT, NEXT, {"later@big.io"}, {"big.io"}),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 2), set(), set()),
    ],
)
def test_a_window_keeps_its_days_records_and_the_companies_of_its_persons(
        first: dt.date, last: dt.date, want_persons: set[str], want_companies: set[str]) -> None:
    p, c = select_window(PERSONS, COMPANIES, first, last)
    assert set(p["email"]) == want_persons
    assert set(c["domain"]) == want_companies


def test_a_company_pulled_in_by_its_persons_counts_on_their_latest_day() -> None:
    first, last = DAY_BEFORE, D
    people = persons(("a@acme.io", "acme.io", DAY_BEFORE), ("b@acme.io", "acme.io", D), ("c@soft.io", "soft.io", D))
    firms = companies(("acme.io", BEFORE), ("soft.io", DAY_BEFORE))
    p, c = select_window(people, firms, first, last)
    days = dict(record_days(p, c, first, last).iter_rows())
    assert days == {"a@acme.io": DAY_BEFORE, "b@acme.io": D, "c@soft.io": D,
                    "acme.io": D,            # its own day is outside the window: its persons' latest day
                    "soft.io": DAY_BEFORE}   # its own day is in the window: that day


def test_the_days_of_a_run_add_up_to_the_run() -> None:
    first, last = DAY_BEFORE, D
    p, c = select_window(persons(("a@acme.io", "acme.io", DAY_BEFORE), ("b@soft.io", "soft.io", D)),
                         companies(("acme.io", BEFORE), ("soft.io", D)), first, last)
    log = pl.DataFrame({"object": ["Lead", "Lead", "Account", "Account", "Lead"],
                        "key": ["a@acme.io", "b@soft.io", "acme.io", "soft.io", "stray@x.io"],
                        "action": ["create", "unchanged", "create", "update", "failed"]})
    by_day = log_by_day(log, record_days(p, c, first, last), first, last)
    assert list(by_day) == [DAY_BEFORE, D]
    assert set(by_day[DAY_BEFORE]["key"]) == {"a@acme.io", "acme.io"}
    assert set(by_day[D]["key"]) == {"b@soft.io", "soft.io", "stray@x.io"}  # a key without a day: the last day
    assert sum(f.height for f in by_day.values()) == log.height
    assert by_day[D].columns == log.columns


def test_every_day_of_the_window_is_reported_even_without_records() -> None:
    empty = pl.DataFrame(schema={c: pl.Utf8 for c in ("object", "key", "action")})
    by_day = log_by_day(empty, record_days(persons(), companies(), D, NEXT), D, NEXT)
    assert list(by_day) == [D, NEXT] and all(f.is_empty() for f in by_day.values())
