"""The warehouse diff's SQL on its own: which rows stay, which come back, and the key map's layout —
on DuckDB and on Snowflake (fakesnow), without a CRM.

Promises (``dagster_pipeline/sync/warehouse_diff.py``, README "Diff in the warehouse"):
- a row is held (logged ``unchanged`` in the warehouse, never read) only when its key is usable,
  no other row has that key, the state holds a CRM id and the same fingerprint, and, for a
  person, its company is held or not in the company model;
- every other row comes back once, with its 1-based place in the model, its fingerprint and
  its state: rows of a duplicated key (however spelled), rows without a key, changed rows,
  people whose company changed; the held company's CRM id comes with a person whose company
  is held;
- ``writeback.sync_keys`` has one row per raw value: a pair left by two concurrent runs is
  reduced to one by the next run that adds keys, and by the first ``prepare`` of a table an
  older release wrote.

One diff is set up per warehouse (module scope) and every assertion reads its result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import fakesnow
import polars as pl
import pytest

from connectors.warehouse import Warehouse
from dagster_pipeline.sync.keys import ROW
from dagster_pipeline.sync.state import KEYS_SCHEMA, KEYS_TABLE, PLAN_TABLE, SCHEMA, STATE_TABLE, SyncStore
from dagster_pipeline.sync.warehouse_diff import HELD_COMPANY_ID, SRC, ST_CRM_ID, Side, WarehouseDiff
from tests.sync.frames import companies, company, person, persons

CO, PE = "co_model", "pe_model"
AT = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)


def _diff(wh: Warehouse) -> WarehouseDiff:
    def side(entity: str, table: str, key: str, objects: tuple[str, ...] = ()) -> Side:
        return Side(entity, "syncs", table, key, wh.raw_columns(table, schema="syncs"), signature=f"sig-{entity}",
                    hold=True, objects=objects)

    return WarehouseDiff(wh, crm="salesforce", org="00D1", workflow="wf", company=side("company", CO, "domain"),
                         person=side("person", PE, "email", ("Lead", "Contact")))


def _publish(wh: Warehouse, p: pl.DataFrame, c: pl.DataFrame) -> None:
    for name, frame in ((PE, p), (CO, c)):
        wh.drop(name, schema="syncs")
        wh.append(name, frame, schema="syncs")


def _seed(diff: WarehouseDiff) -> None:
    """The state a sync of every row leaves: one row per key, the warehouse's own fingerprint."""
    ctes, params = diff._ctes()
    params = {**params, "at": AT}
    cols = "crm, org, workflow, entity, key, crm_object, crm_id, payload_hash, run_id, synced_at"
    head = f"insert into {SCHEMA}.{STATE_TABLE} ({cols}) select * from (with {ctes} select :crm, :org, :wf"
    diff.wh.execute(f"{head}, 'company', __k, 'Account', 'A-' || __k, cast(__fp as varchar), 'r0', :at "
                    "from c_g where __n = 1) q", params)
    diff.wh.execute(f"{head}, 'person', g.__k, 'Lead', 'L-' || g.__k, cast(g.__fp as varchar) || '|' "
                    "|| coalesce(ch.__crm_id, ''), 'r0', :at from p_g g left join c_h ch on ch.__k = g.__ck "
                    "where g.__n = 1) q", params)


#: The second publish, against the state of the first: what each row is expected to do.
HELD = {"same@acme.io", "nocompany@solo.io", "nodomain@acme.io"}
BACK_PERSONS = {  # email as the model spells it -> why it comes back
    "changed@acme.io": "its title changed",
    "Twin@Acme.io": "same key as twin@acme.io (another spelling)",
    "twin@acme.io": "same key as Twin@Acme.io",
    "moved@beta.io": "its company changed",
    "new@acme.io": "no state",
    None: "no key",
}


def _second_publish() -> tuple[pl.DataFrame, pl.DataFrame]:
    p = persons(person("same@acme.io", "acme.io"), person("changed@acme.io", "acme.io", title="CRO"),
                person("twin@acme.io", "acme.io"), person("moved@beta.io", "beta.io"),
                person("nocompany@solo.io", "solo.io"), person("nodomain@acme.io", None),
                person("new@acme.io", "acme.io"), person(None, "acme.io"), person("Twin@Acme.io", "acme.io"))
    c = companies(company("acme.io"), company("beta.io", industry="Fintech"))
    return p, c


def _first_publish() -> tuple[pl.DataFrame, pl.DataFrame]:
    p = persons(person("same@acme.io", "acme.io"), person("changed@acme.io", "acme.io"),
                person("twin@acme.io", "acme.io"), person("moved@beta.io", "beta.io"),
                person("nocompany@solo.io", "solo.io"), person("nodomain@acme.io", None))
    return p, companies(company("acme.io"), company("beta.io"))


def _run(wh: Warehouse) -> dict[str, Any]:
    SyncStore(wh).prepare()
    _publish(wh, *_first_publish())
    diff = _diff(wh)
    diff.map_keys()
    _seed(diff)
    _publish(wh, *_second_publish())
    diff = _diff(wh)
    diff.map_keys()
    held, totals = diff.hold(table=PLAN_TABLE, run_id="r1", run_at=AT, mode="plan", replace_workflow=True)
    expected = {s.entity: totals[s.entity] - held.by_entity.get(s.entity, 0) for s in (diff.company, diff.person)}
    back = {s.entity: diff.returned(s, expected=expected[s.entity]) for s in (diff.company, diff.person)}
    log = wh.frame(f"select object, key, crm_id, action from {SCHEMA}.{PLAN_TABLE} where run_id = 'r1'")
    return {"held": held, "totals": totals, "back": back, "log": log}


@pytest.fixture(scope="module")
def patched() -> Iterator[None]:
    """Snowflake URLs reach fakesnow for the whole module (it can be patched once at a time)."""
    with fakesnow.patch():
        yield


def _warehouse(dialect: str, path: Any) -> Warehouse:
    return (Warehouse(f"duckdb:///{path / 'w.duckdb'}") if dialect == "duckdb"
            else Warehouse(f"snowflake://writer:secret@acct/{path.name}/public"))


@pytest.fixture(scope="module", params=["duckdb", "snowflake"])
def result(request: Any, patched: None, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    wh = _warehouse(request.param, tmp_path_factory.mktemp("wd"))
    yield _run(wh)
    wh.close()


def test_held_rows_are_logged_unchanged_in_the_warehouse(result: dict[str, Any]) -> None:
    held, log = result["held"], result["log"]
    # acme.io is unchanged (held); beta.io changed (its industry) and comes back.
    assert held.by_entity == {"company": 1, "person": len(HELD)}
    assert held.counts == {"Account": 1, "Lead": len(HELD)}
    assert set(log["key"]) == {"acme.io", *HELD} and set(log["action"]) == {"unchanged"}
    assert dict(log.select("key", "crm_id").iter_rows())["same@acme.io"] == "L-same@acme.io"


def test_every_other_row_comes_back_once_with_its_place_in_the_model(result: dict[str, Any]) -> None:
    back = result["back"]["person"]
    assert sorted(back["email"].to_list(), key=str) == sorted(BACK_PERSONS, key=str)
    emails = [r["email"] for r in _second_publish()[0].iter_rows(named=True)]
    assert {e: r for e, r in back.select("email", ROW).iter_rows()} == {e: emails.index(e) + 1 for e in BACK_PERSONS}
    assert back.height + result["held"].by_entity["person"] == result["totals"]["person"]
    assert result["back"]["company"]["domain"].to_list() == ["beta.io"]


def test_returned_rows_carry_fingerprint_state_and_held_company(result: dict[str, Any]) -> None:
    rows = {r["email"]: r for r in result["back"]["person"].iter_rows(named=True)}
    assert rows["changed@acme.io"][ST_CRM_ID] == "L-changed@acme.io"  # its state, to update in place
    assert rows["new@acme.io"][ST_CRM_ID] is None and rows[None][ST_CRM_ID] is None
    assert rows["changed@acme.io"][HELD_COMPANY_ID] == "A-acme.io"  # acme.io is held: its id comes along
    assert rows["moved@beta.io"][HELD_COMPANY_ID] is None  # beta.io comes back itself
    assert all(r[SRC] for r in rows.values())


def _keys(wh: Warehouse) -> pl.DataFrame:
    return wh.frame(f"select kind, raw, key from {SCHEMA}.{KEYS_TABLE} order by kind, raw")


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake"])
def test_the_key_map_keeps_one_row_per_raw(dialect: str, patched: None, tmp_path: Any) -> None:
    wh = _warehouse(dialect, tmp_path)
    twice = pl.DataFrame({"kind": ["email"] * 3, "raw": ["a@x.io", "a@x.io", "b@x.io"],
                          "key": ["a@x.io", "a@x.io", "b@x.io"]}, schema=KEYS_SCHEMA)
    # An older release's map with a pair two concurrent runs added: the first prepare fixes it.
    wh.append(KEYS_TABLE, twice, schema=SCHEMA)
    SyncStore(wh).prepare()
    assert _keys(wh)["raw"].to_list() == ["a@x.io", "b@x.io"]
    # Two runs add the same raw at once (the second append is the other run's); the run that
    # added keys leaves one row per raw.
    SyncStore(wh).prepare()
    wh.append(KEYS_TABLE, twice.head(1), schema=SCHEMA)
    _publish(wh, persons(person("a@x.io", "x.io"), person("c@x.io", "x.io")), companies(company("x.io")))
    assert _diff(wh).map_keys() == 2  # c@x.io and the domain x.io
    keys = _keys(wh)
    assert keys.select("kind", "raw").is_unique().all() and keys.height == 4
    wh.close()
