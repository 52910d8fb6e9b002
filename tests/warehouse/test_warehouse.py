"""connectors.warehouse on DuckDB files and on Snowflake (fakesnow, in-process and over HTTP)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import fakesnow
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from connectors.errors import WarehouseError, WritebackError
from connectors.warehouse import Warehouse, default_url

LOG = pl.DataFrame({
    "run_id": ["r1", "r1"],
    "record_key": ["o'hara@acme.io", "jose.nunez@acme.io"],
    "attempt": [1, 2],
    "written_at": [datetime(2026, 11, 20, 8, 0), None],
    "day": [date(2026, 11, 20), date(2026, 11, 20)],
    "ok": [True, False],
})


@pytest.fixture
def duck(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse.duckdb(tmp_path / "warehouse.duckdb")
    warehouse.execute("create schema syncs")
    warehouse.execute(
        "create table syncs.sync_website_visitor__persons ("
        " email varchar, session_count integer, last_seen_at timestamp, activity_date date, demo_requested boolean)"
    )
    warehouse.execute(
        "insert into syncs.sync_website_visitor__persons values"
        " (:email, 3, timestamp '2026-11-01 10:00:00', date '2026-11-01', true)",
        {"email": "o'hara@acme.io"},
    )
    return warehouse


def test_read_model_returns_a_polars_frame_with_normalised_dtypes(duck: Warehouse) -> None:
    frame = duck.read_model("sync_website_visitor__persons")
    expected = pl.DataFrame(
        {"email": ["o'hara@acme.io"], "session_count": [3], "last_seen_at": [datetime(2026, 11, 1, 10)],
         "activity_date": [date(2026, 11, 1)], "demo_requested": [True]},
        schema={"email": pl.String, "session_count": pl.Int64, "last_seen_at": pl.Datetime("us"),
                "activity_date": pl.Date, "demo_requested": pl.Boolean},
    )
    assert_frame_equal(frame, expected)
    assert duck.read_model("sync_website_visitor__persons", columns=["demo_requested", "email"]).columns == [
        "demo_requested", "email"]
    assert duck.row_count("sync_website_visitor__persons") == 1
    assert duck.columns("sync_website_visitor__persons") == frame.columns  # names only, no rows read


def test_identifiers_are_quoted_not_pasted(duck: Warehouse) -> None:
    duck.execute('create schema "odd ""schema"""')
    duck.execute('create table "odd ""schema"""."Sync; drop table x" ("Email Address" varchar)')
    duck.execute('insert into "odd ""schema"""."Sync; drop table x" values (\'a@b.io\')')
    frame = duck.read_model('Sync; drop table x', schema='odd "schema"', columns=["Email Address"])
    assert frame.to_dicts() == [{"Email Address": "a@b.io"}]
    with pytest.raises(WarehouseError):
        duck.read_model("sync_website_visitor__persons", columns=['email" from syncs.x; --'])


def test_missing_models_and_files_raise_a_warehouse_error_naming_the_model(tmp_path: Path, duck: Warehouse) -> None:
    with pytest.raises(WarehouseError, match="has `dbt build` run") as missing:
        duck.read_model("sync_inbound_agent__persons")
    assert missing.value.model == "syncs.sync_inbound_agent__persons"
    assert isinstance(missing.value, WritebackError)

    nowhere = tmp_path / "not-built" / "warehouse.duckdb"
    with pytest.raises(WarehouseError, match="does not exist"):
        Warehouse.duckdb(nowhere).read_model("sync_website_visitor__persons")
    assert not nowhere.exists(), "reading must not create an empty warehouse"


def test_append_creates_the_table_then_appends_by_name(duck: Warehouse) -> None:
    duck.append("sync_log", LOG, schema="writeback")
    duck.append("sync_log", LOG.select(reversed(LOG.columns)).head(1), schema="writeback")
    stored = duck.read_model("sync_log", schema="writeback")
    assert_frame_equal(stored, pl.concat([LOG, LOG.head(1)]))
    assert duck.execute(
        "select count(*) as n from writeback.sync_log where record_key = :key", {"key": "o'hara@acme.io"}
    ) == [{"n": 2}]


def test_a_failed_append_writes_nothing(duck: Warehouse) -> None:
    duck.append("sync_log", LOG, schema="writeback")
    with pytest.raises(WarehouseError, match="cannot append") as failed:
        duck.append("sync_log", LOG.with_columns(attempt=pl.lit("second")), schema="writeback")
    assert failed.value.model == "writeback.sync_log"
    assert duck.row_count("sync_log", schema="writeback") == LOG.height


def test_an_append_with_a_new_column_adds_it_and_keeps_the_old_rows(duck: Warehouse) -> None:
    # A sync log written by an older release gains the column a newer one writes.
    duck.append("sync_log", LOG, schema="writeback")
    duck.append("sync_log", LOG.head(1).with_columns(org=pl.lit("00D000000000001")), schema="writeback")
    stored = duck.read_model("sync_log", schema="writeback")
    assert stored.height == LOG.height + 1
    assert stored["org"].to_list() == [None, None, "00D000000000001"]


def test_duckdb_connections_are_released_between_calls(duck: Warehouse, tmp_path: Path) -> None:
    """dbt (another process) must be able to write the file while a Warehouse object is alive."""
    duck.read_model("sync_website_visitor__persons")
    writer = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
        "c.execute(\"insert into syncs.sync_website_visitor__persons (email) values ('new@acme.io')\"); c.close()"
    )
    subprocess.run([sys.executable, "-c", writer, str(duck.duckdb_path)], check=True, timeout=60)
    assert duck.row_count("sync_website_visitor__persons") == 2


def test_default_url_follows_the_environment(tmp_path: Path) -> None:
    assert default_url({"WRITEBACK_WAREHOUSE_URL": "snowflake://u:p@acct/db/sch"}) == "snowflake://u:p@acct/db/sch"
    assert default_url({"WRITEBACK_DUCKDB_PATH": str(tmp_path / "w.duckdb")}) == f"duckdb:///{tmp_path}/w.duckdb"
    assert default_url({}).endswith("/.data/warehouse.duckdb")
    warehouse = Warehouse.from_env({"WRITEBACK_WAREHOUSE_URL": "snowflake://writer:secret@acct/analytics/public"})
    assert "secret" not in repr(warehouse)


# -- Snowflake ---------------------------------------------------------------------------------


def exercise_snowflake(warehouse: Warehouse, log: pl.DataFrame = LOG) -> None:
    warehouse.execute("create schema if not exists syncs")
    warehouse.execute(
        "create table syncs.sync_website_visitor__persons (email varchar, session_count integer,"
        " last_seen_at timestamp_ntz, activity_date date, demo_requested boolean)"
    )
    warehouse.execute(
        "insert into syncs.sync_website_visitor__persons values"
        " (:email, 3, '2026-11-01 10:00:00', '2026-11-01', true)",
        {"email": "o'hara@acme.io"},
    )
    frame = warehouse.read_model("sync_website_visitor__persons")
    # Snowflake reports EMAIL, SESSION_COUNT...; the engine sees the same names and dtypes as on DuckDB.
    assert dict(frame.schema) == {
        "email": pl.String, "session_count": pl.Int64, "last_seen_at": pl.Datetime("us"),
        "activity_date": pl.Date, "demo_requested": pl.Boolean,
    }
    assert frame.row(0) == ("o'hara@acme.io", 3, datetime(2026, 11, 1, 10), date(2026, 11, 1), True)
    assert warehouse.read_model("sync_website_visitor__persons", columns=["email"]).to_dicts() == [
        {"email": "o'hara@acme.io"}]
    assert warehouse.columns("sync_website_visitor__persons") == frame.columns  # lower-cased as read_model's

    warehouse.append("sync_log", log, schema="writeback")
    warehouse.append("sync_log", log.head(1), schema="writeback")
    assert_frame_equal(
        warehouse.read_model("sync_log", schema="writeback").sort("attempt", "written_at"),
        pl.concat([log, log.head(1)]).sort("attempt", "written_at"),
    )
    warehouse.append("sync_log", log.head(1).with_columns(org=pl.lit("00D1")), schema="writeback")
    assert warehouse.read_model("sync_log", schema="writeback")["org"].drop_nulls().to_list() == ["00D1"]
    with pytest.raises(WarehouseError, match="has `dbt build` run") as missing:
        warehouse.read_model("sync_outbound_agent__persons")
    assert missing.value.model == "syncs.sync_outbound_agent__persons"


def test_snowflake_through_the_patched_connector() -> None:
    with fakesnow.patch():
        warehouse = Warehouse("snowflake://writer:secret@acct/analytics/public")
        exercise_snowflake(warehouse)
        warehouse.close()


@pytest.fixture(scope="module")
def fakesnow_server() -> Iterator[dict[str, Any]]:
    with fakesnow.server() as connection_kwargs:
        yield connection_kwargs


def test_snowflake_over_http_with_the_real_connector(fakesnow_server: dict[str, Any]) -> None:
    # The unmodified connector and dialect speak Snowflake's wire protocol to a local server.
    endpoint = {k: v for k, v in fakesnow_server.items() if k not in ("user", "password", "account")}
    warehouse = Warehouse("snowflake://fake:snow@fakesnow/analytics/public", connect_args=endpoint)
    # fakesnow's server sends a null TIMESTAMP_NTZ as the epoch (the patched connector does not),
    # so this log has none.
    exercise_snowflake(warehouse, LOG.with_columns(pl.col("written_at").fill_null(datetime(2026, 11, 20, 9))))
    warehouse.close()
