"""Creates are handed to the connector in chunks of about as many bytes as one Bulk 2.0 upload holds.

Promise (README "Reading the CRM", its writes paragraph): jobs are cut by the bytes of their CSV,
never by a record count; the engine's chunks follow the same measure, so short records fill a
chunk and long ones never make it overflow.
"""

from __future__ import annotations

import polars as pl

from dagster_pipeline.sync.passes import _byte_slices


def test_chunks_are_cut_by_bytes_not_by_rows() -> None:
    short = pl.DataFrame({"a": ["x"] * 1000, "b": [1] * 1000})  # 1 + 1 chars, +3 each, +1 a row: 9 bytes
    assert [s.height for s in _byte_slices(short, ["a", "b"], 900)] == [100] * 10
    long = pl.DataFrame({"a": ["y" * 96] * 10, "b": [None] * 10})  # 99 + 3 + 1 = 103 bytes a row
    assert [s.height for s in _byte_slices(long, ["a", "b"], 300)] == [2, 2, 2, 2, 2]
    assert [s.height for s in _byte_slices(long, ["a", "b"], 50)] == [1] * 10  # a row over the cap: alone
    assert pl.concat(list(_byte_slices(short, ["a", "b"], 900))).equals(short)  # every row once, in order
