"""Bulk transactions and staged queries on the warehouse (``Warehouse.execute_many(bulk=True)``,
``Warehouse.stream(before=…, after=…)``), as the warehouse diff uses them.

Promises:
- a bulk transaction's DuckDB settings (no insertion order, dictionary compression) hold for that
  transaction only: they are restored after it, whether it committed or rolled back (an
  in-memory DuckDB shares one connection with every later read);
- a query streamed after ``before`` statements reads the temporary table they made, and the
  ``after`` statements drop it, on DuckDB and on Snowflake (fakesnow).
"""

from __future__ import annotations

from typing import Any

import fakesnow
import polars as pl
import pytest

from connectors.errors import WarehouseError
from connectors.warehouse import Warehouse


def _settings(wh: Warehouse) -> tuple[Any, Any]:
    row = wh.execute("select current_setting('preserve_insertion_order') as o, "
                     "current_setting('force_compression') as c")[0]
    return row["o"], row["c"]


def test_bulk_settings_are_restored_after_commit_and_rollback() -> None:
    wh = Warehouse("duckdb:///:memory:")
    before = _settings(wh)
    wh.execute("create table t (a integer)")
    seen = wh.execute_many([("insert into t select * from range(1000)", {}),
                            ("select current_setting('force_compression') as c", {})], bulk=True)
    assert seen[1] == [{"c": "dictionary"}]  # in force inside the transaction
    assert _settings(wh) == before
    with pytest.raises(WarehouseError):
        wh.execute_many([("insert into t select * from range(10)", {}), ("select * from missing", {})], bulk=True)
    assert _settings(wh) == before
    assert wh.execute("select count(*) as n from t")[0]["n"] == 1000  # the failed one wrote nothing
    wh.close()


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake"])
def test_a_streamed_query_reads_the_temporary_table_made_before_it(dialect: str, tmp_path: Any) -> None:
    with fakesnow.patch():
        wh = (Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") if dialect == "duckdb"
              else Warehouse("snowflake://writer:secret@acct/analytics/public"))
        wh.append("nums", pl.DataFrame({"n": [1, 2, 3, 4]}), schema="s")
        made = "create temporary table evens as select n from s.nums where n in (2, 4)"
        frames = list(wh.stream("select n from evens where n > :least order by n", {"least": 0},
                                before=[(made, {})], after=["drop table if exists evens"]))
        assert pl.concat(frames)["n"].to_list() == [2, 4]
        # Dropped after: the same statement succeeds again on a new stream.
        again = list(wh.stream("select count(*) as c from evens", before=[(made, {})],
                               after=["drop table if exists evens"]))
        assert again[0]["c"].to_list() == [2]
        wh.close()
