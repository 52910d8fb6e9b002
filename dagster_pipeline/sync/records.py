"""Desired CRM records, built column-wise from a sync model (polars, no per-row Python).

For one CRM object this yields a frame with ``__key`` (normalised email/domain, see
:mod:`~dagster_pipeline.sync.keys`), one column per CRM field we want to write (standard
fields, Warmly data, mapped custom fields: a constant, a sync-model column or a chat answer),
the company key a person links to, and
``__hash`` — a fingerprint of everything we would write, so an unchanged record can be
skipped without a single CRM read.

The fingerprint uses polars' row hash with a fixed seed: stable across runs of one polars
version. A polars upgrade that changes it costs one re-diff against the CRM (which still
writes only changed fields), never a wrong write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from connectors.crm import ObjectSchema
from connectors.errors import ConfigError
from dagster_pipeline.sync.catalog import CHAT_ANSWERS, ObjectDef
from dagster_pipeline.sync.keys import KEY, ROW, key_rows
from dagster_pipeline.sync.settings import FieldMapping, ObjectSettings

COMPANY_KEY = "__company_key"
COMPANY_ID = "__company_id"  # the CRM id of the company a person links to (set by the engine)
SRC = "__src"  # the fingerprint the warehouse computed for the row (warehouse_diff)
HASH = "__hash"
NOTES = "__notes"
INVALID = "__invalid"  # reason a record cannot be written at all (e.g. invalid_email)

# Deliberately simple: what both CRMs reject, not all of RFC 5322. An apostrophe is legal
# (o'hara@…); the local part is a dot-atom (no leading, trailing or doubled dot: Salesforce refuses
# those, so a HubSpot contact made of one would be mail nobody can receive).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_RE = (rf"^{_ATOM}(?:\.{_ATOM})*"
            r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
#: RFC 5321's limits: 64 characters before the ``@``, 254 in all.
EMAIL_LOCAL_MAX, EMAIL_MAX = 64, 254

TEXT_KINDS = ("string", "textarea", "email", "url", "phone", "picklist")


@dataclass
class Desired:
    """Desired records of one CRM object: the frame and what each field column means."""

    object_def: ObjectDef
    frame: pl.DataFrame
    modes: dict[str, str]  # CRM field -> overwrite | if_empty
    dropped_fields: list[str] = field(default_factory=list)  # standard fields absent/read-only in the CRM

    @property
    def fields(self) -> list[str]:
        return list(self.modes)


def check_columns(od: ObjectDef, settings: ObjectSettings, columns: set[str], *, model: str,
                  path: str | None = None) -> None:
    """Every sync-model column ``od`` would be written from is in ``columns``, or a :class:`ConfigError`.

    Checked before a run makes its first CRM call, so a typo in ``field_mapping`` (or a custom
    model without a contract column) stops the run with nothing written anywhere.
    """
    def known() -> str:
        return ", ".join(sorted(c for c in columns if not c.startswith("__")))

    for name, mapping in settings.field_mapping.items():
        key = f"{path or f'objects.{od.crm}.{od.name}'}.field_mapping.{name}"
        if mapping.column is not None and mapping.column not in columns:
            hint = (f"; an answer captured in chat is mapped as {{chat_answer: {mapping.column}}}"
                    if CHAT_ANSWERS in columns else "")
            raise ConfigError(f"unknown sync-model column {mapping.column!r}{hint} (not in {model}); "
                              f"known: {known()}", key=f"{key}.column")
        if mapping.chat_answer is not None:
            _mapping_expr(mapping, columns, key)
    needed = [(od.key_column, f"the {od.entity} key")]
    needed += [(src.column, f"{od.api_name}.{src.field}") for src in od.standard if src.column]
    if settings.write_warmly_data:
        needed += [(w.column, w.api_name(od.crm)) for w in od.warmly if w.column]
    for column, feeds in needed:
        if column not in columns:
            raise ConfigError(f"{model} has no column {column!r} ({feeds} is written from it); a sync model needs "
                              "every column of the contract in docs/warehouse.md")


def _source_expr(column: str | None, value: object, frame_columns: set[str], key: str) -> pl.Expr:
    if column is None:
        return pl.lit(value)
    if column not in frame_columns:
        raise ConfigError(f"unknown sync-model column {column!r}; known: {', '.join(sorted(frame_columns))}", key=key)
    return pl.col(column)


def _mapping_expr(mapping: FieldMapping, frame_columns: set[str], key: str) -> pl.Expr:
    """A mapped field's values: a constant, a column, or one answer out of the ``chat_answers`` JSON text.

    An answer is read column-wise (``json_path_match``); a question nobody has answered yet
    gives nulls, which never erase a CRM value.
    """
    if mapping.chat_answer is None:
        column = mapping.column
        if column is not None and column not in frame_columns and CHAT_ANSWERS in frame_columns:
            raise ConfigError(f"unknown sync-model column {column!r}; an answer captured in chat is mapped as "
                              f"{{chat_answer: {column}}}; known columns: {', '.join(sorted(frame_columns))}",
                              key=f"{key}.column")
        return _source_expr(mapping.column, mapping.value, frame_columns, f"{key}.column")
    if CHAT_ANSWERS not in frame_columns:
        raise ConfigError(f"the sync model has no {CHAT_ANSWERS!r} column; rebuild it with `dbt build`",
                          key=f"{key}.chat_answer")
    return pl.col(CHAT_ANSWERS).str.json_path_match(f"$.{mapping.chat_answer}")


def build_desired(
    od: ObjectDef,
    settings: ObjectSettings,
    sync_frame: pl.DataFrame,
    *,
    workflow: str,
    schema: ObjectSchema | None,
    path: str | None = None,
) -> Desired:
    """Select, rename and coerce sync-model columns into the CRM fields of ``od``.

    ``path`` is where ``settings`` sit in the settings file (``objects.salesforce.lead``), so a
    mapping error names the key the user wrote.

    ``schema`` (from describe / properties) trims text to the CRM's length, blanks values a
    restricted picklist would reject (noted per record, the record still goes), and drops
    standard fields this CRM org does not have. ``None`` (no schema yet) keeps everything.

    ``sync_frame`` is normally keyed already (:func:`~dagster_pipeline.sync.keys.key_rows`:
    ``__key``, one row per key, domains normalised); an unkeyed frame is keyed here the same way.
    """
    if KEY not in sync_frame.columns:
        sync_frame = key_rows(sync_frame, od.entity, obj=od.api_name, model="sync model").frame
    cols = set(sync_frame.columns)
    exprs: list[pl.Expr] = []
    modes: dict[str, str] = {}
    dropped: list[str] = []

    def add(field_name: str, expr: pl.Expr, mode: str) -> None:
        exprs.append(expr.alias(field_name))
        modes[field_name] = mode

    for src in od.standard:
        info = schema.fields.get(src.field) if schema else None
        if schema is not None and (info is None or not (info.createable or info.updateable)):
            dropped.append(src.field)
            continue
        add(src.field, _source_expr(src.column, src.value, cols, f"{od.name}.{src.field}"), src.mode)
    if settings.write_warmly_data:
        for w in od.warmly:
            add(w.api_name(od.crm), _source_expr(w.column, workflow, cols, w.api_name(od.crm)), "overwrite")
    for name, mapping in settings.field_mapping.items():
        key = f"{path or f'objects.{od.crm}.{od.name}'}.field_mapping.{name}"
        add(name, _mapping_expr(mapping, cols, key), mapping.mode)

    company = (  # key_rows has normalised it to the company's key
        pl.col("company_domain").cast(pl.Utf8)
        if od.entity == "person" and "company_domain" in cols
        else pl.lit(None, dtype=pl.Utf8)
    )
    passthrough = [pl.col(c) for c in sync_frame.columns if c.startswith("__") and c != KEY]
    frame = sync_frame.select([pl.col(KEY), company.alias(COMPANY_KEY), *exprs, *passthrough])

    notes: list[pl.Expr] = []
    coerced: list[pl.Expr] = []
    if schema is not None:
        coerced, notes = _coerce(frame, modes, schema, whole={od.email_field} if od.entity == "person" else set())
    invalid = (
        pl.when(~pl.col(KEY).str.contains(EMAIL_RE) | (pl.col(KEY).str.len_chars() > EMAIL_MAX)
                | (pl.col(KEY).str.split("@").list.first().str.len_chars() > EMAIL_LOCAL_MAX))
        .then(pl.lit("invalid_email")).otherwise(pl.lit(None))
        if od.entity == "person"
        else pl.lit(None, dtype=pl.Utf8)
    )
    # One with_columns: the notes look at the values before they were trimmed or blanked.
    frame = frame.with_columns(
        *coerced,
        invalid.cast(pl.Utf8).alias(INVALID),
        (pl.concat_list(notes).list.drop_nulls() if notes else pl.lit([], dtype=pl.List(pl.Utf8))).alias(NOTES),
    )
    return Desired(od, frame, modes, dropped)


def _coerce(frame: pl.DataFrame, modes: dict[str, str], schema: ObjectSchema,
            whole: set[str | None]) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Values the CRM would refuse, trimmed or left out with a note; ``whole`` are never trimmed.

    A person's email is the record's key: trimmed to the field it would be another address (and
    match another person), so a too-long email is sent whole and the CRM refuses that record.
    """
    out: list[pl.Expr] = []
    notes: list[pl.Expr] = []
    for name in modes:
        info = schema.fields.get(name)
        if info is None:
            continue
        col = pl.col(name)
        dtype = frame.schema[name]
        if info.kind in TEXT_KINDS and dtype == pl.Utf8:
            col = col.str.strip_chars()
            col = pl.when(col == "").then(None).otherwise(col)
            if info.length and name not in whole:
                # Salesforce rejects the whole record (STRING_TOO_LONG); a trimmed title is
                # better than no record. The note says it happened.
                notes.append(
                    pl.when(col.str.len_chars() > info.length).then(pl.lit(f"truncated:{name}")).otherwise(None)
                )
                col = col.str.slice(0, info.length)
        if dtype.is_float():
            # NaN and infinity (a model computing a ratio) are no number either CRM stores; HubSpot
            # refuses the whole record (INVALID_INTEGER). Left out with a note, like a picklist miss.
            nan = col.is_nan() | col.is_infinite()
            notes.append(pl.when(nan).then(pl.lit(f"not_a_number:{name}")).otherwise(None))
            col = pl.when(nan).then(None).otherwise(col)
            if info.scale is not None:
                # What the CRM will hold: 1234.5 in a currency of scale 0 is stored 1235, and
                # compared unrounded it would be drift on every reconcile, rewritten each time.
                col = col.round(info.scale, mode="half_away_from_zero")
        # Past what the field holds the CRM refuses the whole record (Salesforce:
        # NUMBER_OUTSIDE_VALID_RANGE, a datetime before 1700); like a picklist miss, the value is
        # left out with a note and the rest of the record is written.
        out_of_range: pl.Expr | None = None
        if info.number_limit is not None and dtype.is_numeric():
            out_of_range = col.is_not_null() & (col.abs() >= pl.lit(info.number_limit))
        elif info.bounds is not None and dtype.is_temporal():
            lo, hi = info.bounds
            cmp = _in_bound_terms(col, dtype, lo)
            out_of_range = col.is_not_null() & ((cmp < pl.lit(lo)) | (cmp > pl.lit(hi)))
        if out_of_range is not None:
            notes.append(pl.when(out_of_range).then(pl.lit(f"out_of_range:{name}")).otherwise(None))
            col = pl.when(out_of_range).then(None).otherwise(col)
        if info.options is not None:
            options = pl.lit(pl.Series(list(info.options), dtype=pl.Utf8)).implode()
            bad = col.is_not_null() & ~col.cast(pl.Utf8).is_in(options)
            notes.append(pl.when(bad).then(pl.lit(f"invalid_option:{name}")).otherwise(None))
            col = pl.when(bad).then(None).otherwise(col)
        out.append(col.alias(name))
    return out, notes


def _in_bound_terms(col: pl.Expr, dtype: pl.DataType, bound: object) -> pl.Expr:
    """``col`` comparable with ``bound``: a datetime bound is naive UTC, so an aware column is
    converted to UTC first and a date column read as midnight; a date bound takes the date."""
    if isinstance(bound, dt.datetime):
        if isinstance(dtype, pl.Datetime) and dtype.time_zone:
            return col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return col.cast(pl.Datetime("us"))
    if isinstance(bound, dt.date):
        return col.cast(pl.Date)
    return col


def with_fingerprint(sync_frame: pl.DataFrame, signature: str) -> pl.DataFrame:
    """Add ``__hash``: a fingerprint of the sync-model row and the settings ``signature``.

    A row read through the warehouse diff carries the fingerprint the warehouse computed
    (``__src``, which already folds in ``signature``; see
    :mod:`~dagster_pipeline.sync.warehouse_diff`): ``__hash`` is that, and for a person
    ``|`` and the CRM id of its company, exactly as the warehouse compares it with the state.
    A frame without it (built here, not read) is hashed with polars as below.

    Hashing the source row (not each CRM object's payload) lets one fingerprint serve a
    person whichever object it lands in (Lead or Contact); ``signature`` folds in the object
    settings and workflow so a settings change re-diffs every record once. Derived columns
    already on the frame (``__company_id``: the CRM id a person links to) are included, so a
    newly created company re-links its people.
    """
    if SRC in sync_frame.columns:
        fp = pl.col(SRC).cast(pl.Utf8)
        if COMPANY_ID in sync_frame.columns:
            fp = fp + pl.lit("|") + pl.col(COMPANY_ID).cast(pl.Utf8).fill_null("")
        return sync_frame.with_columns(fp.alias(HASH))
    # The row's place in the model (ROW) and its derived key are no part of what is written.
    cols = [pl.col(c) for c in sync_frame.columns if c not in ("activity_date", HASH, ROW, KEY)]
    cols.append(pl.lit(signature).alias("__signature"))
    return sync_frame.with_columns(pl.struct(cols).hash(seed=7).cast(pl.Utf8).alias(HASH))
