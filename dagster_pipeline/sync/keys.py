"""What identifies a record: the normalised email or domain, and what happens to rows without one.

**One company per domain.** A company's key is its domain reduced to the bare host name, so
every way a person may have typed it names the same record::

    samedom.com  SameDom.COM  https://www.samedom.com/  http://user@www.samedom.com:8080/about?x=1#top
    //samedom.com  www.samedom.com.  " samedom.com "                                   -> samedom.com
    bücher.de  https://www.BÜCHER.de/                                                  -> xn--bcher-kva.de

The steps, in order: surrounding whitespace, case, the scheme (``https://``, also ``//``),
everything from the first ``/``, ``?``, ``#`` or ``\\`` on (path, query, fragment), user-info
(``user:pw@``), the port, trailing dots, one leading ``www.``, and an internationalised name
to its ASCII (punycode) form with Python's ``idna`` codec. The same function keys the
warehouse side (a company model's ``domain``, a person model's ``company_domain``, so people
still find their company) and reads the CRM side (Salesforce ``Website``, HubSpot ``domain``)
when matching. A person's key is the email, trimmed and lower-cased.

**Every row accounted for.** Before anything else a sync model's rows are split into the ones
that are synced and the ones that cannot be:

- a row whose key is null, blank, has no host or whose host is no host name (one label such as
  ``localhost``, an empty label, whitespace or a control character inside, a name the IDNA codec
  refuses) fails with ``missing_key``. Having no key it
  cannot be named by one, so the sync log names it by its place in the model:
  ``(row 17: email is blank)`` — the 1-based row number in the order the warehouse scanned
  the model in this run (a partitioned run: within its days' rows), and what is wrong; the
  message adds a few columns to find the row by;
- a row whose key an earlier row already has is ``skipped`` with ``duplicate_key``: the first
  row of a key is synced, the others are not. The log names the row by its key as the model
  spells it (``https://www.samedom.com/``) and the message names the row and key that is synced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

KEY = "__key"
ROW = "__row"  # the row's 1-based number in the sync model, as read
MISSING_KEY = "missing_key"
DUPLICATE_KEY = "duplicate_key"
#: Outcome reasons of rows that never reach a CRM object's pass (no key, or another row's key).
DROPPED_REASONS = (MISSING_KEY, DUPLICATE_KEY)

Entity = Literal["person", "company"]
KEY_COLUMN: dict[str, str] = {"person": "email", "company": "domain"}
#: Columns quoted in a missing-key message so the row can be found in the warehouse.
HINT_COLUMNS: dict[str, tuple[str, ...]] = {
    "person": ("first_name", "last_name", "company_domain"),
    "company": ("name", "website"),
}

_SCHEME = r"^[a-z][a-z0-9+.\-]*://"
_AUTHORITY = r"^([^/?#\\]*)"
_USERINFO = r"^.*@"
_PORT = r":[0-9]*$"
_WWW = r"^www\."
#: A normalised host no company has: one label (``back`` out of ``back\\slash.io``, ``localhost``),
#: an empty label, whitespace / a control character inside (``acme corp.com``), or non-ASCII left
#: over (the IDNA codec refused the name), a label over 63 characters or a name over 253 (DNS's
#: limits, RFC 1035). Such a row fails ``missing_key`` ("is not a host name") instead of creating
#: a company with that domain.
_NOT_A_HOST = r"^[^.]*$|^\.|\.\.|[\s\x00-\x1f\x7f]|[^\x00-\x7f]|[^.]{64}|^.{254}"


def _idna(host: str) -> str:
    """An internationalised host name in ASCII; a name the codec refuses stays as it is."""
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def domain_keys(values: pl.Series) -> pl.Series:
    """Each value's company key (see the module docstring); ``None`` where there is no host.

    Each distinct value is normalised once: a persons model repeats its companies' domains.
    """
    raw = values.cast(pl.Utf8)
    distinct = raw.unique()
    if distinct.len() * 2 > raw.len():
        return _domain_keys(raw).alias(values.name)
    table = pl.DataFrame({"raw": distinct, "key": _domain_keys(distinct)})
    keyed = raw.to_frame("raw").join(table, on="raw", how="left", nulls_equal=True, maintain_order="left")
    return keyed["key"].alias(values.name)


def _domain_keys(values: pl.Series) -> pl.Series:
    v = values.str.strip_chars().str.to_lowercase()
    v = v.str.replace(_SCHEME, "").str.replace(r"^//", "")
    v = v.str.extract(_AUTHORITY, 1)
    v = v.str.replace(_USERINFO, "").str.replace(_PORT, "")
    v = v.str.strip_chars().str.strip_chars_end(".").str.replace(_WWW, "")
    wide = v.filter(v.str.contains(r"[^\x00-\x7f]")).unique()
    if wide.len():
        v = v.replace(wide, wide.map_elements(_idna, return_dtype=pl.Utf8))
    return pl.select(pl.when(v == "").then(None).otherwise(v)).to_series().alias(values.name)


def normalise_domain(value: str | None) -> str | None:
    """One value's company key: what :func:`domain_keys` gives, for a value read from the CRM."""
    if value is None:
        return None
    return domain_keys(pl.Series([str(value)], dtype=pl.Utf8))[0]


def normalise_domains(values: list[str | None]) -> list[str | None]:
    """Many values' company keys in one pass (CRM values read in bulk)."""
    if not values:
        return []
    return domain_keys(pl.Series(values, dtype=pl.Utf8)).to_list()


def email_keys(values: pl.Series) -> pl.Series:
    """Each value's person key: the email trimmed and lower-cased; ``None`` when blank."""
    v = values.cast(pl.Utf8).str.strip_chars().str.to_lowercase()
    return pl.select(pl.when(v == "").then(None).otherwise(v)).to_series().alias(values.name)


def keys_of(entity: Entity, values: pl.Series) -> pl.Series:
    return domain_keys(values) if entity == "company" else email_keys(values)


def display_forms(key: str) -> list[str]:
    """The spellings of a company key to look for in CRM text: the key, and its Unicode form
    when it is an internationalised name (a rep may have typed ``bücher.de``)."""
    out = [key]
    if "xn--" in key:
        try:
            uni = key.encode("ascii").decode("idna")
        except UnicodeError:
            uni = key
        if uni != key:
            out.append(uni)
    return out


@dataclass
class Keyed:
    """A sync model split into the rows that are synced and the outcomes of those that are not."""

    entity: Entity
    frame: pl.DataFrame  # rows with a usable key, first of each key: the model's columns + KEY + ROW
    dropped: pl.DataFrame  # one outcome row per other row (object, key, …, reason, message)
    rows: int  # rows in the model

    @property
    def keys(self) -> pl.Series:
        return self.frame[KEY]


def key_rows(frame: pl.DataFrame, entity: Entity, *, obj: str, model: str) -> Keyed:
    """Key every row of a sync model; rows without a usable key, or with a key an earlier row
    has, become outcomes for ``obj`` (the CRM object their entity is logged under).

    A company model's ``domain`` and a person model's ``company_domain`` are replaced by their
    normalised form, so the record is written (and fingerprinted) the same however it was spelled.
    """
    column = KEY_COLUMN[entity]
    raw = frame[column].cast(pl.Utf8) if column in frame.columns else pl.Series(column, [None] * frame.height,
                                                                                  dtype=pl.Utf8)
    key = keys_of(entity, raw)
    not_host = pl.Series([False] * frame.height, dtype=pl.Boolean)
    if entity == "company":
        not_host = key.is_not_null() & key.str.contains(_NOT_A_HOST)
        key = pl.select(pl.when(not_host).then(None).otherwise(key)).to_series().alias(key.name)
    # Rows that come back from the warehouse diff carry their place in the whole model.
    row = pl.col(ROW) if ROW in frame.columns else pl.int_range(1, frame.height + 1, dtype=pl.Int64)
    numbered = frame.with_columns(key.alias(KEY), row.cast(pl.Int64).alias(ROW), raw.alias("__raw"),
                                  not_host.alias("__not_host"))
    if entity == "company" and column in frame.columns:
        numbered = numbered.with_columns(pl.col(KEY).alias(column))
    if entity == "person" and "company_domain" in frame.columns:
        # A person's company that is no host name links to nothing and is not written as the
        # person's website (Lead.Website = "back" out of "back\\slash.io" would be junk).
        company = domain_keys(frame["company_domain"])
        company = pl.select(pl.when(company.str.contains(_NOT_A_HOST)).then(None).otherwise(company)).to_series()
        numbered = numbered.with_columns(company.alias("company_domain"))
    hints = [c for c in HINT_COLUMNS[entity] if c in frame.columns]
    flags = numbered.select(ROW, KEY, "__raw", "__not_host", *hints, pl.col(KEY).is_not_null().alias("__has"),
                            (pl.col(KEY).is_not_null() & pl.col(KEY).is_first_distinct()).alias("__first"))
    missing = flags.filter(~pl.col("__has"))
    dupes = flags.filter(pl.col("__has") & ~pl.col("__first"))
    kept = numbered.drop("__raw", "__not_host")
    if missing.height or dupes.height:  # else every row is kept: no copy of the frame
        kept = kept.filter(flags["__first"])

    what = (pl.when(pl.col("__raw").is_null()).then(pl.lit(f"{column} is null"))
            .when(pl.col("__raw").str.strip_chars() == "").then(pl.lit(f"{column} is blank"))
            .when(pl.col("__not_host")).then(pl.lit(f"{column} is not a host name"))
            .otherwise(pl.lit(f"{column} has no host" if entity == "company" else f"{column} is blank")))
    hint = pl.concat_str([pl.when(pl.col(c).is_not_null()).then(pl.lit(f"{c}=") + pl.col(c).cast(pl.Utf8))
                          for c in hints], separator=", ", ignore_nulls=True) if hints else pl.lit("")
    missing_log = missing.select(
        pl.lit(obj).alias("object"),
        pl.format("(row {}: {})", pl.col(ROW), what).alias("key"),
        pl.lit(None, dtype=pl.Utf8).alias("crm_id"),
        pl.lit("failed").alias("action"), pl.lit("failed").alias("status"), pl.lit(MISSING_KEY).alias("reason"),
        pl.lit(None, dtype=pl.Utf8).alias("changed_fields"),
        pl.format(f"row {{}} of {model} has no usable {column}, so it cannot be matched or written; "
                  "fix the model{}", pl.col(ROW),
                  pl.when(hint != "").then(pl.lit(" (") + hint + pl.lit(")")).otherwise(pl.lit(""))).alias("message"),
    )
    firsts = kept.select(pl.col(KEY), pl.col(ROW).alias("__first_row"))
    dupe_log = dupes.join(firsts, on=KEY, how="left").sort(ROW).select(
        pl.lit(obj).alias("object"),
        pl.col("__raw").str.strip_chars().alias("key"),
        pl.lit(None, dtype=pl.Utf8).alias("crm_id"),
        pl.lit("skipped").alias("action"), pl.lit("skipped").alias("status"), pl.lit(DUPLICATE_KEY).alias("reason"),
        pl.lit(None, dtype=pl.Utf8).alias("changed_fields"),
        pl.format(f"row {{}} of {model} has the same {column} as row {{}}, which is synced as {{}}; "
                  "only the first row of a key is synced", pl.col(ROW), pl.col("__first_row"), pl.col(KEY))
        .alias("message"),
    )
    dropped = pl.concat([missing_log, dupe_log], how="vertical").cast(pl.Utf8)
    return Keyed(entity, kept, dropped, frame.height)
