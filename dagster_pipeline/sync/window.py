"""A window of activity days: which records it syncs, and on which day each outcome counts.

A record's day is its ``activity_date``: the day of its latest activity for the workflow (last
page view, last engaged chat, latest orchestration pick). The records of the days
``[first, last]`` are

- the persons whose day falls in the window;
- the companies whose day falls in the window;
- and the companies of those persons, whatever their own day. A person is linked to its company
  by the company's CRM id, which the engine only knows for companies it syncs in the same run;
  without them, a person whose company was last active on another day would be written unlinked.
  Re-syncing such a company costs nothing when it has not changed (its fingerprint matches).

Each outcome of a run counts on one day of the window, so the days of a run add up to the run:
a person's or company's own day, or, for a company pulled in by its persons, the latest day of
those persons. Pure polars; imports no dagster.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

DAY = "day"


def _key(column: str) -> pl.Expr:
    # The engine's record key (records.build_desired): the sync-model key, trimmed and lower-cased.
    return pl.col(column).cast(pl.Utf8).str.strip_chars().str.to_lowercase()


def select_window(persons: pl.DataFrame, companies: pl.DataFrame, first: dt.date, last: dt.date
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The persons and companies a sync of the days ``[first, last]`` (inclusive) writes."""
    in_window = pl.col("activity_date").is_between(first, last)
    persons = persons.filter(in_window)
    linked = persons.select(_key("company_domain").alias("domain")).drop_nulls()["domain"].implode()
    companies = companies.filter(in_window | _key("domain").is_in(linked))
    return persons, companies


def record_days(persons: pl.DataFrame, companies: pl.DataFrame, first: dt.date, last: dt.date) -> pl.DataFrame:
    """``key`` → ``day`` for the records of a window, as :func:`select_window` returned them."""
    person_days = persons.select(_key("email").alias("key"), pl.col("activity_date").alias(DAY))
    by_persons = (
        persons.select(_key("company_domain").alias("key"), pl.col("activity_date").alias("persons_day"))
        .drop_nulls("key")
        .group_by("key")
        .agg(pl.col("persons_day").max())
    )
    company_days = (
        companies.select(_key("domain").alias("key"), pl.col("activity_date").alias("own_day"))
        .join(by_persons, on="key", how="left")
        .select("key", pl.when(pl.col("own_day").is_between(first, last))
                .then(pl.col("own_day")).otherwise(pl.col("persons_day")).alias(DAY))
    )
    return (pl.concat([person_days, company_days])
            .filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
            .unique("key", keep="first", maintain_order=True))


def log_by_day(log: pl.DataFrame, days: pl.DataFrame, first: dt.date, last: dt.date) -> dict[dt.date, pl.DataFrame]:
    """The run's outcome rows per day of ``[first, last]``; every day is present, possibly empty.

    An outcome whose key has no day (the engine keys records exactly as :func:`record_days` does,
    so this should not happen) counts on the last day, so the days still add up to the run.
    """
    dated = (log.join(days, on="key", how="left")
             .with_columns(pl.col(DAY).fill_null(last).clip(first, last)))
    parts = {key[0]: part for key, part in dated.partition_by(DAY, as_dict=True, include_key=False).items()}
    days_in_window = ((first + dt.timedelta(days=n)) for n in range((last - first).days + 1))
    return {day: parts.get(day, log.clear()) for day in days_in_window}
