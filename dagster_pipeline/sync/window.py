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
those persons. The same rule runs as SQL in the warehouse (:class:`WindowSql`): a partitioned run
selects its rows there (:func:`stage_window`) and counts its outcomes per day there
(:func:`outcomes_by_day`); the polars functions are the rule for frames. Imports no dagster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from connectors.errors import ConfigError
from dagster_pipeline.sync.state import KEYS_SCHEMA, KEYS_TABLE, LOG_TABLE, SCHEMA

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


# -- the same window, in the warehouse ----------------------------------------------------------
#
# A scheduled run of one day must not read a model of a million rows into Python to keep a few
# thousand: the selection above is run as SQL where the models are, the rows of the window are
# copied there into two scratch tables the diff reads like any model, and the per-day counts of a
# run are aggregated there too. Nothing of a model leaves the warehouse but the rows that changed.

#: What ``str.strip_chars()`` strips (Unicode White_Space), so SQL ``trim`` compares keys as the
#: polars rule above does. Passed as a bound parameter, like the dates.
WHITESPACE = (" \t\n\x0b\x0c\r\x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B))
              + "\u2028\u2029\u202f\u205f\u3000")
#: The scratch tables a windowed run reads: ``writeback.window_<run id>_<workflow>_<entity>``.
WINDOW_TABLE = "window_{tag}_{entity}"


@dataclass(frozen=True)
class WindowSql:
    """The window's selection over two sync models, as SQL (dates and whitespace bound, never pasted).

    The same SQL on DuckDB and Snowflake: columns are quoted as the warehouse spells them
    (``ACTIVITY_DATE`` on Snowflake), keys compared by ``lower(trim(cast(… as varchar), :ws))``.
    """

    wh: Any
    first: dt.date
    last: dt.date
    person: tuple[str, str]  # (schema, table) of the persons model
    company: tuple[str, str]
    person_columns: tuple[str, ...]
    company_columns: tuple[str, ...]

    @classmethod
    def of(cls, wh: Any, first: dt.date, last: dt.date, *, person: tuple[str, str],
           company: tuple[str, str]) -> WindowSql:
        w = cls(wh, first, last, person, company,
                tuple(wh.raw_columns(person[1], schema=person[0])),
                tuple(wh.raw_columns(company[1], schema=company[0])))
        for (schema, table), columns in ((person, w.person_columns), (company, w.company_columns)):
            if not any(c.lower() == "activity_date" for c in columns):
                raise ConfigError(f"{schema}.{table} has no activity_date column: a partitioned run selects "
                                  "the records of its days by it")
        return w

    @property
    def params(self) -> dict[str, Any]:
        return {"w_first": self.first, "w_last": self.last, "w_ws": WHITESPACE}

    def _col(self, columns: tuple[str, ...], name: str) -> str | None:
        """``name`` quoted as the warehouse spells it, or None when the model lacks it."""
        return next((self.wh.quote(c) for c in columns if c.lower() == name), None)

    def _t(self, schema: str, table: str) -> str:
        return f"{self.wh.quote(schema)}.{self.wh.quote(table)}"

    @staticmethod
    def key(expr: str) -> str:
        """:func:`_key` in SQL: the value as text, trimmed and lower-cased."""
        return f"lower(trim(cast({expr} as varchar), :w_ws))"

    def _in_window(self, columns: tuple[str, ...]) -> str:
        return f"m.{self._col(columns, 'activity_date')} between :w_first and :w_last"

    def persons(self) -> str:
        """The persons of the window: their day is in it."""
        return f"select m.* from {self._t(*self.person)} m where {self._in_window(self.person_columns)}"

    def companies(self, persons: str) -> str:
        """The companies of the window: their day is in it, or a person of ``persons`` (a table or
        a CTE holding :meth:`persons`) names their domain."""
        sql = f"select m.* from {self._t(*self.company)} m where {self._in_window(self.company_columns)}"
        domain, linked = self._col(self.company_columns, "domain"), self._col(self.person_columns, "company_domain")
        if domain and linked:
            sql += (f" or {self.key('m.' + domain)} in (select {self.key('p.' + linked)} from {persons} p "
                    f"where p.{linked} is not null)")
        return sql

    def days(self) -> str:
        """CTEs ending in ``w_days`` (``key``, ``day``): the day of each record of the window, as
        :func:`record_days` gives it, under both the engine's key (``writeback.sync_keys``, the
        key the sync log names a record by) and the trimmed, lower-cased value (what a
        ``duplicate_key`` row is logged under, lower-cased). A key two rows share takes the
        latest of their days."""
        p_act, c_act = self._col(self.person_columns, "activity_date"), self._col(self.company_columns, "activity_date")
        null = "cast(null as varchar)"
        email, domain, linked = (self._col(self.person_columns, "email"), self._col(self.company_columns, "domain"),
                                 self._col(self.person_columns, "company_domain"))
        p_email, c_domain = f"p.{email}" if email else null, f"c.{domain}" if domain else null
        keys = f"(select kind, raw, min(key) as key from {self._t(SCHEMA, KEYS_TABLE)} group by kind, raw)"
        by_persons = (f"select {self.key('p.' + linked)} as tl, max(p.{p_act}) as pday from w_p p "
                      f"where p.{linked} is not null group by {self.key('p.' + linked)}" if linked
                      else f"select {null} as tl, max(p.{p_act}) as pday from w_p p where 1 = 0")
        own = f"c.{c_act} between :w_first and :w_last"
        return f"""
w_p as ({self.persons()}),
w_c as ({self.companies('w_p')}),
w_by_p as ({by_persons}),
w_p_rows as (select cast({p_email} as varchar) as raw, p.{p_act} as day from w_p p),
w_c_rows as (select cast({c_domain} as varchar) as raw,
             case when {own} then c.{c_act} else b.pday end as day
             from w_c c left join w_by_p b on b.tl = {self.key(c_domain)}),
w_all as (select km.key as key, r.day from w_p_rows r join {keys} km on km.kind = 'email' and km.raw = r.raw
          union all select {self.key('r.raw')}, r.day from w_p_rows r
          union all select km.key, r.day from w_c_rows r join {keys} km on km.kind = 'domain' and km.raw = r.raw
          union all select {self.key('r.raw')}, r.day from w_c_rows r),
w_days as (select key, max(day) as day from w_all where key is not null and key <> '' and day is not null
           group by key)"""


def stage_window(wh: Any, tag: str, sources: dict[str, tuple[str, str]], first: dt.date, last: dt.date,
                 scratch: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Copy the window's rows of both models into scratch tables in the warehouse (``CREATE TABLE
    … AS SELECT``) named by ``tag`` (run id and workflow); ``entity -> (schema, table)`` for the
    diff to read like any model.

    A table, not a view: the diff reads each model several times (key map, fingerprint, counts),
    and a copy is one snapshot of the window for the whole run, selected once. Each table is added
    to ``scratch`` as soon as it exists, so the caller drops whatever was made, even when this fails.
    """
    w = WindowSql.of(wh, first, last, person=sources["person"], company=sources["company"])
    wh.append(KEYS_TABLE, pl.DataFrame(schema=KEYS_SCHEMA), schema=SCHEMA)  # the schema exists from here on
    out: dict[str, tuple[str, str]] = {}
    for entity in ("person", "company"):  # persons first: the companies' selection reads them
        table = WINDOW_TABLE.format(tag=tag, entity=entity)
        wh.drop(table, schema=SCHEMA)
        scratch.append((SCHEMA, table))
        select = w.persons() if entity == "person" else w.companies(w._t(*out["person"]))
        wh.execute(f"create table {w._t(SCHEMA, table)} as {select}", w.params)
        out[entity] = (SCHEMA, table)
    return out


def _plain_unchanged(prefix: str = "") -> str:
    # The outcome rows counted, not listed: held rows and the like (no reason, nothing to show).
    return (f"{prefix}action = 'unchanged' and {prefix}status = 'unchanged' and {prefix}reason is null")


def outcomes_by_day(w: WindowSql, *, run_id: str, workflow: str, own_log: pl.DataFrame, log_table: str = LOG_TABLE
                    ) -> dict[dt.date, tuple[pl.DataFrame, dict[str, int]]]:
    """A sync run's outcomes per day of the window, without reading its unchanged rows back.

    Per day: the run's own outcome rows of that day (``own_log`` minus its plain ``unchanged``
    rows: every created, updated, skipped and failed row, with what metadata shows of it), and
    the plain ``unchanged`` rows per CRM object, counted in the warehouse over the run's rows of
    ``writeback.sync_log`` (the rows it held and its own). Only the days of the keys of the first
    part, and one count per (day, object), leave the warehouse.

    The days follow :func:`log_by_day`: every day of the window is present; an outcome whose key
    has no day (a ``missing_key`` row, named by its place) counts on the last day.
    """
    wh, first, last = w.wh, w.first, w.last
    params = {**w.params, "run_id": run_id, "wf": workflow}
    log = w._t(SCHEMA, log_table)
    run = "l.run_id = :run_id and l.workflow = :wf"
    counts = wh.frame(f"with {w.days()} select d.day as day, l.object as object, count(*) as n from {log} l "
                      f"left join w_days d on d.key = l.key where {run} and {_plain_unchanged('l.')} "
                      "group by d.day, l.object", params)
    day_of = wh.frame(f"with {w.days()} select distinct d.key as key, d.day as day from w_days d "
                      f"join {log} l on l.key = d.key where {run} and not ({_plain_unchanged('l.')})", params)

    def clip(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.col(DAY).cast(pl.Date).fill_null(last).clip(first, last))

    plain = ((pl.col("action") == "unchanged") & (pl.col("status") == "unchanged")
             & pl.col("reason").is_null())
    shown = own_log.filter(~plain)
    dated = clip(shown.join(day_of.select(pl.col("key").cast(pl.Utf8), DAY), on="key", how="left",
                            maintain_order="left"))
    parts = {k[0]: part for k, part in dated.partition_by(DAY, as_dict=True, include_key=False).items()}
    unchanged: dict[dt.date, dict[str, int]] = {}
    for day, obj, n in clip(counts.select(DAY, "object", "n")).iter_rows():
        unchanged.setdefault(day, {})
        unchanged[day][obj] = unchanged[day].get(obj, 0) + int(n)
    days_in_window = ((first + dt.timedelta(days=n)) for n in range((last - first).days + 1))
    return {day: (parts.get(day, own_log.clear()), unchanged.get(day, {})) for day in days_in_window}
