"""The warehouse, as the sync engine sees it: read a sync model into polars, append rows, run SQL.

One class, :class:`Warehouse`, built from a SQLAlchemy URL:

- ``duckdb:////abs/path/warehouse.duckdb`` — the embedded default. Without a URL the path comes
  from ``WRITEBACK_DUCKDB_PATH``, else ``.data/warehouse.duckdb`` at the repo root (where dbt writes).
- ``snowflake://user:password@account/database/schema?warehouse=…&role=…`` — production, passed
  explicitly or through ``WRITEBACK_WAREHOUSE_URL`` (credentials stay in the environment). It needs
  the ``snowflake`` extra (``pip install 'crm-writeback[snowflake]'``); the base install is DuckDB only,
  so nothing here imports the Snowflake connector until a Snowflake URL is used.

The sync models are read from ``syncs`` (the schema dbt's production and DuckDB targets write), or
from ``WRITEBACK_SYNC_SCHEMA`` / the ``sync_schema`` argument when dbt ran a development target that
prefixes its schemas (``dbt_alice_syncs``).

Reads go through Arrow: DuckDB's relation fetch, Snowflake's ``fetch_arrow_all()`` (which needs the
connector's pandas extra; without it, or on other DB-API drivers, rows are converted to Arrow here
with the types the cursor describes). Frames come back with the same dtypes whatever the warehouse:
lower-case column names, integers as Int64, timestamps as Datetime("us").

Identifiers are quoted by the SQLAlchemy dialect, never pasted; values only travel as bind parameters.
DuckDB connections are opened per call and closed at once, because DuckDB lets one process write a
file at a time and dbt must be able to rebuild the models between two reads. Imports no dagster.

Another process may hold that write lock (a ``dbt build``, a DuckDB shell). A read then fails at
once with one line saying so: the run has done nothing yet and the next one will do it. An
append waits for the lock up to :data:`LOCK_WAIT_SECONDS` first: it records a run's sync log and
state, written after the CRM was, and losing them would cost the next run a read of every record.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool, StaticPool

from connectors.errors import WarehouseError
from connectors.warehouse_types import _cursor_to_arrow, _normalise, _rows_to_arrow, _sqlalchemy_type

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DUCKDB_PATH = REPO_ROOT / ".data" / "warehouse.duckdb"
URL_ENV = "WRITEBACK_WAREHOUSE_URL"
DUCKDB_PATH_ENV = "WRITEBACK_DUCKDB_PATH"
#: DuckDB's memory cap for the product's own connections (``WRITEBACK_DUCKDB_MEMORY_LIMIT``).
DUCKDB_MEMORY_ENV = "WRITEBACK_DUCKDB_MEMORY_LIMIT"
DEFAULT_DUCKDB_MEMORY = "512MB"
SYNC_SCHEMA = "syncs"
SYNC_SCHEMA_ENV = "WRITEBACK_SYNC_SCHEMA"
#: What a Snowflake URL without the extra installed tells the user (one line, no traceback worth reading).
SNOWFLAKE_EXTRA_HINT = "pip install 'crm-writeback[snowflake]'"
#: Where the product keeps its own tables (sync log, sync state), apart from dbt's schemas.
APP_SCHEMA = "writeback"

#: How long an append waits for another process's lock on the DuckDB file before it fails.
LOCK_WAIT_SECONDS = 60.0
_LOCKED = re.compile(r"Could not set lock on file|Conflicting lock is held", re.IGNORECASE)
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")

_APPEND_VIEW = "writeback_append_rows"
_INSERT_CHUNK = 10_000
#: Rows per Arrow batch when a query's result is streamed (:meth:`Warehouse.stream`).
STREAM_BATCH = 100_000
#: DuckDB settings while :meth:`Warehouse.execute_many` writes rows in bulk (measured on a 1M-row
#: insert of sync-log rows, ``bench/README.md``): no insertion order to keep (every thread may
#: write), and dictionary compression instead of trying every method on every column, which
#: took half the insert's CPU. Constant columns still shrink to one dictionary entry.
DUCKDB_BULK_SETTINGS = {"preserve_insertion_order": "false", "force_compression": "dictionary"}
_OUT_OF_MEMORY = re.compile(r"Out of Memory Error", re.IGNORECASE)
_BIND = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def default_url(environ: Mapping[str, str] | None = None) -> str:
    """``WRITEBACK_WAREHOUSE_URL``, else the DuckDB file dbt builds (``WRITEBACK_DUCKDB_PATH`` or the default)."""
    env = os.environ if environ is None else environ
    if env.get(URL_ENV):
        return env[URL_ENV]
    path = Path(env.get(DUCKDB_PATH_ENV) or DEFAULT_DUCKDB_PATH).expanduser().resolve()
    return f"duckdb:///{path}"


class Warehouse:
    """A SQLAlchemy engine plus the few operations the sync engine needs."""

    def __init__(self, url: str | URL | None = None, *, connect_args: Mapping[str, Any] | None = None,
                 lock_wait: float = LOCK_WAIT_SECONDS, sync_schema: str | None = None) -> None:
        self.url = sa.make_url(url or default_url())
        self.lock_wait = lock_wait
        self.dialect = self.url.get_backend_name()
        #: Where the dbt sync models are: the argument, else ``WRITEBACK_SYNC_SCHEMA``, else ``syncs``.
        self.sync_schema = sync_schema or os.environ.get(SYNC_SCHEMA_ENV) or SYNC_SCHEMA
        options: dict[str, Any] = {}
        if connect_args:
            options["connect_args"] = dict(connect_args)
        if self.dialect == "duckdb":
            # An in-memory database lives only as long as its connection, so it must be shared.
            options["poolclass"] = StaticPool if self.duckdb_path is None else NullPool
            # DuckDB runs inside this process: by default it may cache up to 80% of the machine's
            # memory. A cap keeps a big diff's joins and scans bounded (it spills to disk past it).
            config = dict(options.get("connect_args", {}).get("config", {}))
            config.setdefault("memory_limit", os.environ.get(DUCKDB_MEMORY_ENV, DEFAULT_DUCKDB_MEMORY))
            options["connect_args"] = {**options.get("connect_args", {}), "config": config}
        try:
            self._engine = sa.create_engine(self.url, **options)
        except (sa.exc.NoSuchModuleError, ImportError) as exc:
            raise self._missing_driver(exc) from None
        #: Rows brought back into this process by :meth:`stream` and :meth:`frame` (the diff's
        #: returned rows), so a run can show that what the warehouse kept never left it.
        self.rows_fetched = 0
        #: Rows of whole tables read by :meth:`read_model` (a sync model, the product's own small
        #: tables), kept apart so a run can also show it read no model into Python.
        self.rows_read = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Warehouse:
        """``WRITEBACK_WAREHOUSE_URL``, else the DuckDB file dbt builds."""
        return cls(default_url(environ))

    @classmethod
    def duckdb(cls, path: str | os.PathLike[str]) -> Warehouse:
        return cls(f"duckdb:///{Path(path).expanduser().resolve()}")

    def __repr__(self) -> str:
        return f"Warehouse({self.url.render_as_string(hide_password=True)!r})"

    @property
    def duckdb_path(self) -> Path | None:
        """The DuckDB file, or None for in-memory DuckDB and other warehouses."""
        database = self.url.database
        if self.dialect != "duckdb" or not database or database == ":memory:":
            return None
        return Path(database)

    def _missing_driver(self, exc: BaseException) -> WarehouseError:
        """The install lacks this URL's driver: name the extra to install, not SQLAlchemy's plugin loader."""
        url = self.url.render_as_string(hide_password=True)
        if self.dialect == "snowflake":
            return WarehouseError(f"{url} is a Snowflake warehouse, which this install cannot reach: "
                                  f"{SNOWFLAKE_EXTRA_HINT}")
        return WarehouseError(f"{url}: no SQLAlchemy driver for {self.dialect!r} is installed ({exc})")

    def close(self) -> None:
        self._engine.dispose()

    # -- reading -------------------------------------------------------------------------------

    def read_model(self, name: str, schema: str | None = None, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The rows of ``schema.name`` (a dbt model: table or view) as a polars frame.

        ``columns`` picks and orders columns; by default all of them, in the model's order.
        Raises :class:`WarehouseError` (carrying the model name) when the model is missing or unreadable.
        """
        schema = schema or self.sync_schema
        model = f"{schema}.{name}"
        if columns is not None and not columns:
            raise WarehouseError("columns must name at least one column (or be None for all)", model=model)
        self._require_duckdb_file(model)
        select_list = ", ".join(self._quote(column, model) for column in columns) if columns else "*"
        query = f"select {select_list} from {self._qualified(schema, name, model)}"
        try:
            with self._engine.connect() as conn:
                table = self._fetch_arrow(conn, query)
        except self._errors as exc:
            raise self._read_error(model, name, schema, exc) from exc
        self.rows_read += table.num_rows
        return _normalise(table, uppercase_means_lower=self.dialect == "snowflake")

    def columns(self, name: str, schema: str | None = None) -> list[str]:
        """The column names of ``schema.name`` as :meth:`read_model` returns them, without reading its rows."""
        schema = schema or self.sync_schema
        model = f"{schema}.{name}"
        self._require_duckdb_file(model)
        query = f"select * from {self._qualified(schema, name, model)} limit 0"
        try:
            with self._engine.connect() as conn:
                table = self._fetch_arrow(conn, query)
        except self._errors as exc:
            raise self._read_error(model, name, schema, exc) from exc
        return _normalise(table, uppercase_means_lower=self.dialect == "snowflake").columns

    def row_count(self, name: str, schema: str | None = None) -> int:
        schema = schema or self.sync_schema
        model = f"{schema}.{name}"
        self._require_duckdb_file(model)
        try:
            with self._engine.connect() as conn:
                result = conn.execute(sa.text(f"select count(*) from {self._qualified(schema, name, model)}"))
                return int(result.scalar_one())
        except self._errors as exc:
            raise self._read_error(model, name, schema, exc) from exc

    def table_exists(self, name: str, schema: str | None = None) -> bool:
        schema = schema or self.sync_schema
        if self.duckdb_path is not None and not self.duckdb_path.exists():
            return False
        try:
            with self._engine.connect() as conn:
                return sa.inspect(conn).has_table(name, schema=schema)
        except self._errors as exc:
            if _LOCKED.search(str(exc)):
                raise self._locked(f"{schema}.{name}", exc) from exc
            raise WarehouseError(f"cannot look the table up: {exc}", model=f"{schema}.{name}") from exc

    # -- writing -------------------------------------------------------------------------------

    def append(self, table: str, df: pl.DataFrame, schema: str = APP_SCHEMA) -> None:
        """Append the frame's rows to ``schema.table``, creating the schema and table if missing.

        Columns are matched by name, so the frame may list them in any order; the whole frame is
        written in one transaction or not at all. A column the frame has and the table lacks is
        added first (nullable), so a table written by an older release gains the new column and
        keeps its history instead of failing the run.
        """
        model = f"{schema}.{table}"
        if df.width == 0:
            raise WarehouseError("nothing to append: the frame has no columns", model=model)
        if self.duckdb_path is not None:
            self.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                if self.dialect == "duckdb":
                    self._append_duckdb(table, df, schema, model)
                else:
                    self._append_generic(table, df, schema, model)
                return
            except self._errors as exc:
                if _LOCKED.search(str(exc)):
                    if time.monotonic() < deadline:
                        time.sleep(0.2)
                        continue
                    raise self._locked(model, exc, waited=True) from exc
                raise WarehouseError(f"cannot append {df.height} row(s): {exc}", model=model) from exc

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one statement in its own transaction; ``:name`` placeholders take ``params``.

        Returns the result rows as dicts (empty for statements that return none).
        """
        try:
            with self._engine.begin() as conn:
                result = conn.execute(sa.text(sql), dict(params or {}))
                return [dict(row._mapping) for row in result] if result.returns_rows else []
        except self._errors as exc:
            raise WarehouseError(f"statement failed: {exc}") from exc

    def stream(self, sql: str, params: Mapping[str, Any] | None = None, *, batch_rows: int = STREAM_BATCH,
               before: Sequence[tuple[str, Mapping[str, Any]]] = (),
               after: Sequence[str] = ()) -> Iterator[pl.DataFrame]:
        """The result of one query as polars frames of at most ``batch_rows`` rows each.

        Memory stays bounded by the batch, whatever the result's size: DuckDB hands Arrow record
        batches over directly; other warehouses are read with ``fetchmany`` through SQLAlchemy
        (``stream_results``) and each batch converted to Arrow with the types the cursor
        describes. ``:name`` placeholders take ``params``. Every row yielded counts in
        :attr:`rows_fetched`. Frames have the names and dtypes :meth:`read_model` gives.

        ``before`` statements run first on the same connection, so the query can read the
        temporary tables they create (a big query split in steps, each with its own memory);
        ``after`` statements run last, whether or not the query succeeded (drop those tables:
        an in-memory DuckDB shares one connection).
        """
        values = dict(params or {})
        snowflake = self.dialect == "snowflake"
        try:
            with self._engine.connect() as conn:
                try:
                    if self.dialect == "duckdb":
                        raw = _driver_connection(conn)
                        for statement, args in before:
                            raw.execute(*_duckdb_bind(statement, args))
                        query, args = _duckdb_bind(sql, values)
                        relation = raw.sql(query, params=args)
                        # DuckDB 2 names it to_arrow_reader; 1.x fetch_arrow_reader / record_batch.
                        reader = (getattr(relation, "to_arrow_reader", None) or relation.record_batch)(batch_rows)
                        for batch in reader:
                            if batch.num_rows:
                                self.rows_fetched += batch.num_rows
                                yield _normalise(pa.Table.from_batches([batch]), uppercase_means_lower=False)
                        return
                    for statement, args in before:
                        conn.execute(sa.text(statement), dict(args))
                    result = conn.execution_options(stream_results=True).execute(sa.text(sql), values)
                    description = result.cursor.description if result.cursor is not None else []
                    while rows := result.fetchmany(batch_rows):
                        self.rows_fetched += len(rows)
                        yield _normalise(_rows_to_arrow(description, rows, snowflake=snowflake),
                                         uppercase_means_lower=snowflake)
                finally:
                    for statement in after:
                        with contextlib.suppress(*self._errors):
                            if self.dialect == "duckdb":
                                _driver_connection(conn).execute(statement)
                            else:
                                conn.execute(sa.text(statement))
        except self._errors as exc:
            raise WarehouseError(f"query failed: {exc}") from exc

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """A (small) query's whole result as one frame, with the columns even when it has no row."""
        values = dict(params or {})
        try:
            with self._engine.connect() as conn:
                if self.dialect == "duckdb":
                    relation = _driver_connection(conn).sql(_BIND.sub(r"$\1", sql), params=values)
                    table = (getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table)()
                else:
                    result = conn.execute(sa.text(sql), values)
                    description = result.cursor.description if result.cursor is not None else []
                    table = _rows_to_arrow(description, result.fetchall(), snowflake=self.dialect == "snowflake")
        except self._errors as exc:
            raise WarehouseError(f"query failed: {exc}") from exc
        self.rows_fetched += table.num_rows
        return _normalise(table, uppercase_means_lower=self.dialect == "snowflake")

    def execute_many(self, statements: Sequence[tuple[str, Mapping[str, Any]]], *,
                     bulk: bool = False) -> list[list[dict[str, Any]]]:
        """Run several statements in one transaction (all or none); each one's result rows.

        ``bulk``: the statements write many rows (a run's ``unchanged`` outcomes, a million for
        a million-row model) in no particular order. On DuckDB the transaction then runs with
        :data:`DUCKDB_BULK_SETTINGS`, restored afterwards (they are global to the database and
        an in-memory database shares its connection). When DuckDB runs out of memory there,
        the transaction (rolled back, nothing written) is run once more on one thread: with
        several, each thread's hash tables need memory at once and some could not spill (a
        10M-row diff under the 512MB cap, measured); on one thread they spill to disk in turn.
        """
        relax = bulk and self.dialect == "duckdb"
        try:
            return self._execute_many(statements, DUCKDB_BULK_SETTINGS if relax else {})
        except self._errors as exc:
            if relax and _OUT_OF_MEMORY.search(str(exc)):
                try:
                    return self._execute_many(statements, {**DUCKDB_BULK_SETTINGS, "threads": "1"})
                except self._errors as again:
                    raise WarehouseError(f"statement failed: {again}") from again
            raise WarehouseError(f"statement failed: {exc}") from exc

    def _execute_many(self, statements: Sequence[tuple[str, Mapping[str, Any]]],
                      settings: Mapping[str, str]) -> list[list[dict[str, Any]]]:
        out: list[list[dict[str, Any]]] = []
        with self._engine.connect() as conn:
            before: dict[str, Any] = {}
            raw: Any = _driver_connection(conn) if settings else None
            for name, value in settings.items():  # outside the transaction: restored even when it rolls back
                before[name] = raw.execute("select current_setting(?)", [name]).fetchone()[0]
                raw.execute(f"set {name} = '{value}'")
            try:
                with conn.begin():
                    for sql, params in statements:
                        result = conn.execute(sa.text(sql), dict(params))
                        out.append([dict(row._mapping) for row in result] if result.returns_rows else [])
            finally:
                for name, value in before.items():
                    raw.execute(f"set {name} = '{value}'")
        return out

    def raw_columns(self, name: str, schema: str = SYNC_SCHEMA) -> list[str]:
        """The column names of ``schema.name`` as the warehouse spells them (to quote them in SQL)."""
        model = f"{schema}.{name}"
        self._require_duckdb_file(model)
        query = f"select * from {self._qualified(schema, name, model)} limit 0"
        try:
            with self._engine.connect() as conn:
                return [str(c) for c in self._fetch_arrow(conn, query).column_names]
        except self._errors as exc:
            raise self._read_error(model, name, schema, exc) from exc

    def quote(self, identifier: str) -> str:
        """``identifier`` quoted for this warehouse's SQL."""
        return self._quote(identifier, identifier)

    def upsert(self, table: str, df: pl.DataFrame, keys: Sequence[str], schema: str = APP_SCHEMA) -> None:
        """Replace the rows of ``schema.table`` whose ``keys`` match a row of ``df`` by ``df``'s rows.

        One transaction: a delete of the matching keys and an insert, through a staging table, so
        the table keeps one row per key without a MERGE (same SQL on every warehouse). The table
        is created when missing. ``df`` must hold one row per key.
        """
        model = f"{schema}.{table}"
        if df.is_empty():
            return
        self.append(table, df.head(0), schema=schema)  # creates the table (and new columns) if missing
        target = self._qualified(schema, table, model)
        cols = ", ".join(self._quote(c, model) for c in df.columns)
        try:
            if self.dialect == "duckdb":
                match = " and ".join(f"v.{self._quote(k, model)} = {target}.{self._quote(k, model)}" for k in keys)
                with self._duckdb_transaction(df) as raw:
                    raw.execute(f"delete from {target} where exists (select 1 from {_APPEND_VIEW} v where {match})")
                    raw.execute(f"insert into {target} ({cols}) select {cols} from {_APPEND_VIEW}")
                return
            staging = f"{table}_incoming"
            columns = [sa.Column(name, _sqlalchemy_type(dtype, name, model)) for name, dtype in df.schema.items()]
            temp = sa.Table(staging, sa.MetaData(), *columns, prefixes=["TEMPORARY"])
            match = " and ".join(f"v.{self._quote(k, model)} = {target}.{self._quote(k, model)}" for k in keys)
            with self._engine.begin() as conn:
                temp.create(conn)
                for chunk in df.iter_slices(_INSERT_CHUNK):
                    conn.execute(temp.insert(), chunk.to_dicts())
                src = self._quote(staging, model)
                conn.execute(sa.text(f"delete from {target} where exists (select 1 from {src} v where {match})"))
                conn.execute(sa.text(f"insert into {target} ({cols}) select {cols} from {src}"))
                conn.execute(sa.text(f"drop table {src}"))
        except self._errors as exc:
            raise WarehouseError(f"cannot write {df.height} row(s): {exc}", model=model) from exc

    def drop(self, table: str, schema: str = APP_SCHEMA) -> None:
        """Drop ``schema.table`` if it exists."""
        model = f"{schema}.{table}"
        if self.duckdb_path is not None and not self.duckdb_path.exists():
            return
        self.execute(f"drop table if exists {self._qualified(schema, table, model)}")

    # -- internals -----------------------------------------------------------------------------

    @property
    def _errors(self) -> tuple[type[BaseException], ...]:
        # Raw-connection calls raise the driver's own errors, not SQLAlchemy's.
        dbapi = getattr(self._engine.dialect, "loaded_dbapi", None)
        driver_error = getattr(dbapi, "Error", None)
        return (sa.exc.SQLAlchemyError,) + ((driver_error,) if isinstance(driver_error, type) else ())

    def _quote(self, identifier: str, model: str) -> str:
        if not isinstance(identifier, str) or not identifier:
            raise WarehouseError(f"identifier must be a non-empty string, got {identifier!r}", model=model)
        return self._engine.dialect.identifier_preparer.quote(identifier)

    def _qualified(self, schema: str, name: str, model: str) -> str:
        return f"{self._quote(schema, model)}.{self._quote(name, model)}"

    def _require_duckdb_file(self, model: str) -> None:
        # Opening a missing file would silently create an empty warehouse.
        path = self.duckdb_path
        if path is not None and not path.exists():
            raise WarehouseError(
                f"the DuckDB warehouse {path} does not exist; build it first (`writeback demo` or `dbt build`)",
                model=model,
            )

    def _locked(self, model: str, exc: BaseException, *, waited: bool = False) -> WarehouseError:
        """One line for a DuckDB file another process holds: who holds it, and what to do."""
        m = _LOCK_HOLDER.search(str(exc))
        holder = f" (PID {m.group(1)})" if m else ""
        wait = f" for {self.lock_wait:g} s" if waited else ""
        return WarehouseError(f"the DuckDB file {self.duckdb_path} is locked by another process{holder}{wait}, "
                              "e.g. a dbt build or a DuckDB shell; run again once it is done", model=model)

    def _read_error(self, model: str, name: str, schema: str, exc: BaseException) -> WarehouseError:
        if _LOCKED.search(str(exc)):
            return self._locked(model, exc)
        try:
            exists = self.table_exists(name, schema)
        except WarehouseError:
            exists = True
        if not exists:
            return WarehouseError(f"not found in {self!r}; has `dbt build` run?", model=model)
        return WarehouseError(f"cannot be read: {exc}", model=model)

    def _fetch_arrow(self, conn: Connection, query: str) -> pa.Table:
        raw = _driver_connection(conn)
        if self.dialect == "duckdb":
            # to_arrow_table exists in every DuckDB the dependency bounds allow (1.1 to 2.x).
            return raw.sql(query).to_arrow_table()
        cursor = raw.cursor()
        try:
            cursor.execute(query)
            return _cursor_to_arrow(cursor, snowflake=self.dialect == "snowflake")
        finally:
            cursor.close()

    def _append_duckdb(self, table: str, df: pl.DataFrame, schema: str, model: str) -> None:
        target = self._qualified(schema, table, model)
        with self._duckdb_transaction(df) as raw:
            raw.execute(f"create schema if not exists {self._quote(schema, model)}")
            raw.execute(f"create table if not exists {target} as select * from {_APPEND_VIEW} limit 0")
            have = {r[0] for r in raw.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                [schema, table]).fetchall()}
            for name in df.columns:
                if name not in have:
                    sql_type = _sqlalchemy_type(df.schema[name], name, model).compile(dialect=self._engine.dialect)
                    raw.execute(f"alter table {target} add column {self._quote(name, model)} {sql_type}")
            raw.execute(f"insert into {target} by name select * from {_APPEND_VIEW}")

    @contextlib.contextmanager
    def _duckdb_transaction(self, df: pl.DataFrame) -> Iterator[Any]:
        """DuckDB's own connection in one transaction, with ``df`` readable as ``_APPEND_VIEW``
        (zero-copy from Arrow); committed when the block ends, rolled back if it raises."""
        with self._engine.connect() as conn:
            raw = _driver_connection(conn)
            raw.register(_APPEND_VIEW, df.to_arrow())
            try:
                raw.execute("begin transaction")
                yield raw
                raw.execute("commit")
            except BaseException:
                raw.execute("rollback")
                raise
            finally:
                raw.unregister(_APPEND_VIEW)

    def _append_generic(self, table: str, df: pl.DataFrame, schema: str, model: str) -> None:
        columns = [sa.Column(name, _sqlalchemy_type(dtype, name, model)) for name, dtype in df.schema.items()]
        target = sa.Table(table, sa.MetaData(), *columns, schema=schema)
        with self._engine.begin() as conn:
            # Checking first: CREATE SCHEMA IF NOT EXISTS needs a privilege a sync role may lack.
            if not sa.inspect(conn).has_schema(schema):
                conn.execute(sa.schema.CreateSchema(schema))
            target.create(conn, checkfirst=True)
            have = {c["name"].lower() for c in sa.inspect(conn).get_columns(table, schema=schema)}
            for column in columns:
                if column.name.lower() not in have:
                    sql_type = column.type.compile(dialect=self._engine.dialect)
                    conn.execute(sa.text(f"alter table {self._qualified(schema, table, model)} "
                                         f"add column {self._quote(column.name, model)} {sql_type}"))
            for chunk in df.iter_slices(_INSERT_CHUNK):
                conn.execute(target.insert(), chunk.to_dicts())


def _duckdb_bind(sql: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``:name`` placeholders as DuckDB's ``$name``, with only the parameters the statement names
    (DuckDB refuses any other)."""
    names = set(_BIND.findall(sql))
    return _BIND.sub(r"$\1", sql), {k: v for k, v in params.items() if k in names}


def _driver_connection(conn: Connection) -> Any:
    """The driver's own connection (duckdb's, snowflake-connector's) behind a SQLAlchemy one."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise WarehouseError("the SQLAlchemy connection has no driver connection")
    return raw
