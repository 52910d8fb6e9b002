"""Field-level comparison of what the warehouse wants against what the CRM holds.

Values are compared in a canonical form per field kind, so that formatting differences
the CRM introduces (``1200`` vs ``1200.0``, ``…T10:00:00.000+0000`` vs ``…T10:00:00Z``,
``"true"`` vs ``True``, trailing spaces, e-mail case) never cause a write.
Rules that protect a rep's data:
- a null in the warehouse never erases a CRM value;
- an ``if_empty`` field is written only when the CRM field is blank.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from connectors.crm import FieldKind, ObjectSchema


def _to_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)):  # HubSpot: epoch milliseconds
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.timezone.utc)
    s = str(value).strip()
    if not s:
        return None
    if s.isdigit():
        return dt.datetime.fromtimestamp(int(s) / 1000, tz=dt.timezone.utc)
    s = s.replace("Z", "+00:00")
    if len(s) >= 5 and s[-5] in "+-" and s[-3] != ":":  # +0000 -> +00:00
        s = f"{s[:-2]}:{s[-2:]}"
    parsed = dt.datetime.fromisoformat(s)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def canonical(kind: FieldKind | None, value: Any) -> Any:
    """A comparable form of ``value`` for a field of ``kind``; blank means ``None``."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if kind in ("int", "number"):
        try:
            return round(float(value), 6)
        except (TypeError, ValueError):
            return str(value).strip()
    if kind == "bool":
        if isinstance(value, str):
            return value.strip().lower() == "true"
        return bool(value)
    if kind == "datetime":
        try:
            parsed = _to_datetime(value)
        except ValueError:
            return str(value).strip()
        return None if parsed is None else parsed.astimezone(dt.timezone.utc).replace(microsecond=0)
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        s = str(value).strip()
        return dt.date.fromisoformat(s[:10]) if len(s) >= 10 else s
    s = str(value).strip()
    if kind in ("email", "url"):
        s = s.lower().rstrip("/")
    return s


def changed_fields(
    desired: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    modes: Mapping[str, str],
    schema: ObjectSchema | None,
) -> dict[str, tuple[Any, Any]]:
    """The fields to write for one record, as ``{field: (old, new)}``.

    ``current`` is None for a record that does not exist yet: every non-null field is written.
    """
    out: dict[str, tuple[Any, Any]] = {}
    for name, mode in modes.items():
        new = desired.get(name)
        if new is None or (isinstance(new, str) and not new.strip()):
            continue  # nulls never erase
        old = None if current is None else current.get(name)
        kind = schema.fields[name].kind if schema and name in schema.fields else None
        old_c = canonical(kind, old)
        if mode == "if_empty" and old_c is not None:
            continue
        if old_c != canonical(kind, new):
            out[name] = (old, new)
    return out


# -- the same comparison, column-wise --------------------------------------------------------
#
# A reconcile reads back every record it synced and compares each: per record, in Python, that
# is most of the engine's time at 100k records and more. The functions below give, for a frame
# of desired rows and the frame of the CRM's current values in the same row order, exactly what
# ``changed_fields`` gives per record, as one Boolean column per field. ``changed_fields`` stays
# the reference: where a value is not in a form checked here to canonicalise exactly as
# ``canonical`` does (datetime text ``fromisoformat`` reads but the patterns below do not, a number
# written ``1_000``, a non-ASCII e-mail, a mixed-type column…) the row is flagged in
# :data:`FALLBACK` and the caller decides it with ``changed_fields``. Those rows are rare; the
# rest are decided here, however many there are.

#: Column of :func:`changed_columns`: True where the row must be decided by ``changed_fields``.
FALLBACK = "__fallback"
#: What ``str.strip()`` removes (``str.isspace``): polars' own whitespace set differs (``\x1c``…).
PY_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                 "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
#: Text ``float()`` reads the same way polars does (ASCII digits, no ``_``, no ``inf``/``nan``).
_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
#: The ISO-8601 forms compared column-wise: date, optional ``T``/space time to seconds with up to 6
#: fraction digits, optional ``Z`` / ``±HH:MM`` / ``±HHMM``. Other forms fall back.
_ISO = (r"^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]{1,6})?)?)?"
        r"(Z|[+-][0-9]{2}:?[0-9]{2})?$")
#: Epoch milliseconds read column-wise: up to the end of year 9999 (``datetime``'s range).
_MAX_MS = 253_402_300_799_999
#: Two numbers further apart than ``_NEAR`` plus ``_NEAR_REL`` of their magnitude differ after
#: rounding to 6 places (each moves by at most half a millionth and half a float step); nearer
#: (and not equal) they are left to ``round()`` itself (a fallback).
_NEAR, _NEAR_REL = 2e-6, 1e-15
_ASCII = r"^[\x00-\x7f]*$"


def _text(s: pl.Series) -> pl.Series:
    return s.cast(pl.Utf8) if s.dtype in (pl.Categorical, pl.Enum) or s.dtype == pl.Null else s


def blank(s: pl.Series) -> pl.Series:
    """Where ``canonical`` gives None: null, or text that is only whitespace."""
    s = _text(s)
    if s.dtype == pl.Utf8:
        return (s.is_null() | (s.str.strip_chars(PY_WHITESPACE) == "")).fill_null(True)
    return s.is_null()


def _canon_number(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    if s.dtype == pl.Utf8:
        t = s.str.strip_chars(PY_WHITESPACE)
        ok = t.str.contains(_NUMBER).fill_null(True)
        v = pl.select(pl.when(ok).then(t).otherwise(None).cast(pl.Float64, strict=False)).to_series()
    elif s.dtype.is_integer() or s.dtype.is_float() or s.dtype == pl.Boolean:
        v = s.cast(pl.Float64)
        ok = pl.Series([True] * s.len(), dtype=pl.Boolean)
    else:
        return s, s.is_null()
    finite = v.is_finite().fill_null(True)
    return v, ok & finite


def _canon_bool(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    if s.dtype == pl.Utf8:
        t = s.str.strip_chars(PY_WHITESPACE)
        return t.str.to_lowercase() == "true", t.str.contains(_ASCII).fill_null(True)
    if s.dtype == pl.Boolean:
        return s, pl.Series([True] * s.len(), dtype=pl.Boolean)
    if s.dtype.is_integer():
        return s != 0, pl.Series([True] * s.len(), dtype=pl.Boolean)
    return s, s.is_null()


def _from_ms(ms: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Epoch milliseconds (HubSpot) to epoch seconds: ``fromtimestamp(ms / 1000)`` without its microseconds."""
    ok = (ms >= 0) & (ms <= _MAX_MS)
    return ms.floordiv(1000), ok


def _canon_datetime(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Epoch seconds in UTC (``canonical`` truncates to the second after converting to UTC)."""
    if s.dtype == pl.Utf8:
        stripped = s.str.strip_chars(PY_WHITESPACE)
        # The ISO parts, extracted once (each use of an unmaterialised extract would run it again).
        parts = stripped.str.extract_groups(_ISO).struct.unnest()
        parts.columns = ["y", "mo", "d", "h", "mi", "sec", "off"]
        t = pl.col("t")
        digits = t.str.contains(r"^[0-9]{1,15}$")
        ms_secs, ms_ok = _from_ms(pl.when(digits).then(t).otherwise(None).cast(pl.Int64, strict=False))
        second = pl.col("sec").fill_null("00")
        naive = pl.concat_str([pl.col("y"), pl.lit("-"), pl.col("mo"), pl.lit("-"), pl.col("d"), pl.lit(" "),
                               pl.col("h").fill_null("00"), pl.lit(":"), pl.col("mi").fill_null("00"), pl.lit(":"),
                               second])
        local = naive.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us", strict=False)
        off = pl.col("off").fill_null("Z").str.replace(":", "", literal=True)
        sign = pl.when(off.str.slice(0, 1) == "-").then(-1).otherwise(1)
        hh = pl.when(off == "Z").then(pl.lit("00")).otherwise(off.str.slice(1, 2)).cast(pl.Int64, strict=False)
        mm = pl.when(off == "Z").then(pl.lit("00")).otherwise(off.str.slice(3, 2)).cast(pl.Int64, strict=False)
        steps = parts.with_columns(stripped.alias("t")).with_columns(
            local.alias("local"), sign.alias("sign"), hh.alias("hh"), mm.alias("mm"), digits.alias("digits"))
        local, hh, mm, digits = pl.col("local"), pl.col("hh"), pl.col("mm"), pl.col("digits")
        iso_ok = (local.is_not_null() & ~pl.col("y").is_in(["0000", "0001", "9999"]) & (second.cast(pl.Int64) < 60)
                  & (hh < 24) & (mm < 60))
        iso_secs = local.dt.epoch("us") // 1_000_000 - pl.col("sign") * (hh * 3600 + mm * 60)
        out = steps.select(
            pl.when(digits).then(ms_secs).otherwise(iso_secs).alias("v"),
            (t.is_null() | (t == "") | pl.when(digits).then(ms_ok).otherwise(iso_ok)).fill_null(False).alias("ok"),
        )
        return out["v"], out["ok"]
    if isinstance(s.dtype, pl.Datetime) and s.dtype.time_unit in ("us", "ms"):
        ok = pl.Series([True] * s.len(), dtype=pl.Boolean)
        return s.dt.epoch("us") // 1_000_000, ok
    if s.dtype == pl.Date:
        return s.cast(pl.Int64) * 86_400, pl.Series([True] * s.len(), dtype=pl.Boolean)
    if s.dtype.is_integer():
        out = pl.DataFrame({"ms": s.cast(pl.Int64)}).select(*(e.alias(n) for e, n in zip(_from_ms(pl.col("ms")),
                                                                                            ("v", "ok"), strict=True)))
        return out["v"], out["ok"].fill_null(True)
    return s, s.is_null()


def _canon_date(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    if s.dtype == pl.Utf8:
        t = s.str.strip_chars(PY_WHITESPACE)
        head = t.str.slice(0, 10)
        shaped = ((t.str.len_chars() >= 10) & head.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
                  & ~head.str.starts_with("0000"))
        v = pl.select(pl.when(shaped).then(head).otherwise(None).str.to_date("%Y-%m-%d", strict=False)).to_series()
        return v, (t.is_null() | (t == "") | v.is_not_null()).fill_null(False)
    if isinstance(s.dtype, pl.Datetime):
        return s.dt.date(), pl.Series([True] * s.len(), dtype=pl.Boolean)
    if s.dtype == pl.Date:
        return s, pl.Series([True] * s.len(), dtype=pl.Boolean)
    return s, s.is_null()


def _canon_text(s: pl.Series, fold: bool) -> tuple[pl.Series, pl.Series]:
    """``str(value).strip()``, and for e-mails and URLs lower-cased without trailing ``/``. Case
    folding is exact here for ASCII only (Python and polars lower-case some letters differently)."""
    if s.dtype == pl.Utf8:
        t = s.str.strip_chars(PY_WHITESPACE)
    elif s.dtype.is_integer():
        t = s.cast(pl.Utf8)
    elif s.dtype == pl.Boolean:  # str(True)
        t = pl.select(pl.when(pl.lit(s)).then(pl.lit("True")).when(~pl.lit(s)).then(pl.lit("False"))).to_series()
    else:
        return s, s.is_null()
    if not fold:
        return t, pl.Series([True] * s.len(), dtype=pl.Boolean)
    return t.str.to_lowercase().str.strip_chars_end("/"), t.str.contains(_ASCII).fill_null(True)


def canonical_column(kind: FieldKind | None, s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """``(values, exact)``: ``canonical(kind, ·)`` of each non-blank value, and where that is exact.

    Numbers are Float64 (not rounded: see :func:`changed_columns`), datetimes epoch seconds in
    UTC, dates Date, bools Boolean, text Utf8. ``exact`` is False where the value is of a form
    not handled here (the row falls back to ``changed_fields``); blanks are exact (they are None).
    """
    s = _text(s)
    if kind in ("int", "number"):
        return _canon_number(s)
    if kind == "bool":
        return _canon_bool(s)
    if kind == "datetime":
        return _canon_datetime(s)
    if kind == "date":
        return _canon_date(s)
    return _canon_text(s, fold=kind in ("email", "url"))


def changed_columns(desired: pl.DataFrame, current: pl.DataFrame, modes: Mapping[str, str],
                    schema: ObjectSchema | None) -> pl.DataFrame:
    """``changed_fields`` for every row at once: one Boolean column per field of ``modes``
    (True: write it) and :data:`FALLBACK` (True: decide this row with ``changed_fields``; its
    field columns are then meaningless).

    ``desired`` and ``current`` are in the same row order; a field missing from ``current`` is
    null there (``current.get(name)``). Rules as ``changed_fields``: a blank desired value is never
    written, an ``if_empty`` field only over a blank CRM value, any other field when the canonical
    values differ. Numbers are equal when their floats are, differ when further apart than
    :data:`_NEAR` (rounding to 6 places moves each by at most half a millionth), and anything
    nearer falls back to ``round()`` itself.
    """
    n = desired.height
    fallback = pl.Series(FALLBACK, [False] * n, dtype=pl.Boolean)
    out: list[pl.Series] = []
    for name, mode in modes.items():
        new = desired[name] if name in desired.columns else pl.Series([None] * n, dtype=pl.Utf8)
        old = current[name] if name in current.columns else pl.Series([None] * n, dtype=pl.Utf8)
        writes = ~blank(new)
        if not writes.any():  # nothing to write in this field (a column the model leaves null)
            out.append(writes.alias(name))
            continue
        old_blank = blank(old)
        if mode == "if_empty":
            out.append((writes & old_blank).alias(name))
            continue
        kind = schema.fields[name].kind if schema and name in schema.fields else None
        new_c, new_ok = canonical_column(kind, new)
        old_c, old_ok = canonical_column(kind, old)
        frame = pl.DataFrame({"a": new_c, "b": old_c}) if new_c.dtype == old_c.dtype else None
        if frame is None:  # forms of different types: only blanks are decided here
            out.append((writes & old_blank).alias(name))
            fallback = fallback | (writes & ~old_blank)
            continue
        if kind in ("int", "number"):
            cmp = frame.select(
                (pl.col("a") != pl.col("b")).alias("ne"),
                ((pl.col("a") - pl.col("b")).abs()
                 <= _NEAR + _NEAR_REL * pl.max_horizontal(pl.col("a").abs(), pl.col("b").abs())).alias("near"),
            )
            differ, near = cmp["ne"].fill_null(True), cmp["near"].fill_null(False)
            unsure = differ & near
        else:
            differ = frame.select((pl.col("a") != pl.col("b")).fill_null(True).alias("ne"))["ne"]
            unsure = pl.Series([False] * n, dtype=pl.Boolean)
        out.append((writes & (old_blank | differ)).alias(name))
        fallback = fallback | (writes & (~new_ok | (~old_blank & (~old_ok | unsure))))
    return pl.DataFrame([*out, fallback.alias(FALLBACK)])


def current_frame(records: Sequence[Mapping[str, Any]], fields: list[str]) -> tuple[pl.DataFrame, pl.Series]:
    """The CRM's current values of ``fields`` (``record.get(field)``) as typed columns, and where a
    row holds a value no column type carries as ``canonical`` sees it (mixed types in one field,
    nested values): those rows fall back to ``changed_fields``.

    A column of text stays text, of ints Int64, of ints and floats Float64, of bools Boolean.
    """
    n = len(records)
    odd = [False] * n
    columns: list[pl.Series] = []
    for name in fields:
        values = [r.get(name) for r in records]
        try:  # the usual case (HubSpot, a Bulk query's CSV, Salesforce text): text or null, checked by polars
            columns.append(pl.Series(name, values, dtype=pl.Utf8, strict=True))
            continue
        except (TypeError, pl.exceptions.PolarsError):
            pass
        types = {type(v) for v in values} - {type(None)}
        dtype: pl.DataType | None = None
        if types <= {str}:
            dtype = pl.Utf8()
        elif types == {bool}:
            dtype = pl.Boolean()
        elif types == {int}:
            dtype = pl.Int64()
        elif types <= {int, float}:
            dtype = pl.Float64()
        if dtype is not None:
            try:
                columns.append(pl.Series(name, values, dtype=dtype))
                continue
            except (OverflowError, TypeError, ValueError, pl.exceptions.PolarsError):
                pass
        odd = [o or v is not None for o, v in zip(odd, values, strict=True)]
        columns.append(pl.Series(name, [None] * n, dtype=pl.Utf8))
    return pl.DataFrame(columns, height=n) if columns else pl.DataFrame(height=n), \
        pl.Series(FALLBACK, odd, dtype=pl.Boolean)
