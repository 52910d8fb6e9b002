"""The diff against the sync state, run in the warehouse: only new and changed rows leave it.

A run's first question is which rows of its two sync models changed since their last successful
write. Asking it in Python means reading every row out of the warehouse (GBs for a million rows);
here it is one SQL query per sync model, the same SQL on DuckDB and Snowflake (through SQLAlchemy),
and the rows that did not change stay where they are: their ``unchanged`` outcome is written to
the sync log by an ``INSERT … SELECT`` and never travels.

**Fingerprint.** Per row, the warehouse's 64-bit ``hash`` (DuckDB ``hash``, Snowflake ``HASH``:
both variadic, each column hashed in its own type, null included) of the run's *signature*
(settings and field epochs, see :meth:`~dagster_pipeline.sync.passes._Pass.signature`) and every
column of the sync model but ``activity_date``, in name order. All columns, not only the mapped ones: a settings
change already changes the signature, and a column nobody maps costs at most one re-diff (which
writes nothing). A person's fingerprint adds the CRM id of the company it links to, so a company
created (or re-created) since re-links its people. The hash is stable for one warehouse; a
warehouse whose hash changes (another engine, an upgrade) re-diffs once, never writes wrongly.

**Keys.** Keys are normalised by Python's rules (:mod:`~dagster_pipeline.sync.keys`: IDN to
punycode, ports, user-info… which no SQL dialect spells the same way), once per distinct raw
value: ``writeback.sync_keys`` maps each raw email / domain ever seen to its key, one row per
raw value (so it is joined without a ``group by``). Before the diff, the raw values the map
lacks are read (on a re-run: none), normalised here and added. With the map the warehouse
groups rows by their normalised key exactly as Python would, so:

- a row is **held** (stays in the warehouse, ``unchanged``) only when its key is usable, no other
  row of the model has the same key (one aggregate per model and key: rows, fingerprint, a
  person's company key — narrow columns, no window holding every row's columns), the state
  holds a CRM id for it and its fingerprint equals the state's; for a person also when its
  company is held (or not in the company model);
- every other row comes back — all rows of a duplicated key together, rows without a key, new
  and changed rows — with its 1-based place in the model (``__row``, the order the warehouse
  scans it; only rows that come back are numbered, in a query that runs only when some do) and
  its state, so :func:`~dagster_pipeline.sync.keys.key_rows` finds missing and
  duplicate keys among them with the same messages as before.

Rows are held only when the run would log them ``unchanged``: a disabled workflow, an object
the credentials cannot read, a required field missing (every record of the object fails, the
unchanged ones too) or ``full_refresh`` hold nothing, and Python decides as it always has.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from connectors.warehouse import Warehouse
from dagster_pipeline.sync.keys import ROW, domain_keys, email_keys
from dagster_pipeline.sync.state import KEYS_SCHEMA, KEYS_TABLE, SCHEMA, STATE_TABLE, SyncStore

#: Columns a returned row carries besides the model's own (dropped before anything is written).
SRC = "__src"  # the row's fingerprint as computed in the warehouse
ST_OBJECT, ST_CRM_ID, ST_HASH = "__st_object", "__st_crm_id", "__st_hash"  # its state, if any
HELD_COMPANY_ID = "__held_company_id"  # a person's company's CRM id, when that company is held
DIFF_COLUMNS = (SRC, ST_OBJECT, ST_CRM_ID, ST_HASH, HELD_COMPANY_ID)
#: Columns that are no part of a fingerprint: when a row was active is not what is written.
UNHASHED = ("activity_date",)


@dataclass
class Side:
    """One sync model's part in the diff."""

    entity: str  # person | company
    schema: str
    table: str
    key_column: str  # email | domain (as the model spells it)
    columns: list[str]  # the model's columns as the warehouse spells them
    signature: str = ""
    hold: bool = False  # whether unchanged rows may stay in the warehouse at all
    objects: tuple[str, ...] = ()  # CRM objects whose unchanged rows may be held (state crm_object)

    def column(self, name: str) -> str | None:
        """The warehouse spelling of a column (``EMAIL`` on Snowflake), or None."""
        for c in self.columns:
            if c.lower() == name:
                return c
        return None


@dataclass
class Held:
    """What the warehouse kept: ``unchanged`` rows per CRM object, logged there."""

    counts: dict[str, int] = field(default_factory=dict)  # object -> rows
    table: str | None = None  # where their outcome rows are (sync_log, or plan_log for a plan)
    by_entity: dict[str, int] = field(default_factory=dict)  # company | person -> rows

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class WarehouseDiff:
    """The SQL of one workflow run's diff (see the module docstring)."""

    def __init__(self, warehouse: Warehouse, *, crm: str, org: str, workflow: str,
                 company: Side, person: Side) -> None:
        self.wh = warehouse
        self.crm, self.org, self.workflow = crm, org, workflow
        self.company, self.person = company, person

    # -- names -----------------------------------------------------------------------
    def _t(self, schema: str, table: str) -> str:
        return f"{self.wh.quote(schema)}.{self.wh.quote(table)}"

    # -- the key map -------------------------------------------------------------------
    def map_keys(self) -> int:
        """Add to ``writeback.sync_keys`` the raw keys of both models it has not seen; returns how many."""
        keys = self._t(SCHEMA, KEYS_TABLE)
        sources = {
            "email": [(self.person, "email")],
            "domain": [(self.company, "domain"), (self.person, "company_domain")],
        }
        added = 0
        for kind, cols in sources.items():
            parts = [f"select {self._raw(side, col)} as v from {self._t(side.schema, side.table)} m"
                     for side, col in cols if side.column(col)]
            if not parts:
                continue
            # An outer join and ``is null``: DuckDB plans it as an anti join (``not exists`` became a
            # mark join, ~20% more CPU on a 1M re-run that finds nothing to add).
            sql = (f"select distinct u.v as raw from ({' union all '.join(parts)}) u left join {keys} k "
                   "on k.kind = :kind and k.raw = u.v where u.v is not null and k.raw is null")
            for batch in self.wh.stream(sql, {"kind": kind}):
                raw = batch["raw"].cast(pl.Utf8)
                normal = domain_keys(raw) if kind == "domain" else email_keys(raw)
                frame = pl.DataFrame({"kind": kind, "raw": raw, "key": normal}).cast(KEYS_SCHEMA)
                self.wh.append(KEYS_TABLE, frame, schema=SCHEMA)
                added += frame.height
        if added:  # two runs may have added the same raw at once
            SyncStore(self.wh).dedupe_keys()
        return added

    # -- the query ---------------------------------------------------------------------
    def _fingerprint(self, side: Side, sig: str, alias: str = "m") -> str:
        # ``hash`` is variadic and 64-bit on both DuckDB and Snowflake, and reads each column in
        # its own type: ~9x cheaper than md5 over the columns rendered as text, which made the
        # fingerprint most of a no-change run. Kept as a number until it is compared or returned.
        cols = sorted((c for c in side.columns if c.lower() not in UNHASHED), key=str.lower)
        args = [f"cast(:{sig} as varchar)", *(f"{alias}.{self.wh.quote(c)}" for c in cols)]
        return f"hash({', '.join(args)})"

    def _raw(self, side: Side, name: str, alias: str = "m") -> str:
        col = side.column(name)
        return f"cast({alias}.{self.wh.quote(col)} as varchar)" if col else "cast(null as varchar)"

    def _key_join(self, alias: str, kind: str, raw: str) -> str:
        # ``sync_keys`` holds one row per (kind, raw) (see map_keys): joined directly, no group by.
        return (f"left join {self._t(SCHEMA, KEYS_TABLE)} {alias} on {alias}.kind = '{kind}' "
                f"and {alias}.raw = {raw}")

    def _state_join(self, alias: str, entity: str, key: str) -> str:
        return (f"left join {self._t(SCHEMA, STATE_TABLE)} {alias} on {alias}.crm = :crm and {alias}.org = :org "
                f"and {alias}.workflow = :wf and {alias}.entity = '{entity}' and {alias}.key = {key}")

    def _ctes(self) -> tuple[str, dict[str, Any]]:
        """Per key of each model: ``c_g`` / ``p_g`` its rows' count and fingerprint (a person's also
        its company's key); ``c_h`` / ``p_h`` the keys held, with their state's object and CRM id;
        ``c_r`` / ``p_r`` the other keys (their rows come back), with their state; ``c_l`` every
        company key with its CRM id when held (what a person's company decides).

        One aggregate per model over narrow columns (key, fingerprint), then one join with the
        state: no row numbers (only returned rows need their place), no second scan to count a
        key's rows, no window holding every column.
        """
        c, p = self.company, self.person
        params: dict[str, Any] = {"crm": self.crm, "org": self.org, "wf": self.workflow,
                                  "c_sig": c.signature, "p_sig": p.signature}
        objects = [f":obj{i}" for i in range(len(p.objects))] or ["cast(null as varchar)"]
        params.update({f"obj{i}": o for i, o in enumerate(p.objects)})
        yes = lambda flag: "1 = 1" if flag else "1 = 0"  # noqa: E731
        state = "st.crm_object as __obj, st.crm_id as __crm_id"
        c_join = f"from c_g g {self._state_join('st', 'company', 'g.__k')}"
        c_held = (f"{yes(c.hold)} and g.__n = 1 and st.crm_id is not null "
                  "and st.payload_hash = cast(g.__fp as varchar)")
        p_join = f"from p_g g {self._state_join('st', 'person', 'g.__k')} left join c_l cl on cl.__k = g.__ck"
        p_held = (f"{yes(p.hold)} and g.__n = 1 and st.crm_id is not null and st.crm_object in ({', '.join(objects)})"
                  " and (g.__ck is null or cl.__k is null or cl.__crm_id is not null)"
                  " and st.payload_hash = cast(g.__fp as varchar) || '|' || coalesce(cl.__crm_id, '')")
        sql = f"""
c_g as (select kc.key as __k, count(*) as __n, min({self._fingerprint(c, 'c_sig')}) as __fp
        from {self._t(c.schema, c.table)} m {self._key_join('kc', 'domain', self._raw(c, c.key_column))}
        where kc.key is not null group by kc.key),
c_h as (select g.__k, {state} {c_join} where {c_held}),
c_r as (select g.__k, {state}, st.payload_hash as __hash {c_join}
        where case when {c_held} then 0 else 1 end = 1),
c_l as (select g.__k, h.__crm_id from c_g g left join c_h h on h.__k = g.__k),
p_g as (select kp.key as __k, count(*) as __n, min({self._fingerprint(p, 'p_sig')}) as __fp,
        min(kd.key) as __ck
        from {self._t(p.schema, p.table)} m {self._key_join('kp', 'email', self._raw(p, p.key_column))}
        {self._key_join('kd', 'domain', self._raw(p, 'company_domain'))}
        where kp.key is not null group by kp.key),
p_h as (select g.__k, {state} {p_join} where {p_held}),
p_r as (select g.__k, {state}, st.payload_hash as __hash {p_join}
        where case when {p_held} then 0 else 1 end = 1)"""
        return sql, params

    def returned(self, side: Side, batch_rows: int | None = None, *, expected: int | None = None) -> pl.DataFrame:
        """The rows of ``side`` that leave the warehouse, in model order, with ``__row``, fingerprint and state.

        Two steps on one connection, each with DuckDB's whole memory: the keys that are not held
        (few, when few rows changed) with their state, into a temporary table; then the model,
        numbered in scan order, joined with the key map and that table: every row without a key,
        and every row of a key not held. ``expected`` 0 (every row was held: a run that changed
        nothing) skips both: the diff is not computed a second time to find nothing.
        """
        if expected == 0:
            return self._empty(side)
        ctes, params = self._ctes()
        company = side is self.company
        scratch = self.wh.quote(f"writeback_returned_{side.entity}")
        keep = (f"create temporary table {scratch} as select * from (with {ctes} "
                f"select __k, __obj, __crm_id, __hash from {'c_r' if company else 'p_r'}) q")
        drop = f"drop table if exists {scratch}"
        over = "over ()" if self.wh.dialect == "duckdb" else "over (order by null)"
        cols = [f"s.{self.wh.quote(c)}" for c in side.columns]
        fp = f"cast({self._fingerprint(side, 'c_sig' if company else 'p_sig', 's')} as varchar)"
        out = [*cols, f"s.__row as {ROW}", f"{fp} as {SRC}", f"r.__obj as {ST_OBJECT}",
               f"r.__crm_id as {ST_CRM_ID}", f"r.__hash as {ST_HASH}"]
        joins = (f"{self._key_join('k', 'domain' if company else 'email', self._raw(side, side.key_column, 's'))} "
                 f"left join {scratch} r on r.__k = k.key")
        company_ctes = ""
        if not company:  # a person's company, when held, lends it its CRM id
            out.append(f"ch.__crm_id as {HELD_COMPANY_ID}")
            joins += (f" {self._key_join('kd', 'domain', self._raw(side, 'company_domain', 's'))} "
                      "left join c_h ch on ch.__k = kd.key")
            company_ctes = ctes[:ctes.index("c_r as (")].rstrip() + " "
        sql = (f"with {company_ctes}s_n as (select m.*, row_number() {over} as __row "
               f"from {self._t(side.schema, side.table)} m) select {', '.join(out)} from s_n s {joins} "
               "where k.key is null or r.__k is not null")
        kw = {"batch_rows": batch_rows} if batch_rows else {}
        frames = list(self.wh.stream(sql, params, before=[(drop, {}), (keep, params)], after=[drop], **kw))
        if not frames:
            return self._empty(side)
        return pl.concat(frames, how="vertical_relaxed").sort(ROW)

    def _empty(self, side: Side) -> pl.DataFrame:
        """No row returned: the frame still has the model's columns (names and types as read)."""
        cols = [f"f.{self.wh.quote(c)}" for c in side.columns]
        sql = f"select {', '.join(cols)} from {self._t(side.schema, side.table)} f limit 0"
        frame = self.wh.frame(sql)
        return frame.with_columns(pl.lit(None, pl.Int64).alias(ROW), *[
            pl.lit(None, pl.Utf8).alias(c) for c in (SRC, ST_OBJECT, ST_CRM_ID, ST_HASH)
        ], *([pl.lit(None, pl.Utf8).alias(HELD_COMPANY_ID)] if side is self.person else []))

    def hold(self, *, table: str, run_id: str, run_at: dt.datetime, mode: str,
             replace_workflow: bool = False) -> tuple[Held, dict[str, int]]:
        """Log every held row ``unchanged`` in ``table`` by ``INSERT … SELECT``; counts per object and
        the models' row counts, all from one transaction (one snapshot of models and state).

        ``replace_workflow`` first deletes the workflow's earlier rows there (a plan keeps only
        its latest held rows: nothing else reads them).

        The held rows go straight from the diff into the log (no scratch table written and read
        again); each entity's insert reports its rows, and the run's rows per object are counted
        back from the log (this run's rows only: ``run_id``). Their order does not matter, so
        DuckDB may write them from every thread.
        """
        ctes, params = self._ctes()
        target = self._t(SCHEMA, table)
        params.update({"run_id": run_id, "run_at": run_at, "mode": mode})

        def insert(cte: str) -> str:
            return (f"insert into {target} (run_id, run_at, mode, workflow, crm, org, object, key, crm_id, action, "
                    f"status, reason, changed_fields, message) select :run_id, :run_at, :mode, :wf, :crm, :org, "
                    f"q.__obj, q.__k, q.__crm_id, 'unchanged', 'unchanged', cast(null as varchar), "
                    f"cast(null as varchar), cast(null as varchar) from (with {ctes} select __obj, __k, __crm_id "
                    f"from {cte}) q")

        c, p = self.company, self.person
        totals = (f"select (select count(*) from {self._t(c.schema, c.table)}) as companies, "
                  f"(select count(*) from {self._t(p.schema, p.table)}) as persons")
        count = (f"select object, count(*) as n from {target} where run_id = :run_id and workflow = :wf "
                 "group by object")
        statements: list[tuple[str, dict[str, Any]]] = []
        if replace_workflow:
            statements.append((f"delete from {target} where workflow = :wf and crm = :crm", params))
        statements += [(insert("c_h"), params), (insert("p_h"), params),
                       (count, {"run_id": run_id, "wf": self.workflow}), (totals, {})]
        results = self.wh.execute_many(statements, bulk=True)
        held = Held(table=table)
        for entity, rows in (("company", results[-4]), ("person", results[-3])):
            held.by_entity[entity] = _inserted(rows)
        for r in results[-2]:
            obj, n = list(r.values())[:2]
            held.counts[str(obj)] = int(n)
        tot = list(results[-1][0].values())
        return held, {"company": int(tot[0]), "person": int(tot[1])}


def _inserted(rows: list[dict[str, Any]]) -> int:
    """Rows an ``INSERT`` wrote, from the row it returns (DuckDB ``Count``, Snowflake ``number of rows inserted``)."""
    return int(next(iter(rows[0].values()))) if rows else 0
