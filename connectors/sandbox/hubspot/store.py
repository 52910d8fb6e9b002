"""Records in SQLite: how an object is stored, loaded, looked up by a unique value, numbered,
saved with its unique-value index kept in step, and archived.

``hs_objects`` holds one row per record (properties as JSON, plus the version before the last
update, which a lagging search index still serves); ``hs_unique`` indexes the values of unique
properties (and contacts' emails, case-folded) so lookups by ``idProperty`` and conflict checks
need no scan. Archiving a record frees its unique values and drops its associations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connectors.sandbox.hubspot.core import HubSpotBase, now_ms


@dataclass
class Obj:
    otype: str
    id: int
    props: dict[str, str]
    created_ms: int
    updated_ms: int
    archived: bool = False
    archived_ms: int | None = None
    prev_props: dict[str, str] | None = None


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class StoreMixin(HubSpotBase):
    """Persistence of records (see the module docstring)."""

    # -- object storage --------------------------------------------------------------------------
    @staticmethod
    def _row(row: Any) -> Obj:
        return Obj(
            row["otype"],
            row["id"],
            json.loads(row["props"]),
            row["created_ms"],
            row["updated_ms"],
            bool(row["archived"]),
            row["archived_ms"],
            json.loads(row["prev_props"]) if row["prev_props"] else None,
        )

    def _load(self, otype: str, ids: Iterable[int], *, archived: bool = False) -> dict[int, Obj]:
        out: dict[int, Obj] = {}
        id_list = list(dict.fromkeys(ids))
        for chunk in _chunks(id_list):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT * FROM hs_objects WHERE otype = ? AND archived = ? AND id IN ({marks})",
                (otype, int(archived), *chunk),
            )
            for row in rows:
                out[row["id"]] = self._row(row)
        return out

    def _lookup(self, otype: str, prop: str, values: Iterable[str]) -> dict[str, int]:
        """Unique value (normalised key) -> object id."""
        keys = list(dict.fromkeys(self._unique_key(prop, v) for v in values))
        out: dict[str, int] = {}
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT value, id FROM hs_unique WHERE otype = ? AND prop = ? AND value IN ({marks})",
                (otype, prop, *chunk),
            )
            out.update({r["value"]: r["id"] for r in rows})
        return out

    def _next_ids(self, n: int) -> list[int]:
        first = int(self.db.execute("SELECT value FROM hs_meta WHERE key = 'next_id'").fetchone()[0])
        self.db.execute("UPDATE hs_meta SET value = ? WHERE key = 'next_id'", (str(first + n),))
        return list(range(first, first + n))

    def _insert(self, objs: list[Obj], unique_props: list[str]) -> None:
        self.db.executemany(
            "INSERT INTO hs_objects (otype, id, props, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)",
            [(o.otype, o.id, json.dumps(o.props), o.created_ms, o.updated_ms) for o in objs],
        )
        rows = [
            (o.otype, p, self._unique_key(p, o.props[p]), o.id) for o in objs for p in unique_props if o.props.get(p)
        ]
        self.db.executemany("INSERT INTO hs_unique (otype, prop, value, id) VALUES (?, ?, ?, ?)", rows)

    def _save(self, objs: list[tuple[Obj, dict[str, str]]], unique_props: list[str]) -> None:
        """Persist updated objects; each comes with its properties before the update."""
        self.db.executemany(
            "UPDATE hs_objects SET props = ?, prev_props = ?, updated_ms = ? WHERE otype = ? AND id = ?",
            [(json.dumps(o.props), json.dumps(before), o.updated_ms, o.otype, o.id) for o, before in objs],
        )
        for o, before in objs:
            for p in unique_props:
                if before.get(p) == o.props.get(p):
                    continue
                if before.get(p):
                    self.db.execute(
                        "DELETE FROM hs_unique WHERE otype = ? AND prop = ? AND value = ? AND id = ?",
                        (o.otype, p, self._unique_key(p, before[p]), o.id),
                    )
                if o.props.get(p):
                    self.db.execute(
                        "INSERT OR REPLACE INTO hs_unique (otype, prop, value, id) VALUES (?, ?, ?, ?)",
                        (o.otype, p, self._unique_key(p, o.props[p]), o.id),
                    )

    def _archive(self, otype: str, ids: list[int]) -> None:
        stamp = now_ms()
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            self.db.execute(
                f"UPDATE hs_objects SET archived = 1, archived_ms = ?, updated_ms = ? "
                f"WHERE otype = ? AND archived = 0 AND id IN ({marks})",
                (stamp, stamp, otype, *chunk),
            )
            self.db.execute(f"DELETE FROM hs_unique WHERE otype = ? AND id IN ({marks})", (otype, *chunk))
            self.db.execute(f"DELETE FROM hs_assoc WHERE from_type = ? AND from_id IN ({marks})", (otype, *chunk))
            self.db.execute(f"DELETE FROM hs_assoc WHERE to_type = ? AND to_id IN ({marks})", (otype, *chunk))
