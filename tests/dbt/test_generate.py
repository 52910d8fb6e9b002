"""The sample data generator: the committed seeds are its output, and it is deterministic at any scale."""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from tests.dbt.oracle import ROOT, SEEDS_DIR, bare_domain, load

TABLES = ("companies", "persons", "sessions", "page_views", "chats", "chat_inputs", "orchestrations",
          "orchestration_outputs")


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def read_bytes(directory: Path) -> dict[str, bytes]:
    return {table: (directory / f"{table}.csv").read_bytes() for table in TABLES}


def test_the_committed_seeds_are_the_generators_output(generate: ModuleType, tmp_path: Path) -> None:
    assert generate.main(["--seeds", "--out", str(tmp_path)]) == 0
    regenerated, committed = read_bytes(tmp_path), read_bytes(SEEDS_DIR)
    for table in TABLES:
        assert regenerated[table] == committed[table], f"seeds/{table}.csv differs: rerun bench/generate.py --seeds"


def test_the_generator_is_deterministic_and_consistent_at_scale(generate: ModuleType, tmp_path: Path) -> None:
    args = ["--persons", "4000"]
    generate.main([*args, "--out", str(tmp_path / "a"), "--seed", "11"])
    generate.main([*args, "--out", str(tmp_path / "b"), "--seed", "11"])
    generate.main([*args, "--out", str(tmp_path / "c"), "--seed", "12"])
    assert read_bytes(tmp_path / "a") == read_bytes(tmp_path / "b")
    assert read_bytes(tmp_path / "a")["persons"] != read_bytes(tmp_path / "c")["persons"]

    rows = {table: load(table, tmp_path / "a") for table in TABLES}
    assert len(rows["persons"]) == 4000 and len(rows["companies"]) == 1000
    ids = {table: {r["id"] for r in rows[table]} for table in TABLES}
    assert all(len(ids[t]) == len(rows[t]) for t in TABLES), "ids are unique"
    assert {s["person_id"] for s in rows["sessions"]} - {None} <= ids["persons"]
    assert {s["company_id"] for s in rows["sessions"]} - {None} <= ids["companies"]
    assert {v["session_id"] for v in rows["page_views"]} <= ids["sessions"]
    assert {c["session_id"] for c in rows["chats"]} <= ids["sessions"]
    assert {i["chat_id"] for i in rows["chat_inputs"]} <= ids["chats"]
    assert {o["orchestration_id"] for o in rows["orchestration_outputs"]} <= ids["orchestrations"]
    stamps = [v["viewed_at"] for v in rows["page_views"]] + [o["produced_at"] for o in rows["orchestration_outputs"]]
    assert min(stamps) >= "2026-09-22 00:00:00" and max(stamps) <= "2026-11-20 23:59:59"
    # Without --seeds there is no injected dirt: every email is already clean.
    assert all(p["email"] == p["email"].strip().lower() for p in rows["persons"])


def test_the_seeds_carry_the_dirt_the_models_must_handle() -> None:
    persons = load("persons")
    companies = load("companies")
    emails = [p["email"] for p in persons]
    normalised = Counter(e.strip().lower() for e in emails)
    assert sum(1 for e in emails if e != e.strip()) >= 10, "space- or tab-padded emails"
    assert sum(1 for e in emails if e.strip() != e.strip().lower()) >= 10, "mixed-case emails"
    assert sum(1 for n in normalised.values() if n > 1) >= 5, "the same person under two ids"
    assert "o'hara@acme.io" in normalised
    assert {"jane.doe@", "not-an-email"} <= set(emails)
    assert sum(1 for e in normalised if e.endswith(("@gmail.com", "@outlook.com", "@yahoo.com"))) >= 20
    assert sum(1 for p in persons if p["last_name"] is None) >= 10
    assert sum(1 for p in persons if p["title"] and len(p["title"]) > 128) >= 2
    assert sum(1 for p in persons if p["company_id"] is None) >= 50
    names = {(p["first_name"], p["last_name"]) for p in persons}
    assert {("José", "Núñez"), ("Zoë", "Åkesson"), ("伟", "王")} <= names
    websites = {c["website"] for c in companies}
    assert {"https://www.Acme.io/path", "http://acme.io/", "globex.com"} <= websites
    assert sum(1 for c in companies if c["domain"] is None and c["website"]) >= 20
    domains = Counter(bare_domain(c["domain"]) or bare_domain(c["website"]) for c in companies)
    assert domains["acme.io"] == 2
    with open(SEEDS_DIR / "orchestrations.csv", newline="") as f:
        syncs = {row["id"]: row["has_sync_to_crm_step"] for row in csv.DictReader(f)}
    assert "false" in syncs.values() and "true" in syncs.values()
    industries = {c["industry"] for c in companies}
    assert "Cloud Services" in industries
    seniorities = {p["seniority"] for p in persons}
    assert {"Entry", "Manager", "Director", "VP", "C-level"} <= seniorities
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", p["identified_at"]) for p in persons)
