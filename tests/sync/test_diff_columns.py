"""The column-wise diff (``changed_columns``) against its reference, ``changed_fields``, record by record.

Seeded random values of every field kind, in the forms the warehouse and both CRMs give them
(``"1200"`` / ``1200.0``, ``"true"`` / ``True``, datetimes with ``Z``, ``+0000``, offsets and epoch
milliseconds, dates, mixed-case e-mails and URLs with a trailing slash, blanks and whitespace,
nulls, text no pattern reads): every row the column-wise diff decides must get exactly the fields
``changed_fields`` gives it; the rows it leaves to ``changed_fields`` (``FALLBACK``) must be few.
"""

from __future__ import annotations

import datetime as dt
from random import Random
from typing import Any

import polars as pl
import pytest

from connectors.crm import FieldInfo, ObjectSchema
from dagster_pipeline.sync.diff import (
    FALLBACK,
    PY_WHITESPACE,
    changed_columns,
    changed_fields,
    current_frame,
)

UTC = dt.timezone.utc
KINDS = ("int", "number", "bool", "datetime", "date", "email", "url", "string", "phone", None)
BASE_DT = dt.datetime(2026, 11, 20, 10, 0, 0)


def _number(r: Random) -> float:
    return r.choice([0, 1, 1200, 1200.5, -3, 0.1 + 0.2, 1e-7, 123456.1234565, 2**40, 7.0000004])


def _moment(r: Random) -> dt.datetime:
    return BASE_DT + dt.timedelta(seconds=r.choice([0, 0, 1, 59, 3600, -86400]),
                                  microseconds=r.choice([0, 0, 250_000, 999_999]))


def _blank(r: Random) -> Any:
    return r.choice([None, "", "  ", "\t\n", "\u3000", "\x1c"])


def _pad(r: Random, s: str) -> str:
    return r.choice(["", " ", "\t", "\xa0"]) + s + r.choice(["", " ", "\n", "\u2003"])


def desired_value(kind: str | None, form: str, r: Random) -> Any:
    """One warehouse value of ``kind`` in the column type ``form``."""
    if r.random() < 0.12:
        return None if form != "str" else _blank(r)
    if kind in ("int", "number"):
        x = _number(r)
        text = _pad(r, r.choice([str(x), repr(float(x)), "1_000", "abc"]))
        return {"int": int(x), "float": float(x), "str": text}[form]
    if kind == "bool":
        b = r.random() < 0.5
        return {"bool": b, "str": _pad(r, r.choice(["true", "True", "FALSE", "false", "yes"]))}[form]
    if kind == "datetime":
        m = _moment(r)
        if form == "naive":
            return m
        if form == "aware":
            return m.replace(tzinfo=UTC).astimezone(dt.timezone(dt.timedelta(hours=r.choice([-5, 0, 2]))))
        if form == "date":
            return m.date()
        if form == "int":
            return int(m.replace(tzinfo=UTC).timestamp() * 1000)
        return _pad(r, r.choice([m.isoformat(), m.isoformat() + "Z", "not a date"]))
    if kind == "date":
        m = _moment(r)
        return {"date": m.date(), "naive": m, "str": _pad(r, m.date().isoformat())}[form]
    if form == "int":
        return r.choice([0, 42, 1200])
    if form == "bool":
        return r.random() < 0.5
    base = r.choice(["Acme.io/", "acme.io", "O'Hara@Acme.io", "VP Sales", "vp sales", "Zoë", "ΟΔΟΣ", "+1 555 0100"])
    return _pad(r, base)


def current_value(kind: str | None, want: Any, r: Random) -> Any:
    """What a CRM could hold for a record whose desired value is ``want``: the same value written
    another way (the usual case), a different value, or blank."""
    roll = r.random()
    if roll < 0.15:
        return _blank(r)
    if kind in ("int", "number"):
        x = want if isinstance(want, (int, float)) and not isinstance(want, bool) else _number(r)
        if isinstance(want, str):
            try:
                x = float(want)
            except ValueError:
                x = _number(r)
        if roll < 0.3:
            x = x + r.choice([1, 1e-7, 1e-5, -0.5])
        return r.choice([x, float(x), str(x), f"{float(x)}", _pad(r, str(x)), "n/a"])
    if kind == "bool":
        b = want if isinstance(want, bool) else r.random() < 0.5
        if roll < 0.3:
            b = not b
        return r.choice([b, "true" if b else "false", " TRUE " if b else "False", "1"])
    if kind == "datetime":
        if isinstance(want, dt.datetime):
            m = want if want.tzinfo else want.replace(tzinfo=UTC)
        else:
            m = _moment(r).replace(tzinfo=UTC)
        if roll < 0.3:
            m = m + dt.timedelta(seconds=r.choice([1, -1, 3600]))
        u = m.astimezone(UTC)
        plus = m.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
        return r.choice([
            u.strftime("%Y-%m-%dT%H:%M:%S.000+0000"), u.strftime("%Y-%m-%dT%H:%M:%SZ"),
            str(int(u.timestamp() * 1000)), plus.isoformat(), u.isoformat(timespec="microseconds"),
            u.date().isoformat(), "2026-13-01T00:00:00Z", "20261120T100000", u.strftime("%Y-%m-%d %H:%M"),
        ])
    if kind == "date":
        d = want.date() if isinstance(want, dt.datetime) else want if isinstance(want, dt.date) else BASE_DT.date()
        if roll < 0.3:
            d = d + dt.timedelta(days=1)
        return r.choice([d.isoformat(), d.isoformat() + "T00:00:00.000+0000", "2026-11-2", "2026-W47-5"])
    text = want if isinstance(want, str) else str(want)
    if roll < 0.3:
        text = r.choice(["Other", "acme.io//", "VP SALES"])
    return r.choice([text, text.strip(), text.upper(), text.lower() + "/", _pad(r, text), 42])


def _as_crm_gives(value: Any, native: bool, kind: str | None) -> Any:
    """One field's values come all as text (HubSpot, a Bulk query's CSV) or, for numbers and
    bools, as JSON values (Salesforce REST); a field of mixed types is tested on its own."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None if native else value
    if not native:
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    if kind == "bool":
        return value.strip().lower() == "true" if isinstance(value, str) else bool(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return value


FORMS = {
    "int": ("int", "float", "str"), "number": ("float", "int", "str"), "bool": ("bool", "str"),
    "datetime": ("naive", "aware", "date", "int", "str"), "date": ("date", "naive", "str"),
}


def _case(seed: int, rows: int) -> tuple[pl.DataFrame, list[dict[str, Any]], dict[str, str], ObjectSchema]:
    r = Random(seed)
    fields: dict[str, FieldInfo] = {}
    modes: dict[str, str] = {}
    columns: dict[str, pl.Series] = {}
    current: list[dict[str, Any]] = [{} for _ in range(rows)]
    for kind in KINDS:
        for form in FORMS.get(kind or "", ("str", "int", "bool")):
            for mode in ("overwrite", "if_empty"):
                name = f"{kind}_{form}_{mode}"
                if kind is not None:
                    fields[name] = FieldInfo(name, kind)
                modes[name] = mode
                values = [desired_value(kind, form, r) for _ in range(rows)]
                dtype = {"int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "str": pl.Utf8, "date": pl.Date,
                         "naive": pl.Datetime("us"), "aware": pl.Datetime("us", "UTC")}[form]
                columns[name] = pl.Series(name, values, dtype=dtype)
                native = kind in ("int", "number", "bool") and r.random() < 0.5
                for rec, want in zip(current, columns[name].to_list(), strict=True):
                    if r.random() < 0.9:
                        rec[name] = _as_crm_gives(current_value(kind, want, r), native, kind)
    return pl.DataFrame(list(columns.values())), current, modes, ObjectSchema("Thing", fields)


@pytest.fixture(scope="module", params=[1, 2, 3])
def case(request: pytest.FixtureRequest) -> tuple[pl.DataFrame, list[dict[str, Any]], dict[str, str], ObjectSchema]:
    return _case(request.param, 1500)


def test_every_row_decided_column_wise_matches_changed_fields(case) -> None:
    """Field by field (a row falls back when any of its fields does, so whole rows of 62 odd-valued
    fields would all fall back): each decided value equals ``changed_fields`` of that field alone,
    and most values of every field are decided."""
    desired, current, modes, schema = case
    rows = list(desired.iter_rows(named=True))
    for name, mode in modes.items():
        one = {name: mode}
        cur, odd = current_frame(current, [name])
        result = changed_columns(desired.select(name), cur, one, schema)
        fallback = (result[FALLBACK] | odd).to_list()
        changed = result[name].to_list()
        decided = 0
        for i, (row, rec) in enumerate(zip(rows, current, strict=True)):
            try:
                expected = name in changed_fields(row, rec, one, schema)
            except ValueError:  # canonical() raising (a date it cannot read): such a row must fall back
                assert fallback[i], (name, row[name], rec.get(name))
                continue
            if not fallback[i]:
                decided += 1
                assert changed[i] == expected, (name, row[name], rec.get(name))
        assert decided > 0.3 * len(rows), name


def test_a_frame_of_fields_is_its_fields_together(case) -> None:
    """Many fields at once give each field's own verdict, and fall back where any field does."""
    desired, current, modes, schema = case
    cur, _ = current_frame(current, list(modes))
    whole = changed_columns(desired, cur, modes, schema)
    fallback = pl.Series([False] * desired.height)
    for name, mode in modes.items():
        one = changed_columns(desired.select(name), cur.select(name), {name: mode}, schema)
        assert whole[name].equals(one[name]), name
        fallback = fallback | one[FALLBACK]
    assert whole[FALLBACK].equals(fallback, check_names=False)


def test_python_whitespace_is_what_strip_removes() -> None:
    assert set(PY_WHITESPACE) == {c for c in map(chr, range(0x110000)) if c.isspace()}


def test_mixed_types_in_one_crm_field_fall_back() -> None:
    cur, odd = current_frame([{"n": 1}, {"n": "1"}, {"n": None}, {}], ["n"])
    assert odd.to_list() == [True, True, False, False]
    assert cur["n"].null_count() == 4
