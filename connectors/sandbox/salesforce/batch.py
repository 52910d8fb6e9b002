"""One write call's staged view of the store (:class:`_Batch`), the operations it applies
(:class:`Op`), and how field values are keyed in the ``record_keys`` index (:func:`index_key`).

A call loads the records and index keys it needs up front, stages its inserts, updates and
deletes on top of them, and writes everything at the end, so the checks inside one call see the
records it has already staged (a unique value used twice in one call fails the second record).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.salesforce.state import SalesforceState
from connectors.sandbox.salesforce_schema import ID_TYPES, NUMBER_TYPES, FieldDef, make_id


def index_key(fd: FieldDef, value: Any) -> str | None:
    """How a value is stored in ``record_keys``: lower-cased text, canonical ids, numbers as floats."""
    if value is None:
        return None
    if fd.type in NUMBER_TYPES:
        return repr(float(value))
    if fd.type in ID_TYPES:
        return str(value)
    return str(value).lower()


@dataclass
class Op:
    kind: str  # create | update | upsert | delete | hard_delete
    sobject: str
    values: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    ext_field: FieldDef | None = None
    ext_value: Any = None
    ext_in_values: bool = True
    errors: list[dict[str, Any]] = field(default_factory=list)


class _RolledBack(Exception):
    pass


class _Batch:
    """One write call's view of the store: records and index keys, with staged changes on top."""

    def __init__(self, app: SalesforceState) -> None:
        self.app = app
        self.db = app.db
        self.records: dict[str, list[Any]] = {}  # id -> [sobject, deleted, data]
        self.missing: set[str] = set()
        self.new: set[str] = set()
        self.dirty: set[str] = set()
        self.hard: set[str] = set()
        self.keys: dict[tuple[str, str, str], set[str]] = {}
        self.snapshot: dict[tuple[str, str, str], frozenset[str]] = {}
        self.key_writes: dict[tuple[str, str], tuple[str, str | None]] = {}  # (id, field) -> (sobject, key)
        self.counters: dict[str, int] = {}

    def next_id(self, prefix: str) -> str:
        if prefix not in self.counters:
            self.counters[prefix] = self.app._counter(prefix)
        self.counters[prefix] += 1
        return make_id(prefix, self.counters[prefix])

    # -- loading ---------------------------------------------------------------------------
    def prefetch(self, ids: Iterable[str]) -> None:
        wanted = [i for i in set(ids) if i and i not in self.records and i not in self.missing]
        for chunk in _chunks(wanted, 900):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT id, sobject, deleted, data FROM records WHERE id IN ({marks})", chunk):
                self.records[row[0]] = [row[1], bool(row[2]), json.loads(row[3])]
            self.missing.update(i for i in chunk if i not in self.records)

    def get(self, rid: str) -> list[Any] | None:
        if rid not in self.records and rid not in self.missing:
            self.prefetch([rid])
        return self.records.get(rid)

    def prefetch_keys(self, sobject: str, fname: str, keys: Iterable[str]) -> None:
        wanted = [k for k in set(keys) if k is not None and (sobject, fname, k) not in self.keys]
        found: dict[str, set[str]] = {k: set() for k in wanted}
        for chunk in _chunks(wanted, 900):
            marks = ",".join("?" * len(chunk))
            for key, rid in self.db.execute(
                f"SELECT key, id FROM record_keys WHERE sobject = ? AND field = ? AND key IN ({marks})",
                [sobject, fname, *chunk],
            ):
                found[key].add(rid)
        for key, ids in found.items():
            self.keys[(sobject, fname, key)] = set(ids)
            self.snapshot[(sobject, fname, key)] = frozenset(ids)

    def ids_for_key(self, sobject: str, fname: str, key: str) -> set[str]:
        if (sobject, fname, key) not in self.keys:
            self.prefetch_keys(sobject, fname, [key])
        return self.keys[(sobject, fname, key)]

    def snapshot_ids(self, sobject: str, fname: str, key: str) -> frozenset[str]:
        self.ids_for_key(sobject, fname, key)
        return self.snapshot[(sobject, fname, key)]

    # -- staging ---------------------------------------------------------------------------
    def _rekey(self, rid: str, sobject: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        for fd in self.app.indexed_fields(sobject):
            before = index_key(fd, old.get(fd.name)) if old else None
            after = index_key(fd, new.get(fd.name)) if new else None
            if before == after:
                continue
            if before is not None:
                self.ids_for_key(sobject, fd.name, before).discard(rid)
            if after is not None:
                self.ids_for_key(sobject, fd.name, after).add(rid)
            self.key_writes[(rid, fd.name)] = (sobject, after)

    def insert(self, rid: str, sobject: str, data: dict[str, Any]) -> None:
        self.records[rid] = [sobject, False, data]
        self.missing.discard(rid)
        self.new.add(rid)
        self.dirty.add(rid)
        self._rekey(rid, sobject, None, data)

    def update(self, rid: str, data: dict[str, Any]) -> None:
        rec = self.records[rid]
        self._rekey(rid, rec[0], rec[2], data)
        rec[2] = data
        self.dirty.add(rid)

    def delete(self, rid: str, hard: bool = False) -> None:
        rec = self.records[rid]
        if not rec[1]:
            self._rekey(rid, rec[0], rec[2], None)
        rec[1] = True
        rec[2] = {**rec[2], "IsDeleted": True}
        self.dirty.add(rid)
        if hard:
            self.hard.add(rid)

    def flush(self) -> None:
        for prefix, n in self.counters.items():
            self.app._set_counter(prefix, n)
        inserts, updates = [], []
        for rid in self.dirty:
            if rid in self.hard:
                continue
            sobject, deleted, data = self.records[rid]
            payload = json.dumps(data, separators=(",", ":"))
            if rid in self.new:
                inserts.append((rid, sobject, int(deleted), payload))
            else:
                updates.append((payload, int(deleted), rid))
        # Insert in id order: ids grow with time, so SOQL's natural order is creation order.
        inserts.sort(key=lambda r: r[0])
        if inserts:
            self.db.executemany("INSERT INTO records (id, sobject, deleted, data) VALUES (?, ?, ?, ?)", inserts)
        if updates:
            self.db.executemany("UPDATE records SET data = ?, deleted = ? WHERE id = ?", updates)
        if self.hard:
            gone = [(rid,) for rid in self.hard if rid not in self.new]
            self.db.executemany("DELETE FROM records WHERE id = ?", gone)
            self.db.executemany("DELETE FROM record_keys WHERE id = ?", gone)
        removals = [(rid, f) for (rid, f) in self.key_writes if rid not in self.new]
        if removals:
            self.db.executemany("DELETE FROM record_keys WHERE id = ? AND field = ?", removals)
        adds = [
            (sobject, f, key, rid)
            for (rid, f), (sobject, key) in self.key_writes.items()
            if key is not None and rid not in self.hard
        ]
        if adds:
            self.db.executemany("INSERT INTO record_keys (sobject, field, key, id) VALUES (?, ?, ?, ?)", adds)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
