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
value: ``writeback.sync_keys`` maps each raw email / domain ever seen to its key. Before the
diff, the raw values the map lacks are read (on a re-run: none), normalised here and added.
With the map the warehouse groups rows by their normalised key exactly as Python would, so:

- a row is **held** (stays in the warehouse, ``unchanged``) only when its key is usable, no other
  row of the model has the same key (counted by an aggregate over the key column alone, not a
  window that would hold every row's columns), the state holds a CRM id for it and its fingerprint equals
  the state's; for a person also when its company is held (or not in the company model);
- every other row comes back — all rows of a duplicated key together, rows without a key, new
  and changed rows — with its 1-based place in the model (``__row``, the order the warehouse
  scans it) and its state, so :func:`~dagster_pipeline.sync.keys.key_rows` finds missing and
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
from dagster_pipeline.sync.state import KEYS_SCHEMA, KEYS_TABLE, SCHEMA, STATE_TABLE

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

    def _c(self, side: Side, name: str) -> str:
        col = side.column(name)
        return f"cast(m.{self.wh.quote(col)} as varchar)" if col else "cast(null as varchar)"

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
            parts = [f"select {self._c(side, col)} as v from {self._t(side.schema, side.table)} m"
                     for side, col in cols if side.column(col)]
            if not parts:
                continue
            sql = (f"select distinct u.v as raw from ({' union all '.join(parts)}) u where u.v is not null "
                   f"and not exists (select 1 from {keys} k where k.kind = :kind and k.raw = u.v)")
            for batch in self.wh.stream(sql, {"kind": kind}):
                raw = batch["raw"].cast(pl.Utf8)
                normal = domain_keys(raw) if kind == "domain" else email_keys(raw)
                frame = pl.DataFrame({"kind": kind, "raw": raw, "key": normal}).cast(KEYS_SCHEMA)
                self.wh.append(KEYS_TABLE, frame, schema=SCHEMA)
                added += frame.height
        return added

    # -- the query ---------------------------------------------------------------------
    def _fingerprint(self, side: Side, sig: str) -> str:
        # ``hash`` is variadic and 64-bit on both DuckDB and Snowflake, and reads each column in
        # its own type: ~9x cheaper than md5 over the columns rendered as text, which made the
        # fingerprint most of a no-change run.
        cols = sorted((c for c in side.columns if c.lower() not in UNHASHED), key=str.lower)
        args = [f"cast(:{sig} as varchar)", *(f"s.{self.wh.quote(c)}" for c in cols)]
        return f"cast(hash({', '.join(args)}) as varchar)"

    def _ctes(self) -> tuple[str, dict[str, Any]]:
        """``c_f`` / ``p_f``: every row of each model with its key, fingerprint, state and ``__held`` flag."""
        state = self._t(SCHEMA, STATE_TABLE)
        # One row per raw value, even if two runs added the same one at once.
        keys = f"(select kind, raw, min(key) as key from {self._t(SCHEMA, KEYS_TABLE)} group by kind, raw)"
        c, p = self.company, self.person
        params: dict[str, Any] = {"crm": self.crm, "org": self.org, "wf": self.workflow,
                                  "c_sig": c.signature, "p_sig": p.signature}
        objects = [f":obj{i}" for i in range(len(p.objects))] or ["cast(null as varchar)"]
        params.update({f"obj{i}": o for i, o in enumerate(p.objects)})
        over = "over ()" if self.wh.dialect == "duckdb" else "over (order by null)"
        ckey, pkey = self.wh.quote(c.column(c.key_column) or c.key_column), self.wh.quote(
            p.column(p.key_column) or p.key_column)
        pdom = p.column("company_domain")
        ck = f"cast(s.{self.wh.quote(pdom)} as varchar)" if pdom else "cast(null as varchar)"
        yes = lambda flag: "1 = 1" if flag else "1 = 0"  # noqa: E731
        sql = f"""
c_src as (select m.*, row_number() {over} as __row from {self._t(c.schema, c.table)} m),
c_k as (select s.*, km.key as __nkey, {self._fingerprint(c, 'c_sig')} as {SRC}
        from c_src s left join {keys} km on km.kind = 'domain' and km.raw = cast(s.{ckey} as varchar)),
c_cnt as (select km.key as __k, count(*) as __n from {self._t(c.schema, c.table)} m
          join {keys} km on km.kind = 'domain' and km.raw = cast(m.{ckey} as varchar) group by km.key),
c_n as (select k.*, cn.__n from c_k k left join c_cnt cn on cn.__k = k.__nkey),
c_j as (select n.*, st.crm_object as {ST_OBJECT}, st.crm_id as {ST_CRM_ID}, st.payload_hash as {ST_HASH}
        from c_n n left join {state} st on st.crm = :crm and st.org = :org and st.workflow = :wf
        and st.entity = 'company' and st.key = n.__nkey),
c_f as (select j.*, case when {yes(c.hold)} and j.__nkey is not null and j.__n = 1
        and j.{ST_CRM_ID} is not null and j.{ST_HASH} = j.{SRC} then 1 else 0 end as __held from c_j j),
c_keys as (select distinct __nkey from c_f where __nkey is not null),
c_held as (select __nkey, {ST_CRM_ID} from c_f where __held = 1),
p_src as (select m.*, row_number() {over} as __row from {self._t(p.schema, p.table)} m),
p_k as (select s.*, km.key as __nkey, kc.key as __ck, {self._fingerprint(p, 'p_sig')} as {SRC}
        from p_src s left join {keys} km on km.kind = 'email' and km.raw = cast(s.{pkey} as varchar)
        left join {keys} kc on kc.kind = 'domain' and kc.raw = {ck}),
p_cnt as (select km.key as __k, count(*) as __n from {self._t(p.schema, p.table)} m
          join {keys} km on km.kind = 'email' and km.raw = cast(m.{pkey} as varchar) group by km.key),
p_n as (select k.*, pn.__n from p_k k left join p_cnt pn on pn.__k = k.__nkey),
p_j as (select n.*, st.crm_object as {ST_OBJECT}, st.crm_id as {ST_CRM_ID}, st.payload_hash as {ST_HASH},
        hc.{ST_CRM_ID} as {HELD_COMPANY_ID}, case when ck.__nkey is null then 0 else 1 end as __ck_known
        from p_n n left join {state} st on st.crm = :crm and st.org = :org and st.workflow = :wf
        and st.entity = 'person' and st.key = n.__nkey
        left join c_held hc on hc.__nkey = n.__ck
        left join c_keys ck on ck.__nkey = n.__ck),
p_f as (select j.*, case when {yes(p.hold)} and j.__nkey is not null and j.__n = 1
        and j.{ST_CRM_ID} is not null and j.{ST_OBJECT} in ({', '.join(objects)})
        and (j.__ck is null or j.__ck_known = 0 or j.{HELD_COMPANY_ID} is not null)
        and j.{ST_HASH} = j.{SRC} || '|' || coalesce(j.{HELD_COMPANY_ID}, '') then 1 else 0 end as __held
        from p_j j)"""
        return sql, params

    def returned(self, side: Side, batch_rows: int | None = None, *, expected: int | None = None) -> pl.DataFrame:
        """The rows of ``side`` that leave the warehouse, in model order, with ``__row``, fingerprint and state.

        ``expected`` 0 (every row was held: a run that changed nothing) skips the query: the diff
        is not computed a second time to find nothing.
        """
        if expected == 0:
            return self._empty(side)
        ctes, params = self._ctes()
        cte = "c_f" if side is self.company else "p_f"
        cols = [f"f.{self.wh.quote(c)}" for c in side.columns]
        extra = [f"f.__row as {ROW}", f"f.{SRC}", f"f.{ST_OBJECT}", f"f.{ST_CRM_ID}", f"f.{ST_HASH}"]
        if side is self.person:
            extra.append(f"f.{HELD_COMPANY_ID}")
        sql = f"with {ctes} select {', '.join([*cols, *extra])} from {cte} f where f.__held = 0"
        kw = {"batch_rows": batch_rows} if batch_rows else {}
        frames = list(self.wh.stream(sql, params, **kw))
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
        """
        ctes, params = self._ctes()
        target = self._t(SCHEMA, table)
        params.update({"run_id": run_id, "run_at": run_at, "mode": mode})
        held = (f"select 'company' as ent, {ST_OBJECT} as obj, __nkey as k, {ST_CRM_ID} as crm_id from c_f "
                f"where __held = 1 union all select 'person', {ST_OBJECT}, __nkey, {ST_CRM_ID} from p_f "
                "where __held = 1")
        # The held rows are found once (a temporary table of three columns), then logged and counted.
        scratch = self.wh.quote("writeback_held_rows")
        insert = (f"insert into {target} (run_id, run_at, mode, workflow, crm, org, object, key, crm_id, action, "
                  f"status, reason, changed_fields, message) select :run_id, :run_at, :mode, :wf, :crm, :org, "
                  f"h.obj, h.k, h.crm_id, 'unchanged', 'unchanged', cast(null as varchar), cast(null as varchar), "
                  f"cast(null as varchar) from {scratch} h")
        c, p = self.company, self.person
        totals = (f"select (select count(*) from {self._t(c.schema, c.table)}) as companies, "
                  f"(select count(*) from {self._t(p.schema, p.table)}) as persons")
        statements: list[tuple[str, dict[str, Any]]] = [
            (f"create temporary table {scratch} as select * from (with {ctes} {held}) q", params)]
        if replace_workflow:
            statements.append((f"delete from {target} where workflow = :wf and crm = :crm", params))
        count = f"select h.ent, h.obj, count(*) as n from {scratch} h group by h.ent, h.obj"
        statements += [(insert, params), (count, {}), (totals, {}), (f"drop table {scratch}", {})]
        results = self.wh.execute_many(statements)
        held_rows = Held(table=table)
        for r in results[-3]:
            ent, obj, n = (list(r.values()) + [0])[:3]
            held_rows.counts[str(obj)] = held_rows.counts.get(str(obj), 0) + int(n)
            held_rows.by_entity[str(ent)] = held_rows.by_entity.get(str(ent), 0) + int(n)
        tot = list(results[-2][0].values())
        return held_rows, {"company": int(tot[0]), "person": int(tot[1])}

