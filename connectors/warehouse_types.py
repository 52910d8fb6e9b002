"""How rows and types cross between a warehouse and polars: Arrow results of any driver to frames
with the same names and dtypes whatever the warehouse, and polars dtypes to SQLAlchemy column
types. Split from :mod:`connectors.warehouse`, which uses them, so that module keeps to what the
engine asks of a warehouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
import pyarrow as pa
import sqlalchemy as sa

from connectors.errors import WarehouseError


def _snowflake_arrow_available() -> bool:
    try:
        from snowflake.connector.options import installed_pandas
    except ImportError:
        return False
    return bool(installed_pandas)


def _cursor_to_arrow(cursor: Any, *, snowflake: bool) -> pa.Table:
    fetch_arrow_all = getattr(cursor, "fetch_arrow_all", None)
    if snowflake and fetch_arrow_all is not None and _snowflake_arrow_available():
        return fetch_arrow_all(force_return_table=True)
    return _rows_to_arrow(cursor.description or [], cursor.fetchall(), snowflake=snowflake)


def _rows_to_arrow(description: Any, rows: Sequence[Any], *, snowflake: bool) -> pa.Table:
    arrays, names = [], []
    for index, column in enumerate(description):
        values = [row[index] for row in rows]
        arrow_type = _snowflake_arrow_type(column) if snowflake else None
        arrays.append(pa.array(values, type=arrow_type))
        names.append(column[0])
    return pa.table(arrays, names=names)


def _snowflake_arrow_type(column: Any) -> pa.DataType | None:
    """The Arrow type of a Snowflake result column, from the cursor description's type code."""
    from snowflake.connector.constants import FIELD_ID_TO_NAME

    kind = FIELD_ID_TO_NAME.get(column[1])
    precision, scale = column[4], column[5]
    if kind == "FIXED":
        return pa.int64() if not scale else pa.decimal128(precision or 38, scale)
    return {
        "REAL": pa.float64(),
        "TEXT": pa.string(),
        "DATE": pa.date32(),
        "TIMESTAMP_NTZ": pa.timestamp("us"),
        "TIMESTAMP": pa.timestamp("us"),
        "TIMESTAMP_LTZ": pa.timestamp("us", tz="UTC"),
        "TIMESTAMP_TZ": pa.timestamp("us", tz="UTC"),
        "BOOLEAN": pa.bool_(),
        "BINARY": pa.binary(),
        "TIME": pa.time64("us"),
    }.get(kind or "")


def _normalise(table: pa.Table, *, uppercase_means_lower: bool) -> pl.DataFrame:
    """Same names and dtypes whatever the warehouse, so frames from DuckDB and Snowflake compare equal."""
    df = pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    if uppercase_means_lower:
        # Snowflake reports unquoted (case-insensitive) identifiers in upper case.
        df = df.rename({name: name.lower() for name in df.columns if name == name.upper()})
    casts: list[pl.Expr] = []
    for name, dtype in df.schema.items():
        if dtype.is_integer() or (isinstance(dtype, pl.Decimal) and dtype.scale == 0):
            casts.append(pl.col(name).cast(pl.Int64))
        elif isinstance(dtype, pl.Datetime) and dtype.time_unit != "us":
            casts.append(pl.col(name).cast(pl.Datetime("us", dtype.time_zone)))
    return df.with_columns(casts) if casts else df


def _sqlalchemy_type(dtype: pl.DataType, column: str, model: str) -> sa.types.TypeEngine[Any]:
    if dtype.is_integer():
        return sa.BigInteger()
    if dtype.is_float():
        return sa.Float()
    if isinstance(dtype, pl.Boolean):
        return sa.Boolean()
    if isinstance(dtype, pl.Datetime):
        return sa.DateTime(timezone=dtype.time_zone is not None)
    if isinstance(dtype, pl.Date):
        return sa.Date()
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return sa.String()
    raise WarehouseError(f"column {column!r} has type {dtype}, which cannot be stored; cast it first", model=model)
